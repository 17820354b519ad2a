"""Parse policy text into a ``nodes.Module``.

Lark (LALR) reads the grammar in ``grammar.lark``. The ``_ToAst`` transformer builds the frozen
AST while Lark parses, with no parse tree in between (a third fewer instructions than
building a tree and transforming it, on a 10,000-rule policy). Every node carries its span,
from its first token (its keyword) to its last, as Lark's ``propagate_positions`` would place
it; ``_located`` works it out from the tokens, which the parser keeps for that. Syntax errors
become a ``PolicyError`` whose one diagnostic points at the offending token and says, in words,
what was expected there; an option given twice to a rule is reported once the whole text has
parsed. Comments are collected by a separate scan so the parser holds no per-call state and
can be shared between threads.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any, cast

import attrs
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternRE, PatternStr, TerminalDef

from . import nodes as n
from .codes import CARC_GROUPS
from .diagnostics import PolicyError, error

_GRAMMAR = resources.files("policydsl").joinpath("grammar.lark").read_text(encoding="utf-8")
#: The terminals the grammar defines by name (``WORD: ...``), whose tokens the AST keeps; the
#: others are the keywords and punctuation written in its rules (``"when"``, ``","``).
_NAMED_TERMINALS = frozenset(
    re.findall(r"^([A-Z][A-Z0-9_]*)(?:\.\d+)?\s*:", _GRAMMAR, re.MULTILINE))


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    """The parser. It builds the AST as it parses (``_ToAst`` as Lark's internal
    transformer: no parse tree is made), and keeps every token, so that a node's span can
    start at its keyword."""
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", keep_all_tokens=True,
                maybe_placeholders=False, edit_terminals=_whole_word_keywords,
                transformer=_ToAst())


def _whole_word_keywords(terminal: TerminalDef) -> None:
    """A keyword matches only as a whole word: ``limits`` is not ``limit`` + ``s``."""
    pattern = terminal.pattern
    if isinstance(pattern, PatternStr) and pattern.value[:1].isalpha():
        terminal.pattern = PatternRE(re.escape(pattern.value) + r"(?![A-Za-z0-9_])",
                                     pattern.flags)
        terminal.priority = max(terminal.priority, 3)
    elif terminal.name in _WORDS_OF:  # a few keywords in one terminal: `per days` is no `day`
        terminal.pattern = PatternRE(f"(?:{pattern.value})(?![A-Za-z0-9_])", pattern.flags)


class _Spanned:
    """What a grammar rule made while the AST is built, and where its text is: from its first
    token to its last, keywords included, as Lark's ``propagate_positions`` places a node."""

    __slots__ = ("span", "value")

    def __init__(self, value: Any, span: n.Span) -> None:
        self.value = value
        self.span = span


def _placed(children: Iterable[Any]) -> Any:
    """The place of the first of ``children`` that has one in the text: a token, or the span
    of what a rule made (a Span or a Token: both have line, column, end_line and
    end_column); None if none has."""
    for child in children:
        if type(child) is _Spanned:
            if child.span is not n.NO_SPAN:
                return child.span
        elif isinstance(child, Token):
            return child
    return None


def _located(method: Any, _rule: str, children: list[Any], _meta: Any) -> _Spanned:
    """Call a ``_ToAst`` method with the span of its rule's text and the children the AST
    keeps: what the rules below made, and the named tokens (``WORD``, ``DATE``, ...), not the
    keywords and punctuation."""
    start, end = _placed(children), _placed(reversed(children))
    span = n.NO_SPAN if start is None or end is None else n.Span(
        start.line, start.column, end.end_line, end.end_column)
    kept = [child.value if type(child) is _Spanned else child for child in children
            if type(child) is _Spanned or child.type in _NAMED_TERMINALS]
    return _Spanned(method(span, kept), span)


def _tok_span(tok: Token) -> n.Span:
    return n.Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def _word(tok: Token) -> n.Word:
    return n.Word(str(tok), span=_tok_span(tok))


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


