"""The compiled engine: a ``Program`` is a rule set's generated code, bound to its tables.

``compile_ruleset(ruleset)`` indexes the rules (:func:`policydsl.plans.build_tables`), writes
the program's source (:func:`policydsl.codegen.generate`), compiles it under the policy's name
and runs it into a fresh namespace that holds only the tables and the few helpers below, with a
minimal set of builtins. ``Program.adjudicate`` then judges claim lines exactly as the reference
interpreter does (``interpret``), much faster: lines whose code no rule mentions are allowed in
bulk, and a member's lines are sorted once and judged date by date against per-code indexes.
``Program.judge`` is the same for a batch that only renders its decisions (``policyc run``):
where a line is allowed without findings, the line itself stands for its decision, so no
object is made for most lines.

A ``Program`` holds no mutable state: ``adjudicate`` keeps everything in locals, so one program
serves many threads (a large batch pauses the process's cyclic garbage collector while it runs,
see ``PAUSE_GC_FROM``). A compiled program pickles as its rule set and is recompiled on load:
compiling is linear in the rules and cheap (the source is the same size for ten rules or a
million; a 10,000-rule policy compiles in about 0.1 s, a million-row PTP table in a few
seconds). One restored from the cache (``image.py``) pickles as its image.
"""

from __future__ import annotations

import builtins
import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from functools import reduce
from itertools import compress, pairwise, repeat, starmap
from operator import add, and_, attrgetter, ge, gt, itemgetter, ne, not_, or_, truth
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

import attrs

from . import codegen, plans
from . import model as m
from .claims import (
    TUPLE_CONVERTERS,
    ClaimLine,
    Columns,
    Decision,
    Finding,
    LineRef,
    columns,
    order_key,
    unfrozen,
)
from .collector import collector_paused
from .plans import Plan

#: From this many claim lines on, the cyclic garbage collector is paused while judging: the
#: engine makes only acyclic objects, and a collection pass over a large heap per few hundred
#: decisions would cost more than judging.
PAUSE_GC_FROM = 20_000

T_co = TypeVar("T_co", covariant=True)

_BUILTINS = {name: getattr(builtins, name) for name in (
    "all", "any", "frozenset", "len", "list", "map", "max", "min", "range", "set",
    "sorted", "sum", "tuple")}


# --- building claims objects fast ---------------------------------------------------------
# Decision, Finding and LineRef are frozen attrs classes with slots and no validators, and no
# converters but ``claims.TUPLE_CONVERTERS`` (lists of findings and related lines become
# tuples, which the engine always makes them already): filling their slots directly makes the
# same objects as their __init__, at a fraction of the cost. Checked here, so a change to
# claims.py cannot go unnoticed.

def _check_plain(cls: type, names: tuple[str, ...]) -> None:
    fields = attrs.fields(cls)
    if tuple(f.name for f in fields) != names or any(
            f.converter not in (None, *TUPLE_CONVERTERS) or f.validator is not None
            for f in fields) or hasattr(
            cls, "__attrs_post_init__"):  # pragma: no cover - guards against claims.py changes
        raise RuntimeError(f"engine: {cls.__name__} no longer has the fields {names}")


def _slot_setters(cls: type, names: tuple[str, ...]) -> list[Callable[[object, object], None]]:
    _check_plain(cls, names)
    return [vars(cls)[name].__set__ for name in names]


_new = object.__new__
(_set_claim, _set_line, _set_member, _set_date, _set_code, _set_decision,
 _set_findings) = _slot_setters(Decision, ("claim_id", "line", "member_id", "date", "code",
                                           "decision", "findings"))
_check_plain(Finding, ("rule", "action", "carc", "message", "source", "related"))
_check_plain(LineRef, ("claim_id", "line"))  # built by claims.unfrozen, below
_get = {name: attrgetter(name) for name in ("claim_id", "line", "member_id", "date", "code")}


