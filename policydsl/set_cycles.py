"""Sets defined in terms of themselves (E103), found before any set is expanded.

Sets name other sets, across a policy and the policies it extends. A set on a cycle of such
names has no codes. Expanding sets depth first finds each cycle too, but only by expanding
every path again from every set on it: 3,000 sets that each name one set that names them
all took minutes. Here the names form a graph, its strongly connected components are found
once (Tarjan's algorithm, without recursion), and every name that closes a cycle is reported
once, where it is written: ``set 'A' is defined in terms of itself: A -> B -> A``, along a
cycle through that name with no set twice. The expansion then takes the sets on a cycle as
failed, and reports nothing more about them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import attrs

from . import codes as c
from . import nodes as n


@attrs.frozen
class Reference:
    """A set's name written in the definition of another set."""

    source: str  # the key ("policy:name") of the set whose definition holds it
    target: str  # the key of the set it names
    file: str  # the file of the definition that holds it
    span: n.Span  # where it is written
    kind: str  # "set" or "dx set": what the named set is


def names_in(node: n.SetDef | n.DxDef) -> Iterator[n.Word]:
    """The words of a set's definition that may name another set of its kind: not codes,
    ranges or diagnosis patterns, nor what the expansion reports as a malformed code."""
    if isinstance(node, n.SetDef):
        for item in node.items:
            if isinstance(item, n.CodeRange):
                continue
            text = item.text
            if c.is_code(text) or c.looks_like_code(text):
                continue
            yield item
    else:
        for word in node.items:
            text = word.text
            if c.diagnosis_pattern(text) is not None or c.looks_like_diagnosis(text) or \
                    not text[:1].isalpha():
                continue
            yield word


def closing_references(keys: list[str], references: list[Reference]
                       ) -> tuple[set[str], list[tuple[Reference, list[str]]]]:
    """The sets (``keys``) that lie on a cycle of ``references``, and each reference that
    closes one (both its ends in one strongly connected component; a set naming itself too)
    with the keys of a cycle through it: from its target through the component to its
    source, and back to its target, no set twice."""
    out: dict[str, list[str]] = {key: [] for key in keys}
    for ref in references:
        out[ref.source].append(ref.target)
    component = _components(keys, out)
    closing = [ref for ref in references if component[ref.source] == component[ref.target]]
    # each component's sets reach one of them, its root, and it reaches them: a cycle through
    # a reference u -> v is v ~> root ~> u -> v (with any set met twice cut out)
    inside: dict[str, list[str]] = {}
    into: dict[str, list[str]] = {}
    for ref in closing:
        inside.setdefault(ref.source, []).append(ref.target)
        into.setdefault(ref.target, []).append(ref.source)
    roots: dict[int, str] = {}
    for key in keys:
        roots.setdefault(component[key], key)
    from_root: dict[str, str | None] = {}  # key -> the set before it on a path from its root
    to_root: dict[str, str | None] = {}  # key -> the set after it on a path to its root
    for root in {roots[component[ref.source]] for ref in closing}:
        _breadth_first(root, inside, from_root)
        _breadth_first(root, into, to_root)
    cyclic = {ref.source for ref in closing}
    found = []
    for ref in closing:
        walk: list[str] = []
        at: str | None = ref.target
        while at is not None:  # the target, up to its root
            walk.append(at)
            at = to_root[at]
        back: list[str] = []
        at = from_root[ref.source]
        while at is not None:  # the sets from the root to the source, but the root
            back.append(at)
            at = from_root[at]
        walk += [*reversed(back[:-1]), ref.source] if walk[-1] != ref.source else []
        found.append((ref, [*_without_repeats(walk), ref.target]))
    return cyclic, found


def _breadth_first(root: str, edges: dict[str, list[str]], before: dict[str, str | None]
                   ) -> None:
    """Record in ``before`` the set each key is reached from, breadth first from ``root``."""
    before[root] = None
    queue = deque([root])
    while queue:
        key = queue.popleft()
        for nxt in edges.get(key, ()):
            if nxt not in before:
                before[nxt] = key
                queue.append(nxt)


def _without_repeats(walk: list[str]) -> list[str]:
    """A walk with every loop cut out: a path from its first key to its last."""
    path: list[str] = []
    at: dict[str, int] = {}
    for key in walk:
        if key in at:
            for dropped in path[at[key] + 1:]:
                del at[dropped]
            del path[at[key] + 1:]
        else:
            at[key] = len(path)
            path.append(key)
    return path


def _components(keys: list[str], out: dict[str, list[str]]) -> dict[str, int]:
    """Tarjan's strongly connected components, iteratively: each key's component number."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in keys:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(out[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            key, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(out[target])))
                    advanced = True
                    break
                if target in on_stack:
                    low[key] = min(low[key], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[key])
            if low[key] == index[key]:
                number = len(component)  # any number that no other component has
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = number
                    if member == key:
                        break
    return component
