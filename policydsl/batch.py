"""The batch behind ``policyc run``: claims and history files in, one rendered record per claim
row out, in input order; judged in this process, or split by member between forked workers.

Members never influence each other, so a batch splits cleanly by member. This process reads the
files whole and forks the workers (``parallel.fork_map``); it is worker 0 of the team, except
when the team writes the output file and this process ends right after (``OutputFile.ending``):
then every worker is a forked process, and none is waited for once the file is written.

Every worker of the team splits the text into lines, finds the member id of each row of its
stripe of the lines without parsing the row (``claims_text``), and puts the row in one of
``BUCKETS`` buckets by a hash of the member id; the team pools these (``Team.gather``), so each
worker knows the bucket of every row. The workers then take parts of the buckets from a queue,
large parts first and single buckets last (``schedule``), and parse, judge and render the rows
of each part they take (against the history rows of the same buckets): a worker that runs
faster, as one processor of a busy machine often does, takes more parts, and the workers end
together. They pool which buckets each took, so each knows the worker that holds the record of
every row. When the output is a file, the team writes it together (``scatter``); else the
workers send the rendered records back (records travel through a pipe far faster than objects)
and worker 0 puts them in input order. Malformed rows are rendered with the rows of their
member's bucket, or of bucket 0 when there is no member id to go by.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate, compress, islice, repeat
from operator import add
from typing import Generic, TypeVar, cast

import attrs

from .api import Policy
from .claims import ClaimLine, Columns, Decision
from .claims_io import (
    ClaimItem,
    FieldCaches,
    RowError,
    csv_items,
    error_decision,
    items_of,
    json_items,
)
from .claims_text import ClaimsText, Rows, frame
from .collector import collector_paused
from .parallel import MIN_PARALLEL_LINES, Team, available_cpus, can_fork, fork_map
from .scatter import write_together

Record = TypeVar("Record", bytes, str)
Render = Callable[[Iterable[Decision | ClaimLine]], Iterator[Record]]

#: At most this many workers: which worker owns a row is kept in a byte.
MAX_JOBS = 250
#: A team splits the rows into this many buckets, by a hash of the member id, and takes them
#: a few at a time (``schedule``): a worker that runs faster takes more of them.
BUCKETS = 64
_NO_ROW = 255  # a line where no row starts (blank, or inside a quoted field)
_UNSURE = 254  # a line whose member the quick look did not find (then: _NO_ROW or bucket 0)


@attrs.frozen
class Batch(Generic[Record]):
    """Everything a run's workers need: the policy, the files, how to judge and render."""

    policy: Policy
    claims: ClaimsText
    history: ClaimsText | None
    render: Render[Record]
    source: str  # how error decisions name the claims file: its path as given ("claims.csv:7:1")
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
    """What one worker of the team found."""

    records: list[Record]  # its rows' records, in input order
    history_errors: list[RowError]
    malformed: bool
    order: bytes | None  # worker 0: the worker owning every claim row, in input order


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
    queue = parts_queue(jobs)
    try:
        shares = fork_map(lambda team: _judge_share(batch, team, out, queue), jobs,
                          detached=out is not None and out.ending)
    finally:
        os.close(queue)
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
        raise RuntimeError("the workers of the team did not render one record per row")
    return Outcome(merged, False, history_errors, malformed)