def in_order(batch: Columns) -> bool:
    """Are the lines strictly in the engine's order (date, claim id, line number) already?
    Then so are any lines picked from them in input order (a member's), and no two tie."""
    keys = zip(batch.dates, batch.claim_ids, batch.numbers, strict=True)
    return not any(starmap(ge, pairwise(keys)))


def allow_all(batch: Columns) -> list[Decision]:
    """An ``allow`` decision without findings for every line, built column by column."""
    count = len(batch.codes)
    out: list[Decision] = list(map(_new, repeat(Decision, count)))
    for setter, column in ((_set_claim, batch.claim_ids), (_set_line, batch.numbers),
                           (_set_member, batch.members), (_set_code, batch.codes)):
        deque(map(setter, out, column), 0)
    iso = {day: day.isoformat() for day in set(batch.dates)}
    deque(map(_set_date, out, map(iso.__getitem__, batch.dates)), 0)
    deque(map(_set_decision, out, repeat("allow", count)), 0)
    deque(map(_set_findings, out, repeat((), count)), 0)
    return out


def _fill_decision(self: Any, line: ClaimLine, verdict: str,
                   findings: tuple[Finding, ...]) -> None:
    self.claim_id = line.claim_id
    self.line = line.line
    self.member_id = line.member_id
    self.date = line.date.isoformat()
    self.code = line.code
    self.decision = verdict
    self.findings = findings
    self.__class__ = Decision


def _fill_finding(self: Any, info: FindingText, related: tuple[LineRef, ...]) -> None:
    self.rule = info.id
    self.action = info.action
    self.carc = info.carc
    self.message = info.message
    self.source = info.source
    self.related = related
    self.__class__ = Finding


def _fill_ref(self: Any, line: ClaimLine) -> None:
    self.claim_id = line.claim_id
    self.line = line.line
    self.__class__ = LineRef


_SAMPLE = ClaimLine("C", 1, "M", dt.date(2024, 1, 1), "99213")
#: ``decided(line, verdict, findings)``: the decision ``verdict`` (deny or review) on ``line``,
#: with its findings (what the generated code makes for every line with findings).
decided: Callable[[ClaimLine, str, tuple[Finding, ...]], Decision] = unfrozen(
    Decision, _fill_decision, _SAMPLE, "deny", ())
#: ``finding_of(info, related)``: a rule's finding (its texts from ``info``) naming ``related``.
finding_of: Callable[[FindingText, tuple[LineRef, ...]], Finding] = unfrozen(
    Finding, _fill_finding,
    SimpleNamespace(id="r", action="deny", carc="97", message="m", source="s"), ())
#: ``line_ref(line)``: the reference to ``line`` a finding names.
line_ref: Callable[[ClaimLine], LineRef] = unfrozen(LineRef, _fill_ref, _SAMPLE)


def _finding_maker(infos: RuleTable[FindingText]) -> Callable[..., Finding]:

    def finding(number: int, positions: list[int], lines: list[ClaimLine],
                made: dict[object, Any]) -> Finding:
        """Rule ``number``'s finding, naming the lines at ``positions`` (in the member's
        order). ``made`` holds the member's findings and line references made so far: equal
        findings (an E/M line after another in one global period) are one object."""
        key = (number, *positions)
        found: Finding | None = made.get(key)
        if found is not None:
            return found
        related = []
        for position in positions:
            ref = made.get(position)
            if ref is None:
                ref = made[position] = line_ref(lines[position])
            related.append(ref)
        found = made[key] = finding_of(infos[number], tuple(related))
        return found

    return finding


# --- helpers the generated code calls -----------------------------------------------------

def months_first(day: int, months: int, firsts: dict[int, int]) -> int:
    """The first date ordinal of an ``Nmo`` window ending on ``day``; remembered in
    ``firsts`` under ``months * OPEN_HI + day`` (the generated code looks there first)."""
    first = m.months_window_first(dt.date.fromordinal(day), months).toordinal()
    firsts[months * plans.OPEN_HI + day] = first
    return first


