"""Syntax errors worded for a person: ``syntax_message`` turns Lark's ``UnexpectedInput`` into
a message and the span it points at. It says, in words, what the parser would have taken there
(``_expected``), and adds a hint for the usual slips of an analyst: a keyword misspelt or
capitalised, a window or date written the way policies word them, a character pasted from a
word processor, a rule's option after its ':', a statement cut short."""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import re

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import nodes as n
from .codes import CARC_GROUPS
from .comments import comment_column, comments


def token_span(tok: Token) -> n.Span:
    return n.Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


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


STATEMENT_KEYWORDS = ("policy", "extends", "effective", "set", "dx", "rule", "when", "limit",
                      "exclusive", "addon", "require", "global", "deleted", "forbid", "mue",
                      "table", "disable")
_STATEMENT_WORD = re.compile(r"\b(" + "|".join(STATEMENT_KEYWORDS) + r")\b")


#: Terminals that stand for a few words, for ``_did_you_mean``.
WORDS_OF = {"MEASURE": ("units", "sessions"), "ACTION": ("deny", "review"),
            "MUE_SCOPE": ("day", "line"), "WINDOW_WORD": ("day", "claim", "year", "lifetime")}


def _expected(expected: set[str], lark: Lark, days_only: bool = False) -> str:
    """Expected terminals in words; statement keywords fold into "a new statement".
    ``days_only``: a window is a number of days here (a ``global`` period)."""
    if days_only and "DURATION" in expected:
        expected = expected - {"DURATION", "WINDOW_WORD"}
        words = {_describe(t, lark) for t in expected} | {"a number of days (10d, 90d)"}
    else:
        words = {_describe(t, lark) for t in expected}
    keywords = {f"'{k}'" for k in STATEMENT_KEYWORDS}
    starts_statement = {"'when'", "'limit'", "'rule'"} <= words
    if starts_statement:
        words -= keywords
    listed = sorted(words)
    if starts_statement:
        if not listed:
            return "a statement (" + ", ".join(STATEMENT_KEYWORDS) + ")"
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


def syntax_message(exc: UnexpectedInput, text: str, lark: Lark) -> tuple[str, n.Span]:
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
                f"{COUNT_DIGITS} digits", token_span(tok))
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
    odd = _odd_character_in(text, tok)
    if odd is not None:  # `9０d`: the lexer stopped at the '０', which is the slip
        at = odd - (tok.start_pos or 0)
        return (f"unexpected character {text[odd]!r}{_character_hint(text, odd, text[odd])}",
                n.Span(tok.line or 1, (tok.column or 1) + at, tok.line or 1,
                       (tok.column or 1) + at + 1))
    accepted = _accepted(exc)
    header_end = _open_rule_header(text, tok, accepted)
    if header_end is not None:
        end_line, end_column, name = header_end
        if str(tok).lower() in _BODY_KEYWORDS or difflib.get_close_matches(
                str(tok).lower(), _BODY_KEYWORDS, n=1, cutoff=0.75):  # a body, misspelt
            return (f"the header of rule '{name}' must end with ':' before its body "
                    f"({str(tok)!r} on line {tok.line})",
                    n.Span(end_line, end_column, end_line, end_column + 1))
        return (f"rule '{name}' has no body: after its header come ':' and one rule "
                f"statement (rule {name} …: limit …); {str(tok)!r} on line {tok.line} starts "
                "no rule", n.Span(end_line, end_column, end_line, end_column + 1))
    wanted = _expected(accepted, lark, _statement_word(text, tok.start_pos or 0) == "global")
    taken_as_name = _keyword_taken_as_name(text, tok, accepted, lark)
    described = {_describe(t, lark) for t in accepted}
    hint = (_option_after_colon(text, tok) or _written_as(text, tok, accepted)
            or _did_you_mean(tok, accepted, lark) or _bound_wanted(tok, described)
            or _rule_id_wanted(text, tok, accepted)
            or (not taken_as_name and _list_slip(text, tok, described)) or "")
    return f"unexpected {str(tok)!r}; expected {wanted}{taken_as_name}{hint}", token_span(tok)


