"""CMS edit tables read into resolved rules: the ``table KIND "path"`` statement.

``load_table(kind, path, info=..., display_path=...)`` reads one file and returns plain rules of
:mod:`policydsl.model`. Every rule carries the statement's id and action (a table counts as
one rule for coverage), the statement's CARC or the kind's default, the statement's message or
one made from the row, ``source="display_path:row:1"`` (the row's 1-based physical line: a
``file:line:col`` like every source) and the statement's validity intersected with the row's
own dates. A row whose intersected validity is empty (deleted before it took effect, or
outside the statement's dates) produces no rule.

Kinds and layouts (detected from the content, not the file name):

``ptp`` (CARC 236)
    NCCI procedure-to-procedure edits. Either the CMS published layout (tab-separated; a header
    block, then rows ``Column 1, Column 2, *=in existence prior to 1996, Effective Date
    YYYYMMDD, Deletion Date YYYYMMDD or *, Modifier indicator, Rationale``; data start at the
    first line whose first field is a procedure code) or the tidy TSV with the header
    ``column1, column2, deletion_date, modifier_indicator, rationale`` (ISO dates or ``*``; no
    effective date, so the edit has an open start; an optional ``effective_date`` column is
    honoured, where an empty cell or ``*`` is an open start). A row denies column 2 when
    column 1 is billed the same day by the same provider, from the effective date through the
    deletion date: ``Forbid({col1}, {col2})``,
    bypassed by :data:`~policydsl.model.NCCI_MODIFIERS` when the modifier indicator is 1, never
    when it is 0. Indicator 9 rows (deleted retroactively) produce no rule.
``mue`` (CARC 151)
    NCCI medically unlikely edits. Either the CMS published CSV (header ``"HCPCS/\\nCPT
    Code",<Practitioner|Outpatient Hospital|DME Supplier> Services MUE Values,MUE Adjudication
    Indicator,MUE Rationale``; MAI written ``2 Date of Service Edit: Policy``): only the
    practitioner file, whose rows are all taken (another setting's file is an error), or the
    tidy CSV with columns ``hcpcs, mue_uos, mue_mai, mue_service_type``, which mixes
    practitioner, outpatient hospital and DME supplier rows: only the ``Practitioner`` rows are
    taken, since the engine judges professional claims (another service type is an error).
    MAI 2 and 3 give ``Mue(per_day=True)``, MAI 1 ``per_day=False``.
``addon`` (CARC B15)
    CMS add-on code edits, tidy CSV (``hcpcs, aoc_type, complements, aoc_edit_type,
    effective_year, deleted_year``). Rows with ``aoc_type`` ``addon`` and edit type 1 give
    ``Addon({hcpcs}, set(complements))`` from January 1 of ``effective_year`` through December
    31 of ``deleted_year`` (the last year the edit is in force: CMS's deletion dates are
    December 31, and the extract keeps their year; 77002's row with 32405 ends in 2020, the
    last year before CPT 2021 replaced 32405 with 32408, and 77003's with 62270 in 2019, the
    row of its new primary 64449 starting in 2020). Rows of type ``primary`` restate the
    same pairs from the primary's side and are not needed. Edit type 2 lists no primaries,
    and type 3 only some of them (the contractor may accept others, by the CPT descriptor):
    a rule from type 3's list would deny an add-on billed with a primary CMS left out, so
    neither type is applied. All rows are still validated.
``pfs`` (global CARC 97, bilateral CARC 4)
    Medicare Physician Fee Schedule payment indicators (PPRRVU columns ``HCPCS, MOD, ...,
    GLOB DAYS, ..., BILAT SURG``; a header row within the first lines). Rows with a modifier
    (26/TC component variants) are skipped. ``GLOB DAYS`` 010 and 090 give ``Global(days=10)``
    and ``Global(days=90)`` with the model's default covered visits and bypass modifiers;
    000, XXX, YYY, ZZZ and MMM start no period. A ``BILAT SURG`` indicator other than 1 gives
    ``ForbidModifier({"50"}, {code})``. A statement CARC, when given, applies to both.

Codes are upper-cased and must be CPT (``\\d{5}``, ``\\d{4}[FTUAM]``) or HCPCS Level II
(``[A-Z]\\d{4}``). A missing or unreadable file, an unknown layout or a malformed row raises
:class:`TableError`.

Large files (a full CMS PTP quarter has over a million rows) are read line by line, and what
repeats is shared rather than copied: one ``frozenset`` per distinct code, one ``Validity``
per distinct date pair, one bypass set, dates parsed once per distinct string.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import attrs

from policydsl.collector import collector_paused
from policydsl.files import refuse_unless_regular
from policydsl.model import (
    FIRST_DAY,
    NCCI_MODIFIERS,
    Addon,
    Forbid,
    ForbidModifier,
    Global,
    Mue,
    Rule,
    RuleInfo,
    Validity,
)

TABLE_KINDS: tuple[str, ...] = ("ptp", "mue", "addon", "pfs")

#: The CARC a table's rules carry when the statement gives none.
DEFAULT_CARCS: dict[str, str] = {"ptp": "236", "mue": "151", "addon": "B15", "pfs": "97"}
#: The CARC of the bilateral (modifier 50) rules of a ``pfs`` table.
PFS_BILATERAL_CARC = "4"

#: How many lines (or CSV records) a header block may take before the layout is unknown.
MAX_HEADER_LINES = 20

# ASCII only: ``\d`` would take other scripts' digits, which no claim line's code holds
_CODE = re.compile(r"\d{5}|\d{4}[FTUAM]|[A-Z]\d{4}", re.ASCII)
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})|(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_YEAR = re.compile(r"\d{4}", re.ASCII)
_MAI = re.compile(r"([123])(?:\s|$)")
_UNITS = re.compile(r"\d{1,18}", re.ASCII)  # a count below 10^18, as a policy's
_NO_BYPASS: frozenset[str] = frozenset()
_BILATERAL: frozenset[str] = frozenset(["50"])
_PTP_INDICATORS = frozenset(["0", "1", "9"])
_GLOBAL_DAYS = {"010": 10, "090": 90}
_NO_GLOBAL = frozenset(["000", "XXX", "YYY", "ZZZ", "MMM"])
_BILATERAL_INDICATORS = frozenset(["0", "1", "2", "3", "9"])


class TableError(Exception):
    """A table that cannot be read: ``path`` is the display path, ``row`` the 1-based line."""

    def __init__(self, path: str, row: int | None, message: str) -> None:
        where = path if row is None else f"{path}:{row}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.row = row
        self.message = message

    def __reduce__(self) -> tuple[type[TableError], tuple[str, int | None, str]]:
        return (TableError, (self.path, self.row, self.message))


def load_table(kind: str, path: Path, *, info: RuleInfo, display_path: str) -> list[Rule]:
    """Read the table of ``kind`` at ``path`` into rules made from the statement ``info``."""
    loader = _LOADERS.get(kind)
    if loader is None:
        expected = ", ".join(TABLE_KINDS)
        raise TableError(display_path, None, f"unknown table kind {kind!r}; expected {expected}")
    context = _Context(info, display_path, info.carc or DEFAULT_CARCS[kind])
    try:
        refuse_unless_regular(path)
        # a million rows allocate millions of objects, none in a cycle: left running, the
        # collector walks the growing heap again and again (about 40% of a large load)
        with collector_paused(), open(path, encoding="utf-8-sig", errors="replace",
                                      newline="") as stream:
            return loader(context, stream)
    except FileNotFoundError:
        raise TableError(display_path, None, "table file not found; a table's path is read "
                         "from the folder of the policy that names it") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise TableError(display_path, None, f"cannot read table file: {reason}") from None


# --- shared state of one load -------------------------------------------------------------


class _Context:
    """The statement, where rows come from, and the caches that share what repeats."""

    def __init__(self, info: RuleInfo, display_path: str, carc: str) -> None:
        self.info = info
        self.display_path = display_path
        self.carc = carc
        self._codes: dict[str, tuple[str, frozenset[str]]] = {}
        self._dates: dict[str, dt.date] = {}
        self._validities: dict[tuple[dt.date | None, dt.date | None], Validity | None] = {}

    def fail(self, row: int | None, message: str) -> NoReturn:
        if "\ufffd" in message:  # how the file is read: a byte that is not UTF-8
            message += (" (\ufffd stands for a byte that is not UTF-8, most likely: save the "
                        "file as UTF-8)")
        raise TableError(self.display_path, row, message)

    def code(self, raw: str, row: int) -> tuple[str, frozenset[str]]:
        """The upper-case code and the one shared ``frozenset({code})``."""
        found = self._codes.get(raw)
        if found is None:
            code = raw.strip().upper()  # ASCII first: "ı0001".upper() is "I0001"
            if not (raw.isascii() and _CODE.fullmatch(code)):
                self.fail(row, f"invalid procedure code {raw.strip()!r}")
            found = self._codes.get(code) or (code, frozenset([code]))
            self._codes[raw] = self._codes[code] = found
        return found

    def codes(self, raws: Iterable[str], row: int) -> frozenset[str]:
        return frozenset(self.code(raw, row)[0] for raw in raws)

    def date(self, raw: str, row: int) -> dt.date:
        """``YYYYMMDD`` or ``YYYY-MM-DD``, parsed once per distinct text."""
        day = self._dates.get(raw)
        if day is None:
            day = _parse_date(raw.strip())
            if day is None:
                self.fail(row, f"invalid date {raw.strip()!r}")
            self._dates[raw] = day
        return day

    def deletion(self, raw: str, row: int) -> dt.date | None:
        """A deletion date, or ``None`` for ``*`` (still in force)."""
        if raw == "*" or raw.strip() == "*":
            return None
        return self.date(raw, row)

    def validity(self, start: dt.date | None, end: dt.date | None) -> Validity | None:
        """The statement's validity intersected with the row's dates; ``None`` when empty."""
        key = (start, end)
        if key not in self._validities:
            self._validities[key] = _intersect(self.info.validity, start, end)
        return self._validities[key]

    def info_for(
        self, row: int, message: str, validity: Validity, carc: str | None = None
    ) -> RuleInfo:
        info = self.info
        return RuleInfo(
            id=info.id,
            action=info.action,
            carc=carc or self.carc,
            message=info.message or message,
            source=f"{self.display_path}:{row}:1",
            validity=validity,
        )


def _parse_date(text: str) -> dt.date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups() if part is not None)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _intersect(outer: Validity, start: dt.date | None, end: dt.date | None) -> Validity | None:
    if outer.start is not None and (start is None or start < outer.start):
        start = outer.start
    if outer.end is not None and (end is None or end > outer.end):
        end = outer.end
    validity = Validity(start, end)
    return None if validity.is_empty else validity


def _lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    """Physical lines, numbered from 1, without their line ending."""
    for number, line in enumerate(stream, start=1):
        yield number, line.rstrip("\r\n")


def _records(ctx: _Context, stream: TextIO) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the physical line each starts on; blank records are skipped."""
    reader = csv.reader(stream)
    start = 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as error:
            ctx.fail(reader.line_num, f"malformed CSV: {error}")
        if record is None:
            return
        if any(cell.strip() for cell in record):
            yield start, record
        start = reader.line_num + 1


