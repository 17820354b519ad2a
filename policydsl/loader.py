"""Finding and reading policy files: paths, folders and ``extends`` across folders.

``policyc`` takes a ``.pol`` file (that policy, with what it extends) or a folder (every policy
in it that no other policy in it extends). ``extends`` looks for a name among the loaded files
first, then in the folders beside the policy's folder, so ``policies/commercial/x.pol`` finds
``policies/medicare/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from . import nodes as n
from .collector import collector_paused
from .diagnostics import Diagnostic, PolicyError, error
from .files import (
    display_path,
    empty_path,
    find_policy_files,
    read_policy_text,
    refuse_unless_regular,
    universal_newlines,
)
from .parser import parse
from .resolve import Workspace, resolve

_POLICY_NAME = re.compile(r"^\s*policy\s+([A-Za-z_][A-Za-z0-9_.]*)", re.MULTILINE)


@attrs.define
class Loaded:
    """The outcome of loading: the workspace, and the policies the user asked for."""

    workspace: Workspace
    roots: list[str]  # policy names to run, in a stable order
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def _sibling_files(folder: Path) -> Iterable[Path]:
    parent = folder.parent
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.glob("*/*.pol") if p.parent != folder)


def load_paths(paths: Iterable[Path | str], *, lint: bool = False, load_tables: bool = True,
               given: Sequence[Path] = ()) -> Loaded:
    """Read, parse and resolve the policies at ``paths`` and whatever they extend.

    ``given``: other policy files the user named (``policyc test`` takes several paths),
    where an ``extends`` name is looked for last, when neither the policy's folder nor those
    beside it declare it; each is read only if a policy extends what it declares."""
    sources: dict[str, str] = {}
    modules: dict[str, n.Module] = {}
    diagnostics: list[Diagnostic] = []
    requested: list[tuple[Path, bool]] = []  # (file, came from a folder)
    unparsed: set[str] = set()  # the names the files that did not parse declare

    seen: dict[str, str] = {}  # a file's real path -> the path it was first read by

    def read(file: Path) -> n.Module | None:
        shown = display_path(file)
        if shown in modules or shown in sources:
            return modules.get(shown)
        # a file reached again by another path (a link to its folder, say) is the same
        # policy, not a second one of its name (E108)
        first = seen.setdefault(os.path.realpath(file), shown)
        if first != shown:
            return modules.get(first)
        module: n.Module | None = None
        try:
            text = universal_newlines(read_policy_text(file, shown)).removeprefix("\ufeff")
        except OSError as exc:
            diagnostics.append(error("E002", f"cannot read {shown}: {exc}", shown,
                                     n.NO_SPAN))
            return None
        except PolicyError as exc:  # not UTF-8
            diagnostics.extend(exc.diagnostics)
            sources.update(exc.sources)
            text = exc.sources[shown]
        else:
            sources[shown] = text
            try:
                with collector_paused():  # a large policy is a million small objects
                    module = parse(text, shown)
            except PolicyError as exc:
                diagnostics.extend(exc.diagnostics)
        if module is None or not (module.statements
                                  and isinstance(module.statements[0], n.PolicyDecl)):
            # the name the file means to declare, for its children: its own error (a syntax
            # error, or E104 for a `policy` line that does not come first) is the one to fix
            name = _POLICY_NAME.search(text)
            if name is not None:
                unparsed.add(name.group(1))
        if module is None:
            return None
        modules[shown] = module
        return module

    for raw in paths:
        path = Path(raw)
        if not os.fspath(raw):
            diagnostics.append(empty_path())
            continue
        if not path.exists():
            diagnostics.append(error("E002", f"no such file or folder: {raw}", str(raw),
                                     n.NO_SPAN))
            continue
        files, unlisted = find_policy_files(path)
        diagnostics.extend(unlisted)
        for file in files:
            requested.append((file, path.is_dir()))
            read(file)

    # extends: bring in policies named but not loaded, from the folders beside each file
    def declared() -> dict[str, n.Module]:
        found: dict[str, n.Module] = {}
        for module in modules.values():
            if module.statements and isinstance(module.statements[0], n.PolicyDecl):
                found.setdefault(module.statements[0].name.text, module)
        return found

    # what each file beside a policy declares, and each folder's files: read once however
    # many policies look there (a chain of extends looks there once a link)
    declares: dict[Path, str | None] = {}
    places: dict[Path, list[list[Path]]] = {}
    unreadable: dict[str, tuple[str, str]] = {}  # real path -> (path shown, why not read)

    def name_of(file: Path) -> str | None:
        if file not in declares:
            try:
                declares[file] = _declares(file)
            except OSError as exc:
                declares[file] = None
                unreadable.setdefault(os.path.realpath(file),
                                      (display_path(file), str(exc.strerror or exc)))
        return declares[file]

    pending = True
    while pending:
        pending = False
        names = declared()
        for module in list(modules.values()):
            for st in module.statements:
                if not isinstance(st, n.Extends):
                    continue
                for parent in st.parents:
                    if parent.text in names:
                        continue
                    # the folder as a full path: for "x.pol" in the working directory,
                    # its folder's siblings are those of the working directory
                    folder = Path(os.path.abspath(module.path)).parent
                    # the policy's own folder first, then the folders beside it; every file
                    # of the first that has the name is read: two are an E108 (the name is
                    # ambiguous), not the first one found quietly winning
                    if folder not in places:
                        places[folder] = [sorted(folder.glob("*.pol")),
                                          list(_sibling_files(folder)), list(given)]
                    for place in places[folder]:
                        found = [f for f in place if name_of(f) == parent.text]
                        for candidate in found:
                            # a file read already (whose `policy` line may not come first,
                            # so that it declares nothing) brings nothing new
                            known = len(modules)
                            if read(candidate) is not None and len(modules) > known:
                                pending = True
                        if found:
                            break
                    names = declared()

    with collector_paused():
        ws = resolve(list(modules.values()), sources, lint=lint, load_tables=load_tables,
                     unparsed=frozenset(unparsed),
                     nearby=frozenset(name for name in declares.values() if name is not None),
                     unreadable=tuple(sorted(unreadable.values())))
    roots = _roots(ws, requested)
    all_diagnostics = sorted([*diagnostics, *ws.diagnostics], key=Diagnostic.sort_key)
    return Loaded(ws, roots, all_diagnostics)


def _declares(path: Path) -> str | None:
    """The policy name a file declares, found without parsing it (a bad byte does not hide
    it); None when it declares none. An ``OSError`` when it cannot be read, or is no regular
    file (a named pipe would block)."""
    refuse_unless_regular(path)
    text = path.read_bytes().decode("utf-8-sig", "replace")
    found = _POLICY_NAME.search(text)
    return found.group(1) if found is not None else None


def _roots(ws: Workspace, requested: list[tuple[Path, bool]]) -> list[str]:
    """Requested files are roots; from a folder, the policies no other one in it extends."""
    by_path = {scope.module.path: name for name, scope in ws.scopes.items()}
    roots: list[str] = []
    from_folders: list[str] = []
    for file, in_folder in requested:
        name = by_path.get(display_path(file))
        if name is None:
            continue
        (from_folders if in_folder else roots).append(name)
    extended = {p.text for name in from_folders for p in ws.scopes[name].parents}
    roots.extend(name for name in from_folders if name not in extended)
    return list(dict.fromkeys(roots))
