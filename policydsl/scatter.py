"""A team writes one output file together: each worker copies its own records to their places.

The records of a batch are in input order in the file, and each worker of the team holds the
records of its own rows. Rather than sending them all to one process to be put in order and
written, the workers pool how long their records are (``Team.gather``), so that each knows
where its records go, and copy them into the file, mapped in memory. The file then holds exactly
the bytes one process writing the records in order would have written.

The work goes by runs, not records: a run is records in a row of one owner (``runs``). A claim's
lines belong to one member, whose rows one worker holds, so a run holds a few records (about 4
in the benchmark's file, sorted by date). The workers pool the sizes of their runs; worker 0
gives the file its size (and reserves the disk space), and once it has, each worker copies its
runs, one at a time.
"""

from __future__ import annotations

import mmap
import os
from array import array
from collections import deque
from functools import partial
from itertools import accumulate, compress, repeat
from operator import add, sub
from typing import NamedTuple

from .parallel import Team


def owned_by(index: int) -> bytes:
    """A ``bytes.translate`` table: 1 for worker ``index``, 0 for any other byte."""
    return bytes(1 if by == index else 0 for by in range(256))


_NONZERO = bytes(1 if by else 0 for by in range(256))  # ``bytes.translate``: 1 for all but 0


class Runs(NamedTuple):
    """The runs of the records of a batch."""

    lengths: list[int]  # how many records each run holds
    owners: bytes  # the worker owning each run


def runs(order: bytes) -> Runs:
    """The runs of ``order``, the owner of every record in file order."""
    if not order:
        return Runs([], b"")
    # a byte of ``changed`` is not 0 where a record's owner differs from the one before it
    changed = (int.from_bytes(order[1:], "big") ^ int.from_bytes(order[:-1], "big")
               ).to_bytes(len(order) - 1, "big")
    # between two changes, a run: its length is one more than the unchanged bytes in it
    lengths = list(map(add, map(len, changed.translate(_NONZERO).split(b"\x01")), repeat(1)))
    starts = accumulate(lengths[:-1], initial=0)
    return Runs(lengths, bytes(map(order.__getitem__, starts)))


class OutputError(Exception):
    """The output file could not be written: its path, and why (the system's reason)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"

    @classmethod
    def of(cls, path: str, exc: OSError) -> OutputError:
        """The error of writing ``path``, from what the system raised."""
        return cls(path, exc.strerror or str(exc))


def write_together(team: Team, path: str, header: bytes, records: list[bytes],
                   order: bytes) -> None:
    """Write ``header`` and then every worker's records to ``path``, in ``order`` (the worker
    owning each record, in file order); ``records`` are this worker's, in file order. A
    failure of the file (a full disk, say) is an ``OutputError``."""
    try:
        _write_together(team, path, header, records, order)
    except OSError as exc:
        raise OutputError.of(path, exc) from exc


def _write_together(team: Team, path: str, header: bytes, records: list[bytes],
                    order: bytes) -> None:
    if team.index == 0:
        with open(path, "wb") as out:  # emptied before any worker maps it
            out.write(header)
    found = runs(order)
    mine = found.owners.translate(owned_by(team.index))
    bounds = list(accumulate(compress(found.lengths, mine), initial=0))  # my runs, in records
    if bounds[-1] != len(records):
        raise ValueError(f"worker {team.index} holds {len(records)} records, "
                         f"the order gives it {bounds[-1]}")
    ends = list(accumulate(map(len, records), initial=0))  # of each record, in my bytes
    at = list(map(ends.__getitem__, bounds))  # where my runs start in my bytes
    sizes = array("Q", map(sub, at[1:], at))  # my runs' sizes
    pooled = team.gather(sizes.tobytes())
    every = [iter(array("Q", piece)) for piece in pooled]
    offsets = list(accumulate(map(next, map(every.__getitem__, found.owners)),
                              initial=len(header)))
    size = offsets[-1]
    if team.index == 0:
        with open(path, "r+b") as out:
            out.truncate(size)
            if hasattr(os, "posix_fallocate"):
                # The disk space now, or an OSError here: a write into the map that finds the
                # disk full would kill the process (SIGBUS) instead. Before any worker copies:
                # where the file system cannot allocate, the C library writes zeros instead.
                os.posix_fallocate(out.fileno(), 0, size)
    team.gather(b"")  # wait for the file to have its size
    if not records:
        return
    places = list(compress(offsets, mine))
    # Each run is joined when it is copied, into memory that the run before just freed: the
    # pieces are not kept (75 MB of new memory for a million lines, which cost more to get
    # than the copy itself). Joined and copied by chained maps: no Python step per run.
    pieces = map(b"".join, map(records.__getitem__, map(slice, bounds, bounds[1:])))
    with open(path, "r+b") as out:
        try:
            # No MAP_POPULATE: on a new (sparse) file it reads every page in, and each then
            # faults again when first written, which doubled the time of the copy below.
            mapped = mmap.mmap(out.fileno(), size, flags=mmap.MAP_SHARED)
        except OSError:  # a file system that cannot map files: one write per run
            deque(map(partial(os.pwrite, out.fileno()), pieces, places), 0)
            return
        with mapped:
            deque(map(mapped.__setitem__, map(slice, places, map(add, places, sizes)), pieces),
                  0)
