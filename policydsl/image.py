"""Program images: a compiled program saved as bytes, and restored without compiling.

An image holds what :class:`~policydsl.engine.Program` made: the generated source, its code
object (``marshal``), and the tables, each code's plan pickled on its own and each rule's
finding texts marshalled on their own as plain values, laid end to end (:class:`Blobs`). A
large code set or tuple that plans share (the codes of a limit over a range) is pickled once,
apart, and plans name it.
Restoring reads a small header; a code's plan is unpickled the first time a line of that code
is judged, and a rule's texts are read the first time it fires. From a file mapped into
memory, the pages of the others are never even read: rules whose codes never appear in the
claims cost nothing, which is what makes a cached 110,000-rule policy start as fast as a
10,000-rule one.

An image does not hold the rule set: ``Program.ruleset`` of a restored program calls the
``load_ruleset`` it was given (the cache passes one that resolves the policy's sources again).

Images are written and read by :mod:`policydsl.cache` in the user's own cache folder. They
hold pickles and marshalled code, trusted like Python's ``__pycache__``: never restore an
image from elsewhere.
"""

from __future__ import annotations

import datetime as dt
import io
import marshal
import pickle
import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

import attrs

from . import codegen
from . import model as m
from .claims import ClaimLine, Finding
from .engine import Program

#: Bumped whenever the layout of an image changes; an image of another format is not used.
IMAGE_FORMAT = 5

#: A code set or tuple this long that plans share (every code of a limit over a range shares
#: the codes its rules look back at) is pickled once, apart, and named from each plan:
#: pickled into every plan, it made an image of N such codes N times N codes long.
SHARED_LENGTH = 32


def _holds_large(value: tuple[Any, Any]) -> bool:
    """Whether a (plan, paid plan) holds a code set or tuple that plans may share and that is
    ``SHARED_LENGTH`` long or more: the codes its rules look back at or meet the same day
    (field 13), its exclusive partners (8) or an exclusive's list (3, and 14 across
    providers). Their lengths alone are looked at: walking every plan would cost as much as
    the pickling it spares."""
    plan = value[0]
    codes, _, same_day = plan[13]
    return (len(codes) >= SHARED_LENGTH or len(same_day) >= SHARED_LENGTH
            or (plan[8] is not None and len(plan[8]) >= SHARED_LENGTH)
            or any(len(row[3]) >= SHARED_LENGTH for row in (*plan[3], *plan[14])))


_PICKLE = pickle.HIGHEST_PROTOCOL
_LENGTH = struct.Struct("<Q")
_line_code = attrgetter("code")


class Blobs:
    """Byte strings laid end to end in one buffer: item ``i`` is ``buffer[ends[i - 1]:ends[i]]``.

    The buffer may be a file mapped into memory: reading an item then touches only its pages.
    """

    def __init__(self, buffer: bytes | memoryview, ends: array[int]) -> None:
        self.buffer = buffer
        self.ends = ends

    @classmethod
    def join(cls, items: Iterable[bytes]) -> Blobs:
        """The items laid end to end, each appended as it comes (a million items are not all
        held apart as well as joined)."""
        buffer = bytearray()
        ends = array("Q")
        for item in items:
            buffer += item
            ends.append(len(buffer))
        return cls(memoryview(buffer), ends)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: int) -> bytes | memoryview:
        return self.buffer[self.ends[index - 1] if index else 0:self.ends[index]]


@attrs.frozen(eq=False)
class ProgramImage:
    """Everything a program needs to run, in a form that restores fast."""

    format: int
    python: str  # the code object is marshalled: only this Python version can read it
    name: str
    filename: str
    source: str
    predicate_lines: dict[str, int]
    kinds: dict[str, tuple[int, ...]]
    code: bytes  # marshal of the compiled source
    deny: bytes  # rule number -> 1 when the rule denies, 0 when it pends for review
    fired: bytes  # rule number -> 1 when the generated code reads its finding from FIRED
    texts: Blobs  # rule number -> its RuleInfo (id, carc, message, source...): _info_bytes
    plans: dict[str, int]  # code -> the number of its pickled (plan, paid plan) in plan_blobs
    plan_blobs: Blobs
    shared: Blobs  # the large values plans share, each pickled once (``_PlanPickler``)


_INFO = attrgetter("info")