@v_args(wrapper=_located)
class _ToAst(Transformer[Token, list[n.Statement]]):
    """Builds ``nodes`` while Lark parses; one method per grammar rule, called with the span
    of the rule's text and the children the AST keeps (see ``_located``). It holds no state
    of a parse, so one serves every thread."""

    def start(self, span: n.Span, items: list[n.Statement]) -> list[n.Statement]:
        return items

    # declarations
    def policy_decl(self, span: n.Span, c: list[Token]) -> n.PolicyDecl:
        return n.PolicyDecl(_word(c[0]), span=span)

    def extends(self, span: n.Span, c: list[Token]) -> n.Extends:
        return n.Extends(tuple(_word(t) for t in c), span=span)

    def effective(self, span: n.Span, c: list[Token]) -> n.Effective:
        until = n.DateLit(str(c[1]), span=_tok_span(c[1])) if len(c) > 1 else None
        return n.Effective(n.DateLit(str(c[0]), span=_tok_span(c[0])), until, span=span)

    def set_def(self, span: n.Span, c: list[Any]) -> n.SetDef:
        return n.SetDef(_word(c[0]), c[1], span=span)

    def dx_def(self, span: n.Span, c: list[Any]) -> n.DxDef:
        return n.DxDef(_word(c[0]), c[1], span=span)

    def disable(self, span: n.Span, c: list[Token]) -> n.Disable:
        return n.Disable(_word(c[0]), span=span)

    # named rules
    def named_rule(self, span: n.Span, c: list[Any]) -> n.NamedRule | _DuplicateOption:
        name, *options, body = c
        fields: dict[str, Any] = {}
        first_span = None
        for key, value, option_span in options:
            if key in fields:
                # reported once the whole text has parsed: a syntax error anywhere comes first
                return _DuplicateOption(key, option_span)
            fields[key] = value
            first_span = first_span or option_span
        opts = n.RuleOptions(**fields, span=first_span or n.NO_SPAN)
        return n.NamedRule(_word(name), opts, body, span=span)

    def opt_carc(self, span: n.Span, c: list[Token]) -> tuple[str, Any, n.Span]:
        return ("carc", _word(c[0]), span)

    def opt_action(self, span: n.Span, c: list[Token]) -> tuple[str, Any, n.Span]:
        return ("action", _word(c[0]), span)

    def opt_message(self, span: n.Span, c: list[Token]) -> tuple[str, Any, n.Span]:
        return ("message", n.Text(_unescape(str(c[0])), span=_tok_span(c[0])), span)

    def opt_effective(self, span: n.Span, c: list[Token]) -> tuple[str, Any, n.Span]:
        return ("effective", self.effective(span, c), span)

    # rule bodies
    def forbid(self, span: n.Span, c: list[Any]) -> n.Forbid:
        return n.Forbid(c[0], c[1], c[2][1] if len(c) > 2 else (), span=span)

    def exclusive(self, span: n.Span, c: list[Any]) -> n.Exclusive:
        return n.Exclusive(c[0], len(c) > 1, span=span)

    def across(self, span: n.Span, c: list[Any]) -> str:
        return "across providers"

    def limit(self, span: n.Span, c: list[Any]) -> n.Limit:
        codes, window, *rest = c
        by_provider = False
        measure = ""
        bypass: tuple[n.Word, ...] = ()
        maximum = None
        for item in rest:
            if item == "by_provider":
                by_provider = True
            elif isinstance(item, Token):
                maximum = n.Number(int(item), span=_tok_span(item))
            elif isinstance(item, str):
                measure = item
            else:
                bypass = item[1]
        assert maximum is not None
        return n.Limit(codes, window, maximum, by_provider, measure, bypass, span=span)

    def by_provider(self, span: n.Span, c: list[Any]) -> str:
        return "by_provider"

    def measure(self, span: n.Span, c: list[Token]) -> str:
        return str(c[0])

    def addon(self, span: n.Span, c: list[Any]) -> n.Addon:
        return n.Addon(c[0], c[1], span=span)

    def require_dx(self, span: n.Span, c: list[Any]) -> n.RequireDx:
        return n.RequireDx(c[0], c[1], span=span)

    def require_auth(self, span: n.Span, c: list[Any]) -> n.RequireAuth:
        return n.RequireAuth(c[0], span=span)

    def prerequisite(self, span: n.Span, c: list[Any]) -> n.Prerequisite:
        count = n.Number(int(c[0]), span=_tok_span(c[0]))
        return n.Prerequisite(count, c[1], c[2], c[3], span=span)

    def global_(self, span: n.Span, c: list[Any]) -> n.Global:
        procedures, period, *rest = c
        covers: tuple[n.CodeItem, ...] = ()
        bypass: tuple[n.Word, ...] = ()
        for kind, value in rest:
            if kind == "covers":
                covers = value
            else:
                bypass = value
        return n.Global(procedures, period, covers, bypass, span=span)

    def covers(self, span: n.Span, c: list[Any]) -> tuple[str, Any]:
        return ("covers", c[0])

    def deleted(self, span: n.Span, c: list[Any]) -> n.Deleted:
        since = n.DateLit(str(c[1]), span=_tok_span(c[1]))
        return n.Deleted(c[0], since, c[2] if len(c) > 2 else (), span=span)

    def replacement(self, span: n.Span, c: list[Any]) -> tuple[n.CodeItem, ...]:
        return tuple(c[0])

    def forbid_modifier(self, span: n.Span, c: list[Any]) -> n.ForbidModifier:
        return n.ForbidModifier(c[0], c[1], span=span)

    def mue(self, span: n.Span, c: list[Any]) -> n.Mue:
        maximum = n.Number(int(c[1]), span=_tok_span(c[1]))
        return n.Mue(c[0], maximum, c[2] if len(c) > 2 else "", span=span)

    def mue_per(self, span: n.Span, c: list[Token]) -> str:
        return str(c[0])

    def table(self, span: n.Span, c: list[Token]) -> n.Table:
        path = n.Text(_unescape(str(c[1])), span=_tok_span(c[1]))
        return n.Table(_word(c[0]), path, span=span)

    def unless(self, span: n.Span, c: list[Any]) -> tuple[str, Any]:
        return ("unless", c[0])

    # lists and leaves
    def code_list(self, span: n.Span, c: list[Any]) -> tuple[n.CodeItem, ...]:
        return tuple(_word(x) if isinstance(x, Token) else x for x in c)

    def code_range(self, span: n.Span, c: list[Token]) -> n.CodeRange:
        return n.CodeRange(_word(c[0]), _word(c[1]), span=span)

    def dx_list(self, span: n.Span, c: list[Token]) -> tuple[n.Word, ...]:
        return tuple(_word(t) for t in c)

    def mod_list(self, span: n.Span, c: list[Token]) -> tuple[n.Word, ...]:
        return tuple(_word(t) for t in c)

    def window(self, span: n.Span, c: list[Token]) -> n.Duration:
        return n.Duration(str(c[0]), span=_tok_span(c[0]))