def _cell(text: str) -> str:
    """A header cell, compared without case and with runs of white space as one space."""
    return " ".join(text.split()).lower()


# --- ptp ------------------------------------------------------------------------------------


@attrs.frozen
class _PtpColumns:
    """Where a PTP layout keeps what a rule needs (``effective`` ``None``: open start)."""

    column1: int
    column2: int
    effective: int | None
    deletion: int
    indicator: int
    prior_1996: int | None = None

    @property
    def width(self) -> int:
        indexes = (self.column1, self.column2, self.effective, self.deletion, self.indicator)
        return max(i for i in (*indexes, self.prior_1996) if i is not None) + 1


_CMS_PTP = _PtpColumns(column1=0, column2=1, prior_1996=2, effective=3, deletion=4, indicator=5)
_CMS_PTP_HEADER = re.compile(r"column\s*1\tcolumn\s*2\t", re.IGNORECASE)
_CMS_DATE = re.compile(r"[0-9]{8}")
_TIDY_PTP_REQUIRED = ("column1", "column2", "deletion_date", "modifier_indicator")


def _load_ptp(ctx: _Context, stream: TextIO) -> list[Rule]:
    lines = _lines(stream)
    first = next(lines, None)
    if first is None:
        ctx.fail(None, "empty file: unknown PTP layout")
    header = [_cell(field) for field in first[1].split("\t")]
    if all(name in header for name in _TIDY_PTP_REQUIRED):
        return _ptp_rows(ctx, lines, _tidy_ptp_columns(header))
    if "column1" in header and "column2" in header:  # a tidy header that lacks a column
        missing = [name for name in _TIDY_PTP_REQUIRED if name not in header]
        ctx.fail(first[0], f"the tidy PTP header lacks {', '.join(missing)} (it needs "
                 f"{', '.join(_TIDY_PTP_REQUIRED)})")
    data = _skip_ptp_header(ctx, first, lines)
    if data is None:
        return []
    return _ptp_rows(ctx, _chain(data, lines), _CMS_PTP)


