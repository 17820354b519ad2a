"""From parsed modules to rule sets: names, values and inheritance, checked.

The resolver runs as a named list of stages over a ``Workspace`` (the loaded modules):

1. ``declarations``: each file starts with ``policy NAME``; one ``effective``; unique names.
2. ``sets``: code and diagnosis sets are expanded (sets of sets, ranges), cycles reported.
3. ``rules``: each rule statement becomes a ``model`` rule with id, CARC, action, message and
   validity; CMS ``table`` statements are read into rules.
4. ``inheritance``: ``extends`` and ``disable`` are resolved, named rules override inherited
   ones, and each policy gets its final ordered ``RuleSet``.
5. ``lints``: warnings about rules that are legal but probably wrong (the ``lints`` package).

Every problem is a ``Diagnostic`` with a code and a location; nothing raises halfway. A stage
works on what earlier stages could make sense of, so one run reports as much as it can.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, cast

import attrs

from . import codes as c
from . import model as m
from . import nodes as n
from .diagnostics import Diagnostic, error
from .set_cycles import Reference, closing_references, names_in

_T = TypeVar("_T")

DEFAULT_CARC: dict[type, str] = {
    n.Forbid: "97", n.Exclusive: "97", n.Global: "97", n.Limit: "119", n.Mue: "151",
    n.RequireDx: "11", n.RequireAuth: "197", n.Addon: "B15", n.Prerequisite: "B15",
    n.Deleted: "181", n.ForbidModifier: "4", n.Table: "",
}

#: The longest rolling windows (100 years): longer ones are typos, or mean ``lifetime``.
MAX_DAYS, MAX_MONTHS = 36_525, 1_200

#: Names that look like a code with a slip (a digit short, a letter too many): an E101 for one
#: says it is no code either.
_NEAR_CODE = re.compile(r"[A-Za-z]{0,2}[0-9]{3,6}[A-Za-z]{0,2}")
_NEAR_DIAGNOSIS = re.compile(r"[A-Za-z][0-9][A-Za-z0-9.]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAYS = re.compile(r"(\d+)d")
_MONTHS = re.compile(r"(\d+)mo")


@attrs.define
class ModuleScope:
    """What the resolver knows of one file: its sets, its rules, its own diagnostics."""

    module: n.Module
    name: str = ""
    validity: m.Validity = attrs.field(factory=m.Validity)
    sets: dict[str, tuple[str, ...]] = attrs.Factory(dict)
    dx_sets: dict[str, m.DxSet] = attrs.Factory(dict)
    set_nodes: dict[str, n.SetDef | n.DxDef] = attrs.Factory(dict)
    used_sets: set[str] = attrs.Factory(set)
    rules: list[tuple[m.Rule, n.Node]] = attrs.Factory(list)
    parents: list[n.Word] = attrs.Factory(list)
    disables: list[n.Word] = attrs.Factory(list)


@attrs.define
class Workspace:
    """The loaded modules and everything the stages learn about them."""

    modules: list[n.Module]
    sources: dict[str, str] = attrs.Factory(dict)
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    scopes: dict[str, ModuleScope] = attrs.Factory(dict)  # by policy name
    rulesets: dict[str, m.RuleSet] = attrs.Factory(dict)
    origin: dict[str, n.Node] = attrs.Factory(dict)  # rule id -> statement (for lints)
    # policies whose files were read but did not parse (or do not begin with their `policy`
    # line), by name: their errors are reported already, so a policy extending one is not
    # told that it does not exist
    unparsed: frozenset[str] = frozenset()
    # the names the files an `extends` looked at declare (loaded or not): hints for an E105
    nearby: frozenset[str] = frozenset()
    # the files an `extends` looked at that could not be read, with why: what an E105 may be
    unreadable: tuple[tuple[str, str], ...] = ()
    recorded: set[Diagnostic] = attrs.Factory(set)  # what ``record`` took, to take it once
    too_deep: set[str] = attrs.Factory(set)  # "policy:set" of sets an E109 is about
    cyclic: set[str] = attrs.Factory(set)  # "policy:set" of sets on a cycle (E103 said so)
    failed: set[str] = attrs.Factory(set)  # "policy:set" of sets whose expansion failed

    def report(self, code: str, message: str, file: str, span: n.Span) -> None:
        """Record an error; the same error again (a bad set used twice) is recorded once."""
        self.record(error(code, message, file, span))

    def record(self, diagnostic: Diagnostic) -> None:
        """Add ``diagnostic``, unless the same one is here already (errors and lints alike)."""
        if diagnostic not in self.recorded:
            self.recorded.add(diagnostic)
            self.diagnostics.append(diagnostic)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


# --- stage 1: declarations ----------------------------------------------------------------


def parse_date(ws: Workspace, lit: n.DateLit, file: str) -> dt.date | None:
    if _DATE.fullmatch(lit.text):
        try:
            return dt.date.fromisoformat(lit.text)
        except ValueError:
            pass
    ws.report("E205", f"'{lit.text}' is not a valid date (YYYY-MM-DD)", file, lit.span)
    return None


def validity_of(ws: Workspace, eff: n.Effective, file: str) -> m.Validity | None:
    start = parse_date(ws, eff.start, file)
    end = parse_date(ws, eff.until, file) if eff.until else None
    if start is None or (eff.until is not None and end is None):
        return None
    validity = m.Validity(start, end)
    if validity.is_empty:
        ws.report("E206", f"validity is empty: until {eff.until.text if eff.until else ''} is "
                  f"before effective {eff.start.text}; swap the two dates", file, eff.span)
        return None
    return validity


def declarations(ws: Workspace) -> None:
    for module in ws.modules:
        file = module.path
        statements = module.statements
        if not statements or not isinstance(statements[0], n.PolicyDecl):
            span = statements[0].span if statements else n.Span(1, 1, 1, 2)
            ws.report("E104", "a policy file must begin with 'policy NAME'", file, span)
            continue
        name = statements[0].name.text
        if name in ws.scopes:
            other = ws.scopes[name].module.path
            ws.report("E108", f"policy '{name}' is already defined in {other}", file,
                      statements[0].name.span)
            continue
        scope = ModuleScope(module, name)
        ws.scopes[name] = scope
        seen_effective = False
        for st in statements[1:]:
            if isinstance(st, n.PolicyDecl):
                ws.report("E104", "only one 'policy' statement is allowed, at the top", file,
                          st.span)
            elif isinstance(st, n.Effective):
                if seen_effective:
                    ws.report("E102", "the file's validity is already set by an earlier "
                              "'effective' (a rule's own dates go in its header: rule NAME "
                              "effective DATE: ...)", file, st.span)
                seen_effective = True
                scope.validity = validity_of(ws, st, file) or scope.validity
            elif isinstance(st, n.Extends):
                scope.parents.extend(st.parents)
            elif isinstance(st, n.Disable):
                scope.disables.append(st.rule)


# --- stage 2: sets ------------------------------------------------------------------------


def visible_scopes(ws: Workspace, scope: ModuleScope) -> Iterable[ModuleScope]:
    """The scope itself, then the scopes it extends, breadth first (where set names are
    looked up)."""
    seen: set[str] = set()
    stack = [scope]
    while stack:
        current = stack.pop(0)
        if current.name in seen:
            continue
        seen.add(current.name)
        yield current
        stack.extend(ws.scopes[p.text] for p in current.parents if p.text in ws.scopes)


def _lacks_a_parent(ws: Workspace, scope: ModuleScope) -> bool:
    """Does the scope, or one it extends, extend a policy that is not loaded (unknown, or
    its file did not parse)? A set name it cannot find may be that policy's."""
    return any(p.text not in ws.scopes for s in visible_scopes(ws, scope) for p in s.parents)


