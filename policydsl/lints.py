"""Lints: warnings about policy that is legal but probably not what the analyst meant.

Each lint is a function over the resolved ``Workspace`` that appends warnings; ``lints`` runs
them all. ``policyc check --strict`` turns these warnings into errors.

Lints read only what the resolver built: the model rules of each scope (with the statement
each came from) and the final ``RuleSet`` of each policy. A rule that failed to resolve is
simply absent, so a lint never sees half a rule. Rules read from a CMS ``table`` take part as
the *other* rule of a finding (an add-on written in the policy whose primary a PTP row forbids
with it is worth knowing), but a warning is only ever reported at a rule written in policy
text, the one thing an analyst can change (or, when the table is the extending policy's and
the other rule inherited, at its ``table`` statement). A finding between two rules is found in
every ``RuleSet`` holding both and reported once; when one rule's policy extends the other's,
in the extending policy's file (``_Index.extends``).

- W301 ``deleted_code_used``: a rule names a code that a ``deleted`` rule in scope deletes,
  and the rule would apply on or after the deletion. Named means written out, in the rule or
  a set it uses: a deleted code that only falls inside a range is not reported.
- W302 ``self_forbid``: ``when X forbid X``.
- W303 ``addon_primary_forbidden``: an add-on whose primary is forbidden with it (by a
  ``forbid``, or an ``exclusive`` listing both).
- W304 ``identical_rules``: two rules equal in all but id, source and message.
- W305 ``redundant_limit``: a limit that never denies a line a stricter limit does not.
- W306 ``unused_sets``: a set that no rule uses.
- W307 ``disable_by_line``: ``disable`` of an unnamed rule, whose id (``KIND@LINE``) follows
  its line and so changes when the lines of its file move.
- W308, W309 ``exclusive_conflicts``: two ``exclusive`` rules that rank two codes both ways
  (billed together, neither line is paid); an ``exclusive`` of one code (it never fires).
- W310 ``late_effective``: the file's ``effective`` written after a rule (it dates the
  rules above it too).
- W311 ``disable_again``: ``disable`` of a rule already switched off, by an earlier line or
  by a policy this one extends.
- W312 ``indented_after_rule``: a rule indented under a named rule, which is not part of it.
- W313 ``placeholder_diagnosis``: a diagnosis ending in X, ICD-10-CM's placeholder, which no
  complete code ends in (``M54.5x`` for ``M54.5*``).
- W314 ``override_leaves_days``: a named rule that replaces an inherited one (which it does
  on every date) but is not in force on some days the inherited one was.
- W315 ``override_shares_no_code``: a named rule that replaces an inherited one with which
  it shares no code: a new rule given a name its parent uses, most likely.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import cast

import attrs

from . import codes as c
from . import model as m
from . import nodes as n
from .diagnostics import warning
from .resolve import ModuleScope, Workspace, disabled_above, visible_scopes

#: The fields of rule bodies that hold procedure codes, in the order they are written.
_CODE_FIELDS: tuple[str, ...] = (
    "triggers", "targets", "codes", "addons", "primaries", "required", "procedures", "covers",
)


# --- where rules come from ----------------------------------------------------------------


@attrs.frozen
class _Site:
    """A rule written in policy text: its scope (file) and statement."""

    scope: ModuleScope
    statement: n.Node

    @property
    def file(self) -> str:
        return self.scope.module.path

    @property
    def body(self) -> n.Node:
        st = self.statement
        return st.body if isinstance(st, n.NamedRule) else st


@attrs.frozen
class _Parts:
    """One rule set's rules, sorted out once for every lint: its text rules in order, and
    every rule (text or table row) of the kinds that lints pair with others."""

    text: tuple[m.Rule, ...]
    deleted: tuple[m.Deleted, ...]
    addons: tuple[m.Addon, ...]
    forbids: tuple[m.Forbid, ...]
    exclusives: tuple[m.Exclusive, ...]
    # the rule set's own policy's first ``extends``: where a finding about two rules from two
    # policies it extends, neither extending the other, is reported (None: it extends none)
    meeting: _Site | None


class _Index:
    """Rules written in policy text, by identity, with the statement and file of each.

    Table rows share their statement and are not indexed (``site`` is ``None`` for them), so
    they are never reported at. Each warning is reported once, however many rule sets find
    it. One index serves every lint of a ``lints`` run.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.sites: dict[int, _Site] = {}
        self.text_rules: list[tuple[m.Rule, _Site]] = []  # in file and statement order
        for scope in ws.scopes.values():
            for rule, statement in scope.rules:
                body = statement.body if isinstance(statement, n.NamedRule) else statement
                if not isinstance(body, n.Table):
                    site = _Site(scope, statement)
                    self.sites[id(rule)] = site
                    self.text_rules.append((rule, site))
        self._parts: list[_Parts] | None = None
        self._extended: dict[str, frozenset[str]] = {}  # policy -> the policies it extends
        self._held: dict[str, frozenset[int]] = {}  # policy -> ids of the rules in force

    def table_site(self, rule: m.Rule) -> _Site | None:
        """The ``table`` statement a table row comes from, and its file; ``None`` for a rule
        written in policy text (``site``) or unknown."""
        if id(rule) in self.sites:
            return None
        statement = self.ws.origin.get(rule.info.id)
        scope = self.ws.scopes.get(rule.info.id.partition("/")[0])
        return None if statement is None or scope is None else _Site(scope, statement)

    def switch_off(self, rule: m.Rule) -> str:
        """How a policy that inherits ``rule`` switches it off: ``disable`` by id, or for an
        unnamed rule (whose id follows its line, W307) by a name given to it first."""
        name = rule.info.id.partition("/")[2]
        if _UNNAMED_ID.fullmatch(name):
            site = self.site(rule)
            where = f" in {site.file}" if site is not None else ""
            return f"name that rule{where} (rule NAME: ...) and disable it here by that name"
        return f"disable it here (disable {rule.info.id}) or override it by name"

    def extends(self, child: _Site, parent: _Site, rule: m.Rule) -> bool:
        """Whether ``child``'s policy extends ``parent``'s, directly or not, and still has
        ``rule`` (one of ``parent``'s) in force. Two rules of a policy and one it extends meet
        in the extending policy: a finding about the pair is reported in its file, the one that
        brought them together (the parent is fine alone and serves other policies too). Not
        when the extending policy overrode or disabled ``rule``: the pair then meets only in
        a policy that brings ``rule`` back through another parent (``apart``)."""
        return (parent.scope.name in self._ancestors(child.scope)
                and self.holds(child.scope.name, rule))

    def _ancestors(self, scope: ModuleScope) -> frozenset[str]:
        """The policies ``scope``'s policy extends, directly or not."""
        extended = self._extended.get(scope.name)
        if extended is None:
            extended = self._extended[scope.name] = frozenset(
                s.name for s in visible_scopes(self.ws, scope) if s is not scope)
        return extended

    def holds(self, policy: str, rule: m.Rule) -> bool:
        """Whether ``rule`` is in force in ``policy``'s rule set."""
        held = self._held.get(policy)
        if held is None:
            ruleset = self.ws.rulesets.get(policy)
            held = self._held[policy] = frozenset(
                map(id, ruleset.rules if ruleset is not None else ()))
        return id(rule) in held

    def met_before(self, meeting: _Site, one: m.Rule, other: m.Rule) -> bool:
        """Whether a policy that ``meeting``'s policy extends has both rules in force already:
        a finding about the pair is then reported where they first meet, not again here."""
        return any(self.holds(name, one) and self.holds(name, other)
                   for name in self._ancestors(meeting.scope))

    def site(self, rule: m.Rule) -> _Site | None:
        """Where a rule written in policy text is; ``None`` for table rows and unknown rules."""
        return self.sites.get(id(rule))

    def report(self, code: str, message: str, file: str, span: n.Span) -> None:
        self.ws.record(warning(code, message, file, span))

    def describe(self, rule: m.Rule, here: str) -> str:
        """``rule 'p/x' (line 4)``, with the file when it is not ``here``; table rows by row."""
        site = self.site(rule)
        if site is None:
            return f"rule '{rule.info.id}' ({rule.info.source})"
        line = site.statement.span.line
        where = f"line {line}" if site.file == here else f"{site.file}:{line}"
        return f"rule '{rule.info.id}' ({where})"

    def rulesets(self) -> list[_Parts]:
        """Every rule set, sorted out (once)."""
        if self._parts is None:
            self._parts = []
            for ruleset in self.ws.rulesets.values():
                text: list[m.Rule] = []
                deleted: list[m.Deleted] = []
                addons: list[m.Addon] = []
                forbids: list[m.Forbid] = []
                exclusives: list[m.Exclusive] = []
                for rule in ruleset.rules:
                    if id(rule) in self.sites:
                        text.append(rule)
                    if isinstance(rule, m.Deleted):
                        deleted.append(rule)
                    elif isinstance(rule, m.Addon):
                        addons.append(rule)
                    elif isinstance(rule, m.Forbid):
                        forbids.append(rule)
                    elif isinstance(rule, m.Exclusive):
                        exclusives.append(rule)
                self._parts.append(_Parts(tuple(text), tuple(deleted), tuple(addons),
                                          tuple(forbids), tuple(exclusives),
                                          self._meeting(ruleset.name)))
        return self._parts

    def _meeting(self, policy: str) -> _Site | None:
        scope = self.ws.scopes.get(policy)
        if scope is None:
            return None
        extends = next((st for st in scope.module.statements if isinstance(st, n.Extends)),
                       None)
        return None if extends is None else _Site(scope, extends)

    def apart(self, one: _Site, one_rule: m.Rule, other: _Site, other_rule: m.Rule) -> bool:
        """Whether two rules' policies are apart: neither is the other, nor extends it with
        the other rule in force. They then meet only in a policy that extends both."""
        return (one.scope is not other.scope and not self.extends(one, other, other_rule)
                and not self.extends(other, one, one_rule))


