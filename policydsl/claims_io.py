"""Claim files in, decision files out: the formats of ``policyc run``.

``iter_claims`` / ``read_claims`` read a CSV or JSON Lines file of claim lines and give one item
per data row, in file order: a ``ClaimLine``, or a ``RowError`` saying which row is malformed and
why. ``error_decision`` turns a ``RowError`` into the ``error`` decision printed for that row;
``write_jsonl`` and ``write_csv`` print decisions.

This is the engine's hot path, so the common case is kept cheap: field values are parsed once
per distinct raw text and cached (dates, codes, line numbers, units, modifiers and diagnoses
repeat), unquoted CSV lines are split with ``str.split`` (``csv.reader`` takes over from the
first line holding a quote), and a ``ClaimLine`` is built by filling its slots directly: the
values are already what its converters would make. Allowed decisions without findings are
printed through a byte template.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, AnyStr, BinaryIO, TextIO, TypeVar

import attrs
import orjson

from policydsl.claims import ClaimLine, Decision, Finding

#: Input columns / JSON keys, in ``ClaimLine`` field order.
FIELDS = (
    "claim_id", "line", "member_id", "date", "code", "provider_id", "modifiers", "units", "dx",
    "pos", "auth",
)
REQUIRED = ("claim_id", "line", "member_id", "date", "code")

_CODE = re.compile(r"[0-9]{5}|[0-9]{4}[FTUAM]|[A-Z][0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]+")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_CACHE_LIMIT = 1 << 16  # a cache that grows past this is emptied

if tuple(a.name for a in attrs.fields(ClaimLine)) != FIELDS:  # pragma: no cover
    raise RuntimeError("claims_io.FIELDS is out of step with ClaimLine's fields")
# ClaimLine is frozen and its converters would redo work done here: its slots are set directly.
_new = object.__new__
_s_cid, _s_line, _s_mid, _s_date, _s_code, _s_prov, _s_mods, _s_units, _s_dx, _s_pos, _s_auth = (
    vars(ClaimLine)[name].__set__ for name in FIELDS
)


class ClaimsFileError(Exception):
    """The file as a whole cannot be read: not there, not UTF-8, or no usable header."""


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


ClaimItem = ClaimLine | RowError


def _positive_int(text: str) -> int | None:
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    try:
        value = int(text)
    except ValueError:  # more digits than int() takes
        return None
    return value if value > 0 else None


def _date(text: str) -> dt.date | None:
    text = text.strip()
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


_T = TypeVar("_T")


def _remember(cache: dict[str, _T], key: str, value: _T) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


_Parse = Callable[[int, tuple[str, ...], str], ClaimItem]


def _parser() -> _Parse:
    """``parse(row, raw, problem)``: a row's texts, in ``FIELDS`` order, to an item.

    ``problem`` is one found already ('' if none). Parsed values are cached by their raw text,
    so the usual row costs a few dict lookups.
    """
    lines: dict[str, int] = {}
    dates: dict[str, dt.date] = {}
    codes: dict[str, str] = {}
    units_: dict[str, int] = {"": 1}
    mods_: dict[str, tuple[str, ...]] = {"": ()}
    dxs: dict[str, tuple[str, ...]] = {"": ()}
    lget, dget, cget, uget, mget, xget = (
        lines.get, dates.get, codes.get, units_.get, mods_.get, dxs.get
    )

    def parse(row: int, raw: tuple[str, ...], problem: str) -> ClaimItem:
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
            values = _check(row, raw, problem)
            if isinstance(values, RowError):
                return values
            line_no, day, proc, count, modifiers, diagnoses = values
            _remember(lines, line, line_no)
            _remember(dates, date, day)
            _remember(codes, code, proc)
            _remember(units_, units, count)
            _remember(mods_, mods, modifiers)
            _remember(dxs, dx, diagnoses)
        obj = _new(ClaimLine)
        _s_cid(obj, cid)
        _s_line(obj, line_no)
        _s_mid(obj, mid)
        _s_date(obj, day)
        _s_code(obj, proc)
        _s_prov(obj, prov.strip())
        _s_mods(obj, modifiers)
        _s_units(obj, count)
        _s_dx(obj, diagnoses)
        _s_pos(obj, pos.strip())
        _s_auth(obj, auth.strip())
        return obj

    return parse


_Values = tuple[int, dt.date, str, int, tuple[str, ...], tuple[str, ...]]


def _check(row: int, raw: tuple[str, ...], problem: str) -> RowError | _Values:
    """Check every field of a row; its parsed line, date, code, units, modifiers and dx."""
    cid, line, mid, date, code = (t.strip() for t in raw[:5])
    mods, units, dx = raw[6], raw[7].strip(), raw[8]
    problems = [problem] if problem else []
    line_no = _positive_int(line)
    day = _date(date)
    proc = code.upper() if code.isascii() and _CODE.fullmatch(code.upper()) else None
    for name, text, valid, what in (
        ("claim_id", cid, True, ""),
        ("line", line, line_no is not None, "a positive integer"),
        ("member_id", mid, True, ""),
        ("date", date, day is not None, "a valid YYYY-MM-DD date"),
        ("code", code, proc is not None, "a valid procedure code"),
    ):
        if not text:
            problems.append(f"{name} is missing")
        elif not valid:
            problems.append(f"{name} {text!r} is not {what}")
    count = _positive_int(units) if units else 1
    if count is None:
        problems.append(f"units {units!r} is not a positive integer")
    for m in mods.split():
        if not (m.isascii() and _MODIFIER.fullmatch(m.upper())):
            problems.append(f"modifier {m!r} is not exactly 2 letters or digits")
    if problems:
        return RowError(row, f"row {row}: " + "; ".join(problems), cid, line, mid, date, code)
    assert line_no is not None and day is not None and proc is not None and count is not None
    return (
        line_no, day, proc, count, tuple(mods.upper().split()),
        tuple(dx.upper().replace(".", "").split()),
    )


def _csv_items(handle: TextIO, name: str) -> Iterator[ClaimItem]:
    """Read the header now; the returned iterator reads the data rows."""
    header_reader = csv.reader(handle)
    header: list[str] = []
    while not "".join(header).strip():  # skip blank lines before the header
        try:
            header = next(header_reader)
        except StopIteration:
            raise ClaimsFileError(f"{name}: empty file, no header") from None
    columns = [h.strip().lower() for h in header]
    dupes = sorted({c for c in columns if c and columns.count(c) > 1})
    if dupes:
        raise ClaimsFileError(f"{name}: header repeats column(s) {', '.join(dupes)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ClaimsFileError(
            f"{name}: header lacks column(s) {', '.join(missing)} (found: {', '.join(columns)})"
        )
    return _csv_rows(handle, name, header_reader.line_num, columns)


def _csv_rows(
    handle: TextIO, name: str, lineno: int, columns: list[str]
) -> Iterator[ClaimItem]:
    """The data rows: ``str.split`` while lines hold no quote, then ``csv.reader``."""
    width = len(columns)
    # A missing optional column reads the '' appended to the row at index ``width``.
    index = [columns.index(c) if c in columns else width for c in FIELDS]
    get = operator.itemgetter(*index)
    pad = width in index
    parse = _parser()

    def item(row: int, fields: list[str]) -> ClaimItem | None:
        """A row of any shape: None for a blank line."""
        if len(fields) <= 1 and not "".join(fields).strip():
            return None
        if len(fields) > width:
            problem = f"has {len(fields)} fields, the header has {width}"
            return parse(row, get([*fields[:width], ""]), problem)
        return parse(row, get(fields + [""] * (width + 1 - len(fields))), "")

    with handle:
        try:
            for raw in handle:
                lineno += 1
                if '"' in raw:
                    break
                fields = raw.split(",")
                if len(fields) == width and not pad:
                    yield parse(lineno, get(fields), "")
                else:
                    found = item(lineno, fields)
                    if found is not None:
                        yield found
            else:
                return
            base = lineno - 1
            reader = csv.reader(itertools.chain((raw,), handle))
            for fields in reader:
                lineno = base + reader.line_num
                found = item(lineno, fields)
                if found is not None:
                    yield found
        except UnicodeDecodeError as exc:
            raise ClaimsFileError(f"{name}: not UTF-8 text ({exc.reason})") from exc
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit()
            raise ClaimsFileError(f"{name}: after line {lineno}: {exc}") from exc


def _json_texts(obj: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """A JSON object's fields as the texts CSV cells would hold, and what has no such text."""
    values = list(map(obj.get, FIELDS, _BLANKS))
    for i in 1, 7:  # line, units: numbers or numeric strings
        if type(values[i]) is int:
            values[i] = str(values[i])
    for i in 6, 8:  # modifiers, dx: lists or space-separated strings
        if type(values[i]) is list and _ONLY_STR.issuperset(map(type, values[i])):
            values[i] = " ".join(values[i])
    if _ONLY_STR.issuperset(map(type, values)):
        return tuple(values), ""
    problems = []
    for i, (key, value) in enumerate(zip(FIELDS, values, strict=True)):
        if value is None:
            values[i] = ""
        elif type(value) is int:  # an id written as a number
            values[i] = str(value)
        elif type(value) is not str:
            what = "a list of strings" if i in (6, 8) else "an integer"
            problems.append(f"{key} {orjson.dumps(value).decode()} is not a string or {what}")
            values[i] = ""
    return tuple(values), "; ".join(problems)