#: How deep sets may name sets: real policies nest a few; this keeps expanding them well
#: inside Python's recursion limit.
MAX_SET_DEPTH = 100
#: How long a chain of ``extends`` may be, for the same reason: real policies chain a few.
MAX_EXTENDS_DEPTH = 100


class _SetResolver:
    """Expands the code and diagnosis sets of one module, following names depth first."""

    def __init__(self, ws: Workspace, scope: ModuleScope):
        self.ws = ws
        self.scope = scope
        self.file = scope.module.path
        self.active: list[str] = []

    def lookup(self, name: str) -> tuple[ModuleScope, n.SetDef | n.DxDef] | None:
        for s in visible_scopes(self.ws, self.scope):
            if name in s.set_nodes:
                return s, s.set_nodes[name]
        return None

    def other_case(self, name: str, code_set: bool) -> str:
        """The hint of an E101 for a set name written in another case (names are case
        sensitive); that set counts as used, so no W306 adds to the E101."""
        kind = n.SetDef if code_set else n.DxDef
        candidates: dict[str, ModuleScope] = {}
        for s in visible_scopes(self.ws, self.scope):
            for other, node in s.set_nodes.items():
                if other != name and other.lower() == name.lower() and isinstance(node, kind):
                    s.used_sets.add(other)
                    return f" (did you mean '{other}'? names are case sensitive)"
                if isinstance(node, kind):
                    candidates.setdefault(other, s)
        # a slip of a letter or two (FLOURO for FLUORO): that set counts as used too
        close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
        if close:
            candidates[close[0]].used_sets.add(close[0])
            return f" (did you mean '{close[0]}'?)"
        return ""

    def codes(self, items: Iterable[n.CodeItem], owner: ModuleScope | None = None
              ) -> tuple[str, ...] | None:
        """The codes a list names, in order, without repeats; ``None`` if any item is bad."""
        owner = owner or self.scope
        out: dict[str, None] = {}
        ok = True
        for item in items:
            expanded = self.item(item, owner)
            if expanded is None:
                ok = False
            else:
                out.update(dict.fromkeys(expanded))
        return tuple(out) if ok else None

    def item(self, item: n.CodeItem, owner: ModuleScope) -> tuple[str, ...] | None:
        file = owner.module.path
        if isinstance(item, n.CodeRange):
            low, high = item.low.text, item.high.text
            for word in (item.low, item.high):
                if not c.is_code(word.text):
                    self.ws.report("E201", f"'{word.text}' is not a procedure code (CPT 12345, "
                                   "1234T, HCPCS A1234)", file, word.span)
                    return None
            if c.code_shape(low) != c.code_shape(high):
                self.ws.report("E203", f"range {low}..{high} joins codes of different shapes",
                               file, item.span)
                return None
            if c.normalize(low) > c.normalize(high):
                self.ws.report("E202", f"range {low}..{high} is reversed; write "
                               f"{high}..{low}", file, item.span)
                return None
            if c.range_size(low, high) > c.MAX_RANGE:
                self.ws.report("E202", f"range {low}..{high} is wider than {c.MAX_RANGE} codes",
                               file, item.span)
                return None
            return tuple(c.expand_range(low, high))
        text = item.text
        if c.is_code(text):
            return (c.normalize(text),)
        if c.looks_like_code(text):
            self.ws.report("E201", f"'{text}' is not a procedure code (CPT 12345, 1234T, "
                           "HCPCS A1234)", file, item.span)
            return None
        return self.named(text, item.span, owner, want="set")

    def named(self, name: str, span: n.Span, owner: ModuleScope, want: str
              ) -> tuple[str, ...] | None:
        file = owner.module.path
        found = self.lookup(name) if owner is self.scope else _SetResolver(
            self.ws, owner).lookup(name)
        if found is None and _lacks_a_parent(self.ws, owner):
            return None  # the parent's E105 (or its own error) is the one to fix first
        if found is None or (want == "set") != isinstance(found[1], n.SetDef):
            kind = "code set" if want == "set" else "dx set"
            hint = " (it is a dx set)" if found and want == "set" else (
                " (it is a code set)" if found else "")
            if not found and want == "set" and _NEAR_CODE.fullmatch(name):
                hint = " (nor a procedure code: CPT 12345, 1234T, HCPCS A1234)"
            elif not found:
                hint = self.other_case(name, want == "set")
            self.ws.report("E101", f"undefined {kind} '{name}'{hint}", file, span)
            if found is not None:  # used, in the wrong place: the E101 says so, not W306
                found[0].used_sets.add(name)
            return None
        home, node = found
        home.used_sets.add(name)
        if name in home.sets:
            return home.sets[name]
        assert isinstance(node, n.SetDef)
        return self._expand(home, name, "set", (file, span),
                            lambda: self.codes(node.items, home), home.sets)

    def _expand(self, home: ModuleScope, name: str, kind: str, where: tuple[str, n.Span],
                expand: Callable[[], _T | None], cache: dict[str, _T]) -> _T | None:
        """Expand the named set once, reporting a definition that reaches itself (E103)."""
        key = f"{home.name}:{name}"
        if key in self.ws.too_deep or key in self.ws.cyclic or key in self.ws.failed:
            return None  # its E109, E103 or other error is reported already
        if len(self.active) >= MAX_SET_DEPTH:
            self.ws.report("E109", f"{kind} '{name}' is nested more than {MAX_SET_DEPTH} sets "
                           "deep: list its codes in fewer steps", *where)
            self.ws.too_deep.update(self.active)  # one error for the chain, not one a link
            return None
        if key in self.active:
            cycle = " -> ".join([*self.active[self.active.index(key):], key])
            self.ws.report("E103", f"{kind} '{name}' is defined in terms of itself: "
                           f"{cycle.replace(home.name + ':', '')}", *where)
            return None
        self.active.append(key)
        try:
            result = expand()
        finally:
            self.active.pop()
        if result is not None:
            cache[name] = result
        else:  # what it names is wrong (reported where): not expanded again
            self.ws.failed.add(key)
        return result

    def diagnoses(self, items: Iterable[n.Word], owner: ModuleScope | None = None
                  ) -> m.DxSet | None:
        owner = owner or self.scope
        file = owner.module.path
        exact: set[str] = set()
        prefixes: set[str] = set()
        ok = True
        for word in items:
            pattern = c.diagnosis_pattern(word.text)
            if pattern is not None:
                (prefixes if pattern[1] else exact).add(pattern[0])
                continue
            if c.looks_like_diagnosis(word.text) or not word.text[:1].isalpha():
                self.ws.report("E204", f"'{word.text}' is not an ICD-10-CM code or prefix "
                               "pattern (M54.50, M54.5*)", file, word.span)
                ok = False
                continue
            sub = self.dx_named(word, owner)
            if sub is None:
                ok = False
            else:
                exact |= sub.exact
                prefixes |= set(sub.prefixes)
        if not ok:
            return None
        return m.DxSet(frozenset(exact), tuple(sorted(prefixes)))

    def dx_named(self, word: n.Word, owner: ModuleScope) -> m.DxSet | None:
        file = owner.module.path
        found = _SetResolver(self.ws, owner).lookup(word.text)
        if found is None and _lacks_a_parent(self.ws, owner):
            return None  # the parent's E105 (or its own error) is the one to fix first
        if found is None or not isinstance(found[1], n.DxDef):
            hint = " (it is a code set)" if found else (
                " (nor an ICD-10-CM code: M54.50, M5450, M54.5*)"
                if _NEAR_DIAGNOSIS.fullmatch(word.text) else self.other_case(word.text, False))
            self.ws.report("E101", f"undefined dx set '{word.text}'{hint}", file, word.span)
            if found is not None:  # used, in the wrong place: the E101 says so, not W306
                found[0].used_sets.add(word.text)
            return None
        home, node = found
        home.used_sets.add(word.text)
        if word.text in home.dx_sets:
            return home.dx_sets[word.text]
        assert isinstance(node, n.DxDef)
        return self._expand(home, word.text, "dx set", (file, word.span),
                            lambda: self.diagnoses(node.items, home), home.dx_sets)