#: A window or period written out in words: ``90 days``, ``6 months``, ``1 year``, ``2w``.
_SPELLED_WINDOW = re.compile(r"([0-9]{1,6})[ \t]*(days?|d|weeks?|wks?|w|months?|mos?|m|years?"
                             r"|yrs?|y)(?![A-Za-z0-9_])", re.IGNORECASE)
#: A number of days without its ``d``: up to four digits (five are a code), then the end of
#: the statement or what follows a window (``<=``, ``covers``, ``unless``, ``by``).
_BARE_DAYS = re.compile(r"[0-9]{1,4}(?=[ \t]*(?:$|#|<|:|covers\b|unless\b|by\b))", re.MULTILINE)
#: The longest window, in days (E213: 100 years).
_MOST_DAYS = 36525
#: A date with one-digit parts, or slashes: ``2025-1-1``, ``2025/01/01``.
_LOOSE_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?![0-9/-])")
#: A date written month first, as on American forms: ``01/31/2025``, ``01-31-2025``.
_MONTH_FIRST_DATE = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4})(?![0-9/-])")
#: Words analysts use for a window, and what to write instead.
_WINDOW_WORDS = {"yr": "did you mean 'year'?", "yrs": "did you mean 'year'?",
                 "annual": "write year for the calendar year, or 12mo for 12 months back",
                 "annually": "write year for the calendar year, or 12mo for 12 months back",
                 "yearly": "write year for the calendar year, or 12mo for 12 months back",
                 "month": "write 1mo", "monthly": "write 1mo", "week": "write 7d",
                 "weekly": "write 7d", "daily": "did you mean 'day'?",
                 "calendar": "write year: it is the calendar year"}
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
        days = count * {"d": 1, "w": 7, "m": 31, "y": 366}[unit]
        if count == 0 or days > _MOST_DAYS:  # E211, E213: no window to suggest
            return ""
        if unit in "dw":
            return f" (write {count * (7 if unit == 'w' else 1)}d)"
        if days_only:
            return ""  # a global period in months: the expected text says days
        if unit == "m":
            return f" (write {count}mo)"
        return (f" (write {12 * count}mo for {12 * count} months back, or year for the "
                "calendar year)")
    if "DURATION" in accepted and _BARE_DAYS.match(text, start) and 0 < int(tok) <= _MOST_DAYS:
        return f" (write {int(tok)}d for {int(tok)} day{'s' * (int(tok) != 1)})"
    window_word = _WINDOW_WORDS.get(str(tok).lower())
    if ({"DURATION", "WINDOW_WORD"} & accepted and window_word is not None
            and _statement_word(text, start) != "global"):  # a period is a number of days
        return f" ({window_word})"
    slashed = _MONTH_FIRST_DATE.match(text, start)
    if "DATE" in accepted and slashed is not None:
        first, second, year = (int(slashed.group(i)) for i in (1, 3, 4))
        readings: list[str] = []
        for month, day_of_month in ((first, second), (second, first)):
            with contextlib.suppress(ValueError):  # not a date read this way
                readings.append(dt.date(year, month, day_of_month).isoformat())
        readings = sorted(set(readings), key=readings.index)
        if len(readings) == 2:  # 02/03/2025: February 3 or 2 March
            return f" (dates are written year first: {readings[0]} or {readings[1]})"
        return f" (write {readings[0]}: year first)" if readings else ""
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
    col = comment_column(line)
    return line if col is None else line[:col]


_RULE_HEADER = re.compile(r"[ \t]*rule[ \t]+([A-Za-z0-9_-]+)")


def _option_after_colon(text: str, tok: Token) -> str:
    """A hint when a rule option (``review``, ``carc``, ``effective`` …) or its message
    follows the ':' of a named rule's header: they go before it."""
    start = tok.start_pos or 0
    message = tok.type == "STRING"
    option = str(tok).lower()
    if option not in _RULE_OPTIONS and not message:
        return ""
    header = _AFTER_RULE_COLON.search(text, 0, start)
    if header is None:
        if not message and _statement_word(text, start) in _BODY_KEYWORDS:
            # `limit … <= 1 carc 119`: an option after the body
            return (f" (a rule's options go in its header, before the ':': rule NAME "
                    f"{option}…: BODY)")
        return ""
    if message and '"' in header.group(0):  # the header has its message: a second is E212
        return ""
    if message:
        return " (a rule's message goes before the ':': rule NAME \"MESSAGE\": BODY)"
    return f" (a rule's options go before the ':': rule NAME {option}…: BODY)"


