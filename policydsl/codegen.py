"""Code generation: a ``RuleSet``'s program, written as Python source that reads the index
tables of ``policydsl.plans``.

``generate`` writes an ``adjudicate`` function (the batch's fields read once as columns; lines
whose code some rule mentions grouped by member at C speed) and a ``judge_member`` function (the
member's lines put in order, with no sort when the batch is in order already; line rules; then
date by date one walk over the date's lines for the same-day and history rules, and the
add-ons), written for this policy by a small Jinja-style :class:`CodeWriter`. Each rule kind is
a block of code that loops over its rows in the plans: one predicate per kind, which measured
faster than a function per rule and keeps the source the same size for ten rules or a million.
Blocks, validity tests and window kinds the policy does not use are left out. Above a kind's
predicate, ``# rule N: file:line:col`` comments name its rules; :meth:`Generated.debug_info`
maps every rule to that predicate's line.

The source embeds only ints, rule numbers and names made here; codes, messages, ids and every
other text from the policy stay in the tables (text in comments is filtered to a safe
alphabet), so no policy can put code in the program. The same rule set always gives the same
source, byte for byte: everything is emitted in rule order or sorted order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs

from . import model as m
from .plans import (
    BIT_ADDON,
    BIT_COUNTED,
    BIT_HISTORY,
    BIT_LINE,
    BIT_PROCEDURE,
    BIT_SAME,
    HISTORY_PREREQUISITE,
    HISTORY_SESSIONS,
    LINE_AUTH,
    LINE_DELETED,
    LINE_DX,
    LINE_KINDS,
    LINE_MODIFIER,
    LINE_MUE,
    OPEN_HI,
    WINDOW_CLAIM,
    WINDOW_DAYS,
    WINDOW_MONTHS,
    WINDOW_YEAR,
    Features,
)

#: Above this many rules of one kind, the comments above its predicate name the first ones
#: and say how many more there are (``Program.debug_info`` has them all).
COMMENTED_RULES_PER_KIND = 200

_SAFE_TEXT = re.compile(r"[^A-Za-z0-9_.,:;@/+=()<>\[\] -]")
_SOURCE = re.compile(r"[A-Za-z0-9_.,/\\@+: -]{1,300}:\d+(:\d+)?")
_POLICY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,200}")


def shown_source(source: str) -> str:
    """A rule's source for a comment: ``file:line[:col]`` of a plain path, or ``?``."""
    return source if _SOURCE.fullmatch(source) else "?"


def shown_name(name: str) -> str:
    """A policy name for a comment: a dotted name, or ``?``."""
    return name if _POLICY_NAME.fullmatch(name) else "?"


def safe_comment(text: str) -> str:
    """Text fit for a ``#`` comment: one line, a plain alphabet, other characters as ``?``."""
    return _SAFE_TEXT.sub("?", text)[:200]


