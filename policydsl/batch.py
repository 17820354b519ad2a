"""The batch behind ``policyc run``: claims and history files in, one rendered record per claim
row out, in input order; judged in this process, or split by member between forked workers.

Members never influence each other, so a batch splits cleanly by member. This process reads the
files whole and forks the workers (``parallel.fork_map``); it is member 0 of the team, except
when the team writes the output file and this process ends right after (``OutputFile.ending``):
then every member is a worker, and none is waited for once the file is written. Every
member then splits the text into lines, finds the member of each row of its stripe of the lines
without parsing the row (``claims_text``), and maps it to the member of the team that owns it
(by a hash of the member id); the team pools these owners (``Team.gather``), so each member
knows the owner of every row. Each parses only its own rows, judges them against its members'
history and renders the decisions. When the output is a file, the team writes it together
(``scatter``); else the workers send the rendered records back (records travel through a pipe
far faster than objects) and member 0 puts them in input order by the owners. Malformed rows
are rendered by the member that owns them: their member's, or member 0 when there is no member
id to go by.
"""

from __future__ import annotations

import gc
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress
from typing import Generic, TypeVar, cast

import attrs

from .api import Policy
from .claims import ClaimLine, Columns, Decision
from .claims_io import ClaimItem, RowError, csv_items, error_decision, items_of, json_items
from .claims_text import ClaimsText, Rows, frame
from .parallel import MIN_PARALLEL_LINES, Team, available_cpus, can_fork, fork_map
from .scatter import owned_by, write_together

Record = TypeVar("Record", bytes, str)
Render = Callable[[Iterable[Decision | ClaimLine]], Iterator[Record]]

#: At most this many workers: which worker owns a row is kept in a byte.
MAX_JOBS = 250
_NO_ROW = 255  # a line where no row starts (blank, or inside a quoted field)
_UNSURE = 254  # a line whose member the quick look did not find (then: _NO_ROW or worker 0)


@attrs.frozen
class Batch(Generic[Record]):
    """Everything a run's workers need: the policy, the files, how to judge and render."""

    policy: Policy
    claims: ClaimsText
    history: ClaimsText | None
    render: Render[Record]
    source: str  # how error decisions name the claims file ("claims.csv" in "claims.csv:7")
    reference: bool = False  # judge with the reference interpreter
    # Where to leave the batch's big intermediate objects (lines, rows, decisions, records)
    # rather than free them on the way out: a process about to end need not free them one by
    # one. None: free them.
    keep: list[object] | None = None

    def judge(self, lines: list[ClaimLine], paid: list[ClaimLine], batch: Columns | None
              ) -> Sequence[Decision | ClaimLine]:
        """Each line's decision, or the line itself where it is allowed without findings
        (``batch``: the lines' columns, if the reader collected them)."""
        if self.reference:
            return self.policy.interpret(lines, paid)
        return self.policy.program.judge(lines, paid, batch)


@attrs.frozen
class OutputFile:
    """A regular file (or a path where none is yet) for the records, after ``header``: a team
    writes it together."""

    path: str
    header: bytes
    # This process ends once the file is written: the whole team is forked workers, and
    # nobody waits for them to free their memory (``parallel.fork_map(..., detached=True)``).
    ending: bool = False


@attrs.frozen
class Outcome(Generic[Record]):
    """A batch's records in input order (none when the team wrote them to the output file),
    and what went wrong in its files."""

    records: list[Record]
    written: bool  # the records are in the output file
    history_errors: list[RowError]  # malformed history rows, in file order
    malformed: bool  # some claim rows were malformed (their records are error decisions)


@attrs.frozen
class _Share(Generic[Record]):
    """What one member of the team found."""

    records: list[Record]  # its rows' records, in input order
    history_errors: list[RowError]
    malformed: bool
    order: bytes | None  # member 0: the owner of every claim row, in input order


def default_jobs() -> int:
    """``--jobs`` when not given: every processor this process may use."""
    return available_cpus()


def adjudicate_files(batch: Batch[Record], jobs: int, out: OutputFile | None = None
                     ) -> Outcome[Record]:
    """Judge and render every claim row, by ``jobs`` processes (one when that would not pay:
    a small file, or a system that cannot fork). A team writes the records to ``out`` itself;
    one process leaves that to the caller."""
    jobs = min(jobs, MAX_JOBS)
    if jobs <= 1 or not batch.claims.has_lines(MIN_PARALLEL_LINES) or not can_fork():
        share = _judge_share(batch, None, None)
        return Outcome(share.records, False, share.history_errors, share.malformed)
    shares = fork_map(lambda team: _judge_share(batch, team, out), jobs,
                      detached=out is not None and out.ending)
    history_errors = sorted((e for share in shares for e in share.history_errors),
                            key=lambda e: e.row)
    malformed = any(share.malformed for share in shares)
    if out is not None:
        return Outcome([], True, history_errors, malformed)
    order = shares[0].order
    assert order is not None
    records = [iter(share.records) for share in shares]
    merged = list(map(next, map(records.__getitem__, order)))
    if len(merged) != sum(len(share.records) for share in shares):  # pragma: no cover
        raise RuntimeError("the members of the team did not render one record per row")
    return Outcome(merged, False, history_errors, malformed)