# ``global`` is a Python keyword; the grammar rule is named ``global``.
setattr(_ToAst, "global", _ToAst.global_)


@attrs.frozen
class _DuplicateOption:
    """Stands for a named rule that gives an option twice: the option, and where."""

    key: str
    span: n.Span


def _comments(text: str) -> tuple[n.Comment, ...]:
    """Every ``#`` comment outside a string, with its span."""
    found = []
    # Lark counts lines by "\n" only; so must we, or a form feed in a string would shift them.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        col = _comment_column(line)
        if col is not None:
            comment = line[col:].rstrip()
            found.append(n.Comment(comment, span=n.Span(number, col + 1, number,
                                                        col + 1 + len(comment))))
    return tuple(found)


def _comment_column(line: str) -> int | None:
    """Where the line's comment starts: its first '#' outside quoted text (where ``\\"`` is a
    quote inside the text); None when it has none."""
    quoted = escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return i
    return None


_EXPECTED_WORDS: dict[str, str] = {
    "WORD": "a code or name", "DX": "a diagnosis code or dx set", "INT": "a number",
    "DATE": "a date (YYYY-MM-DD)", "DURATION": "a duration (90d, 12mo)",
    "WINDOW_WORD": "day, claim, year or lifetime", "DOTTED": "a policy name",
    "RULE_REF": "a rule id (policy/name)", "RULE_NAME": "a rule name", "STRING": "a quoted text",
    "ACTION": "deny or review", "MEASURE": "units or sessions", "MUE_SCOPE": "day or line",
    "COMMA": "','", "COLON": "':'", "EQUAL": "'='",
    "$END": "end of file",
}


