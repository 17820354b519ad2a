"""A claims file read whole, for batches: decoded once, its header checked, its rows found.

``read_text`` reads a CSV or JSON Lines file into a ``ClaimsText`` (``ClaimsFileError`` when the
file is unusable, with the messages of ``claims_io.iter_claims``). ``frame`` splits its text into
``Rows``: the physical lines and, for CSV, the records that need the ``csv`` module (a line
holding a quote; a quoted field may run over several lines). ``Rows.member_keys`` finds the raw
member id of every row without parsing the rest of it, which is what splitting a batch by member
needs.

Rows, row numbers and fields are exactly those of the streaming reader (``iter_claims``), which
stays the reference: a line without a quote is split with ``str.split``, which is what the
``csv`` module makes of such a line. Text in which a lone carriage return ends a line is not
framed here (``ClaimsText.framable`` is false); the streaming reader reads it.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import re
import sys
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import compress, repeat
from operator import contains, itemgetter
from pathlib import Path
from typing import Any, Literal

import attrs
import orjson

#: Input columns / JSON keys, in ``ClaimLine`` field order.
FIELDS = (
    "claim_id", "line", "member_id", "date", "code", "provider_id", "modifiers", "units", "dx",
    "pos", "auth",
)
REQUIRED = ("claim_id", "line", "member_id", "date", "code")

Format = Literal["csv", "jsonl"]


class ClaimsFileError(Exception):
    """The file as a whole cannot be read: not there, not UTF-8, or no usable header."""


def claims_format(path: Path, fmt: str | None) -> Format:
    """``fmt`` checked, or the format the file name says: ``.jsonl`` and ``.ndjson`` are JSON
    Lines, anything else CSV."""
    if fmt is None:
        return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    if fmt == "csv":
        return "csv"
    if fmt in ("jsonl", "ndjson"):
        return "jsonl"
    raise ValueError(f"unknown claims format {fmt!r} (csv or jsonl)")


def read_header(handle: Iterator[str], name: str) -> tuple[list[str], int]:
    """The CSV header's column names (stripped, lower case) and the lines it took (blank lines
    before it included); raises ``ClaimsFileError`` for a missing or unusable header."""
    reader = csv.reader(handle)
    header: list[str] = []
    while not "".join(header).strip():  # skip blank lines before the header
        try:
            header = next(reader)
        except StopIteration:
            raise ClaimsFileError(f"{name}: empty file, no header") from None
    bad = undecoded(",".join(header))
    if bad is not None:
        raise ClaimsFileError(f"{name}: header: not UTF-8 text ({bad} on line "
                              f"{reader.line_num})")
    columns = [h.strip().lower() for h in header]
    # a column of ours twice is ambiguous; an unknown one is ignored, however many times
    dupes = sorted({c for c in columns if c in FIELDS and columns.count(c) > 1})
    if dupes:
        raise ClaimsFileError(f"{name}: header repeats column(s) {', '.join(dupes)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        absent = absent_columns(columns)
        means = zip(header, (column_meant(c, absent) for c in columns), strict=True)
        meant = [f"'{_shown_columns([h])}' for {ours}" for h, ours in means if ours in missing]
        raise ClaimsFileError(
            f"{name}: header lacks column(s) {', '.join(missing)} "
            f"(found: {_shown_columns(header)})"
            + (_header_hint(header) or (f"; did you mean {', '.join(meant)}?" if meant else "")))
    return columns, reader.line_num


#: Other names claims extracts give our columns.
_COLUMN_ALIASES = {
    "claim": "claim_id", "claim_number": "claim_id", "claim_no": "claim_id", "icn": "claim_id",
    "line_number": "line", "line_no": "line", "line_num": "line",
    "member": "member_id", "patient_id": "member_id", "subscriber_id": "member_id",
    "provider": "provider_id", "npi": "provider_id", "rendering_npi": "provider_id",
    "rendering_provider": "provider_id",
    "dos": "date", "date_of_service": "date", "service_date": "date", "from_date": "date",
    "cpt": "code", "hcpcs": "code", "procedure": "code", "procedure_code": "code",
    "proc_code": "code", "cpt_code": "code",
    "modifier": "modifiers", "mod": "modifiers", "mods": "modifiers",
    "quantity": "units", "qty": "units", "unit": "units",
    "diagnosis": "dx", "diagnoses": "dx", "icd10": "dx", "icd": "dx", "diag": "dx",
    "dx_codes": "dx", "place_of_service": "pos",
    "authorization": "auth", "prior_auth": "auth", "auth_number": "auth",
}


def _shown_columns(header: list[str], most: int = 20) -> str:
    """A header's columns as a message lists them: the first ``most``, each cut after 40
    characters and with unprintable characters escaped, then how many more."""
    shown = [repr(h.strip())[1:-1] for h in header[:most]]
    shown = [h if len(h) <= 40 else h[:37] + "..." for h in shown]
    more = f", and {len(header) - most:,} more" if len(header) > most else ""
    return ", ".join(shown) + more


def absent_columns(columns: Sequence[str]) -> list[str]:
    """The columns of ours that a header's ``columns`` lack (``column_meant`` looks among
    them), found once for the header: a header may have 100,000 columns."""
    present = set(columns)
    return [f for f in FIELDS if f not in present]


def column_meant(column: str, absent: Sequence[str]) -> str | None:
    """The column of ours an unknown one of a header most likely means, when the header
    lacks that one (it is among ``absent``, see ``absent_columns``): a slip (``modifer``) or
    another name for it (``diagnosis``, ``dos``)."""
    key = column.replace(" ", "_").replace("-", "_")
    meant = _COLUMN_ALIASES.get(key) or next(iter(
        difflib.get_close_matches(key, absent, n=1, cutoff=0.75)), None)
    return meant if meant in absent else None


def _header_hint(header: list[str]) -> str:
    """What a header that lacks columns looks like instead, when that is clear: JSON in a file
    not named ``.jsonl``, or columns separated by something other than commas."""
    first = header[0].lstrip() if header else ""
    if first.startswith(("{", "[")):
        return "; it looks like JSON: name a JSON Lines file *.jsonl"
    for separator, said in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if len(header) == 1 and first.count(separator) >= 2:
            return f"; its columns are separated by {said}: use commas"
    return ""


@attrs.frozen
class ClaimsText:
    """A claims file's text (byte order mark removed) and, for CSV, its header."""

    name: str  # the file's path as given, as messages show it
    fmt: Format
    text: str = attrs.field(repr=False)
    columns: tuple[str, ...] = ()  # CSV: the header's names, stripped and lower case
    header_lines: int = 0  # physical lines up to the header's end (CSV)
    # some byte is not UTF-8: ``text`` holds it as ``surrogateescape`` does, and the rows on
    # the lines that hold one are malformed (``undecoded``)
    undecodable: bool = False

    @property
    def framable(self) -> bool:
        """Every line ends in ``\\n`` or ``\\r\\n``, so splitting on ``\\n`` finds the lines the
        streaming reader finds (it also ends a line at a lone ``\\r``)."""
        text = self.text
        return "\r" not in text or text.count("\r") == text.count("\r\n")

    def has_lines(self, count: int) -> bool:
        """Whether the text has at least ``count`` line ends."""
        text = self.text
        return text.count("\n", 0, count * 256) >= count or text.count("\n") >= count

    def stream(self) -> io.StringIO:
        """The text as a file for the streaming reader, lines split as ``open`` splits them."""
        return io.StringIO(self.text, newline="")


