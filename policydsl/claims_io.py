"""Claim files in, decision files out: the formats of ``policyc run``.

``read_claims`` / ``iter_claims`` read a CSV or JSON Lines file of claim lines and give one item
per data row, in file order: a ``ClaimLine``, or a ``RowError`` saying which row is malformed and
why. ``csv_items`` and ``json_items`` parse chosen rows of a file framed by ``claims_text`` (what a
worker of a parallel batch does with its members' rows). ``error_decision`` turns a ``RowError``
into the ``error`` decision printed for that row. The writers (``jsonl_records``,
``csv_records``, ``write_jsonl``, ``write_csv``) live in ``render`` and are re-exported here.

This is the engine's hot path, so the common case is kept cheap: ``read_claims`` reads and
decodes the file at once; field values are parsed once per distinct raw text and cached (dates,
codes, line numbers, units, modifiers and diagnoses repeat); lines without a quote are split with
``str.split``; and a ``ClaimLine`` is built by ``claims.stored_line``: the values are already
what its converters would make. ``iter_claims`` streams the file line by line instead, and is
the reference the whole-file reader is tested against.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
import json
import operator
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

import attrs
import orjson

from policydsl.claims import INT_LIMIT, ClaimLine, Columns, Decision, Finding, stored_line
from policydsl.claims import columns as line_columns
from policydsl.claims_text import (
    DATE_SHAPE,
    FIELDS,
    NOT_UTF8,
    OPEN_QUOTE,
    REQUIRED,
    ClaimsFileError,
    ClaimsText,
    HugeNumber,
    OpenQuote,
    Rows,
    claims_format,
    code_of,
    first_line_fields,
    frame,
    json_value,
    not_utf8,
    open_quote_reason,
    read_header,
    read_text,
    refused_reason,
    undecoded,
)
from policydsl.collector import collector_paused
from policydsl.render import (
    CSV_HEADER,
    csv_records,
    decision_dict,
    jsonl_records,
    write_csv,
    write_jsonl,
)

__all__ = [
    "CSV_HEADER", "FIELDS", "REQUIRED", "ClaimItem", "ClaimsFileError", "RowError", "csv_items",
    "csv_records", "decision_dict", "error_decision", "items_of", "iter_claims", "json_items",
    "jsonl_records", "read_claims", "write_csv", "write_jsonl",
]

_DIGITS = re.compile(r"[0-9]+")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")

#: The most modifiers a claim line carries (X12 837P: SV101-3 to SV101-6), and the most
#: diagnoses (a claim's: HI, 12). A line with more is malformed.
MAX_MODIFIERS = 4
MAX_DIAGNOSES = 12
#: An ICD-10-CM code: a letter, a digit, a letter or digit, then up to four more, with or
#: without a dot after the third.
_DIAGNOSIS = re.compile(r"[A-Z][0-9][A-Z0-9](?:\.?[A-Z0-9]{1,4})?")
_DIAGNOSES = re.compile(rf" *(?:{_DIAGNOSIS.pattern}(?: +|\Z))*")  # a list, spaces between
_CACHE_LIMIT = 1 << 16  # a cache that grows past this is emptied

if tuple(a.name for a in attrs.fields(ClaimLine)) != FIELDS:  # pragma: no cover
    raise RuntimeError("claims_text.FIELDS is out of step with ClaimLine's fields")


@attrs.frozen(slots=True)
class RowError:
    """A malformed row: its row number, why, and the raw key values it had ('' if none)."""

    row: int
    reason: str  # "row 7: date '2024-13-01' is not a valid YYYY-MM-DD date"
    claim_id: str = ""
    line: str = ""
    member_id: str = ""
    date: str = ""
    code: str = ""

    @classmethod
    def at(cls, row: int, why: str) -> RowError:
        """The malformed row ``row``, its reason prefixed as every reason is: ``row 7: why``."""
        return cls(row, f"row {row}: {why}")

    @property
    def why(self) -> str:
        """The reason without its ``row 7: `` prefix, for a message that names the row already
        (``file:7: why``)."""
        return self.reason.removeprefix(f"row {self.row}: ")


ClaimItem = ClaimLine | RowError


def over_lines(error: RowError, first: int) -> RowError:
    """A malformed row that a quoted field ran over several lines, from ``first`` to its row,
    with a hint: a quote left open joins the rows after it into one, which is then malformed."""
    if first >= error.row:
        return error
    return attrs.evolve(error, reason=f"{error.reason} (the row runs over lines {first}-"
                                      f"{error.row} in a quoted field: check its quotes)")


def not_utf8_row(row: int, why: str, keys: Sequence[str] = ()) -> RowError:
    """A row found malformed before its fields are read: it holds a byte that is not UTF-8
    (``why``: ``claims_text.not_utf8``), or a quote it opens is not closed on its line
    (``claims_text.open_quote_reason``). It echoes those of its raw key values (claim id,
    line, member id, date, code) that hold no such byte: a pipeline can still match the
    error to its claim."""
    clean = ["" if undecoded(text) is not None else text.strip() for text in keys[:5]]
    return RowError(row, f"row {row}: {why}", *clean)


def _padded(fields: list[str], width: int) -> list[str]:
    """A row's fields cut to the header's ``width`` or padded to it, then the '' that a
    missing optional column reads (at index ``width``)."""
    return fields[:width] + [""] * (width + 1 - min(len(fields), width))


def _positive_int(text: str) -> int | None:
    text = text.strip()
    if not _DIGITS.fullmatch(text) or len(text.lstrip("0")) > 19:
        return None
    value = int(text)
    return value if 0 < value < INT_LIMIT else None


def _not_a_count(text: str) -> str:
    """Why ``text``, which ``_positive_int`` refuses, is no line number or units."""
    if _DIGITS.fullmatch(text) and text.strip("0"):
        return f"is not below {INT_LIMIT}"
    return "is not a positive integer"


def _date(text: str) -> dt.date | None:
    text = text.strip()
    if not DATE_SHAPE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _units(text: str) -> int | None:
    units = text.strip()
    return _positive_int(units) if units else 1


def _modifiers(text: str) -> tuple[str, ...] | None:
    given = text.split()
    if len(given) > MAX_MODIFIERS:
        return None
    for m in given:
        if not (m.isascii() and _MODIFIER.fullmatch(m.upper())):
            return None
    return tuple(text.upper().split())


def _diagnoses(text: str) -> tuple[str, ...] | None:
    # ASCII before upper-casing: 'ı' and 'ſ' become 'I' and 'S'
    if not (text.isascii() and _DIAGNOSES.fullmatch(text.upper())):
        for dx in text.split():  # not the usual codes between spaces: one at a time
            if not (dx.isascii() and _DIAGNOSIS.fullmatch(dx.upper())):
                return None
    codes = tuple(text.upper().replace(".", "").split())
    return codes if len(codes) <= MAX_DIAGNOSES else None


_T = TypeVar("_T")


def _remember(cache: dict[str, _T], key: str, value: _T) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


class _Parse(Protocol):
    def __call__(self, row: int, raw: tuple[str, ...], problem: str,
                 reported: frozenset[str] = ..., /) -> ClaimItem: ...


@attrs.define
class FieldCaches:
    """Parsed field values by their raw text (they repeat: the usual row costs a few dict
    lookups). Only values that parse are kept."""

    lines: dict[str, int] = attrs.Factory(dict)
    dates: dict[str, dt.date] = attrs.Factory(dict)
    codes: dict[str, str] = attrs.Factory(dict)
    units: dict[str, int] = attrs.Factory(lambda: {"": 1})
    mods: dict[str, tuple[str, ...]] = attrs.Factory(lambda: {"": ()})
    dxs: dict[str, tuple[str, ...]] = attrs.Factory(lambda: {"": ()})


def _parser(caches: FieldCaches | None = None) -> _Parse:
    """``parse(row, raw, problem, reported)``: a row's texts, in ``FIELDS`` order, to an item.

    ``problem`` is one found already ('' if none), about the fields in ``reported``: their
    texts are not checked again.
    """
    caches = caches or FieldCaches()
    lines, dates, codes, units_, mods_, dxs = (
        caches.lines, caches.dates, caches.codes, caches.units, caches.mods, caches.dxs)
    lget, dget, cget, uget, mget, xget = (
        lines.get, dates.get, codes.get, units_.get, mods_.get, dxs.get
    )

    def parse(row: int, raw: tuple[str, ...], problem: str,
              reported: frozenset[str] = frozenset(), /) -> ClaimItem:
        cid, line, mid, date, code, prov, mods, units, dx, pos, auth = raw
        cid = cid.strip()
        mid = mid.strip()
        line_no = lget(line)
        day = dget(date)
        proc = cget(code)
        count = uget(units)
        modifiers = mget(mods)
        diagnoses = xget(dx)
        if (
            line_no is None or day is None or proc is None or count is None or modifiers is None
            or diagnoses is None or not cid or not mid or problem
        ):
            values = _check(row, raw, problem, reported)
            if isinstance(values, RowError):
                return values
            line_no, day, proc, count, modifiers, diagnoses = values
            _remember(lines, line, line_no)
            _remember(dates, date, day)
            _remember(codes, code, proc)
            _remember(units_, units, count)
            _remember(mods_, mods, modifiers)
            _remember(dxs, dx, diagnoses)
        return build(cid, line_no, mid, day, proc, prov.strip(), modifiers, count, diagnoses,
                     pos.strip(), auth.strip())

    build = stored_line
    return parse


def _well_formed(caches: FieldCaches, columns: list[list[str]]
                 ) -> tuple[list[ClaimItem], Columns] | None:
    """Rows given as columns of raw texts (in ``FIELDS`` order) as ``ClaimLine``s, a column at
    a time, and their columns; None when a value is missing or does not parse (then the rows
    are read one by one, for their errors)."""
    cid, line, mid, date, code, prov, mods, units, dx, pos, auth = columns
    parsed: list[list[Any]] = []
    cache: dict[str, Any]
    for column, cache, value_of in (
        (line, caches.lines, _positive_int), (date, caches.dates, _date),
        (code, caches.codes, code_of), (mods, caches.mods, _modifiers),
        (units, caches.units, _units), (dx, caches.dxs, _diagnoses),
    ):
        try:
            parsed.append(list(map(cache.__getitem__, column)))
            continue
        except KeyError:
            pass
        for text in set(column).difference(cache):
            value = value_of(text)
            if value is None:
                return None
            _remember(cache, text, value)  # type: ignore[misc]
        try:
            parsed.append(list(map(cache.__getitem__, column)))
        except KeyError:  # the cache was emptied meanwhile
            return None
    line_no, day, proc, modifiers, count, diagnoses = parsed
    strip = str.strip
    cids, mids = list(map(strip, cid)), list(map(strip, mid))
    if "" in cids or "" in mids:
        return None
    return (list(map(stored_line, cids, line_no, mids, day, proc, map(strip, prov), modifiers,
                     count, diagnoses, map(strip, pos), map(strip, auth))),
            Columns(cids, line_no, mids, day, proc))


_Values = tuple[int, dt.date, str, int, tuple[str, ...], tuple[str, ...]]


def _check(row: int, raw: tuple[str, ...], problem: str,
           reported: frozenset[str] = frozenset()) -> RowError | _Values:
    """Check every field of a row (but those ``problem`` is about, in ``reported``); its parsed
    line, date, code, units, modifiers and dx."""
    cid, line, mid, date, code = (t.strip() for t in raw[:5])
    mods, units, dx = raw[6], raw[7].strip(), raw[8]
    problems = [problem] if problem else []
    line_no = _positive_int(line)
    day = _date(date)
    proc = code_of(code)
    for name, text, valid, what in (
        ("claim_id", cid, True, ""),
        ("line", line, line_no is not None, None),  # None: _not_a_count says why
        ("member_id", mid, True, ""),
        ("date", date, day is not None, "a valid YYYY-MM-DD date"),
        ("code", code, proc is not None, "a valid procedure code"),
    ):
        if name in reported:
            continue
        if not text:
            problems.append(f"{name} is missing")
        elif not valid:
            why = f"is not {what}" if what is not None else _not_a_count(text)
            problems.append(f"{name} {text!r} {why}")
    count = _units(units)
    if count is None and "units" not in reported:
        problems.append(f"units {units!r} {_not_a_count(units)}")
    for m in mods.split() if "modifiers" not in reported else ():
        if _modifiers(m) is None:
            problems.append(f"modifier {m!r} is not exactly 2 letters or digits"
                            + _SPACES_NOT_COMMAS * ("," in m))
    for x in dx.split() if "dx" not in reported else ():
        if _diagnoses(x) is None:
            problems.append(f"dx {x!r} is not an ICD-10-CM code (a letter, a digit, a letter "
                            "or digit, then up to four more, with or without a dot after the "
                            "third)" + _SPACES_NOT_COMMAS * ("," in x))
    for name, given, most, of in (("modifiers", mods, MAX_MODIFIERS, "claim line"),
                                  ("dx", dx, MAX_DIAGNOSES, "claim")):
        count_given = len(given.split())
        if count_given > most and name not in reported:
            problems.append(f"{name}: {count_given} given, but a {of} carries at most {most}")
    if problems:
        return RowError(row, f"row {row}: " + "; ".join(problems), cid, line, mid, date, code)
    modifiers, diagnoses = _modifiers(mods), _diagnoses(dx)
    assert line_no is not None and day is not None and proc is not None and count is not None
    assert modifiers is not None and diagnoses is not None
    return line_no, day, proc, count, modifiers, diagnoses


def _csv_items(handle: TextIO, name: str) -> Iterator[ClaimItem]:
    """Read the header now; the returned iterator reads the data rows."""
    columns, lineno = read_header(handle, name)
    return _csv_rows(handle, lineno, columns)


_RowReader = Callable[[int, list[str]], "ClaimItem | None"]


def _row_reader(columns: list[str] | tuple[str, ...], caches: FieldCaches | None = None) -> tuple[
        _RowReader, _Parse, Callable[[list[str]], tuple[str, ...]], bool]:
    """For a header's ``columns``: ``item(row, fields)`` for a row of any shape (None for a
    blank one); the ``parse`` behind it; the getter of a full row's fields in ``FIELDS`` order;
    and whether optional columns are missing (then only ``item`` may be used)."""
    width = len(columns)
    # A missing optional column reads the '' appended to the row at index ``width``.
    index = [columns.index(c) if c in columns else width for c in FIELDS]
    get = operator.itemgetter(*index)
    parse = _parser(caches)

    def item(row: int, fields: list[str]) -> ClaimItem | None:
        if len(fields) <= 1 and not "".join(fields).strip():
            return None
        problem = f"has {len(fields)} fields, the header has {width}" if len(
            fields) > width else ""
        return parse(row, get(_padded(fields, width)), problem)

    return item, parse, get, width in index


def _csv_rows(handle: TextIO, lineno: int, columns: list[str]) -> Iterator[ClaimItem]:
    """The data rows: ``str.split`` while lines hold no quote, then ``csv.reader``. A row
    on a line holding a byte that is not UTF-8 is malformed."""
    width = len(columns)
    item, parse, get, pad = _row_reader(columns)
    with handle:
        for raw in handle:
            lineno += 1
            if '"' in raw:
                break
            bad = undecoded(raw)
            fields = raw.split(",")
            if bad is not None:
                yield not_utf8_row(lineno, not_utf8(bad, lineno, lineno),
                                   get(_padded(fields, width)))
                continue
            if len(fields) == width and not pad:
                yield parse(lineno, get(fields), "")
            else:
                found = item(lineno, fields)
                if found is not None:
                    yield found
        else:
            return
        base = lineno = lineno - 1  # lineno: the last line read
        found_bad: list[tuple[int, str]] = []  # (line, byte) in the record being read
        pending: list[str] = []  # the lines of the record being read
        open_quote = OpenQuote.of(columns)

        def checked(lines: Iterable[str], first_number: int) -> Iterator[str]:
            for number, line in enumerate(lines, first_number):
                pending.append(line)
                bad = undecoded(line)
                if bad is not None and not found_bad:
                    found_bad.append((number, bad))
                yield line

        rest = itertools.chain((raw,), handle)
        reader = csv.reader(checked(rest, base + 1))
        while True:
            pending.clear()
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # a field over csv.field_size_limit(): that row is
                # malformed; the reader starts afresh (a field over lines: a quote left open)
                first, lineno = lineno + 1, base + reader.line_num
                found_bad.clear()
                if lineno == first:
                    yield RowError.at(lineno, refused_reason(exc))
                    continue
                fields = []
            else:
                first, lineno = lineno + 1, base + reader.line_num
            if lineno > first and (not fields or open_quote.left_in(fields)):
                # the first line alone is malformed; its other lines are read again as rows
                found_bad.clear()
                yield not_utf8_row(first, open_quote_reason(first, lineno),
                                   get(_padded(first_line_fields(pending[0]), width)))
                base = lineno = first
                reader = csv.reader(checked(itertools.chain(pending[1:], rest), first + 1))
                continue
            if found_bad:
                (line, bad), = found_bad
                found_bad.clear()
                yield not_utf8_row(lineno, not_utf8(bad, line, lineno),
                                   get(_padded(fields, width)))
                continue
            found = item(lineno, fields)
            if isinstance(found, RowError):
                found = over_lines(found, first)
            if found is not None:
                yield found


def csv_items(rows: Rows, columns: tuple[str, ...], lines: Iterable[int] | None = None,
              into: Columns | None = None, caches: FieldCaches | None = None
              ) -> list[ClaimItem]:
    """The items of the CSV rows starting on ``lines`` (indexes into ``rows.lines``, each the
    start of a row, see ``Rows.is_row``), in that order; by default every row of ``rows``.
    With ``into``, the columns of the ``ClaimLine``s among them are appended to it (what the
    engine reads of a batch: the parser has them at hand). ``caches``: parsed values to reuse
    (from an earlier call on rows of the same file)."""
    width = len(columns)
    caches = caches or FieldCaches()
    item, parse, get, pad = _row_reader(columns, caches)
    text, base = rows.lines, rows.first_row
    out: list[ClaimItem] = []
    append = out.append
    if rows.records or rows.refused or pad:
        for index in range(len(text)) if lines is None else lines:
            if index in rows.inside:
                continue
            row, fields = rows.row_of(index)
            assert isinstance(fields, list)
            refused = rows.refused.get(index)
            if refused is not None:
                append(not_utf8_row(row, refused, get(_padded(fields, width)))
                       if refused.startswith((NOT_UTF8, OPEN_QUOTE))
                       else RowError.at(row, refused))
                continue
            found = item(row, fields)
            if isinstance(found, RowError) and index in rows.records:
                found = over_lines(found, row - rows.records[index][0] + 1)
            if found is not None:
                append(found)
        if into is not None:
            into.extend(_claim_columns(out))
        return out
    # Lines without a quote, all columns there: CHUNK rows at a time, a column at a time, when
    # every row of the chunk has the header's width; the rows joined by a cell holding a line
    # end (which no line holds) show that in one split.
    indexes = range(len(text)) if lines is None else list(lines)
    order = [columns.index(c) for c in FIELDS]
    stride = width + 1
    for start in range(0, len(indexes), _CHUNK):
        chunk = indexes[start:start + _CHUNK]
        count = len(chunk)
        cells = ",\n,".join(map(text.__getitem__, chunk)).split(",")
        if len(cells) == count * stride - 1 and cells[width::stride].count("\n") == count - 1:
            well_formed = _well_formed(caches, [cells[at::stride] for at in order])
            if well_formed is not None:
                out += well_formed[0]
                if into is not None:
                    into.extend(well_formed[1])
                continue
        first = len(out)
        for index in chunk:
            fields = text[index].split(",")
            if len(fields) == width:
                append(parse(base + index, get(fields), ""))
            else:
                found = item(base + index, fields)
                if found is not None:
                    append(found)
        if into is not None:
            into.extend(_claim_columns(out[first:]))
    return out


def _claim_columns(items: Sequence[ClaimItem]) -> Columns:
    """The columns of the ``ClaimLine``s among ``items``."""
    return line_columns([item for item in items if isinstance(item, ClaimLine)])


_CHUNK = 2048


def _json_texts(obj: dict[str, Any]) -> tuple[tuple[str, ...], str, frozenset[str]]:
    """A JSON object's fields as the texts CSV cells would hold, what has no such text, and
    the fields that is about (their JSON text stands for them)."""
    values = list(map(obj.get, FIELDS, _BLANKS))
    for i in 1, 7:  # line, units: numbers or numeric strings
        if type(values[i]) is int:
            values[i] = str(values[i])
    for i in 6, 8:  # modifiers, dx: lists or space-separated strings
        if type(values[i]) is list and _ONLY_STR.issuperset(map(type, values[i])):
            values[i] = " ".join(values[i])
    if _ONLY_STR.issuperset(map(type, values)):
        return tuple(values), "", frozenset()
    problems, reported = [], set()
    for i, (key, value) in enumerate(zip(FIELDS, values, strict=True)):
        if value is None:
            values[i] = ""
        elif type(value) is int:  # an id written as a number
            values[i] = str(value)
        elif type(value) is not str:
            what = "a list of strings" if i in (6, 8) else "an integer"
            values[i] = _json_shown(value)
            problems.append(f"{key} {values[i]} is not a string or {what}")
            reported.add(key)
    return tuple(values), "; ".join(problems), frozenset(reported)


#: What a malformed modifier or diagnosis that holds a comma adds: the lists are split at
#: spaces only.
_SPACES_NOT_COMMAS = " (separate them with spaces, not commas)"

_BLANKS = ("",) * len(FIELDS)
_ONLY_STR = frozenset([str])


class _Punctuation(str):
    """JSON text between values, written as it is."""


_COMMA, _CLOSE_LIST, _CLOSE_OBJECT = _Punctuation(","), _Punctuation("]"), _Punctuation("}")


def _json_shown(value: object, width: int = 40) -> str:
    """A field's JSON value as a message shows it: written as the row wrote it (an integer
    past 64 bits and a number beyond a double's range too), cut after ``width`` characters.
    Written without recursion, so that no depth of nesting is too deep for it."""
    text: list[str] = []
    size = 0
    stack: list[object] = [value]
    while stack and size <= width:
        item = stack.pop()
        if type(item) is _Punctuation or type(item) is HugeNumber:
            piece = str(item)
        elif type(item) is list:
            piece = "["
            stack.append(_CLOSE_LIST)
            for k in range(len(item) - 1, -1, -1):
                stack.append(item[k])
                if k:
                    stack.append(_COMMA)
        elif type(item) is dict:
            piece = "{"
            stack.append(_CLOSE_OBJECT)
            for k, key in enumerate(reversed(item)):
                stack.append(item[key])
                stack.append(_Punctuation(json.dumps(key, ensure_ascii=False) + ":"))
                if k < len(item) - 1:
                    stack.append(_COMMA)
        else:  # a string, a number, true, false or null
            piece = json.dumps(item, ensure_ascii=False)
        text.append(piece)
        size += len(piece)
    shown = "".join(text)
    return shown if size <= width and not stack else shown[:width - 3] + "..."


def _json_item(row: int, raw: str, parse: _Parse) -> ClaimItem:
    """The item of a JSON Lines row that is not blank."""
    exact = False  # read by the json module already (see below)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        obj = _json_with_huge_numbers(raw)
        if obj is None:
            column = exc.colno - (len(raw) - len(raw.lstrip()))  # as the row is shown: stripped
            return RowError.at(row, f"not valid JSON ({exc.msg} at column {column}): "
                                    f"{_shown(raw)}")
        exact = True
    if not isinstance(obj, dict):
        return RowError.at(row, f"not a JSON object: {_shown(raw)}")
    texts, problem, reported = _json_texts(obj)
    # more keys written (a quote, then the colon) than the object holds: a key given twice
    # (or a nested object); a JSON reader keeps the last value of a key without a word
    if raw.count('":') + raw.count('" :') > len(obj):
        repeated = _repeated_keys(raw)
        if repeated:
            named = ", ".join(f"'{key}'" for key in repeated)
            why = (f"key {named} is given twice" if len(repeated) == 1
                   else f"keys {named} are given twice")
            problem = f"{problem}; {why}" if problem else why
    if problem and not exact and _MAY_BE_HUGE.search(raw):
        # orjson reads an integer past 64 bits as a float; the json module keeps it exact
        # (and a number beyond a double's range as written), for the message too; a row
        # nested too deep for it keeps orjson's reading
        with contextlib.suppress(ValueError):
            texts, problem, reported = _json_texts(json_value(raw))
    return parse(row, texts, problem, reported)


def _repeated_keys(raw: str) -> list[str]:
    """Our keys that a JSON object row gives more than once (a JSON reader keeps the last
    value without a word, where a CSV header that repeats a column is refused)."""
    counts: Counter[str] = Counter()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        # the row's own object is the last to end: a nested object's keys are not ours
        counts.clear()
        counts.update(key for key, _ in items)
        return dict(items)

    with contextlib.suppress(ValueError, RecursionError):
        json.loads(raw, object_pairs_hook=pairs)
    return [key for key in FIELDS if counts[key] > 1]


#: A number orjson may not read as written: an integer of 19 digits or more (past 64 bits,
#: perhaps), an exponent of three digits (beyond a double's range, perhaps).
_MAY_BE_HUGE = re.compile(r"[0-9]{19}|[eE][+-]?[0-9]{3}")


def _json_with_huge_numbers(raw: str) -> Any:
    """The value of a JSON Lines row that orjson refuses only for a number beyond a double's
    range, read by the json module with that number's text kept, so that the row is
    malformed for that field and still echoes its keys; None when the row is not JSON (the
    json module's ``NaN`` and lone surrogates are not)."""
    try:
        obj = json_value(raw)
        # a string holding a lone surrogate cannot be UTF-8 (orjson refuses it, as JSON)
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return None
    return obj


def _shown(raw: str) -> str:
    """A JSON Lines row as its error shows it: stripped, cut after 40 characters, quoted."""
    text = raw.strip()
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _json_keys(raw: str) -> tuple[str, ...]:
    """The key values of a JSON Lines row that holds a byte that is not UTF-8 (read with
    ``surrogateescape``, which the ``json`` module takes): none if it is not a JSON object."""
    try:
        obj = json_value(raw)
        return _json_texts(obj)[0] if type(obj) is dict else ()
    except (ValueError, TypeError):  # not JSON; a value orjson cannot write
        return ()


def _jsonl_rows(handle: TextIO) -> Iterator[ClaimItem]:
    parse = _parser()
    with handle:
        for row, raw in enumerate(handle, 1):
            if raw.strip():  # else a blank line
                bad = undecoded(raw)
                yield (_json_item(row, raw, parse) if bad is None
                       else not_utf8_row(row, not_utf8(bad, row, row), _json_keys(raw)))


def json_items(rows: Rows, lines: Iterable[int] | None = None) -> list[ClaimItem]:
    """``csv_items`` for JSON Lines."""
    parse = _parser()
    text, base, refused = rows.lines, rows.first_row, rows.refused
    if lines is None:
        lines = (i for i, raw in enumerate(text) if raw.strip())
    if refused:
        return [not_utf8_row(base + i, refused[i], _json_keys(text[i])) if i in refused
                else _json_item(base + i, text[i], parse) for i in lines]
    return [_json_item(base + i, text[i], parse) for i in lines]


def iter_claims(path: str | os.PathLike[str], fmt: str | None = None) -> Iterator[ClaimItem]:
    """Stream the rows of a claims file: a ``ClaimLine`` or ``RowError`` per data row.

    ``fmt`` is ``"csv"`` or ``"jsonl"``; by default ``.jsonl`` and ``.ndjson`` files are JSON
    Lines and anything else CSV. CSV columns are found by header name (any order, any case);
    JSON keys are exactly the column names. Blank lines are not rows.

    Opening the file and reading a CSV header happen now, so a ``ClaimsFileError`` for those
    comes from this call; one for bad UTF-8 further on comes while iterating.
    """
    shown = os.fspath(path)  # messages name the file by its path as given ("./c.csv" too)
    if not shown:  # Path("") is the working directory
        raise ClaimsFileError("an empty path names no claims file")
    path = Path(path)
    kind = claims_format(path, fmt)
    try:
        # a byte that is not UTF-8 makes its row malformed (read_text says how)
        handle = open(path, encoding="utf-8-sig", errors="surrogateescape",  # noqa: SIM115
                      newline="")  # closed by the reader
    except OSError as exc:
        raise ClaimsFileError(f"{shown}: cannot open: {exc.strerror or exc}") from exc
    return _stream(handle, shown, kind)


def _stream(handle: TextIO, name: str, kind: str) -> Iterator[ClaimItem]:
    if kind != "csv":
        return _jsonl_rows(handle)
    try:
        return _csv_items(handle, name)
    except csv.Error as exc:
        handle.close()
        raise ClaimsFileError(f"{name}: header: {exc}") from exc
    except BaseException:
        handle.close()
        raise


def items_of(source: ClaimsText, into: Columns | None = None) -> list[ClaimItem]:
    """Every row of a file read whole, as ``read_claims`` gives them; ``into``: see
    ``csv_items`` (a file read any other way leaves it as it is)."""
    if not source.framable:
        return list(_stream(source.stream(), source.name, source.fmt))
    rows = frame(source)
    if source.fmt == "csv":
        return csv_items(rows, source.columns, None, into)
    return json_items(rows)


def read_claims(path: str | os.PathLike[str], fmt: str | None = None) -> list[ClaimItem]:
    """All rows of a claims file, read whole; the same items as ``iter_claims``.

    The cyclic garbage collector is paused meanwhile: a million new objects would set it off
    again and again (it costs more than the reading), and they hold no cycles.
    """
    with collector_paused():
        return items_of(read_text(path, fmt))


def error_decision(err: RowError, source_name: str) -> Decision:
    """The ``error`` decision printed for a malformed row (CARC 16)."""
    finding = Finding(
        rule="input", action="error", carc="16", message=err.reason,
        source=f"{source_name}:{err.row}:1",  # file:line:col, as every source
    )
    line = _positive_int(err.line)
    return Decision(
        claim_id=err.claim_id, line=err.line if line is None else line,
        member_id=err.member_id, date=err.date, code=err.code, decision="error",
        findings=(finding,),
    )