def year_first(day: int, firsts: dict[int, int]) -> int:
    """The ordinal of January 1 of ``day``'s year; remembered in ``firsts`` under
    ``-1 - day``."""
    first = dt.date(dt.date.fromordinal(day).year, 1, 1).toordinal()
    firsts[-1 - day] = first
    return first


_starts_period = itemgetter(9)


def procedure_lines(lines: list[ClaimLine], plans: list[plans.Plan], ordinals: list[int]
                    ) -> dict[str, tuple[list[int], list[int]]]:
    """A member's lines that can start a global period, by provider: their date ordinals and
    positions, in the member's order."""
    out: dict[str, tuple[list[int], list[int]]] = {}
    for position in compress(range(len(plans)), map(_starts_period, plans)):
        provider = lines[position].provider_id
        found = out.get(provider)
        if found is None:
            found = out[provider] = ([], [])
        found[0].append(ordinals[position])
        found[1].append(position)
    return out


def same_day_groups(lines: list[ClaimLine], denied: list[bool], start: int
                    ) -> dict[str, dict[str, list[int]]]:
    """The lines at ``start``, ``start + 1``, ... (one date; ``denied`` holds their denials)
    that are not denied, by provider and code: their positions, in the member's order."""
    out: dict[str, dict[str, list[int]]] = {}
    for position in compress(range(start, start + len(denied)), map(not_, denied)):
        line = lines[position]
        group = out.get(line.provider_id)
        if group is None:
            out[line.provider_id] = {line.code: [position]}
        else:
            same = group.get(line.code)
            if same is None:
                group[line.code] = [position]
            else:
                same.append(position)
    return out


def same_day_codes(lines: list[ClaimLine], denied: list[bool], start: int
                   ) -> dict[str, list[int]]:
    """The lines at ``start``, ``start + 1``, ... (one date; ``denied`` holds their denials)
    that are not denied, by code whatever their provider: their positions, in the member's
    order. What an ``exclusive … across providers`` compares."""
    out: dict[str, list[int]] = {}
    for position in compress(range(start, start + len(denied)), map(not_, denied)):
        code = lines[position].code
        same = out.get(code)
        if same is None:
            out[code] = [position]
        else:
            same.append(position)
    return out


def denied_ahead(lines: list[ClaimLine], plans: list[Plan], ordinals: list[int],
                 denied: list[bool], positions: list[int], n: int, j: int,
                 deny: Sequence[int]) -> bool:
    """Would the same-day rules of its own date deny the procedure line at ``j``, a date after
    the one being judged: a forbid, an exclusive (of its provider's lines, or of every
    provider's ``across providers``) or a per-day MUE, among the lines of that date that
    passed their line rules (``denied`` holds stage 1's verdicts there, and ``j`` passed
    them)? A paid line (``positions[j] >= n``) never is. The global periods over it and its
    limits are not known yet (docs/semantics.md). Called for the day before a major
    procedure, which the procedure's period covers only if the procedure is not denied."""
    if positions[j] >= n:
        return False
    plan, day, line = plans[j], ordinals[j], lines[j]
    p, q = bisect_left(ordinals, day), bisect_right(ordinals, day)
    group = same_day_groups(lines, denied[p:q], p)[line.provider_id]
    code, mods = line.code, line.modifiers
    if plan[2] is not None:
        for trigger, lines_of in group.items():
            rows = plan[2].get(trigger)
            if rows is None or (trigger == code and len(lines_of) < 2):  # only itself
                continue
            if any(deny[r] and lo <= day <= hi and bypass.isdisjoint(mods)
                   for r, lo, hi, bypass in rows):
                return True
    for r, lo, hi, codes in plan[3]:
        if deny[r] and lo <= day <= hi and next(c for c in codes if c in group) != code:
            return True
    if plan[14]:
        everyone = same_day_codes(lines, denied[p:q], p)
        for r, lo, hi, codes in plan[14]:
            if deny[r] and lo <= day <= hi and next(c for c in codes if c in everyone) != code:
                return True
    if plan[5]:  # its code's units by the provider on its claim and earlier ones, and paid
        claim = line.claim_id
        total = sum(lines[i].units for i in group[code]
                    if positions[i] >= n or lines[i].claim_id <= claim)
        return any(deny[r] and total > maximum and lo <= day <= hi
                   for r, lo, hi, maximum in plan[5])
    return False


