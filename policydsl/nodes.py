"""The policy AST: frozen attrs nodes that mirror the text, each with its source span.

Node classes declare their fields once; ``children`` and ``walk`` traverse any node through
``attrs.fields``, so no per-node traversal code exists. Leaves (``Word``, ``Number``, ...) keep
the token's text exactly as written, so checks can point at the token and the formatter can
print it back.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from .spans import NO_SPAN as NO_SPAN
from .spans import Span as Span


@attrs.frozen(slots=True)
class Node:
    """Base of every AST node; ``span`` is keyword-only so subclasses list their own fields."""

    span: Span = attrs.field(default=NO_SPAN, kw_only=True, eq=False, repr=False)


# --- leaves -------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Word(Node):
    """A code, a set name, a modifier or a diagnosis, as written."""

    text: str


@attrs.frozen(slots=True)
class Number(Node):
    value: int


@attrs.frozen(slots=True)
class DateLit(Node):
    """A date as written (``2024-01-01``); checked, not trusted, by the resolver."""

    text: str


@attrs.frozen(slots=True)
class Duration(Node):
    """``90d``, ``12mo``, ``day``, ``claim``, ``year`` or ``lifetime``."""

    text: str


@attrs.frozen(slots=True)
class Text(Node):
    """A quoted string, already unescaped."""

    value: str


@attrs.frozen(slots=True)
class CodeRange(Node):
    """``low..high``."""

    low: Word
    high: Word


CodeItem = Word | CodeRange


# --- declarations -------------------------------------------------------------------------


@attrs.frozen(slots=True)
class PolicyDecl(Node):
    name: Word


@attrs.frozen(slots=True)
class Extends(Node):
    parents: tuple[Word, ...]


@attrs.frozen(slots=True)
class Effective(Node):
    start: DateLit
    until: DateLit | None = None


@attrs.frozen(slots=True)
class SetDef(Node):
    name: Word
    items: tuple[CodeItem, ...]


@attrs.frozen(slots=True)
class DxDef(Node):
    name: Word
    items: tuple[Word, ...]


@attrs.frozen(slots=True)
class Disable(Node):
    rule: Word  # "policy.name/rule-name"


# --- rule bodies --------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Forbid(Node):
    """``when TRIGGERS forbid TARGETS [unless modifier M, ...]``."""

    triggers: tuple[CodeItem, ...]
    targets: tuple[CodeItem, ...]
    bypass: tuple[Word, ...] = ()


@attrs.frozen(slots=True)
class Exclusive(Node):
    """``exclusive A, B, ... [across providers]``."""

    codes: tuple[CodeItem, ...]
    across_providers: bool = False


@attrs.frozen(slots=True)
class Limit(Node):
    """``limit CODES per WINDOW [by provider] <= N [units|sessions] [unless modifier ...]``."""

    codes: tuple[CodeItem, ...]
    window: Duration
    maximum: Number
    by_provider: bool = False
    measure: str = ""  # "", "units" or "sessions", as written
    bypass: tuple[Word, ...] = ()


@attrs.frozen(slots=True)
class Addon(Node):
    addons: tuple[CodeItem, ...]
    primaries: tuple[CodeItem, ...]


@attrs.frozen(slots=True)
class RequireDx(Node):
    diagnoses: tuple[Word, ...]
    codes: tuple[CodeItem, ...]


@attrs.frozen(slots=True)
class RequireAuth(Node):
    codes: tuple[CodeItem, ...]


@attrs.frozen(slots=True)
class Prerequisite(Node):
    """``require K of REQUIRED within WINDOW before TARGETS``."""

    count: Number
    required: tuple[CodeItem, ...]
    window: Duration
    targets: tuple[CodeItem, ...]


@attrs.frozen(slots=True)
class Global(Node):
    """``global PROCS Nd [covers CODES] [unless modifier ...]``."""

    procedures: tuple[CodeItem, ...]
    period: Duration
    covers: tuple[CodeItem, ...] = ()
    bypass: tuple[Word, ...] = ()


@attrs.frozen(slots=True)
class Deleted(Node):
    codes: tuple[CodeItem, ...]
    since: DateLit
    replacements: tuple[CodeItem, ...] = ()


@attrs.frozen(slots=True)
class ForbidModifier(Node):
    modifiers: tuple[Word, ...]
    codes: tuple[CodeItem, ...]


@attrs.frozen(slots=True)
class Mue(Node):
    """``mue CODES <= N [per day|per line]``."""

    codes: tuple[CodeItem, ...]
    maximum: Number
    per: str = ""  # "", "day" or "line", as written


@attrs.frozen(slots=True)
class Table(Node):
    """``table KIND "path"``: CMS edit file rows as rules."""

    kind: Word
    path: Text


RuleBody = (
    Forbid | Exclusive | Limit | Addon | RequireDx | RequireAuth
    | Prerequisite | Global | Deleted | ForbidModifier | Mue | Table
)


@attrs.frozen(slots=True)
class RuleOptions(Node):
    """The header of a named rule: ``carc``, action, message, ``effective ... until ...``."""

    carc: Word | None = None
    action: Word | None = None
    message: Text | None = None
    effective: Effective | None = None


@attrs.frozen(slots=True)
class NamedRule(Node):
    """``rule NAME [options]: BODY``."""

    name: Word
    options: RuleOptions
    body: RuleBody


Statement = (
    PolicyDecl | Extends | Effective | SetDef | DxDef | Disable
    | NamedRule | RuleBody
)


@attrs.frozen(slots=True)
class Comment(Node):
    """``# ...`` to the end of the line; kept for the formatter."""

    text: str


@attrs.frozen(slots=True)
class Module(Node):
    """One ``.pol`` file."""

    path: str
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = ()


RULE_BODIES: tuple[type, ...] = (
    Forbid, Exclusive, Limit, Addon, RequireDx, RequireAuth, Prerequisite, Global, Deleted,
    ForbidModifier, Mue, Table,
)

#: The keyword that names each rule kind in ids (``policy/limit@12``) and diagnostics.
RULE_KIND: dict[type, str] = {
    Forbid: "forbid", Exclusive: "exclusive", Limit: "limit", Addon: "addon",
    RequireDx: "dx", RequireAuth: "auth", Prerequisite: "prerequisite", Global: "global",
    Deleted: "deleted", ForbidModifier: "modifier", Mue: "mue", Table: "table",
}


def rule_body(statement: Node) -> Node:
    """What a statement writes as a rule: a named rule's body, or the statement itself (a
    rule body, or a declaration, which the caller tells apart)."""
    return statement.body if isinstance(statement, NamedRule) else statement


def children(node: Node) -> Iterator[Node]:
    """The node's direct children, in field order."""
    for field in attrs.fields(type(node)):
        value = getattr(node, field.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Node))


def walk(node: Node) -> Iterator[Node]:
    """The node and all its descendants, depth first, in source order."""
    yield node
    for child in children(node):
        yield from walk(child)
