"""Lints: warnings about policy that is legal but probably not what the analyst meant.

Each lint is a function over the resolved ``Workspace`` that appends warnings; ``lints`` runs
them all. ``policyc check --strict`` turns these warnings into errors.
"""

from __future__ import annotations

from collections.abc import Callable

from . import nodes as n
from .diagnostics import warning
from .resolve import Workspace


def unused_sets(ws: Workspace) -> None:
    """W306: a set that no rule (or other set reached from a rule) uses."""
    for scope in ws.scopes.values():
        for name, node in scope.set_nodes.items():
            if name not in scope.used_sets:
                kind = "dx set" if isinstance(node, n.DxDef) else "set"
                ws.diagnostics.append(warning("W306", f"{kind} '{name}' is never used",
                                              scope.module.path, node.name.span))


LINTS: list[tuple[str, Callable[[Workspace], None]]] = [
    ("unused-sets", unused_sets),
]


def lints(ws: Workspace) -> None:
    for _name, lint in LINTS:
        lint(ws)