_CURRENT: contextvars.ContextVar[_Index | None] = contextvars.ContextVar("lint_index",
                                                                         default=None)


def _index(ws: Workspace) -> _Index:
    """The index of the ``lints`` run under way for ``ws``, or a new one (a lint run alone)."""
    current = _CURRENT.get()
    return current if current is not None and current.ws is ws else _Index(ws)


def _set_home(ws: Workspace, scope: ModuleScope, name: str) -> ModuleScope | None:
    """The scope that defines the set ``name`` as ``scope`` sees it (itself, then parents)."""
    return next((s for s in visible_scopes(ws, scope) if name in s.set_nodes), None)


def _set_codes(ws: Workspace, scope: ModuleScope, name: str) -> tuple[str, ...]:
    """The expanded codes of the set ``name`` as ``scope`` sees it (empty if it failed)."""
    home = _set_home(ws, scope, name)
    return () if home is None else home.sets.get(name, ())


def _in_range(code: str, item: n.CodeRange) -> bool:
    low, high = c.normalize(item.low.text), c.normalize(item.high.text)
    shape = c.code_shape(code)
    return shape is not None and shape == c.code_shape(low) == c.code_shape(high) and (
        low <= code <= high)


def _code_items(body: n.Node, fields: Iterable[str] = _CODE_FIELDS) -> Iterator[n.CodeItem]:
    for name in fields:
        value = getattr(body, name, ())
        if isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, (n.Word, n.CodeRange)))