def _tidy_ptp_columns(header: list[str]) -> _PtpColumns:
    effective = header.index("effective_date") if "effective_date" in header else None
    return _PtpColumns(
        column1=header.index("column1"),
        column2=header.index("column2"),
        effective=effective,
        deletion=header.index("deletion_date"),
        indicator=header.index("modifier_indicator"),
    )


def _skip_ptp_header(
    ctx: _Context, first: tuple[int, str], lines: Iterator[tuple[int, str]]
) -> tuple[int, str] | None:
    """The first data row of the CMS layout: the first line led by a procedure code, or
    shaped as a row (an 8-digit effective date, or a modifier indicator 0, 1 or 9, where the
    header's lines have words), so that a first row with a bad code is an error, not header.

    ``None`` for a CMS header block with no rows after it (an empty table).
    """
    line: tuple[int, str] | None = first
    header_seen = False
    while line is not None and line[0] <= MAX_HEADER_LINES:
        fields = line[1].split("\t")
        if _CODE.fullmatch(fields[0].strip().upper()) or (
                len(fields) > _CMS_PTP.indicator and fields[0].strip() and (
                    _CMS_DATE.fullmatch(fields[_CMS_PTP.effective or 0].strip())
                    or fields[_CMS_PTP.indicator].strip() in _PTP_INDICATORS)):
            return line
        header_seen = header_seen or _CMS_PTP_HEADER.match(line[1]) is not None
        line = next(lines, None)
    if line is None and header_seen:
        return None
    ctx.fail(
        None,
        "unknown PTP layout: expected the CMS published layout (tab-separated, rows led by a "
        "procedure code) or the header column1, column2, deletion_date, modifier_indicator, "
        "rationale",
    )


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