_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, split where ``open(..., newline="")`` splits
    them (one at a time: the header is read from the first few)."""
    start, size = 0, len(text)
    while start < size:
        found = _LINE_END.search(text, start)
        end = found.end() if found is not None else size
        yield text[start:end]
        start = end


#: What a byte that is not UTF-8 becomes when read with ``surrogateescape``.
_UNDECODED = re.compile("[\udc80-\udcff]")


def undecoded(line: str) -> str | None:
    """The first byte of ``line`` (read with ``surrogateescape``) that is not UTF-8, and its
    column, as a row's reason names them (``byte 0xe9 at column 12``); None when there is
    none."""
    if line.isascii():
        return None
    found = _UNDECODED.search(line)
    if found is None:
        return None
    return f"byte 0x{ord(found.group()) - 0xDC00:02x} at column {found.start() + 1}"


#: How the reason of a row that holds a byte that is not UTF-8 starts.
NOT_UTF8 = "not UTF-8 text: "


def not_utf8(bad: str, line: int, row: int) -> str:
    """The reason of the malformed row ``row`` whose physical line ``line`` holds the byte
    that ``undecoded`` found (``bad``)."""
    where = "" if line == row else f" on line {line}"
    return f"{NOT_UTF8}{bad}{where}"


#: The path that names standard input on the command line, and how messages name it.
STDIN, STDIN_NAME = "-", "<stdin>"


def read_text(path: str | os.PathLike[str], fmt: str | None = None,
              stdin: bool = False) -> ClaimsText:
    """The whole file, decoded and, for CSV, its header checked. With ``stdin`` (``policyc``'s
    ``-``), standard input instead: JSON Lines when its first character that is not blank is
    ``{`` or it is blank, else CSV (unless ``fmt`` says)."""
    shown = os.fspath(path)  # messages name the file by its path as given ("./c.csv" too)
    kind: Format | None
    if stdin:
        shown = STDIN_NAME
        kind = None if fmt is None else claims_format(Path(shown), fmt)
        if sys.stdin is None:  # closed when the process started (``<&-``)
            raise ClaimsFileError(f"{shown}: cannot read: standard input is closed")
        try:
            data = sys.stdin.buffer.read()
        except (OSError, ValueError) as exc:  # ValueError: standard input is closed
            raise ClaimsFileError(f"{shown}: cannot read: {exc}") from exc
    else:
        if not shown:  # Path("") is the working directory
            raise ClaimsFileError("an empty path names no claims file")
        kind = claims_format(Path(path), fmt)
        # Read whole, not mapped: a file mapped in memory that shrinks while it is decoded (a
        # log rotated, a writer restarting) would end the process (SIGBUS), where a read is an
        # error.
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ClaimsFileError(f"{shown}: cannot open: {exc.strerror or exc}") from exc
    # A byte that is not UTF-8 makes its row malformed, not the file unusable: it is kept as
    # a lone surrogate, which the readers look for in a file known to hold one.
    undecodable = False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", "surrogateescape")
        undecodable = True
    if kind is None:  # standard input: nothing at all is a batch of no rows, as in JSON Lines
        kind = "csv" if text.strip() and not text.lstrip().startswith("{") else "jsonl"
    if kind == "jsonl":
        return ClaimsText(shown, kind, text, undecodable=undecodable)
    try:
        columns, header_lines = read_header(_lines(text), shown)
    except csv.Error as exc:
        raise ClaimsFileError(f"{shown}: header: {exc}") from exc
    return ClaimsText(shown, kind, text, tuple(columns), header_lines, undecodable)


@attrs.frozen
class Rows:
    """The rows of a framable ``ClaimsText``, by the index of the physical line each starts on.

    A CSV row is a line of ``lines`` split on commas, unless ``records`` holds its index: then it
    is ``(span, fields)``, a record the ``csv`` module read from ``span`` lines, and its row
    number is that of its last line. A JSON Lines row is a line. A blank line is no row.
    """

    lines: list[str] = attrs.field(repr=False)  # the lines after the header, without "\n"
    first_row: int  # the row number of lines[0]
    fmt: Format
    records: dict[int, tuple[int, list[str]]] = attrs.field(factory=dict)
    inside: frozenset[int] = frozenset()  # lines inside a record, after its first
    # records the csv module refused (a field over its size limit), by first line: why; such
    # a record holds no fields and is a malformed row
    refused: dict[int, str] = attrs.field(factory=dict)

    def row_of(self, index: int) -> tuple[int, list[str] | str]:
        """Row number and fields (CSV) or text (JSON Lines) of the row starting at ``index``."""
        if self.fmt == "jsonl":
            return self.first_row + index, self.lines[index]
        record = self.records.get(index)
        if record is None:
            return self.first_row + index, self.lines[index].split(",")
        span, fields = record
        return self.first_row + index + span - 1, fields

    def is_row(self, index: int) -> bool:
        """Whether a row starts on line ``index``: the line is not blank, and not inside a
        quoted field that started above."""
        if self.fmt == "jsonl":
            return bool(self.lines[index].strip())
        if index in self.inside:
            return False
        if index in self.refused:
            return True
        record = self.records.get(index)
        if record is not None:
            fields = record[1]
            return len(fields) > 1 or bool("".join(fields).strip())
        line = self.lines[index]
        return "," in line or bool(line.strip())

    def member_keys(self, columns: tuple[str, ...], start: int = 0, stop: int | None = None
                    ) -> list[str | None]:
        """The raw member id text of the row on each line from ``start`` to ``stop``, found
        without parsing the rest of the row; None where there is none to find: a line that is
        no row, a row too short to have one, and, in JSON Lines, a line that is not a JSON
        object or whose member id is not a string or an integer."""
        lines = self.lines[start:stop]
        if self.fmt == "jsonl":
            return list(map(_json_member, lines))
        index = columns.index("member_id")
        parts = map(str.split, lines, repeat(","), repeat(index + 1))
        try:
            keys: list[str | None] = list(map(itemgetter(index), parts))
        except IndexError:  # a line with fewer fields: blank, short, or inside a quoted field
            keys = [p[index] if len(p) > index else None
                    for p in map(str.split, lines, repeat(","), repeat(index + 1))]
        stop = len(self.lines) if stop is None else stop
        for first, (_, fields) in self.records.items():
            if start <= first < stop:
                keys[first - start] = fields[index] if len(fields) > index else None
        for inside in self.inside:
            if start <= inside < stop:
                keys[inside - start] = None
        return keys


def frame(source: ClaimsText) -> Rows:
    """Split a framable text into rows (a record the ``csv`` module refuses is one malformed
    row, ``Rows.refused``, as the streaming reader reports it)."""
    text = source.text
    lines = text.split("\n")
    del lines[:source.header_lines]
    ended = text.endswith("\n")
    if ended and lines:
        lines.pop()  # the empty string after the last line end
    first_row = source.header_lines + 1
    if source.fmt == "jsonl" or '"' not in text:
        refused = _undecoded_rows(lines, first_row, {}) if source.undecodable else {}
        return Rows(lines, first_row, source.fmt, refused=refused)
    records, refused = _csv_records(lines, ended, first_row, source.columns)
    inside = frozenset(i for start, (span, _) in records.items()
                       for i in range(start + 1, start + span))
    if source.undecodable:
        refused = _undecoded_rows(lines, first_row, records, refused)
    return Rows(lines, first_row, source.fmt, records, inside, refused)


def _undecoded_rows(lines: list[str], first_row: int, records: dict[int, tuple[int, list[str]]],
                    refused: dict[int, str] | None = None) -> dict[int, str]:
    """``refused`` (the records the ``csv`` module refused) and the rows holding a byte that is
    not UTF-8, by the line each starts on: why (the first such byte of the row)."""
    out = dict(refused or {})
    spans = sorted((start, start + span) for start, (span, _) in records.items())
    for index, line in enumerate(lines):
        bad = undecoded(line)
        if bad is None:
            continue
        start, stop = index, index + 1  # the row the line belongs to: a record, or itself
        at = bisect_right(spans, (index, len(lines) + 1)) - 1
        if at >= 0 and spans[at][0] <= index < spans[at][1]:
            start, stop = spans[at]
        if start not in out:
            out[start] = not_utf8(bad, first_row + index, first_row + stop - 1)
    return dict(sorted(out.items()))


def _csv_records(lines: list[str], ended: bool, first_row: int, columns: Sequence[str]
                 ) -> tuple[dict[int, tuple[int, list[str]]], dict[int, str]]:
    """The rows that start on a line with a quote, read by the ``csv`` module; and those it
    refused, with why.

    The streaming reader hands every line from the first quote on to the ``csv`` module, which
    agrees with ``str.split`` on lines without a quote, but for one thing: it refuses a field
    longer than ``csv.field_size_limit()``. Such lines are read by it here too, and are
    malformed rows, as in the streaming reader. Consecutive rows to read share one reader. A
    record over several lines that is a quote left open (``OpenQuote``) is refused at
    its first line, which stands alone, and reading starts again on the next line, as the
    streaming reader does.
    """
    open_quote = OpenQuote.of(columns)
    starts = list(compress(range(len(lines)), map(contains, lines, repeat('"'))))
    if not starts:
        return {}, {}
    first = starts[0]
    limit = csv.field_size_limit()
    long_lines = [i for i in range(first, len(lines)) if len(lines[i]) > limit]
    if long_lines:
        starts = sorted({*starts, *long_lines})
    wanted = set(starts)
    count = len(lines)

    def feed(start: int) -> Iterator[str]:
        for i in range(start, count):
            yield lines[i] + "\n" if ended or i < count - 1 else lines[i]

    records: dict[int, tuple[int, list[str]]] = {}
    refused: dict[int, str] = {}
    done = 0  # lines before this one belong to rows already read
    for start in starts:
        if start < done:
            continue  # inside the record before
        reader = csv.reader(feed(start))
        position, used = start, 0
        while position in wanted:
            try:
                fields = next(reader)
            except csv.Error as exc:  # the reader starts afresh on the next line
                fields = []
                refused[position] = refused_reason(exc)
            except StopIteration:  # pragma: no cover - a line with a quote is a record
                break
            span = reader.line_num - used
            used = reader.line_num
            # a field over the size limit that runs over lines is a quote left open too
            if span > 1 and (not fields or open_quote.left_in(fields)):
                refused[position] = open_quote_reason(first_row + position,
                                                      first_row + position + span - 1)
                records[position] = (1, first_line_fields(lines[position]))
                position += 1
                reader, used = csv.reader(feed(position)), 0  # afresh on the next line
                continue
            records[position] = (span, fields)
            position += span
        done = position
    return records, refused


#: The start of the reason of a row whose quote is left open (``OpenQuote``).
OPEN_QUOTE = "a quote opened on this row is not closed on its line"


#: The shapes of a procedure code (CPT, HCPCS) and of a date of service in a claims file.
CODE_SHAPE = re.compile(r"[0-9]{5}|[0-9]{4}[FTUAM]|[A-Z][0-9]{4}")
DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def code_of(text: str) -> str | None:
    """The procedure code a field holds (trimmed, upper case), or None if it holds none."""
    code = text.strip()
    return code.upper() if code.isascii() and CODE_SHAPE.fullmatch(code.upper()) else None


@attrs.frozen
class OpenQuote:
    """Tells a quote left open from a quoted field that holds line breaks, for a header's
    ``columns``: a record that the ``csv`` module read over several lines is a quote left
    open, which would join the rows after it into one field, when it does not have the
    header's width, when one of the columns we read holds a line break (no claim id, code,
    date or authorization does), or when a line inside a field reads as a row of the file: a
    date of service and a procedure code where the header has them. A field of a column we
    ignore (``notes``) may hold lines of text. Both CSV readers ask it."""

    width: int
    ours: tuple[int, ...]  # the indexes of the columns we read
    date_at: int
    code_at: int

    @classmethod
    def of(cls, columns: Sequence[str]) -> OpenQuote:
        return cls(len(columns), tuple(at for at, name in enumerate(columns) if name in FIELDS),
                   columns.index("date"), columns.index("code"))

    def left_in(self, fields: list[str]) -> bool:
        """Whether the record of ``fields`` is a quote left open (see the class)."""
        if len(fields) != self.width:
            return True
        if any("\n" in fields[i] or "\r" in fields[i] for i in self.ours):
            return True
        date_at, code_at = self.date_at, self.code_at
        for field in fields:
            if "\n" in field:
                for part in field.split("\n")[1:]:
                    cells = part.split(",")
                    if (len(cells) > max(date_at, code_at)
                            and DATE_SHAPE.fullmatch(cells[date_at].strip())
                            and code_of(cells[code_at]) is not None):
                        return True
        return False


def first_line_fields(line: str) -> list[str]:
    """The fields of a row's first line read alone (its quote left open: the field it opens
    runs to the line's end), to echo the row's keys."""
    return next(csv.reader([line]), [])


def open_quote_reason(first: int, last: int) -> str:
    """The reason of the row on line ``first`` whose quote would run over lines to ``last``."""
    return (f"{OPEN_QUOTE}, which would join lines {first}-{last} into one row: check its "
            "quotes (the lines after it are read as rows of their own)")


def refused_reason(exc: csv.Error) -> str:
    """Why the ``csv`` module refused a record, for its malformed row's reason."""
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    return text


