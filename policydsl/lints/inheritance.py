"""Lints of what a policy does to the rules it inherits: W307 ``disable`` of an unnamed
rule by its line, W311 ``disable`` of a rule already off, W314 an override in force on
fewer days than the rule it replaces, W315 an override that shares no code with it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from operator import attrgetter

import attrs

from .. import model as m
from .. import nodes as n
from ..diagnostics import warning
from ..resolve import ModuleScope, Workspace, disabled_above
from .index import (
    UNNAMED_ID,
    codes_text,
    index_for,
    inherited_rules,
)

# --- W307 ---------------------------------------------------------------------------------


def disable_by_line(ws: Workspace) -> None:
    """W307: ``disable`` of an unnamed rule: its id holds the rule's line, which ``policyc fmt``
    or a comment added above it changes, and the ``disable`` then names no rule. Not where
    it names no rule already (that is the error E106)."""
    unknown = {(d.file, d.span) for d in ws.diagnostics if d.code == "E106"}
    for scope in ws.scopes.values():
        for ref in scope.disables:
            policy, _, rule = ref.text.partition("/")
            if UNNAMED_ID.fullmatch(rule) and (scope.module.path, ref.span) not in unknown:
                ws.record(warning(
                    "W307", f"disable names the unnamed rule '{ref.text}' by its line, which "
                    f"changes when the lines of {policy} move (a comment added above it, "
                    "policyc fmt); name the rule (rule NAME: ...) and disable it by name",
                    scope.module.path, ref.span))


# --- W311 ---------------------------------------------------------------------------------


def disable_again(ws: Workspace) -> None:
    """W311: ``disable`` of a rule already switched off: by an earlier ``disable`` of the same
    file, or by a policy this one extends (when no other parent brings the rule back). The
    rule is not in force either way; the line does nothing."""
    index = index_for(ws)
    for scope in ws.scopes.values():
        earlier: dict[str, n.Word] = {}
        inherited = ({rule.info.id for rule in inherited_rules(ws, scope)}
                     if scope.disables else set())
        for ref in scope.disables:
            first = earlier.setdefault(ref.text, ref)
            if first is not ref:
                index.report(
                    "W311", f"rule '{ref.text}' is disabled on line {first.span.line} already; "
                    "remove this line", scope.module.path, ref.span)
                continue
            if ref.text in inherited:
                continue
            above = disabled_above(ws, scope, ref.text)
            if above is not None:
                policy, there = above
                index.report(
                    "W311", f"rule '{ref.text}' is disabled already by policy '{policy.name}' "
                    f"({policy.module.path}:{there.span.line}), which this one extends; remove "
                    "this line", scope.module.path, ref.span)


# --- W314 ---------------------------------------------------------------------------------

#: The first and last day of a stretch of days, as date ordinals.
Stretch = tuple[int, int]

def _days_of(validities: Iterable[m.Validity]) -> list[Stretch]:
    """The days the validities hold together, as stretches in order that neither overlap
    nor touch."""
    spans = sorted(v.days for v in validities if not v.is_empty)
    merged: list[Stretch] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _days_outside(outer: list[Stretch], inner: list[Stretch]) -> list[Stretch]:
    """The days of ``outer`` that ``inner`` does not hold (both as ``_days_of`` makes them)."""
    gaps: list[Stretch] = []
    at = 0
    for first, last in outer:
        while at < len(inner) and inner[at][1] < first:
            at += 1
        day, k = first, at
        while day <= last:
            if k < len(inner) and inner[k][0] <= last:
                low, high = inner[k]
                if low > day:
                    gaps.append((day, low - 1))
                day, k = max(day, high + 1), k + 1
            else:
                gaps.append((day, last))
                break
    return gaps


def _stretch(first: int, last: int) -> str:
    days = m.Validity.of_days(first, last)
    if days.start is None:
        return f"up to {days.end}"
    if days.end is None:
        return f"from {days.start} on"
    return f"from {days.start} to {days.end}" if first != last else f"on {days.start}"


@attrs.frozen
class _Override:
    """A named rule statement of a policy that replaces inherited rules of its name: the
    statement, its rules (a table's rows), and the rules it replaces."""

    statement: n.NamedRule
    rules: list[m.Rule]
    replaced: list[m.Rule]

    @property
    def replaced_ids(self) -> str:
        return ", ".join(f"'{i}'" for i in sorted({r.info.id for r in self.replaced}))


_RULE_ID = attrgetter("info.id")
_VALIDITY = attrgetter("info.validity")


def _overrides(ws: Workspace, scope: ModuleScope) -> list[_Override]:
    """The policy's named rule statements that replace inherited rules. A table's rows share
    their statement's id and come together, so a million rows are a few groups."""
    own: dict[str, tuple[n.NamedRule, list[m.Rule]]] = {}
    for rule, statement in scope.rules:
        if isinstance(statement, n.NamedRule):
            own.setdefault(statement.name.text, (statement, []))[1].append(rule)
    if not own:
        return []
    replaced: dict[str, list[m.Rule]] = {}
    for rule_id, rules in itertools.groupby(inherited_rules(ws, scope), key=_RULE_ID):
        name = rule_id.partition("/")[2]
        if name in own:
            replaced.setdefault(name, []).extend(rules)
    return [_Override(statement, rules, replaced[name])
            for name, (statement, rules) in own.items() if name in replaced]


def override_leaves_days(ws: Workspace) -> None:
    """W314: a named rule that replaces an inherited one on every date, but is in force on
    fewer: on the days between, neither applies. An override is by name, not by date, so a
    child policy's ``effective 2024-01-01`` over ``rule acu-90d`` leaves Medicare's
    ``acu-90d`` out before 2024 as well. The days are those of all the rules of each side (a
    table's rows), taken together."""
    for scope in ws.scopes.values():
        for override in _overrides(ws, scope):
            gaps = _days_outside(_days_of(set(map(_VALIDITY, override.replaced))),
                                 _days_of(set(map(_VALIDITY, override.rules))))
            if not gaps:
                continue
            name, theirs = override.statement.name.text, override.replaced_ids
            where = " and ".join(_stretch(first, last) for first, last in gaps[:3])
            more = f" and {len(gaps) - 3} more stretches" if len(gaps) > 3 else ""
            ws.record(warning(
                "W314", f"rule '{name}' replaces {theirs} on every date, but is not in force "
                f"itself {where}{more}, where {theirs} is: neither applies there; give this "
                f"rule those dates too (rule {name} effective DATE: ...), or name it otherwise "
                "to keep both", scope.module.path, override.statement.name.span))


# --- W315 ---------------------------------------------------------------------------------


def _codes_of(rules: list[m.Rule]) -> frozenset[str]:
    """The codes the rules judge (a table's rows share their code sets: each is taken once)."""
    return frozenset().union(*set(map(m.rule_codes, rules)))


def override_shares_no_code(ws: Workspace) -> None:
    """W315: a named rule that replaces an inherited one with which it shares no code. A
    rule is replaced by name alone, so a new rule given a name a parent uses (``scs-auth``)
    silently takes that rule off its codes; a real replacement judges some of the same."""
    for scope in ws.scopes.values():
        overrides = _overrides(ws, scope)
        # a rule moved off codes the policy deletes is a replacement, not a slip
        deleted = frozenset().union(*(r.codes for r, _ in scope.rules
                                      if isinstance(r, m.Deleted))) if overrides else frozenset()
        for override in overrides:
            theirs = _codes_of(override.replaced)
            if not theirs or not _codes_of(override.rules).isdisjoint(theirs) or (
                    theirs <= deleted):
                continue
            ws.record(warning(
                "W315", f"rule '{override.statement.name.text}' replaces "
                f"{override.replaced_ids}, which judges {codes_text(theirs)}, with which it "
                "shares no code: those codes lose that rule; if this is a new rule, give it a "
                "name of its own", scope.module.path, override.statement.name.span))