def _judge_share(batch: Batch[Record], team: Team | None, out: OutputFile | None
                 ) -> _Share[Record]:
    """The rows of a member of the team (all of them without a team), judged and rendered;
    written to ``out`` with the team's when there is one."""
    paused = gc.isenabled()
    gc.disable()  # a batch makes millions of objects and no cycles
    try:
        keep = batch.keep if batch.keep is not None else []
        read = Columns([], [], [], [], [])
        items, order = _own_items(batch.claims, team, keep, read)
        paid: list[ClaimLine] = []
        history_errors: list[RowError] = []
        if batch.history is not None:
            for item in _own_items(batch.history, team, keep, None)[0]:
                if isinstance(item, ClaimLine):
                    paid.append(item)
                else:
                    history_errors.append(item)
        lines = [item for item in items if isinstance(item, ClaimLine)]
        # the columns the reader collected, when it read every line (a CSV file it could frame)
        decisions = batch.judge(lines, paid, read if len(read.codes) == len(lines) else None)
        keep += (items, paid, lines, decisions)
        records = list(batch.render(decisions))
        malformed = len(lines) < len(items)
        if malformed:
            judged = iter(records)
            render, source = batch.render, batch.source
            records = [next(render([error_decision(item, source)]))
                       if isinstance(item, RowError) else next(judged) for item in items]
        if team is not None and out is not None:
            encoded = _encoded(records)
            write_together(team, out.path, out.header, encoded, order)
            keep += (records, encoded)
            records = []
        return _Share(records, history_errors, malformed, order if team is not None and
                      team.index == 0 and out is None else None)
    finally:
        if paused:
            gc.enable()


def _own_items(source: ClaimsText, team: Team | None, keep: list[object],
               into: Columns | None) -> tuple[list[ClaimItem], bytes]:
    """The rows of ``source`` the team member owns, parsed, in file order; and the owner of
    every row, in file order. The framed rows are left in ``keep``; with ``into``, a CSV
    file's reader appends the columns of the lines it read to it."""
    if team is None:
        items = items_of(source, into)
        return items, bytes(len(items))
    owners = _Owners(team.size)
    if not source.framable:  # read by the streaming reader: every member reads every row
        items = items_of(source)
        owner = bytes(owners[item.member_id] if isinstance(item, ClaimLine) else 0
                      for item in items)
        mine = [item for item, by in zip(items, owner, strict=True) if by == team.index]
        return mine, owner
    rows = frame(source)
    keep.append(rows)
    count = len(rows.lines)
    start, stop = count * team.index // team.size, count * (team.index + 1) // team.size
    owner = b"".join(team.gather(_owner_of_lines(rows, source.columns, owners, start, stop)))
    lines = compress(range(count), owner.translate(owned_by(team.index)))
    if source.fmt == "csv":
        mine = csv_items(rows, source.columns, lines, into)
    else:
        mine = json_items(rows, lines)
    return mine, owner.translate(None, bytes([_NO_ROW]))


class _Owners(dict[str | None, int]):
    """The worker of each raw member id: a hash of the id as parsed (stripped); ``_UNSURE``
    when there is none."""

    def __init__(self, jobs: int) -> None:
        super().__init__()
        self.jobs = jobs

    def __missing__(self, key: str | None) -> int:
        member = key.strip() if key is not None else ""
        owner = zlib.crc32(member.encode("utf-8", "surrogatepass")) % self.jobs if member \
            else _UNSURE
        self[key] = owner
        return owner


def _owner_of_lines(rows: Rows, columns: tuple[str, ...], owners: _Owners, start: int,
                    stop: int) -> bytes:
    """The team member owning the row that starts on each line from ``start`` to ``stop``;
    ``_NO_ROW`` where none starts.

    A line whose member id is unknown or empty is no row (blank, or inside a quoted field), or
    a malformed row: member 0 renders those."""
    owner = bytearray(map(owners.__getitem__, rows.member_keys(columns, start, stop)))
    unsure = owner.find(_UNSURE)
    while unsure >= 0:
        owner[unsure] = 0 if rows.is_row(start + unsure) else _NO_ROW
        unsure = owner.find(_UNSURE, unsure + 1)
    return bytes(owner)


def _encoded(records: list[bytes] | list[str]) -> list[bytes]:
    """Records as the bytes of the output file (text in UTF-8)."""
    if records and isinstance(records[0], str):
        return [record.encode("utf-8") for record in records]
    return cast(list[bytes], records)