def _token_for(ws: Workspace, site: _Site, code: str,
               fields: Iterable[str] = _CODE_FIELDS) -> tuple[n.Span, str]:
    """The span of the token through which the statement names ``code``, and ``via set X``.

    A code written out or inside a range is its own token; a code reached through a set is
    the set name's token. The statement's span when nothing matches (it cannot, normally).
    """
    items = list(_code_items(site.body, fields))
    for item in items:  # the code written out wins over a range or set that holds it too
        if isinstance(item, n.Word) and c.is_code(item.text) and c.normalize(item.text) == code:
            return item.span, ""
    for item in items:
        if isinstance(item, n.CodeRange):
            if _in_range(code, item):
                return item.span, ""
        elif not c.is_code(item.text) and code in _set_codes(ws, site.scope, item.text):
            return item.span, f" (through set '{item.text}')"
    return site.statement.span, ""


def _codes_text(codes: Iterable[str], limit: int = 6) -> str:
    ordered = sorted(codes)
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown} and {len(ordered) - limit} more"


# --- W301 ---------------------------------------------------------------------------------


def _written_codes(ws: Workspace, site: _Site) -> frozenset[str]:
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
            home = _set_home(ws, scope, item.text)
            if home is not None and (id(home), item.text) not in seen:
                seen.add((id(home), item.text))
                node = home.set_nodes[item.text]
                if isinstance(node, n.SetDef):
                    add(node.items, home)

    add(_code_items(site.body), site.scope)
    return frozenset(written)


def _named_codes(rule: m.Rule, site: _Site) -> frozenset[str]:
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
    index = _index(ws)
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
                        f"{index.describe(deletion, here)} deletes {_codes_text(shared)} since "
                        f"{deletion.since.isoformat()}, and {index.describe(rule, here)} still "
                        f"names {'it' if len(shared) == 1 else 'them'}; both are extended here, "
                        "where that rule is in force from "
                        f"{first.isoformat()}; {index.switch_off(rule)}",
                        here, parts.meeting.statement.span)
                    continue
                span, via = _token_for(ws, site, min(shared))
                use = (f"use {', '.join(deletion.replacements)} instead, or "
                       if deletion.replacements else "")
                is_, it = ("is", "it") if len(shared) == 1 else ("are", "them")
                index.report(
                    "W301",
                    f"{_codes_text(shared)}{via} {is_} deleted since "
                    f"{deletion.since.isoformat()} by {index.describe(deletion, site.file)}, but "
                    f"this rule still names {it} and is in force from {first.isoformat()}; "
                    f"{use}end the rule's validity before {deletion.since.isoformat()}",
                    site.file, span)


def _report_inherited_w301(index: _Index, rule: m.Rule, site: _Site, deletion: m.Deleted,
                           deleting: _Site, shared: frozenset[str], first: dt.date) -> None:
    """W301 where a policy deletes a code that a rule it inherits names: at the deletion."""
    codes = _codes_text(shared)
    is_ = "is" if len(shared) == 1 else "are"
    index.report(
        "W301",
        f"this deletes {codes}, which inherited {index.describe(rule, deleting.file)} still "
        f"names; here that rule is in force from {first.isoformat()}, when {codes} {is_} "
        f"deleted; {index.switch_off(rule)}",
        deleting.file, deleting.statement.span)


# --- W302 ---------------------------------------------------------------------------------


def self_forbid(ws: Workspace) -> None:
    """W302: ``when X forbid X``: a forbid whose triggers and targets share a code."""
    index = _index(ws)
    for rule, site in index.text_rules:
        if not isinstance(rule, m.Forbid):
            continue
        shared = rule.triggers & rule.targets
        if not shared:
            continue
        span, via = _token_for(ws, site, min(shared), ("targets",))
        verb = "forbids itself" if len(shared) == 1 else "forbid themselves"
        outcome = ("pend each other and both go to review" if rule.info.action == "review"
                   else "deny each other and neither is paid")
        index.report(
            "W302",
            f"{_codes_text(shared)}{via} {verb}: two lines of the code the same day "
            f"{outcome}; remove it from the triggers or the targets, and to pay only one "
            "line a day use 'limit CODE per day <= 1' or 'mue'",
            site.file, span)


