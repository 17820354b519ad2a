"""Lints that compare rules with rules: W302 a code that forbids itself, W303 an add-on whose
primary is forbidden with it, W304 identical rules, W305 a limit, MUE or exclusive a stricter
one makes redundant, W308 and W309 exclusive rules that rank two codes both ways or list one."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import cast

import attrs

from .. import model as m
from ..resolve import Workspace
from .index import (
    Index,
    Parts,
    Site,
    codes_text,
    index_for,
    token_for,
)

# --- W302 ---------------------------------------------------------------------------------


def self_forbid(ws: Workspace) -> None:
    """W302: ``when X forbid X``: a forbid whose triggers and targets share a code."""
    index = index_for(ws)
    for rule, site in index.text_rules:
        if not isinstance(rule, m.Forbid):
            continue
        shared = rule.triggers & rule.targets
        if not shared:
            continue
        span, via = token_for(ws, site, min(shared), ("targets",))
        verb = "forbids itself" if len(shared) == 1 else "forbid themselves"
        outcome = ("pend each other and both go to review" if rule.info.action == "review"
                   else "deny each other and neither is paid")
        index.report(
            "W302",
            f"{codes_text(shared)}{via} {verb}: two lines of the code the same day "
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
    forbid when the forbid's policy extends the add-on's (see ``Index.extends``).
    """
    index = index_for(ws)
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


def _report_w303(ws: Workspace, index: Index, meeting: Site | None, addon: m.Addon,
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
            span, via = token_for(ws, addon_site, primary, ("primaries",))
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
        span, via = token_for(ws, addon_site, primary, ("primaries",))
        index.report(
            "W303",
            f"add-on {code} can never be paid with its primary {primary}{via}: "
            f"{index.describe(forbid, addon_site.file)} {verb} the pair ({what}); remove "
            f"{remove} from that {kind}, or {primary} from this add-on's primaries",
            addon_site.file, span)
    elif forbid_site is not None:
        span, via = token_for(ws, forbid_site, denied, ("targets", "codes"))
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
    index = index_for(ws)
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
            and strict.by_provider <= weak.by_provider and strict.bypass <= weak.bypass
            and strict.maximum <= weak.maximum
            and strict.window.holds(weak.window)
            and _validity_contains(strict.info.validity, weak.info.validity)
            and not (strict.info.action == "review" and weak.info.action == "deny"))


def redundant_limit(ws: Workspace) -> None:
    """W305: a limit, ``mue`` or ``exclusive`` that a stricter one makes redundant.

    A limit ``weak`` is redundant when ``strict`` has the same codes and measure, counts
    member-wide if ``weak`` does (a member's count is never below one provider's), no bypass
    modifier ``weak`` lacks, a window that holds ``weak``'s for every date, a
    maximum no higher, a validity that holds ``weak``'s, and an action at least as severe:
    whenever ``weak`` would fire, ``strict`` already has. An ``mue`` is redundant by another
    that holds each of its codes (an MUE counts each code's units apart) with a maximum no
    higher, the same ``per day`` or ``per line``, and such a validity and action. Reported at
    the redundant rule, or at the stricter one when its policy extends the redundant one's (see
    ``Index.extends``). Two rules that make each other redundant are reported once, at the
    later; identical ones are W304's. An MUE row of a table is reported only against a row of
    the same table, at the table, naming the row. An ``exclusive`` is redundant by another
    that ranks its codes in its order (see ``_exclusive_stricter``).
    """
    index = index_for(ws)
    found = _Redundancies()
    for parts in index.rulesets():
        found.holding.update(map(id, parts.text))
        limits = [r for r in parts.text if isinstance(r, m.Limit)]
        stripped = [_stripped(limit) for limit in limits]
        # only a limit on the same codes and measure can be stricter: each limit is compared
        # with those (in rule set order), not with every other limit; and limits equal but
        # for id and message (W304's) are one limit to compare, by value
        alike: dict[tuple[frozenset[str], bool], dict[m.Rule, list[int]]] = {}
        for i, limit in enumerate(limits):
            alike.setdefault((limit.codes, limit.sessions), {}).setdefault(
                stripped[i], []).append(i)
        for i, weak in enumerate(limits):
            j = _stricter_limit(i, weak, stripped[i], alike[weak.codes, weak.sessions])
            if j is not None:
                _report_redundant(index, parts, weak, limits[j], found)
        _redundant_mues(index, parts, found)
        _redundant_exclusives(index, parts, found)
    found.report()


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