def window_first(window: int, size: int, day: int, firsts: dict[int, int]) -> int:
    """The first date ordinal of a history rule's window ending on ``day`` (``WINDOW_CLAIM``:
    any date; its lines are picked by claim)."""
    if window == plans.WINDOW_DAYS:
        return day - size + 1
    if window == plans.WINDOW_MONTHS:
        return firsts.get(size * plans.OPEN_HI + day) or months_first(day, size, firsts)
    if window == plans.WINDOW_YEAR:
        return firsts.get(-1 - day) or year_first(day, firsts)
    return plans.OPEN_LO


def surely_limited(lines: list[ClaimLine], plans_of: list[Plan], ordinals: list[int],
                   count: dict[object, list[int]] | None, positions: list[int], n: int,
                   j: int, p: int, q: int, deny: Sequence[int], firsts: dict[int, int]) -> bool:
    """Is the procedure line at ``j``, of the date after the one being judged (lines ``p`` to
    ``q``), sure to be denied by a limit or a prerequisite of its date, whatever the lines of
    the two dates turn out to be? A limit is when the lines counted before ``p`` (final: all
    of earlier dates) are already too many; a prerequisite when the sessions are too few even
    counting the date of ``p`` as one whenever a line there joins its group. A paid line
    (``positions[j] >= n``) never is. Called for the day before a major procedure."""
    if count is None or positions[j] >= n:
        return False
    line, day = lines[j], ordinals[j]
    for r, lo, hi, mode, group, by_provider, window, size, bound, bypass in plans_of[j][6]:
        if not (deny[r] and lo <= day <= hi) or (bypass and not bypass.isdisjoint(line.modifiers)):
            continue
        counted = count.get((group, line.provider_id) if by_provider else group, [])
        counted = counted[:bisect_left(counted, p)]
        if window == plans.WINDOW_CLAIM:
            claim = line.claim_id
            counted = [k for k in counted if lines[k].claim_id == claim]
            today: Sequence[int] = [k for k in range(p, q) if lines[k].claim_id == claim]
        else:
            first = window_first(window, size, day, firsts)
            counted = counted[bisect_left(counted, first, key=ordinals.__getitem__):]
            today = range(p, q) if first <= ordinals[p] else range(0)
        if mode == plans.HISTORY_UNITS:
            if line.units + sum(lines[k].units for k in counted) > bound:
                return True
        elif mode == plans.HISTORY_SESSIONS:
            if len({day, *map(ordinals.__getitem__, counted)}) > bound:
                return True
        else:  # a prerequisite: the sessions before its date, and perhaps the day before
            sessions = set(map(ordinals.__getitem__, counted))
            if any(group in plans_of[k][11] for k in today):
                sessions.add(ordinals[p])
            if len(sessions) < bound:
                return True
    return False


def addon_alone(lines: list[ClaimLine], denied: list[bool], p: int, q: int, k: int,
                rows: tuple[plans.Row, ...], day: int, deny: Sequence[int]) -> bool:
    """Is stage 4 sure to deny the add-on line at ``k``? It is when an add-on rule for its
    code in force on ``day`` denies, and no other line of its date (``p`` to ``q``) by the
    same provider, of a primary code of those rules, left stage 2 standing (``denied``, as
    the lines left stage 2; paid lines always stand). Such a line counts toward no limit."""
    if len(rows) == 1:  # most add-on codes have one rule
        number, first, last, primaries = rows[0]
        if not (first <= day <= last and deny[number]):
            return False
    else:
        in_force = [row for row in rows if row[1] <= day <= row[2]]
        if not any(deny[row[0]] for row in in_force):
            return False
        primaries = frozenset().union(*[row[3] for row in in_force])
    provider = lines[k].provider_id
    for j in range(p, q):
        if j != k and not denied[j]:
            line = lines[j]
            if line.code in primaries and line.provider_id == provider:
                return False
    return True


