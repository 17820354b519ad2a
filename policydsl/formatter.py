"""The canonical layout of policy text, for ``policyc fmt``.

``format_text`` parses a file and prints it back in the one layout below; ``format_module``
does the same from an already parsed ``Module`` and the source it came from (the source is
needed only to place comments and blank lines). Formatting never reorders statements and never
changes what a policy means: the formatted text parses to ``canonical_module(parse(text))``
(equal ignoring spans), and formatting is idempotent.

The layout:

* **Statements.** Each statement starts on a line of its own, at column 1. Tokens are separated
  by single spaces; list items by ``, ``; a range is ``LOW..HIGH`` with no spaces; ``<=`` has a
  space on each side; ``set NAME = ...`` and ``dx NAME = ...`` put a space around ``=``.
  Keywords are lower case (the grammar accepts no other case).
* **Case.** Procedure codes (and anything in a code list that cannot be a set name, such as a
  word starting with a digit), both ends of a range, modifiers and a rule's ``carc`` are upper
  cased: ``j0585`` becomes ``J0585``, ``xu`` becomes ``XU``. Diagnosis codes and patterns are
  upper cased with their dot kept or left out as written (``m54.5*`` becomes ``M54.5*``,
  ``m5450`` becomes ``M5450``). Set names, policy names, rule names, rule references, table
  kinds, dates and durations are printed as written: they are case sensitive. These are the
  rewrites the resolver already applies (``codes.normalize``), so meaning is unchanged.
* **Numbers** are printed in decimal without leading zeros (``<= 012`` becomes ``<= 12``).
* **Optional words.** ``limit`` prints ``by provider`` and its measure (``units`` or
  ``sessions``) only when written; ``mue`` prints ``per day`` or ``per line`` only when written;
  ``exclusive`` prints ``across providers`` after its list when written.
  Defaults are never added or dropped, so a formatted file reads like its source.
* **Strings** are re-quoted: ``"`` as ``\\"``, a backslash as ``\\\\``, a line break as
  ``\\n`` and a tab as ``\\t``; every other character is printed as itself (an unneeded escape
  in the source, such as ``\\q``, is dropped, since it means the same as ``q``).
* **Named rules** are ``rule NAME [carc X] [review|deny] ["message"] [effective D [until D]]:``
  with the options in that fixed order whatever their order in the source. The body follows on
  the same line when the whole rule fits in 100 columns, else on the next line, indented four
  spaces. The header itself is never broken.
* **Wrapping.** A statement longer than 100 columns is broken after a list comma: each line is
  filled as far as it fits, and the break is made at the last comma that keeps the line within
  100 columns. Continuation lines are indented four spaces (eight for the body of a named rule,
  which is already indented four). A line with no comma to break at may pass 100 columns (a
  long message, a long list item). Comments do not count towards the width.
* **Comments** are all kept, each on its own, in their order, with their text unchanged (from
  ``#`` to the end of the line, trailing blanks removed): the formatted text has the same
  ``Module.comments``. A comment alone on its line, between statements, is printed on a line
  of its own at column 1, before the statement that follows it (or at the end of the file when
  none follows). A comment that shares a line with some text of a statement is a *trailing*
  comment of that statement (of the later one when two statements share the line). When it is
  the only comment inside the statement, it is printed at the end of the statement's last
  line, after two spaces, whichever line of the statement it was on. Comments alone on the
  lines right under a trailing comment of a statement's last line, starting in the same
  column, continue it: they stay under it, in the column where it is printed.
* **Annotated statements.** A statement holding several comments (a list with a comment after
  each item, say), or a comment alone on a line inside it, keeps each comment where it was:
  a trailing comment stays after the list item (or word) it followed, and the line is broken
  there; a comment alone on a line stays on a line of its own before the item it preceded,
  indented like the line that follows it. A named rule so annotated has its body on the lines
  after its header; a comment anywhere in a header goes after the header. The rest is filled
  and wrapped as usual.
* **Blank lines.** A run of blank lines between two statements or comments becomes one blank
  line; blank lines inside a statement and at the start of the file are dropped. The file ends
  with exactly one line break, except that a file with neither statements nor comments formats
  to the empty text.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import attrs

from . import codes as c
from . import nodes as n
from .files import universal_newlines
from .parser import parse

#: The column a line should not pass.
WIDTH = 100
#: The indentation of a continuation line, and of the body of a named rule on its own line.
INDENT = 4

__all__ = ["INDENT", "LIST_FIELDS", "WIDTH", "canonical_module", "format_file",
           "format_file_text", "format_module", "format_statement", "format_text", "quote"]


# --- the canonical AST --------------------------------------------------------------------


def _code_word(word: n.Word) -> n.Word:
    """A code-list word: upper-cased when it is a code (or could never be a set name)."""
    text = word.text
    if c.is_code(text) or text[:1].isdigit():
        return attrs.evolve(word, text=text.upper())
    return word


def _code_item(item: n.CodeItem) -> n.CodeItem:
    if isinstance(item, n.CodeRange):
        return attrs.evolve(item, low=_upper(item.low), high=_upper(item.high))
    return _code_word(item)


def _dx_word(word: n.Word) -> n.Word:
    """A dx-list word: upper-cased when it is (or can only be) a diagnosis, not a dx set name."""
    return attrs.evolve(word, text=c.dx_word_text(word.text))


def _upper(word: n.Word) -> n.Word:
    return attrs.evolve(word, text=word.text.upper())


_N = TypeVar("_N", bound=n.Node)


def _codes(items: tuple[n.CodeItem, ...]) -> tuple[n.CodeItem, ...]:
    return tuple(_code_item(i) for i in items)


def _words(canon: Callable[[n.Word], n.Word]) -> Callable[[tuple[n.Word, ...]], tuple[n.Word, ...]]:
    return lambda words: tuple(canon(w) for w in words)


_DX = _words(_dx_word)
_MODS = _words(_upper)

#: For each node type, how each of its list fields is normalized.
LIST_FIELDS: dict[type, dict[str, Callable[[Any], tuple[n.Node, ...]]]] = {
    n.SetDef: {"items": _codes},
    n.DxDef: {"items": _DX},
    n.Forbid: {"triggers": _codes, "targets": _codes, "bypass": _MODS},
    n.Exclusive: {"codes": _codes},
    n.Limit: {"codes": _codes, "bypass": _MODS},
    n.Addon: {"addons": _codes, "primaries": _codes},
    n.RequireDx: {"diagnoses": _DX, "codes": _codes},
    n.RequireAuth: {"codes": _codes},
    n.Prerequisite: {"required": _codes, "targets": _codes},
    n.Global: {"procedures": _codes, "covers": _codes, "bypass": _MODS},
    n.Deleted: {"codes": _codes, "replacements": _codes},
    n.ForbidModifier: {"modifiers": _MODS, "codes": _codes},
    n.Mue: {"codes": _codes},
}


def _canonical_lists(node: _N) -> _N:
    fields = LIST_FIELDS.get(type(node))
    if not fields:
        return node
    changes: dict[str, Any] = {name: canon(getattr(node, name)) for name, canon in fields.items()}
    return attrs.evolve(node, **changes)


def _canonical_statement(statement: n.Statement) -> n.Statement:
    if isinstance(statement, n.NamedRule):
        options = statement.options
        if options.carc is not None:
            options = attrs.evolve(options, carc=_upper(options.carc))
        return attrs.evolve(statement, options=options, body=_canonical_lists(statement.body))
    return _canonical_lists(statement)


def canonical_module(module: n.Module) -> n.Module:
    """The module with the case rewrites of the canonical layout applied (spans kept).

    ``parse(format_module(module, source))`` equals this, ignoring spans (the comments too are
    the same, in the same order): it is the AST the formatter prints, and what a test compares
    a formatted file with.
    """
    return attrs.evolve(module, statements=tuple(
        _canonical_statement(s) for s in module.statements))


# --- printing one statement ---------------------------------------------------------------


@attrs.frozen(slots=True)
class _Atom:
    """A piece of a statement that is never broken; ``breakable``: a line may end after it;
    ``tokens``: how many tokens of the source it stands for (commas not counted)."""

    text: str
    breakable: bool = False
    tokens: int = 1


def _kw(*words: str) -> list[_Atom]:
    return [_Atom(w) for w in words]


def _list(items: Iterable[tuple[str, int]]) -> list[_Atom]:
    """List items (text, tokens), ``, ``-separated, a line break allowed after each comma."""
    atoms = [_Atom(text + ",", True, tokens) for text, tokens in items]
    atoms[-1] = _Atom(atoms[-1].text[:-1], False, atoms[-1].tokens)
    return atoms


def _items(items: Sequence[n.CodeItem]) -> list[_Atom]:
    return _list((f"{i.low.text}..{i.high.text}", 3) if isinstance(i, n.CodeRange)
                 else (i.text, 1) for i in items)


def _word_list(words: Sequence[n.Word]) -> list[_Atom]:
    return _list((w.text, 1) for w in words)


def quote(value: str) -> str:
    """A string literal that the parser reads back as ``value``."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t"))
    return f'"{escaped}"'