_BLANKS = ("",) * len(FIELDS)
_ONLY_STR = frozenset([str])


def _jsonl_rows(handle: TextIO, name: str) -> Iterator[ClaimItem]:
    parse = _parser()
    with handle:
        try:
            for row, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue  # a blank line
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    obj = None
                if not isinstance(obj, dict):
                    text = raw.strip()
                    text = text if len(text) <= 40 else text[:37] + "..."
                    yield RowError(row, f"row {row}: not a JSON object: {text!r}")
                    continue
                yield parse(row, *_json_texts(obj))
        except UnicodeDecodeError as exc:
            raise ClaimsFileError(f"{name}: not UTF-8 text ({exc.reason})") from exc


def iter_claims(path: Path, fmt: str | None = None) -> Iterator[ClaimItem]:
    """Stream the rows of a claims file: a ``ClaimLine`` or ``RowError`` per data row.

    ``fmt`` is ``"csv"`` or ``"jsonl"``; by default ``.jsonl`` and ``.ndjson`` files are JSON
    Lines and anything else CSV. CSV columns are found by header name (any order, any case);
    JSON keys are exactly the column names. Blank lines are not rows.

    Opening the file and reading a CSV header happen now, so a ``ClaimsFileError`` for those
    comes from this call; one for bad UTF-8 further on comes while iterating.
    """
    path = Path(path)
    if fmt is None:
        fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    if fmt not in ("csv", "jsonl", "ndjson"):
        raise ValueError(f"unknown claims format {fmt!r} (csv or jsonl)")
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the reader
    except OSError as exc:
        raise ClaimsFileError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    if fmt != "csv":
        return _jsonl_rows(handle, path.name)
    try:
        return _csv_items(handle, path.name)
    except UnicodeDecodeError as exc:
        handle.close()
        raise ClaimsFileError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        handle.close()
        raise ClaimsFileError(f"{path.name}: header: {exc}") from exc
    except BaseException:
        handle.close()
        raise