def has_primary(alive: dict[str, int], code: str, primaries: frozenset[str],
                counts_itself: bool) -> bool:
    """Is a primary among the allowed lines of one provider (``alive``: code -> how many)?

    ``counts_itself``: the add-on line is among them (and cannot be its own primary).
    """
    for other, many in alive.items():
        if many and other in primaries and (other != code or many > counts_itself):
            return True
    return False


def counting_keys(plan: plans.Plan, provider: str) -> tuple[object, ...]:
    """The keys of ``count`` under which a counted line of ``plan`` by ``provider`` stands:
    its member-wide groups, and its groups by provider with the provider."""
    return (*plan[11], *[(group, provider) for group in plan[12]])


def uncount(count: dict[object, list[int]], plan: plans.Plan, provider: str,
            position: int) -> None:
    """A line denied after it was counted (an add-on) counts toward nothing: it leaves the
    counting groups of its plan."""
    for key in counting_keys(plan, provider):
        counted = count.get(key)
        if counted is not None and position in counted:
            counted.remove(position)


def restore_date(p: int, q: int, saved: dict[int, int], after_stage1: list[bool],
                 denied: list[bool], findings: dict[int, list[Any]], support: list[bool] | None,
                 count: dict[object, list[int]] | None, plans_of: list[Plan],
                 lines: list[ClaimLine]) -> None:
    """Put the lines ``p`` to ``q`` (one date) back as stage 1 left them, to judge the date
    again: their denials (``after_stage1``), their findings (``saved``: how many stage 1 gave
    each line that has any), the add-on support of the date (``support``, S1) and, in the
    counting groups, the positions the date added (every position of the date is at least
    ``p``, and each group lists them in order, last)."""
    denied[p:q] = after_stage1
    if support is not None:
        support[p:q] = after_stage1
    for k in range(p, q):
        kept = saved.get(k)
        if kept is None:
            findings.pop(k, None)
        else:
            del findings[k][kept:]
        if count is not None:
            for key in counting_keys(plans_of[k], lines[k].provider_id):
                counted = count.get(key)
                while counted and counted[-1] >= p:
                    counted.pop()


# --- the program --------------------------------------------------------------------------