class CodeWriter:
    """Writes indented Python source line by line, like Jinja's code generator.

    ``writeline`` adds a line at the current indentation, ``indent``/``outdent`` move it.
    Line numbers are 1-based, as in tracebacks.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._level = 0

    @property
    def lineno(self) -> int:
        """The number the next line will have."""
        return len(self._lines) + 1

    def writeline(self, text: str = "") -> int:
        """Write one line; returns its number."""
        self._lines.append("    " * self._level + text if text else "")
        return len(self._lines)

    def comment(self, text: str) -> int:
        return self.writeline("# " + safe_comment(text))

    def indent(self, steps: int = 1) -> None:
        self._level += steps

    def outdent(self, steps: int = 1) -> None:
        self._level -= steps
        assert self._level >= 0, "outdent below column 0"

    def getvalue(self) -> str:
        return "\n".join(self._lines) + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- the source ---------------------------------------------------------------------------


@attrs.frozen
class Generated:
    """Generated source, and for each rule number the line of the predicate that judges it."""

    source: str
    predicate_lines: dict[str, int]  # rule kind -> line of its predicate
    kinds: dict[str, tuple[int, ...]]  # rule kind -> rule numbers

    def debug_info(self, rules: tuple[m.Rule, ...]) -> list[tuple[int, str]]:
        """``(generated line, rule source)`` for every rule, in rule order: the line of the
        predicate that judges rule ``i`` is ``debug_info(rules)[i][0]``."""
        lines = [0] * len(rules)
        for kind, numbers in self.kinds.items():
            line = self.predicate_lines[kind]
            for number in numbers:
                lines[number] = line
        return [(line, rule.info.source) for line, rule in zip(lines, rules, strict=True)]


class _Generator:
    """Writes the program for one rule set; ``run`` returns the finished ``Generated``."""

    def __init__(self, ruleset: m.RuleSet, features: Features) -> None:
        self.ruleset = ruleset
        self.f = features
        self.w = CodeWriter()
        self.predicate_lines: dict[str, int] = {}

    # helpers -----------------------------------------------------------------------------

    def block(self, text: str, **when: bool) -> None:
        """Write an indented block at the current level.

        A line ``@predicate KIND: CODE`` writes the comments naming KIND's rules, then CODE,
        and remembers CODE's line as the predicate of KIND's rules. A line ``@NAME CODE``
        writes CODE only when the keyword argument ``NAME`` is true.
        """
        for raw in _dedent(text):
            stripped = raw.lstrip()
            if stripped.startswith("@") and not stripped.startswith("@predicate "):
                name, code = stripped[1:].split(" ", 1)
                if when[name]:
                    self.w.writeline(raw[: len(raw) - len(stripped)] + code)
            elif stripped.startswith("@predicate "):
                margin = raw[: len(raw) - len(stripped)]
                kind, code = stripped[len("@predicate "):].split(": ", 1)
                self.predicate(margin, kind, code)
            else:
                self.w.writeline(raw)

    def predicate(self, margin: str, kind: str, code: str) -> None:
        numbers = self.f.kinds[kind]
        rules = self.ruleset.rules
        for number in numbers[:COMMENTED_RULES_PER_KIND]:
            self.w.writeline(margin + "# " + safe_comment(
                f"rule {number}: {shown_source(rules[number].info.source)} ({kind})"))
        if len(numbers) > COMMENTED_RULES_PER_KIND:
            more = len(numbers) - COMMENTED_RULES_PER_KIND
            self.w.writeline(margin + "# " + safe_comment(
                f"... and {more} more {kind} rules (Program.debug_info names them)"))
        self.predicate_lines[kind] = self.w.writeline(margin + code)

    def test(self, *conditions: str) -> str:
        """Join the conditions that apply with ``and``; ``True`` if none does."""
        kept = [c for c in conditions if c]
        return " and ".join(kept) if kept else "True"

    def dated(self, *kinds: str, lo: str = "lo", hi: str = "hi") -> str:
        """The validity test for rows of these kinds, empty when all are always in force."""
        return f"{lo} <= d <= {hi}" if self.f.checks_dates(*kinds) else ""

    # the program -------------------------------------------------------------------------

    def run(self) -> Generated:
        f = self.f
        w = self.w
        w.comment(f"Generated by policydsl.codegen for policy {shown_name(self.ruleset.name)}: "
                  f"{_count(len(self.ruleset.rules), 'rule')}.")
        for text in [
            "Judges claim lines as docs/semantics.md says, reading only what Program binds in",
            "its namespace: PLAN_get and PAID_get (code -> plan of a claim or history line; the",
            "layout is in the docstring of policydsl.plans), DENY and FIRED (rule number ->",
            "does it deny, its prebuilt finding), finding() (a finding naming lines) and small",
            "helpers.",
            "Rule numbers index Program.rules; the rule comments above each predicate name the",
            "rules it judges. Rule kinds:",
        ]:
            w.comment(text)
        for kind, numbers in f.kinds.items():
            w.comment(f"    {kind}: {_count(len(numbers), 'rule')}")
        w.writeline()
        w.writeline()
        self.adjudicate()
        self.judge_member()
        return Generated(w.getvalue(), dict(self.predicate_lines), dict(f.kinds))

    def line_rules(self) -> None:
        """Stage 1, inline in the member's first pass: each line by itself. The kinds are
        tested most numerous first."""
        f = self.f
        self.block("""
            hits = None
            for r, lo, hi, kind, a, b in PL[k][1]:
        """)
        self.w.indent()
        if f.checks_dates(*LINE_KINDS):
            self.block("""
                if not lo <= d <= hi:
                    continue
            """)
        kinds = [
            ("deleted", LINE_DELETED, """
                if d < a:
                    continue
            """),
            ("require_dx", LINE_DX, """
                for x in line.dx:
                    if x in a or x.startswith(b):
                        break
                else:
                    x = None
                if x is not None:
                    continue
            """),
            ("require_auth", LINE_AUTH, """
                if line.auth.strip():
                    continue
            """),
            ("forbid_modifier", LINE_MODIFIER, """
                if a.isdisjoint(line.modifiers):
                    continue
            """),
            ("mue_line", LINE_MUE, """
                if line.units <= a:
                    continue
            """),
        ]
        kinds.sort(key=lambda kind: -len(f.kinds.get(kind[0], ())))
        branch = "if"
        for kind, number, body in kinds:
            if f.has(kind):
                self.block(f"@predicate {kind}: {branch} kind == {number}:")
                self.w.indent()
                self.block(body)
                self.w.outdent()
                branch = "elif"
        self.block("""
            if hits is None:
                hits = [r]
            else:
                hits.append(r)
        """)
        self.w.outdent()
        self.block("""
            if hits is not None:
                FS[k] = [FIRED[r] for r in hits]
                for r in hits:
                    if DENY[r]:
                        DN[k] = True
        """)

    def adjudicate(self) -> None:
        self.block("""
            def adjudicate(lines, history, batch, out):
                \"""Judge ``lines`` (``batch``: their columns) against the paid ``history``:
                ``out`` holds what stands for each line while it is allowed without findings;
                the decision of every other line replaces it (see Program.adjudicate).\"""
                n = len(lines)
                plans = list(map(PLAN_get, batch.codes))
                # the lines some rule mentions, by member (C-level: no Python step per line)
                members = defaultdict(list)
                deque(map(list_append, map(members.__getitem__, compress(batch.members, plans)),
                          compress(range(n), plans)), 0)
                if not members:
                    return out
                everything = lines
                ordered = not history and in_order(batch)  # then no member needs sorting
                if history:
                    # history lines (numbered from n on) go first: on a tie of date, claim and
                    # line number, a paid line comes before a judged one
                    everything = [*lines, *history]
                    codes = list(map(line_code, history))
                    earlier = defaultdict(list)
                    if len(members) == 1:  # one member's claim: the real-time path
                        (member,) = members
                        # only the paid lines that can change a verdict (plan field 13): of
                        # a code the claim's rules look back at, near enough; or of a same-day
                        # partner, on one of the claim's dates
                        claim_plans = plans[:n]
                        reach = list(map(plan_reach, compress(claim_plans, claim_plans)))
                        back_codes = frozenset().union(*map(reach_codes, reach))
                        day_codes = frozenset().union(*map(reach_same_day, reach))
                        claim_days = set(map(toordinal, batch.dates))
                        first = min(claim_days) - max(map(reach_days, reach))
                        last = max(claim_days) + 1
                        plans += repeat(None, len(codes))
                        positions = earlier[member]
                        for i in compress(range(len(codes)), map(
                                (back_codes | day_codes).__contains__, codes)):
                            code = codes[i]
                            line = history[i]
                            day = line.date.toordinal()
                            if (code in back_codes and first <= day <= last
                                    or code in day_codes and day in claim_days):
                                plan = PAID_get(code)
                                if plan is not None and line.member_id == member:
                                    plans[n + i] = plan
                                    positions.append(n + i)
                    else:
                        paid = list(map(PAID_get, codes))
                        plans += paid
                        owners = list(map(line_member, history))
                        kept = list(compress(range(len(paid)), map(
                            and_, map(truth, paid), map(members.__contains__, owners))))
                        deque(map(list_append, map(earlier.__getitem__, map(
                            owners.__getitem__, kept)), map(add, kept, repeat(n))), 0)
                    for member, positions in earlier.items():
                        members[member] = positions + members[member]
                firsts = {}
                for positions in members.values():
                    judge_member(positions, everything, plans, n, out, firsts, ordered)
                return out
        """)
        self.w.writeline()
        self.w.writeline()

    def judge_member(self) -> None:
        f = self.f
        self.block("""
            def judge_member(X, everything, plans, n, out, firsts, ordered):
                \"""Judge one member's lines: ``X`` holds their numbers (claim lines from 0,
                history from ``n``), history first; ``ordered``: they are in order already.\"""
                L = list(map(everything.__getitem__, X))
                has_paid = X[0] >= n  # the member has history lines
                if len(X) > 1 and not ordered:
                    if has_paid:  # a date's paid lines first (claims.order_key)
                        keys = list(zip(map(line_date, L), map(gt, repeat(n), X),
                                        map(line_claim, L), map(line_number, L)))
                    else:
                        keys = list(map(order_of, L))
                    if any(map(ge, keys, keys[1:])):  # not in strict order already
                        order = sorted(range(len(X)), key=keys.__getitem__)
                        if len(set(keys)) < len(X):
                            # lines tie on date, claim and line number: order by the whole key
                            order.sort(key=lambda i: order_key(L[i], X[i] < n))
                        pick = itemgetter(*order)
                        X = list(pick(X))
                        L = list(pick(L))
                PL = list(map(plans.__getitem__, X))
                O = list(map(toordinal, map(line_date, L)))
                B = list(map(plan_bits, PL))  # history lines have paid plans: no stage bits
                DN = [False] * len(X)
                FS = {}
                member_bits = reduce(or_, B)
        """)
        self.w.indent()
        if f.has(*LINE_KINDS):
            self.block(f"""
                if member_bits & {BIT_LINE}:
                    for k in compress(range(len(B)), map(and_, B, repeat({BIT_LINE}))):
                        line = L[k]
                        d = O[k]
            """)
            self.w.indent(2)
            self.line_rules()
            self.w.outdent(2)
        if f.has("forbid", "exclusive", "exclusive_across", "global", "mue_day", "limit",
                 "prerequisite", "addon"):
            self.later_stages()
        self.block("""
            for k, found in FS.items():
                out[X[k]] = decided(L[k], "deny" if DN[k] else "review", tuple(found))
        """)
        self.w.outdent()

    def later_stages(self) -> None:
        """Stages 2 to 4, date by date, for a member with lines they judge.

        The dates walked are every date of the member (found in one C-level pass), or, for a
        member with paid history, only the dates with a line to judge: the lines in between
        are counted in one loop, with no step per date.

        Stages 2 and 3 share one walk over the date's lines: a line gets its same-day
        verdict, then (if it still stands) its history rules, then it is counted. Same-day
        rules look at the date's lines as they left stage 1 (``run_dn``, taken before the
        walk), so a line denied earlier in the walk still counts as present for them, as if
        they were all judged at once; history rules see every denial of the lines before.

        A date with an add-on line is walked twice instead, same-day rules first, then history
        rules: whether the add-on can count is then settled on the lines that left stage 2
        (``S1`` is brought up to date between the walks), so a primary that a pair rule denies
        supports it no more than one the line rules deny. The verdicts are the same either
        way otherwise: no same-day verdict depends on a history verdict of its date.
        """
        f = self.f
        same = f.has("forbid", "exclusive", "exclusive_across", "global", "mue_day")
        history = f.has("limit", "prerequisite")
        later = BIT_SAME | BIT_HISTORY | BIT_ADDON
        periods = f.has("global")
        self.block(f"""
            if member_bits & {later}:
                procedures = None
                made = {{}}
                end = len(X)
                @codes C = list(map(line_code, L))
                @history if member_bits & {BIT_HISTORY}:
                @history     stage3 = {BIT_HISTORY | BIT_COUNTED}  # lines stage 3 judges or counts
                @history     count = defaultdict(list)  # counting group -> counted positions
                @history     ordinal = O.__getitem__
                @units     units_of = None  # the lines' units, made when a limit needs them
                @history else:
                @history     stage3 = 0
                @alone # an add-on line is counted only if a line that left stage 2 (of its date)
                @alone # can support it: S1 is what stands after stage 1, then after stage 2
                @alone S1 = DN[:] if member_bits & {BIT_ADDON} else None
                @periods # how many findings stage 1 gave each line, to judge a date again
                @periods FS1 = ({{k: len(found) for k, found in FS.items()}}
                @periods        if member_bits & {BIT_PROCEDURE} else None)
                walked = {BIT_SAME if same else 0}{" | stage3" if history else ""}
                # the dates walked: lines p to q (excluded) have date O[p]
                if has_paid:
                    # only the dates with a line to judge: the paid history between them
                    # is counted at once, with no step per date
                    J = list(map(O.__getitem__, compress(range(end), map(
                        and_, B, repeat({later})))))
                    J = [J[0], *compress(J[1:], map(ne, J[1:], J))]
                    runs = zip(list(map(bisect_left, repeat(O), J)),
                               list(map(bisect_right, repeat(O), J)))
                else:
                    cuts = list(compress(range(1, end), map(ne, O[1:], O)))
                    runs = zip([0, *cuts], [*cuts, end])
                @history h = 0  # the lines before h are judged or counted
                for p, q in runs:
                    @history if h < p and stage3:
                    @history     for k in range(h, p):  # lines of dates with nothing to judge
                    @history         if B[k] & {BIT_COUNTED} and not DN[k]:
                    @history             plan = PL[k]
        """, units=f.units, codes=f.has("forbid", "exclusive", "exclusive_across", "mue_day"),
             history=history, alone=history and f.has("addon"), periods=periods)
        if history:
            self.w.indent(5)
            self.count_line()
            self.w.outdent(5)
        self.w.indent(2)
        self.block("""
            @history h = q
            d = O[p]
            run_bits = (B[p] if q == p + 1 else B[p] | B[p + 1] if q == p + 2
                        else reduce(or_, B[p:q]))
        """, history=history)
        if periods:
            # a procedure that covers a line of its own date and that a later stage then
            # denies starts no period: the date is judged again without it (see retry_date)
            self.block("""
                excluded = None  # the date's procedures that start no period on it
                kept = None  # ``excluded`` as the last judging that bore it out had it
                retries = 0
                while True:
                    started = None  # the date's procedures that cover a line of it
            """)
            self.w.indent()
        self.block("""
            if run_bits & walked:
                @same lone = q == p + 1
                @same if not lone:
                @same     # what same-day rules see: the date's lines after stage 1
                @codes     run_codes = C[p:q]
                @same     run_dn = DN[p:q]
                @same groups = None
                @across everyone = None  # the date's standing lines by code, any provider
        """, codes=f.has("forbid", "exclusive", "exclusive_across", "mue_day"), same=same,
             across=f.has("exclusive_across"))
        self.w.indent()  # in "if run_bits & walked:"
        if self.split_walks:
            self.w.writeline(f"if run_bits & {BIT_ADDON} and stage3:  # an add-on: two walks (S1)")
            self.w.indent()
            self.walk(f"{BIT_SAME}", same_day=True, history=False)
            self.w.writeline("S1[p:q] = DN[p:q]  # the second walk: what left stage 2")
            self.walk("stage3", same_day=False, history=True)
            self.w.outdent()
            self.w.writeline("else:")
            self.w.indent()
            self.walk("walked", same_day=same, history=history)
            self.w.outdent()
        else:
            self.walk("walked", same_day=same, history=history)
        self.w.outdent()
        if f.has("addon"):
            self.w.writeline(f"if run_bits & {BIT_ADDON}:")
            self.w.indent()
            self.addons()
            self.w.outdent()
        if periods:
            self.retry_date()
            self.w.outdent()
        self.w.outdent(2)

    def retry_date(self) -> None:
        """The end of a date's stages, when the policy has global periods. A procedure that
        covered a line of its own date (``started``) and is denied now starts no period ("a
        global period starts at a procedure line that is not denied"): the date is judged
        again from stage 2 with those procedures ``excluded``, which only grows. A judging in
        which a procedure so taken out stands after all contradicts itself: the date is then
        judged once more with the exclusions of the last judging that bore them out (``kept``),
        and stays so. At most ``MAX_DATE_RETRIES`` judgings again, so a date of many lines
        cannot take many times its own time. Such a date has two lines or more, so ``run_dn``
        was taken; ``FS1`` holds how many findings stage 1 gave each line."""
        f = self.f
        count = "count if stage3 else None" if f.has("limit", "prerequisite") else "None"
        support = "S1" if f.has("limit", "prerequisite") and f.has("addon") else "None"
        restore = f"restore_date(p, q, FS1, run_dn, DN, FS, {support}, {count}, PL, L)"
        self.block(f"""
            if excluded is not None and not all(map(DN.__getitem__, excluded)):
                {restore}
                excluded = kept  # a procedure taken out stands: back to the last consistent
                retries = {m.MAX_DATE_RETRIES}
                continue
            if started is not None and retries < {m.MAX_DATE_RETRIES}:
                late = [j for j in started if DN[j] and (excluded is None or j not in excluded)]
                if late:
                    {restore}
                    kept = excluded
                    excluded = set(late) if excluded is None else excluded | set(late)
                    retries += 1
                    continue
            break
        """)

    def walk(self, mask: str, *, same_day: bool, history: bool) -> None:
        """A walk over the date's lines: each line that ``mask`` selects and that stands gets
        its same-day verdict (``same_day``), then its history rules (``history``)."""
        self.block(f"""
            for k in range(p, q):
                bits = B[k] & {mask}
                if not bits or DN[k]:
                    continue
                plan = PL[k]
        """)
        self.w.indent()
        if same_day:
            self.w.writeline(f"if bits & {BIT_SAME}:")
            self.w.indent()
            self.same_day()
            self.w.outdent()
        if history:
            self.w.writeline("if bits & stage3:")
            self.w.indent()
            self.history()
            self.w.outdent()
        self.w.outdent()

    @property
    def split_walks(self) -> bool:
        """Whether a date with an add-on line is walked twice (``later_stages``): when there
        are same-day rules to settle before add-ons are counted."""
        f = self.f
        return (f.has("limit", "prerequisite") and f.has("addon")
                and f.has("forbid", "exclusive", "exclusive_across", "global", "mue_day"))

    def count_line(self) -> None:
        """Count the line at ``k`` in its counting groups, for the limits and prerequisites
        after it: ``count[group]`` (``count[group, provider]`` for a limit by provider) lists
        the counted lines' positions, in the member's order."""
        self.block("""
            for g in plan[11]:
                count[g].append(k)
        """)
        if self.f.by_provider:
            self.block("""
                if plan[12]:
                    provider = L[k].provider_id
                    for g in plan[12]:
                        count[g, provider].append(k)
            """)

    def same_day(self) -> None:
        """Stage 2 for the line at ``k``: forbid, exclusive, global, mue per day.

        The codes of the date's lines (``run_codes``) rule out most lines at C speed: a
        forbid or an exclusive set needs one of the line's partners there, and a mue per day
        more units than its least maximum. Only then are the date's lines grouped exactly
        (by provider and code, ``same_day_groups``), once per date; and by code alone, for
        an ``exclusive … across providers`` in force (``same_day_codes``), once per date too,
        and only on a date where such a rule applies.
        """
        f = self.f
        self.w.writeline("found = None")
        if f.has("forbid", "exclusive", "exclusive_across"):
            self.block("""
                if not lone and plan[8] is not None and not plan[8].isdisjoint(run_codes):
                    @provider if groups is None:
                    @provider     groups = same_day_groups(L, run_dn, p)
                    line = L[k]
                    code = line.code
                    mods = line.modifiers
                    @provider group = groups[line.provider_id]
            """, provider=f.has("forbid", "exclusive"))
            self.w.indent()
        if f.has("forbid"):
            bypass = "(not mods or bypass.isdisjoint(mods))" if f.forbid_bypass else ""
            self.block(f"""
                rows_by_trigger = plan[2]
                if rows_by_trigger is not None:
                    hits = None
                    for trigger, lines_of in group.items():
                        rows = rows_by_trigger.get(trigger)
                        if rows is None:
                            continue
                        if trigger == code:
                            lines_of = [j for j in lines_of if j != k]
                            if not lines_of:
                                continue
                        for r, lo, hi, bypass in rows:
                            @predicate forbid: if {self.test(self.dated("forbid"), bypass)}:
                                if hits is None:
                                    hits = {{r: lines_of}}
                                elif r in hits:
                                    hits[r] = sorted(hits[r] + lines_of)
                                else:
                                    hits[r] = lines_of
                    if hits is not None:
                        found = list(hits.items())
            """)
        # an exclusive looks at the provider's lines of the date (``group``), or across
        # providers at every line of the date (``everyone``, grouped on first need)
        for kind, field, rivals in (("exclusive", 3, "group"),
                                    ("exclusive_across", 14, "everyone")):
            if not f.has(kind):
                continue
            self.block(f"""
                for r, lo, hi, codes in plan[{field}]:
                    @predicate {kind}: if {self.test(self.dated(kind))}:
                        @across if everyone is None:
                        @across     everyone = same_day_codes(L, run_dn, p)
                        for winner in codes:
                            if winner in {rivals}:
                                break
                        if winner != code:
                            if found is None:
                                found = []
                            found.append((r, {rivals}[winner]))
            """, across=kind == "exclusive_across")
        if f.has("forbid", "exclusive", "exclusive_across"):
            self.w.outdent()
        if f.has("global"):
            bypass = "(not mods or bypass.isdisjoint(mods))" if f.global_bypass else ""
            period = "(offset <= days or offset == 0) and (offset >= 0 or days >= 90)"
            starts = self.test(self.dated("global"), bypass, period)
            # a procedure on the next date (the day before a major one): denied by its line
            # rules, by the same-day rules of its date, or surely by its history rules
            ahead = ""
            if f.has("forbid", "exclusive", "exclusive_across", "mue_day"):
                ahead += " or denied_ahead(L, PL, O, DN, X, n, j, DENY)"
            if f.has("limit", "prerequisite"):
                ahead += (" or surely_limited(L, PL, O, count if stage3 else None, X, n, j, p,"
                          " q, DENY, firsts)")
            if ahead:
                ahead = " if j < p else DN[j]" + ahead
            self.block(f"""
                if member_bits & {BIT_PROCEDURE} and plan[4] is not None:
                    rows_by_procedure = plan[4]
                    if procedures is None:
                        procedures = procedure_lines(L, PL, O)
                    line = L[k]
                    near = procedures.get(line.provider_id)
                    if near is not None:
                        mods = line.modifiers
                        ords, positions = near
                        hits = None
                        for j in positions[bisect_left(ords, d - {f.longest_global}):
                                           bisect_left(ords, d + 2)]:
                            rows = rows_by_procedure.get(L[j].code)
                            if rows is None or j == k or (
                                    run_dn[j - p] or excluded is not None and j in excluded
                                    if p <= j < q else DN[j]{ahead}):
                                continue
                            offset = d - O[j]
                            for r, lo, hi, days, bypass in rows:
                                @predicate global: if {starts}:
                                    if hits is None:
                                        hits = {{r: [j]}}
                                    elif r in hits:
                                        hits[r].append(j)
                                    else:
                                        hits[r] = [j]
                                    if offset == 0:
                                        if started is None:
                                            started = {{j}}
                                        else:
                                            started.add(j)
                        if hits is not None:
                            if found is None:
                                found = list(hits.items())
                            else:
                                found.extend(hits.items())
            """)
        if f.has("mue_day"):
            over = self.test("total > maximum", self.dated("mue_day"))
            self.block(f"""
                if plan[5] and (L[k].units > plan[10] or not lone and run_codes.count(C[k]) > 1):
                    if groups is None:
                        groups = same_day_groups(L, DN[p:q] if lone else run_dn, p)
                    same = groups[L[k].provider_id][C[k]]
                    if len(same) > 1:  # paid lines, this claim's and earlier claims'
                        claim = L[k].claim_id
                        same = [j for j in same if X[j] >= n or L[j].claim_id <= claim]
                    total = 0
                    for j in same:
                        total += L[j].units
                    for r, lo, hi, maximum in plan[5]:
                        @predicate mue_day: if {over}:
                            if found is None:
                                found = []
                            found.append((r, [j for j in same if j != k]))
            """)
        self.block("""
            if found is not None:
                if len(found) > 1:
                    found.sort(key=by_rule)
                fs = FS.get(k)
                if fs is None:
                    fs = FS[k] = []
                for r, js in found:
                    fs.append(finding(r, js, L, made))
                    if DENY[r]:
                        DN[k] = True
                if DN[k]:
                    continue
        """)

    def history(self) -> None:
        """Stage 3 for the line at ``k``: limits and prerequisites against the counted
        lines; then the line is counted."""
        f = self.f
        self.block(f"""
            if bits & {BIT_HISTORY}:
                line = L[k]
                found = None
                for r, lo, hi, mode, group, by_provider, window, size, bound, bypass in plan[6]:
        """)
        self.w.indent(2)
        if f.checks_dates("limit", "prerequisite"):
            self.block("""
                if not lo <= d <= hi:
                    continue
            """)
        if f.limit_bypass:
            self.block("""
                if bypass and line.modifiers and not bypass.isdisjoint(line.modifiers):
                    continue
            """)
        # counted: the group's lines so far (all dated d or before), in the member's order;
        # then the part inside the window, and for a prerequisite the dates before d
        if f.by_provider:
            self.w.writeline("counted = count.get((group, line.provider_id) if by_provider "
                             "else group, ())")
        else:
            self.w.writeline("counted = count.get(group, ())")
        if f.sessions:
            self.block(f"""
                if mode == {HISTORY_SESSIONS} and len(counted) < bound:
                    continue  # fewer lines than the sessions allowed
            """)
        self.block("""
            if not counted:
                start = 0
        """)
        branch = "elif"
        days = "start = bisect_left(counted, d - size + 1, key=ordinal)"
        for window, text in [(WINDOW_DAYS, days),
                             (WINDOW_MONTHS, f"""
                                 first = firsts.get(size * {OPEN_HI} + d)
                                 if first is None:
                                     first = months_first(d, size, firsts)
                                 start = bisect_left(counted, first, key=ordinal)
                             """),
                             (WINDOW_YEAR, """
                                 first = firsts.get(-1 - d)
                                 if first is None:
                                     first = year_first(d, firsts)
                                 start = bisect_left(counted, first, key=ordinal)
                             """),
                             (WINDOW_CLAIM, """
                                 claim = line.claim_id
                                 counted = [j for j in counted if L[j].claim_id == claim]
                                 start = 0
                             """)]:
            if window in f.windows:
                self.w.writeline(f"{branch} window == {window}:")
                self.w.indent()
                self.block(text)
                self.w.outdent()
                branch = "elif"
        prerequisite = """
            js = counted[start:bisect_left(counted, d, start, key=ordinal)]
            @predicate prerequisite: if len(set(map(ordinal, js))) >= bound:
                continue
        """
        # the line's session is its date: over when the sessions counted before its date,
        # and its own, exceed the limit (a line of that date counted already does not let
        # it through: it may have been let through itself, by review or a bypass modifier)
        sessions = """
            over = len({d, *map(ordinal, js)}) > bound
        """
        units = """
            if units_of is None:
                units_of = list(map(line_units, L)).__getitem__
            over = line.units + sum(map(units_of, js)) > bound
        """
        if f.has("prerequisite") and f.has("limit"):
            self.w.writeline(f"if mode == {HISTORY_PREREQUISITE}:")
            self.w.indent()
            self.block(prerequisite)
            self.w.outdent()
            self.w.writeline("else:")
            self.w.indent()
        elif f.has("prerequisite"):
            self.block(prerequisite)
        if f.has("limit"):
            self.w.writeline("js = counted[start:]")
            if f.sessions and f.units:
                self.w.writeline(f"if mode == {HISTORY_SESSIONS}:")
                self.w.indent()
                self.block(sessions)
                self.w.outdent()
                self.w.writeline("else:")
                self.w.indent()
                self.block(units)
                self.w.outdent()
            else:
                self.block(sessions if f.sessions else units)
            self.block("""
                @predicate limit: if not over:
                    continue
            """)
            if f.has("prerequisite"):
                self.w.outdent()
        self.block("""
            if found is None:
                found = []
            found.append(finding(r, js, L, made))
            if DENY[r]:
                DN[k] = True
        """)
        self.w.outdent()
        self.block("""
            if found is not None:
                fs = FS.get(k)
                if fs is None:
                    FS[k] = found
                else:
                    fs.extend(found)
                if DN[k]:
                    continue
        """)
        self.w.outdent()
        counted = f"plan[0] & {BIT_COUNTED}"
        if self.f.has("addon"):  # an add-on line that stage 4 is sure to deny counts for nothing
            counted += (f" and not (B[k] & {BIT_ADDON}"
                        " and addon_alone(L, S1, p, q, k, plan[7], d, DENY))")
        self.w.writeline(f"if {counted}:")
        self.w.indent()
        self.count_line()
        self.w.outdent()

    def addons(self) -> None:
        """Stage 4: an add-on needs an allowed primary; add-ons join the allowed lines as primaries
        support them, to a fixpoint."""
        rows = ("[row for row in PL[k][7] if row[1] <= d <= row[2]]"
                if self.f.checks_dates("addon") else "PL[k][7]")
        self.block(f"""
            candidates = None
            for k in range(p, q):
                if not B[k] & {BIT_ADDON} or DN[k]:
                    continue
                rows = {rows}
                if not rows:
                    continue
                if len(rows) == 1:
                    primaries = rows[0][3]
                else:
                    primaries = frozenset().union(*[row[3] for row in rows])
                denies = False
                for row in rows:
                    if DENY[row[0]]:
                        denies = True
                if candidates is None:
                    candidates = []
                candidates.append((k, rows, primaries, denies))
            if candidates is not None:
                alive = {{}}
                for j in range(p, q):
                    if not DN[j]:
                        line = L[j]
                        group = alive.get(line.provider_id)
                        if group is None:
                            alive[line.provider_id] = {{line.code: 1}}
                        else:
                            group[line.code] = group.get(line.code, 0) + 1
                # the add-ons wait outside until a primary among the lines in supports them
                # (the least fixpoint: add-ons that only name each other, with no primary
                # billed, stay out, whatever their rules' action)
                waiting = candidates
                for c in waiting:
                    alive[L[c[0]].provider_id][L[c[0]].code] -= 1
                changed = True
                while changed and waiting:
                    changed = False
                    still = []
                    for c in waiting:
                        line = L[c[0]]
                        group = alive[line.provider_id]
                        if has_primary(group, line.code, c[2], False):
                            group[line.code] += 1
                            changed = True
                        else:
                            still.append(c)
                    waiting = still
                unpaid = {{c[0] for c in waiting}}
                for k, rows, primaries, denies in candidates:
                    supported = has_primary(alive[L[k].provider_id], L[k].code, primaries,
                                            k not in unpaid)
                    @predicate addon: if not supported:
                        fs = FS.get(k)
                        if fs is None:
                            fs = FS[k] = []
                        for row in rows:
                            fs.append(FIRED[row[0]])
                        if denies:
                            DN[k] = True
                            if PL[k][0] & {BIT_COUNTED} and member_bits & {BIT_HISTORY}:
                                uncount(count, PL[k], L[k].provider_id, k)
        """)


def _dedent(text: str) -> Iterator[str]:
    """The lines of an indented block, without the indentation of its first line."""
    lines = text.split("\n")
    body = [line for line in lines if line.strip()]
    if not body:
        return iter(())
    margin = min(len(line) - len(line.lstrip()) for line in body)
    first = next(i for i, line in enumerate(lines) if line.strip())
    last = max(i for i, line in enumerate(lines) if line.strip())
    return (line[margin:] if line.strip() else "" for line in lines[first:last + 1])


def generate(ruleset: m.RuleSet, features: Features) -> Generated:
    """Python source for the rule set (see the module docstring)."""
    return _Generator(ruleset, features).run()