#: A PTP pair: its column 1 and column 2 codes.
_Pair = tuple[frozenset[str], frozenset[str]]


#: A PTP row read: its pair, its own effective and deletion dates, whether it is an
#: indicator 9 row, and the rule it gives (none for indicator 9, or for dates outside the
#: statement's). A plain tuple: a file has a million rows.
_PtpRow = tuple[_Pair, "dt.date | None", "dt.date | None", bool, "Forbid | None"]


def _ptp_rows(ctx: _Context, lines: Iterable[tuple[int, str]], columns: _PtpColumns) -> list[Rule]:
    rules: list[Rule] = []
    # the rows with no effective date of their own: (their rule's index, or None for a row
    # that gives none), their pair, their own deletion date, whether the row is indicator 9
    undated: list[tuple[int | None, _Pair, dt.date | None, bool]] = []
    # the dated rows that give a rule, their pairs and dates, in a file that also may have
    # rows without a date (a tidy file's effective_date column: a CMS file's rows all have)
    dated: list[tuple[_Pair, dt.date, dt.date | None]] = []
    mixed = columns.effective is not None and columns is not _CMS_PTP
    width = columns.width
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) < width:
            if not line.strip():
                continue
            ctx.fail(number, f"expected at least {width} tab-separated fields, found {len(fields)}")
        pair, start, end, nine, rule = _ptp_row(ctx, number, fields, columns)
        if rule is not None:
            rules.append(rule)
        if start is None and (rule is not None or end is not None):
            undated.append((len(rules) - 1 if rule is not None else None, pair, end, nine))
        elif mixed and start is not None and rule is not None:
            dated.append((pair, start, end))
    return _one_row_a_date(ctx, rules, undated, dated)


