"""The embedding API: load or compile a policy once, adjudicate claim lines many times.

``Policy`` holds a resolved rule set and its compiled program. ``adjudicate`` runs the compiled
engine; ``interpret`` runs the reference interpreter on the same rules (for tests and for
debugging a surprising decision). A ``Policy`` has no mutable state: share it between threads,
pickle it to worker processes.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import model as m
from .claims import ClaimLine, Decision
from .diagnostics import PolicyError, error
from .engine import Program, compile_ruleset
from .files import empty_path
from .spans import NO_SPAN

if TYPE_CHECKING:
    from .loader import Loaded

# The parser, resolver and interpreter are imported where they are used: a run that restores
# its policy from the cache never needs them (Lark alone takes a tenth of a second to import).


@attrs.frozen(repr=False)
class Policy:
    """A compiled policy."""

    program: Program = attrs.field(repr=False)

    def __repr__(self) -> str:  # the program's: name and rule count, without reading rules
        return f"<Policy {repr(self.program)[len('<Program '):]}"

    @property
    def ruleset(self) -> m.RuleSet:
        """The resolved rules (a policy restored from the cache reads them on first use)."""
        return self.program.ruleset

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def rules(self) -> tuple[m.Rule, ...]:
        return self.ruleset.rules

    @property
    def source(self) -> str:
        """The generated Python source of the compiled predicates."""
        return self.program.source

    def adjudicate(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine] = ()
                   ) -> list[Decision]:
        """One decision per line, in the order given, judged against the paid ``history``."""
        lines, history = _claim_lines(lines, "line"), _claim_lines(history, "history line")
        try:
            return self.program.adjudicate(lines, history)
        except (AttributeError, TypeError) as exc:
            _explain(exc, lines, history)
            raise

    def interpret(self, lines: Sequence[ClaimLine], history: Sequence[ClaimLine] = ()
                  ) -> list[Decision]:
        """The same, by the reference interpreter."""
        from .interpreter import interpret

        lines, history = _claim_lines(lines, "line"), _claim_lines(history, "history line")
        try:
            return interpret(self.ruleset, lines, history)
        except (AttributeError, TypeError) as exc:
            _explain(exc, lines, history)
            raise


def _claim_lines(given: Iterable[ClaimLine], kind: str) -> Sequence[ClaimLine]:
    """``given`` as a sequence of claim lines (an iterator is read into a list); a
    ``TypeError`` when it is not a collection, or holds anything but ``ClaimLine``s: an
    object that only looks like one (a record of the caller's, with the same fields) would
    skip the constructor's conversions (upper-case codes, diagnoses without the dot) and be
    judged silently wrong. Costs one look at each line's type, at C speed."""
    if not isinstance(given, (list, tuple)):
        if given is None or isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise TypeError(f"the {kind}s must be a list of ClaimLine, not "
                            f"{type(given).__name__}" + (" (use () for none)" if given is None
                                                         else ""))
        given = list(given)
    types = set(map(type, given))
    if len(types) > 1 or ClaimLine not in types:
        for cls in types:
            if not issubclass(cls, ClaimLine):
                article = "an" if cls.__name__[:1].lower() in "aeiou" else "a"
                raise TypeError(f"a {kind} is {article} {cls.__name__}, not a ClaimLine")
    return given


def _explain(exc: Exception, lines: Sequence[ClaimLine], history: Sequence[ClaimLine]) -> None:
    """After the engine failed: a ``TypeError`` naming the first line with a value of a type
    the constructor does not check (docs/api.md), if there is one. Looked for only then, so a
    good batch pays nothing for it."""
    wanted = (("claim_id", str, "a str"), ("line", int, "an int"), ("member_id", str, "a str"),
              ("date", dt.date, "a datetime.date"), ("code", str, "a str"),
              ("provider_id", str, "a str"), ("units", int, "an int"), ("pos", str, "a str"),
              ("auth", str, "a str"))
    for group, kind in ((lines, "line"), (history, "history line")):
        for item in group:  # claim lines all (``_claim_lines``), some stored past the checks
            for name, cls, label in wanted:
                value = getattr(item, name)
                # a bool is no int here, nor a date and a time a date
                if not isinstance(value, cls) or isinstance(value, (bool, dt.datetime)):
                    raise TypeError(f"{kind} {item.claim_id}/{item.line}: {name} {value!r} is "
                                    f"not {label}") from exc


def combine(name: str, rulesets: Sequence[m.RuleSet]) -> m.RuleSet:
    """Several policies applied together: their rules in order, each rule once."""
    if len(rulesets) == 1:
        return rulesets[0]
    seen: set[int] = set()
    rules: list[m.Rule] = []
    files: list[str] = []
    for ruleset in rulesets:
        for rule in ruleset.rules:
            if id(rule) not in seen:
                seen.add(id(rule))
                rules.append(rule)
        files.extend(f for f in ruleset.files if f not in files)
    return m.RuleSet(name, tuple(rules), tuple(files))


def load_ruleset(path: str | Path, given: Sequence[Path] = ()) -> m.RuleSet:
    """Resolve the policy at ``path`` (a ``.pol`` file, or a folder of them) to its rules;
    ``given``: other policy files the user named, searched last for what it extends.

    Raises ``PolicyError`` with every error diagnostic if the policy cannot be used.
    """
    from .loader import load_paths

    return ruleset_of(load_paths([path], given=given), path)


def ruleset_of(loaded: Loaded, path: str | Path) -> m.RuleSet:
    """The rules of what ``load_paths([path])`` loaded; ``PolicyError`` if it cannot be used."""
    if loaded.errors:
        raise PolicyError(loaded.errors, loaded.workspace.sources)
    if not loaded.roots:
        raise PolicyError([error("E002", f"no policy files (*.pol) found in {path}", str(path),
                                 NO_SPAN)], {})
    rulesets = [loaded.workspace.rulesets[name] for name in loaded.roots]
    return combine(str(path) if len(rulesets) > 1 else rulesets[0].name, rulesets)


def load(path: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
         ) -> Policy:
    """Load and compile the policy at ``path`` with everything it extends.

    With ``cache_dir``, a policy compiled before from the same unchanged files is restored
    from there instead of compiled, and a freshly compiled one is saved there
    (:mod:`policydsl.cache`)."""
    path = os.fsdecode(os.fspath(path))
    if not path:  # before the cache too, which would key an entry on it
        raise PolicyError([empty_path()], {})
    if cache_dir is not None and not _special(path):
        from .cache import load_cached

        return load_cached(path, Path(cache_dir))
    return load_uncached(path)


def _special(path: str) -> bool:
    """Whether ``path`` names something other than a file or folder (a named pipe, as
    ``<(…)`` gives): what it holds can be read once only, so it is compiled, not cached (the
    cache would read it to note its state, and then wait for ever to parse it)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # missing, unreadable or no path (a NUL): loading says so
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def load_uncached(path: str | Path, given: Sequence[Path] = ()) -> Policy:
    """``load`` without a cache; ``given``: other policy files the user named, searched last
    for what it extends (``policyc test``)."""
    return Policy(compile_ruleset(load_ruleset(path, given=given)))


def compile_text(text: str, name: str = "<policy>") -> Policy:
    """Compile one policy from text; ``name`` is the file name its diagnostics and findings
    show. ``extends`` and ``table`` are not available here (they need files); use ``load``."""
    from .files import universal_newlines
    from .parser import parse
    from .resolve import resolve

    if not isinstance(text, str):
        raise TypeError(f"compile_text needs the policy's text as a str, not {type(text).__name__}"
                        + (" (decode the bytes first)" if isinstance(text, bytes) else ""))
    if not isinstance(name, str):
        raise TypeError(f"compile_text needs the name its findings show as a str, not "
                        f"{type(name).__name__}"
                        + (" (use load for a file, or pass str(path))"
                           if isinstance(name, os.PathLike) else ""))
    # line ends as reading a file gives them to ``load``, and no byte order mark: so lines,
    # columns and the ids of unnamed rules are the same as for the same text in a file
    text = universal_newlines(text).removeprefix("\ufeff")
    module = parse(text, name)
    ws = resolve([module], {name: text}, load_tables=False)
    if ws.errors:
        raise PolicyError(ws.errors, {name: text})
    ruleset = next(iter(ws.rulesets.values()))
    return Policy(compile_ruleset(ruleset, filename=name))
