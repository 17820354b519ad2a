"""Program images: a compiled program saved as bytes, and restored without compiling.

An image holds what :class:`~policydsl.engine.Program` made: the generated source, its code
object (``marshal``), and the tables, each code's plan pickled on its own and each rule's
finding text pickled on its own. Restoring reads a few containers of bytes; a code's plan is
unpickled the first time a line of that code is judged, and a rule's text the first time it
fires. So restoring costs nearly nothing for rules whose codes never appear in the claims:
that is what makes a cached 110,000-rule policy start as fast as a 10,000-rule one.

An image does not hold the rule set: ``Program.ruleset`` of a restored program calls the
``load_ruleset`` it was given (the cache passes one that resolves the policy's sources again).

Images are written and read by :mod:`policydsl.cache` in the user's own cache folder. They
are pickles, trusted like Python's ``__pycache__``: never restore an image from elsewhere.
"""

from __future__ import annotations

import marshal
import pickle
import sys
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import attrs

from . import codegen
from . import model as m
from .claims import ClaimLine, Finding
from .engine import Program

#: Bumped whenever the layout of an image changes; an image of another format is not used.
IMAGE_FORMAT = 1

_PICKLE = pickle.HIGHEST_PROTOCOL
_line_code = attrgetter("code")


@attrs.frozen
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
    texts: list[bytes]  # rule number -> its pickled RuleInfo (id, carc, message, source...)
    plans: dict[str, bytes]  # code -> pickled (plan, paid plan)


def image_of(program: Program) -> ProgramImage:
    """The image of a program just compiled (a restored program has no tables to save)."""
    tables = program.tables
    if tables is None:
        raise ValueError("a restored program cannot be imaged again; compile the rule set")
    rules = program.rules
    texts = [pickle.dumps(info, _PICKLE) for info in map(attrgetter("info"), rules)]
    plans = {code: pickle.dumps((plan, tables.paid[code]), _PICKLE)
             for code, plan in tables.plans.items()}
    generated = program.generated
    return ProgramImage(
        IMAGE_FORMAT, sys.version, program.name, program.filename, generated.source,
        dict(generated.predicate_lines), dict(generated.kinds), marshal.dumps(program.code),
        bytes(map(bool, tables.deny)), bytes(found is not None for found in tables.fired),
        texts, plans)


def dumps(image: ProgramImage) -> bytes:
    return pickle.dumps(image, _PICKLE)


def loads(data: bytes) -> ProgramImage | None:
    """The image in ``data``, or None when it is of another format or Python version."""
    try:
        image = pickle.loads(data)
    except Exception:  # a damaged or foreign file is just not an image
        return None
    if (not isinstance(image, ProgramImage) or image.format != IMAGE_FORMAT
            or image.python != sys.version):
        return None
    return image


class _Texts:
    """Rule number -> what its findings say (its ``RuleInfo``), unpickled on first use."""

    def __init__(self, blobs: list[bytes]) -> None:
        self._blobs = blobs
        self._made: list[m.RuleInfo | None] = [None] * len(blobs)

    def __getitem__(self, number: int) -> m.RuleInfo:
        found = self._made[number]
        if found is None:
            found = self._made[number] = pickle.loads(self._blobs[number])
        return found


class _Fired:
    """``FIRED``: the prebuilt finding of the rules whose findings name no lines, else None
    (as ``codegen.Tables.fired``), made on first use."""

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

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self._blobs = blobs
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
            blob = self._blobs.get(code)
            if blob is not None:
                self.plans[code], self.paid[code] = pickle.loads(blob)
        self._seen |= new


def restore(image: ProgramImage, load_ruleset: Callable[[], m.RuleSet]) -> Program:
    """A program that judges exactly as the one ``image`` was made of."""
    texts = _Texts(image.texts)
    plans = _Plans(image.plans)
    generated = codegen.Generated(image.source, image.predicate_lines, image.kinds)
    return Program.restored(
        image.name, image.filename, generated, marshal.loads(image.code),
        (plans.plans.get, plans.paid.get, image.deny, _Fired(texts, image.fired), texts),
        load_ruleset, plans.fill)
