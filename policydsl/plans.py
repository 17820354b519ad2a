"""Index tables: for every code some rule mentions, a *plan* saying what can happen to a line
of that code, made by ``build_tables`` and read by the code ``policydsl.codegen`` writes.

A plan holds the line's line rules, the same-day rules that can deny it (indexed again by the
code of the other line: the trigger of a ``forbid``, the procedure of a ``global``), its history
rules and add-on rules, as compact tuples of ints, code sets and rule numbers. A line whose code
no rule mentions costs one dict miss; a rule whose codes never appear costs nothing at run time.
Large uniform families (a CMS PTP table is a million ``Forbid`` rows) are rows of these tables,
not code. Codes, messages and every other text from the policy stay here, never in the
generated source.

Plan layout (``PLAN[code]``), in the order the generated code reads it::

    0 bits       BIT_LINE | BIT_SAME | BIT_HISTORY | BIT_ADDON: the stages that judge the line;
                 BIT_COUNTED: limits/prerequisites count it; BIT_PROCEDURE: it starts a period
    1 line       ((rule, lo, hi, kind, a, b), ...)            deleted/dx/auth/modifier/mue line
    2 forbid     {trigger code: ((rule, lo, hi, bypass), ...)} or None
    3 exclusive  ((rule, lo, hi, codes in order), ...): ``exclusive`` rules of one
                 provider (the line's own)
    4 global     {procedure code: ((rule, lo, hi, days, bypass), ...)} or None
    5 mue/day    ((rule, lo, hi, maximum), ...)
    6 history    limits  (rule, lo, hi, HISTORY_UNITS or HISTORY_SESSIONS, group, by provider,
                          window kind, size, bound, bypass): bound is the maximum
                 prereqs (rule, lo, hi, HISTORY_PREREQUISITE, group, False, window kind, size,
                          bound, frozenset()): bound is the sessions needed
    7 addon      ((rule, lo, hi, primaries), ...)
    8 partners   the codes whose lines can make a forbid or exclusive rule deny this code's
                 line on the same date (the keys of 2, and the codes listed before it in
                 3 and 14), as a frozenset, or None
    9 procedure  does a line of this code start a global period (bits & BIT_PROCEDURE)
   10 mue floor  the least maximum of 5 (0 without rows): no mue/day row fires up to it
   11 counts     the counting groups a counted line of this code joins (member-wide)
   12 counts by provider   the same, for limits by provider
   13 reach      (codes, days, same-day codes): the paid history lines that can change the
                 verdict on a line of this code: lines of ``codes`` (what its limits and
                 prerequisites count, the procedures of its global periods) dated at most
                 ``days`` days before it (``OPEN_HI``: any earlier date) or the day after it;
                 and lines of its own date whose code is a same-day partner (a forbid trigger,
                 an exclusive code listed before it, its own code under a mue per day, an
                 add-on's primary). A real-time call looks only at these paid lines: an upper
                 bound, within which the rules decide exactly
   14 exclusive across providers   ((rule, lo, hi, codes in order), ...): as 3, for the
                 ``exclusive … across providers`` rules, which look at the member's lines of
                 the date whatever their provider (kind ``exclusive_across``)

A *counting group* is the code set of a limit or prerequisite (with ``by provider``, one per
provider): the generated code keeps, per group, the positions of the lines counted so far, in
the member's order, so a history rule finds what it counts under one key whatever the size of
its code set.

``lo``/``hi`` are the rule's validity as date ordinals (open ends: ``OPEN_LO``/``OPEN_HI``).
Rows for one code are in rule order. A history line gets its code's *paid* plan: the same
without the bits of the stages that judge (history lines are counted and looked at, never
judged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from . import model as m
from .claims import Finding
from .collector import collector_paused

OPEN_LO = 0
OPEN_HI = 10_000_000  # after every date ordinal (date.max is 3,652,059)

BIT_LINE = 1
BIT_SAME = 2
BIT_HISTORY = 4
BIT_ADDON = 8
BIT_COUNTED = 16
BIT_PROCEDURE = 32

# line rule kinds (row[3] of a line rule)
LINE_DELETED, LINE_DX, LINE_AUTH, LINE_MODIFIER, LINE_MUE = range(5)
# history rule modes (row[3] of a history rule)
HISTORY_UNITS, HISTORY_SESSIONS, HISTORY_PREREQUISITE = range(3)
# window kinds (row[6] of a history rule): ``day`` and ``lifetime`` are day counts
WINDOW_DAYS, WINDOW_MONTHS, WINDOW_YEAR, WINDOW_CLAIM = range(4)

Row = tuple[Any, ...]
Plan = tuple[int, tuple[Row, ...], "dict[str, tuple[Row, ...]] | None", tuple[Row, ...],
             "dict[str, tuple[Row, ...]] | None", tuple[Row, ...], tuple[Row, ...],
             tuple[Row, ...], "frozenset[str] | None", bool, int, tuple[int, ...],
             tuple[int, ...], "Reach", tuple[Row, ...]]
Reach = tuple[frozenset[str], int, frozenset[str]]

_KIND_OF_TYPE: dict[type, str] = {
    m.Forbid: "forbid", m.Exclusive: "exclusive", m.Global: "global", m.Limit: "limit",
    m.Prerequisite: "prerequisite", m.Addon: "addon", m.RequireDx: "require_dx",
    m.RequireAuth: "require_auth", m.Deleted: "deleted", m.ForbidModifier: "forbid_modifier",
}


def kind_name(rule: m.Rule) -> str:
    """The rule's kind as the generated code names its block."""
    if isinstance(rule, m.Mue):
        return "mue_day" if rule.per_day else "mue_line"
    if isinstance(rule, m.Exclusive) and rule.across_providers:
        return "exclusive_across"
    return _KIND_OF_TYPE[type(rule)]


