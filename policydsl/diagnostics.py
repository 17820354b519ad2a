"""Diagnostics: every problem the toolchain reports, with its code and location.

A ``Diagnostic`` is ``{code, severity, message, location}``. Renderers turn a sorted list of them
into the ``file:line:col: error CODE: message`` text with the source line and a caret, into
JSON, or into SARIF 2.1.0 for code-scanning tools.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import Any, Literal
from urllib.parse import quote

import attrs
import orjson

from .spans import Span

Severity = Literal["error", "warning"]

#: Every diagnostic code, with a one-line summary (documented in docs/language.md).
CODES: dict[str, str] = {
    "E001": "syntax error",
    "E002": "file cannot be read",
    "E101": "undefined set or name",
    "E102": "duplicate name",
    "E103": "cyclic set definition",
    "E104": "missing or misplaced policy declaration",
    "E105": "unknown policy in extends",
    "E106": "disable of a rule that does not exist",
    "E107": "cyclic extends",
    "E108": "duplicate policy name",
    "E109": "sets nested too deep",
    "E110": "extends nested too deep",
    "E201": "malformed procedure code",
    "E202": "reversed range",
    "E203": "range joins codes of different shapes",
    "E204": "malformed ICD-10-CM code or pattern",
    "E205": "malformed date",
    "E206": "empty validity",
    "E207": "malformed modifier",
    "E208": "duration not allowed here",
    "E209": "malformed CARC",
    "E210": "CMS table cannot be loaded",
    "E211": "count must be at least 1",
    "E212": "rule option given twice",
    "E213": "duration longer than 100 years",
    "W301": "rule names a code deleted in scope",
    "W302": "a code forbids itself",
    "W303": "add-on whose primary is forbidden with it",
    "W304": "identical rules",
    "W305": "limit or `mue` made redundant by a stricter one",
    "W306": "unused set",
    "W307": "disable of an unnamed rule, by its line",
    "W308": "exclusive rules that rank two codes both ways",
    "W309": "exclusive of a single code",
    "W310": "the file's effective written after a rule",
    "W311": "disable of a rule already switched off",
    "W312": "a rule indented under another, not part of it",
    "W313": "a diagnosis ending in the placeholder X",
    "W314": "an override not in force on days the rule it replaces was",
    "W315": "an override that shares no code with the rule it replaces",
    "W316": "a rule's message left empty",
}


@attrs.frozen(slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    file: str
    span: Span

    @property
    def location(self) -> str:
        return f"{self.file}:{self.span.line}:{self.span.column}"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.span.line, self.span.column, self.code, self.message)


def error(code: str, message: str, file: str, span: Span) -> Diagnostic:
    return Diagnostic(code, "error", message, file, span)


def warning(code: str, message: str, file: str, span: Span) -> Diagnostic:
    return Diagnostic(code, "warning", message, file, span)


class PolicyError(Exception):
    """A policy that cannot be used: carries its error diagnostics, sorted by location."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.sources = sources or {}
        super().__init__(render_text(self.diagnostics, self.sources))


def _caret_block(diagnostic: Diagnostic, lines: list[str] | None) -> str:
    """The source line of ``diagnostic`` and a caret under its span; ``lines``: its file's
    (split as the parser counts lines: other line breaks are inside)."""
    span = diagnostic.span
    if not lines or span.line < 1:
        return ""
    if span.line > len(lines):
        return ""
    # one column a character: a tab, a form feed or a Unicode line separator shows as a space
    text = "".join(c if c.isprintable() else " " for c in lines[span.line - 1].rstrip("\r"))
    width = span.end_column - span.column if span.end_line == span.line else 1
    width = max(1, min(width, len(text) - span.column + 1))
    before, marked = text[:span.column - 1], text[span.column - 1:span.column - 1 + width]
    # under the characters as a terminal shows them: a wide one (an emoji, a CJK character)
    # takes two cells, a mark drawn on the character before none
    return f"\n    {text}\n    {' ' * _cells(before)}{'^' * max(1, _cells(marked))}"


def _cells(text: str) -> int:
    """The terminal cells ``text`` takes."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.category(c) in _NO_CELL else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


#: Characters drawn on the one before them or not at all: combining and enclosing marks (an
#: accent, a Thai vowel sign, an emoji's variation selector) and format characters (a joiner).
_NO_CELL = frozenset({"Mn", "Me", "Cf"})


def _one_line(text: str) -> str:
    """``text`` with its line breaks and other unprintable characters escaped (``\\n``), so
    that a diagnostic's first line is one line whatever a name or message in a policy holds."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def render_text(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    """``file:line:col: severity CODE: message``, the source line and a caret, one per item."""
    split: dict[str, list[str] | None] = {}  # each file's lines, split once

    def lines_of(file: str) -> list[str] | None:
        if file not in split:
            source = sources.get(file)
            split[file] = source.split("\n") if source else None
        return split[file]

    return "\n".join(
        _one_line(f"{d.location}: {d.severity} {d.code}: {d.message}")
        + _caret_block(d, lines_of(d.file))
        for d in diagnostics
    )


def as_json(diagnostics: Iterable[Diagnostic]) -> bytes:
    items = [
        {
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "location": {
                "file": d.file,
                "line": d.span.line,
                "column": d.span.column,
                "end_line": d.span.end_line,
                "end_column": d.span.end_column,
            },
        }
        for d in diagnostics
    ]
    return orjson.dumps(items, option=orjson.OPT_INDENT_2) + b"\n"


def file_uri(file: str) -> str:
    """A file name as a SARIF ``uri``: a relative reference for a relative path, a ``file:``
    URI for an absolute one; percent-encoded either way."""
    path = PurePath(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix())


def as_sarif(diagnostics: Iterable[Diagnostic], tool_version: str) -> bytes:
    items = list(diagnostics)
    rules = [
        {"id": code, "shortDescription": {"text": CODES[code]}}
        for code in sorted({d.code for d in items})
    ]
    results: list[dict[str, Any]] = [
        {
            "ruleId": d.code,
            "level": d.severity,
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": file_uri(d.file)},
                        "region": {
                            "startLine": max(d.span.line, 1),
                            "startColumn": max(d.span.column, 1),
                            "endLine": max(d.span.end_line, 1),
                            "endColumn": max(d.span.end_column, 1),
                        },
                    }
                }
            ],
        }
        for d in items
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "policyc",
                        "version": tool_version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return orjson.dumps(log, option=orjson.OPT_INDENT_2) + b"\n"