def _describe(terminal: str, lark: Lark) -> str:
    if terminal in _EXPECTED_WORDS:
        return _EXPECTED_WORDS[terminal]
    try:
        pattern = lark.get_terminal(terminal).pattern
    except KeyError:
        return terminal
    if pattern.type == "str":
        return f"'{pattern.value}'"
    if terminal.isupper() is False or pattern.value.endswith("(?![A-Za-z0-9_])"):
        return "'" + pattern.value.replace("(?![A-Za-z0-9_])", "").replace("\\", "") + "'"
    return terminal.lower()


_STATEMENT_KEYWORDS = ("policy", "extends", "effective", "set", "dx", "rule", "when", "limit",
                       "exclusive", "addon", "require", "global", "deleted", "forbid", "mue",
                       "table", "disable")
_STATEMENT_WORD = re.compile(r"\b(" + "|".join(_STATEMENT_KEYWORDS) + r")\b")


#: Terminals that stand for a few words, for ``_did_you_mean``.
_WORDS_OF = {"MEASURE": ("units", "sessions"), "ACTION": ("deny", "review"),
             "MUE_SCOPE": ("day", "line"), "WINDOW_WORD": ("day", "claim", "year", "lifetime")}


def _expected(expected: set[str], lark: Lark, days_only: bool = False) -> str:
    """Expected terminals in words; statement keywords fold into "a new statement".
    ``days_only``: a window is a number of days here (a ``global`` period)."""
    if days_only and "DURATION" in expected:
        expected = expected - {"DURATION", "WINDOW_WORD"}
        words = {_describe(t, lark) for t in expected} | {"a number of days (10d, 90d)"}
    else:
        words = {_describe(t, lark) for t in expected}
    keywords = {f"'{k}'" for k in _STATEMENT_KEYWORDS}
    starts_statement = {"'when'", "'limit'", "'rule'"} <= words
    if starts_statement:
        words -= keywords
    listed = sorted(words)
    if starts_statement:
        if not listed:
            return "a statement (" + ", ".join(_STATEMENT_KEYWORDS) + ")"
        listed.append("a new statement")
    if len(listed) > 12:
        listed = [*listed[:12], "..."]
    return ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else "".join(listed)


def _accepted(exc: UnexpectedToken) -> set[str]:
    """The tokens the parser would really take here (LALR's ``expected`` over-approximates)."""
    try:
        accepted: set[str] = exc.interactive_parser.accepts()  # type: ignore[no-untyped-call]
    except Exception:  # pragma: no cover - older lark or a broken state
        return set(exc.expected)
    return accepted or set(exc.expected)


def _syntax_message(exc: UnexpectedInput, text: str, lark: Lark) -> tuple[str, n.Span]:
    line = exc.line if exc.line and exc.line > 0 else 1
    column = exc.column if exc.column and exc.column > 0 else 1
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        if char == '"' and not _STRING_START.match(text, position):
            return ("this quoted text is not closed: a '\"' must end it on the same line",
                    n.Span(line, column, line, column + 1))
        return (f"unexpected character {char!r}{_character_hint(text, position, char)}",
                n.Span(line, column, line, column + 1))
    if isinstance(exc, UnexpectedEOF):
        return _incomplete(text, set(exc.expected), lark, "at the end of the file")
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    if tok.type == "$END":
        return _incomplete(text, _accepted(exc), lark, "at the end of the file")
    if _LONG_NUMBER.fullmatch(tok) and "INT" in _accepted(exc):
        return (f"the number {_shortened(tok)} is too large: a count has at most "
                f"{COUNT_DIGITS} digits", _tok_span(tok))
    swallowed = _swallowed_keyword(text, tok)
    if swallowed is not None:
        # e.g. 'unless modifier' at a line's end, then 'exclusive …': the keyword was read as
        # a modifier. Blame the statement before it, as if the file ended there.
        try:
            lark.parse(text[:swallowed])
        except UnexpectedEOF as inner:
            return _incomplete(text[:swallowed], set(inner.expected), lark, "")
        except UnexpectedToken as inner:
            if inner.token.type == "$END":
                return _incomplete(text[:swallowed], _accepted(inner), lark, "")
        except UnexpectedInput:  # pragma: no cover - the text before parsed up to here
            pass
    accepted = _accepted(exc)
    header_end = _open_rule_header(text, tok, accepted)
    if header_end is not None:
        end_line, end_column, name = header_end
        return (f"the header of rule '{name}' must end with ':' before its body "
                f"({str(tok)!r} on line {tok.line})",
                n.Span(end_line, end_column, end_line, end_column + 1))
    wanted = _expected(accepted, lark, _statement_word(text, tok.start_pos or 0) == "global")
    hint = (_option_after_colon(text, tok) or _written_as(text, tok, accepted)
            or _did_you_mean(tok, accepted, lark))
    return (f"unexpected {str(tok)!r}; expected {wanted}"
            f"{_keyword_taken_as_name(text, tok, accepted, lark)}{hint}", _tok_span(tok))


