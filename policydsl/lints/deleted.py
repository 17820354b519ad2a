"""W301: a rule that names a code a ``deleted`` rule in scope deletes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .. import codes as c
from .. import model as m
from .. import nodes as n
from ..resolve import ModuleScope, Workspace
from .index import (
    Index,
    Site,
    code_items,
    codes_text,
    index_for,
    set_home,
    token_for,
)

# --- W301 ---------------------------------------------------------------------------------


def _written_codes(ws: Workspace, site: Site) -> frozenset[str]:
    """The codes a statement writes out one by one, itself or in the sets it uses (through
    sets in sets): not those that only fall inside a range, as deleted codes do in the
    ranges of a payer's manual."""
    written: set[str] = set()
    seen: set[tuple[int, str]] = set()

    def add(items: Iterable[n.CodeItem], scope: ModuleScope) -> None:
        for item in items:
            if isinstance(item, n.CodeRange):
                continue
            if c.is_code(item.text):
                written.add(c.normalize(item.text))
                continue
            home = set_home(ws, scope, item.text)
            if home is not None and (id(home), item.text) not in seen:
                seen.add((id(home), item.text))
                node = home.set_nodes[item.text]
                if isinstance(node, n.SetDef):
                    add(node.items, home)

    add(code_items(site.body), site.scope)
    return frozenset(written)


def _named_codes(rule: m.Rule, site: Site) -> frozenset[str]:
    """Every code a rule names in its text (a ``global``'s default E/M codes are not named)."""
    if isinstance(rule, m.Forbid):
        return rule.triggers | rule.targets
    if isinstance(rule, m.Exclusive):
        return frozenset(rule.codes)
    if isinstance(rule, m.Global):
        written = isinstance(site.body, n.Global) and bool(site.body.covers)
        return rule.procedures | rule.covers if written else rule.procedures
    if isinstance(rule, m.Prerequisite):
        return rule.targets | rule.required
    if isinstance(rule, m.Addon):
        return rule.addons | rule.primaries
    if isinstance(rule, m.Deleted):
        return frozenset()
    return rule.codes


def _overlap_after(rule: m.Validity, deletion: m.Deleted) -> dt.date | None:
    """The first date both rules are in force and the deletion has taken effect, if any."""
    first = max(d for d in (deletion.since, deletion.info.validity.start, rule.start) if d)
    ends = [d for d in (deletion.info.validity.end, rule.end) if d is not None]
    return first if not ends or first <= min(ends) else None


def deleted_code_used(ws: Workspace) -> None:
    """W301: a rule names a code that a ``deleted`` rule of its rule set has deleted.

    Only when the two validities and the deletion overlap: a rule that ends before the
    deletion, or a deletion that is only in force before the rule starts, is fine.
    """
    index = index_for(ws)
    for parts in index.rulesets():
        if not parts.deleted:
            continue
        for rule in parts.text:
            site = index.site(rule)
            if site is None:
                continue
            named = _named_codes(rule, site) & _written_codes(ws, site)
            for deletion in parts.deleted:
                shared = named & deletion.codes
                if not shared:
                    continue
                first = _overlap_after(rule.info.validity, deletion)
                if first is None:
                    continue
                deleting = index.site(deletion)
                if deleting is not None and index.extends(deleting, site, rule):
                    _report_inherited_w301(index, rule, site, deletion, deleting, shared, first)
                    continue
                if deleting is not None and parts.meeting is not None and index.apart(
                        deleting, deletion, site, rule):
                    if index.met_before(parts.meeting, deletion, rule):
                        continue  # reported where they first meet
                    here = parts.meeting.file
                    index.report(
                        "W301",
                        f"{index.describe(deletion, here)} deletes {codes_text(shared)} since "
                        f"{deletion.since.isoformat()}, and {index.describe(rule, here)} still "
                        f"names {'it' if len(shared) == 1 else 'them'}; both are extended here, "
                        "where that rule is in force from "
                        f"{first.isoformat()}; {index.switch_off(rule)}",
                        here, parts.meeting.statement.span)
                    continue
                span, via = token_for(ws, site, min(shared))
                use = (f"use {', '.join(deletion.replacements)} instead, or "
                       if deletion.replacements else "")
                is_, it = ("is", "it") if len(shared) == 1 else ("are", "them")
                index.report(
                    "W301",
                    f"{codes_text(shared)}{via} {is_} deleted since "
                    f"{deletion.since.isoformat()} by {index.describe(deletion, site.file)}, but "
                    f"this rule still names {it} and is in force from {first.isoformat()}; "
                    f"{use}end the rule's validity before {deletion.since.isoformat()}",
                    site.file, span)


def _report_inherited_w301(index: Index, rule: m.Rule, site: Site, deletion: m.Deleted,
                           deleting: Site, shared: frozenset[str], first: dt.date) -> None:
    """W301 where a policy deletes a code that a rule it inherits names: at the deletion."""
    codes = codes_text(shared)
    is_ = "is" if len(shared) == 1 else "are"
    index.report(
        "W301",
        f"this deletes {codes}, which inherited {index.describe(rule, deleting.file)} still "
        f"names; here that rule is in force from {first.isoformat()}, when {codes} {is_} "
        f"deleted; {index.switch_off(rule)}",
        deleting.file, deleting.statement.span)