def _last_free_stretch(first: int, last: int, held: Sequence[tuple[int, int]]
                       ) -> tuple[int, int] | None:
    """The last stretch of the days ``first`` to ``last`` (ordinals) that none of the spans
    ``held`` holds: the one nearest the row's own deletion date, the row's surest days."""
    moved = True
    while moved:  # step back past every span that holds the last day
        moved = False
        for low, high in held:
            if low <= last <= high:
                last, moved = low - 1, True
    if last < first:
        return None
    first = max([first, *(high + 1 for low, high in held if high < last)])
    return first, last


def _one_row_a_date(ctx: _Context, rules: list[Rule],
                    undated: list[tuple[int | None, _Pair, dt.date | None, bool]],
                    dated: list[tuple[_Pair, dt.date, dt.date | None]]
                    ) -> list[Rule]:
    """Rows of one pair of codes with no effective date, in a file that lost them: CMS deletes
    an edit and adds it anew when its modifier indicator changes, or when it turns the edit
    round (64483/20552 ended 2016-12-31, 20552/64483 is in force), so the rows of a pair, in
    either order, follow one another: one finding a date, and never both lines denied.

    In order of their own deletion dates (the rows still in force last; of rows ending on one
    date, an indicator 9 row after the others, then file order), each row starts on the
    first date no row before it covers: the day after the latest deletion date so far, or the
    date of an indicator 9 row (an edit deleted retroactively, in force on no day: its
    deletion date is its effective date, a quarter's first day), whichever is later. The
    days a row of the pair with its own effective date holds are that row's: a row without
    one keeps the last stretch of its days outside them (up to its deletion date). A row
    that then has no day left (the same deletion date twice, the same edit twice) is dropped.
    The rows in force (no deletion date) all start there; of those, one of each order is kept
    (two in opposite orders are both kept, as written)."""
    by_pair: dict[frozenset[frozenset[str]], list[tuple[dt.date | None, int, int | None, _Pair,
                                                        bool]]] = {}
    for order, (index, pair, end, nine) in enumerate(undated):
        if end == dt.date.max:
            end = None  # deleted on the calendar's last day: in force, as a row with '*'
        by_pair.setdefault(frozenset(pair), []).append((end, order, index, pair, nine))
    # the days the dated rows of those pairs hold, as date ordinals
    holds: dict[frozenset[frozenset[str]], list[tuple[int, int]]] = {}
    for pair, start, end in dated if by_pair else ():
        key = frozenset(pair)
        if key in by_pair:
            holds.setdefault(key, []).append(Validity(start, end).days)
    gone: set[int] = set()
    for key, rows in by_pair.items():
        held = holds.get(key, ())
        if len(rows) < 2 and not held:
            continue
        rows.sort(key=lambda row: (row[0] or dt.date.max, row[4], row[1]))
        starts = FIRST_DAY  # the first date no row before covers
        in_force: set[_Pair] = set()  # the orders of the kept rows with no deletion date
        for end, _, index, pair, nine in rows:
            last = Validity(None, end).days[1]
            if index is not None:
                if end is None and pair in in_force:
                    gone.add(index)  # the same edit in force twice
                    continue
                free = _last_free_stretch(starts, last, held)
                days = None if free is None else Validity.of_days(*free)
                validity = None if days is None else ctx.validity(days.start, days.end)
                if validity is None:
                    gone.add(index)
                    continue
                rule = rules[index]
                if validity != rule.info.validity:
                    rules[index] = attrs.evolve(rule, info=attrs.evolve(rule.info,
                                                                        validity=validity))
                if end is None:
                    in_force.add(pair)
            if end is not None:
                starts = max(starts, last if nine else last + 1)
    return [rule for at, rule in enumerate(rules) if at not in gone]


