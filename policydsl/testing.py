"""``policyc test``: analysts' cases that prove a policy does what its source says.

Cases live beside the policy they test: ``acupuncture.cases.csv`` tests ``acupuncture.pol``
(with everything it extends). The file has the ``policyc run`` columns plus four:

- ``case``: the case's name, in words; consecutive rows with the same name are one case,
  judged on their own (no other case's lines are visible).
- ``expect``: ``allow``, ``deny`` or ``review`` for a line to judge, or ``history`` for a line
  already paid (it counts as allowed and is not judged).
- ``carc`` and ``rule`` (optional): the CARC, and the rule (its full id or just its name) that
  must be among the line's findings.

Every case's outcome is compared line by line with what it expects. Coverage counts, for every
rule, the cases that made it fire, and the cases in which it could have applied (a line of one
of its codes) and rightly stayed quiet. A ``table`` statement is one rule.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import model as m
from .api import Policy, load
from .claims import ClaimLine, Decision
from .claims_io import ClaimsFileError, RowError, read_claims
from .claims_text import FIELDS
from .diagnostics import Diagnostic, PolicyError
from .files import find_files

if TYPE_CHECKING:
    from _csv import Reader

CASES_SUFFIX = ".cases.csv"
EXPECTATIONS = ("allow", "deny", "review", "history")
#: The columns a cases file may have: the case's, then those of ``policyc run``'s input.
CASES_COLUMNS = ("case", "expect", "carc", "rule", *FIELDS)


class CasesFileError(Exception):
    """A cases file that cannot be used: names the file and row, and then every other bad row
    of the file (``others``), one a line, so that one run shows them all."""

    def __init__(self, path: str, row: int | None, message: str,
                 others: Sequence[CasesFileError] = ()):
        self.path, self.row, self.message, self.others = path, row, message, tuple(others)
        first = f"{path}:{row}: {message}" if row else f"{path}: {message}"
        super().__init__("\n".join([first, *map(str, self.others)]))


@attrs.frozen
class CaseLine:
    line: ClaimLine
    expect: str
    carc: str
    rule: str
    row: int


@attrs.frozen
class Case:
    name: str
    file: str
    row: int  # the first row of the case
    lines: tuple[CaseLine, ...]

    @property
    def judged(self) -> list[CaseLine]:
        return [c for c in self.lines if c.expect != "history"]

    @property
    def history(self) -> list[ClaimLine]:
        return [c.line for c in self.lines if c.expect == "history"]


@attrs.frozen
class Outcome:
    """A case's result: its failures (empty when it passed) and the decisions behind them."""

    case: Case
    decisions: tuple[Decision, ...]
    failures: tuple[str, ...]
    rules: frozenset[str] = frozenset()  # ids of the rules of the policy the case ran against

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def fired(self) -> set[str]:
        return {f.rule for d in self.decisions for f in d.findings}


def policy_for(cases_file: Path) -> Path:
    """The policy a cases file tests: the ``.pol`` file of the same name beside it."""
    return cases_file.with_name(cases_file.name[: -len(CASES_SUFFIX)] + ".pol")


def orphan_cases(cases_file: Path) -> str | None:
    """Why a cases file cannot be run, when no policy file stands beside it; None when one
    does."""
    policy = policy_for(cases_file)
    if policy.is_file():
        return None
    why = ("is not a file" if policy.exists() else "is a link to nothing" if policy.is_symlink()
           else "does not exist")
    return (f"{cases_file}: no policy to test: a cases file tests the policy file of its own "
            f"name beside it, and {policy} {why}")


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """The cases files under ``paths``, and every policy file there (for coverage). A folder
    under them that cannot be listed is a ``PolicyError`` (E002): its cases would be left out
    without a word, and the run would pass."""
    cases: list[Path] = []
    policies: list[Path] = []
    unlisted: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found, problems = find_files(path, (CASES_SUFFIX, ".pol"))
            cases.extend(f for f in found if f.name.endswith(CASES_SUFFIX))
            policies.extend(f for f in found if f.name.endswith(".pol"))
            unlisted += problems
        elif path.name.endswith(CASES_SUFFIX):
            cases.append(path)
            policies.append(policy_for(path))
        else:
            policies.append(path)
            sibling = path.with_name(path.stem + CASES_SUFFIX)
            if sibling.exists():
                cases.append(sibling)
    if unlisted:
        raise PolicyError(unlisted, {})
    return _once(cases), _once(policies)


def _once(paths: list[Path]) -> list[Path]:
    """``paths`` without those that name a file named before (by a link to its folder, say):
    its cases would run twice."""
    firsts: dict[Path, Path] = {}
    for path in paths:
        firsts.setdefault(path.resolve(), path)
    return list(firsts.values())