def _redundant_mues(index: Index, parts: Parts, found: _Redundancies) -> None:
    """W305 for ``mue`` rules: each text ``mue`` against every MUE of its rule set that
    shares a code with it; each MUE row of a table against the other rows of its table."""
    mues = parts.mues
    if len(mues) < 2:
        return
    by_code: dict[str, list[int]] = {}  # code -> positions in mues
    for at, mue in enumerate(mues):
        for code in mue.codes:
            by_code.setdefault(code, []).append(at)
    text = frozenset(map(id, parts.text))
    written_values: set[m.Rule] = set()
    for i, weak in enumerate(mues):
        written = id(weak) in text
        if written:
            value = _stripped(weak)
            if value in written_values:
                continue  # identical to an earlier one: W304's
            written_values.add(value)
        for j in sorted(set(by_code[min(weak.codes)]) - {i}):
            strict = mues[j]
            strict_written = id(strict) in text
            if not written and (strict_written or strict.info.id != weak.info.id):
                continue  # a table row only against the rows of its own table
            if not _mue_stricter(strict, weak):
                continue
            if j > i and strict_written == written and _mue_stricter(weak, strict):
                continue  # mutual: reported at the later one (or at the written one)
            if written and strict_written and _stripped(strict) == value:
                continue  # identical: W304's
            if written:
                _report_redundant(index, parts, weak, strict, found)
            else:
                _report_redundant_row(index, weak, strict)
            break


def _redundant_exclusives(index: Index, parts: Parts, found: _Redundancies) -> None:
    """W305 for ``exclusive`` rules: each against the exclusives of its rule set that share
    a code with it."""
    exclusives = parts.exclusives
    by_code: dict[str, list[int]] = {}  # code -> positions in exclusives
    for at, rule in enumerate(exclusives):
        for code in dict.fromkeys(rule.codes):
            by_code.setdefault(code, []).append(at)
    values = [_stripped(rule) for rule in exclusives]
    first_of: dict[m.Rule, int] = {}  # value -> the first position holding it
    for at, value in enumerate(values):
        first_of.setdefault(value, at)
    for i, weak in enumerate(exclusives):
        if len(set(weak.codes)) < 2 or first_of[values[i]] != i:
            continue  # never fires (W309's), or identical to an earlier one (W304's)
        # a stricter one holds every code of this one: look among those of its rarest code
        rarest = min(dict.fromkeys(weak.codes), key=lambda code: len(by_code[code]))
        for j in sorted(set(by_code[rarest]) - {i}):
            strict = exclusives[j]
            if values[j] == values[i] or not _exclusive_stricter(strict, weak):
                continue  # identical ones are W304's
            if j > i and _exclusive_stricter(weak, strict):
                continue  # mutual: reported at the later one
            _report_redundant(index, parts, weak, strict, found)
            break


def _exclusive_stricter(strict: m.Exclusive, weak: m.Exclusive) -> bool:
    """Whether ``strict`` denies every line ``weak`` would: it ranks every code of ``weak``
    in ``weak``'s order (other codes may come between), compares lines across providers if
    ``weak`` does, and is in force and as severe wherever ``weak`` is. ``weak`` denies a line
    when a code it ranks higher is billed with it; ``strict`` ranks that code higher too."""
    rank = {code: at for at, code in reversed(list(enumerate(strict.codes)))}
    ranks = [rank.get(code, -1) for code in dict.fromkeys(weak.codes)]
    return (min(ranks) >= 0 and ranks == sorted(ranks)
            and strict.across_providers >= weak.across_providers
            and _validity_contains(strict.info.validity, weak.info.validity)
            and not (strict.info.action == "review" and weak.info.action == "deny"))


def _mue_stricter(strict: m.Mue, weak: m.Mue) -> bool:
    """Whether ``strict`` denies every line ``weak`` would, and ``weak`` changes nothing else:
    it holds each of ``weak``'s codes (each code's units count apart), allows no more units,
    counts the same way, and is in force and as severe wherever ``weak`` is. A ``per line``
    MUE is never redundant by a ``per day`` one: it is a line rule, so the lines it denies
    are not summed by the day's MUE (docs/semantics.md), and removing it changes that sum."""
    return (weak.codes <= strict.codes and strict.maximum <= weak.maximum
            and strict.per_day == weak.per_day
            and _validity_contains(strict.info.validity, weak.info.validity)
            and not (strict.info.action == "review" and weak.info.action == "deny"))


#: The rules W305 compares: each kind with its own.
Redundant = m.Limit | m.Mue | m.Exclusive


@attrs.define
class _Redundancies:
    """What W305 found over all rule sets. The advice to remove a rule is given only where the
    rule is redundant in every rule set that holds it: a policy that extends it and disables
    or overrides the stricter rule still needs it."""

    holding: Counter[int] = attrs.Factory(Counter)  # id(rule) -> rule sets that hold it
    redundant: Counter[int] = attrs.Factory(Counter)  # id(rule) -> rule sets where redundant
    plain: dict[int, Callable[[], None]] = attrs.Factory(dict)  # id(rule) -> its report

    def report(self) -> None:
        for rule, report in self.plain.items():
            if self.redundant[rule] == self.holding[rule]:
                report()