def _ptp_row(ctx: _Context, number: int, fields: Sequence[str], columns: _PtpColumns
             ) -> _PtpRow:
    """The PTP row on line ``number`` of its file."""
    indicator = fields[columns.indicator].strip()
    if indicator not in _PTP_INDICATORS:
        ctx.fail(number, f"invalid modifier indicator {indicator!r}; expected 0, 1 or 9")
    if columns.prior_1996 is not None and fields[columns.prior_1996].strip() not in ("", "*"):
        ctx.fail(number, f"invalid prior-to-1996 flag {fields[columns.prior_1996].strip()!r}")
    column1, triggers = ctx.code(fields[columns.column1], number)
    column2, targets = ctx.code(fields[columns.column2], number)
    if columns.effective is None or (
            columns is not _CMS_PTP and fields[columns.effective].strip() in ("", "*")):
        start = None  # a tidy file's empty or '*' effective date: an open start
    else:
        start = ctx.date(fields[columns.effective], number)
    end = ctx.deletion(fields[columns.deletion], number)
    validity = ctx.validity(start, end)
    nine = indicator == "9"
    if nine or validity is None:
        return (triggers, targets), start, end, nine, None
    message = (
        f"NCCI PTP edit: {column2} is not payable with {column1} the same day "
        f"(modifier indicator {indicator})"
    )
    bypass = NCCI_MODIFIERS if indicator == "1" else _NO_BYPASS
    return ((triggers, targets), start, end, nine,
            Forbid(ctx.info_for(number, message, validity), triggers, targets, bypass))


# --- csv headers ----------------------------------------------------------------------------


_Columns = dict[str, int]


def _find_header(
    ctx: _Context,
    records: Iterator[tuple[int, list[str]]],
    match: Callable[[list[str]], _Columns | None],
    expected: str,
) -> tuple[_Columns, list[str]]:
    """Skip a preamble to the header record ``match`` recognises: its columns by name, and
    the header's cells (stripped, lower case)."""
    for number, record in records:
        header = [_cell(cell) for cell in record]
        columns = match(header)
        if columns is not None:
            return columns, header
        if number >= MAX_HEADER_LINES:
            break
    ctx.fail(None, f"unknown layout: expected {expected}")


def _named(header: list[str], names: Sequence[str]) -> _Columns | None:
    """The index of each name, or ``None`` when one is missing."""
    if not all(name in header for name in names):
        return None
    return {name: header.index(name) for name in names}


def _field(ctx: _Context, number: int, record: list[str], index: int) -> str:
    if index >= len(record):
        ctx.fail(number, f"expected at least {index + 1} fields, found {len(record)}")
    return record[index].strip()


# --- mue ------------------------------------------------------------------------------------


_TIDY_MUE = ("hcpcs", "mue_uos", "mue_mai", "mue_service_type")


def _mue_header(header: list[str]) -> _Columns | None:
    tidy = _named(header, _TIDY_MUE)
    if tidy is not None:
        return tidy
    if (
        len(header) >= 3
        and header[0].replace(" ", "") == "hcpcs/cptcode"
        and header[1].endswith("mue values")
        and header[2] == "mue adjudication indicator"
    ):
        return {"hcpcs": 0, "mue_uos": 1, "mue_mai": 2}
    return None