def sets(ws: Workspace) -> None:
    for scope in ws.scopes.values():
        file = scope.module.path
        for st in scope.module.statements:
            if isinstance(st, (n.SetDef, n.DxDef)):
                name = st.name.text
                if name in scope.set_nodes:
                    ws.report("E102", f"set '{name}' is already defined on line "
                              f"{scope.set_nodes[name].span.line}", file, st.name.span)
                elif c.is_code(name) or c.diagnosis_pattern(name) is not None:
                    ws.report("E102", f"set name '{name}' looks like a code; choose a name "
                              "that is not one", file, st.name.span)
                else:
                    scope.set_nodes[name] = st
    _report_cycles(ws)
    for scope in ws.scopes.values():
        resolver = _SetResolver(ws, scope)
        for name, node in scope.set_nodes.items():
            if f"{scope.name}:{name}" in ws.cyclic:
                continue
            if isinstance(node, n.SetDef) and name not in scope.sets:
                expanded = resolver.codes(node.items)
                if expanded is not None:
                    scope.sets[name] = expanded
            elif isinstance(node, n.DxDef) and name not in scope.dx_sets:
                dx = resolver.diagnoses(node.items)
                if dx is not None:
                    scope.dx_sets[name] = dx
        scope.used_sets.clear()  # only uses by rules count from here on