#: A window or period written out in words: ``90 days``, ``6 months``, ``1 year``.
_SPELLED_WINDOW = re.compile(r"([0-9]{1,6})[ \t]*(days?|d|weeks?|wks?|months?|mos?|years?|yrs?)"
                             r"(?![A-Za-z0-9_])", re.IGNORECASE)
#: A date with one-digit parts, or slashes: ``2025-1-1``, ``2025/01/01``.
_LOOSE_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?![0-9/-])")
#: Words analysts use for what a limit counts.
_MEASURE_WORDS = {"visit": "sessions", "visits": "sessions", "session": "sessions",
                  "encounters": "sessions", "dates": "sessions", "days": "sessions",
                  "unit": "units", "services": "units"}


def _written_as(text: str, tok: Token, accepted: set[str]) -> str:
    """How to write what the user wrote the usual other way: a window in words, a date with
    one-digit parts or slashes, a limit's measure in other words."""
    start = tok.start_pos or 0
    spelled = _SPELLED_WINDOW.match(text, start)
    if "DURATION" in accepted and spelled is not None:
        count, unit = int(spelled.group(1)), spelled.group(2).lower()[0]
        days_only = _statement_word(text, start) == "global"
        if unit in "dw":
            return f" (write {count * (7 if unit == 'w' else 1)}d)"
        if days_only:
            return ""  # a global period in months: the expected text says days
        if unit == "m":
            return f" (write {count}mo)"
        return (f" (write {12 * count}mo for {12 * count} months back, or year for the "
                "calendar year)")
    if "DURATION" in accepted and str(tok).isdigit() and len(tok) <= 6:
        return f" (write {tok}d for {tok} days)"
    loose = _LOOSE_DATE.match(text, start)
    if "DATE" in accepted and loose is not None:
        try:
            day = dt.date(*map(int, loose.groups()))
        except ValueError:  # no such date: the expected text says how dates are written
            return ""
        return f" (write {day.isoformat()})"
    measure = _MEASURE_WORDS.get(str(tok).lower())
    if "MEASURE" in accepted and measure is not None:
        return f" (did you mean '{measure}'?)"
    return ""


def _open_rule_header(text: str, tok: Token, accepted: set[str]
                      ) -> tuple[int, int, str] | None:
    """Where a ``rule NAME …`` header that lacks its ':' ends, when the body that should follow
    it starts the next line (``tok``, the first token of its line): the line, the column just
    past the header's last character, and the rule's name. None otherwise."""
    start = tok.start_pos or 0
    line_start = text.rfind("\n", 0, start) + 1
    if "COLON" not in accepted or text[line_start:start].strip() or line_start == 0:
        return None
    # the last line before the body that holds more than a comment: the header's last line
    lines = text[:line_start].split("\n")[:-1]
    for number in range(len(lines), 0, -1):
        code = _without_comment(lines[number - 1]).rstrip()
        if code.strip():
            # the header's first line: the nearest line above that starts with `rule NAME`
            name = next((found.group(1) for found in map(
                _RULE_HEADER.match, reversed(lines[:number])) if found is not None), "NAME")
            return number, len(code) + 1, name
    return None  # pragma: no cover - a header precedes any body the parser took COLON for


def _without_comment(line: str) -> str:
    """The line up to its comment (``_comment_column``)."""
    col = _comment_column(line)
    return line if col is None else line[:col]


_RULE_HEADER = re.compile(r"[ \t]*rule[ \t]+([A-Za-z0-9_-]+)")


