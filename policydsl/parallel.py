"""Adjudicating in several processes: members are split between workers.

Members never influence each other, so a batch splits cleanly by member. Workers are forked
with the compiled policy and their share of the lines already in memory (nothing is pickled
on the way in); each returns its decisions, which are put back in input order.
"""

from __future__ import annotations

import multiprocessing
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from .api import Policy
from .claims import ClaimLine, Decision

# Work handed to forked workers: set in the parent only for the lifetime of one pool, read by
# the children through fork's copy of memory (so it is never pickled).
_Work = tuple[Policy, list[list[ClaimLine]], list[list[ClaimLine]]]


def _bucket(member_id: str, jobs: int) -> int:
    return zlib.crc32(member_id.encode("utf-8")) % jobs


def _judge(work: _Work, index: int) -> list[Decision]:
    policy, lines, history = work
    return policy.adjudicate(lines[index], history[index])


def adjudicate_parallel(policy: Policy, lines: Sequence[ClaimLine],
                        history: Sequence[ClaimLine], jobs: int) -> list[Decision]:
    """Decisions for ``lines`` in input order, computed by ``jobs`` processes."""
    if jobs <= 1 or len(lines) < 10_000 or "fork" not in multiprocessing.get_all_start_methods():
        return policy.adjudicate(lines, history)
    positions: list[list[int]] = [[] for _ in range(jobs)]
    shares: list[list[ClaimLine]] = [[] for _ in range(jobs)]
    paid: list[list[ClaimLine]] = [[] for _ in range(jobs)]
    for position, line in enumerate(lines):
        bucket = _bucket(line.member_id, jobs)
        positions[bucket].append(position)
        shares[bucket].append(line)
    for line in history:
        paid[_bucket(line.member_id, jobs)].append(line)
    work: _Work = (policy, shares, paid)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=_install, initargs=(work,)) as pool:
        results = list(pool.map(_judge_installed, range(jobs)))
    ordered: list[Decision | None] = [None] * len(lines)
    for bucket, decisions in enumerate(results):
        for position, decision in zip(positions[bucket], decisions, strict=True):
            ordered[position] = decision
    return [d for d in ordered if d is not None]


_installed: list[_Work] = []  # per worker process: the work it inherited


def _install(work: _Work) -> None:
    _installed.append(work)


def _judge_installed(index: int) -> list[Decision]:
    return _judge(_installed[0], index)