def _report_cycles(ws: Workspace) -> None:
    """E103 at every set name that closes a cycle of sets, before any set is expanded; the
    sets on a cycle are then ``ws.cyclic`` (see ``set_cycles``)."""
    keys: list[str] = []
    references: list[Reference] = []
    for scope in ws.scopes.values():
        resolver = _SetResolver(ws, scope)
        for name, node in scope.set_nodes.items():
            key = f"{scope.name}:{name}"
            keys.append(key)
            want = type(node)
            for word in names_in(node):
                found = resolver.lookup(word.text)
                if found is not None and isinstance(found[1], want):
                    references.append(Reference(
                        key, f"{found[0].name}:{word.text}", scope.module.path, word.span,
                        "set" if want is n.SetDef else "dx set"))
    if not references:
        return
    cyclic, closing = closing_references(keys, references)
    ws.cyclic.update(cyclic)
    for ref, cycle in closing:
        home = ref.target.partition(":")[0]
        shown = " -> ".join(cycle).replace(home + ":", "")
        ws.report("E103", f"{ref.kind} '{ref.target.partition(':')[2]}' is defined in terms "
                  f"of itself: {shown}", ref.file, ref.span)


# --- stage 3: rules -----------------------------------------------------------------------


def _code_text(word: n.Word) -> str:
    return c.normalize(word.text) if c.is_code(word.text) else word.text


