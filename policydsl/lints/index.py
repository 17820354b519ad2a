"""What every lint reads: the rules written in policy text, by identity, with the statement
and file of each (``Index``), and helpers over sets, codes and what a policy inherits."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator

import attrs

from .. import codes as c
from .. import model as m
from .. import nodes as n
from ..diagnostics import warning
from ..resolve import ModuleScope, Workspace, visible_scopes

#: The fields of rule bodies that hold procedure codes, in the order they are written.
CODE_FIELDS: tuple[str, ...] = (
    "triggers", "targets", "codes", "addons", "primaries", "required", "procedures", "covers",
)


# --- where rules come from ----------------------------------------------------------------


@attrs.frozen
class Site:
    """A rule written in policy text: its scope (file) and statement."""

    scope: ModuleScope
    statement: n.Node

    @property
    def file(self) -> str:
        return self.scope.module.path

    @property
    def body(self) -> n.Node:
        return n.rule_body(self.statement)


@attrs.frozen
class Parts:
    """One rule set's rules, sorted out once for every lint: its text rules in order, and
    every rule (text or table row) of the kinds that lints pair with others."""

    text: tuple[m.Rule, ...]
    deleted: tuple[m.Deleted, ...]
    addons: tuple[m.Addon, ...]
    forbids: tuple[m.Forbid, ...]
    exclusives: tuple[m.Exclusive, ...]
    mues: tuple[m.Mue, ...]
    # the rule set's own policy's first ``extends``: where a finding about two rules from two
    # policies it extends, neither extending the other, is reported (None: it extends none)
    meeting: Site | None


class Index:
    """Rules written in policy text, by identity, with the statement and file of each.

    Table rows share their statement and are not indexed (``site`` is ``None`` for them), so
    they are never reported at. Each warning is reported once, however many rule sets find
    it. One index serves every lint of a ``lints`` run.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.sites: dict[int, Site] = {}
        self.text_rules: list[tuple[m.Rule, Site]] = []  # in file and statement order
        for scope in ws.scopes.values():
            for rule, statement in scope.rules:
                body = n.rule_body(statement)
                if not isinstance(body, n.Table):
                    site = Site(scope, statement)
                    self.sites[id(rule)] = site
                    self.text_rules.append((rule, site))
        self._parts: list[Parts] | None = None
        self._extended: dict[str, frozenset[str]] = {}  # policy -> the policies it extends
        self._held: dict[str, frozenset[int]] = {}  # policy -> ids of the rules in force

    def table_site(self, rule: m.Rule) -> Site | None:
        """The ``table`` statement a table row comes from, and its file; ``None`` for a rule
        written in policy text (``site``) or unknown."""
        if id(rule) in self.sites:
            return None
        statement = self.ws.origin.get(rule.info.id)
        scope = self.ws.scopes.get(rule.info.id.partition("/")[0])
        return None if statement is None or scope is None else Site(scope, statement)

    def switch_off(self, rule: m.Rule) -> str:
        """How a policy that inherits ``rule`` switches it off: ``disable`` by id, or for an
        unnamed rule (whose id follows its line, W307) by a name given to it first."""
        name = rule.info.id.partition("/")[2]
        if UNNAMED_ID.fullmatch(name):
            site = self.site(rule)
            where = f" in {site.file}" if site is not None else ""
            return f"name that rule{where} (rule NAME: ...) and disable it here by that name"
        return f"disable it here (disable {rule.info.id}) or override it by name"

    def extends(self, child: Site, parent: Site, rule: m.Rule) -> bool:
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

    def met_before(self, meeting: Site, one: m.Rule, other: m.Rule) -> bool:
        """Whether a policy that ``meeting``'s policy extends has both rules in force already:
        a finding about the pair is then reported where they first meet, not again here."""
        return any(self.holds(name, one) and self.holds(name, other)
                   for name in self._ancestors(meeting.scope))

    def site(self, rule: m.Rule) -> Site | None:
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

    def rulesets(self) -> list[Parts]:
        """Every rule set, sorted out (once)."""
        if self._parts is None:
            self._parts = []
            for ruleset in self.ws.rulesets.values():
                text: list[m.Rule] = []
                deleted: list[m.Deleted] = []
                addons: list[m.Addon] = []
                forbids: list[m.Forbid] = []
                exclusives: list[m.Exclusive] = []
                mues: list[m.Mue] = []
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
                    elif isinstance(rule, m.Mue):
                        mues.append(rule)
                self._parts.append(Parts(tuple(text), tuple(deleted), tuple(addons),
                                         tuple(forbids), tuple(exclusives), tuple(mues),
                                         self._meeting(ruleset.name)))
        return self._parts

    def _meeting(self, policy: str) -> Site | None:
        scope = self.ws.scopes.get(policy)
        if scope is None:
            return None
        extends = next((st for st in scope.module.statements if isinstance(st, n.Extends)),
                       None)
        return None if extends is None else Site(scope, extends)

    def apart(self, one: Site, one_rule: m.Rule, other: Site, other_rule: m.Rule) -> bool:
        """Whether two rules' policies are apart: neither is the other, nor extends it with
        the other rule in force. They then meet only in a policy that extends both."""
        return (one.scope is not other.scope and not self.extends(one, other, other_rule)
                and not self.extends(other, one, one_rule))