class Program:
    """A compiled rule set: ``adjudicate`` judges claim lines as ``interpret`` does.

    ``Program(ruleset)`` compiles; :func:`policydsl.image.restore` rebuilds a program from a
    saved image without compiling, and then unpickles each code's plan the first time a line
    of that code is judged (and the rule set itself only if asked for).
    """

    def __init__(self, ruleset: m.RuleSet, filename: str | None = None) -> None:
        self._ruleset: m.RuleSet | None = ruleset
        self._load_ruleset: Callable[[], m.RuleSet] | None = None
        self._image: object | None = None  # a restored program's image (policydsl.image)
        self.name = ruleset.name
        self.filename = (_printable(filename) if filename is not None
                         else default_filename(ruleset))
        tables = plans.build_tables(ruleset.rules)
        self.generated = codegen.generate(ruleset, tables.features)
        self.code = compile(self.source, self.filename, "exec")
        self.tables: plans.Tables | None = tables
        self._before: Callable[[Sequence[ClaimLine], Sequence[ClaimLine]], None] | None = None
        self._adjudicate = bind(self.code, tables.plans.get, tables.paid.get, tables.deny,
                                tables.fired, [rule.info for rule in ruleset.rules])

    @classmethod
    def restored(cls, name: str, filename: str, generated: codegen.Generated, code: Any,
                 tables: RuntimeTables, load_ruleset: Callable[[], m.RuleSet],
                 before: Callable[[Sequence[ClaimLine], Sequence[ClaimLine]], None],
                 image: object) -> Program:
        """A program from its parts (see :mod:`policydsl.image`): ``before`` runs ahead of
        every ``adjudicate`` (it fills lazily loaded tables); ``load_ruleset`` gives the rule
        set on first use of ``ruleset``; ``image`` is what it was restored from (a pickled
        program is that image, restored again in the process that unpickles it)."""
        program = cls.__new__(cls)
        program._ruleset = None
        program._load_ruleset = load_ruleset
        program._image = image
        program.name = name
        program.filename = filename
        program.generated = generated
        program.code = code
        program.tables = None
        program._before = before
        program._adjudicate = bind(code, *tables)
        return program

    @property
    def ruleset(self) -> m.RuleSet:
        if self._ruleset is None:
            assert self._load_ruleset is not None
            self._ruleset = self._load_ruleset()
        return self._ruleset

    @property
    def rules(self) -> tuple[m.Rule, ...]:
        return self.ruleset.rules

    @property
    def source(self) -> str:
        return self.generated.source

    def adjudicate(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine] = ()
                   ) -> list[Decision]:
        """Judge ``lines`` against the paid ``history``; one decision per line, in order."""
        lines, history = self._prepared(lines, history)
        batch = columns(lines)
        decisions: list[Decision] = self._run(lines, history, batch, allow_all(batch))
        return decisions

    def judge(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine] = (),
              batch: Columns | None = None) -> list[Decision | ClaimLine]:
        """``adjudicate`` for a batch that renders its decisions: where a line is allowed
        without findings, the line itself stands for its decision (no ``Decision`` is made for
        it). ``batch``: the lines' columns, when the caller has them already."""
        lines, history = self._prepared(lines, history)
        if batch is None:
            batch = columns(lines)
        judged: list[Decision | ClaimLine] = self._run(lines, history, batch, list(lines))
        return judged

    def _prepared(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine]
                  ) -> tuple[Sequence[ClaimLine], Sequence[ClaimLine]]:
        if not isinstance(lines, (list, tuple)):
            lines = list(lines)
        if not isinstance(history, (list, tuple)):
            history = list(history)
        if self._before is not None:
            self._before(lines, history)
        return lines, history

    def _run(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine], batch: Columns,
             out: list[Any]) -> list[Any]:
        if len(lines) < PAUSE_GC_FROM:
            return self._adjudicate(lines, history, batch, out)
        with collector_paused():
            return self._adjudicate(lines, history, batch, out)

    @property
    def debug_info(self) -> list[tuple[int, str]]:
        """``(generated line, policy source)`` for every rule: the line of the predicate that
        judges it, and where the rule is written. Rule ``i`` is ``debug_info[i]``."""
        return self.generated.debug_info(self.rules)

    def sources_at(self, lineno: int) -> list[str]:
        """The policy sources of the rules whose predicate is at generated line ``lineno``."""
        return [source for line, source in self.debug_info if line == lineno]

    def __reduce__(self) -> tuple[Callable[..., Program], tuple[Any, ...]]:
        """A compiled program pickles as its rule set (compiled again when unpickled); a
        restored one as its image (restored again), with what reads its rule set: it pickles
        even once its files have changed, and judges exactly as before."""
        if self._image is None:
            return (Program, (self.ruleset, self.filename))
        from .image import dumps, program_of_bytes

        read = self._load_ruleset if self._ruleset is None else Given(self._ruleset)
        return (program_of_bytes, (dumps(self._image), read))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        rules = sum(map(len, self.generated.kinds.values()))
        return f"<Program {self.name}: {rules} rules>"


@attrs.frozen
class Given:
    """A rule set already read, as what reads it (for a restored program pickled after it
    read its rule set)."""

    ruleset: m.RuleSet

    def __call__(self) -> m.RuleSet:
        return self.ruleset