LINE_KINDS = ("deleted", "require_dx", "require_auth", "forbid_modifier", "mue_line")
_LINE_KIND_NUMBER = {kind: number for number, kind in enumerate(LINE_KINDS)}


def _ordinals(validity: m.Validity) -> tuple[int, int]:
    lo = validity.start.toordinal() if validity.start is not None else OPEN_LO
    hi = validity.end.toordinal() if validity.end is not None else OPEN_HI
    return lo, hi


def _window(window: m.Window) -> tuple[int, int]:
    if window.kind == "days":
        return WINDOW_DAYS, window.count
    if window.kind == "day":
        return WINDOW_DAYS, 1
    if window.kind == "lifetime":
        return WINDOW_DAYS, OPEN_HI
    if window.kind == "months":
        return WINDOW_MONTHS, window.count
    if window.kind == "year":
        return WINDOW_YEAR, 0
    return WINDOW_CLAIM, 0


# A plan while the rules are read: [bits, line, forbid, exclusive, global, mue_day, history,
# addon, counts, counts by provider, exclusive partners (code sets), exclusive across
# providers], lists, dicts and sets that ``_freeze`` turns into a ``Plan``.
(_BITS, _LINE, _FORBID, _EXCLUSIVE, _GLOBAL, _MUE_DAY, _HISTORY, _ADDON, _COUNTS,
 _COUNTS_BY_PROVIDER, _BEATEN_BY, _EXCLUSIVE_ACROSS) = range(12)


def _new_plan() -> list[Any]:
    return [0, [], {}, [], {}, [], [], [], [], [], [], []]


#: An ``exclusive`` of more codes than this gives each of them all its codes as partners (a
#: superset of the codes ranked before it, which only the judging narrows): the codes before
#: each, kept apart, cost memory as the square of the list's length.
EXACT_PARTNERS = 64


def _joined(parts: list[frozenset[str]]) -> frozenset[str]:
    """The union of ``parts``: the one that is not empty itself, when only one is (a code set
    that plans share stays one object)."""
    full = [part for part in parts if part]
    if len(full) == 1:
        return full[0]
    return frozenset().union(*full)


def _days_back(window: int, count: int) -> int:
    """The most days before a line that a window of this kind and count can reach (an upper
    bound); ``OPEN_HI`` when any earlier date can count."""
    if window == WINDOW_DAYS:
        return count - 1 if count < OPEN_HI else OPEN_HI
    if window == WINDOW_MONTHS:
        return 31 * count
    if window == WINDOW_YEAR:
        return 366
    return OPEN_HI  # WINDOW_CLAIM: the claim's lines, whatever their dates


