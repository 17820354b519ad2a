"""Lints of sets and diagnoses: W306 a set no rule uses, W313 a diagnosis ending in the
placeholder X."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .. import codes as c
from .. import nodes as n
from ..diagnostics import warning
from ..resolve import ModuleScope, Workspace
from .index import CODE_FIELDS, code_items, set_home

# --- W306 ---------------------------------------------------------------------------------


#: The fields of rule bodies that may name sets: codes, replacement codes and diagnoses (not
#: the modifiers of ``bypass`` and ``modifiers``).
_SET_FIELDS = (*CODE_FIELDS, "replacements", "diagnoses")


def _set_names(items: Iterable[object]) -> Iterator[str]:
    """The words of a list that are neither codes nor diagnoses: names of sets."""
    for item in items:
        if (isinstance(item, n.Word) and not c.is_code(item.text)
                and c.diagnosis_pattern(item.text) is None):
            yield item.text


def _written_sets(scope: ModuleScope) -> Iterator[str]:
    """The set names the policy's rules write, whether or not the rules built (a rule with
    an error of its own, a bad CARC say, still uses its sets: no W306 adds to its error)."""
    for statement in scope.module.statements:
        body = n.rule_body(statement)
        if isinstance(body, n.RULE_BODIES):
            yield from _set_names(code_items(body, _SET_FIELDS))


def _reached_sets(ws: Workspace) -> set[tuple[str, str]]:
    """``(policy, set name)`` of every set a rule uses, directly or through other sets.

    The resolver marks the sets rules name (and those a hint of its errors names); rules
    that did not build are read for theirs. A set already expanded is not walked again, so
    the sets inside it are reached here, by name, through the definitions.
    """
    stack = [(scope, name) for scope in ws.scopes.values() for name in scope.used_sets]
    for scope in ws.scopes.values():
        for name in _written_sets(scope):
            home = set_home(ws, scope, name)
            if home is not None:
                stack.append((home, name))
    reached: set[tuple[str, str]] = set()
    while stack:
        scope, name = stack.pop()
        if (scope.name, name) in reached:
            continue
        reached.add((scope.name, name))
        node = scope.set_nodes.get(name)
        for set_name in _set_names(node.items if node is not None else ()):
            home = set_home(ws, scope, set_name)
            if home is not None:
                stack.append((home, set_name))
    return reached


def unused_sets(ws: Workspace) -> None:
    """W306: a set that no rule uses, directly or through other sets."""
    reached = _reached_sets(ws)
    for scope in ws.scopes.values():
        for name, node in scope.set_nodes.items():
            if (scope.name, name) not in reached:
                kind = "dx set" if isinstance(node, n.DxDef) else "set"
                ws.record(warning(
                    "W306", f"{kind} '{name}' is never used; remove it, or use it in a rule",
                    scope.module.path, node.name.span))


# --- W313 ---------------------------------------------------------------------------------


def placeholder_diagnosis(ws: Workspace) -> None:
    """W313: a diagnosis that ends in X. ICD-10-CM writes X only as a placeholder before a
    7th character, so no complete code ends in it, and a claim's diagnosis never is exactly
    that code: ``M54.5x`` is mostly meant as "any M54.5 code", which is ``M54.5*``."""
    for scope in ws.scopes.values():
        for statement in scope.module.statements:
            body = n.rule_body(statement)
            words = (body.items if isinstance(body, n.DxDef) else
                     body.diagnoses if isinstance(body, n.RequireDx) else ())
            for word in words:
                pattern = c.diagnosis_pattern(word.text)
                if pattern is None or pattern[1] or not pattern[0].endswith("X"):
                    continue
                stem = c.normalize(word.text)[:-1].rstrip(".")
                ws.record(warning(
                    "W313", f"diagnosis '{word.text}' ends in X, which ICD-10-CM writes only "
                    "before a 7th character: no claim's diagnosis is exactly this code; for "
                    f"every code that starts {stem}, write {stem}*", scope.module.path,
                    word.span))