def _unless(bypass: Sequence[n.Word]) -> list[_Atom]:
    return [*_kw("unless", "modifier"), *_word_list(bypass)] if bypass else []


def _effective(eff: n.Effective) -> list[_Atom]:
    until = _kw("until", eff.until.text) if eff.until is not None else []
    return [*_kw("effective", eff.start.text), *until]


def _body_atoms(body: n.RuleBody) -> list[_Atom]:
    if isinstance(body, n.Forbid):
        return [*_kw("when"), *_items(body.triggers), *_kw("forbid"), *_items(body.targets),
                *_unless(body.bypass)]
    if isinstance(body, n.Exclusive):
        across = _kw("across", "providers") if body.across_providers else []
        return [*_kw("exclusive"), *_items(body.codes), *across]
    if isinstance(body, n.Limit):
        by = _kw("by", "provider") if body.by_provider else []
        measure = _kw(body.measure) if body.measure else []
        return [*_kw("limit"), *_items(body.codes), *_kw("per", body.window.text), *by,
                *_kw("<=", str(body.maximum.value)), *measure, *_unless(body.bypass)]
    if isinstance(body, n.Addon):
        return [*_kw("addon"), *_items(body.addons), *_kw("requires"), *_items(body.primaries)]
    if isinstance(body, n.RequireDx):
        return [*_kw("require", "dx"), *_word_list(body.diagnoses), *_kw("for"),
                *_items(body.codes)]
    if isinstance(body, n.RequireAuth):
        return [*_kw("require", "auth", "for"), *_items(body.codes)]
    if isinstance(body, n.Prerequisite):
        return [*_kw("require", str(body.count.value), "of"), *_items(body.required),
                *_kw("within", body.window.text, "before"), *_items(body.targets)]
    if isinstance(body, n.Global):
        covers = [*_kw("covers"), *_items(body.covers)] if body.covers else []
        return [*_kw("global"), *_items(body.procedures), *_kw(body.period.text), *covers,
                *_unless(body.bypass)]
    if isinstance(body, n.Deleted):
        use = [*_kw("use"), *_items(body.replacements)] if body.replacements else []
        return [*_kw("deleted"), *_items(body.codes), *_kw("since", body.since.text), *use]
    if isinstance(body, n.ForbidModifier):
        return [*_kw("forbid", "modifier"), *_word_list(body.modifiers), *_kw("on"),
                *_items(body.codes)]
    if isinstance(body, n.Mue):
        per = _kw("per", body.per) if body.per else []
        return [*_kw("mue"), *_items(body.codes), *_kw("<=", str(body.maximum.value)), *per]
    assert isinstance(body, n.Table), body
    return _kw("table", body.kind.text, quote(body.path.value))