_RULE_OPTIONS = frozenset({"review", "deny", "carc", "effective", "until"})
_BODY_KEYWORDS = ("when", "limit", "exclusive", "addon", "require", "global", "deleted",
                  "forbid", "mue", "table")
#: A rule's header up to its ':' (a message may hold a ':'), then nothing but blanks.
_AFTER_RULE_COLON = re.compile(r'(?:^|\n)[ \t]*rule[ \t]+[A-Za-z0-9_-]+(?:[^:\n"]|"(?:[^"\\\n]'
                               r'|\\.)*")*:\s*\Z')


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
    keywords.update(*(WORDS_OF.get(terminal, ()) for terminal in accepted))
    if {"when", "limit", "rule"} <= keywords:
        keywords |= set(STATEMENT_KEYWORDS)
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
    in_dx = _after_dx(before)
    if char in _INVISIBLE:
        return f" (U+{ord(char):04X}, an invisible character pasted with the text: delete it)"
    if char.isdigit():  # not an ASCII digit, or the lexer would have taken it
        return f" (U+{ord(char):04X}, a digit that is not a plain 0-9)"
    if char in _DASHES or char == "-":
        return _dash_hint(char, statement, before, after, in_dx)
    if (char == "/" and text.startswith(("//", "/*"), position)) or (char == ";" and not before):
        return "; a comment starts with '#'"
    if char == "/" and _CARC_GROUP_BEFORE.search(before):
        return _dash_hint("-", statement, before, after, in_dx)  # CO/119 as CO-119
    if char in "/&" and _E_BEFORE.search(before) and _M_AFTER.match(after):
        return "; name the E/M visits by their codes (99202..99215)"
    if char == "/" and statement in ("policy", "extends"):
        return _POLICY_NAME
    if char == "/" and _RULE_NAME_BEFORE.search(before):
        return _RULE_NAME
    if char in ";|/&":
        return "; list items are separated by ','"
    if char in "'‘’“”":
        return '; quoted text is written between straight double quotes ("...")'
    if char in "<>=≤":
        return "; a bound is written '<= N'" if statement in ("limit", "mue") else ""
    if char == "." and statement == "disable" and "/" in (before.split() or [""])[-1]:
        return _RULE_NAME  # in the name after the policy's
    if char == "." and statement in ("policy", "extends", "disable"):
        return _POLICY_NAME
    if char == "." and in_dx and text.startswith("..", position - 1):
        return _NO_DIAGNOSIS_RANGES
    if char == "." and in_dx and _DIAGNOSIS_BEFORE.search(before):
        return "; a diagnosis code has one dot, after its third character (M54.50)"
    if char == "." and not in_dx and _DIAGNOSIS_HEAD.search(before):
        rest = re.match(r"[A-Za-z0-9]*", after)
        diagnosis = before[-3:] + "." + (rest.group(0) if rest else "")
        return (f"; {diagnosis} is a diagnosis: diagnoses go in a 'dx' set or after "
                "'require dx'")
    if char == "." and _CODE_BEFORE.search(before) and _PROCEDURE_CODE.fullmatch(before[-5:]):
        return f"; a procedure code has no dot ({before[-5:].upper()})"
    if char == "." and _NAME_BEFORE.search(before):
        return _NAME_CHARACTERS
    if char.isspace():
        return f" (U+{ord(char):04X}, a space that is not a plain space)"
    return ""


