"""Adjudicating in several processes: members are split between workers.

Members never influence each other, so a batch splits cleanly by member. Workers are forked
with the compiled policy and their share of the lines already in memory (nothing is pickled
on the way in). Each worker judges its share and *renders* the decisions (to JSON Lines bytes
or CSV text), since rendered records travel back through a pipe far faster than objects;
the parent puts them back in input order.
"""

from __future__ import annotations

import multiprocessing
import zlib
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

import attrs

from .api import Policy
from .claims import ClaimLine, Decision

Record = TypeVar("Record")
Render = Callable[[Sequence[Decision]], list[Record]]

#: Below this many lines, starting processes costs more than it saves.
MIN_PARALLEL_LINES = 10_000


@attrs.frozen
class _Work(Generic[Record]):
    """What each forked worker inherits: the policy, every share, and how to render."""

    policy: Policy
    shares: list[list[ClaimLine]]
    paid: list[list[ClaimLine]]
    render: Render[Record]

    def judge(self, index: int) -> list[Record]:
        return self.render(self.policy.adjudicate(self.shares[index], self.paid[index]))


def _bucket(member_id: str, jobs: int) -> int:
    return zlib.crc32(member_id.encode("utf-8")) % jobs


def render_in_workers(policy: Policy, lines: Sequence[ClaimLine],
                      history: Sequence[ClaimLine], jobs: int,
                      render: Render[Record]) -> list[Record]:
    """``render(policy.adjudicate(lines, history))``, one record per line in input order,
    computed by ``jobs`` forked processes (in this process when that would not pay)."""
    if (jobs <= 1 or len(lines) < MIN_PARALLEL_LINES
            or "fork" not in multiprocessing.get_all_start_methods()):
        return render(policy.adjudicate(lines, history))
    positions: list[list[int]] = [[] for _ in range(jobs)]
    shares: list[list[ClaimLine]] = [[] for _ in range(jobs)]
    paid: list[list[ClaimLine]] = [[] for _ in range(jobs)]
    for position, line in enumerate(lines):
        bucket = _bucket(line.member_id, jobs)
        positions[bucket].append(position)
        shares[bucket].append(line)
    for line in history:
        paid[_bucket(line.member_id, jobs)].append(line)
    work = _Work(policy, shares, paid, render)
    context = multiprocessing.get_context("fork")
    workers = []
    for index in range(jobs):
        receiver, sender = context.Pipe(duplex=False)
        # fork: the child inherits ``work`` as it is in memory; only its records come back
        process = context.Process(target=_run_share, args=(work, index, sender), daemon=True)
        process.start()
        sender.close()
        workers.append((process, receiver))
    results: list[list[Record]] = []
    for process, receiver in workers:
        results.append(receiver.recv())  # before join: a full pipe would block the child
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"worker process failed with exit code {process.exitcode}")
    ordered: list[Record | None] = [None] * len(lines)
    for bucket, records in enumerate(results):
        for position, record in zip(positions[bucket], records, strict=True):
            ordered[position] = record
    return [r for r in ordered if r is not None]


def _run_share(work: _Work[Record], index: int, sender: Connection) -> None:
    sender.send(work.judge(index))
    sender.close()