CURRENT: contextvars.ContextVar[Index | None] = contextvars.ContextVar("lint_index",
                                                                       default=None)


def index_for(ws: Workspace) -> Index:
    """The index of the ``lints`` run under way for ``ws``, or a new one (a lint run alone)."""
    current = CURRENT.get()
    return current if current is not None and current.ws is ws else Index(ws)


def set_home(ws: Workspace, scope: ModuleScope, name: str) -> ModuleScope | None:
    """The scope that defines the set ``name`` as ``scope`` sees it (itself, then parents)."""
    return next((s for s in visible_scopes(ws, scope) if name in s.set_nodes), None)


def set_codes(ws: Workspace, scope: ModuleScope, name: str) -> tuple[str, ...]:
    """The expanded codes of the set ``name`` as ``scope`` sees it (empty if it failed)."""
    home = set_home(ws, scope, name)
    return () if home is None else home.sets.get(name, ())


def in_range(code: str, item: n.CodeRange) -> bool:
    low, high = c.normalize(item.low.text), c.normalize(item.high.text)
    shape = c.code_shape(code)
    return shape is not None and shape == c.code_shape(low) == c.code_shape(high) and (
        low <= code <= high)


def code_items(body: n.Node, fields: Iterable[str] = CODE_FIELDS) -> Iterator[n.CodeItem]:
    for name in fields:
        value = getattr(body, name, ())
        if isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, (n.Word, n.CodeRange)))


def token_for(ws: Workspace, site: Site, code: str,
              fields: Iterable[str] = CODE_FIELDS) -> tuple[n.Span, str]:
    """The span of the token through which the statement names ``code``, and ``via set X``.

    A code written out or inside a range is its own token; a code reached through a set is
    the set name's token. The statement's span when nothing matches (it cannot, normally).
    """
    items = list(code_items(site.body, fields))
    for item in items:  # the code written out wins over a range or set that holds it too
        if isinstance(item, n.Word) and c.is_code(item.text) and c.normalize(item.text) == code:
            return item.span, ""
    for item in items:
        if isinstance(item, n.CodeRange):
            if in_range(code, item):
                return item.span, ""
        elif not c.is_code(item.text) and code in set_codes(ws, site.scope, item.text):
            return item.span, f" (through set '{item.text}')"
    return site.statement.span, ""


def codes_text(codes: Iterable[str], limit: int = 6, *, in_order: bool = False) -> str:
    """Codes as a message lists them: the first ``limit`` (sorted, or ``in_order`` as given,
    for an exclusive's ranking), then how many more."""
    ordered = list(codes) if in_order else sorted(codes)
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown} and {len(ordered) - limit} more"


#: The id of an unnamed rule (``KIND@LINE``).
UNNAMED_ID = re.compile(r"[a-z_]+@[0-9]+")


def inherited_rules(ws: Workspace, scope: ModuleScope) -> Iterator[m.Rule]:
    """The rules in force in the policies ``scope`` extends."""
    for parent in scope.parents:
        ruleset = ws.rulesets.get(parent.text)
        if ruleset is not None:
            yield from ruleset.rules
