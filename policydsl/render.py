"""Decisions out: the JSON Lines and CSV records ``policyc run`` prints, one per decision.

``jsonl_records`` and ``csv_records`` render decisions one record each (bytes and text);
``write_jsonl`` and ``write_csv`` print them. The same decisions always give the same bytes.
Where a batch's line is allowed without findings, the engine's batch entry
(``Program.judge``) gives the ``ClaimLine`` itself instead of a ``Decision``: it renders as
that line's ``allow`` decision.

JSON Lines are exactly what ``orjson.dumps(decision_dict(decision))`` makes, plus a newline, but
put together from pieces by f-strings: the pieces that repeat are encoded by ``orjson.dumps``
once (line numbers, dates, codes, related lines, and a finding's rule, action, CARC, message
and source; a finding the engine reports on several lines is one object, rendered once), and
claim and member ids that are plain printable ASCII are put between quotes as they are, which
is what ``orjson.dumps`` makes of them (any other id is encoded by it). CSV rows reuse the
columns of the findings the engine shares between lines in the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from operator import attrgetter
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


#: Text that JSON writes as itself between quotes, as orjson does: printable ASCII but the quote
#: and the backslash. Claim and member ids are such text nearly always.
_PLAIN = re.compile(r'[ !#-\[\]-~]*')
_CHUNK = 4096  # decisions rendered at a time
_BATCH = 4096  # records written at a time


class _Pieces(dict[object, str]):
    """The JSON text of values that repeat (line numbers, dates, codes, decisions), each
    encoded once by ``orjson.dumps``."""

    def __missing__(self, value: object) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        json = self[value] = orjson.dumps(value).decode()
        return json


def jsonl_records(decisions: Iterable[Decision | ClaimLine]) -> Iterator[bytes]:
    """One compact JSON object and newline per decision: ``decision_dict`` as JSON (a line's
    ``allow`` decision for a ``ClaimLine``).

    Records are made a chunk of decisions at a time, each by one f-string. In a chunk whose
    claim and member ids are all plain text (``_PLAIN``), those are put between quotes as they
    are; in any other chunk, each is encoded by ``orjson.dumps``."""
    pieces = _Pieces()
    finding = _finding_renderer()
    dumps = orjson.dumps

    def chunk_records(chunk: list[Decision | ClaimLine]) -> list[bytes]:
        try:
            plain = _PLAIN.fullmatch("".join(map(_claim_id, chunk))
                                     + "".join(map(_member_id, chunk))) is not None
        except TypeError:  # an id that is not text (the API does not check them)
            plain = False
        if plain:
            return [
                f'{{"claim_id":"{d.claim_id}","line":{pieces[d.line]},'
                f'"member_id":"{d.member_id}","date":{pieces[d.date]},"code":{pieces[d.code]},'
                f'"decision":{pieces[d.decision]},'
                f'"findings":[{",".join(map(finding, d.findings))}]}}\n'.encode()
                if isinstance(d, Decision) else
                f'{{"claim_id":"{d.claim_id}","line":{pieces[d.line]},'
                f'"member_id":"{d.member_id}","date":{pieces[d.date]},"code":{pieces[d.code]},'
                f'"decision":"allow","findings":[]}}\n'.encode()
                for d in chunk]
        return [
            f'{{"claim_id":{dumps(d.claim_id).decode()},"line":{pieces[d.line]},'
            f'"member_id":{dumps(d.member_id).decode()},"date":{pieces[d.date]},'
            f'"code":{pieces[d.code]},"decision":{pieces[_decision(d)]},'
            f'"findings":[{",".join(map(finding, _findings(d)))}]}}\n'.encode()
            for d in chunk]

    rest = iter(decisions)
    chunks = iter(lambda: list(islice(rest, _CHUNK)), [])
    return chain.from_iterable(map(chunk_records, chunks))


_claim_id = attrgetter("claim_id")
_member_id = attrgetter("member_id")


def _decision(d: Decision | ClaimLine) -> str:
    return d.decision if isinstance(d, Decision) else "allow"


def _findings(d: Decision | ClaimLine) -> tuple[Finding, ...]:
    return d.findings if isinstance(d, Decision) else ()


def _finding_renderer() -> Callable[[Finding], str]:
    """``finding(f)``: the JSON text of a finding. The engine gives one Finding object to
    every line it names: each is rendered once (the entry keeps its finding alive, so no other
    object can take its id meanwhile), and so is each related line."""
    dumps = orjson.dumps
    heads: dict[tuple[str, str, str, str, str], str] = {}  # findings up to their related
    refs: dict[tuple[str, int | str], str] = {}  # related lines
    rendered: dict[int, tuple[Finding, str]] = {}

    def finding(f: Finding) -> str:
        done = rendered.get(id(f))
        if done is not None and done[0] is f:
            return done[1]
        key = (f.rule, f.action, f.carc, f.message, f.source)
        head = heads.get(key)
        if head is None:
            head = heads[key] = (
                f'{{"rule":{dumps(f.rule).decode()},"action":{dumps(f.action).decode()},'
                f'"carc":{dumps(str(f.carc)).decode()},"message":{dumps(f.message).decode()},'
                f'"source":{dumps(f.source).decode()},"related":[')
        related = []
        for r in f.related:
            ref = (r.claim_id, r.line)
            json = refs.get(ref)
            if json is None:
                json = refs[ref] = (f'{{"claim_id":{dumps(r.claim_id).decode()},'
                                    f'"line":{dumps(r.line).decode()}}}')
            related.append(json)
        json = head + ",".join(related) + "]}"
        if len(rendered) >= _CACHE_LIMIT:
            rendered.clear()
            refs.clear()
            heads.clear()
        rendered[id(f)] = (f, json)
        return json

    return finding


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


CSV_HEADER = "claim_id,line,member_id,date,code,decision,carcs,rules,actions,messages\n"
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
            yield f"{cid},{line},{mid},{date},{code},allow,,,,\n"
        else:
            key = (decision, *map(id, findings))
            known = tails.get(key)
            if known is None:
                if len(tails) >= _CACHE_LIMIT:
                    tails.clear()
                known = tails[key] = (findings, ",".join(map(_csv_field,
                                                             _csv_tail(decision, findings))))
            yield f"{cid},{line},{mid},{date},{code},{known[1]}\n"


def _csv_tail(decision: str, findings: tuple[Finding, ...]
              ) -> tuple[str, str, str, str, str]:
    """The decision, CARCs, rules, actions and messages columns. Messages are joined by
    `` | ``, each with a backslash before its backslashes and bars, so that splitting at the
    bars without one gives them back, one a finding."""
    return (decision, " ".join(str(f.carc) for f in findings),
            " ".join(f.rule for f in findings), " ".join(f.action for f in findings),
            " | ".join(f.message.replace("\\", "\\\\").replace("|", "\\|")
                       for f in findings))


def write_csv(decisions: Iterable[Decision | ClaimLine], out: TextIO) -> None:
    """The header, then ``csv_records`` (open ``out`` with newline='')."""
    out.write(CSV_HEADER)
    _write_chunks(csv_records(decisions), out, "")
