"""The compiled-policy cache: a policy compiled once is restored, not compiled, next time.

Compiling is most of the start-up of ``policyc run``: a 10,000-rule policy takes seconds to
parse, a 110,000-rule one half a minute. As Python keeps ``__pycache__``, the cache keeps each
compiled program as an image (:mod:`policydsl.image`) and restores it while nothing it was
made from has changed. Restoring reads only the plans of the codes the claims contain, so it
takes milliseconds whatever the policy's size.

An entry is found by its *key*: the policy path as given, the working directory (findings
show paths relative to it), the version of Python and a hash of policydsl's own code (an image
holds generated code: a program from another compiler is never restored). It is used only
while its *inputs* are unchanged:

* every file the policy was made from: the policy, what it extends, their tables;
* every ``.pol`` file in the folders ``extends`` may search (a policy's own folder and the
  folders beside it), and the list of them, so a new or renamed policy that could change what
  a name means also makes the entry stale.

A file is unchanged when its size, modification and change times and inode are, or else when
its content hash is. A stale, damaged or unreadable entry is compiled again and rewritten
(atomically); an entry holds a CRC-32 of its image, checked when it is read, so a damaged
byte anywhere in it is found before the run, not while judging. A file that changed while its
policy was compiling (its change time is after the compile began) may not be what was
compiled: that run's program is used, but not saved. A cache folder that cannot be written
is not an error. The cache never changes a
decision: a restored program is the same program, and the test suite runs every semantic test
on one.

Where: ``policyc run --cache-dir``, else ``$POLICYDSL_CACHE_DIR``, else
``$XDG_CACHE_HOME/policydsl``, else ``~/.cache/policydsl``; ``--no-cache`` compiles every time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import mmap
import os
import pickle
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import __version__
from . import image as im
from . import model as m
from .api import Policy, load_ruleset, ruleset_of
from .diagnostics import PolicyError, error
from .engine import compile_ruleset
from .files import policy_files, refuse_unless_regular
from .replacing import replacing
from .spans import NO_SPAN

if TYPE_CHECKING:
    from . import nodes as n
    from .loader import Loaded

#: Bumped whenever the entry layout or what counts as an input changes.
CACHE_FORMAT = 3
_SUFFIX = ".policy-image"


def default_cache_dir() -> Path:
    """``$POLICYDSL_CACHE_DIR``, else ``$XDG_CACHE_HOME/policydsl``, else
    ``~/.cache/policydsl``."""
    chosen = os.environ.get("POLICYDSL_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policydsl"


@attrs.frozen
class FileState:
    """What a file was when the entry was made.

    A file whose size, modification time, change time and inode are all as they were is
    unchanged, as git's index decides; otherwise its content decides. The change time is
    there because the modification time alone can be set back (``touch -d``, ``cp -p``,
    ``rsync -t``, an archive unpacked) on a file edited to the same size, and the system sets
    the change time on every edit and on every such setting back."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    sha256: str

    @classmethod
    def of(cls, path: str) -> FileState | None:
        try:
            stat = os.stat(path)
            return cls(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino,
                       _hash(path))
        except OSError:
            return None

    def unchanged(self, path: str) -> bool:
        try:
            stat = os.stat(path)
        except OSError:
            return False
        if stat.st_size != self.size:
            return False
        if (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino) == (
                self.mtime_ns, self.ctime_ns, self.inode):
            return True
        try:
            return _hash(path) == self.sha256
        except OSError:
            return False


def _hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@attrs.frozen
class Inputs:
    """What an entry was made from: file states, and the listings ``extends`` searched."""

    files: dict[str, FileState | None]  # None: the file did not exist
    listings: dict[str, tuple[str, ...]]  # "folder/*.pol" or "folder/*/*.pol" -> paths

    def unchanged(self) -> bool:
        return all(_listing(pattern) == paths for pattern, paths in self.listings.items()) \
            and all(os.path.exists(path) if state is None else state.unchanged(path)
                    for path, state in self.files.items())


def _listing(pattern: str) -> tuple[str, ...]:
    folder, _, glob = pattern.partition("|")
    base = Path(folder)
    if glob == "**":  # as loading a folder finds them (a link to nothing included)
        return tuple(sorted(map(str, policy_files(base)))) if base.is_dir() else ()
    found = base.glob(glob) if base.is_dir() else []
    return tuple(sorted(str(p) for p in found if p.is_file()))


def _table_files(modules: Iterable[n.Module]) -> list[str]:
    from . import nodes as n

    found = []
    for module in modules:
        for statement in module.statements:
            body = n.rule_body(statement)
            if isinstance(body, n.Table):
                found.append(os.path.normpath(os.path.join(os.path.dirname(module.path),
                                                           body.path.value)))
    return found


