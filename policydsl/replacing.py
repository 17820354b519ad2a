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
def replacing(path: Path, mode: Literal["w", "wb"], encoding: str | None = None, *,
              through_links: bool = False) -> Iterator[IO[Any]]:
    """A file to write (``mode``, ``encoding`` as ``open``'s) that replaces ``path`` whole
    when the block ends; an ``OSError`` of the system's passes through.

    ``through_links`` (an analyst's file, which ``fmt`` rewrites): a symbolic link is kept and
    the file it names is replaced, and a file that may not be written (read-only) is a
    ``PermissionError``, as writing it in place would be. Otherwise a link is replaced by the
    file. Only a regular file's permissions are kept (not those of a device a link named)."""
    if through_links:
        path = Path(os.path.realpath(path))
        if path.exists() and not _may_write(path):
            raise PermissionError(13, "Permission denied", str(path))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, mode, encoding=encoding) as out:
            yield out
        if path.is_file() and not path.is_symlink():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _may_write(path: Path) -> bool:
    """Whether this process may write ``path`` in place (its permission bits; root may)."""
    return os.access(path, os.W_OK)