class FindingText(Protocol):
    """What a finding copies from its rule (``RuleInfo`` has it, and so does a ``Finding``)."""

    @property
    def id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def carc(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def source(self) -> str: ...


class RuleTable(Protocol[T_co]):
    """Rule number -> a value: a tuple, or a table that unpickles its rows on first use."""

    def __getitem__(self, number: int, /) -> T_co: ...


#: What ``bind`` needs besides the code: PLAN_get, PAID_get, DENY, FIRED, and the texts of
#: every rule's findings.
RuntimeTables = tuple[Callable[[str], Plan | None], Callable[[str], Plan | None], RuleTable[Any],
                      RuleTable[Any], RuleTable[FindingText]]


#: The generated ``adjudicate(lines, history, batch, out)``: ``out`` holds what stands for each
#: line while it is allowed without findings; it is returned with the decision of every other
#: line in its place.
Judge = Callable[[Sequence[ClaimLine], Sequence[ClaimLine], Columns, list[Any]], list[Any]]


def bind(code: Any, plans_get: Callable[[str], Plan | None],
         paid_get: Callable[[str], Plan | None],
         deny: RuleTable[Any], fired: RuleTable[Any], texts: RuleTable[FindingText]
         ) -> Judge:
    """Run the compiled program into a fresh namespace holding only its tables and the
    helpers above; return its ``adjudicate``."""
    namespace: dict[str, Any] = {
        "__builtins__": dict(_BUILTINS),
        # the tables (plans.Tables)
        "PLAN_get": plans_get, "PAID_get": paid_get,
        "DENY": deny, "FIRED": fired,
        # decisions and findings
        "in_order": in_order, "decided": decided, "finding": _finding_maker(texts),
        # helpers of the stages
        "months_first": months_first, "year_first": year_first,
        "procedure_lines": procedure_lines, "same_day_groups": same_day_groups,
        "same_day_codes": same_day_codes,
        "has_primary": has_primary, "uncount": uncount, "addon_alone": addon_alone,
        "denied_ahead": denied_ahead, "surely_limited": surely_limited,
        "restore_date": restore_date,
        "order_key": order_key,
        # getters and C-level tools for whole columns of lines
        "line_code": _get["code"], "line_date": _get["date"], "line_claim": _get["claim_id"],
        "line_number": _get["line"],
        "line_member": _get["member_id"], "line_units": attrgetter("units"),
        "defaultdict": defaultdict, "deque": deque, "list_append": list.append,
        "order_of": attrgetter("date", "claim_id", "line"), "plan_bits": itemgetter(0),
        "plan_reach": itemgetter(13), "reach_codes": itemgetter(0), "reach_days": itemgetter(1),
        "reach_same_day": itemgetter(2),
        "by_rule": itemgetter(0), "toordinal": dt.date.toordinal, "itemgetter": itemgetter,
        "bisect_left": bisect_left, "bisect_right": bisect_right, "reduce": reduce,
        "compress": compress, "repeat": repeat, "add": add, "and_": and_, "or_": or_,
        "ge": ge, "gt": gt, "ne": ne, "zip": zip,
        "truth": truth,
    }
    exec(code, namespace)  # our own source: it holds no text from the policy
    adjudicate: Judge = namespace["adjudicate"]
    return adjudicate


def default_filename(ruleset: m.RuleSet) -> str:
    """The name tracebacks show for a policy's program: its name and first file."""
    if ruleset.files:
        return _printable(f"<policy {ruleset.name} {ruleset.files[0]}>")
    return _printable(f"<policy {ruleset.name}>")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def compile_ruleset(ruleset: m.RuleSet, filename: str | None = None) -> Program:
    """Compile a resolved policy; ``filename`` names the program in tracebacks."""
    return Program(ruleset, filename)


def adjudicate(rules: m.RuleSet | Sequence[m.Rule], lines: Sequence[ClaimLine],
               history: Sequence[ClaimLine] = ()) -> list[Decision]:
    """Compile and run in one call: the same call shape as ``interpreter.interpret``."""
    ruleset = rules if isinstance(rules, m.RuleSet) else m.RuleSet("<rules>", tuple(rules))
    return compile_ruleset(ruleset).adjudicate(lines, history)