def read_cases(path: Path) -> list[Case]:
    """The cases of one file, in order. Raises ``CasesFileError`` on any bad row."""
    shown = str(path)
    try:
        items = read_claims(path, "csv")
        # a byte that is not UTF-8 is the claims reader's row error (``items``), at its row
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            records = list(_records(csv.reader(handle, strict=True), shown))
    except (ClaimsFileError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).removeprefix(f"{shown}: ")  # the reader names the file too
        raise CasesFileError(shown, None, reason) from None
    cases: list[Case] = []
    current: list[CaseLine] = []
    name = ""
    first_row = 0
    bad: list[CasesFileError] = []  # every bad row, reported together
    started: dict[str, int] = {}  # each case's first row
    for item, (row, record) in zip(items, records, strict=True):
        if not any(value.strip() for value in record.values()):
            continue  # commas alone: a spreadsheet's empty row (the claims reader's error)
        expect, carc, rule = _expectation(record)
        problem = _case_problem(item, expect, carc, rule)
        case_name = (record.get("case") or "").strip() or name
        if problem is None and not case_name:
            problem = ("this row needs a case name: a row without one continues the case "
                       "above, and no row above names one")
        if problem is None and case_name != name and case_name in started:
            # the case would be two, judged apart, under one name
            problem = (f"case {case_name!r} began on row {started[case_name]}, with other "
                       "cases since: the rows of a case are consecutive; move this row up "
                       "to it, or give this case a name of its own")
        if case_name and case_name != name:
            started.setdefault(case_name, row)
        if problem is not None:
            bad.append(CasesFileError(shown, row, problem))
        if bad:  # the rows after a bad one are only looked at for problems
            name = case_name
            continue
        assert isinstance(item, ClaimLine)
        if case_name != name and current:
            cases.append(Case(name, shown, first_row, tuple(current)))
            current = []
        if not current:
            first_row = row
        name = case_name
        current.append(CaseLine(item, expect, carc, rule, row))
    if bad:
        raise CasesFileError(bad[0].path, bad[0].row, bad[0].message, bad[1:])
    if current:
        cases.append(Case(name, shown, first_row, tuple(current)))
    return cases


def _expectation(record: dict[str, str]) -> tuple[str, str, str]:
    """A cases file row's ``expect``, ``carc`` and ``rule``, as they are compared."""
    return ((record.get("expect") or "").strip().lower(),
            (record.get("carc") or "").strip().upper(), (record.get("rule") or "").strip())


def _case_problem(item: ClaimLine | RowError, expect: str, carc: str, rule: str) -> str | None:
    """What is wrong with a cases file's row, if anything: its claim line, or its expectation."""
    if isinstance(item, RowError):  # reported as FILE:ROW: why
        return item.why
    if expect not in EXPECTATIONS:
        return f"expect must be one of {', '.join(EXPECTATIONS)}, not {expect!r}"
    if expect in ("allow", "history") and (carc or rule):
        given = " and ".join(x for x, v in (("carc", carc), ("rule", rule)) if v)
        return (f"expect {expect} with a {given}: "
                + ("an allowed line has no findings" if expect == "allow"
                   else "a history line is not judged")
                + f"; leave the {given} empty, or expect deny or review")
    return None


