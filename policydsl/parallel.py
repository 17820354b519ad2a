"""Work split between processes: ``fork_map(task, jobs)`` runs ``task`` once per member of a
team of ``jobs`` processes, this one and ``jobs - 1`` forked workers, and returns the results.

The workers are forked, so they start with everything this process has in memory (nothing is
pickled on the way in); each sends its result back through a pipe. While they work, the members
of the team can pool small pieces of what they found (``Team.gather``). ``can_fork`` says whether
this system can fork; ``available_cpus`` how many processors this process may run on.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TypeVar, cast

Result = TypeVar("Result")

#: Below this many lines, starting processes costs more than it saves.
MIN_PARALLEL_LINES = 10_000


class WorkerError(RuntimeError):
    """A worker process died without sending its result."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def available_cpus() -> int:
    """The processors this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1  # pragma: no cover - systems without sched_getaffinity


class Team:
    """What each run of a ``fork_map`` task gets: its ``index`` among ``size`` members (0 is
    this process, which relays what the workers pool)."""

    def __init__(self, index: int, size: int, links: list[Connection]) -> None:
        self.index = index
        self.size = size
        self._links = links  # member 0: one pipe to each worker; a worker: its pipe to 0

    def gather(self, piece: bytes) -> list[bytes]:
        """Every member's ``piece``, by member index. Every member must call this the same
        number of times; each call waits for all of them."""
        if self.index != 0:
            self._links[0].send(("piece", piece))
            return cast(list[bytes], _answer(self._links[0], "pieces", self.index))
        pieces = [piece]
        pieces.extend(cast(bytes, _answer(link, "piece", index))
                      for index, link in enumerate(self._links, 1))
        for link in self._links:
            link.send(("pieces", pieces))
        return pieces


def _answer(link: Connection, kind: str, index: int) -> object:
    """The next message on ``link``, of ``kind``; an exception a worker sent is raised."""
    try:
        got, value = link.recv()
    except EOFError:
        raise WorkerError(f"worker process {index} ended without an answer") from None
    if got == "error":
        assert isinstance(value, BaseException)
        raise value
    if got != kind:  # pragma: no cover - the members call gather alike
        raise WorkerError(f"worker process {index} sent {got!r}, not {kind!r}")
    return value


def fork_map(task: Callable[[Team], Result], jobs: int) -> list[Result]:
    """``task(team)`` for each member of a team of ``jobs`` processes, this one included, in
    member order. An exception raised by a task is raised here (this process's first, then the
    workers' by index); a worker that dies without an answer raises ``WorkerError``.
    """
    context = multiprocessing.get_context("fork")
    workers = []
    links: list[Connection] = []
    try:
        for index in range(1, jobs):
            mine, theirs = context.Pipe(duplex=True)
            process = context.Process(target=_work, args=(task, index, jobs, theirs),
                                      daemon=True)
            process.start()
            theirs.close()
            workers.append(process)
            links.append(mine)
        results = [task(Team(0, jobs, links))]
        # each worker's result, read before joining it: a full pipe would block it
        results.extend(cast(Result, _answer(link, "result", index))
                       for index, link in enumerate(links, 1))
    except BaseException:
        for process in workers:
            process.terminate()
        raise
    finally:
        for process in workers:
            process.join()
        for link in links:
            link.close()
    return results


def _work(task: Callable[[Team], Result], index: int, size: int, link: Connection) -> None:
    try:
        answer: tuple[str, object] = ("result", task(Team(index, size, [link])))
    except Exception as exc:  # sent to member 0, which raises it
        answer = ("error", exc)
    try:
        link.send(answer)
    except Exception:  # e.g. an exception that does not pickle
        link.send(("error", WorkerError(f"worker {index} failed: {answer[1]!r}")))
    link.close()