#: The values column of CMS's practitioner MUE file (the others name another setting).
_PRACTITIONER_VALUES = "practitioner services mue values"
#: The service types of the tidy file's rows; only practitioner rows are taken.
_MUE_SERVICES = frozenset(["practitioner", "outpatient hospital", "dme supplier"])


def _load_mue(ctx: _Context, stream: TextIO) -> list[Rule]:
    records = _records(ctx, stream)
    expected = 'the CMS MUE header "HCPCS/CPT Code,... MUE Values,MUE Adjudication Indicator" '
    expected += "or the columns " + ", ".join(_TIDY_MUE)
    columns, header = _find_header(ctx, records, _mue_header, expected)
    service = columns.get("mue_service_type")
    if service is None and header[columns["mue_uos"]] != _PRACTITIONER_VALUES:
        ctx.fail(None, "this is not CMS's practitioner MUE file (its values column names "
                 "another setting); policyc judges practitioner claims: load the file of "
                 "Practitioner Services MUE Values")
    rules: list[Rule] = []
    for number, record in records:
        kind = "Practitioner"  # CMS's practitioner file: every row
        if service is not None:
            kind = _field(ctx, number, record, service)
            if kind.lower() not in _MUE_SERVICES:
                ctx.fail(number, f"unknown MUE service type {kind!r}; expected Practitioner, "
                         "Outpatient Hospital or DME Supplier")
        rule = _mue_rule(ctx, number, record, columns)  # every row is checked
        if rule is not None and kind.lower() == "practitioner":
            rules.append(rule)
    return rules


def _mue_rule(ctx: _Context, number: int, record: list[str], columns: _Columns) -> Mue | None:
    code, codes = ctx.code(_field(ctx, number, record, columns["hcpcs"]), number)
    units = _field(ctx, number, record, columns["mue_uos"])
    if not _UNITS.fullmatch(units):
        ctx.fail(number, f"invalid MUE value {units!r}")
    mai_text = _field(ctx, number, record, columns["mue_mai"])
    mai = _MAI.match(mai_text)
    if mai is None:
        ctx.fail(number, f"invalid MUE adjudication indicator {mai_text!r}; expected 1, 2 or 3")
    validity = ctx.validity(None, None)
    if validity is None:
        return None
    maximum, per_day = int(units), mai[1] != "1"
    noun = "unit" if maximum == 1 else "units"
    message = (
        f"NCCI MUE: more than {maximum} {noun} of {code} per {'day' if per_day else 'line'} "
        f"(MAI {mai[1]})"
    )
    return Mue(ctx.info_for(number, message, validity), codes, maximum, per_day)


# --- addon ----------------------------------------------------------------------------------


_ADDON = ("hcpcs", "aoc_type", "complements", "aoc_edit_type", "effective_year", "deleted_year")
_ADDON_TYPES = frozenset(["addon", "primary"])
_ADDON_EDIT_TYPES = frozenset(["1", "2", "3"])


def _load_addon(ctx: _Context, stream: TextIO) -> list[Rule]:
    records = _records(ctx, stream)
    expected = "the columns " + ", ".join(_ADDON)
    columns, _ = _find_header(ctx, records, lambda header: _named(header, _ADDON), expected)
    rules: list[Rule] = []
    for number, record in records:
        rule = _addon_rule(ctx, number, record, columns)
        if rule is not None:
            rules.append(rule)
    return rules