def _freeze(plan: list[Any], reach: Reach, share: Callable[[Any], Any]) -> Plan:
    forbid: dict[str, tuple[Row, ...]] = plan[_FORBID]  # built with tuples already
    global_: dict[str, list[Row]] = plan[_GLOBAL]
    # shared: the codes of a long exclusive list that other rules pair too each get the same
    # union, which one object a code would hold again for each code (the square of the list)
    partners = share(_joined([frozenset(forbid), *plan[_BEATEN_BY]])) or None
    return (
        plan[_BITS],
        tuple(plan[_LINE]),
        forbid or None,
        tuple(plan[_EXCLUSIVE]),
        {k: tuple(v) for k, v in global_.items()} if global_ else None,
        tuple(plan[_MUE_DAY]),
        tuple(plan[_HISTORY]),
        tuple(plan[_ADDON]),
        partners,
        bool(plan[_BITS] & BIT_PROCEDURE),
        min([row[3] for row in plan[_MUE_DAY]], default=0),
        tuple(plan[_COUNTS]),
        tuple(plan[_COUNTS_BY_PROVIDER]),
        reach,
        tuple(plan[_EXCLUSIVE_ACROSS]),
    )


def _paid(plan: Plan) -> Plan:
    """The plan of a history line: counted and looked at, judged by no stage."""
    judged = BIT_LINE | BIT_SAME | BIT_HISTORY | BIT_ADDON
    if not plan[0] & judged:
        return plan
    return (plan[0] & ~judged, *plan[1:])


@attrs.frozen
class Features:
    """What the policy uses, so the generated code leaves the rest out.

    ``kinds`` maps each kind present to its rule numbers (in rule order); ``dated`` holds the
    kinds with at least one rule whose validity is not open at both ends.
    """

    kinds: dict[str, tuple[int, ...]]
    dated: frozenset[str]
    windows: frozenset[int]  # window kinds of limits and prerequisites
    by_provider: bool
    sessions: bool
    units: bool
    forbid_bypass: bool
    global_bypass: bool
    limit_bypass: bool
    longest_global: int

    def has(self, *kinds: str) -> bool:
        return any(k in self.kinds for k in kinds)

    def checks_dates(self, *kinds: str) -> bool:
        return any(k in self.dated for k in kinds)


@attrs.frozen
class Tables:
    """The data the generated code reads: plans by code, and per rule number its verdict."""

    plans: dict[str, Plan]
    paid: dict[str, Plan]  # the plans of history lines: the same, with no stage to judge them
    deny: tuple[bool, ...]  # rule number -> does it deny (else: review)
    fired: tuple[Finding | None, ...]  # the finding of a rule that names no related lines
    features: Features