def _statement_atoms(statement: n.Statement) -> list[_Atom]:
    if isinstance(statement, n.PolicyDecl):
        return _kw("policy", statement.name.text)
    if isinstance(statement, n.Extends):
        return [*_kw("extends"), *_word_list(statement.parents)]
    if isinstance(statement, n.Effective):
        return _effective(statement)
    if isinstance(statement, n.SetDef):
        return [*_kw("set", statement.name.text, "="), *_items(statement.items)]
    if isinstance(statement, n.DxDef):
        return [*_kw("dx", statement.name.text, "="), *_word_list(statement.items)]
    if isinstance(statement, n.Disable):
        return _kw("disable", statement.rule.text)
    assert not isinstance(statement, n.NamedRule)
    return _body_atoms(statement)


def _fill(atoms: Sequence[_Atom], indent: int, continuation: int) -> list[str]:
    """Lines of at most ``WIDTH`` columns where possible, broken after list commas only: a line
    takes atoms while they fit, then breaks after the last comma it holds."""
    lines: list[list[_Atom]] = [[]]
    width = indent  # of the current line
    last_break = -1  # index in the current line of the last atom a line may end with
    for atom in atoms:
        current = lines[-1]
        if current and width + 1 + len(atom.text) > WIDTH and last_break >= 0:
            lines[-1], current = current[:last_break + 1], current[last_break + 1:]
            lines.append(current)
            width = continuation + sum(len(a.text) for a in current) + max(len(current) - 1, 0)
            last_break = max((i for i, a in enumerate(current) if a.breakable), default=-1)
        width += len(atom.text) + (1 if current else 0)
        if atom.breakable:
            last_break = len(current)
        current.append(atom)
    return [" " * (indent if i == 0 else continuation) + " ".join(a.text for a in line)
            for i, line in enumerate(lines)]


