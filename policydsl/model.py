"""The resolved policy: rules as both engines see them.

The parser produces an AST that mirrors the text (``nodes``); the resolver turns it into these
classes: code sets expanded to ``frozenset``s of upper-case codes, diagnosis sets split into
exact codes and prefixes, every rule with its id, action, CARC, message, validity and source
location. The reference interpreter, the code generator and the CMS table readers all speak
this vocabulary, and nothing here refers back to the text.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Literal

import attrs

Action = Literal["deny", "review"]

#: CMS's NCCI-associated modifiers: any of them on the column 2 line bypasses a PTP edit whose
#: modifier indicator is 1 (domain.md, family 1).
NCCI_MODIFIERS: frozenset[str] = frozenset(
    ["59", "XE", "XS", "XP", "XU", "E1", "E2", "E3", "E4", "FA", "TA", "LT", "RT", "LC", "LD",
     "RC", "LM", "RI", "24", "25", "57", "58", "78", "79", "27", "91"]
    + [f"F{i}" for i in range(1, 10)]
    + [f"T{i}" for i in range(1, 10)]
)

#: E/M office visits a global period covers unless the rule says otherwise.
DEFAULT_GLOBAL_COVERS: frozenset[str] = frozenset(f"992{n:02d}" for n in range(2, 16))
#: Modifiers that let an E/M through a global period unless the rule says otherwise.
DEFAULT_GLOBAL_BYPASS: frozenset[str] = frozenset(["24", "25", "57", "79"])


#: Date ordinals of the calendar's first and last day: where a validity's open ends fall.
FIRST_DAY, LAST_DAY = dt.date.min.toordinal(), dt.date.max.toordinal()


@attrs.frozen
class Validity:
    """The dates of service a rule applies to, both ends inclusive; ``None`` is open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    @property
    def is_empty(self) -> bool:
        return self.start is not None and self.end is not None and self.end < self.start

    @property
    def days(self) -> tuple[int, int]:
        """Its first and last day as date ordinals, an open end at the calendar's end."""
        return (FIRST_DAY if self.start is None else self.start.toordinal(),
                LAST_DAY if self.end is None else self.end.toordinal())

    @classmethod
    def of_days(cls, first: int, last: int) -> Validity:
        """The validity of the days ``first`` to ``last`` (date ordinals), open at the
        calendar's ends."""
        return cls(None if first == FIRST_DAY else dt.date.fromordinal(first),
                   None if last == LAST_DAY else dt.date.fromordinal(last))


WindowKind = Literal["days", "months", "day", "claim", "year", "lifetime"]


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months before ``day``, or that month's last day."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def months_window_first(day: dt.date, months: int) -> dt.date:
    """The first date of the ``months``-month window ending on ``day``: the day after the same
    day ``months`` months before (``date.min`` when that is before the year 1)."""
    if (day.year * 12 + day.month - 1) - months < 12:  # the month before the window: year 0-
        return dt.date.min
    return months_before(day, months) + dt.timedelta(days=1)


#: Days of each month, February of a common year.
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@attrs.frozen
class Window:
    """A counting window that ends on a line's date of service.

    ``days`` N: dates d-N+1 .. d. ``months`` N: dates after the same day N months before d.
    ``day``: d only. ``year``: the calendar year of d. ``lifetime``: every date. ``claim``:
    lines of the same claim id, whatever their date.
    """

    kind: WindowKind
    count: int = 1

    def first_day(self, day: dt.date) -> dt.date:
        """The earliest date inside the window that ends on ``day`` (``claim``: no bound)."""
        if self.kind == "days":  # no earlier than date.min
            return dt.date.fromordinal(max(1, day.toordinal() - self.count + 1))
        if self.kind == "months":
            return months_window_first(day, self.count)
        if self.kind == "day":
            return day
        if self.kind == "year":
            return dt.date(day.year, 1, 1)
        return dt.date.min

    def holds(self, other: Window) -> bool:
        """Whether this window surely holds every date ``other`` holds, whatever the line's date.

        ``lifetime`` holds every window, ``claim`` included (a claim's lines up to d are lines
        up to d); ``claim`` holds only ``claim``. Windows of one kind compare by their counts,
        and ``Nmo`` holds ``year`` from 12 months on (the same day 12 months before d is before
        January 1 of d's year). Otherwise this window holds ``other`` when the fewest days it
        can hold are no fewer than the most ``other`` can (``days_held``): ``12mo`` holds
        ``365d``, ``366d`` holds ``year``.
        """
        if other.kind == "claim" or self.kind == "claim":
            return self.kind in ("claim", "lifetime") and other.kind == "claim"
        if self.kind == "lifetime" or other.kind == "lifetime":
            return self.kind == "lifetime"
        if self.kind == other.kind:
            return self.count >= other.count
        if self.kind == "months" and other.kind == "year":
            return self.count >= 12
        return self.days_held()[0] >= other.days_held()[1]

    def days_held(self) -> tuple[int, int]:
        """The fewest and the most dates a ``day``, ``Nd``, ``Nmo`` or ``year`` window holds.

        ``year`` holds 1 (January 1) to 366. ``Nmo``, N = 12q + r: q years and r months back
        to the same day; the fewest is q common years and the shortest r months in a row
        (``12mo``: 365, ``1mo``: 28); the most allows a leap day a year, the longest r months
        in a row and 3 days more where the same day does not exist (``1mo`` on March 31 is
        from March 1), and no more than 31 days a month. Both are sure; the fewest is exact
        below 8 years, the most for 1 and 2 months and for whole years below 100 (the tests
        count the days on every date of a 400-year cycle).
        """
        if self.kind == "day":
            return 1, 1
        if self.kind == "days":
            return self.count, self.count
        if self.kind == "year":
            return 1, 366
        if self.kind != "months":
            raise ValueError(f"a {self.kind} window holds no fixed number of dates")
        years, months = divmod(self.count, 12)
        runs = [sum(_MONTH_DAYS[(first + i) % 12] for i in range(months)) for first in range(12)]
        if months == 0:  # a leap day in every 4 years, and February 29 back to February 28
            return 365 * years, 365 * years + (years + 3) // 4
        return 365 * years + min(runs), min(31 * self.count, 366 * years + max(runs) + 3)

    def __str__(self) -> str:
        if self.kind == "days":
            return f"{self.count}d"
        if self.kind == "months":
            return f"{self.count}mo"
        return self.kind


