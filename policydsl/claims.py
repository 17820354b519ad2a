"""Claim lines in, decisions out: the engine's stable data model.

``ClaimLine`` is one service line of a member's claim (or of their paid history).
``Decision`` is what the engine says of one input line, with the ``Finding``s behind it.
``LineRef`` names a line a finding counted. All four are frozen attrs classes with
``__slots__``; they are the embedding API's types and map one to one onto the CSV and JSON
formats of ``policyc run``.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Literal, NamedTuple, SupportsIndex, TypeVar, cast

import attrs

DecisionValue = Literal["allow", "deny", "review", "error"]
FindingAction = Literal["deny", "review", "error"]


#: Line numbers and units are below this (what JSON output and most systems hold: 64 bits).
INT_LIMIT = 2**63


def _integral(value: object) -> int | None:
    """``value`` as an ``int`` if it is an integer of any integer type (``numpy.int64`` too),
    but not a ``bool``; else None."""
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        return None
    return operator.index(value)


def _text_of(name: str, value: object, absent: str | None) -> str:
    """A text field as the claims readers make it: trimmed; an integer is its digits (an id
    written as a number, as the JSON Lines reader reads it: ``5`` and ``"5"`` are one
    member); ``None`` is ``absent`` (refused where that is None); anything else refused."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        if absent is None:
            raise TypeError(f"{name} None is not a str")
        return absent
    number = _integral(value)
    if number is None:
        raise TypeError(f"{name} {value!r} is not a str")
    return str(number)


def _codes_of(name: str, value: object) -> tuple[str, ...]:
    """A list of codes as the readers make it, upper case, from a space-separated string or a
    tuple or list of them (``None``: none); items are split at spaces too, as the JSON Lines
    reader splits them: ``["59 XU"]`` is ``("59", "XU")``."""
    if value is None:
        return ()
    if isinstance(value, str):
        codes = value.upper().split()
    elif not isinstance(value, (bytes, bytearray)) and isinstance(value, Iterable):
        try:
            codes = " ".join(value).upper().split()
        except TypeError:  # an item that is not a str
            raise TypeError(f"{name} {value!r} is not a str or a list of str") from None
    else:
        raise TypeError(f"{name} {value!r} is not a str or a list of str")
    if any("," in code for code in codes):  # never a code: a list written the wrong way
        raise ValueError(f"{name} {value!r} holds a comma: separate them with spaces, not "
                         "commas, or pass a list")
    return tuple(codes)


def _count_of(name: str, value: object) -> int:
    number = _integral(value)
    if number is None:
        raise TypeError(f"{name} {value!r} is not an int")
    return number


# The converters' parameters are typed as the values should be, which is what type checkers
# show of ``ClaimLine(...)``; at run time each checks its value's type (docs/api.md).

def _claim_id(value: str) -> str:
    return value.strip() if type(value) is str else _text_of("claim_id", value, None)


def _member_id(value: str) -> str:
    return value.strip() if type(value) is str else _text_of("member_id", value, None)


def _provider_id(value: str | None) -> str:
    """``None`` (a database's NULL) is ``""``, the empty provider, as for pos and auth."""
    return value.strip() if type(value) is str else _text_of("provider_id", value, "")


def _pos(value: str | None) -> str:
    return value.strip() if type(value) is str else _text_of("pos", value, "")


def _auth(value: str | None) -> str:
    return value.strip() if type(value) is str else _text_of("auth", value, "")


def _line(value: int) -> int:
    return value if type(value) is int else _count_of("line", value)


def _units(value: int) -> int:
    """Units from 1 up to ``INT_LIMIT``, as the claims readers accept: 0 or negative units
    (an adjustment's) would be netted against other lines' units by a limit, silently."""
    if type(value) is int and 0 < value < INT_LIMIT:
        return value
    units = _count_of("units", value)
    if not 0 < units < INT_LIMIT:
        raise ValueError(f"units {value!r} is not a positive integer" if units < 1
                         else f"units {value!r} is not below {INT_LIMIT}")
    return units


def _code(value: str) -> str:
    return (value if type(value) is str else _text_of("code", value, None)).strip().upper()