# --- W303 ---------------------------------------------------------------------------------


def _meet(a: m.Validity, b: m.Validity) -> bool:
    """Whether two validities share a date."""
    return not ((a.start and b.end and b.end < a.start) or (b.start and a.end and a.end < b.start))


def _blocks(forbid: m.Forbid | m.Exclusive, addon: m.Addon) -> tuple[str, str, str] | None:
    """``(addon code, primary code, denied code)`` when ``forbid`` stops ``addon`` cold.

    A forbid with an ``unless modifier`` or a ``review`` action can be got past, so it does
    not count; nor does one whose validity never meets the add-on's. An ``exclusive`` denies
    each code it lists after another that is billed: it is a forbid of every such pair.
    """
    if forbid.info.action != "deny":
        return None
    if not _meet(addon.info.validity, forbid.info.validity):
        return None
    if isinstance(forbid, m.Exclusive):
        rank = {code: at for at, code in enumerate(forbid.codes)}
        for code in sorted(addon.addons & rank.keys()):
            primaries = sorted((addon.primaries & rank.keys()) - {code})
            if primaries:
                primary = primaries[0]
                return code, primary, primary if rank[code] < rank[primary] else code
        return None
    if forbid.bypass:
        return None
    for code in sorted(addon.addons & forbid.triggers):
        primaries = sorted((addon.primaries & forbid.targets) - {code})
        if primaries:
            return code, primaries[0], primaries[0]
    for code in sorted(addon.addons & forbid.targets):
        primaries = sorted((addon.primaries & forbid.triggers) - {code})
        if primaries:
            return code, primaries[0], code
    return None


class _AddonsByCode:
    """Add-on rules, in their order, found by the codes they name as add-ons."""

    def __init__(self, addons: Sequence[m.Addon]) -> None:
        self.addons = addons
        self.positions: dict[str, list[int]] = {}
        for at, addon in enumerate(addons):
            for code in addon.addons:
                self.positions.setdefault(code, []).append(at)

    def naming(self, forbid: m.Forbid | m.Exclusive) -> list[m.Addon]:
        """The add-ons, in order, that name an add-on code ``forbid`` names: only those can
        be blocked by it (``_blocks`` needs an add-on code among its codes)."""
        codes: Collection[str] = (forbid.triggers | forbid.targets
                                  if isinstance(forbid, m.Forbid) else forbid.codes)
        if len(codes) > len(self.positions):
            return [a for a in self.addons if not a.addons.isdisjoint(codes)]
        found = {at for code in codes for at in self.positions.get(code, ())}
        return [self.addons[at] for at in sorted(found)]


def addon_primary_forbidden(ws: Workspace) -> None:
    """W303: ``addon A requires P`` while a forbid denies P with A, or A with P.

    The add-on can then never be paid with that primary. Reported at the add-on (at the
    primary's token) when it is written in policy text, else at the forbid; and at the
    forbid when the forbid's policy extends the add-on's (see ``_Index.extends``).
    """
    index = _index(ws)
    for parts in index.rulesets():
        if not parts.addons or not (parts.forbids or parts.exclusives):
            continue
        text_addons = [r for r in parts.addons if index.site(r) is not None]
        text_codes: frozenset[str] = frozenset().union(
            *(r.addons | r.primaries for r in text_addons))
        at_addon: set[tuple[int, str, str]] = set()  # (forbid, add-on, primary) told already
        at_forbid: list[tuple[m.Addon, m.Forbid | m.Exclusive, tuple[str, str, str]]] = []
        blockers: list[m.Forbid | m.Exclusive] = [*parts.forbids, *parts.exclusives]
        addons_of_text = _AddonsByCode(text_addons)
        addons_of_all = _AddonsByCode(parts.addons)
        for forbid in blockers:
            forbid_is_text = index.site(forbid) is not None
            if not forbid_is_text and isinstance(forbid, m.Forbid) and (
                    forbid.triggers.isdisjoint(text_codes)
                    or forbid.targets.isdisjoint(text_codes)):
                continue  # a table row can only matter to an add-on written in text
            for addon in (addons_of_all if forbid_is_text else addons_of_text).naming(forbid):
                found = _blocks(forbid, addon)
                if found is None:
                    continue
                addon_site, forbid_site = index.site(addon), index.site(forbid)
                if addon_site is None or (forbid_site is not None
                                          and index.extends(forbid_site, addon_site, addon)):
                    at_forbid.append((addon, forbid, found))
                else:
                    at_addon.add((id(forbid), found[0], found[1]))
                    _report_w303(ws, index, parts.meeting, addon, forbid, *found)
        for addon, forbid, found in at_forbid:
            if (id(forbid), found[0], found[1]) not in at_addon:
                _report_w303(ws, index, parts.meeting, addon, forbid, *found)