def _header(rule: n.NamedRule) -> _Atom:
    """``rule NAME [options]:`` as one atom: a header is never broken."""
    options = rule.options
    atoms = _kw("rule", rule.name.text)
    if options.carc is not None:
        atoms += _kw("carc", options.carc.text)
    if options.action is not None:
        atoms += _kw(options.action.text)
    if options.message is not None:
        atoms += _kw(quote(options.message.value))
    if options.effective is not None:
        atoms += _effective(options.effective)
    return _Atom(" ".join(a.text for a in atoms) + ":", tokens=len(atoms) + 1)


def _atoms(statement: n.Statement) -> list[_Atom]:
    if isinstance(statement, n.NamedRule):
        return [_header(statement), *_body_atoms(statement.body)]
    return _statement_atoms(statement)


@attrs.define
class _Gap:
    """The comments printed where a statement may be broken (after its atom ``i - 1``)."""

    trailing: n.Comment | None = None  # at the end of the line that ends there
    alone: list[n.Comment] = attrs.Factory(list)  # on lines of their own after it


def _layout(statement: n.Statement, gaps: dict[int, _Gap]) -> list[str]:
    """The statement's lines, broken at each gap that holds comments, with those comments."""
    atoms = _atoms(statement)
    rule = isinstance(statement, n.NamedRule)
    inner = sorted(g for g in gaps if g < len(atoms))
    lines: list[str] = []
    if rule and not inner:
        flat = " ".join(a.text for a in atoms)
        lines = ([flat] if len(flat) <= WIDTH
                 else [atoms[0].text, *_fill(atoms[1:], INDENT, 2 * INDENT)])
    else:
        cuts = [0, *sorted({*inner, *([1] if rule else [])}), len(atoms)]
        # The first line at column 1; a rule's body at 4, then 8; other lines at 4.
        continuation = 2 * INDENT if rule else INDENT
        indents = [0, *([INDENT] if rule else []), *[continuation] * len(cuts)]
        for index, (start, stop) in enumerate(itertools.pairwise(cuts)):
            lines += _fill(atoms[start:stop], indents[index], continuation)
            gap = gaps.get(stop)
            if gap is not None and stop < len(atoms):
                if gap.trailing is not None:
                    lines[-1] += "  " + gap.trailing.text
                lines += [" " * indents[index + 1] + c.text for c in gap.alone]
    end = gaps.get(len(atoms))
    if end is not None:
        if end.trailing is not None:
            lines[-1] += "  " + end.trailing.text
        lines += [c.text for c in end.alone]
    return lines


def format_statement(statement: n.Statement) -> list[str]:
    """The lines of one statement in the canonical layout (without comments).

    The statement is printed as it is: pass it through ``canonical_module`` first for the
    case rewrites.
    """
    return _layout(statement, {})


# --- the file: statements, comments and blank lines ---------------------------------------