def _info_bytes(info: m.RuleInfo) -> bytes:
    """A rule's texts and dates as marshalled plain values: a tenth of the time of pickling
    the attrs object, which counts for a table of a million rows."""
    start, end = info.validity.start, info.validity.end
    return marshal.dumps((info.id, info.action, info.carc, info.message, info.source,
                          start.toordinal() if start is not None else 0,
                          end.toordinal() if end is not None else 0))


def _info_of(blob: bytes | memoryview) -> m.RuleInfo:
    """The ``RuleInfo`` of ``_info_bytes``."""
    rule, action, carc, message, source, start, end = marshal.loads(blob)
    return m.RuleInfo(id=rule, action=action, carc=carc, message=message, source=source,
                      validity=m.Validity(dt.date.fromordinal(start) if start else None,
                                          dt.date.fromordinal(end) if end else None))


def image_of(program: Program) -> ProgramImage:
    """The image of a program just compiled (a restored program has no tables to save)."""
    tables = program.tables
    if tables is None:
        raise ValueError("a restored program cannot be imaged again; compile the rule set")
    texts = Blobs.join(map(_info_bytes, map(_INFO, program.rules)))
    pickler = _PlanPickler()
    plan_blobs = Blobs.join(pickler.dumps((plan, tables.paid[code]))
                            for code, plan in tables.plans.items())
    generated = program.generated
    return ProgramImage(
        IMAGE_FORMAT, sys.version, program.name, program.filename, generated.source,
        dict(generated.predicate_lines), dict(generated.kinds), marshal.dumps(program.code),
        bytes(map(bool, tables.deny)), bytes(found is not None for found in tables.fired),
        texts, {code: number for number, code in enumerate(tables.plans)}, plan_blobs,
        Blobs.join(pickle.dumps(value, _PICKLE) for value in pickler.shared))