def _terms(rule: Redundant) -> str:
    """What a limit or MUE allows, as its text says it: ``12 per 90d``, ``1 per day``; what
    an exclusive keeps: ``20553 over 20552 across providers``."""
    if isinstance(rule, m.Limit):
        return f"{rule.maximum} per {rule.window}" + (" by provider" if rule.by_provider else "")
    if isinstance(rule, m.Exclusive):
        first, *others = dict.fromkeys(rule.codes)
        return (f"{first} over {codes_text(others, in_order=True)}"
                + (" across providers" if rule.across_providers else ""))
    return f"{rule.maximum} per {'day' if rule.per_day else 'line'}"


def _alike(weak: Redundant, strict: Redundant) -> str:
    """How ``strict`` covers ``weak``: on what codes, and with what modifiers (a phrase to
    follow its terms)."""
    if isinstance(weak, m.Limit):
        assert isinstance(strict, m.Limit)
        return (" on the same codes and measure"
                + (", counting every provider's lines" if strict.by_provider < weak.by_provider
                   else "")
                + ("" if strict.bypass == weak.bypass else ", with fewer unless modifiers"))
    if isinstance(weak, m.Exclusive):
        assert isinstance(strict, m.Exclusive)
        return "" if set(strict.codes) == set(weak.codes) else ", among other codes"
    return " on the same codes" if strict.codes == weak.codes else " on these codes and others"


def _report_redundant(index: Index, parts: Parts, weak: Redundant, strict: Redundant,
                      found: _Redundancies) -> None:
    """Report W305 for ``weak`` (written in policy text), which ``strict`` makes redundant in
    the rule set of ``parts``: at ``weak`` (once every rule set is seen, see
    ``_Redundancies``); at ``strict`` where its policy extends ``weak``'s; at the extending
    policy's ``extends`` where the two meet only there."""
    found.redundant[id(weak)] += 1
    kind = {m.Limit: "limit", m.Mue: "mue", m.Exclusive: "exclusive"}[type(weak)]
    site = index.site(weak)
    strict_site = index.site(strict) or index.table_site(strict)
    assert site is not None and strict_site is not None
    alike = _alike(weak, strict)
    if index.extends(strict_site, site, weak):
        this = (f"this {kind}" if index.site(strict) is not None
                else f"row {strict.info.source} of this table")
        index.report(
            "W305",
            f"{this}, {_terms(strict)}{alike}, makes inherited "
            f"{index.describe(weak, strict_site.file)}, {_terms(weak)}, redundant in "
            "this policy: this one already denies every line that one would; "
            f"{index.switch_off(weak)}",
            strict_site.file, strict_site.body.span)
    elif parts.meeting is not None and index.apart(strict_site, strict, site, weak):
        if index.met_before(parts.meeting, strict, weak):
            return
        here = parts.meeting.file
        index.report(
            "W305",
            f"{index.describe(weak, here)}, {_terms(weak)}, is redundant here: "
            f"{index.describe(strict, here)}, {_terms(strict)}{alike}, already denies every "
            f"line it would; both are extended here; {index.switch_off(weak)}",
            here, parts.meeting.statement.span)
    else:  # advice to remove the rule: held until every rule set that has it is seen
        found.plain.setdefault(id(weak), functools.partial(
            index.report,
            "W305",
            f"this {kind} ({_terms(weak)}) is redundant: "
            f"{index.describe(strict, site.file)}, {_terms(strict)}{alike}, already denies "
            f"every line it would; remove this {kind}, or make it stricter than the other",
            site.file, site.body.span))


def _report_redundant_row(index: Index, weak: m.Mue, strict: m.Mue) -> None:
    """W305 at a ``table mue`` statement: its row ``weak`` is redundant by its row ``strict``
    (two rows for one code: the stricter applies)."""
    site = index.table_site(weak)
    if site is None:
        return
    index.report(
        "W305",
        f"row {weak.info.source} ({codes_text(weak.codes)}, {_terms(weak)}) is redundant: row "
        f"{strict.info.source} of the same table, {_terms(strict)}, already denies every line "
        "it would; a table should give one MUE a code: remove one of the rows",
        site.file, site.statement.span)


# --- W308, W309 ---------------------------------------------------------------------------


def exclusive_conflicts(ws: Workspace) -> None:
    """W308: two ``exclusive`` rules of one rule set (both deny, in force together) that rank
    two codes both ways: billed together, each denies the code the other keeps, and neither
    line is paid. Reported at the later one, naming the first. W309: an ``exclusive`` of one
    code, which never fires."""
    index = index_for(ws)
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


def _exclusive_against_forbids(index: Index, parts: Parts,
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