def _report_w303(ws: Workspace, index: _Index, meeting: _Site | None, addon: m.Addon,
                 forbid: m.Forbid | m.Exclusive, code: str, primary: str, denied: str) -> None:
    """At the add-on, unless it is a table row or the forbid's policy extends its policy:
    then at the forbid; at ``meeting`` (the rule set's ``extends``) when their policies are
    apart."""
    other = primary if denied == code else code
    what = (f"{denied} is denied when {other} is billed the same day")
    kind = "exclusive" if isinstance(forbid, m.Exclusive) else "forbid"
    verb = "pays only one of" if kind == "exclusive" else "forbids"
    remove = "one of them" if kind == "exclusive" else "the pair"
    addon_site, forbid_site = index.site(addon), index.site(forbid)
    addon_at = addon_site or index.table_site(addon)
    forbid_at = forbid_site or index.table_site(forbid)
    if (addon_at is not None and forbid_at is not None and meeting is not None
            and index.apart(addon_at, addon, forbid_at, forbid)):
        if index.met_before(meeting, addon, forbid):
            return
        here = meeting.file
        index.report(
            "W303",
            f"add-on {code} of {index.describe(addon, here)} can never be paid with its "
            f"primary {primary} here: {index.describe(forbid, here)} {verb} the pair ({what}); "
            f"both are extended here; {index.switch_off(forbid)}",
            here, meeting.statement.span)
        return
    if (addon_at is not None and forbid_at is not None
            and index.extends(addon_at, forbid_at, forbid)):
        # the add-on's policy extends the forbid's: at the add-on (a table's: its statement)
        if addon_site is not None:
            span, via = _token_for(ws, addon_site, primary, ("primaries",))
            what_addon = f"add-on {code}"
        else:
            span, via = addon_at.statement.span, ""
            what_addon = f"add-on {code} of this table ({addon.info.source})"
        index.report(
            "W303",
            f"{what_addon} can never be paid with its primary {primary}{via}: inherited "
            f"{index.describe(forbid, addon_at.file)} {verb} the pair ({what}); "
            f"{index.switch_off(forbid)}"
            + (f", or remove {primary} from this add-on's primaries"
               if addon_site is not None else ""),
            addon_at.file, span)
        return
    if forbid_site is None and forbid_at is not None and addon_at is not None \
            and index.extends(forbid_at, addon_at, addon):
        # a table row of the extending policy against an inherited add-on: at the table
        index.report(
            "W303",
            f"a row of this table ({forbid.info.source}) stops inherited add-on {code} from "
            f"ever being paid with its primary {primary} ({what}), which "
            f"{index.describe(addon, forbid_at.file)} requires; {index.switch_off(addon)}",
            forbid_at.file, forbid_at.statement.span)
        return
    if addon_site is not None and not (forbid_at is not None
                                       and index.extends(forbid_at, addon_site, addon)):
        span, via = _token_for(ws, addon_site, primary, ("primaries",))
        index.report(
            "W303",
            f"add-on {code} can never be paid with its primary {primary}{via}: "
            f"{index.describe(forbid, addon_site.file)} {verb} the pair ({what}); remove "
            f"{remove} from that {kind}, or {primary} from this add-on's primaries",
            addon_site.file, span)
    elif forbid_site is not None:
        span, via = _token_for(ws, forbid_site, denied, ("targets", "codes"))
        index.report(
            "W303",
            f"this {kind} stops add-on {code} from ever being paid with its primary {primary} "
            f"({what}), which {index.describe(addon, forbid_site.file)} requires; remove "
            f"{remove} from this {kind}",
            forbid_site.file, span)


# --- W304 ---------------------------------------------------------------------------------


def _stripped(rule: m.Rule) -> m.Rule:
    """The rule with its info reduced to what changes a decision: validity, action, CARC."""
    info = rule.info
    bare = m.RuleInfo(id="", action=info.action, carc=info.carc, message="", source="",
                      validity=info.validity)
    return attrs.evolve(rule, info=bare)


def identical_rules(ws: Workspace) -> None:
    """W304: two rules of one rule set equal in everything but id, source and message.

    Reported at the later one (in rule set order), naming the first. Rules of the same
    statement (table rows) are not compared with each other.
    """
    index = _index(ws)
    for parts in index.rulesets():
        first: dict[m.Rule, m.Rule] = {}
        for rule in parts.text:
            site = index.site(rule)
            if site is None:
                continue
            key = _stripped(rule)
            earlier = first.setdefault(key, rule)
            if earlier is rule:
                continue
            first_site = index.site(earlier)
            inherited = first_site is not None and first_site.file != site.file
            remedy = (f"remove this one, or switch the inherited one off: "
                      f"{index.switch_off(earlier)}" if inherited else "remove one of them")
            index.report(
                "W304",
                f"this rule is identical to {index.describe(earlier, site.file)} except for "
                "its id and message: both fire on the same lines with the same action and "
                f"CARC; {remedy}",
                site.file, site.statement.span)


# --- W305 ---------------------------------------------------------------------------------


def _validity_contains(outer: m.Validity, inner: m.Validity) -> bool:
    starts = outer.start is None or (inner.start is not None and outer.start <= inner.start)
    ends = outer.end is None or (inner.end is not None and inner.end <= outer.end)
    return starts and ends


def _stricter(strict: m.Limit, weak: m.Limit) -> bool:
    """Whether ``strict`` denies every line ``weak`` would (so ``weak`` never decides)."""
    return (strict.codes == weak.codes and strict.sessions == weak.sessions
            and strict.by_provider == weak.by_provider and strict.bypass <= weak.bypass
            and strict.maximum <= weak.maximum
            and strict.window.holds(weak.window)
            and _validity_contains(strict.info.validity, weak.info.validity)
            and not (strict.info.action == "review" and weak.info.action == "deny"))