def code_list_text(items: Iterable[n.CodeItem]) -> str:
    """The list as written, codes upper case: ``ESI, 77002, 64490..64495``."""
    return ", ".join(
        f"{_code_text(i.low)}..{_code_text(i.high)}" if isinstance(i, n.CodeRange)
        else _code_text(i) for i in items
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"


def _modifiers_text(words: Iterable[n.Word]) -> str:
    """Modifiers as the canonical layout writes them (upper case)."""
    return ", ".join(w.text.upper() for w in words)


def _diagnoses_text(words: Iterable[n.Word]) -> str:
    """A dx list as the canonical layout writes it: diagnoses upper case, set names as
    written."""
    return ", ".join(c.dx_word_text(w.text) for w in words)


def default_message(body: n.RuleBody) -> str:
    """A sentence made from the rule's own text, for findings of rules with no message; its
    codes, modifiers and diagnoses as the canonical layout writes them, so that ``policyc fmt``
    changes no finding."""
    if isinstance(body, n.Forbid):
        return (f"{code_list_text(body.targets)} is not payable with "
                f"{code_list_text(body.triggers)} the same day by the same provider")
    if isinstance(body, n.Exclusive):
        across = " across providers" if body.across_providers else ""
        return (f"only one of {code_list_text(body.codes)} is payable per day{across}; the "
                "first listed that was billed is paid")
    if isinstance(body, n.Limit):
        measure = "sessions" if body.measure == "sessions" else "units"
        scope = " by the same provider" if body.by_provider else ""
        return (f"more than {_plural(body.maximum.value, measure[:-1])} of "
                f"{code_list_text(body.codes)} "
                f"per {body.window.text}{scope}")
    if isinstance(body, n.Addon):
        return (f"add-on {code_list_text(body.addons)} needs a primary "
                f"({code_list_text(body.primaries)}) allowed the same day by the same provider")
    if isinstance(body, n.RequireDx):
        return (f"{code_list_text(body.codes)} needs a diagnosis in "
                f"{_diagnoses_text(body.diagnoses)}")
    if isinstance(body, n.RequireAuth):
        return f"{code_list_text(body.codes)} needs a prior authorization number"
    if isinstance(body, n.Prerequisite):
        sessions = "session" if body.count.value == 1 else "sessions"
        return (f"{code_list_text(body.targets)} needs {body.count.value} earlier {sessions} of "
                f"{code_list_text(body.required)} within {body.window.text}")
    if isinstance(body, n.Global):
        covers = code_list_text(body.covers) if body.covers else "E/M 99202-99215"
        return (f"{covers} is included in the {body.period.text} global period of "
                f"{code_list_text(body.procedures)}")
    if isinstance(body, n.Deleted):
        use = f"; use {code_list_text(body.replacements)}" if body.replacements else ""
        return f"{code_list_text(body.codes)} is deleted since {body.since.text}{use}"
    if isinstance(body, n.ForbidModifier):
        return (f"modifier {_modifiers_text(body.modifiers)} is not allowed with "
                f"{code_list_text(body.codes)}")
    if isinstance(body, n.Mue):
        per = body.per or "day"
        return (f"more than {_plural(body.maximum.value, 'unit')} of "
                f"{code_list_text(body.codes)} per {per}")
    return ""


def window_of(ws: Workspace, d: n.Duration, file: str, *, days_only: bool = False
              ) -> m.Window | None:
    match = _DAYS.fullmatch(d.text) or _MONTHS.fullmatch(d.text)
    count = 0
    if match:
        digits = match.group(1).lstrip("0")
        # past 9 digits it is longer than 100 years anyway (and int() refuses 4,300 digits)
        count = int(digits or "0") if len(digits) <= 9 else MAX_DAYS + 1
        if count < 1:
            ws.report("E211", f"a duration of {d.text} is empty", file, d.span)
            return None
    days = match is not None and d.text.endswith("d")
    # before the length: no number of months (nor day, year...) would do for a global period
    if days_only and not days:
        ws.report("E208", f"a global period is a number of days (10d, 90d), not {d.text}",
                  file, d.span)
        return None
    if match is None:
        return m.Window(d.text)  # type: ignore[arg-type]
    kind: m.WindowKind = "days" if days else "months"
    if count > (MAX_DAYS if kind == "days" else MAX_MONTHS):
        advice = (f"a global period is at most {MAX_DAYS} days" if days_only
                  else "write 'lifetime' for every date")
        ws.report("E213", f"a duration of {d.text} is longer than 100 years; {advice}",
                  file, d.span)
        return None
    return m.Window(kind, count)


class _RuleBuilder:
    """Turns one rule statement of a module into ``model`` rules."""

    def __init__(self, ws: Workspace, scope: ModuleScope,
                 table_loader: Callable[..., list[m.Rule]] | None):
        self.ws = ws
        self.scope = scope
        self.file = scope.module.path
        self.sets = _SetResolver(ws, scope)
        self.table_loader = table_loader

    def codes(self, items: Iterable[n.CodeItem]) -> frozenset[str] | None:
        found = self.sets.codes(items)
        return None if found is None else frozenset(found)

    def modifiers(self, words: Iterable[n.Word]) -> frozenset[str] | None:
        ok = True
        for w in words:
            if not c.is_modifier(w.text):
                self.ws.report("E207", f"'{w.text}' is not a modifier (two letters or digits)",
                               self.file, w.span)
                ok = False
        return frozenset(c.normalize(w.text) for w in words) if ok else None

    def info(self, statement: n.Node, body: n.RuleBody) -> m.RuleInfo | None:
        kind = n.RULE_KIND[type(body)]
        validity = self.scope.validity
        carc = DEFAULT_CARC[type(body)]
        action: m.Action = "deny"
        message = default_message(body)
        if isinstance(statement, n.NamedRule):
            rule_id = f"{self.scope.name}/{statement.name.text}"
            opts = statement.options
            if opts.carc is not None:
                if not c.is_carc(opts.carc.text):
                    text = opts.carc.text
                    group = text[:2].upper()
                    hint = (f"; write the reason code alone ({text[2:]}): the group code "
                            f"{group} is not part of it" if group in c.CARC_GROUPS
                            and c.is_carc(text[2:]) else "")
                    self.ws.report("E209", f"'{text}' is not a claim adjustment reason code "
                                   f"(97, 119, B15){hint}", self.file, opts.carc.span)
                    return None
                carc = c.normalize(opts.carc.text)
            if opts.action is not None:
                action = "review" if opts.action.text == "review" else "deny"
            if opts.message is not None:
                message = opts.message.value
            if opts.effective is not None:
                own = validity_of(self.ws, opts.effective, self.file)
                if own is None:
                    return None
                validity = own
        else:
            rule_id = f"{self.scope.name}/{kind}@{statement.span.line}"
        source = f"{self.file}:{statement.span.line}:{statement.span.column}"
        return m.RuleInfo(id=rule_id, action=action, carc=carc, message=message, source=source,
                          validity=validity)

    def build(self, statement: n.Node, body: n.RuleBody) -> list[m.Rule]:
        info = self.info(statement, body)
        if info is None:
            return []
        if isinstance(body, n.Table):
            return self.table(body, info)
        rule = self.body(body, info)
        return [] if rule is None else [rule]

    def body(self, body: n.RuleBody, info: m.RuleInfo) -> m.Rule | None:
        if isinstance(body, n.Forbid):
            triggers, targets = self.codes(body.triggers), self.codes(body.targets)
            bypass = self.modifiers(body.bypass)
            if triggers is None or targets is None or bypass is None:
                return None
            return m.Forbid(info, triggers, targets, bypass)
        if isinstance(body, n.Exclusive):
            ordered = self.sets.codes(body.codes)
            return (None if ordered is None
                    else m.Exclusive(info, ordered, body.across_providers))
        if isinstance(body, n.Limit):
            codes, bypass = self.codes(body.codes), self.modifiers(body.bypass)
            window = window_of(self.ws, body.window, self.file)
            if codes is None or bypass is None or window is None:
                return None
            return m.Limit(info, codes, window, body.maximum.value, body.measure == "sessions",
                           body.by_provider, bypass)
        if isinstance(body, n.Addon):
            addons, primaries = self.codes(body.addons), self.codes(body.primaries)
            if addons is None or primaries is None:
                return None
            return m.Addon(info, addons, primaries)
        if isinstance(body, n.RequireDx):
            codes, dx = self.codes(body.codes), self.sets.diagnoses(body.diagnoses)
            return None if codes is None or dx is None else m.RequireDx(info, codes, dx)
        if isinstance(body, n.RequireAuth):
            codes = self.codes(body.codes)
            return None if codes is None else m.RequireAuth(info, codes)
        if isinstance(body, n.Prerequisite):
            targets, required = self.codes(body.targets), self.codes(body.required)
            window = window_of(self.ws, body.window, self.file)
            if window is not None and (window.kind == "day" or window == m.Window("days", 1)):
                self.ws.report("E208", "a prerequisite counts sessions on earlier dates; "
                               f"'within {body.window.text}' has none (write 'within 2d' or "
                               "more)", self.file, body.window.span)
                return None
            if body.count.value < 1:
                self.ws.report("E211", "a prerequisite needs at least 1 earlier session",
                               self.file, body.count.span)
                return None
            if targets is None or required is None or window is None:
                return None
            return m.Prerequisite(info, targets, required, body.count.value, window)
        if isinstance(body, n.Global):
            procedures = self.codes(body.procedures)
            covers = self.codes(body.covers) if body.covers else m.DEFAULT_GLOBAL_COVERS
            bypass = self.modifiers(body.bypass) if body.bypass else m.DEFAULT_GLOBAL_BYPASS
            period = window_of(self.ws, body.period, self.file, days_only=True)
            if procedures is None or covers is None or bypass is None or period is None:
                return None
            return m.Global(info, procedures, period.count, covers, bypass)
        if isinstance(body, n.Deleted):
            codes = self.codes(body.codes)
            since = parse_date(self.ws, body.since, self.file)
            repl = self.sets.codes(body.replacements)
            if codes is None or since is None or repl is None:
                return None
            return m.Deleted(info, codes, since, repl)
        if isinstance(body, n.ForbidModifier):
            mods, codes = self.modifiers(body.modifiers), self.codes(body.codes)
            return None if mods is None or codes is None else m.ForbidModifier(info, mods, codes)
        if isinstance(body, n.Mue):
            codes = self.codes(body.codes)
            return None if codes is None else m.Mue(info, codes, body.maximum.value,
                                                     body.per != "line")
        return None

    def table(self, body: n.Table, info: m.RuleInfo) -> list[m.Rule]:
        from .tables import TABLE_KINDS, TableError  # local: tables are optional to parse

        kind = body.kind.text
        if kind not in TABLE_KINDS:
            self.ws.report("E210", f"unknown table kind '{kind}'; expected one of "
                           f"{', '.join(TABLE_KINDS)}", self.file, body.kind.span)
            return []
        if self.table_loader is None:
            self.ws.report("E210", "a table is read from a file beside the policy; load the "
                           "policy from its file (policydsl.load, policyc) to use tables",
                           self.file, body.span)
            return []
        base = os.path.dirname(self.file)
        display = os.path.normpath(os.path.join(base, body.path.value))
        try:
            return self.table_loader(kind, Path(display), info=info, display_path=display)
        except TableError as exc:
            where = f"{display}:{exc.row}: " if exc.row else f"{display}: "
            self.ws.report("E210", f"{where}{exc.message}", self.file, body.path.span)
            return []


def rules(ws: Workspace, table_loader: Callable[..., list[m.Rule]] | None) -> None:
    for scope in ws.scopes.values():
        builder = _RuleBuilder(ws, scope, table_loader)
        ids: dict[str, n.Node] = {}
        for st in scope.module.statements:
            body = n.rule_body(st)
            if not isinstance(body, n.RULE_BODIES):
                continue
            built = builder.build(st, cast(n.RuleBody, body))
            if not built:
                continue
            rule_id = built[0].info.id
            if rule_id in ids:
                where = st.name.span if isinstance(st, n.NamedRule) else st.span
                ws.report("E102", f"rule '{rule_id}' is already defined on line "
                          f"{ids[rule_id].span.line}", scope.module.path, where)
                continue
            ids[rule_id] = st
            ws.origin[rule_id] = st
            scope.rules.extend((rule, st) for rule in built)


# --- stage 4: inheritance -----------------------------------------------------------------


def _extends_hint(name: str, ws: Workspace) -> str:
    """What an E105 adds for the unknown policy ``name``: ``; did you mean 'X'?`` for a name
    with a slip, among the names known; else the files where ``extends`` looked that could
    not be read (one of them may declare it), if any; else where the file should be."""
    known = sorted((set(ws.scopes) | ws.nearby) - {name})
    same = [k for k in known if k.lower() == name.lower()]
    close = same or difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    if close:
        return f"; did you mean '{close[0]}'?"
    if ws.unreadable:
        shown = "; ".join(f"{path}: {why}" for path, why in ws.unreadable[:3])
        more = f"; and {len(ws.unreadable) - 3} more" if len(ws.unreadable) > 3 else ""
        return f" that could be read (some could not, and may: {shown}{more})"
    return ("; keep this file in a folder beside the parent's (policies/<payer>/); check and "
            "test also find it among the files they are given")


def _rule_name(rule_id: str) -> str:
    return rule_id.split("/", 1)[1]


def _extends_depths(ws: Workspace) -> dict[str, int]:
    """How many ``extends`` long the longest chain below each policy is (0: it extends no
    loaded policy), found without recursion; a policy on a cycle, or above one, has none."""
    depths: dict[str, int] = {}
    active: set[str] = set()
    done: set[str] = set()
    for root in ws.scopes:
        if root in done:
            continue
        active.add(root)
        stack = [(root, iter(ws.scopes[root].parents))]
        while stack:
            name, parents = stack[-1]
            parent = next(parents, None)
            if parent is None:
                stack.pop()
                active.discard(name)
                done.add(name)
                known = [p.text for p in ws.scopes[name].parents if p.text in ws.scopes]
                if all(p in depths for p in known):
                    depths[name] = 1 + max((depths[p] for p in known), default=-1)
            elif (parent.text in ws.scopes and parent.text not in done
                  and parent.text not in active):
                active.add(parent.text)
                stack.append((parent.text, iter(ws.scopes[parent.text].parents)))
    return depths


def inheritance(ws: Workspace) -> None:
    state: dict[str, str] = {}  # name -> "active" | "done"
    chain: list[str] = []  # the policies being built, outermost first
    # files with errors so far: a policy built from one may lack rules it was meant to have,
    # so a `disable` of a rule its children cannot find is not reported (its error is)
    flawed = {d.file for d in ws.diagnostics if d.severity == "error"}
    incomplete: set[str] = set()  # policies built without some rules they were meant to have
    depths = _extends_depths(ws)

    def build(name: str, via: n.Word | None, via_file: str) -> m.RuleSet | None:
        if name in ws.rulesets:
            return ws.rulesets[name]
        if state.get(name) == "active":
            assert via is not None
            cycle = " -> ".join([*chain[chain.index(name):], name])
            ws.report("E107", f"policy '{name}' extends itself: {cycle}", via_file, via.span)
            return None
        scope = ws.scopes[name]
        file = scope.module.path
        if depths.get(name, 0) > MAX_EXTENDS_DEPTH:
            # reported once, at the policy whose chain first passes the limit; those above it
            # are left unbuilt, as ones that extend a policy with errors
            if depths[name] == MAX_EXTENDS_DEPTH + 1:
                parent = next(p for p in scope.parents
                              if depths.get(p.text) == MAX_EXTENDS_DEPTH)
                ws.report("E110", f"policy '{name}' extends '{parent.text}', which is already "
                          f"{MAX_EXTENDS_DEPTH} extends deep: at most {MAX_EXTENDS_DEPTH} "
                          "extends in a chain; extend fewer policies", file, parent.span)
            return None
        if len(chain) > MAX_EXTENDS_DEPTH:  # only on a cycle: the depths above exclude those
            assert via is not None
            ws.report("E107", f"policy '{name}' extends itself through more than "
                      f"{MAX_EXTENDS_DEPTH} policies ({' -> '.join(chain[:3])} -> ...)",
                      via_file, via.span)
            return None
        state[name] = "active"
        chain.append(name)
        inherited: dict[str, m.Rule] = {}
        order: list[str] = []
        inherited_rules: list[m.Rule] = []
        complete = True  # every extended policy is built, from files without errors
        for parent in scope.parents:
            if parent.text not in ws.scopes:
                complete = False
                if parent.text not in ws.unparsed:
                    ws.report("E105", f"unknown policy '{parent.text}' in extends: no loaded "
                              "policy, nor any file in this policy's folder or the folders "
                              f"beside it, declares it{_extends_hint(parent.text, ws)}", file,
                              parent.span)
                continue
            parent_set = build(parent.text, parent, file)
            if parent_set is None or parent.text in incomplete or not flawed.isdisjoint(
                    parent_set.files):
                complete = False
            if parent_set is None:
                continue
            for rule in parent_set.rules:
                if rule.info.id not in inherited:
                    order.append(rule.info.id)
                inherited.setdefault(rule.info.id, rule)
                inherited_rules.append(rule)
        disabled: set[str] = set()
        for ref in scope.disables:
            if ref.text not in inherited and complete and ref.text.partition("/")[0] == name:
                ws.report("E106", f"disable names rule '{ref.text}' of this policy itself: "
                          "disable switches off a rule this policy inherits; remove the rule "
                          f"instead, or disable it in a policy that extends {name}",
                          file, ref.span)
            elif (ref.text not in inherited and complete
                  and disabled_above(ws, scope, ref.text) is None):
                # a named rule of that name they do have (one that overrides it, mostly)
                wanted = _rule_name(ref.text) if "/" in ref.text else ""
                same = sorted(r for r in inherited
                              if "@" not in wanted and _rule_name(r) == wanted)
                close = difflib.get_close_matches(ref.text, sorted(inherited), n=1, cutoff=0.85)
                hint = (f"; they have '{same[0]}'" if same else
                        f"; did you mean '{close[0]}'?" if close else "")
                ws.report("E106", f"disable names rule '{ref.text}', which no extended policy "
                          f"has{hint}", file, ref.span)
            disabled.add(ref.text)
        own_names = {_rule_name(r.info.id) for r, st in scope.rules
                     if isinstance(st, n.NamedRule)}
        seen: set[int] = set()
        kept: list[m.Rule] = []
        for rule in inherited_rules:
            if (rule.info.id in disabled or _rule_name(rule.info.id) in own_names
                    or id(rule) in seen):
                continue
            seen.add(id(rule))
            kept.append(rule)
        files = [file]
        for parent in scope.parents:
            if parent.text in ws.rulesets:
                files.extend(f for f in ws.rulesets[parent.text].files if f not in files)
        ruleset = m.RuleSet(name, (*kept, *(r for r, _ in scope.rules)), tuple(files))
        ws.rulesets[name] = ruleset
        if not complete:
            incomplete.add(name)
        state[name] = "done"
        chain.pop()
        return ruleset

    # parents before the policies that extend them (by chain depth), so that a build finds
    # its parents built and recurses no further; policies on or above a cycle last, in file
    # order, where the recursion finds the cycle (E107)
    for name in sorted(ws.scopes, key=lambda name: (name not in depths, depths.get(name, 0))):
        build(name, None, "")


def disabled_above(ws: Workspace, scope: ModuleScope, rule_id: str
                   ) -> tuple[ModuleScope, n.Word] | None:
    """The nearest policy ``scope`` extends that has ``disable rule_id``, and that statement's
    reference: a ``disable`` of a rule already switched off there is W311, not E106."""
    for above in visible_scopes(ws, scope):
        if above is not scope:
            for ref in above.disables:
                if ref.text == rule_id:
                    return above, ref
    return None


# --- the pipeline -------------------------------------------------------------------------


Stage = tuple[str, Callable[[Workspace], None]]


def stages(table_loader: Callable[..., list[m.Rule]] | None, lint: bool) -> list[Stage]:
    from .lints import lints

    pipeline: list[Stage] = [
        ("declarations", declarations),
        ("sets", sets),
        ("rules", lambda ws: rules(ws, table_loader)),
        ("inheritance", inheritance),
    ]
    if lint:
        pipeline.append(("lints", lints))
    return pipeline


def resolve(modules: list[n.Module], sources: dict[str, str], *, lint: bool = False,
            load_tables: bool = True, unparsed: frozenset[str] = frozenset(),
            nearby: frozenset[str] = frozenset(),
            unreadable: tuple[tuple[str, str], ...] = ()) -> Workspace:
    """Run every stage over the modules; diagnostics come back sorted by location.
    ``unparsed``: the names of policies whose files did not parse; ``nearby``: the names
    declared by the files an ``extends`` looked at (for hints); ``unreadable``: those of
    them that could not be read, and why."""
    from .tables import load_table

    ws = Workspace(modules, sources, unparsed=unparsed, nearby=nearby, unreadable=unreadable)
    for _name, stage in stages(load_table if load_tables else None, lint):
        stage(ws)
    ws.diagnostics.sort(key=Diagnostic.sort_key)
    return ws