class HugeNumber(str):
    """A JSON number beyond a double's range (``1e400``), as written: valid JSON that orjson
    refuses, and never a value a field takes."""


def _huge_or_float(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else HugeNumber(text)


def _not_json(text: str) -> None:
    raise ValueError(f"{text} is not JSON")


def json_value(raw: str) -> Any:
    """A JSON text read by the json module, where orjson's reading is not enough: an integer
    past 64 bits kept exact, a number beyond a double's range kept as written
    (``HugeNumber``). Raises ``ValueError`` for text that is not JSON (the json module's
    ``NaN`` and ``Infinity`` are not) and for a value nested deeper than it can read."""
    try:
        return json.loads(raw, parse_float=_huge_or_float, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("nested too deep") from None


_JSON_MEMBER = re.compile(r'"member_id"[ \t\r\n]*:[ \t\r\n]*"([^"\\]*)"')


def _json_member(line: str) -> str | None:
    """The member id of a JSON Lines row, read without parsing the row when that is certain.

    Without a backslash in the line every quote delimits a string, so one ``"member_id"``
    followed by a colon is a key; if it is not the object's own (the object has no member id,
    or the line is not JSON), the row is malformed and its member does not matter.
    """
    if "\\" not in line and line.count('"member_id"') == 1:
        found = _JSON_MEMBER.search(line)
        if found is not None:
            return found.group(1)
    if not line.strip():
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    value = obj.get("member_id") if isinstance(obj, dict) else None
    if type(value) is float:
        # orjson reads an integer past 64 bits as a float; the json module keeps it exact,
        # as the row's reader does (claims_io)
        try:
            value = json_value(line).get("member_id")
        except ValueError:  # nested too deep for the json module: malformed to the reader too
            return None
    if type(value) is int:
        return str(value)
    return value if type(value) is str else None