def read_claims(path: Path, fmt: str | None = None) -> list[ClaimItem]:
    """All rows of a claims file; see ``iter_claims``.

    The cyclic garbage collector is paused meanwhile: a million new objects would set it off
    again and again (it costs more than the reading), and they hold no cycles.
    """
    items = iter_claims(path, fmt)
    paused = gc.isenabled()
    gc.disable()
    try:
        return list(items)
    finally:
        if paused:
            gc.enable()


def error_decision(err: RowError, source_name: str) -> Decision:
    """The ``error`` decision printed for a malformed row (CARC 16)."""
    finding = Finding(
        rule="input", action="error", carc="16", message=err.reason,
        source=f"{source_name}:{err.row}",
    )
    line = _positive_int(err.line)
    return Decision(
        claim_id=err.claim_id, line=err.line if line is None else line,
        member_id=err.member_id, date=err.date, code=err.code, decision="error",
        findings=(finding,),
    )


def decision_dict(decision: Decision) -> dict[str, Any]:
    """A decision as its JSON object, keys in output order."""
    return {
        "claim_id": decision.claim_id,
        "line": decision.line,
        "member_id": decision.member_id,
        "date": decision.date,
        "code": decision.code,
        "decision": decision.decision,
        "findings": [
            {
                "rule": f.rule,
                "action": f.action,
                "carc": str(f.carc),
                "message": f.message,
                "source": f.source,
                "related": [{"claim_id": r.claim_id, "line": r.line} for r in f.related],
            }
            for f in decision.findings
        ],
    }