def _day(value: dt.date) -> dt.date:
    """A date of service is a ``date``: a ``datetime`` (a ``date`` too, to Python) is refused,
    since judging by date would misread its time."""
    if type(value) is dt.date:
        return value
    if isinstance(value, dt.datetime):
        raise TypeError(f"date {value!r} is a datetime, not a datetime.date: pass its .date()")
    if not isinstance(value, dt.date):
        raise TypeError(f"date {value!r} is not a datetime.date")
    return value


def _modifiers(value: str | Iterable[str] | None) -> tuple[str, ...]:
    return _codes_of("modifiers", value)


def _dx(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Diagnoses are stored without the dot, upper case: ``M54.50`` and ``M5450`` are one code."""
    return tuple(code for code in (c.replace(".", "") for c in _codes_of("dx", value)) if code)


@attrs.frozen(slots=True)
class ClaimLine:
    """One service line: who, by whom, when, what, and what it carries."""

    claim_id: str = attrs.field(converter=_claim_id)
    line: int = attrs.field(converter=_line)
    member_id: str = attrs.field(converter=_member_id)
    date: dt.date = attrs.field(converter=_day)
    code: str = attrs.field(converter=_code)
    provider_id: str = attrs.field(default="", converter=_provider_id)
    modifiers: tuple[str, ...] = attrs.field(default=(), converter=_modifiers)
    units: int = attrs.field(default=1, converter=_units)
    dx: tuple[str, ...] = attrs.field(default=(), converter=_dx)
    pos: str = attrs.field(default="", converter=_pos)
    auth: str = attrs.field(default="", converter=_auth)

    @property
    def ref(self) -> LineRef:
        return LineRef(self.claim_id, self.line)


def _fill(self: Any, claim_id: str, line: int, member_id: str, date: dt.date, code: str,
          provider_id: str, modifiers: tuple[str, ...], units: int, dx: tuple[str, ...],
          pos: str, auth: str) -> None:
    self.claim_id = claim_id
    self.line = line
    self.member_id = member_id
    self.date = date
    self.code = code
    self.provider_id = provider_id
    self.modifiers = modifiers
    self.units = units
    self.dx = dx
    self.pos = pos
    self.auth = auth
    self.__class__ = ClaimLine


Built = TypeVar("Built")


class _Stores:
    """Stands for an object under construction on an interpreter that cannot assign
    ``__class__``: it keeps what a fill stores, and ignores the fill's last store, the class."""

    def _ignore(self, cls: type) -> None:
        pass

    __class__ = property(lambda self: _Stores, _ignore)


def by_slot_setters(cls: type[Built], fill: Callable[..., None]) -> Callable[..., Built]:
    """``cls``'s constructor from ``fill`` the slow way: ``fill`` stores into a ``_Stores``,
    then each value goes into a new ``cls`` by its slot's setter."""
    setters = {f.name: vars(cls)[f.name].__set__ for f in attrs.fields(cast(Any, cls))}

    def build(*args: object) -> Built:
        stores = _Stores()
        fill(stores, *args)
        if vars(stores).keys() != setters.keys():  # pragma: no cover - a fill out of step
            raise RuntimeError(f"the fill of {cls.__name__} does not store every field")
        built: Built = object.__new__(cls)
        for name, value in vars(stores).items():
            setters[name](built, value)
        return built

    return build


def unfrozen(cls: type[Built], fill: Callable[..., None], *sample: object
             ) -> Callable[..., Built]:
    """A constructor of the frozen attrs class ``cls`` that fills its slots by plain stores,
    skipping any converter or validator (the caller's values must be in their stored form):
    a subclass whose ``__init__`` is ``fill``, which stores every field and then makes the
    object a ``cls`` by ``__class__`` assignment (allowed: the subclass adds no slot, so the
    layouts are the same). Both ``__setattr__`` and ``__delattr__`` are object's, or the type
    would look them up in Python on every store. A few times faster than ``cls(...)`` or slot
    setters; where the interpreter does not allow it (tried on ``sample``, the arguments of
    one call, against ``by_slot_setters``), the slot setters."""
    namespace = {"__slots__": (), "__setattr__": object.__setattr__,
                 "__delattr__": object.__delattr__, "__init__": fill}
    subclass = type(f"_Unfrozen{cls.__name__}", (cls,), namespace)
    slow = by_slot_setters(cls, fill)
    try:
        built = subclass(*sample)
    except TypeError:  # pragma: no cover - an interpreter without __class__ assignment
        return slow
    if type(built) is cls and built == slow(*sample):
        return cast(Callable[..., Built], subclass)
    return slow  # pragma: no cover


StoredLine = Callable[[str, int, str, dt.date, str, str, tuple[str, ...], int, tuple[str, ...],
                       str, str], ClaimLine]

#: ``stored_line(claim_id, line, member_id, date, code, provider_id, modifiers, units, dx, pos,
#: auth)``: a ``ClaimLine`` from values already in their stored form (stripped, upper case,
#: tuples), skipping the converters, about three times faster than ``ClaimLine(...)``. For
#: readers that have checked and converted every value; equal to ``ClaimLine(...)`` of the same.
stored_line: StoredLine = unfrozen(
    ClaimLine, _fill, "C", 1, "M", dt.date(2024, 1, 1), "99213", "P", ("25",), 2, ("M545",),
    "11", "A")


@attrs.frozen(slots=True)
class LineRef:
    """Names a line in findings: its claim id and line number."""

    claim_id: str
    line: int | str


def _line_refs(related: Iterable[LineRef] | None) -> tuple[LineRef, ...]:
    return () if related is None else tuple(related)


def _findings(findings: Iterable[Finding] | None) -> tuple[Finding, ...]:
    return () if findings is None else tuple(findings)


#: The converters of ``Finding.related`` and ``Decision.findings``: a list given to either is
#: kept as a tuple, so the objects stay hashable (``None``: an empty one). The engine, which
#: makes them as tuples already, fills the slots directly (``engine._check_plain``).
TUPLE_CONVERTERS = (_line_refs, _findings)


@attrs.frozen(slots=True)
class Finding:
    """One rule's verdict on one line."""

    rule: str
    action: FindingAction
    carc: str
    message: str
    source: str
    related: tuple[LineRef, ...] = attrs.field(default=(), converter=_line_refs)


@attrs.frozen(slots=True)
class Decision:
    """The engine's answer for one input line.

    ``date`` is ISO text and ``line`` an int for well-formed lines; a malformed row echoes what
    it had (decision ``error``).
    """

    claim_id: str
    line: int | str
    member_id: str
    date: str
    code: str
    decision: DecisionValue
    findings: tuple[Finding, ...] = attrs.field(default=(), converter=_findings)


class Columns(NamedTuple):
    """A batch's lines as columns (one list per field), read once for every use."""

    claim_ids: list[str]
    numbers: list[int]
    members: list[str]
    dates: list[dt.date]
    codes: list[str]

    def extend(self, other: Columns) -> None:
        """Append ``other``'s lines."""
        for mine, theirs in zip(self, other, strict=True):
            mine += theirs  # type: ignore[operator]


def columns(lines: Sequence[ClaimLine]) -> Columns:
    """The columns of ``lines`` (C-level passes over the lines)."""
    return Columns(*[list(map(attrgetter(name), lines))
                     for name in ("claim_id", "line", "member_id", "date", "code")])


def order_key(line: ClaimLine, judged: bool = True) -> tuple[object, ...]:
    """A member's lines are judged in order of date of service, then claim id, then line
    number; on each date, the paid history lines (``judged=False``) come first: they were paid
    before any line judged now. The remaining fields only make the order total, so input order
    never matters."""
    return (line.date, judged, line.claim_id, line.line, line.code, line.provider_id,
            line.modifiers, line.units, line.dx, line.pos, line.auth)


def decide(findings: tuple[Finding, ...] | list[Finding]) -> DecisionValue:
    """Deny if any finding denies, review if only review findings fired, else allow. (A
    malformed row's ``error`` decision is made by ``claims_io.error_decision``.)"""
    if not findings:
        return "allow"
    if any(f.action == "deny" for f in findings):
        return "deny"
    return "review"


def decision_for(line: ClaimLine, findings: tuple[Finding, ...]) -> Decision:
    return Decision(
        claim_id=line.claim_id,
        line=line.line,
        member_id=line.member_id,
        date=line.date.isoformat(),
        code=line.code,
        decision=decide(findings),
        findings=findings,
    )