def _records(reader: Reader, shown: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(physical line number, {lower-case column: value})`` for each non-blank data row of
    a ``csv.reader`` in strict mode; ``CasesFileError`` at a row it cannot read."""
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a quote that is never closed
            raise CasesFileError(shown, start, f"{exc}: check the quotes of this row") from None
        if len(fields) <= 1 and not "".join(fields).strip():
            continue  # a blank line: no row, for the claims reader either
        if header is None:
            if not any(f.strip() for f in fields):
                continue  # commas before the header are skipped as blank lines are
            header = [f.strip().lower() for f in fields]
            if "case" not in header or "expect" not in header:
                raise CasesFileError(shown, start,
                                     "a cases file needs the columns 'case' and 'expect'")
            # an empty name is no column (a spreadsheet's trailing comma), as for run
            unknown = [name for name in header if name and name not in CASES_COLUMNS]
            if unknown:  # a misspelt carc or rule column would check nothing
                raise CasesFileError(
                    shown, start, f"unknown column(s) {', '.join(map(repr, unknown))}; a cases "
                    f"file has the columns {', '.join(CASES_COLUMNS)}")
            continue
        yield reader.line_num, dict(zip(header, fields, strict=False))


def _rule_matches(expected: str, rule_id: str) -> bool:
    return rule_id == expected or rule_id.split("/", 1)[-1] == expected


def _describe(decision: Decision) -> str:
    if not decision.findings:
        return decision.decision
    fired = "; ".join(f"{f.rule} (CARC {f.carc}, {f.source})" for f in decision.findings)
    return f"{decision.decision} by {fired}"


def judge(policy: Policy, case: Case) -> Outcome:
    judged = case.judged
    decisions = policy.adjudicate([c.line for c in judged], case.history)
    rules = frozenset(r.info.id for r in policy.rules)
    failures = []
    for expected, decision in zip(judged, decisions, strict=True):
        problems = []
        if decision.decision != expected.expect:
            problems.append(f"expected {expected.expect}")
        if expected.carc and expected.carc not in {f.carc for f in decision.findings}:
            problems.append(f"expected CARC {expected.carc}")
        if expected.rule and not any(_rule_matches(expected.rule, r) for r in rules):
            problems.append(f"expected rule {expected.rule}, which the policy does not have "
                            "(no rule has that id or name)")
        elif expected.rule and not any(_rule_matches(expected.rule, f.rule)
                                       for f in decision.findings):
            problems.append(f"expected rule {expected.rule} to fire")
        if problems:
            line = expected.line
            failures.append(f"row {expected.row}: {line.claim_id}/{line.line} {line.code} "
                            f"{line.date.isoformat()}: {', '.join(problems)}; "
                            f"got {_describe(decision)}")
    return Outcome(case, tuple(decisions), tuple(failures), rules)


@attrs.frozen
class RuleCoverage:
    rule: str
    source: str
    fired: int
    quiet: int


def _could_apply(rules: Sequence[m.Rule], line: ClaimLine) -> bool:
    """A line of one of the rule's codes: a case where the rule could fire (dates outside its
    validity included: "not before the effective date" is a case worth having)."""
    return any(line.code in m.rule_codes(r) for r in rules)


def coverage(rules: Sequence[m.Rule], outcomes: Sequence[Outcome]) -> list[RuleCoverage]:
    """For each rule id: cases that made it fire, and cases where it could apply but did not."""
    by_id: dict[str, list[m.Rule]] = {}
    for rule in rules:
        by_id.setdefault(rule.info.id, []).append(rule)
    report = []
    for rule_id, group in by_id.items():
        fired = sum(1 for o in outcomes if rule_id in o.fired)
        quiet = sum(1 for o in outcomes if rule_id in o.rules and rule_id not in o.fired
                    and any(_could_apply(group, c.line) for c in o.case.judged))
        report.append(RuleCoverage(rule_id, _defined_at(group[0].info.source), fired, quiet))
    return report


_FILE_LINE_COL = re.compile(r"(.*):(\d+):\d+")


def _defined_at(source: str) -> str:
    """Where coverage says a rule is: its statement's ``file:line``, or a table's file (the
    rules of a table row have the row's ``file:row:1``; every rule of a table is one rule)."""
    found = _FILE_LINE_COL.fullmatch(source)
    if found is None:
        return source
    path, line = found.groups()
    return f"{path}:{line}" if path.endswith(".pol") else path


def defined_rules(policy_files: Iterable[Path],
                  load_policy: Callable[[Path], Policy] = load) -> list[m.Rule]:
    """The rules each file defines itself (ids ``<its policy>/...``), not those it inherits."""
    out: list[m.Rule] = []
    seen: set[int] = set()
    for path in policy_files:
        policy = load_policy(path)
        prefix = policy.name + "/"
        for rule in policy.rules:
            if rule.info.id.startswith(prefix) and id(rule) not in seen:
                seen.add(id(rule))
                out.append(rule)
    return out


#: Characters XML 1.0 cannot hold, not even escaped: C0 controls but tab and line ends,
#: surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` with what XML cannot hold shown as ``?``."""
    return _NOT_XML.sub("?", text)


def junit_xml(outcomes: Sequence[Outcome]) -> bytes:
    """JUnit XML: a test suite per cases file, a test case per case."""
    suites = ET.Element("testsuites", name="policyc test")
    by_file: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_file.setdefault(outcome.case.file, []).append(outcome)
    for file, group in by_file.items():
        failed = sum(1 for o in group if not o.passed)
        suite = ET.SubElement(suites, "testsuite", name=_xml_text(file), tests=str(len(group)),
                              failures=str(failed), errors="0", skipped="0")
        for outcome in group:
            case = ET.SubElement(suite, "testcase", name=_xml_text(outcome.case.name),
                                 classname=_xml_text(file.replace("/", ".").removesuffix(".csv")),
                                 file=_xml_text(file), line=str(outcome.case.row))
            if outcome.failures:
                failure = ET.SubElement(case, "failure", message=_xml_text(outcome.failures[0]))
                failure.text = _xml_text("\n".join(outcome.failures))
    suites.set("tests", str(len(outcomes)))
    suites.set("failures", str(sum(1 for o in outcomes if not o.passed)))
    ET.indent(suites)
    return bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True)) + b"\n"