def _dash_hint(char: str, statement: str, before: str, after: str, in_dx: bool) -> str:
    """Why a '-', or a dash a word processor made of one, is where no token may hold it."""
    if _CARC_GROUP_BEFORE.search(before):
        reason = re.match(r"[ \t]*([A-Za-z]?[0-9]+)", after)
        alone = f"carc {reason.group(1).upper()}" if reason else "carc 119, say"
        return (f"; write the reason code alone ({alone}): the group code "
                f"{before[-2:].upper()} is not part of it")
    between_codes = _CODE_BEFORE.search(before) and _CODE_AFTER.match(after)
    if in_dx and (between_codes or _DIAGNOSIS_AFTER.match(after)):
        return _NO_DIAGNOSIS_RANGES
    if between_codes:
        return "; a range is written with '..' (64490..64495)"
    if before.endswith("<="):
        return "; a bound is a whole number, 0 or more"
    if statement == "require" and after[:1].isdigit() and before.endswith("require"):
        return "; a count is a whole number, at least 1"
    if char != "-":  # in a name, a plain '-' may be what was meant
        return f" (U+{ord(char):04X}, a dash that is not a plain '-')"
    if statement == "rule" and re.search(r"\brule\Z", before):  # `rule -acu:`
        return "; a rule name starts with a letter or '_'"
    if statement in ("policy", "extends", "disable"):
        return _POLICY_NAME
    if _NAME_BEFORE.search(before):
        return _NAME_CHARACTERS
    return ""


_RULE_NAME = "; a rule name is letters, digits, '_' and '-'"
#: The name of a rule being written, or of one after a policy's name and '/'.
_RULE_NAME_BEFORE = re.compile(r"(?:\brule[ \t]+|/)[A-Za-z_][A-Za-z0-9_-]*\Z")
_PROCEDURE_CODE = re.compile(r"[0-9]{5}|[0-9]{4}[A-Za-z]|[A-Za-z][0-9]{4}")
_DIAGNOSIS_AFTER = re.compile(r"\s*[A-Za-z][0-9][A-Za-z0-9]")
_POLICY_NAME = ("; a policy name is words of letters, digits and '_', each starting with a "
                "letter or '_', joined by '.'")
_NAME_CHARACTERS = "; names are letters, digits and '_'"
_NO_DIAGNOSIS_RANGES = ("; diagnoses have no ranges: a pattern such as M54.5* names every code "
                        "that starts with M54.5")
#: The E of ``E/M`` (or ``E&M``), and its M.
_E_BEFORE = re.compile(r"(?<![A-Za-z0-9_])[Ee]\Z")
_M_AFTER = re.compile(r"[Mm](?![A-Za-z0-9_])")


def _odd_character_in(text: str, tok: Token) -> int | None:
    """Where, in the word that starts at ``tok``, a character a paste brings in stands (a digit
    that is not 0-9, a dash that is not '-', an invisible character), if one does: the lexer
    cut the word there, and the token it made of the part before is not the slip."""
    start = tok.start_pos or 0
    word = re.match(r'[^\s"]{1,40}', text[start:])  # quoted text may hold any character
    if word is None or tok.type == "STRING":
        return None
    for offset, char in enumerate(word.group(0)):
        if char in _DASHES or char in _INVISIBLE or (char.isdigit() and not char.isascii()):
            return start + offset
    return None


#: Dashes a word processor puts for '-': hyphen, non-breaking hyphen, figure dash, en and em
#: dash, horizontal bar, minus sign.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
#: Characters that show as nothing: zero-width space, non-joiner and joiner, word joiner, a
#: byte order mark inside the text, soft hyphen.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
#: A diagnosis code's first three characters, just before a dot.
_DIAGNOSIS_HEAD = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z][0-9][A-Za-z0-9]\Z")


def _after_dx(before: str) -> bool:
    """Whether the line up to here is a ``dx`` statement or a ``require dx`` list (up to its
    ``for``, after which come codes)."""
    return bool(re.match(r"\s*(?:rule\b[^:]*:\s*)?(?:dx\b|require\s+dx\b(?!.*\bfor\b))",
                         before))


def _bound_wanted(tok: Token, described: set[str]) -> str:
    """A hint when a limit's bound is written another way: ``=< 12``, ``= 12``, ``max 12``,
    ``up to 12``. ``described``: what the parser would take here, in words."""
    if str(tok).lower() not in _BOUND_WORDS or "'<='" not in described:
        return ""
    return " (a bound is written '<= N')"


_BOUND_WORDS = frozenset({"=", "==", "=<", "max", "maximum", "up", "at", "most"})