def redundant_limit(ws: Workspace) -> None:
    """W305: a limit that a stricter one on the same codes makes redundant.

    ``weak`` is redundant when ``strict`` has the same codes, measure and provider scope, no
    bypass modifier ``weak`` lacks, a window that holds ``weak``'s for every date, a maximum no
    higher, a validity that holds ``weak``'s, and an action at least as severe: whenever
    ``weak`` would fire, ``strict`` already has. Reported at the redundant limit, or at the
    stricter one when its policy extends the redundant one's (see ``_Index.extends``). Two
    limits that make each other redundant are reported once, at the later; identical ones
    are W304's.
    """
    index = _index(ws)
    for parts in index.rulesets():
        limits = [r for r in parts.text if isinstance(r, m.Limit)]
        stripped = [_stripped(limit) for limit in limits]
        # only a limit on the same codes, measure and provider scope can be stricter: each
        # limit is compared with those (in rule set order), not with every other limit; and
        # limits equal but for id and message (W304's) are one limit to compare, by value
        alike: dict[tuple[frozenset[str], bool, bool], dict[m.Rule, list[int]]] = {}
        for i, limit in enumerate(limits):
            alike.setdefault((limit.codes, limit.sessions, limit.by_provider), {}).setdefault(
                stripped[i], []).append(i)
        for i, weak in enumerate(limits):
            j = _stricter_limit(i, weak, stripped[i],
                                alike[weak.codes, weak.sessions, weak.by_provider])
            if j is None:
                continue
            strict = limits[j]
            site, strict_site = index.site(weak), index.site(strict)
            assert site is not None and strict_site is not None
            if index.extends(strict_site, site, weak):
                _report_inherited_w305(index, weak, strict, strict_site)
            elif parts.meeting is not None and index.apart(strict_site, strict, site, weak):
                if index.met_before(parts.meeting, strict, weak):
                    continue
                here = parts.meeting.file
                index.report(
                    "W305",
                    f"{index.describe(weak, here)}, {weak.maximum} per {weak.window}, is "
                    f"redundant here: {index.describe(strict, here)}, {strict.maximum} per "
                    f"{strict.window} on the same codes and measure, already denies every "
                    f"line it would; both are extended here; {index.switch_off(weak)}",
                    here, parts.meeting.statement.span)
            else:
                index.report(
                    "W305",
                    f"this limit ({weak.maximum} per {weak.window}) is redundant: "
                    f"{index.describe(strict, site.file)}, {strict.maximum} per "
                    f"{strict.window} on the same codes and measure"
                    f"{'' if strict.bypass == weak.bypass else ', with fewer unless modifiers'}"
                    ", already denies every line it would; remove this limit, or make it "
                    "stricter than the other",
                    site.file, site.body.span)


def _stricter_limit(i: int, weak: m.Limit, value: m.Rule, alike: dict[m.Rule, list[int]]
                    ) -> int | None:
    """The first limit (by position) that makes limit ``i`` (``weak``, of ``value`` stripped)
    redundant, among the ``alike`` ones (positions by value); of two that make each other
    redundant, only the earlier makes the later so."""
    found: int | None = None
    for other, positions in alike.items():
        strict = cast(m.Limit, other)
        if other == value or not _stricter(strict, weak):
            continue
        if _stricter(weak, strict):  # mutual: reported at the later one
            j = positions[0] if positions[0] < i else None
        else:
            j = positions[0]
        if j is not None and (found is None or j < found):
            found = j
    return found


def _report_inherited_w305(index: _Index, weak: m.Limit, strict: m.Limit,
                           strict_site: _Site) -> None:
    """W305 where a policy's limit makes a limit it inherits redundant: at its own limit."""
    index.report(
        "W305",
        f"this limit ({strict.maximum} per {strict.window}) makes inherited "
        f"{index.describe(weak, strict_site.file)}, {weak.maximum} per {weak.window} on the "
        "same codes and measure, redundant in this policy: this one already denies every "
        f"line that one would; {index.switch_off(weak)}",
        strict_site.file, strict_site.body.span)


# --- W306 ---------------------------------------------------------------------------------


#: The fields of rule bodies whose words are modifiers, never set names.
_MODIFIER_FIELDS = frozenset({"bypass", "modifiers"})


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
        body = statement.body if isinstance(statement, n.NamedRule) else statement
        if not isinstance(body, n.RULE_BODIES):
            continue
        for field in attrs.fields(type(body)):
            value = getattr(body, field.name)
            if isinstance(value, tuple) and field.name not in _MODIFIER_FIELDS:
                yield from _set_names(value)


def _reached_sets(ws: Workspace) -> set[tuple[str, str]]:
    """``(policy, set name)`` of every set a rule uses, directly or through other sets.

    The resolver marks the sets rules name (and those a hint of its errors names); rules
    that did not build are read for theirs. A set already expanded is not walked again, so
    the sets inside it are reached here, by name, through the definitions.
    """
    stack = [(scope, name) for scope in ws.scopes.values() for name in scope.used_sets]
    for scope in ws.scopes.values():
        for name in _written_sets(scope):
            home = _set_home(ws, scope, name)
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
            home = _set_home(ws, scope, set_name)
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