#: The tokens of policy text, as far as counting them goes: a string, a date (which may touch
#: the next word), punctuation, or a run of word characters (codes, names, numbers, keywords,
#: dotted names, diagnoses with their dot and ``*``; ``..`` ends a run). Commas, blanks and
#: comments are skipped.
_TOKEN = re.compile(r"""
    "(?:[^"\\\n]|\\.)*"
  | \d{4}-\d{2}-\d{2}
  | \.\. | <= | [:=]
  | [A-Za-z0-9_@/*-]+ (?: \.(?!\.) [A-Za-z0-9_@/*-]* )*
""", re.VERBOSE)
_SKIP = re.compile(r"\s+|#[^\n]*|,")


def _token_positions(source: str) -> list[tuple[int, int]]:
    """(line, column) of each token of the source but commas, numbered as by the parser."""
    positions = []
    line, line_start, pos = 1, 0, 0
    while pos < len(source):
        skip = _SKIP.match(source, pos)
        if skip is not None:
            breaks = source.count("\n", pos, skip.end())
            if breaks:
                line += breaks
                line_start = source.rindex("\n", pos, skip.end()) + 1
            pos = skip.end()
            continue
        positions.append((line, pos - line_start + 1))
        token = _TOKEN.match(source, pos)
        pos = token.end() if token is not None else pos + 1
    return positions


@attrs.define
class _Placed:
    """The comments that go with one statement, in source order."""

    before: list[n.Comment] = attrs.Factory(list)  # alone on their lines, before it
    gaps: dict[int, _Gap] = attrs.Factory(dict)  # inside it, or at the end of its last line
    continued: list[n.Comment] = attrs.Factory(list)  # under its last trailing comment


def _gaps(atoms: Sequence[_Atom], inside: list[tuple[n.Comment, bool, int]]
          ) -> dict[int, _Gap]:
    """Where the comments inside a statement go. ``inside`` holds each comment, whether it is
    a trailing comment, and how many tokens of the statement come before it.

    A statement's only comment, when it is a trailing one, goes to the end of the statement.
    Otherwise a trailing comment goes after the atom holding the token before it, and a comment
    alone on its line goes before the atom holding the token after it (never before a rule's
    header, never before an earlier comment).
    """
    if len(inside) == 1 and inside[0][1]:
        return {len(atoms): _Gap(trailing=inside[0][0])}
    ends = list(itertools.accumulate(a.tokens for a in atoms))
    gaps: dict[int, _Gap] = {}
    last = 1
    for comment, trailing, before in inside:
        at = bisect.bisect_left(ends, before) + 1 if trailing else bisect.bisect_left(
            ends, before + 1)
        last = at = min(max(at, last), len(atoms))
        gap = gaps.setdefault(at, _Gap())
        if trailing and gap.trailing is None and not gap.alone:
            gap.trailing = comment
        else:
            gap.alone.append(comment)
    return gaps


def _place_comments(module: n.Module, source: str
                    ) -> tuple[list[_Placed], list[n.Comment]]:
    """Each statement's comments, and the comments after the last statement."""
    statements = module.statements
    owned: list[list[tuple[n.Comment, bool]]] = [[] for _ in statements]
    at_end: list[n.Comment] = []
    lines = source.split("\n")  # as the parser numbers comment lines
    starts = [(s.span.line, s.span.column) for s in statements]
    ends = [s.span.end_line for s in statements]
    for comment in module.comments:
        line, column = comment.span.line, comment.span.column
        trailing = bool(line <= len(lines) and lines[line - 1][:column - 1].strip())
        # Some statement text before the comment on its line: the last statement that starts
        # before the comment owns it. A comment alone on its line: the first statement that
        # ends after it (the one it is in, or the next one).
        owner = (bisect.bisect_left(starts, (line, column)) - 1 if trailing
                 else bisect.bisect_right(ends, line))
        if not 0 <= owner < len(statements):
            at_end.append(comment)
        else:
            owned[owner].append((comment, trailing))
    tokens = _token_positions(source) if any(owned) else []
    placed = []
    for statement, comments in zip(statements, owned, strict=True):
        start = (statement.span.line, statement.span.column)
        first = bisect.bisect_left(tokens, start)
        here = _Placed(before=[c for c, _ in comments if (c.span.line, c.span.column) < start])
        inside = [(c, trailing, bisect.bisect_left(tokens, (c.span.line, c.span.column)) - first)
                  for c, trailing in comments if (c.span.line, c.span.column) > start]
        if inside:
            here.gaps = _gaps(_atoms(statement), inside)
        placed.append(here)
    for index, (statement, here) in enumerate(zip(statements, placed, strict=True)):
        end = here.gaps.get(len(_atoms(statement))) if here.gaps else None
        if (end is None or end.trailing is None or end.alone
                or end.trailing.span.line != statement.span.end_line):
            continue
        # Comments alone on the lines right under the trailing comment of the statement's last
        # line, and in its column, continue that comment.
        after = placed[index + 1].before if index + 1 < len(placed) else at_end
        above = end.trailing.span
        while after and (after[0].span.line, after[0].span.column) == (above.line + 1,
                                                                       above.column):
            above = after[0].span
            here.continued.append(after.pop(0))
    return placed, at_end


