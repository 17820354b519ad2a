"""The reference interpreter: ``docs/semantics.md``, written as directly as possible.

It walks every rule for every line and scans the member's whole history for every question,
so it is slow (quadratic per member) and meant to be obviously right. The compiled engine
(``codegen`` + ``engine``) must give the same decisions; the test suite checks that on
generated policies and histories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from . import model as m
from .claims import ClaimLine, Decision, Finding, decision_for, order_key


@attrs.define(eq=False)
class _Item:
    line: ClaimLine
    judged: bool  # False for history lines: already paid, counted as allowed
    denied: bool = False
    findings: list[Finding] = attrs.Factory(list)
    counts: bool = True  # False: an add-on that stage 4 is sure to deny counts toward nothing


def _finding(rule: m.Rule, related: Sequence[_Item] = ()) -> Finding:
    info = rule.info
    return Finding(info.id, info.action, info.carc, info.message, info.source,
                   tuple(i.line.ref for i in related))


def _same_provider(a: _Item, b: _Item) -> bool:
    return a.line.provider_id == b.line.provider_id


def _line_findings(rules: Sequence[m.Rule], line: ClaimLine) -> list[Finding]:
    """Stage 1: the rules that judge a line by itself."""
    out = []
    for rule in rules:
        if not rule.info.validity.covers(line.date):
            continue
        if isinstance(rule, m.Deleted):
            fired = line.code in rule.codes and line.date >= rule.since
        elif isinstance(rule, m.RequireDx):
            fired = line.code in rule.codes and not any(
                rule.diagnoses.matches(d) for d in line.dx)
        elif isinstance(rule, m.RequireAuth):
            fired = line.code in rule.codes and not line.auth.strip()
        elif isinstance(rule, m.ForbidModifier):
            fired = line.code in rule.codes and bool(rule.modifiers & set(line.modifiers))
        elif isinstance(rule, m.Mue) and not rule.per_day:
            fired = line.code in rule.codes and line.units > rule.maximum
        else:
            continue
        if fired:
            out.append(_finding(rule))
    return out


def _denies(findings: Sequence[Finding]) -> bool:
    return any(f.action == "deny" for f in findings)


class _Member:
    """One member's lines, judged date by date."""

    def __init__(self, rules: Sequence[m.Rule], items: list[_Item]):
        self.rules = rules
        self.items = sorted(items, key=lambda i: order_key(i.line, i.judged))
        # the date's procedures that start no period on it, and those that covered a line
        # of it in this judging of the date
        self.excluded: set[int] = set()
        self.started: set[int] = set()

    def run(self) -> None:
        dates = sorted({i.line.date for i in self.items})
        for day in dates:
            today = [i for i in self.items if i.line.date == day]
            self.line_stage(today)
            self.later_stages(today)

    def later_stages(self, today: list[_Item]) -> None:
        """Stages 2 to 4 of a date. A procedure that covers a line of its own date and that
        these stages deny starts no period: the date is judged again from stage 2 without it
        (the procedures taken out only grow). A judging in which a procedure taken out stands
        after all contradicts itself: the date is judged once more with the procedures the last
        judging bore out taken out, and stays so. At most ``MAX_DATE_RETRIES`` times again."""
        after_stage1 = [(i, list(i.findings), i.denied, i.counts) for i in today]

        def again() -> None:
            for item, findings, denied, counts in after_stage1:
                item.findings, item.denied, item.counts = list(findings), denied, counts

        kept: set[int] = set()
        self.excluded, retries = set(), 0
        while True:
            self.started = set()
            self.same_day_stage(today)
            self.mark_addons_alone(today)
            self.history_stage(today)
            self.addon_stage(today)
            if any(not i.denied for i in today if id(i) in self.excluded):
                again()
                self.excluded, retries = kept, m.MAX_DATE_RETRIES
                continue
            late = {id(i) for i in today if id(i) in self.started and i.denied} - self.excluded
            if not late or retries >= m.MAX_DATE_RETRIES:
                return
            again()
            kept, self.excluded, retries = self.excluded, self.excluded | late, retries + 1

    def judged(self, today: list[_Item]) -> list[_Item]:
        return [i for i in today if i.judged and not i.denied]

    def line_stage(self, today: list[_Item]) -> None:
        for item in self.judged(today):
            found = _line_findings(self.rules, item.line)
            item.findings.extend(found)
            item.denied = _denies(found)

    def mark_addons_alone(self, today: list[_Item]) -> None:
        """An add-on line that no line standing after stage 2 can support (no other line of
        the date by the same provider has a primary code of its rules in force) and that a
        denying rule judges will be denied in stage 4: it counts toward nothing."""
        standing = [i for i in today if not i.denied]
        for item in self.judged(today):
            rules = self.addon_rules(item)
            if any(r.info.action == "deny" for r in rules):
                item.counts = _has_primary(item, standing, rules)

    def passes_line_rules(self, item: _Item) -> bool:
        return not item.judged or not _denies(_line_findings(self.rules, item.line))

    def same_day_stage(self, today: list[_Item]) -> None:
        present = [i for i in today if not i.denied]
        verdicts = []
        for item in self.judged(today):
            verdicts.append((item, [f for rule in self.rules
                                    if (f := self.same_day(rule, item, present)) is not None]))
        for item, found in verdicts:  # all at once: nothing is denied until all are judged
            item.findings.extend(found)
            item.denied = _denies(found)

    def same_day(self, rule: m.Rule, item: _Item, present: list[_Item]) -> Finding | None:
        line = item.line
        if not rule.info.validity.covers(line.date):
            return None
        mods = set(line.modifiers)
        peers = [p for p in present if p is not item and _same_provider(p, item)]
        if isinstance(rule, m.Forbid):
            if line.code not in rule.targets or mods & rule.bypass:
                return None
            triggers = [p for p in peers if p.line.code in rule.triggers]
            return _finding(rule, triggers) if triggers else None
        if isinstance(rule, m.Exclusive):
            if line.code not in rule.codes:
                return None
            # ``across providers``: the member's lines of the date, whatever their provider
            rivals = [p for p in present if p is not item] if rule.across_providers else peers
            billed = {p.line.code for p in rivals} | {line.code}
            winner = next(code for code in rule.codes if code in billed)
            if winner == line.code:
                return None
            return _finding(rule, [p for p in rivals if p.line.code == winner])
        if isinstance(rule, m.Global):
            if line.code not in rule.covers or mods & rule.bypass:
                return None
            procedures = [p for p in self.items if p is not item and _same_provider(p, item)
                          and p.line.code in rule.procedures and self.starts_period(rule, p, line)]
            return _finding(rule, procedures) if procedures else None
        if isinstance(rule, m.Mue) and rule.per_day:
            if line.code not in rule.codes:
                return None
            # this claim's lines and those of earlier claims (and paid lines): a claim paid
            # before this one is not denied by the units this one adds
            same_code = [p for p in peers if p.line.code == line.code
                         and (not p.judged or p.line.claim_id <= line.claim_id)]
            total = line.units + sum(p.line.units for p in same_code)
            return _finding(rule, same_code) if total > rule.maximum else None
        return None

    def starts_period(self, rule: m.Global, procedure: _Item, line: ClaimLine) -> bool:
        offset = (line.date - procedure.line.date).days
        if 0 < offset <= rule.days:
            return not procedure.denied
        if offset == 0:  # same day: survived the line rules, and not denied by a later stage
            if procedure.denied or id(procedure) in self.excluded:
                return False
            self.started.add(id(procedure))
            return True
        if offset == -1 and rule.includes_day_before:
            return (self.passes_line_rules(procedure) and not self.pair_denied(procedure)
                    and not self.surely_limited(procedure, line.date))
        return False

    def pair_denied(self, procedure: _Item) -> bool:
        """Would the same-day rules of its own (later) date deny ``procedure``: a forbid, an
        exclusive or a per-day MUE, among the lines of that date that pass their line rules?
        (Global periods that cover it, and its limits, are not known yet.)"""
        if not procedure.judged:
            return False
        present = [i for i in self.items
                   if i.line.date == procedure.line.date and self.passes_line_rules(i)]
        return _denies([f for rule in self.rules if not isinstance(rule, m.Global)
                        and (f := self.same_day(rule, procedure, present)) is not None])

    def surely_limited(self, procedure: _Item, day: dt.date) -> bool:
        """Is ``procedure`` (of the date after ``day``) sure to be denied by a limit or a
        prerequisite of its date, whatever the lines of ``day`` and of its own date turn out to
        be? A limit is: the lines allowed before ``day`` that it counts are already too many.
        A prerequisite is: too few sessions, even counting ``day`` as one whenever a line of
        that date has a required code."""
        if not procedure.judged:
            return False
        line = procedure.line
        final = [i for i in self.items if i.line.date < day and not i.denied and i.counts]
        for rule in self.rules:
            if rule.info.action != "deny" or not rule.info.validity.covers(line.date):
                continue
            if isinstance(rule, m.Limit):
                if line.code not in rule.codes or set(line.modifiers) & rule.bypass:
                    continue
                counted = [i for i in final if i.line.code in rule.codes
                           and _in_window(rule.window, i.line, line)
                           and (not rule.by_provider or _same_provider(i, procedure))]
                if rule.sessions:
                    over = len({line.date} | {i.line.date for i in counted}) > rule.maximum
                else:
                    over = sum(i.line.units for i in counted) + line.units > rule.maximum
                if over:
                    return True
            elif isinstance(rule, m.Prerequisite) and line.code in rule.targets:
                sessions = {i.line.date for i in final if i.line.code in rule.required
                            and _in_window(rule.window, i.line, line)}
                sessions |= {i.line.date for i in self.items if i.line.date == day
                             and i.line.code in rule.required
                             and _in_window(rule.window, i.line, line)}
                if len(sessions) < rule.count:
                    return True
        return False

    def history_stage(self, today: list[_Item]) -> None:
        for item in today:
            if not item.judged or item.denied:
                continue
            found = [f for rule in self.rules if (f := self.history(rule, item)) is not None]
            item.findings.extend(found)
            item.denied = _denies(found)

    def earlier_allowed(self, item: _Item) -> list[_Item]:
        """Lines before ``item`` in the member's order that are allowed so far."""
        position = self.items.index(item)
        return [i for i in self.items[:position] if not i.denied and i.counts]

    def history(self, rule: m.Rule, item: _Item) -> Finding | None:
        line = item.line
        if not rule.info.validity.covers(line.date):
            return None
        if isinstance(rule, m.Limit):
            if line.code not in rule.codes:
                return None
            counted = [i for i in self.earlier_allowed(item) if i.line.code in rule.codes
                       and _in_window(rule.window, i.line, line)
                       and (not rule.by_provider or _same_provider(i, item))]
            if set(line.modifiers) & rule.bypass:
                return None
            if rule.sessions:
                over = len({line.date} | {i.line.date for i in counted}) > rule.maximum
            else:
                over = sum(i.line.units for i in counted) + line.units > rule.maximum
            return _finding(rule, counted) if over else None
        if isinstance(rule, m.Prerequisite):
            if line.code not in rule.targets:
                return None
            found = [i for i in self.earlier_allowed(item) if i.line.code in rule.required
                     and i.line.date < line.date and _in_window(rule.window, i.line, line)]
            if len({i.line.date for i in found}) >= rule.count:
                return None
            return _finding(rule, found)
        return None

    def addon_rules(self, item: _Item) -> list[m.Addon]:
        """The add-on rules for the line's code in force on its date."""
        return [r for r in self.rules if isinstance(r, m.Addon)
                and item.line.code in r.addons and r.info.validity.covers(item.line.date)]

    def addon_stage(self, today: list[_Item]) -> None:
        # add-ons join the allowed lines once a primary there supports them, until none
        # joins: add-ons naming only each other stay out (pended or denied by their rules)
        waiting = [i for i in today if i.judged and not i.denied and self.addon_rules(i)]
        allowed = [i for i in today if not i.denied and i not in waiting]
        changed = True
        while changed:
            changed = False
            for item in list(waiting):
                if _has_primary(item, allowed, self.addon_rules(item)):
                    waiting.remove(item)
                    allowed.append(item)
                    changed = True
        for item in self.judged(today):
            rules = self.addon_rules(item)
            if rules and not _has_primary(item, allowed, rules):
                found = [_finding(r) for r in rules]
                item.findings.extend(found)
                item.denied = _denies(found)