class _PlanPickler(pickle.Pickler):
    """Pickles plans one at a time, each on its own; a large code set or tuple is pickled
    once, into ``shared``, and named by its number from every plan that holds it."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        super().__init__(self._out, _PICKLE)
        self.shared: list[object] = []
        self._numbers: dict[int, int] = {}  # id of a shared value -> its number

    def dumps(self, value: tuple[Any, Any]) -> bytes:
        if not _holds_large(value):  # most plans: pickled as they are, at C speed
            return pickle.dumps(value, _PICKLE)
        self._out.seek(0)
        self._out.truncate()
        self.clear_memo()
        self.dump(value)
        return self._out.getvalue()

    def persistent_id(self, obj: object) -> int | None:
        if type(obj) not in (frozenset, tuple) or len(obj) < SHARED_LENGTH:  # type: ignore[arg-type]
            return None
        number = self._numbers.get(id(obj))
        if number is None:
            number = self._numbers[id(obj)] = len(self.shared)
            self.shared.append(obj)  # kept: its id stays its own meanwhile
        return number


class _PlanUnpickler(pickle.Unpickler):
    """Unpickles a plan of ``_PlanPickler``: the shared values it names are read (once) from
    ``shared``."""

    def __init__(self, blob: bytes | memoryview, shared: Blobs, made: dict[int, object]
                 ) -> None:
        super().__init__(io.BytesIO(blob))
        self._shared = shared
        self._made = made

    def persistent_load(self, pid: object) -> object:
        assert isinstance(pid, int)
        found = self._made.get(pid)
        if found is None:
            found = self._made[pid] = pickle.loads(self._shared[pid])
        return found


def pieces(image: ProgramImage) -> list[bytes | memoryview]:
    """The image's bytes, in pieces to write one after the other: the length of a header, the
    header (everything but the blobs, and where each blob ends), then the blobs."""
    fields = {field.name: getattr(image, field.name) for field in attrs.fields(ProgramImage)}
    texts, plan_blobs, shared = (fields.pop("texts"), fields.pop("plan_blobs"),
                                 fields.pop("shared"))
    fields["texts_ends"] = texts.ends.tobytes()
    fields["plan_ends"] = plan_blobs.ends.tobytes()
    fields["shared_ends"] = shared.ends.tobytes()
    header = pickle.dumps(fields, _PICKLE)
    return [_LENGTH.pack(len(header)), header, texts.buffer, plan_blobs.buffer, shared.buffer]


def dumps(image: ProgramImage) -> bytes:
    """The image as bytes (``pieces`` joined)."""
    return b"".join(pieces(image))


def loads(data: bytes | memoryview) -> ProgramImage | None:
    """The image in ``data`` (bytes, or a mapped file: the blobs are not copied), or None when
    it is damaged, or of another format or Python version."""
    view = memoryview(data)
    try:
        (length,) = _LENGTH.unpack_from(view)
        fields = pickle.loads(view[_LENGTH.size:_LENGTH.size + length])
        if (not isinstance(fields, dict) or fields.get("format") != IMAGE_FORMAT
                or fields.get("python") != sys.version):
            return None
        texts_ends, plan_ends, shared_ends = array("Q"), array("Q"), array("Q")
        texts_ends.frombytes(fields.pop("texts_ends"))
        plan_ends.frombytes(fields.pop("plan_ends"))
        shared_ends.frombytes(fields.pop("shared_ends"))
        start = _LENGTH.size + length
        middle = start + (texts_ends[-1] if texts_ends else 0)
        shared_start = middle + (plan_ends[-1] if plan_ends else 0)
        end = shared_start + (shared_ends[-1] if shared_ends else 0)
        if end != len(view):
            return None
        return ProgramImage(**fields, texts=Blobs(view[start:middle], texts_ends),
                            plan_blobs=Blobs(view[middle:shared_start], plan_ends),
                            shared=Blobs(view[shared_start:end], shared_ends))
    except Exception:  # a damaged or foreign file is just not an image
        return None


class _Texts:
    """Rule number -> what its findings say (its ``RuleInfo``), read on first use."""

    def __init__(self, blobs: Blobs) -> None:
        self._blobs = blobs
        self._made: list[m.RuleInfo | None] = [None] * len(blobs)

    def __getitem__(self, number: int) -> m.RuleInfo:
        found = self._made[number]
        if found is None:
            found = self._made[number] = _info_of(self._blobs[number])
        return found


class _Fired:
    """``FIRED``: the prebuilt finding of the rules whose findings name no lines, else None
    (as ``plans.Tables.fired``), made on first use."""

    def __init__(self, texts: _Texts, mask: bytes) -> None:
        self._texts = texts
        self._mask = mask
        self._made: dict[int, Finding] = {}

    def __getitem__(self, number: int) -> Finding | None:
        if not self._mask[number]:
            return None
        found = self._made.get(number)
        if found is None:
            info = self._texts[number]
            found = self._made[number] = Finding(info.id, info.action, info.carc,
                                                 info.message, info.source)
        return found


class _Plans:
    """The plans of the codes seen so far; ``fill`` adds those of a batch's codes.

    Filling from several threads at once only unpickles a plan twice: a code is marked seen
    after its plans are in place.
    """

    def __init__(self, numbers: dict[str, int], blobs: Blobs, shared: Blobs) -> None:
        self._numbers = numbers
        self._blobs = blobs
        self._shared = shared
        self._made: dict[int, object] = {}  # the shared values read so far
        self.plans: dict[str, Any] = {}
        self.paid: dict[str, Any] = {}
        self._seen: set[str] = set()

    def fill(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine]) -> None:
        codes = set(map(_line_code, lines))
        if history:
            codes.update(map(_line_code, history))
        new = codes - self._seen
        if not new:
            return
        for code in new:
            number = self._numbers.get(code)
            if number is None:
                continue
            blob = self._blobs[number]
            # an image whose plans share nothing (most) unpickles them at C speed
            self.plans[code], self.paid[code] = (
                _PlanUnpickler(blob, self._shared, self._made).load() if self._shared
                else pickle.loads(blob))
        self._seen |= new


def restore(image: ProgramImage, load_ruleset: Callable[[], m.RuleSet]) -> Program:
    """A program that judges exactly as the one ``image`` was made of."""
    texts = _Texts(image.texts)
    plans = _Plans(image.plans, image.plan_blobs, image.shared)
    generated = codegen.Generated(image.source, image.predicate_lines, image.kinds)
    return Program.restored(
        image.name, image.filename, generated, marshal.loads(image.code),
        (plans.plans.get, plans.paid.get, image.deny, _Fired(texts, image.fired), texts),
        load_ruleset, plans.fill, image)


def program_of_bytes(data: bytes, load_ruleset: Callable[[], m.RuleSet]) -> Program:
    """A restored program unpickled (``Program.__reduce__``): its image's bytes restored."""
    image = loads(data)
    if image is None:
        raise ValueError("a pickled program's image is damaged, or of another Python")
    return restore(image, load_ruleset)