def _rule_id_wanted(text: str, tok: Token, accepted: set[str]) -> str:
    """A hint when a rule id is written another way where one is wanted: the rule's name alone
    (``disable acu-90d``), the two parts apart or joined by another mark (``disable
    medicare.pain acu-90d``, ``medicare.pain:acu-90d``), a '.' for the '/' before a name that
    no policy name could end in (``medicare.tpi.tpi-frequency``), or a slip in the policy's
    name before a '/'."""
    if "RULE_REF" not in accepted:
        return ""
    start = tok.start_pos or 0
    written = re.match(r"[A-Za-z0-9_@.-]+", text[start:])
    if written is None:
        return ""
    word = written.group(0)
    after = text[start + len(word):]
    if after.startswith("/"):  # the '/' is there: the policy's name is the slip
        return f" ({_POLICY_NAME[2:]})"
    rest = re.match(r"[ \t]*([/:\\]?)[ \t]*([A-Za-z0-9_@./-]+)", after)
    if rest is not None and "/" in rest.group(2):  # `disable rule medicare.pain/acu`
        return f" ('{word}' is no part of a rule id: {rest.group(2)})"
    if rest is not None and (rest.group(1) or not rest.group(2).startswith("#")):
        return (f" (a rule id joins the policy's name and the rule's name with '/', no "
                f"spaces: {word}/{rest.group(2)})")
    policy, dot, name = word.rpartition(".")
    if dot and policy and re.search(r"[-@]", name):  # no part of a policy name has a '-'
        return (f" (a rule id joins the policy's name and the rule's name with '/': "
                f"{policy}/{name})")
    return (" (a rule id is the name of the policy that wrote the rule, '/', then the rule's "
            f"name: POLICY/{name if not dot else 'NAME'})")


def _list_slip(text: str, tok: Token, described: set[str]) -> str:
    """A hint when two items of a list stand side by side, or joined by a word: ``77002
    77003``, ``59 or XU``, ``M54.50 and M54.51``; when a range or a validity is written with a
    word (``77002 to 77003``, ``effective … through …``); or when a diagnosis set is given a
    range. ``described``: what the parser would take here, in words."""
    word = str(tok)
    start = tok.start_pos or 0
    before = text[text.rfind("\n", 0, start) + 1:start].rstrip()  # the line up to ``tok``
    if word == ".." and _after_dx(before):
        return f" ({_NO_DIAGNOSIS_RANGES[2:]})"
    ranging = word.lower() in ("to", "thru", "through")
    if ranging and "'until'" in described:
        return " (did you mean 'until'?)"
    if "','" not in described or not before[-1:].isalnum():
        return ""
    if ranging and "'..'" in described:
        return " (a range is written with '..' (64490..64495))"
    modifiers = re.search(r"\bmodifier\b", before) is not None
    statement = _statement_word(text, start)
    if (word.lower() in ("and", "or") or _LIST_ITEM.fullmatch(word)
            or (modifiers and _MODIFIER.fullmatch(word))
            or (statement in ("set", "extends") and _SET_OR_POLICY.fullmatch(word)
                and word not in STATEMENT_KEYWORDS)):
        return " (list items are separated by ',')"
    return ""


#: What stands in a list of codes or diagnoses; and in a list of modifiers.
_LIST_ITEM = re.compile(r"[0-9]{5}|[0-9]{4}[A-Za-z]|[A-Za-z][0-9]{4}"
                        r"|[A-Za-z][0-9][A-Za-z0-9]\.?[A-Za-z0-9]{0,4}")
#: A modifier: two characters, with a digit or upper case (not ``in`` or ``to``).
_MODIFIER = re.compile(r"[0-9][A-Za-z0-9]|[A-Za-z][0-9]|[A-Z]{2}")
_SET_OR_POLICY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


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
    if word in STATEMENT_KEYWORDS or f"'{word}'" not in {_describe(t, lark) for t in accepted}:
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
    starts = {c.span.line: c.span.column - 1 for c in comments(text)}
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
    if found is None or found.group(1) not in STATEMENT_KEYWORDS or line_start == 0:
        return None
    if text[line_start + found.end():start].strip():  # more than the keyword before tok
        return None
    return line_start + found.start(1)