def _judge_share(batch: Batch[Record], team: Team | None, out: OutputFile | None,
                 queue: int | None = None) -> _Share[Record]:
    """The rows of a worker of the team (all of them without a team), judged and rendered;
    written to ``out`` with the team's when there is one. ``queue``: the pipe the team takes
    its parts from (see ``schedule``)."""
    with collector_paused():  # a batch makes millions of objects and no cycles
        keep = batch.keep if batch.keep is not None else []
        if team is None:
            read = Columns([], [], [], [], [])
            items = items_of(batch.claims, read)
            history = items_of(batch.history) if batch.history is not None else []
            return _judge_rows(batch, items, history, read, keep)
        assert queue is not None
        claims = _split(batch.claims, team, keep)
        paid = _split(batch.history, team, keep) if batch.history is not None else None
        caches = FieldCaches()
        done: list[tuple[range, _Share[Record]]] = []
        for part in take_parts(queue, team.size):
            read = Columns([], [], [], [], [])
            items = claims.items_in(part, caches, read)
            history = paid.items_in(part, caches, None) if paid is not None else []
            done.append((part, _judge_rows(batch, items, history, read, keep)))
        # who took which buckets: the worker of every row, and my rows' records in file order
        pooled = team.gather(bytes(bucket for part, _ in done for bucket in part))
        worker_of = bytearray(range(256))
        for index, buckets in enumerate(pooled):
            for bucket in buckets:
                worker_of[bucket] = index
        order = claims.buckets.translate(worker_of, bytes([_NO_ROW]))
        slot = bytearray([_NO_ROW]) * 256  # bucket -> which of my parts holds it
        for at, (part, _) in enumerate(done):
            slot[part.start:part.stop] = bytes([at]) * len(part)
        shares = [iter(share.records) for _, share in done]
        mine = claims.buckets.translate(slot).translate(None, bytes([_NO_ROW]))
        records = list(map(next, map(shares.__getitem__, mine)))
        history_errors = [error for _, share in done for error in share.history_errors]
        malformed = any(share.malformed for _, share in done)
        if out is not None:
            encoded = _encoded(records)
            write_together(team, out.path, out.header, encoded, order)
            keep += (records, encoded)
            return _Share([], history_errors, malformed, None)
        return _Share(records, history_errors, malformed, order if team.index == 0 else None)


def _judge_rows(batch: Batch[Record], items: list[ClaimItem], history: list[ClaimItem],
                read: Columns, keep: list[object]) -> _Share[Record]:
    """Claim rows judged against history rows, and rendered: a record per claim row, in
    order (an error decision for a malformed one); the malformed history rows."""
    paid: list[ClaimLine] = []
    history_errors: list[RowError] = []
    for item in history:
        if isinstance(item, ClaimLine):
            paid.append(item)
        else:
            history_errors.append(item)
    lines = [item for item in items if isinstance(item, ClaimLine)]
    # the columns the reader collected, when it read every line (a CSV file it could frame)
    decisions = batch.judge(lines, paid, read if len(read.codes) == len(lines) else None)
    keep += (items, history, paid, lines, decisions)
    records = list(batch.render(decisions))
    malformed = len(lines) < len(items)
    if malformed:
        judged = iter(records)
        render, source = batch.render, batch.source
        records = [next(render([error_decision(item, source)]))
                   if isinstance(item, RowError) else next(judged) for item in items]
    return _Share(records, history_errors, malformed, None)