def _option_after_colon(text: str, tok: Token) -> str:
    """A hint when a rule option (``review``, ``carc``, ``effective`` …) follows the ':' of a
    named rule's header: the options go before it."""
    start = tok.start_pos or 0
    if str(tok) not in _RULE_OPTIONS or not _AFTER_RULE_COLON.search(text, 0, start):
        return ""
    return f" (a rule's options go before the ':': rule NAME {tok}…: BODY)"


_RULE_OPTIONS = frozenset({"review", "deny", "carc", "effective", "until"})
_AFTER_RULE_COLON = re.compile(r"(?:^|\n)[ \t]*rule[ \t]+[A-Za-z0-9_-]+[^:\n]*:\s*\Z")


def _statement_word(text: str, offset: int) -> str:
    """The statement keyword written last before ``offset`` on its line: the statement there,
    mostly (``rule g: global 27447 90`` is a ``global``)."""
    line_start = text.rfind("\n", 0, offset) + 1
    found = _STATEMENT_WORD.findall(text, line_start, offset)
    return found[-1] if found else ""


def _did_you_mean(tok: Token, accepted: set[str], lark: Lark) -> str:
    """A hint when the unexpected word is a keyword the parser would take here, capitalised
    or misspelt: keywords are lower case words."""
    word = str(tok)
    if not word.isalpha():
        return ""
    keywords = {d.strip("'") for d in map(functools.partial(_describe, lark=lark), accepted)
                if d.startswith("'") and d.strip("'").isalpha()}
    keywords.update(*(_WORDS_OF.get(terminal, ()) for terminal in accepted))
    if {"when", "limit", "rule"} <= keywords:
        keywords |= set(_STATEMENT_KEYWORDS)
    if word.lower() in keywords:
        return f" (keywords are lower case: '{word.lower()}')"
    close = difflib.get_close_matches(word.lower(), sorted(keywords), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


_CARC_GROUP_BEFORE = re.compile(rf"\bcarc[ \t]+(?:{'|'.join(CARC_GROUPS)})\Z", re.IGNORECASE)


def _character_hint(text: str, position: int, char: str) -> str:
    """Why a character no token may hold is there, for the usual slips; nothing when the slip
    is not recognised."""
    statement = _statement_word(text, position)
    line_start = text.rfind("\n", 0, position) + 1
    before, after = text[line_start:position].rstrip(), text[position + 1:position + 8]
    if char == "/" and text.startswith("//", position):
        return "; a comment starts with '#'"
    if char == "-" and _CARC_GROUP_BEFORE.search(before):
        reason = re.match(r"[ \t]*([A-Za-z]?[0-9]+)", text[position + 1:position + 12])
        alone = f"carc {reason.group(1).upper()}" if reason else "carc 119, say"
        return (f"; write the reason code alone ({alone}): the group code "
                f"{before[-2:].upper()} is not part of it")
    if char in ";|/&":
        return "; list items are separated by ','"
    if char in "'‘’“”":
        return '; quoted text is written between straight double quotes ("...")'
    if char in "<>=≤":
        return "; a bound is written '<= N'" if statement in ("limit", "mue") else ""
    if char == "-" and before.endswith("<="):
        return "; a count is a whole number, at least 1"
    if char in ".-" and statement in ("policy", "extends", "disable"):
        return ("; a policy name is words of letters, digits and '_', each starting with a "
                "letter or '_', joined by '.'")
    if char == "-" and _CODE_BEFORE.search(before) and _CODE_AFTER.match(after):
        return "; a range is written with '..' (64490..64495)"
    if char == "." and statement == "dx" and _DIAGNOSIS_BEFORE.search(before):
        return "; a diagnosis code has one dot, after its third character (M54.50)"
    if char in ".-" and _NAME_BEFORE.search(before):
        return "; names are letters, digits and '_'"
    if char.isspace():
        return f" (U+{ord(char):04X}, a space that is not a plain space)"
    return ""


_CODE_BEFORE = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z0-9]{5}\Z")
_CODE_AFTER = re.compile(r"\s*[A-Za-z0-9]{5}(?![A-Za-z0-9_])")
_DIAGNOSIS_BEFORE = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z][0-9][A-Za-z0-9]\.[A-Za-z0-9]*\Z")
_NAME_BEFORE = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*\Z")


_LAST_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")


