"""Hypothesis strategies for policy text, shared by the test modules.

``policy_texts()`` draws whole ``.pol`` files that parse, covering every statement form, with
optional layout noise; ``policy_texts(resolvable=True)`` draws files that also resolve without
errors. Import it as ``from strategies import policy_texts`` (the tests directory is on
``sys.path`` under pytest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from hypothesis import strategies as st

# --- pools --------------------------------------------------------------------------------

#: Valid procedure codes of every shape (CPT, CPT category III, HCPCS).
CODES = ("64483", "64484", "77002", "77003", "97810", "97813", "20552", "20553", "63650",
         "99213", "0213T", "0275T", "J0585", "G0283", "A4550")
#: Valid ranges: both ends of one shape, low <= high, well under ``codes.MAX_RANGE``.
RANGES = (("62320", "62323"), ("64479", "64484"), ("99202", "99215"), ("0213T", "0218T"),
          ("J0500", "J0599"), ("A0000", "B0010"), ("97810", "97810"))
#: Ranges the resolver rejects (reversed, mixed shapes): for syntax-only policies.
BAD_RANGES = (("64484", "64479"), ("0213T", "64483"))
#: Words in a code list that are neither valid codes nor set names: for syntax-only policies.
BAD_CODES = ("6448x", "123", "0213Z")
SET_NAMES = ("FLUORO", "ESI", "acu_codes", "Pain2", "E_M", "x")
DX_NAMES = ("CLBP", "neuro_dx", "Lbp", "radic")
#: Valid ICD-10-CM codes and prefix patterns, with and without dots.
DIAGNOSES = ("M54.50", "M54.51", "M5459", "M54.4*", "G89.29", "M54*", "M*", "S32.0", "G8929")
MODIFIERS = ("59", "XU", "XS", "25", "KX", "24", "57", "79", "LT", "RT", "GA")
CARCS = ("119", "97", "B15", "16", "4", "A1")
WINDOWS = ("90d", "12mo", "1d", "365d", "6mo", "day", "claim", "year", "lifetime")
PERIODS = ("0d", "10d", "90d", "1d")  # "0d" only when not resolvable
POLICY_NAMES = ("medicare.pain", "t", "commercial.acme_2025", "Medicare.NCCI.ptp")
RULE_NAMES = ("acu-90d", "tpi_freq", "esi2025", "R1", "x-y-z", "Deny_All", "_private")
RULE_REFS = ("medicare.pain/acu-90d", "t/limit@12", "medicare.ncci/ptp-1")
TABLE_KINDS = ("ptp", "mue", "addon", "pfs", "other")
#: Characters for messages, table paths and comments: quotes, backslashes, ``#``, non-ASCII.
_TEXT_CHARS = "abcXYZ019 .,:;'\"\\#é€-_/"
_COMMENT_CHARS = "abcXYZ019 .,:;'\"\\#é€-_/\t"

_PUNCTUATION = {",", "..", "=", "<=", ":"}


# --- one file -----------------------------------------------------------------------------


class _Builder:
    """Draws the tokens of one file; remembers the sets it has defined."""

    def __init__(self, draw: st.DrawFn, resolvable: bool, noise: bool):
        self.draw = draw
        self.resolvable = resolvable
        self.noise = noise
        self.code_sets: list[str] = []
        self.dx_sets: list[str] = []
        self.rule_names: set[str] = set()

    # leaves

    def pick(self, pool: tuple[str, ...] | list[str]) -> str:
        return pool[self.draw(st.integers(0, len(pool) - 1))]

    def cased(self, text: str) -> str:
        """``text`` upper, lower or mixed case (noise): for codes, modifiers, diagnoses."""
        if not self.noise or not any(ch.isalpha() for ch in text):
            return text
        flips = self.draw(st.integers(0, 2 ** len(text) - 1))
        return "".join(ch.lower() if flips >> i & 1 else ch for i, ch in enumerate(text))

    def number(self, low: int = 0, high: int = 999) -> str:
        value = self.draw(st.integers(low, high))
        zeros = self.draw(st.integers(0, 2)) if self.noise else 0
        return "0" * zeros + str(value)

    def date(self) -> dt.date:
        return self.draw(st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)))

    def literal(self, value: str) -> str:
        """A string literal for ``value``, with the escapes written in varied ways (noise)."""
        out = ['"']
        for ch in value:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\t":
                out.append(self.pick(("\t", "\\t")) if self.noise else "\\t")
            elif self.noise and ch not in "nt" and self.draw(st.integers(0, 9)) == 0:
                out.append("\\" + ch)  # an unneeded escape: reads as the character itself
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)

    def text(self, max_size: int = 30) -> str:
        return self.draw(st.text(st.sampled_from(_TEXT_CHARS + "\n\t"), max_size=max_size))

    # lists

    def many(self, item: Callable[[], list[str]], max_size: int = 4) -> list[str]:
        """``item, item, ...``; sometimes long, so that the formatter has to wrap."""
        long = self.draw(st.integers(0, 5)) == 0
        size = self.draw(st.integers(10, 30) if long else st.integers(1, max_size))
        tokens: list[str] = []
        for i in range(size):
            if i:
                tokens.append(",")
            tokens.extend(item())
        return tokens

    def code_item(self) -> list[str]:
        choices = ["code", "range"] + (["set"] if self.code_sets or not self.resolvable else [])
        if not self.resolvable:
            choices += ["bad"]
        kind = self.pick(choices)
        if kind == "code":
            return [self.cased(self.pick(CODES))]
        if kind == "range":
            ranges = RANGES if self.resolvable else RANGES + BAD_RANGES
            low, high = self.draw(st.sampled_from(ranges))
            return [self.cased(low), "..", self.cased(high)]
        if kind == "set":
            return [self.pick(self.code_sets if self.resolvable else SET_NAMES)]
        return [self.cased(self.pick(BAD_CODES))]

    def codes(self, max_size: int = 4) -> list[str]:
        return self.many(self.code_item, max_size)

    def dx_item(self) -> list[str]:
        pool = self.dx_sets if self.resolvable else list(DX_NAMES)
        if pool and self.draw(st.integers(0, 3)) == 0:
            return [self.pick(pool)]
        return [self.cased(self.pick(DIAGNOSES))]

    def modifiers(self) -> list[str]:
        return self.many(lambda: [self.cased(self.pick(MODIFIERS))])

    def unless(self) -> list[str]:
        return ["unless", "modifier", *self.modifiers()] if self.draw(st.booleans()) else []

    def window(self) -> str:
        return self.pick(WINDOWS)

    def effective(self) -> list[str]:
        start = self.date()
        if not self.draw(st.booleans()):
            return ["effective", start.isoformat()]
        until = self.date()
        if self.resolvable and until < start:
            start, until = until, start
        return ["effective", start.isoformat(), "until", until.isoformat()]

    # statements

    def set_def(self) -> list[str]:
        free = [s for s in SET_NAMES if s not in self.code_sets]
        name = self.pick(free if self.resolvable else SET_NAMES)
        tokens = ["set", name, "=", *self.codes(6)]
        self.code_sets.append(name)  # defined after its items: no cycles
        return tokens

    def dx_def(self) -> list[str]:
        free = [s for s in DX_NAMES if s not in self.dx_sets]
        name = self.pick(free if self.resolvable else DX_NAMES)
        tokens = ["dx", name, "=", *self.many(self.dx_item, 6)]
        self.dx_sets.append(name)
        return tokens

    def body(self) -> list[str]:
        kinds = ["forbid", "exclusive", "limit", "addon", "require_dx", "require_auth",
                 "prerequisite", "global", "deleted", "forbid_modifier", "mue"]
        if not self.resolvable:
            kinds.append("table")
        kind = self.pick(kinds)
        if kind == "forbid":
            return ["when", *self.codes(), "forbid", *self.codes(), *self.unless()]
        if kind == "exclusive":
            across = ["across", "providers"] if self.draw(st.booleans()) else []
            return ["exclusive", *self.codes(), *across]
        if kind == "limit":
            by = ["by", "provider"] if self.draw(st.booleans()) else []
            measure = self.draw(st.sampled_from([[], ["units"], ["sessions"]]))
            return ["limit", *self.codes(), "per", self.window(), *by, "<=", self.number(),
                    *measure, *self.unless()]
        if kind == "addon":
            return ["addon", *self.codes(), "requires", *self.codes()]
        if kind == "require_dx":
            return ["require", "dx", *self.many(self.dx_item), "for", *self.codes()]
        if kind == "require_auth":
            return ["require", "auth", "for", *self.codes()]
        if kind == "prerequisite":
            # a prerequisite 'within day' or 'within 1d' is an error (E208): no earlier date
            # is in it
            window = self.pick([w for w in WINDOWS if w not in ("day", "1d")]) \
                if self.resolvable \
                else self.window()
            return ["require", self.number(1 if self.resolvable else 0, 9), "of", *self.codes(),
                    "within", window, "before", *self.codes()]
        if kind == "global":
            periods = PERIODS[1:] if self.resolvable else (*PERIODS, "12mo", "day")
            covers = ["covers", *self.codes()] if self.draw(st.booleans()) else []
            return ["global", *self.codes(), self.pick(periods), *covers, *self.unless()]
        if kind == "deleted":
            use = ["use", *self.codes()] if self.draw(st.booleans()) else []
            return ["deleted", *self.codes(), "since", self.date().isoformat(), *use]
        if kind == "forbid_modifier":
            return ["forbid", "modifier", *self.modifiers(), "on", *self.codes()]
        if kind == "mue":
            per = self.draw(st.sampled_from([[], ["per", "day"], ["per", "line"]]))
            return ["mue", *self.codes(), "<=", self.number(), *per]
        return ["table", self.pick(TABLE_KINDS), self.literal(self.text())]

    def named_rule(self) -> list[str]:
        free = [r for r in RULE_NAMES if r not in self.rule_names]
        name = self.pick(free) if free else f"r-{len(self.rule_names)}"
        if self.resolvable:
            self.rule_names.add(name)
        options: list[list[str]] = []
        if self.draw(st.booleans()):
            options.append(["carc", self.cased(self.pick(CARCS))])
        if self.draw(st.booleans()):
            options.append([self.pick(("deny", "review"))])
        if self.draw(st.booleans()):
            options.append([self.literal(self.text(self.draw(st.sampled_from((30, 120)))))])
        if self.draw(st.booleans()):
            options.append(self.effective())
        if self.noise:
            options = self.draw(st.permutations(options))
        return ["rule", name, *(t for option in options for t in option), ":", *self.body()]

    def statement(self) -> list[str]:
        kinds = ["set", "dx", "rule", "body", "body"]
        if not self.resolvable:
            kinds += ["policy", "extends", "effective", "disable"]
        kind = self.pick(kinds)
        if kind == "set":
            return self.set_def() if len(self.code_sets) < len(SET_NAMES) else self.body()
        if kind == "dx":
            return self.dx_def() if len(self.dx_sets) < len(DX_NAMES) else self.body()
        if kind == "rule":
            return self.named_rule()
        if kind == "policy":
            return ["policy", self.pick(POLICY_NAMES)]
        if kind == "extends":
            return ["extends", *self.many(lambda: [self.pick(POLICY_NAMES)])]
        if kind == "effective":
            return self.effective()
        if kind == "disable":
            return ["disable", self.pick(RULE_REFS)]
        return self.body()

    # layout

    def comment(self) -> str:
        return "#" + self.draw(st.text(st.sampled_from(_COMMENT_CHARS), max_size=20))

    def space(self, before: str, after: str) -> str:
        """What goes between the tokens ``before`` and ``after`` of a statement."""
        if not self.noise:
            return "" if after in {",", "..", ":"} or before == ".." else " "
        tight = before in _PUNCTUATION or after in _PUNCTUATION
        blanks = ("  ", "\t", " \t ", "\n", "\n    ", "\n\n  ")
        kind = self.draw(st.integers(0, 31))  # one draw per space: this runs for every token
        if kind < 20:
            return "" if tight and kind % 2 else " "
        if kind < 26:
            return blanks[kind - 20]
        return ("", " ", "   ")[kind % 3] + self.comment() + ("\n", "\n   ")[kind % 2]

    def filler(self) -> str:
        """Blank lines, blank space and comments alone on their lines (noise)."""
        parts: list[str] = []
        for _ in range(self.draw(st.integers(0, 3)) if self.noise else 0):
            kind = self.draw(st.integers(0, 2))
            if kind == 0:
                parts.append(self.pick(("\n", "\n\n", "  \n", "\t\n\n\n")))
            elif kind == 1:
                parts.append(self.pick(("", "  ", "\t")) + self.comment() + "\n")
            else:
                parts.append(self.pick((" ", "   ")))
        return "".join(parts)

    def render(self, statements: list[list[str]]) -> str:
        out: list[str] = [self.filler()]
        for index, tokens in enumerate(statements):
            if index:
                same_line = self.noise and not self.resolvable and self.draw(st.booleans())
                out.append(" " if same_line else "\n")
                out.append(self.filler())
            for i, token in enumerate(tokens):
                if i:
                    out.append(self.space(tokens[i - 1], token))
                out.append(token)
            if self.noise and self.draw(st.integers(0, 3)) == 0:
                out.append(self.pick(("", "  ", "   ")))
                column = len("".join(out).rsplit("\n", 1)[-1])
                out.append(self.comment() + "\n")
                for _ in range(self.draw(st.integers(0, 2))):
                    # a comment that continues the one above it, in its column (or not quite)
                    shift = self.draw(st.sampled_from((0, 0, 0, -1, 1)))
                    out.append(" " * max(column + shift, 0) + self.comment() + "\n")
        out.append(self.filler())
        out.append(self.pick(("", "\n", "\n\n\n", "  ")) if self.noise else "\n")
        text = "".join(out)
        if self.noise and self.draw(st.integers(0, 7)) == 0:
            text = text.replace("\n", "\r\n")  # Windows line ends
        return text


@st.composite
def _policy_text(draw: st.DrawFn, resolvable: bool, noise: bool, max_statements: int) -> str:
    builder = _Builder(draw, resolvable, noise)
    statements: list[list[str]] = []
    if resolvable:
        statements.append(["policy", builder.pick(POLICY_NAMES)])
        if draw(st.booleans()):
            statements.append(builder.effective())
    for _ in range(draw(st.integers(0, max_statements))):
        statements.append(builder.statement())
    return builder.render(statements)


def policy_texts(*, resolvable: bool = False, noise: bool = True,
                 max_statements: int = 12) -> st.SearchStrategy[str]:
    """Random policy files that parse, covering every statement form.

    Codes come from small pools (CPT, CPT category III and HCPCS codes, ranges of each shape),
    with set names, dx sets, diagnosis codes and ``*`` patterns (with and without dots),
    modifiers, CARCs, durations and window words, dates, numbers, and named rules with any
    subset of their options.

    ``resolvable=False`` (the default) draws syntax only: any statement in any order, including
    ``policy``, ``extends``, ``effective``, ``disable`` and ``table`` anywhere, names of sets
    that may not be defined, reversed or mixed ranges, words that are not codes, several
    statements on one line. The file parses; it need not resolve.

    ``resolvable=True`` draws files that ``resolve.resolve([parse(text, path)], {path: text},
    load_tables=False)`` accepts without errors (unused-set warnings aside): the file begins
    with ``policy NAME`` and at most one ``effective``; a set or dx set only names sets defined
    before it (so there are no cycles and no undefined names); codes, ranges, modifiers, CARCs,
    dates, windows and periods are valid; rule names are unique; every statement starts on a
    line of its own (so the ids of unnamed rules are unique). ``extends``, ``disable`` and
    ``table`` are left out: they need other files.

    ``noise=True`` (the default) varies the layout without changing the meaning: runs of spaces,
    tabs and line breaks between tokens, no space around punctuation, comments alone on their
    lines and at the end of lines (also inside statements), comments continued on the next
    lines in the same column, runs of blank lines, leading and
    trailing blank space, Windows line ends, upper, lower and mixed case codes, modifiers,
    diagnoses and CARCs, leading zeros in numbers, rule options in any order, string escapes
    written in several ways. ``noise=False`` draws one statement per line, single spaces,
    upper-case codes.

    ``max_statements`` bounds the statements drawn after the header.
    """
    return _policy_text(resolvable, noise, max_statements)