# --- W307 ---------------------------------------------------------------------------------

_UNNAMED_ID = re.compile(r"[a-z_]+@[0-9]+")


def disable_by_line(ws: Workspace) -> None:
    """W307: ``disable`` of an unnamed rule: its id holds the rule's line, which ``policyc fmt``
    or a comment added above it changes, and the ``disable`` then names no rule. Not where
    it names no rule already (that is the error E106)."""
    unknown = {(d.file, d.span) for d in ws.diagnostics if d.code == "E106"}
    for scope in ws.scopes.values():
        for ref in scope.disables:
            policy, _, rule = ref.text.partition("/")
            if _UNNAMED_ID.fullmatch(rule) and (scope.module.path, ref.span) not in unknown:
                ws.record(warning(
                    "W307", f"disable names the unnamed rule '{ref.text}' by its line, which "
                    f"changes when the lines of {policy} move (a comment added above it, "
                    "policyc fmt); name the rule (rule NAME: ...) and disable it by name",
                    scope.module.path, ref.span))


# --- W308, W309 ---------------------------------------------------------------------------


def exclusive_conflicts(ws: Workspace) -> None:
    """W308: two ``exclusive`` rules of one rule set (both deny, in force together) that rank
    two codes both ways: billed together, each denies the code the other keeps, and neither
    line is paid. Reported at the later one, naming the first. W309: an ``exclusive`` of one
    code, which never fires."""
    index = _index(ws)
    for parts in index.rulesets():
        ranked: list[tuple[m.Exclusive, dict[str, int]]] = []
        ranked_by_code: dict[str, list[int]] = {}  # code -> positions in ranked
        for rule in parts.text:
            if not isinstance(rule, m.Exclusive):
                continue
            site = index.site(rule)
            if site is None:
                continue
            if len(set(rule.codes)) == 1:
                index.report(
                    "W309",
                    f"this exclusive lists only {rule.codes[0]}, so it never fires: it keeps "
                    "one code of its list a day and acts on the others; list the codes it "
                    "wins over, or to pay one line a day use 'limit CODE per day <= 1'",
                    site.file, site.statement.span)
                continue
            if rule.info.action != "deny":
                continue
            rank = {code: at for at, code in enumerate(rule.codes)}
            # only an earlier exclusive sharing two codes with this one can rank them both ways
            shared = Counter(at for code in rank for at in ranked_by_code.get(code, ()))
            for earlier, earlier_rank in (ranked[at] for at in sorted(shared)
                                          if shared[at] > 1):
                if not _meet(earlier.info.validity, rule.info.validity):
                    continue
                both = sorted(earlier_rank.keys() & rank.keys())
                crossed = next(((a, b) for a in both for b in both
                                if earlier_rank[a] < earlier_rank[b] and rank[b] < rank[a]),
                               None)
                if crossed is None:
                    continue
                kept, lost = crossed
                index.report(
                    "W308",
                    f"this exclusive keeps {lost} over {kept}, and "
                    f"{index.describe(earlier, site.file)} keeps {kept} over {lost}: billed "
                    "the same day by one provider, both lines are denied; list the codes in "
                    "one order",
                    site.file, site.statement.span)
                break
            for code in rank:
                ranked_by_code.setdefault(code, []).append(len(ranked))
            ranked.append((rule, rank))
        _exclusive_against_forbids(index, parts, ranked)


def _ranked_pairs(rank: dict[str, int], denying: dict[tuple[str, str], list[m.Forbid]]
                  ) -> list[tuple[str, str]]:
    """The pairs (kept, lost) of an exclusive's codes, kept ranked first, that a forbid may
    be about, in order: all pairs of a short list, or for a long one (its pairs outnumber
    the forbid pairs) those the forbid pairs name."""
    if len(rank) ** 2 <= len(denying):
        return [(a, b) for a in sorted(rank) for b in sorted(rank) if rank[a] < rank[b]]
    return sorted((kept, lost) for lost, kept in denying
                  if kept in rank and lost in rank and rank[kept] < rank[lost])


def _exclusive_against_forbids(index: _Index, parts: _Parts,
                               ranked: list[tuple[m.Exclusive, dict[str, int]]]) -> None:
    """W308 for an ``exclusive`` that keeps a code over another which, by a ``forbid`` (of the
    text or a PTP table), denies it: billed together, both lines are denied. Reported at the
    exclusive, or at the forbid when the forbid's policy extends the exclusive's."""
    if not ranked:
        return
    denying: dict[tuple[str, str], list[m.Forbid]] = {}  # (trigger, target) -> forbids
    for forbid in parts.forbids:
        if forbid.info.action == "deny":
            for trigger in forbid.triggers:
                for target in forbid.targets:
                    denying.setdefault((trigger, target), []).append(forbid)
    for rule, rank in ranked:
        site = index.site(rule)
        if site is None:
            continue
        for kept, lost in _ranked_pairs(rank, denying):
            against = next((f for f in denying.get((lost, kept), ())
                            if _meet(f.info.validity, rule.info.validity)), None)
            if against is None:
                continue
            there = index.site(against)
            if there is not None and index.apart(there, against, site, rule):
                continue  # they meet only in a policy extending both: left to its reader
            if there is not None and index.extends(there, site, rule):
                index.report(
                    "W308",
                    f"this forbids {kept} when {lost} is billed, and "
                    f"{index.describe(rule, there.file)} keeps {kept} over {lost}: billed the "
                    "same day by one provider, both lines are denied",
                    there.file, there.statement.span)
            else:
                index.report(
                    "W308",
                    f"this exclusive keeps {kept} over {lost}, and "
                    f"{index.describe(against, site.file)} forbids {kept} when {lost} is "
                    "billed: billed the same day by one provider, both lines are denied",
                    site.file, site.statement.span)
            break


