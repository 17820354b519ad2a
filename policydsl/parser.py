"""Parse policy text into a ``nodes.Module``.

Lark (LALR) reads the grammar in ``grammar.lark``. The ``_ToAst`` transformer builds the frozen
AST while Lark parses, with no parse tree in between (a third fewer instructions than
building a tree and transforming it, on a 10,000-rule policy). Every node carries its span,
from its first token (its keyword) to its last, as Lark's ``propagate_positions`` would place
it; ``_located`` works it out from the tokens, which the parser keeps for that. Syntax errors
become a ``PolicyError`` whose one diagnostic points at the offending token, worded by
``syntax_errors``; an option given twice to a rule is reported once the whole text has parsed.
Comments are collected by a separate scan (``comments``) so the parser holds no per-call state
and can be shared between threads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any, cast

import attrs
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput
from lark.lexer import PatternRE, PatternStr, TerminalDef

from . import nodes as n
from .comments import comments
from .diagnostics import PolicyError, error
from .syntax_errors import WORDS_OF, syntax_message, token_span

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
    elif terminal.name in WORDS_OF:  # a few keywords in one terminal: `per days` is no `day`
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


def _word(tok: Token) -> n.Word:
    return n.Word(str(tok), span=token_span(tok))


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
        until = n.DateLit(str(c[1]), span=token_span(c[1])) if len(c) > 1 else None
        return n.Effective(n.DateLit(str(c[0]), span=token_span(c[0])), until, span=span)

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
        return ("message", n.Text(_unescape(str(c[0])), span=token_span(c[0])), span)

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
                maximum = n.Number(int(item), span=token_span(item))
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
        count = n.Number(int(c[0]), span=token_span(c[0]))
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
        since = n.DateLit(str(c[1]), span=token_span(c[1]))
        return n.Deleted(c[0], since, c[2] if len(c) > 2 else (), span=span)

    def replacement(self, span: n.Span, c: list[Any]) -> tuple[n.CodeItem, ...]:
        return tuple(c[0])

    def forbid_modifier(self, span: n.Span, c: list[Any]) -> n.ForbidModifier:
        return n.ForbidModifier(c[0], c[1], span=span)

    def mue(self, span: n.Span, c: list[Any]) -> n.Mue:
        maximum = n.Number(int(c[1]), span=token_span(c[1]))
        return n.Mue(c[0], maximum, c[2] if len(c) > 2 else "", span=span)

    def mue_per(self, span: n.Span, c: list[Token]) -> str:
        return str(c[0])

    def table(self, span: n.Span, c: list[Token]) -> n.Table:
        path = n.Text(_unescape(str(c[1])), span=token_span(c[1]))
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
        return n.Duration(str(c[0]), span=token_span(c[0]))


# ``global`` is a Python keyword; the grammar rule is named ``global``.
setattr(_ToAst, "global", _ToAst.global_)


@attrs.frozen
class _DuplicateOption:
    """Stands for a named rule that gives an option twice: the option, and where."""

    key: str
    span: n.Span


def parse(text: str, path: str = "<policy>") -> n.Module:
    """Parse one policy file. Raises ``PolicyError`` with a located diagnostic on bad syntax."""
    lark = _lark()
    try:
        built = cast(_Spanned, lark.parse(text))  # what _ToAst.start made
        statements: list[n.Statement | _DuplicateOption] = built.value
    except UnexpectedInput as exc:
        message, span = syntax_message(exc, text, lark)
        raise PolicyError([error("E001", message, path, span)], {path: text}) from None
    for statement in statements:
        if isinstance(statement, _DuplicateOption):
            raise PolicyError(
                [error("E212", f"rule option '{statement.key}' is given twice", path,
                       statement.span)],
                {path: text},
            )
    return n.Module(path, tuple(cast(list[n.Statement], statements)), comments(text),
                    span=n.Span(1, 1, text.count("\n") + 1, 1))
