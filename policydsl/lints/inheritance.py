"""Lints of what a policy does to the rules it inherits: W307 ``disable`` of an unnamed
rule by its line, W311 ``disable`` of a rule already off, W314 an override in force on
fewer days than the rule it replaces, W315 an override that shares no code with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from .. import model as m
from .. import nodes as n
from ..diagnostics import warning
from ..resolve import Workspace, disabled_above
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


def _days_outside(outer: m.Validity, inner: m.Validity) -> list[tuple[dt.date | None,
                                                                      dt.date | None]]:
    """The stretches of ``outer`` that ``inner`` leaves out (open ends as None)."""
    gaps: list[tuple[dt.date | None, dt.date | None]] = []
    if inner.start is not None and (outer.start is None or outer.start < inner.start):
        last = inner.start - dt.timedelta(days=1)
        if outer.end is None or outer.end >= inner.start:
            gaps.append((outer.start, last))
        else:
            gaps.append((outer.start, outer.end))
    if inner.end is not None and (outer.end is None or outer.end > inner.end):
        first = inner.end + dt.timedelta(days=1)
        if outer.start is None or outer.start <= inner.end:
            gaps.append((first, outer.end))
        elif not gaps:
            gaps.append((outer.start, outer.end))
    return gaps


def _stretch(first: dt.date | None, last: dt.date | None) -> str:
    if first is None:
        return f"up to {last}"
    if last is None:
        return f"from {first} on"
    return f"from {first} to {last}" if first != last else f"on {first}"


def override_leaves_days(ws: Workspace) -> None:
    """W314: a named rule that replaces an inherited one on every date, but is in force on
    fewer: on the days between, neither applies. An override is by name, not by date, so a
    child policy's ``effective 2024-01-01`` over ``rule acu-90d`` leaves Medicare's
    ``acu-90d`` out before 2024 as well."""
    for scope in ws.scopes.values():
        inherited = list(inherited_rules(ws, scope))
        for rule, statement in scope.rules:
            if not isinstance(statement, n.NamedRule):
                continue
            name, own = statement.name.text, rule.info.validity
            for replaced in inherited:
                if replaced.info.id.split("/", 1)[1] != name:
                    continue
                gaps = _days_outside(replaced.info.validity, own)
                if not gaps or replaced.info.validity.is_empty:
                    continue
                where = " and ".join(_stretch(first, last) for first, last in gaps)
                ws.record(warning(
                    "W314", f"rule '{name}' replaces '{replaced.info.id}' on every date, but "
                    f"is not in force itself {where}, where '{replaced.info.id}' is: neither "
                    "applies there; give this rule those dates too (rule "
                    f"{name} effective DATE: ...), or name it otherwise to keep both",
                    scope.module.path, statement.name.span))

# --- W315 ---------------------------------------------------------------------------------


def override_shares_no_code(ws: Workspace) -> None:
    """W315: a named rule that replaces an inherited one with which it shares no code. A
    rule is replaced by name alone, so a new rule given a name a parent uses (``scs-auth``)
    silently takes that rule off its codes; a real replacement judges some of the same."""
    for scope in ws.scopes.values():
        inherited: dict[str, list[m.Rule]] = {}
        for rule in inherited_rules(ws, scope):
            inherited.setdefault(rule.info.id.split("/", 1)[1], []).append(rule)
        # a rule moved off codes the policy deletes is a replacement, not a slip
        deleted = frozenset().union(*(r.codes for r, _ in scope.rules
                                      if isinstance(r, m.Deleted)))
        own: dict[int, tuple[n.NamedRule, set[str]]] = {}
        for rule, statement in scope.rules:
            if isinstance(statement, n.NamedRule) and statement.name.text in inherited:
                own.setdefault(id(statement), (statement, set()))[1].update(m.rule_codes(rule))
        for statement, codes in own.values():
            replaced = inherited[statement.name.text]
            theirs = frozenset().union(*map(m.rule_codes, replaced))
            if not theirs or not codes.isdisjoint(theirs) or theirs <= deleted:
                continue
            ids = sorted({r.info.id for r in replaced})
            ws.record(warning(
                "W315", f"rule '{statement.name.text}' replaces {_quoted_list(ids)}, which "
                f"judges {codes_text(theirs)}, with which it shares no code: those codes "
                "lose that rule; if this is a new rule, give it a name of its own",
                scope.module.path, statement.name.span))


def _quoted_list(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)