_ALLOW = (
    b'{"claim_id":%b,"line":%b,"member_id":%b,"date":%b,"code":%b,'
    b'"decision":"allow","findings":[]}\n'
)
_BATCH = 4096


def jsonl_records(decisions: Iterable[Decision]) -> Iterator[bytes]:
    """One compact JSON object and newline per decision; the same decisions give the same
    bytes."""
    dumps = orjson.dumps
    newline = orjson.OPT_APPEND_NEWLINE
    cache: dict[object, bytes] = {}  # JSON of line numbers, dates and codes
    get = cache.get
    for d in decisions:
        if d.findings or d.decision != "allow":
            yield dumps(decision_dict(d), option=newline)
        else:
            line, date, code = d.line, d.date, d.code
            jline, jdate, jcode = get(line), get(date), get(code)
            if jline is None or jdate is None or jcode is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                jline = cache[line] = dumps(line)
                jdate = cache[date] = dumps(date)
                jcode = cache[code] = dumps(code)
            yield _ALLOW % (dumps(d.claim_id), jline, dumps(d.member_id), jdate, jcode)


def write_jsonl(decisions: Iterable[Decision], out: BinaryIO) -> None:
    """``jsonl_records``, written in large chunks."""
    _write_chunks(jsonl_records(decisions), out, b"")


def _write_chunks(records: Iterator[AnyStr], out: IO[AnyStr], empty: AnyStr) -> None:
    chunk: list[AnyStr] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= _BATCH:
            out.write(empty.join(chunk))
            chunk.clear()
    out.write(empty.join(chunk))


CSV_HEADER = "claim_id,line,member_id,date,code,decision,carcs,rules,messages\n"
_CSV_SPECIAL = re.compile(r'[",\r\n]')


def _csv_field(value: object) -> str:
    """A CSV field, quoted if it holds a quote, comma or line break (RFC 4180)."""
    text = str(value)
    if _CSV_SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_records(decisions: Iterable[Decision]) -> Iterator[str]:
    """A CSV row per decision, findings flattened, ``\n`` line end; no header."""
    for d in decisions:
        cid, line, mid, date, code, findings = (
            d.claim_id, d.line, d.member_id, d.date, d.code, d.findings
        )
        echo = cid + mid + date + code
        if findings or d.decision != "allow" or type(line) is not int or (
            '"' in echo or "," in echo or "\n" in echo or "\r" in echo
        ):
            fields = (
                cid, line, mid, date, code, d.decision,
                " ".join(str(f.carc) for f in findings),
                " ".join(f.rule for f in findings),
                " | ".join(f.message for f in findings),
            )
            yield ",".join(map(_csv_field, fields)) + "\n"
        else:
            yield f"{cid},{line},{mid},{date},{code},allow,,,\n"


def write_csv(decisions: Iterable[Decision], out: TextIO) -> None:
    """The header, then ``csv_records`` (open ``out`` with newline='')."""
    out.write(CSV_HEADER)
    _write_chunks(csv_records(decisions), out, "")
