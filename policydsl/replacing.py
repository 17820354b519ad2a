"""``replacing(path)``: write a file all at once, or not at all.

What is written goes to a temporary file beside ``path``, which is renamed over ``path`` when
the block ends without an error (and removed when it does not). A reader never sees half a
file, and a full disk or an interrupted run leaves the old one as it was. A file replaced this
way keeps its permissions. Used for the compiled-policy cache and by ``policyc fmt``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal


@contextlib.contextmanager
def replacing(path: Path, mode: Literal["w", "wb"], encoding: str | None = None
              ) -> Iterator[IO[Any]]:
    """A file to write (``mode``, ``encoding`` as ``open``'s) that replaces ``path`` whole
    when the block ends; an ``OSError`` of the system's passes through."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, mode, encoding=encoding) as out:
            yield out
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