# --- W310 ---------------------------------------------------------------------------------


def late_effective(ws: Workspace) -> None:
    """W310: the file's ``effective`` written after a rule. It dates every rule of the file,
    those above it too; under a rule, indented, it reads as that rule's own date, which a
    rule's header gives (``rule NAME effective DATE: ...``)."""
    index = _index(ws)
    for scope in ws.scopes.values():
        statements = scope.module.statements
        first_rule = next((st for st in statements
                           if isinstance(st, (n.NamedRule, *n.RULE_BODIES))), None)
        if first_rule is None:
            continue
        for st in statements:
            if isinstance(st, n.Effective) and st.span.line > first_rule.span.line:
                index.report(
                    "W310",
                    "this sets the validity of every rule in the file, the rules above it "
                    f"too (from line {first_rule.span.line}); to date one rule, give it in "
                    "the rule's header (rule NAME effective DATE: ...), or move this line "
                    "above the rules",
                    scope.module.path, st.span)


# --- W311 ---------------------------------------------------------------------------------


def disable_again(ws: Workspace) -> None:
    """W311: ``disable`` of a rule already switched off: by an earlier ``disable`` of the same
    file, or by a policy this one extends (when no other parent brings the rule back). The
    rule is not in force either way; the line does nothing."""
    index = _index(ws)
    for scope in ws.scopes.values():
        earlier: dict[str, n.Word] = {}
        inherited = {rule.info.id for rule in _inherited(ws, scope)} if scope.disables else set()
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


def _inherited(ws: Workspace, scope: ModuleScope) -> Iterator[m.Rule]:
    """The rules in force in the policies ``scope`` extends."""
    for parent in scope.parents:
        ruleset = ws.rulesets.get(parent.text)
        if ruleset is not None:
            yield from ruleset.rules


# --- W312 ---------------------------------------------------------------------------------


def indented_after_rule(ws: Workspace) -> None:
    """W312: a rule statement indented under a named rule, which reads as part of that rule
    but is a rule of its own: a rule has one body, so a second limit written under ``rule acu
    review carc 96: ...`` is an unnamed rule that denies with its kind's CARC."""
    index = _index(ws)
    for scope in ws.scopes.values():
        for before, st in itertools.pairwise(scope.module.statements):
            if (isinstance(before, n.NamedRule) and isinstance(st, n.RULE_BODIES)
                    and st.span.column > 1 and st.span.line > before.span.line):
                index.report(
                    "W312", f"this rule is indented under rule '{before.name.text}' (line "
                    f"{before.span.line}) but is not part of it: a rule has one statement, so "
                    "this is an unnamed rule of its own, with its kind's action and CARC; name "
                    "it (rule NAME: ...), or move it to the margin", scope.module.path, st.span)


# --- W313 ---------------------------------------------------------------------------------


def placeholder_diagnosis(ws: Workspace) -> None:
    """W313: a diagnosis that ends in X. ICD-10-CM writes X only as a placeholder before a
    7th character, so no complete code ends in it, and a claim's diagnosis never is exactly
    that code: ``M54.5x`` is mostly meant as "any M54.5 code", which is ``M54.5*``."""
    for scope in ws.scopes.values():
        for statement in scope.module.statements:
            body = statement.body if isinstance(statement, n.NamedRule) else statement
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
        inherited = list(_inherited(ws, scope))
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
        for rule in _inherited(ws, scope):
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
                f"judges {_codes_text(theirs)}, with which it shares no code: those codes "
                "lose that rule; if this is a new rule, give it a name of its own",
                scope.module.path, statement.name.span))


def _quoted_list(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


LINTS: list[tuple[str, Callable[[Workspace], None]]] = [
    ("deleted-code-used", deleted_code_used),
    ("self-forbid", self_forbid),
    ("addon-primary-forbidden", addon_primary_forbidden),
    ("identical-rules", identical_rules),
    ("redundant-limit", redundant_limit),
    ("unused-sets", unused_sets),
    ("disable-by-line", disable_by_line),
    ("exclusive-conflicts", exclusive_conflicts),
    ("late-effective", late_effective),
    ("disable-again", disable_again),
    ("indented-after-rule", indented_after_rule),
    ("placeholder-diagnosis", placeholder_diagnosis),
    ("override-leaves-days", override_leaves_days),
    ("override-shares-no-code", override_shares_no_code),
]


def lints(ws: Workspace) -> None:
    """Run every lint over the resolved workspace, appending warnings."""
    token = _CURRENT.set(_Index(ws))
    try:
        for _name, lint in LINTS:
            lint(ws)
    finally:
        _CURRENT.reset(token)