def _keyword_taken_as_name(text: str, tok: Token, accepted: set[str], lark: Lark) -> str:
    """A hint when the word before ``tok`` is a keyword the parser still expects: it was read
    as a name (set names may be keywords), as in ``require dx for 97810``."""
    start = tok.start_pos or 0
    found = _LAST_WORD.search(text, max(0, start - 80), start)
    if found is None:
        return ""
    word = found.group(1).lower()
    # a statement's first word is expected at the end of every statement: no sign there
    if word in _STATEMENT_KEYWORDS or f"'{word}'" not in {_describe(t, lark) for t in accepted}:
        return ""
    article = "an" if word[0] in "aeiou" else "a"
    return (f" ('{word}' before it was read as a name, and {article} '{word}' is still to "
            "come: is a name or a list missing before it?)")


#: The most digits of a count, leading zeros aside: the bound of the grammar's ``INT``.
COUNT_DIGITS = 18
#: A number the grammar's INT refuses for its length (it is read as another token instead).
_LONG_NUMBER = re.compile(rf"0*[0-9]{{{COUNT_DIGITS + 1},}}")


def _shortened(digits: str) -> str:
    """A long number as a message shows it: whole up to 24 digits, else its ends."""
    if len(digits) <= 24:
        return digits
    return f"{digits[:10]}...{digits[-10:]} ({len(digits):,} digits)"


_STRING_START = re.compile(r'"([^"\\\n]|\\.)*"')


def _incomplete(text: str, expected: set[str], lark: Lark, where: str) -> tuple[str, n.Span]:
    """The statement that ``text`` ends in the middle of: the error is just after its last
    token (comments after it do not count)."""
    line, column, offset = _end_of_code(text)
    wanted = _expected(expected, lark, _statement_word(text, max(offset - 1, 0)) == "global")
    if _AFTER_MODIFIER.search(text, 0, offset):
        wanted = wanted.replace("a code or name", "a modifier (2 letters or digits)")
    return (f"the statement is incomplete{' ' + where if where else ''}; expected {wanted}",
            n.Span(line, column, line, column + 1))


_AFTER_MODIFIER = re.compile(r"\bmodifier(\s*[A-Za-z0-9]+\s*,)*\s*\Z")


def _end_of_code(text: str) -> tuple[int, int, int]:
    """Line, column and offset just after the last character of ``text`` that is not blank
    or in a comment."""
    lines = text.split("\n")
    starts = {c.span.line: c.span.column - 1 for c in _comments(text)}
    for number in range(len(lines), 0, -1):
        code = lines[number - 1][:starts.get(number)].rstrip()
        if code:
            return number, len(code) + 1, sum(map(len, lines[:number - 1])) + number - 1 + len(
                code)
    return 1, 1, 0


def _swallowed_keyword(text: str, tok: Token) -> int | None:
    """Where a statement keyword starts that the parser read as a value just before ``tok``:
    the first word of its line, while ``tok`` is on that line too."""
    start = tok.start_pos or 0
    line_start = text.rfind("\n", 0, start) + 1
    found = re.match(r"[ \t]*([a-z]+)[ \t]", text[line_start:start])
    if found is None or found.group(1) not in _STATEMENT_KEYWORDS or line_start == 0:
        return None
    if text[line_start + found.end():start].strip():  # more than the keyword before tok
        return None
    return line_start + found.start(1)


def parse(text: str, path: str = "<policy>") -> n.Module:
    """Parse one policy file. Raises ``PolicyError`` with a located diagnostic on bad syntax."""
    lark = _lark()
    try:
        built = cast(_Spanned, lark.parse(text))  # what _ToAst.start made
        statements: list[n.Statement | _DuplicateOption] = built.value
    except UnexpectedInput as exc:
        message, span = _syntax_message(exc, text, lark)
        raise PolicyError([error("E001", message, path, span)], {path: text}) from None
    for statement in statements:
        if isinstance(statement, _DuplicateOption):
            raise PolicyError(
                [error("E212", f"rule option '{statement.key}' is given twice", path,
                       statement.span)],
                {path: text},
            )
    return n.Module(path, tuple(cast(list[n.Statement], statements)), _comments(text),
                    span=n.Span(1, 1, text.count("\n") + 1, 1))
