"""A team writes one output file together: each member copies its own records to their places.

The records of a batch are in input order in the file, and each member of the team holds the
records of its own rows. Rather than sending them all to one process to be put in order and
written, the members pool the lengths of their records (``Team.gather``), so that each knows
where every record goes, and copy their own into the file, mapped in memory. The file then holds
exactly the bytes one process writing the records in order would have written.
"""

from __future__ import annotations

import mmap
import os
from array import array
from itertools import accumulate, compress

from .parallel import Team


def owned_by(index: int) -> bytes:
    """A ``bytes.translate`` table: 1 for member ``index``, 0 for any other byte."""
    return bytes(1 if by == index else 0 for by in range(256))


def write_together(team: Team, path: str, header: bytes, records: list[bytes],
                   order: bytes) -> None:
    """Write ``header`` and then every member's records to ``path``, in ``order`` (the member
    owning each record, in file order); ``records`` are this member's, in file order."""
    if team.index == 0:
        with open(path, "wb") as out:  # emptied before any member maps it
            out.write(header)
    lengths = array("Q", map(len, records))
    pooled = team.gather(lengths.tobytes())
    every = [iter(array("Q", piece)) for piece in pooled]
    offsets = list(accumulate(map(next, map(every.__getitem__, order)), initial=len(header)))
    size = offsets[-1]
    if not records:
        return
    places = compress(offsets, order.translate(owned_by(team.index)))
    with open(path, "r+b") as out:
        out.truncate(size)  # every member makes it the same size: the order does not matter
        try:
            # No MAP_POPULATE: on a new (sparse) file it reads every page in, and each then
            # faults again when first written, which doubled the time of the copy below.
            mapped = mmap.mmap(out.fileno(), size, flags=mmap.MAP_SHARED)
        except OSError:  # a file system that cannot map files: one write per record
            for offset, record in zip(places, records, strict=True):
                os.pwrite(out.fileno(), record, offset)
            return
        with mapped:
            for offset, record in zip(places, records, strict=True):
                mapped[offset:offset + len(record)] = record
