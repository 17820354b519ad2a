"""Decisions out: the JSON Lines and CSV records ``policyc run`` prints, one per decision.

``jsonl_records`` and ``csv_records`` render decisions one record each (bytes and text);
``write_jsonl`` and ``write_csv`` print them. The same decisions always give the same bytes.
Where a batch's line is allowed without findings, the engine's batch entry
(``Program.judge``) gives the ``ClaimLine`` itself instead of a ``Decision``: it renders as
that line's ``allow`` decision.

JSON Lines are exactly what ``orjson.dumps(decision_dict(decision))`` makes, plus a newline, but
put together from pieces: every string is still encoded by ``orjson.dumps``, and the pieces that
repeat are encoded once (line numbers, dates, codes, related lines, and a finding's rule,
action, CARC, message and source; a finding the engine reports on several lines is one object,
rendered once); only the pieces around them are templates. CSV rows reuse the columns of the
findings the engine shares between lines in the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, Any, AnyStr, BinaryIO, TextIO

import orjson

from policydsl.claims import ClaimLine, Decision, Finding

#: A cache of rendered pieces that grows past this is emptied.
_CACHE_LIMIT = 1 << 16


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
_DECIDED = (
    b'{"claim_id":%b,"line":%b,"member_id":%b,"date":%b,"code":%b,'
    b'"decision":%b,"findings":[%b]}\n'
)
_FINDING = b'{"rule":%b,"action":%b,"carc":%b,"message":%b,"source":%b,"related":['
_RELATED = b'{"claim_id":%b,"line":%b}'
_BATCH = 4096


def jsonl_records(decisions: Iterable[Decision | ClaimLine]) -> Iterator[bytes]:
    """One compact JSON object and newline per decision: ``decision_dict`` as JSON (a line's
    ``allow`` decision for a ``ClaimLine``)."""
    dumps = orjson.dumps
    # JSON of line numbers, dates (ISO text, or the date of a ClaimLine) and codes
    cache: dict[object, bytes] = {}
    get = cache.get
    heads: dict[tuple[str, str, str, str, str], bytes] = {}  # findings up to their related
    refs: dict[tuple[str, int | str], bytes] = {}  # related lines
    # The engine gives one Finding object to every line it names: each is rendered once. The
    # entry keeps its finding alive, so no other object can take its id meanwhile.
    rendered: dict[int, tuple[Finding, bytes]] = {}

    def finding(f: Finding) -> bytes:
        done = rendered.get(id(f))
        if done is not None and done[0] is f:
            return done[1]
        key = (f.rule, f.action, f.carc, f.message, f.source)
        head = heads.get(key)
        if head is None:
            head = heads[key] = _FINDING % (
                dumps(f.rule), dumps(f.action), dumps(str(f.carc)), dumps(f.message),
                dumps(f.source))
        related = []
        for r in f.related:
            ref = (r.claim_id, r.line)
            json = refs.get(ref)
            if json is None:
                json = refs[ref] = _RELATED % (dumps(r.claim_id), dumps(r.line))
            related.append(json)
        json = head + b",".join(related) + b"]}"
        if len(rendered) >= _CACHE_LIMIT:
            rendered.clear()
            refs.clear()
            heads.clear()
        rendered[id(f)] = (f, json)
        return json

    for d in decisions:
        line, date, code = d.line, d.date, d.code
        jline, jdate, jcode = get(line), get(date), get(code)
        if jline is None or jdate is None or jcode is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            jline = cache[line] = dumps(line)
            jdate = cache[date] = dumps(date)  # a date as ISO text, as orjson does
            jcode = cache[code] = dumps(code)
        if not isinstance(d, Decision):
            yield _ALLOW % (dumps(d.claim_id), jline, dumps(d.member_id), jdate, jcode)
            continue
        findings = d.findings
        if findings:
            yield _DECIDED % (dumps(d.claim_id), jline, dumps(d.member_id), jdate, jcode,
                              dumps(d.decision), b",".join([finding(f) for f in findings]))
        elif d.decision == "allow":
            yield _ALLOW % (dumps(d.claim_id), jline, dumps(d.member_id), jdate, jcode)
        else:
            yield _DECIDED % (dumps(d.claim_id), jline, dumps(d.member_id), jdate, jcode,
                              dumps(d.decision), b"")


def write_jsonl(decisions: Iterable[Decision | ClaimLine], out: BinaryIO) -> None:
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


def csv_records(decisions: Iterable[Decision | ClaimLine]) -> Iterator[str]:
    """A CSV row per decision (a line's ``allow`` decision for a ``ClaimLine``), findings
    flattened, ``\n`` line end; no header."""
    # the decision and findings columns of the findings the engine shares between lines, by
    # the findings' ids (each entry keeps its findings alive, so no other object takes an id)
    tails: dict[tuple[object, ...], tuple[tuple[Finding, ...], str]] = {}
    isos: dict[object, str] = {}  # the dates of ClaimLines, as ISO text
    for d in decisions:
        cid, line, mid, code = d.claim_id, d.line, d.member_id, d.code
        findings: tuple[Finding, ...]
        if isinstance(d, Decision):
            date, decision, findings = d.date, d.decision, d.findings
        else:
            day = d.date
            date = isos.get(day) or isos.setdefault(day, day.isoformat())
            decision, findings = "allow", ()
        echo = cid + mid + date + code
        if type(line) is not int or (
            '"' in echo or "," in echo or "\n" in echo or "\r" in echo
        ):
            yield ",".join(map(_csv_field, (cid, line, mid, date, code,
                                            *_csv_tail(decision, findings)))) + "\n"
        elif not findings and decision == "allow":
            yield f"{cid},{line},{mid},{date},{code},allow,,,\n"
        else:
            key = (decision, *map(id, findings))
            known = tails.get(key)
            if known is None:
                if len(tails) >= _CACHE_LIMIT:
                    tails.clear()
                known = tails[key] = (findings, ",".join(map(_csv_field,
                                                             _csv_tail(decision, findings))))
            yield f"{cid},{line},{mid},{date},{code},{known[1]}\n"


def _csv_tail(decision: str, findings: tuple[Finding, ...]) -> tuple[str, str, str, str]:
    """The decision, CARCs, rules and messages columns."""
    return (decision, " ".join(str(f.carc) for f in findings),
            " ".join(f.rule for f in findings), " | ".join(f.message for f in findings))


def write_csv(decisions: Iterable[Decision | ClaimLine], out: TextIO) -> None:
    """The header, then ``csv_records`` (open ``out`` with newline='')."""
    out.write(CSV_HEADER)
    _write_chunks(csv_records(decisions), out, "")