def schedule(jobs: int, buckets: int = BUCKETS) -> list[range]:
    """The parts a team of ``jobs`` workers takes, in the order it takes them: runs of
    buckets, each a ``2 * jobs``-th of the buckets left (guided self-scheduling). The first
    parts are large, so that taking parts costs little; the last are single buckets, so that
    the workers end together even when one runs slower than another."""
    parts = []
    start = 0
    while start < buckets:
        size = -(-(buckets - start) // (2 * jobs))
        parts.append(range(start, start + size))
        start += size
    return parts


def parts_queue(jobs: int) -> int:
    """The parts of ``schedule(jobs)`` for a team to take (``take_parts``): the reading end of
    a pipe holding their numbers, a byte each (its writing end is closed). Reading a byte from
    a pipe is atomic, so no two workers take the same part; a worker that finds none left
    reads the pipe's end."""
    queue, parts = os.pipe()
    try:
        os.write(parts, bytes(range(len(schedule(jobs)))))
    finally:
        os.close(parts)
    return queue


def take_parts(queue: int, jobs: int) -> Iterator[range]:
    """The parts a worker of a team of ``jobs`` takes from ``queue``, one at a time, each
    when it asks for the next."""
    parts = schedule(jobs)
    while taken := os.read(queue, 1):
        yield parts[taken[0]]


@attrs.frozen
class _Split:
    """A claims or history file as a worker of the team sees it: its rows and the bucket of
    each, in file order."""

    source: ClaimsText
    rows: Rows | None  # the framed rows; None: the streaming reader read ``items``
    items: list[ClaimItem]  # every row, parsed, when the file could not be framed
    # the bucket of each line of ``rows`` (``_NO_ROW`` where no row starts), or of each item
    buckets: bytes

    def items_in(self, part: range, caches: FieldCaches, into: Columns | None
                 ) -> list[ClaimItem]:
        """The rows of the buckets of ``part``, parsed, in file order; with ``into``, a CSV
        file's reader appends the columns of the lines it read to it."""
        chosen = self.buckets.translate(bytes(1 if b in part else 0 for b in range(256)))
        if self.rows is None:
            return list(compress(self.items, chosen))
        lines = _ones(chosen)
        if self.source.fmt == "csv":
            return csv_items(self.rows, self.source.columns, lines, into, caches)
        return json_items(self.rows, lines)


def _ones(mask: bytes) -> Iterable[int]:
    """The indexes of the 1 bytes of ``mask`` (its other bytes are 0), in order. A few ones
    are found by splitting at them (a C search that skips the zeros); many, one by one."""
    if mask.count(1) * 8 > len(mask):
        return compress(range(len(mask)), mask)
    between = mask.split(b"\x01")  # the zeros before each one, and after the last
    between.pop()
    # the index of a one: the zeros and ones before it
    return islice(accumulate(map(add, map(len, between), repeat(1)), initial=-1), 1, None)


def _split(source: ClaimsText, team: Team, keep: list[object]) -> _Split:
    """``source`` split into buckets. Each worker finds the buckets of a stripe of the lines,
    and the team pools them. The framed rows are left in ``keep``."""
    buckets = _Buckets()
    if not source.framable:  # read by the streaming reader: every worker reads every row
        items = items_of(source)
        return _Split(source, None, items, bytes(
            buckets[item.member_id] if isinstance(item, ClaimLine) else 0 for item in items))
    rows = frame(source)
    keep.append(rows)
    count = len(rows.lines)
    start, stop = count * team.index // team.size, count * (team.index + 1) // team.size
    return _Split(source, rows, [], b"".join(
        team.gather(_buckets_of_lines(rows, source.columns, buckets, start, stop))))


class _Buckets(dict[str | None, int]):
    """The bucket of each raw member id: a hash of the id as parsed (stripped); ``_UNSURE``
    when there is none."""

    def __missing__(self, key: str | None) -> int:
        member = key.strip() if key is not None else ""
        bucket = zlib.crc32(member.encode("utf-8", "surrogatepass")) % BUCKETS if member \
            else _UNSURE
        self[key] = bucket
        return bucket


def _buckets_of_lines(rows: Rows, columns: tuple[str, ...], buckets: _Buckets, start: int,
                      stop: int) -> bytes:
    """The bucket of the row that starts on each line from ``start`` to ``stop``; ``_NO_ROW``
    where none starts.

    A line whose member id is unknown or empty is no row (blank, or inside a quoted field), or
    a malformed row: those go to bucket 0."""
    bucket = bytearray(map(buckets.__getitem__, rows.member_keys(columns, start, stop)))
    unsure = bucket.find(_UNSURE)
    while unsure >= 0:
        bucket[unsure] = 0 if rows.is_row(start + unsure) else _NO_ROW
        unsure = bucket.find(_UNSURE, unsure + 1)
    return bytes(bucket)


def _encoded(records: list[bytes] | list[str]) -> list[bytes]:
    """Records as the bytes of the output file (text in UTF-8)."""
    if records and isinstance(records[0], str):
        return [record.encode("utf-8") for record in records]
    return cast(list[bytes], records)
