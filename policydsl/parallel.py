"""Work split between processes: ``fork_map(task, jobs)`` runs ``task`` once per worker of a
team of ``jobs`` processes, this one and ``jobs - 1`` forked workers, and returns the results.

The workers are forked, so they start with everything this process has in memory (nothing is
pickled on the way in); each sends its result back through a pipe. While they work, the workers
of the team can pool small pieces of what they found (``Team.gather``). ``can_fork`` says whether
this system can fork; ``available_cpus`` how many processors this process may run on.

A process about to end can leave the whole task to workers (``fork_map(..., detached=True)``):
every worker is then a forked process, this process only passes their pieces around, and it
returns their results without waiting for them to end. Ending a process that made millions of
objects takes a while (the system frees its memory page by page); a detached worker does that
after it has answered, with its standard streams closed, so that nobody waits for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
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
    """What each run of a ``fork_map`` task gets: its ``index`` among ``size`` workers. Worker 0
    is this process, which relays what the workers pool; in a detached team, worker 0 is a
    worker too, and this process relays."""

    def __init__(self, index: int, size: int, links: list[Connection], relay: bool) -> None:
        self.index = index
        self.size = size
        self._relay = relay  # this worker relays: it is this process
        self._links = links  # the relay: one pipe to each worker; a worker: its pipe to it

    def gather(self, piece: bytes) -> list[bytes]:
        """Every worker's ``piece``, by worker index. Every worker must call this the same
        number of times; each call waits for all of them."""
        if not self._relay:
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
    got, value = _message(link, index)
    if got != kind:  # pragma: no cover - the workers call gather alike
        raise WorkerError(f"worker process {index} sent {got!r}, not {kind!r}")
    return value


def fork_map(task: Callable[[Team], Result], jobs: int, *, detached: bool = False
             ) -> list[Result]:
    """``task(team)`` for each worker of a team of ``jobs`` processes, this one included, in
    worker order. An exception raised by a task is raised here (this process's first, then the
    workers' by index); a worker that dies without an answer raises ``WorkerError``.

    ``detached``: every worker is a forked process, and once all have answered, this returns
    without waiting for them to end (for a process about to end: see the module's docstring).
    A failure is then raised as soon as any worker reports it.
    """
    context = multiprocessing.get_context("fork")
    workers = []
    links: list[Connection] = []
    answered = False
    try:
        for index in range(0 if detached else 1, jobs):
            mine, theirs = context.Pipe(duplex=True)
            # the worker closes its copies of this process's ends: when this process dies
            # (killed, out of memory), its link then reads as ended, and it stops
            process = context.Process(
                target=_work, args=(task, index, jobs, theirs, detached, [*links, mine],
                                    os.getpid()),
                daemon=True)
            process.start()
            theirs.close()
            workers.append(process)
            links.append(mine)
        if detached:
            results = cast(list[Result], _relay(links))
        else:
            results = [task(Team(0, jobs, links, relay=True))]
            # each worker's result, read before joining it: a full pipe would block it
            results.extend(cast(Result, _answer(link, "result", index))
                           for index, link in enumerate(links, 1))
        answered = True
    except BaseException:
        for process in workers:
            process.terminate()
        raise
    finally:
        if not (detached and answered):
            for process in workers:
                process.join()
        for link in links:
            link.close()
    return results


def _relay(links: list[Connection]) -> list[object]:
    """Relay the pieces that the workers of a detached team (worker ``i`` at the end of
    ``links[i]``) pool, round by round, until each has sent its result; the results. Messages
    are read as they come: a worker's failure is raised at once."""
    while True:
        got: dict[int, tuple[str, object]] = {}
        while len(got) < len(links):
            for ready in wait([link for i, link in enumerate(links) if i not in got]):
                index = links.index(cast(Connection, ready))
                got[index] = _message(links[index], index)
        kinds, values = zip(*map(got.__getitem__, range(len(links))), strict=True)
        if set(kinds) == {"result"}:
            return list(values)
        if set(kinds) != {"piece"}:  # pragma: no cover - the workers call gather alike
            raise WorkerError(f"the workers did not pool alike: they sent {kinds}")
        for link in links:
            link.send(("pieces", list(values)))


def _message(link: Connection, index: int) -> tuple[str, object]:
    """The next message on ``link`` and its kind; an exception a worker sent is raised."""
    try:
        kind, value = link.recv()
    except EOFError:
        raise WorkerError(f"worker process {index} ended without an answer") from None
    if kind == "error":
        assert isinstance(value, BaseException)
        raise value
    return kind, value


def _work(task: Callable[[Team], Result], index: int, size: int, link: Connection,
          detached: bool, parents_ends: list[Connection], parent: int) -> None:
    for end in parents_ends:
        end.close()
    _end_with(parent)
    try:
        answer: tuple[str, object] = ("result", task(Team(index, size, [link], relay=False)))
    except Exception as exc:  # sent to this process's parent, which raises it
        answer = ("error", exc)
    if detached:  # what it printed is out before it answers: its parent may end right after
        for stream in sys.stdout, sys.stderr:
            with contextlib.suppress(OSError, ValueError):  # a stream closed or not flushable
                stream.flush()
    try:
        try:
            link.send(answer)
        except Exception:  # e.g. an exception that does not pickle
            link.send(("error", WorkerError(f"worker {index} failed: {answer[1]!r}")))
    except OSError:  # the parent is gone: nobody is left to answer
        os._exit(1)
    link.close()
    if detached:
        _leave()


#: Linux's ``prctl`` option that sends this process a signal when its parent ends.
_PR_SET_PDEATHSIG = 1


def _end_with(parent: int) -> None:
    """Have the system end this worker when its parent process ends (on Linux), so that a
    worker busy judging does not run on for minutes after its parent was killed; and end now
    if the parent has ended already."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)


def _leave() -> None:
    """End this worker now, its standard streams closed first (it flushed them before it
    answered): whoever reads them (the caller of ``policyc``) sees their end without waiting
    for this process to free its memory, which the system does after it ends."""
    nowhere = os.open(os.devnull, os.O_RDWR)
    for descriptor in 0, 1, 2:
        os.dup2(nowhere, descriptor)
    os._exit(0)