def _addon_rule(ctx: _Context, number: int, record: list[str], columns: _Columns) -> Addon | None:
    def field(name: str) -> str:
        return _field(ctx, number, record, columns[name])

    code, addons = ctx.code(field("hcpcs"), number)
    kind, edit_type = field("aoc_type").lower(), field("aoc_edit_type")
    if kind not in _ADDON_TYPES:
        ctx.fail(number, f"invalid aoc_type {kind!r}; expected addon or primary")
    if edit_type not in _ADDON_EDIT_TYPES:
        ctx.fail(number, f"invalid aoc_edit_type {edit_type!r}; expected 1, 2 or 3")
    complements = field("complements").split()
    primaries = ctx.codes(complements, number)
    start, end = _addon_years(ctx, number, field("effective_year"), field("deleted_year"))
    validity = ctx.validity(start, end)
    if kind != "addon" or edit_type != "1" or validity is None:
        return None
    if not primaries:
        ctx.fail(number, f"add-on {code} of edit type 1 lists no primary codes")
    listed = ", ".join(complements[:6]).upper()
    more = f" and {len(complements) - 6} more" if len(complements) > 6 else ""
    message = f"NCCI add-on edit: {code} requires a primary procedure the same day ({listed}{more})"
    return Addon(ctx.info_for(number, message, validity), addons, primaries)


def _addon_years(
    ctx: _Context, number: int, effective: str, deleted: str
) -> tuple[dt.date, dt.date | None]:
    """January 1 of the effective year through December 31 of the deletion year."""
    if not _YEAR.fullmatch(effective):
        ctx.fail(number, f"invalid effective_year {effective!r}")
    if deleted and not _YEAR.fullmatch(deleted):
        ctx.fail(number, f"invalid deleted_year {deleted!r}")
    if int(effective) < 1 or (deleted and int(deleted) < 1):  # there is no year 0
        ctx.fail(number, "invalid year 0000: years start at 0001")
    start = dt.date(int(effective), 1, 1)
    end = dt.date(int(deleted), 12, 31) if deleted else None
    return start, end


# --- pfs ------------------------------------------------------------------------------------


_PFS = ("hcpcs", "mod", "glob days", "bilat surg")


def _load_pfs(ctx: _Context, stream: TextIO) -> list[Rule]:
    records = _records(ctx, stream)
    expected = "a PPRRVU header with the columns HCPCS, MOD, GLOB DAYS, BILAT SURG"
    columns, _ = _find_header(ctx, records, lambda header: _named(header, _PFS), expected)
    rules: list[Rule] = []
    for number, record in records:
        if _field(ctx, number, record, columns["mod"]):
            continue
        rules.extend(_pfs_rules(ctx, number, record, columns))
    return rules


def _pfs_rules(ctx: _Context, number: int, record: list[str], columns: _Columns) -> list[Rule]:
    code, codes = ctx.code(_field(ctx, number, record, columns["hcpcs"]), number)
    days = _field(ctx, number, record, columns["glob days"]).upper()
    bilateral = _field(ctx, number, record, columns["bilat surg"])
    if days not in _GLOBAL_DAYS and days not in _NO_GLOBAL:
        ctx.fail(number, f"invalid GLOB DAYS {days!r}")
    if bilateral not in _BILATERAL_INDICATORS:
        ctx.fail(number, f"invalid BILAT SURG indicator {bilateral!r}; expected 0, 1, 2, 3 or 9")
    validity = ctx.validity(None, None)
    if validity is None:
        return []
    rules: list[Rule] = []
    if days in _GLOBAL_DAYS:
        period = _GLOBAL_DAYS[days]
        message = (
            f"PFS global surgery: {code} has a {period}-day global period; "
            "E/M visits in it are included in the procedure"
        )
        rules.append(Global(ctx.info_for(number, message, validity), codes, period))
    if bilateral != "1":
        message = f"PFS bilateral indicator {bilateral}: modifier 50 does not apply to {code}"
        info = ctx.info_for(number, message, validity, ctx.info.carc or PFS_BILATERAL_CARC)
        rules.append(ForbidModifier(info, _BILATERAL, codes))
    return rules


_LOADERS: dict[str, Callable[[_Context, TextIO], list[Rule]]] = {
    "ptp": _load_ptp,
    "mue": _load_mue,
    "addon": _load_addon,
    "pfs": _load_pfs,
}