@attrs.frozen
class DxSet:
    """Diagnoses a line may carry: exact codes and prefixes, both without the dot, upper case."""

    exact: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def matches(self, diagnosis: str) -> bool:
        return diagnosis in self.exact or diagnosis.startswith(self.prefixes)


@attrs.frozen(kw_only=True)
class RuleInfo:
    """What every rule carries, whatever its kind."""

    id: str
    action: Action
    carc: str
    message: str
    source: str  # "file:line:col" of the statement (or "file:row" for a table row)
    validity: Validity = Validity()


@attrs.frozen
class Forbid:
    """``when TRIGGERS forbid TARGETS [unless modifier M]``: same member, provider and date."""

    info: RuleInfo
    triggers: frozenset[str]
    targets: frozenset[str]
    bypass: frozenset[str] = frozenset()


@attrs.frozen
class Exclusive:
    """``exclusive A, B, ... [across providers]``: the first listed code present wins; the
    others are denied. Same member, provider and date; ``across_providers``: same member and
    date, whatever the provider (docs/semantics.md)."""

    info: RuleInfo
    codes: tuple[str, ...]
    across_providers: bool = False


@attrs.frozen
class Global:
    """``global PROCS Nd [covers C] [unless modifier M]``: E/M lines inside the period."""

    info: RuleInfo
    procedures: frozenset[str]
    days: int
    covers: frozenset[str] = DEFAULT_GLOBAL_COVERS
    bypass: frozenset[str] = DEFAULT_GLOBAL_BYPASS

    @property
    def includes_day_before(self) -> bool:
        """Major surgery (a 90-day global period or longer) also covers the day before."""
        return self.days >= 90


@attrs.frozen
class Limit:
    """``limit CODES per WINDOW [by provider] <= N [units|sessions] [unless modifier M]``."""

    info: RuleInfo
    codes: frozenset[str]
    window: Window
    maximum: int
    sessions: bool = False
    by_provider: bool = False
    bypass: frozenset[str] = frozenset()


@attrs.frozen
class Prerequisite:
    """``require K of REQUIRED within WINDOW before TARGETS``."""

    info: RuleInfo
    targets: frozenset[str]
    required: frozenset[str]
    count: int
    window: Window


@attrs.frozen
class Addon:
    """``addon ADDONS requires PRIMARIES``: an allowed primary the same day, same provider."""

    info: RuleInfo
    addons: frozenset[str]
    primaries: frozenset[str]


@attrs.frozen
class RequireDx:
    """``require dx DX for CODES``."""

    info: RuleInfo
    codes: frozenset[str]
    diagnoses: DxSet


@attrs.frozen
class RequireAuth:
    """``require auth for CODES``."""

    info: RuleInfo
    codes: frozenset[str]


@attrs.frozen
class Deleted:
    """``deleted CODES since DATE [use REPLACEMENTS]``: invalid on and after the date."""

    info: RuleInfo
    codes: frozenset[str]
    since: dt.date
    replacements: tuple[str, ...] = ()


@attrs.frozen
class ForbidModifier:
    """``forbid modifier M on CODES``."""

    info: RuleInfo
    modifiers: frozenset[str]
    codes: frozenset[str]


@attrs.frozen
class Mue:
    """``mue CODES <= N per line|day``: CMS medically unlikely edit.

    ``per line`` (MAI 1) judges each line's units alone. ``per day`` (MAI 2 and 3) sums, for a
    claim's line, the units of the code for the member, provider and date over that claim's
    lines, the claims before it in the member's order and the paid lines; over the maximum,
    the line is denied. A claim judged before is not: the units a later claim adds do not undo
    it (docs/semantics.md).
    """

    info: RuleInfo
    codes: frozenset[str]
    maximum: int
    per_day: bool = True


Rule = (
    Forbid | Exclusive | Global | Limit | Prerequisite | Addon
    | RequireDx | RequireAuth | Deleted | ForbidModifier | Mue
)

#: A date whose procedure covered a line of it and was then denied is judged again without it
#: (docs/semantics.md, ``global``), at most this many times; then it stands as the last
#: judging left it.
MAX_DATE_RETRIES = 8


def rule_codes(rule: Rule) -> frozenset[str]:
    """The codes whose lines a rule can judge (deny or pend)."""
    if isinstance(rule, Forbid):
        return rule.targets
    if isinstance(rule, Exclusive):
        return frozenset(rule.codes[1:])
    if isinstance(rule, Global):
        return rule.covers
    if isinstance(rule, Prerequisite):
        return rule.targets
    if isinstance(rule, Addon):
        return rule.addons
    return rule.codes


@attrs.frozen
class RuleSet:
    """A resolved policy: its name, the files it came from, and its rules in order."""

    name: str
    rules: tuple[Rule, ...]
    files: tuple[str, ...] = ()
