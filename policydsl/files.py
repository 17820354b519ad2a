"""Finding policy files on disk: a ``.pol`` file, or every one under a folder.

Kept apart from ``loader`` (which parses them) so that restoring a policy from the cache,
which only lists files, does not import the parser.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .diagnostics import Diagnostic, PolicyError, error
from .spans import NO_SPAN, Span


def display_path(path: Path) -> str:
    """Paths are shown relative to the working directory when they are below it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except (ValueError, OSError):  # OSError: the working directory was removed
        return str(path)


def empty_path() -> Diagnostic:
    """The E002 of an empty path, which ``Path("")`` would take for the working directory."""
    return error("E002", "an empty path names no file or folder", "''", NO_SPAN)


def read_policy_text(file: Path, shown: str) -> str:
    """The text of a policy file, byte order mark and line ends as they are. A file that is not
    UTF-8 is a ``PolicyError`` (E002) at the line and column of its first bad byte, with the
    text as far as it could be read (bad bytes shown as U+FFFD) for the caret; an ``OSError``
    is the caller's to report, and so is a file that is not a regular file (a named pipe
    would block, a device such as ``/dev/zero`` would never end)."""
    refuse_unless_regular(file, pipe_ok=True)
    data = file.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # lines and columns as the parser counts them: after the byte order mark
        before = universal_newlines(data[:exc.start].decode("utf-8-sig", "replace"))
        line = before.count("\n") + 1  # lines as the parser counts them
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise PolicyError(
            [error("E002", f"cannot read {shown}: it is not UTF-8 text (byte "
                           f"0x{data[exc.start]:02x}); save it as UTF-8", shown,
                   Span(line, column, line, column + 1))],
            {shown: universal_newlines(data.decode("utf-8-sig", "replace"))}) from exc


def refuse_unless_regular(file: Path | str, pipe_ok: bool = False) -> None:
    """An ``OSError`` unless ``file`` (a link followed) is a regular file: a policy or a
    table is read whole, and a named pipe or a device would block or never end. With
    ``pipe_ok`` (a policy named on the command line: ``policyc check <(...)``), a named pipe
    is read too; one found in a folder is not (``find_files``)."""
    mode = os.stat(file).st_mode
    if not (stat.S_ISREG(mode) or (pipe_ok and stat.S_ISFIFO(mode))):
        what = "a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(
            mode) else "a device or other special file"
        raise OSError(f"it is {what}, not a regular file")


def universal_newlines(text: str) -> str:
    """``text`` with every line end (CRLF, CR) a ``\\n``, as a file read as text has them."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def policy_files(path: Path) -> list[Path]:
    """The ``.pol`` files at ``path``: the file itself, or every one under the folder, sorted
    (``find_policy_files`` also says which folders under it could not be listed)."""
    return find_policy_files(path)[0]


def find_policy_files(path: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The ``.pol`` files at ``path`` (the file itself, or every one under the folder, sorted;
    links to folders are not followed), and an E002 for each folder there that cannot be
    listed: a policy is never loaded with some of its files silently left out. A ``.pol``
    name that is no folder counts even if it cannot be read (a link to nothing): reading it
    then says why."""
    if not path.is_dir():
        return [path], []
    return find_files(path, (".pol",))


def find_files(path: Path, endings: tuple[str, ...]) -> tuple[list[Path], list[Diagnostic]]:
    """The files under the folder ``path`` whose names end in one of ``endings``, sorted
    (links to folders are not followed), and an E002 for each folder that cannot be listed
    and for each such name that is no regular file (a named pipe there would block)."""
    problems: list[Diagnostic] = []

    def unlisted(exc: OSError) -> None:
        folder = display_path(Path(exc.filename)) if exc.filename else str(path)
        problems.append(error("E002", f"cannot read folder {folder}: {exc.strerror or exc}",
                              folder, NO_SPAN))

    files = []
    for folder, _, names in os.walk(path, onerror=unlisted):
        for name in names:
            if name.endswith(endings):
                file = Path(folder, name)
                try:
                    refuse_unless_regular(file)
                except FileNotFoundError:  # a link to nothing: reading it says why
                    pass
                except OSError as exc:  # a named pipe would block: reported, not read
                    shown = display_path(file)
                    problems.append(error("E002", f"cannot read {shown}: {exc}", shown,
                                          NO_SPAN))
                    continue
                files.append(file)
    return sorted(files), problems