def format_module(module: n.Module, source: str) -> str:
    """The canonical text of a parsed module; ``source`` is the text it was parsed from."""
    canonical = canonical_module(module)
    placed, at_end = _place_comments(module, source)
    out: list[str] = []
    last_line: int | None = None  # the source line of the last thing printed

    def gap(first_line: int) -> None:
        if last_line is not None and first_line > last_line + 1:
            out.append("")

    for statement, comments in zip(canonical.statements, placed, strict=True):
        for comment in comments.before:
            gap(comment.span.line)
            out.append(comment.text)
            last_line = comment.span.line
        gap(statement.span.line)
        lines = _layout(statement, comments.gaps)
        out.extend(lines)
        last_line = statement.span.end_line
        if comments.continued:
            trailing = comments.gaps[len(_atoms(statement))].trailing
            assert trailing is not None
            column = len(lines[-1]) - len(trailing.text)
            out.extend(" " * column + comment.text for comment in comments.continued)
            last_line = comments.continued[-1].span.line
    for comment in at_end:
        gap(comment.span.line)
        out.append(comment.text)
        last_line = comment.span.line
    return "\n".join(out) + "\n" if out else ""


def format_text(text: str, path: str = "<policy>") -> str:
    """Parse ``text`` and print it in the canonical layout; raises ``PolicyError`` on bad
    syntax (``path`` names the file in the diagnostic)."""
    return format_module(parse(text, path), text)


_BOM = "\ufeff"


def format_file_text(raw: str, path: str = "<policy>") -> str:
    """A file's text (as read with no newline translation) in the canonical layout, keeping
    what is the file's own rather than its layout: a byte order mark, and its line ends (those
    of its first line: ``\r\n``, ``\r`` or ``\n``; a file that mixes them gets the first
    throughout)."""
    return format_file(raw, path)[0]


def format_file(raw: str, path: str = "<policy>") -> tuple[str, list[tuple[str, str]]]:
    """``format_file_text``, and the unnamed rules whose id (``KIND@LINE``, after their
    statement's line) the new layout changes, as ``(before, after)`` pairs in statement
    order: ``disable`` lines and test cases that name them must follow (W307)."""
    bom = _BOM if raw.startswith(_BOM) else ""
    text = raw[len(bom):]
    found = re.search(r"\r\n|\r|\n", text)
    end = found.group() if found else "\n"
    source = universal_newlines(text)
    module = parse(source, path)
    formatted = format_module(module, source)
    # in the layout, a statement's first line is the only one that starts at column 1 with
    # no comment; statements keep their order
    starts = [number for number, line in enumerate(formatted.split("\n"), 1)
              if line[:1] not in ("", " ", "#")]
    moved: list[tuple[str, str]] = []
    if len(starts) == len(module.statements):  # (the layout makes them equal)
        for st, line in zip(module.statements, starts, strict=True):
            if isinstance(st, n.RULE_BODIES) and st.span.line != line:
                kind = n.RULE_KIND[type(st)]
                moved.append((f"{kind}@{st.span.line}", f"{kind}@{line}"))
    return bom + (formatted if end == "\n" else formatted.replace("\n", end)), moved