class _TableBuilder:
    """Reads the rules in order into per-code plans (``build_tables``).

    A CMS table can give a million rules that share a few validities, bypass sets and codes:
    those are looked up by identity and shared, and the common case (one trigger, one target)
    takes few steps, so building stays linear and small.
    """

    def __init__(self) -> None:
        self.plans: dict[str, list[Any]] = {}
        self.kinds: dict[str, list[int]] = {}
        self.dated: set[str] = set()
        self.windows: set[int] = set()
        self.flags = dict.fromkeys(["by_provider", "sessions", "units", "forbid_bypass",
                                    "global_bypass", "limit_bypass"], False)
        self.longest_global = 0
        self._validities: dict[int, tuple[m.Validity, int, int]] = {}
        self._shared: dict[object, Any] = {}
        self._groups: dict[tuple[frozenset[str], bool], int] = {}
        self._group_codes: list[frozenset[str]] = []  # group number -> its codes
        # (groups, global procedures) -> the codes a line's rules look back at (``reach``)
        self._reach_codes: dict[tuple[tuple[int, ...], tuple[str, ...]], frozenset[str]] = {}

    def plan(self, code: str) -> list[Any]:
        found = self.plans.get(code)
        if found is None:
            found = self.plans[code] = _new_plan()
        return found

    def share(self, value: Any) -> Any:
        """One object for equal values (ints, code sets) across rows."""
        return self._shared.setdefault(value, value)

    def validity(self, validity: m.Validity) -> tuple[int, int]:
        found = self._validities.get(id(validity))
        if found is None:
            lo, hi = _ordinals(validity)
            found = self._validities[id(validity)] = (validity, self.share(lo), self.share(hi))
        return found[1], found[2]

    def group(self, codes: frozenset[str], by_provider: bool) -> int:
        """The number of the counting group of ``codes`` (per provider or member-wide): every
        line of those codes that is counted joins it, so a limit or prerequisite finds the
        lines it counts, in the member's order, under one key."""
        number = self._groups.get((codes, by_provider))
        if number is None:
            number = self._groups[codes, by_provider] = len(self._groups)
            self._group_codes.append(codes)
            for code in sorted(codes):
                target = self.plan(code)
                target[_BITS] |= BIT_COUNTED
                target[_COUNTS_BY_PROVIDER if by_provider else _COUNTS].append(number)
        return number

    def build(self, rules: tuple[m.Rule, ...]) -> Tables:
        fired: list[Finding | None] = [None] * len(rules)
        add: dict[type, Callable[[int, int, int, Any], None]] = {
            m.Forbid: self.forbid, m.Exclusive: self.exclusive, m.Global: self.global_,
            m.Limit: self.limit, m.Prerequisite: self.prerequisite, m.Addon: self.addon,
            m.Mue: self.mue,
        }
        for number, rule in enumerate(rules):
            kind = kind_name(rule)
            numbers = self.kinds.get(kind)
            if numbers is None:
                numbers = self.kinds[kind] = []
            numbers.append(number)
            lo, hi = self.validity(rule.info.validity)
            if lo != OPEN_LO or hi != OPEN_HI:
                self.dated.add(kind)
            if kind in LINE_KINDS or kind == "addon":
                info = rule.info
                fired[number] = Finding(info.id, info.action, info.carc, info.message,
                                        info.source)
            if kind in LINE_KINDS:
                self.line(number, lo, hi, kind, rule)
            else:
                add[type(rule)](number, lo, hi, rule)
        features = Features(
            kinds={k: tuple(v) for k, v in self.kinds.items()},
            dated=frozenset(self.dated),
            windows=frozenset(self.windows),
            longest_global=self.longest_global,
            **self.flags,
        )
        plans = {code: _freeze(self.plans[code], self.reach(code, self.plans[code]),
                               self.share)
                 for code in sorted(self.plans)}
        return Tables(plans, {code: _paid(plan) for code, plan in plans.items()},
                      tuple(rule.info.action == "deny" for rule in rules), tuple(fired),
                      features)

    def reach(self, code: str, plan: list[Any]) -> Reach:
        """Plan field 13: which paid lines the rules of a line of this plan can look at."""
        history: list[Row] = plan[_HISTORY]
        global_: dict[str, list[Row]] = plan[_GLOBAL]
        # every code of a limit over a range has the limit's group: its union is made once,
        # not once a code (which cost codes squared)
        groups = tuple(sorted({row[4] for row in history}))
        key = (groups, tuple(sorted(global_)))
        codes = self._reach_codes.get(key)
        if codes is None:
            codes = self._reach_codes[key] = self.share(
                self._group_codes[groups[0]] if len(groups) == 1 and not global_
                else frozenset().union(*map(self._group_codes.__getitem__, groups), global_))
        days = max([_days_back(row[6], row[7]) for row in history]
                   + [row[3] for rows in global_.values() for row in rows], default=0)
        same_day = _joined([frozenset(plan[_FORBID]), *plan[_BEATEN_BY],
                            *[frozenset(row[3]) for row in plan[_ADDON]],
                            frozenset([code] if plan[_MUE_DAY] else [])])
        reach: Reach = self.share((self.share(codes), days, self.share(same_day)))
        return reach

    def line(self, r: int, lo: int, hi: int, kind: str, rule: m.Rule) -> None:
        a: object = None
        b: object = None
        if isinstance(rule, m.Deleted):
            a = self.share(rule.since.toordinal())
        elif isinstance(rule, m.RequireDx):
            a, b = self.share(rule.diagnoses.exact), self.share(rule.diagnoses.prefixes)
        elif isinstance(rule, m.ForbidModifier):
            a = self.share(rule.modifiers)
        elif isinstance(rule, m.Mue):
            a = self.share(rule.maximum)
        row = (r, lo, hi, _LINE_KIND_NUMBER[kind], a, b)
        for code in sorted(m.rule_codes(rule)):
            target = self.plan(code)
            target[_BITS] |= BIT_LINE
            target[_LINE].append(row)

    def forbid(self, r: int, lo: int, hi: int, rule: m.Forbid) -> None:
        bypass = rule.bypass
        if bypass:
            self.flags["forbid_bypass"] = True
        row = (r, lo, hi, self.share(bypass))
        triggers = sorted(rule.triggers)
        for code in sorted(rule.targets):  # one code each for a PTP row
            target = self.plan(code)
            target[_BITS] |= BIT_SAME
            by_trigger = target[_FORBID]
            for trigger in triggers:
                rows = by_trigger.get(trigger)
                by_trigger[trigger] = (row,) if rows is None else (*rows, row)
        for trigger in triggers:
            if trigger not in self.plans:
                self.plans[trigger] = _new_plan()

    def exclusive(self, r: int, lo: int, hi: int, rule: m.Exclusive) -> None:
        codes = tuple(rule.codes)
        row = (r, lo, hi, codes)
        first = {code: at for at, code in reversed(list(enumerate(codes)))}
        every = self.share(frozenset(codes)) if len(codes) > EXACT_PARTNERS else None
        rows = _EXCLUSIVE_ACROSS if rule.across_providers else _EXCLUSIVE
        for code in sorted(first.keys() - {codes[0]}):
            target = self.plan(code)
            target[_BITS] |= BIT_SAME
            target[rows].append(row)
            target[_BEATEN_BY].append(
                every if every is not None else self.share(frozenset(codes[:first[code]])))
        self.plan(codes[0])

    def global_(self, r: int, lo: int, hi: int, rule: m.Global) -> None:
        if rule.bypass:
            self.flags["global_bypass"] = True
        self.longest_global = max(self.longest_global, rule.days)
        row = (r, lo, hi, self.share(rule.days), self.share(rule.bypass))
        procedures = sorted(rule.procedures)
        for code in sorted(rule.covers):
            target = self.plan(code)
            target[_BITS] |= BIT_SAME
            for procedure in procedures:
                target[_GLOBAL].setdefault(procedure, []).append(row)
        for procedure in procedures:
            self.plan(procedure)[_BITS] |= BIT_PROCEDURE

    def mue(self, r: int, lo: int, hi: int, rule: m.Mue) -> None:  # per day
        row = (r, lo, hi, self.share(rule.maximum))
        for code in sorted(rule.codes):
            target = self.plan(code)
            target[_BITS] |= BIT_SAME
            target[_MUE_DAY].append(row)

    def limit(self, r: int, lo: int, hi: int, rule: m.Limit) -> None:
        window, count = _window(rule.window)
        self.windows.add(window)
        self.flags["by_provider"] |= rule.by_provider
        self.flags["sessions"] |= rule.sessions
        self.flags["units"] |= not rule.sessions
        self.flags["limit_bypass"] |= bool(rule.bypass)
        group = self.group(rule.codes, rule.by_provider)
        row = (r, lo, hi, HISTORY_SESSIONS if rule.sessions else HISTORY_UNITS, group,
               rule.by_provider, window, count, rule.maximum, self.share(rule.bypass))
        for code in sorted(rule.codes):
            target = self.plan(code)
            target[_BITS] |= BIT_HISTORY
            target[_HISTORY].append(row)

    def prerequisite(self, r: int, lo: int, hi: int, rule: m.Prerequisite) -> None:
        window, count = _window(rule.window)
        self.windows.add(window)
        group = self.group(rule.required, False)
        row: Row = (r, lo, hi, HISTORY_PREREQUISITE, group, False, window, count, rule.count,
                    frozenset())
        for code in sorted(rule.targets):
            target = self.plan(code)
            target[_BITS] |= BIT_HISTORY
            target[_HISTORY].append(row)

    def addon(self, r: int, lo: int, hi: int, rule: m.Addon) -> None:
        row = (r, lo, hi, self.share(rule.primaries))
        for code in sorted(rule.addons):
            target = self.plan(code)
            target[_BITS] |= BIT_ADDON
            target[_ADDON].append(row)
        for code in sorted(rule.primaries):
            self.plan(code)


def build_tables(rules: tuple[m.Rule, ...]) -> Tables:
    """Index the rules by the codes of the lines they can judge and the lines they look at.

    The cyclic garbage collector is paused meanwhile: the tables are millions of small acyclic
    objects for a CMS table, and collections over a large heap would double the time.
    """
    with collector_paused():
        return _TableBuilder().build(rules)