def inputs_of(loaded: Loaded, path: Path) -> Inputs:
    """The inputs of a policy loaded from ``path`` (see the module docstring)."""
    patterns: list[str] = []
    if path.is_dir():
        patterns.append(f"{path}|**")
    for source in loaded.workspace.sources:
        folder = Path(source).parent
        patterns += [f"{folder}|*.pol", f"{folder.parent}|*/*.pol"]
    listings = {pattern: _listing(pattern) for pattern in dict.fromkeys(patterns)}
    files = [*loaded.workspace.sources, *_table_files(loaded.workspace.modules)]
    for paths in listings.values():
        files.extend(paths)
    return Inputs({file: FileState.of(file) for file in dict.fromkeys(files)}, listings)


@functools.lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """A hash of policydsl's own code: an image holds generated code, so a program compiled
    by any other version of the compiler (an upgrade, a local edit) is never restored."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for part in sorted([*package.glob("*.py"), *package.glob("*.lark")]):
        digest.update(part.name.encode("utf-8"))
        digest.update(part.read_bytes())
    return digest.hexdigest()


def entry_path(path: Path, cache_dir: Path) -> Path:
    """Where the entry of the policy at ``path`` lives: its key is the path, the working
    directory, and the versions of Python and of the compiler."""
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed: the path given is absolute then
        cwd = ""
    key = repr((CACHE_FORMAT, __version__, compiler_fingerprint(), sys.version, cwd,
                str(path), os.path.abspath(path)))
    return cache_dir / (hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + _SUFFIX)


#: The CRC-32 of an entry's image, written between its inputs and the image.
_CHECK = struct.Struct("<I")


def read_entry(entry: Path) -> tuple[Inputs, im.ProgramImage] | None:
    """The inputs and image in ``entry`` if every input is unchanged and the image is whole
    (its CRC-32), else None. The file is mapped into memory: the image is read once for the
    check, at C speed, and only the parts a run uses are unpickled."""
    try:
        refuse_unless_regular(entry)  # a named pipe there would block the run
        with open(entry, "rb") as handle:
            inputs = pickle.load(handle)
            if not isinstance(inputs, Inputs) or not inputs.unchanged():
                return None
            (check,) = _CHECK.unpack(handle.read(_CHECK.size))
            start = handle.tell()
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(mapped)[start:]
        if zlib.crc32(view) != check:
            return None
        image = im.loads(view)
        return None if image is None else (inputs, image)
    except Exception:  # missing, damaged or foreign: compile again
        return None


def write_entry(entry: Path, inputs: Inputs, image: im.ProgramImage) -> None:
    """Save atomically; a cache that cannot be written is skipped."""
    pieces = im.pieces(image)  # not joined: a big table's image is large
    check = 0
    for piece in pieces:
        check = zlib.crc32(piece, check)
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        with replacing(entry, "wb") as out:
            pickle.dump(inputs, out, pickle.HIGHEST_PROTOCOL)
            out.write(_CHECK.pack(check))
            out.writelines(pieces)


def changed_since(inputs: Inputs, started_ns: int) -> bool:
    """Whether a file among ``inputs`` changed at or after ``started_ns`` (its change time,
    which every write sets): then what was compiled from it may not be what it now holds."""
    return any(state is not None and state.ctime_ns >= started_ns
               for state in inputs.files.values())


def load_cached(path: str | Path, cache_dir: Path) -> Policy:
    """``policydsl.load(path)``, restored from ``cache_dir`` when an entry is fresh, else
    compiled and saved there. Raises ``PolicyError`` as ``load`` does."""
    path = Path(path)
    entry = entry_path(path, cache_dir)
    found = read_entry(entry)
    if found is not None:
        inputs, saved = found
        return Policy(im.restore(saved, _ruleset_as_restored(path, inputs)))
    from .loader import load_paths  # only to compile: a restored run never parses

    started = time.time_ns()
    loaded = load_paths([path])
    program = compile_ruleset(ruleset_of(loaded, path))
    inputs = inputs_of(loaded, path)
    if not changed_since(inputs, started):  # else an edit raced the compile: not saved
        write_entry(entry, inputs, im.image_of(program))
    return Policy(program)


def _ruleset_as_restored(path: Path, inputs: Inputs) -> Callable[[], m.RuleSet]:
    """What a restored policy's ``ruleset`` is read with: the rule set of its files, while they
    (and the working folder, which their paths are relative to) are as they were restored; a
    ``PolicyError`` after that, rather than rules that disagree with the program."""
    return RestoredRuleset(str(path), inputs, os.getcwd())


@attrs.frozen
class RestoredRuleset:
    """Reads a restored policy's rule set (``_ruleset_as_restored``); it pickles with the
    program, so a worker process reads the rules the same way, under the same condition."""

    path: str
    inputs: Inputs
    folder: str  # the working folder at the restore

    def __call__(self) -> m.RuleSet:
        if os.getcwd() != self.folder or not self.inputs.unchanged():
            raise PolicyError([error(
                "E002", "the policy's files or the working folder changed since the policy was "
                "restored from the cache, so its rules cannot be read again; load it again",
                self.path, NO_SPAN)], {})
        return load_ruleset(self.path)