def _has_primary(item: _Item, lines: list[_Item], rules: list[m.Addon]) -> bool:
    """Is one of ``lines`` (not ``item`` itself) by the same provider of a primary code of
    ``rules``?"""
    primaries = set().union(*(r.primaries for r in rules))
    return any(p is not item and _same_provider(p, item) and p.line.code in primaries
               for p in lines)


def _in_window(window: m.Window, counted: ClaimLine, line: ClaimLine) -> bool:
    if window.kind == "claim":
        return counted.claim_id == line.claim_id
    return window.first_day(line.date) <= counted.date <= line.date


def interpret(rules: m.RuleSet | Sequence[m.Rule], lines: Sequence[ClaimLine],
              history: Sequence[ClaimLine] = ()) -> list[Decision]:
    """Judge ``lines`` against ``history`` under ``rules``; one decision per line, in order."""
    rule_list = rules.rules if isinstance(rules, m.RuleSet) else tuple(rules)
    items = [_Item(line, True) for line in lines]
    items += [_Item(line, False) for line in history]
    members: dict[str, list[_Item]] = {}
    for item in items:
        members.setdefault(item.line.member_id, []).append(item)
    for member_items in members.values():
        _Member(rule_list, member_items).run()
    judged = [i for i in items if i.judged]
    return [decision_for(i.line, tuple(i.findings)) for i in judged]

