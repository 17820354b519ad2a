"""The compiled engine (codegen + engine) against the reference interpreter.

Every example runs on both engines; a property test compares them on generated policies and
claims; the rest pins what the generated program must be: deterministic, free of policy text,
picklable, and indifferent to lines no rule mentions.
"""

from __future__ import annotations

import datetime as dt
import gc
import pickle
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policydsl import model as m
from policydsl.api import Policy, compile_text, load
from policydsl.claims import ClaimLine, Decision, Finding, LineRef
from policydsl.codegen import COMMENTED_RULES_PER_KIND, safe_comment, shown_source
from policydsl.engine import Program, adjudicate, compile_ruleset
from policydsl.interpreter import interpret

Engine = Callable[..., list[Decision]]
DAY0 = dt.date(2024, 1, 1)


def _line(claim: str, number: int, date: str | int, code: str, *, member: str = "M1",
          provider: str = "P1", mods: str = "", units: int = 1, dx: str = "",
          auth: str = "") -> ClaimLine:
    day = DAY0 + dt.timedelta(days=date) if isinstance(date, int) else dt.date.fromisoformat(
        date)
    return ClaimLine(claim, number, member, day, code, provider, modifiers=mods, units=units,
                     dx=dx, auth=auth)


def _ruleset(text: str) -> m.RuleSet:
    return compile_text(text, name="t.pol").ruleset


@pytest.fixture(params=["reference", "compiled"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """``engine(ruleset, lines, history=())`` by the reference interpreter or the compiled
    engine: the two have the same call shape."""
    if request.param == "reference":
        return interpret
    return lambda rs, lines, history=(): compile_ruleset(rs).adjudicate(lines, history)


def _verdicts(decisions: Sequence[Decision]) -> list[str]:
    return [d.decision for d in decisions]


def _related(decision: Decision, index: int = 0) -> list[tuple[str, int | str]]:
    return [(r.claim_id, r.line) for r in decision.findings[index].related]


# --- each rule kind, on both engines -------------------------------------------------------


def test_forbid_denies_the_target_and_names_the_trigger(engine: Engine) -> None:
    rs = _ruleset("policy t\nwhen 64483 forbid 77002, 77003 unless modifier 59\n")
    out = engine(rs, [_line("C1", 1, 0, "64483"), _line("C1", 2, 0, "77002"),
                      _line("C1", 3, 0, "77003", mods="59"),
                      _line("C2", 1, 0, "77002", provider="P2"), _line("C3", 1, 1, "77002")])
    assert _verdicts(out) == ["allow", "deny", "allow", "allow", "allow"]
    finding = out[1].findings[0]
    assert (finding.rule, finding.carc, finding.source) == ("t/forbid@2", "97", "t.pol:2:1")
    assert _related(out[1]) == [("C1", 1)]


def test_forbid_sees_history_and_a_line_of_the_same_code(engine: Engine) -> None:
    rs = _ruleset("policy t\nwhen 20552, 20553 forbid 20553\n")
    out = engine(rs, [_line("C1", 2, 0, "20553"), _line("C1", 3, 0, "20553")],
                 [_line("H1", 1, 0, "20552")])
    assert _verdicts(out) == ["deny", "deny"]
    # in the member's order: on a date, the paid lines come first
    assert _related(out[0]) == [("H1", 1), ("C1", 3)]
    assert _related(out[1]) == [("H1", 1), ("C1", 2)]


def test_exclusive_first_listed_code_wins(engine: Engine) -> None:
    rs = _ruleset("policy t\nexclusive 20553, 20552\n")
    out = engine(rs, [_line("C1", 1, 0, "20552"), _line("C1", 2, 0, "20553"),
                      _line("C2", 1, 1, "20552")])
    assert _verdicts(out) == ["deny", "allow", "allow"]
    assert _related(out[0]) == [("C1", 2)]


def test_global_period_covers_the_days_after_and_the_day_before_major(engine: Engine) -> None:
    rs = _ruleset("policy t\nglobal 63650 10d\nglobal 63655 90d\n")
    lines = [_line("C1", 1, 10, "63650"), _line("C2", 1, 10, "99213"),
             _line("C3", 1, 20, "99213"), _line("C4", 1, 21, "99213"),
             _line("C5", 1, 22, "99213", mods="25"), _line("C6", 1, 49, "99213"),
             _line("C7", 1, 50, "63655"), _line("C8", 1, 50, "99214", provider="P2")]
    out = engine(rs, lines)
    assert _verdicts(out) == ["allow", "deny", "deny", "allow", "allow", "deny", "allow",
                              "allow"]
    assert _related(out[5]) == [("C7", 1)]


def test_global_ignores_a_denied_procedure(engine: Engine) -> None:
    rs = _ruleset("policy t\nrequire auth for 63655\nglobal 63655 90d\n")
    lines = [_line("C1", 1, 49, "99213"), _line("C2", 1, 50, "63655"),
             _line("C3", 1, 55, "99213"), _line("C4", 1, 60, "63655", auth="A1"),
             _line("C5", 1, 61, "99213")]
    out = engine(rs, lines)
    assert _verdicts(out) == ["allow", "deny", "allow", "allow", "deny"]


def test_limit_units_sessions_and_bypass(engine: Engine) -> None:
    rs = _ruleset("policy t\n"
                  "rule s: limit 97810, 97813 per 90d <= 2 sessions unless modifier KX\n"
                  "rule u: limit 64483 per day by provider <= 2 units\n")
    out = engine(rs, [_line("C1", 1, 0, "97810"), _line("C2", 1, 5, "97813"),
                      _line("C2", 2, 5, "97810"), _line("C3", 1, 9, "97810"),
                      _line("C4", 1, 9, "97810", mods="KX"), _line("C5", 1, 12, "97810"),
                      _line("C6", 1, 20, "64483", units=2), _line("C6", 2, 20, "64483"),
                      _line("C7", 1, 20, "64483", provider="P2")])
    assert _verdicts(out) == ["allow", "allow", "allow", "deny", "allow", "deny", "allow",
                              "deny", "allow"]
    assert _related(out[5]) == [("C1", 1), ("C2", 1), ("C2", 2), ("C4", 1)]
    assert out[7].findings[0].carc == "119"


def test_limit_windows_months_year_claim_lifetime(engine: Engine) -> None:
    rs = _ruleset("policy t\n"
                  "rule mo: limit 20552 per 1mo <= 1\n"
                  "rule yr: limit 20553 per year <= 1\n"
                  "rule cl: limit 64483 per claim <= 1\n"
                  "rule lt: limit 64633 per lifetime <= 1\n")
    out = engine(rs, [_line("C1", 1, "2024-01-31", "20552"), _line("C2", 1, "2024-03-01",
                                                                    "20552"),
                      _line("C3", 1, "2024-03-31", "20552"),
                      _line("C4", 1, "2024-12-31", "20553"), _line("C5", 1, "2025-01-01",
                                                                    "20553"),
                      _line("C6", 1, "2024-02-01", "64483"), _line("C6", 2, "2024-05-01",
                                                                    "64483"),
                      _line("C7", 1, "2024-05-01", "64483"),
                      _line("C8", 1, "2010-01-01", "64633"), _line("C9", 1, "2024-01-01",
                                                                    "64633")])
    assert _verdicts(out) == ["allow", "allow", "deny", "allow", "allow", "allow", "deny",
                              "allow", "allow", "deny"]


def test_history_counts_toward_limits_and_prerequisites(engine: Engine) -> None:
    rs = _ruleset("policy t\nlimit 97810 per year <= 2\n"
                  "require 2 of 64490..64495 within 12mo before 64633\n")
    history = [_line("H1", 1, 3, "97810"), _line("H2", 1, 4, "64493"),
               _line("H3", 1, 40, "64494")]
    out = engine(rs, [_line("C1", 1, 30, "97810"), _line("C2", 1, 31, "97810"),
                      _line("C3", 1, 40, "64633"), _line("C4", 1, 41, "64633")], history)
    assert _verdicts(out) == ["allow", "deny", "deny", "allow"]
    assert _related(out[2]) == [("H2", 1)]
    assert out[2].findings[0].carc == "B15"


def test_addon_needs_an_allowed_primary_and_chains_settle(engine: Engine) -> None:
    rs = _ruleset("policy t\nrequire auth for 64483\n"
                  "addon 64484 requires 64483\naddon 99999 requires 64484\n")
    out = engine(rs, [_line("C1", 1, 0, "64483"), _line("C1", 2, 0, "64484"),
                      _line("C1", 3, 0, "99999"), _line("C2", 1, 1, "64483", auth="A"),
                      _line("C2", 2, 1, "64484"), _line("C2", 3, 1, "99999")])
    assert _verdicts(out) == ["deny", "deny", "deny", "allow", "allow", "allow"]


def test_line_rules_dx_auth_deleted_modifier_mue(engine: Engine) -> None:
    rs = _ruleset("policy t\nrequire dx M54.5*, G89.29 for 97810\nrequire auth for 64633\n"
                  "deleted 62311 since 2017-01-01 use 62322\nforbid modifier 50 on 20552\n"
                  "mue 64483 <= 1 per line\nmue 77002 <= 2 per day\n")
    out = engine(rs, [_line("C1", 1, 0, "97810", dx="M54.50"),
                      _line("C1", 2, 0, "97810", dx="G89.29"),
                      _line("C1", 3, 0, "97810", dx="M51.16"),
                      _line("C2", 1, 0, "64633"), _line("C2", 2, 0, "64633", auth="X1"),
                      _line("C3", 1, 0, "62311"), _line("C4", 1, 0, "20552", mods="50"),
                      _line("C5", 1, 0, "64483", units=2), _line("C6", 1, 0, "77002"),
                      _line("C6", 2, 0, "77002", units=2)])
    assert _verdicts(out) == ["allow", "allow", "deny", "deny", "allow", "deny", "deny", "deny",
                              "deny", "deny"]
    assert [f.carc for d in out for f in d.findings] == ["11", "197", "181", "4", "151", "151",
                                                         "151"]
    assert _related(out[9]) == [("C6", 1)]


def test_review_findings_and_stage_order(engine: Engine) -> None:
    rs = _ruleset('policy t\nrule a review "look": mue 20552 <= 1 per line\n'
                  "rule b: limit 20552 per day <= 1\n"
                  'rule c review effective 2024-01-02: exclusive 20553, 20552\n')
    out = engine(rs, [_line("C1", 1, 0, "20552", units=2), _line("C2", 1, 1, "20552"),
                      _line("C2", 2, 1, "20553"), _line("C2", 3, 1, "20552")])
    assert _verdicts(out) == ["deny", "review", "allow", "deny"]
    assert [f.rule for f in out[0].findings] == ["t/a", "t/b"]
    assert out[0].findings[0].message == "look"
    assert [f.rule for f in out[3].findings] == ["t/c", "t/b"]


def test_validity_applies_to_the_judged_line_only(engine: Engine) -> None:
    rs = _ruleset("policy t\nrule x effective 2024-01-10 until 2024-01-20: "
                  "limit 97810 per 90d <= 1\n")
    out = engine(rs, [_line("C1", 1, 0, "97810"), _line("C2", 1, 9, "97810"),
                      _line("C3", 1, 20, "97810")])
    assert _verdicts(out) == ["allow", "deny", "allow"]


def test_members_are_judged_apart_and_decisions_keep_input_order(engine: Engine) -> None:
    rs = _ruleset("policy t\nwhen 64483 forbid 77002\n")
    lines = [_line("C2", 1, 0, "77002", member="M2"), _line("C1", 2, 0, "77002"),
             _line("C1", 1, 0, "64483"), _line("C3", 1, 0, "64483", member="M3")]
    out = engine(rs, lines)
    assert [(d.claim_id, d.member_id, d.decision) for d in out] == [
        ("C2", "M2", "allow"), ("C1", "M1", "deny"), ("C1", "M1", "allow"), ("C3", "M3", "allow")]
    assert out[1].date == "2024-01-01"


def test_lines_tied_on_date_claim_and_number_follow_the_whole_order(engine: Engine) -> None:
    rs = _ruleset("policy t\nlimit 97810, 97813 per day <= 1\n")
    out = engine(rs, [_line("C1", 1, 0, "97813"), _line("C1", 1, 0, "97810")])
    assert _verdicts(out) == ["deny", "allow"]


def test_same_call_shape_as_the_interpreter() -> None:
    rs = _ruleset("policy t\nwhen 64483 forbid 77002\n")
    lines = [_line("C1", 1, 0, "64483"), _line("C1", 2, 0, "77002")]
    assert adjudicate(rs, lines) == interpret(rs, lines)
    assert adjudicate(rs.rules, lines, ()) == interpret(rs.rules, lines, ())


# --- the compiled engine equals the reference interpreter ----------------------------------

CODES = ("20552", "20553", "64483", "77002", "99213", "97810")
MODIFIERS = ("59", "25", "KX", "XU")
UNMENTIONED = "Z9999"


@st.composite
def _validity(draw: st.DrawFn) -> m.Validity:
    if draw(st.booleans()):
        return m.Validity()
    start = draw(st.none() | st.integers(-10, 130).map(lambda n: DAY0 + dt.timedelta(n)))
    end = draw(st.none() | st.integers(-10, 130).map(lambda n: DAY0 + dt.timedelta(n)))
    return m.Validity(start, end)


_codes = st.frozensets(st.sampled_from(CODES), min_size=1, max_size=3)
_bypass = st.frozensets(st.sampled_from(MODIFIERS), max_size=2)
_window = st.one_of(
    st.builds(m.Window, st.just("days"), st.integers(0, 60)),
    st.builds(m.Window, st.just("months"), st.integers(0, 4)),
    st.sampled_from([m.Window("day"), m.Window("claim"), m.Window("year"),
                     m.Window("lifetime")]),
)
_dx = st.builds(m.DxSet, st.frozensets(st.sampled_from(["M5450", "G8929"])),
                st.lists(st.sampled_from(["M54", "G89"]), max_size=2).map(tuple))
_day = st.integers(-5, 125).map(lambda n: DAY0 + dt.timedelta(n))

_RULE_BODIES: list[st.SearchStrategy[Callable[[m.RuleInfo], m.Rule]]] = [
    st.builds(lambda t, g, b: lambda i: m.Forbid(i, t, g, b), _codes, _codes, _bypass),
    st.builds(lambda cs, a: lambda i: m.Exclusive(i, tuple(cs), a),
              st.lists(st.sampled_from(CODES), min_size=2, max_size=4), st.booleans()),
    st.builds(lambda p, d, c, b: lambda i: m.Global(i, p, d, c, b), _codes,
              st.sampled_from([0, 1, 3, 10, 90]), _codes, _bypass),
    st.builds(lambda c, w, n, s, p, b: lambda i: m.Limit(i, c, w, n, s, p, b), _codes, _window,
              st.integers(0, 4), st.booleans(), st.booleans(), _bypass),
    st.builds(lambda t, r, n, w: lambda i: m.Prerequisite(i, t, r, n, w), _codes, _codes,
              st.integers(0, 2), _window),
    st.builds(lambda a, p: lambda i: m.Addon(i, a, p), _codes, _codes),
    st.builds(lambda c, d: lambda i: m.RequireDx(i, c, d), _codes, _dx),
    st.builds(lambda c: lambda i: m.RequireAuth(i, c), _codes),
    st.builds(lambda c, d: lambda i: m.Deleted(i, c, d), _codes, _day),
    st.builds(lambda mo, c: lambda i: m.ForbidModifier(i, mo, c),
              st.frozensets(st.sampled_from(MODIFIERS), min_size=1, max_size=2), _codes),
    st.builds(lambda c, n, d: lambda i: m.Mue(i, c, n, d), _codes, st.integers(1, 4),
              st.booleans()),
]


@st.composite
def rulesets(draw: st.DrawFn) -> m.RuleSet:
    """Small policies of every rule kind over six codes, so that the rules interact."""
    bodies = draw(st.lists(st.one_of(*_RULE_BODIES), min_size=1, max_size=8))
    rules = []
    for number, body in enumerate(bodies):
        info = m.RuleInfo(id=f"t/r{number}", action=draw(st.sampled_from(["deny", "review"])),
                          carc=str(number), message=f"rule {number}",
                          source=f"t.pol:{number + 2}:1", validity=draw(_validity()))
        rules.append(body(info))
    return m.RuleSet("t", tuple(rules))


@st.composite
def claim_lines(draw: st.DrawFn, claims: tuple[str, ...], max_size: int) -> list[ClaimLine]:
    """Lines of two members on a few visit days within 120 days."""
    days = draw(st.lists(st.integers(0, 120), min_size=1, max_size=5))
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        out.append(ClaimLine(
            draw(st.sampled_from(claims)), draw(st.integers(1, 3)),
            draw(st.sampled_from(["M1", "M2"])),
            DAY0 + dt.timedelta(draw(st.sampled_from(days) | st.integers(0, 120))),
            draw(st.sampled_from((*CODES, UNMENTIONED))), draw(st.sampled_from(["P1", "P2", ""])),
            draw(st.lists(st.sampled_from(MODIFIERS), max_size=2)), draw(st.integers(1, 3)),
            draw(st.lists(st.sampled_from(["M54.50", "G89.29", "M51.16"]), max_size=2)), "11",
            draw(st.sampled_from(["", "A1"]))))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets(), claim_lines(("C1", "C2", "C3"), 12), claim_lines(("H1", "C1"), 5))
def test_compiled_engine_equals_reference_interpreter(
        ruleset: m.RuleSet, lines: list[ClaimLine], history: list[ClaimLine]) -> None:
    assert compile_ruleset(ruleset).adjudicate(lines, history) == interpret(
        ruleset, lines, history)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets(), claim_lines(("C1", "C2", "C3"), 12), claim_lines(("H1", "C1"), 5))
def test_the_batch_entry_gives_the_line_where_it_is_allowed_without_findings(
        ruleset: m.RuleSet, lines: list[ClaimLine], history: list[ClaimLine]) -> None:
    """``Program.judge`` (what ``policyc run`` renders) is ``adjudicate``, except that a line
    allowed without findings stands for its own decision."""
    program = compile_ruleset(ruleset)
    decisions = program.adjudicate(lines, history)
    judged = program.judge(lines, history)
    assert len(judged) == len(lines)
    for line, decision, got in zip(lines, decisions, judged, strict=True):
        if decision.decision == "allow" and not decision.findings:
            assert got is line
        else:
            assert got == decision


@st.composite
def one_members_claim(draw: st.DrawFn) -> tuple[list[ClaimLine], list[ClaimLine]]:
    """A claim of member M1 and a paid history over two years around it (a few lines of
    another member's too): lines the day before, of, and after a claim line, at the edges of
    windows and far away, of every code."""
    lines = [attrs.evolve(line, member_id="M1")
             for line in draw(claim_lines(("C1", "C2"), 6))]
    days = [line.date for line in lines] or [DAY0]
    offsets = (st.sampled_from([-1, 0, 1, 2]) | st.integers(-130, 10)
               | st.integers(-500, 130))
    history = []
    for number in range(draw(st.integers(0, 30))):
        history.append(ClaimLine(
            draw(st.sampled_from(["H1", "H2", "C1"])), number + 1,
            draw(st.sampled_from(["M1", "M1", "M1", "M2"])),
            draw(st.sampled_from(days)) + dt.timedelta(draw(offsets)),
            draw(st.sampled_from((*CODES, UNMENTIONED))), draw(st.sampled_from(["P1", "P2", ""])),
            draw(st.lists(st.sampled_from(MODIFIERS), max_size=1)), draw(st.integers(1, 3))))
    return lines, history


@pytest.mark.parametrize(("policy", "claim", "paid", "decision"), [
    # rolling 90 days: 89 days before counts, 90 days before does not
    ("limit 97810 per 90d <= 1 sessions", "2024-06-30 97810", "2024-04-02 97810", "deny"),
    ("limit 97810 per 90d <= 1 sessions", "2024-06-30 97810", "2024-04-01 97810", "allow"),
    # rolling months from a month's end: 1mo before March 31 reaches back to March 1
    ("limit 97810 per 1mo <= 1 sessions", "2024-03-31 97810", "2024-03-01 97810", "deny"),
    ("limit 97810 per 1mo <= 1 sessions", "2024-03-31 97810", "2024-02-29 97810", "allow"),
    # the calendar year: December 31 reaches back to January 1
    ("limit 97810 per year <= 1 sessions", "2024-12-31 97810", "2024-01-01 97810", "deny"),
    ("limit 97810 per year <= 1 sessions", "2024-12-31 97810", "2023-12-31 97810", "allow"),
    ("limit 97810 per lifetime <= 1 sessions", "2024-06-30 97810", "2009-01-01 97810", "deny"),
    # the claim's lines, whatever their dates
    ("limit 97810 per claim <= 1 units", "2024-06-30 97810", "2021-01-01 97810", "deny"),
    ("require 1 of 64490 within 12mo before 64633", "2024-06-30 64633", "2023-07-01 64490",
     "allow"),
    ("require 1 of 64490 within 12mo before 64633", "2024-06-30 64633", "2023-06-30 64490",
     "deny"),
    # a 90-day global period: from the procedure 90 days before, and the day before it
    ("global 63650 90d", "2024-05-01 99213", "2024-02-01 63650", "deny"),
    ("global 63650 90d", "2024-05-01 99213", "2024-01-31 63650", "allow"),
    ("global 63650 90d", "2024-05-01 99213", "2024-05-02 63650", "deny"),
    ("global 63650 90d", "2024-05-01 99213", "2024-05-03 63650", "allow"),
    # same-day partners
    ("when 64483 forbid 77002", "2024-06-30 77002", "2024-06-30 64483", "deny"),
    ("exclusive 20553, 20552", "2024-06-30 20552", "2024-06-30 20553", "deny"),
    ("mue 64483 <= 1", "2024-06-30 64483", "2024-06-30 64483", "deny"),
    ("addon 64484 requires 64483", "2024-06-30 64484", "2024-06-30 64483", "allow"),
    ("addon 64484 requires 64483", "2024-06-30 64484", "2024-06-29 64483", "deny"),
])
def test_paid_lines_at_the_edges_of_a_window(engine: Engine, policy: str, claim: str,
                                             paid: str, decision: str) -> None:
    """The paid line that decides sits on a window's first or last day: the real-time path
    (one member's claim) must still look at it."""
    rs = _ruleset(f"policy t\n{policy}\n")
    history = [_line("C1", 9, *paid.split())]
    lines = [_line("C1", 1, *claim.split())]
    assert [d.decision for d in engine(rs, lines, history)] == [decision]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets(), one_members_claim())
def test_compiled_engine_equals_reference_interpreter_on_one_members_claim(
        ruleset: m.RuleSet, claim: tuple[list[ClaimLine], list[ClaimLine]]) -> None:
    """One member's claim against a long history: the real-time path, which looks only at
    the paid lines within reach of the claim's rules (plan field 13)."""
    lines, history = claim
    assert compile_ruleset(ruleset).adjudicate(lines, history) == interpret(
        ruleset, lines, history)


MUE_DAY = """policy t
mue 64483 <= 1 per day
mue 64484 <= 3
when 64484 forbid 20552
"""


@st.composite
def crowded_dates(draw: st.DrawFn) -> tuple[list[ClaimLine], list[ClaimLine]]:
    """Many claims of one member on one or two dates: several providers, claim ids that sort
    as text (``C10`` before ``C9``), repeated claim ids, 1 to 4 units (a line has at least
    one: ``ClaimLine`` refuses 0); paid lines among them."""
    def lines(claims: Sequence[str]) -> list[ClaimLine]:
        return draw(st.lists(st.builds(
            _line, st.sampled_from(claims), st.integers(1, 3), st.integers(0, 1),
            st.sampled_from(["64483", "64484", "20552"]),
            provider=st.sampled_from(["P1", "P2", ""]), units=st.integers(1, 4)),
            max_size=12))
    return lines(["C1", "C2", "C9", "C10", "A"]), lines(["H1", "C1", "Z9"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_dates())
def test_mue_per_day_claim_by_claim_equals_the_reference(
        claims: tuple[list[ClaimLine], list[ClaimLine]]) -> None:
    """``mue … per day`` counts a claim's units with those of the claims before it on the
    date: the compiled engine (batch and real-time paths) agrees with the interpreter."""
    lines, history = claims
    ruleset = _ruleset(MUE_DAY)
    assert compile_ruleset(ruleset).adjudicate(lines, history) == interpret(
        ruleset, lines, history)


EXCLUSIVES = """policy t
exclusive 20553, 20552 across providers
exclusive 20552, 64483
rule later effective 2024-01-02: exclusive 64484, 64483, 20553 across providers
global 64483 90d covers 20552
"""


@st.composite
def crowded_members(draw: st.DrawFn) -> tuple[list[ClaimLine], list[ClaimLine]]:
    """Claims of one or two members on two dates, by several providers (the empty one
    too); paid lines among them."""
    def lines(claims: Sequence[str]) -> list[ClaimLine]:
        return draw(st.lists(st.builds(
            _line, st.sampled_from(claims), st.integers(1, 3), st.integers(0, 1),
            st.sampled_from(["20552", "20553", "64483", "64484"]),
            member=st.sampled_from(["M1", "M1", "M2"]),
            provider=st.sampled_from(["P1", "P2", "P3", ""])), max_size=12))
    return lines(["C1", "C2", "C9"]), lines(["H1", "C1"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_members())
def test_exclusive_across_providers_equals_the_reference(
        claims: tuple[list[ClaimLine], list[ClaimLine]]) -> None:
    """``exclusive … across providers`` beside the plain form, a validity and a global period
    whose day before depends on them: the compiled engine (batch and real-time paths) agrees
    with the interpreter."""
    lines, history = claims
    ruleset = _ruleset(EXCLUSIVES)
    assert compile_ruleset(ruleset).adjudicate(lines, history) == interpret(
        ruleset, lines, history)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets(), claim_lines(("C1", "C2", "C3", "C4", "C5"), 16))
def test_compiled_engine_equals_reference_interpreter_on_lines_in_order(
        ruleset: m.RuleSet, lines: list[ClaimLine]) -> None:
    """Lines already in the engine's order (date, claim, line number; no ties) take the
    compiled engine's shortcut past sorting."""
    by_key = {(line.date, line.claim_id, line.line): line for line in lines}
    ordered = [by_key[key] for key in sorted(by_key)]
    assert compile_ruleset(ruleset).adjudicate(ordered) == interpret(ruleset, ordered)


@settings(max_examples=50, deadline=None)
@given(rulesets(), claim_lines(("C1", "C2", "C3"), 10), claim_lines(("H1",), 4),
       st.integers(0, 10), st.sampled_from(["M1", "M2"]), st.integers(0, 120))
def test_a_line_no_rule_mentions_is_allowed_and_changes_nothing(
        ruleset: m.RuleSet, lines: list[ClaimLine], history: list[ClaimLine], where: int,
        member: str, day: int) -> None:
    program = compile_ruleset(ruleset)
    before = program.adjudicate(lines, history)
    stranger = _line("C1", 1, day, UNMENTIONED, member=member, mods="59", units=3)
    position = min(where, len(lines))
    after = program.adjudicate([*lines[:position], stranger, *lines[position:]], history)
    assert after.pop(position) == Decision("C1", 1, member, stranger.date.isoformat(),
                                           UNMENTIONED, "allow", ())
    assert after == before


# --- the generated program ------------------------------------------------------------------

EVERY_KIND = """policy t
dx CLBP = M54.50, M54.4*
require dx CLBP for 97810..97814
require auth for 64633
deleted 62311 since 2017-01-01 use 62322
forbid modifier 50 on 20552
mue 64483 <= 1 per day
mue 64484 <= 2 per line
rule acu effective 2024-01-01 until 2024-12-31: limit 97810 per 90d <= 12 unless modifier KX
limit 97813 per 12mo by provider <= 4 sessions
limit 97814 per year <= 20
limit 20553 per claim <= 2
require 2 of 64490..64495 within 12mo before 64633
when 64483 forbid 77002, 77003 unless modifier 59
exclusive 20553, 20552
exclusive 63685, 63688 across providers
global 63650 10d
global 63655 90d covers 99213 unless modifier 25
addon 64484 requires 64483
"""

ADVERSARIAL = [
    "__import__('os').system('x')",
    'quote " and \' and """ and \\',
    "line\nbreak\r\n# and a comment\n    indented = 1",
    "\x00 nul and \u2028 separator",
]


def test_generated_source_is_deterministic() -> None:
    rs = _ruleset(EVERY_KIND)
    first, second = compile_ruleset(rs), compile_ruleset(rs)
    assert first.source == second.source
    reloaded = _ruleset(EVERY_KIND)  # equal rules, other objects, other set orders
    assert compile_ruleset(reloaded).source == first.source
    for kind in ("forbid", "exclusive", "exclusive_across", "global", "limit", "prerequisite",
                 "addon", "deleted", "require_dx", "require_auth", "forbid_modifier", "mue_day",
                 "mue_line"):
        assert f"({kind})" in first.source
    compile(first.source, "<check>", "exec")


def test_generated_source_holds_no_policy_text() -> None:
    rs = _ruleset(EVERY_KIND)
    for text in ADVERSARIAL:
        hostile = m.RuleSet(text, tuple(
            attrs.evolve(rule, info=attrs.evolve(rule.info, id=text, message=text,
                                                 source=text, carc=text))
            for rule in rs.rules), (text,))
        program = compile_ruleset(hostile)
        assert text not in program.source
        for line in program.source.splitlines():
            assert "__import__" not in line and "system" not in line
        # the text is still what findings say
        out = program.adjudicate([_line("C1", 1, 0, "62311")])
        assert out[0].findings[0].message == text
        assert out[0].findings[0].rule == text
    assert safe_comment("a\nb\r#c'\"") == "a?b??c??"
    assert shown_source("x.pol:1:1\nimport os") == "?"


def test_debug_info_maps_each_rule_to_its_predicate_line() -> None:
    rs = _ruleset(EVERY_KIND)
    program = compile_ruleset(rs)
    info = program.debug_info
    assert [source for _, source in info] == [rule.info.source for rule in rs.rules]
    lines = program.source.splitlines()
    for number, (lineno, source) in enumerate(info):
        above = lines[lineno - 1 - 20: lineno - 1]
        assert any(f"# rule {number}: {source}" in text for text in above)
        assert source in program.sources_at(lineno)


def test_comments_name_the_first_rules_of_a_large_family() -> None:
    info = m.RuleInfo(id="t/ptp", action="deny", carc="97", message="m", source="ptp.tsv:1")
    rules = tuple(m.Forbid(attrs.evolve(info, source=f"ptp.tsv:{i}"), frozenset([f"{i:05d}"]),
                           frozenset(["77002"])) for i in range(COMMENTED_RULES_PER_KIND + 5))
    program = compile_ruleset(m.RuleSet("big", rules))
    assert program.source.count("(forbid)") == COMMENTED_RULES_PER_KIND
    assert "5 more forbid rules" in program.source
    assert len(program.debug_info) == len(rules)


def test_program_is_compiled_under_the_policy_name() -> None:
    rs = _ruleset(EVERY_KIND)
    assert compile_ruleset(rs).filename == "<policy t t.pol>"
    assert compile_ruleset(rs, filename="x.pol").filename == "x.pol"
    assert compile_ruleset(rs)._adjudicate.__code__.co_filename == "<policy t t.pol>"


def test_pickle_round_trip_gives_the_same_decisions() -> None:
    rs = _ruleset(EVERY_KIND)
    program = compile_ruleset(rs)
    lines = [_line("C1", 1, 0, "64483"), _line("C1", 2, 0, "77002"), _line("C1", 3, 0, "64484"),
             _line("C2", 1, 3, "97810", dx="M54.50"), _line("C3", 1, 4, "99213"),
             _line("C4", 1, 2, "63655")]
    copy = pickle.loads(pickle.dumps(program))
    assert isinstance(copy, Program)
    assert copy.source == program.source
    assert copy.adjudicate(lines) == program.adjudicate(lines) == interpret(rs, lines)


def test_adjudicate_is_thread_safe() -> None:
    rs = _ruleset(EVERY_KIND)
    program = compile_ruleset(rs)
    lines = [_line(f"C{i}", 1, i % 30, code, member=f"M{i % 7}")
             for i, code in enumerate(["64483", "77002", "97810", "99213", "63655", "20553"] * 40)]
    want = interpret(rs, lines)
    results: list[list[Decision]] = []

    def run() -> None:
        results.append(program.adjudicate(lines))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [want] * 4


def test_large_batches_equal_small_ones() -> None:
    """From ``PAUSE_GC_FROM`` lines on, the collector is paused; nothing else changes."""
    enabled = gc.isenabled()
    gc.enable()
    rs = _ruleset(EVERY_KIND)
    program = compile_ruleset(rs)
    codes = ["64483", "77002", "97810", "99213", "63655", "20553", "20552", "64484", "12345"]
    lines = [_line(f"C{i // 3}", i % 3 + 1, (i * 7) % 200, codes[i % len(codes)],
                   member=f"M{i % 501}", dx="M54.50" if i % 2 else "")
             for i in range(25_000)]
    out = program.adjudicate(lines)
    by_member: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        by_member.setdefault(line.member_id, []).append(index)
    for member in ("M0", "M1", "M250"):
        picked = by_member[member]
        assert [out[i] for i in picked] == program.adjudicate([lines[i] for i in picked])
    assert gc.isenabled()  # paused while judging, and enabled again
    if not enabled:
        gc.disable()


def test_related_refs_are_line_refs() -> None:
    rs = _ruleset("policy t\nwhen 64483 forbid 77002\n")
    out = compile_ruleset(rs).adjudicate([_line("C1", 1, 0, "64483"), _line("C1", 2, 0, "77002")])
    assert out[1].findings[0].related == (LineRef("C1", 1),)


def test_decisions_findings_and_refs_are_the_frozen_classes() -> None:
    """The engine builds them by plain slot stores on a subclass that then becomes the class
    itself: what a caller gets must be exactly the frozen attrs classes."""
    rs = _ruleset("policy t\nwhen 64483 forbid 77002\n")
    program = compile_ruleset(rs)
    lines = [_line("C1", 1, 0, "64483"), _line("C1", 2, 0, "77002")]
    for judged in (program.adjudicate(lines), program.judge(lines)):
        decision = judged[1]
        assert isinstance(decision, Decision)
        finding = decision.findings[0]
        ref = finding.related[0]
        assert (type(decision), type(finding), type(ref)) == (Decision, Finding, LineRef)
        for obj, field in ((decision, "decision"), (finding, "rule"), (ref, "line")):
            with pytest.raises(attrs.exceptions.FrozenInstanceError):
                setattr(obj, field, "x")
        assert decision == Decision("C1", 2, "M1", decision.date, "77002", "deny", (finding,))


def test_the_slot_setter_fallback_builds_what_the_fast_constructors_build() -> None:
    """Where ``__class__`` cannot be assigned, ``claims.unfrozen`` falls back to slot
    setters: they must build equal objects of the frozen classes from the same fills."""
    from types import SimpleNamespace

    from policydsl import claims, engine

    line = _line("C1", 2, 0, "77002", mods="59", dx="M54.50", auth="A1")
    texts = SimpleNamespace(id="t/r", action="deny", carc="97", message="m", source="t.pol:2:1")
    ref = LineRef("C1", 1)
    cases = [
        (ClaimLine, claims._fill, claims.stored_line, attrs.astuple(line, recurse=False)),
        (Decision, engine._fill_decision, engine.decided, (line, "review", ())),
        (Finding, engine._fill_finding, engine.finding_of, (texts, (ref,))),
        (LineRef, engine._fill_ref, engine.line_ref, (line,)),
    ]
    for cls, fill, fast, args in cases:
        slow = claims.by_slot_setters(cls, fill)(*args)
        assert type(slow) is cls
        assert slow == fast(*args)
    assert claims.stored_line(*attrs.astuple(line, recurse=False)) == line


def test_a_claim_line_drops_a_diagnosis_of_dots_alone_as_the_readers_do() -> None:
    line = ClaimLine("C1", 1, "M1", dt.date(2024, 3, 4), "97810", dx="M54.5 . ..")
    assert line.dx == ("M545",)


def test_a_claim_line_trims_its_text_as_the_readers_do() -> None:
    # " P1" and "P1" are one provider in a file, and so in the API: the pair rule applies
    policy = compile_text("policy t\nwhen 64483 forbid 77002\n")
    day = dt.date(2024, 3, 4)
    lines = [ClaimLine(" C1", 1, "M1 ", day, "64483", provider_id=" P1"),
             ClaimLine("C1 ", 2, " M1", day, "77002", provider_id="P1 ", auth=" ", pos=" 11")]
    assert [d.decision for d in policy.adjudicate(lines)] == ["allow", "deny"]
    assert (lines[1].claim_id, lines[1].member_id, lines[1].auth, lines[1].pos) == (
        "C1", "M1", "", "11")


def _forced(line: ClaimLine, **values: object) -> ClaimLine:
    """A copy of ``line`` with values its constructor refuses, stored past it."""
    copy = attrs.evolve(line)
    for name, value in values.items():
        object.__setattr__(copy, name, value)
    return copy


@pytest.mark.parametrize(("field", "value", "said"), [
    ("auth", 123, "auth 123 is not a str"),
    ("provider_id", 3, "provider_id 3 is not a str"),
    ("claim_id", 7, "claim_id 7 is not a str"),
])
def test_a_line_of_the_wrong_type_past_the_constructor_is_named_with_its_line(
        field: str, value: object, said: str) -> None:
    # the engine fails on these deep in the generated code: the error names the field
    policy = compile_text("policy t\nlimit 97810 per day <= 1\nrequire auth for 97810\n")
    good = ClaimLine("C0", 1, "M1", dt.date(2024, 3, 4), "97810", auth="A1")
    bad = _forced(good, **{field: value})
    shown = "7/1" if field == "claim_id" else "C0/1"
    for judge in (policy.adjudicate, policy.interpret):
        with pytest.raises(TypeError, match=f"^line {re.escape(shown)}: {re.escape(said)}$"):
            judge([good, bad])


class _Integer:
    """An integer of another type, as numpy's are: it has ``__index__``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


@pytest.mark.parametrize(("field", "value", "said"), [
    ("claim_id", 1.5, "claim_id 1.5 is not a str"),
    ("member_id", 5.0, "member_id 5.0 is not a str"),
    ("provider_id", True, "provider_id True is not a str"),
    ("pos", b"11", "pos b'11' is not a str"),
    ("auth", ["A1"], "auth ['A1'] is not a str"),
    ("code", None, "code None is not a str"),
    ("code", 97810.0, "code 97810.0 is not a str"),
    ("line", True, "line True is not an int"),
    ("line", "1", "line '1' is not an int"),
    ("units", 2.5, "units 2.5 is not an int"),
    ("units", None, "units None is not an int"),
    ("date", "2024-03-04", "date '2024-03-04' is not a datetime.date"),
    ("modifiers", b"59", "modifiers b'59' is not a str or a list of str"),
    ("modifiers", 59, "modifiers 59 is not a str or a list of str"),
    ("dx", ["M54.50", 5], "dx ['M54.50', 5] is not a str or a list of str"),
])
def test_the_constructor_refuses_a_value_of_the_wrong_type_naming_its_field(
        field: str, value: object, said: str) -> None:
    # judged, these were silently wrong (a bool line rendered as true for every line 1, a
    # float member another member) or failed only under some policies
    good = ClaimLine("C0", 1, "M1", dt.date(2024, 3, 4), "97810")
    with pytest.raises(TypeError, match=f"^{re.escape(said)}$"):
        attrs.evolve(good, **{field: value})


@pytest.mark.parametrize(("field", "value", "said"), [
    ("modifiers", "59,XU", "modifiers '59,XU' holds a comma"),
    ("modifiers", ["59,", "XU"], "modifiers ['59,', 'XU'] holds a comma"),
    ("dx", "M54.16, M79.1", "dx 'M54.16, M79.1' holds a comma"),
    ("units", 0, "units 0 is not a positive integer"),
    ("units", -1, "units -1 is not a positive integer"),
    ("units", _Integer(-2), "units <"),
    ("units", 2**63, f"units {2**63} is not below {2**63}"),
])
def test_the_constructor_refuses_what_would_be_judged_silently_wrong(
        field: str, value: object, said: str) -> None:
    # "59,XU" was one modifier that no bypass matched; -1 units netted against another
    # line's 2 under a per-day MUE of 1, and both were paid. The claims readers refuse them.
    good = ClaimLine("C0", 1, "M1", dt.date(2024, 3, 4), "64483")
    with pytest.raises(ValueError, match=f"^{re.escape(said)}"):
        attrs.evolve(good, **{field: value})


class _LookAlike:
    """A caller's own record with a claim line's fields: it skips the constructor."""

    def __init__(self, line: ClaimLine) -> None:
        for field in attrs.fields(ClaimLine):
            setattr(self, field.name, getattr(line, field.name))


def test_only_claim_lines_are_judged_not_objects_that_look_like_them() -> None:
    # a record of the caller's with the same fields was judged: its dx kept the dot, so a
    # covered acupuncture line was denied CARC 11, with no error
    policy = compile_text("policy t\ndx CLBP = M54.50\nrequire dx CLBP for 97810\n")
    day = dt.date(2024, 3, 4)
    good = ClaimLine("C1", 1, "M1", day, "97810", dx="M54.50")
    look_alike = _LookAlike(good)
    look_alike.dx = ("M54.50",)  # type: ignore[attr-defined]
    for judge in (policy.adjudicate, policy.interpret):
        with pytest.raises(TypeError, match=r"^a line is a _LookAlike, not a ClaimLine$"):
            judge([good, look_alike])  # type: ignore[list-item]
        with pytest.raises(TypeError,
                           match=r"^a history line is a _LookAlike, not a ClaimLine$"):
            judge([good], [look_alike])  # type: ignore[list-item]
        with pytest.raises(TypeError, match=r"^a line is a str, not a ClaimLine$"):
            judge(x for x in [good, "x"])  # type: ignore[misc]
        with pytest.raises(TypeError, match=r"^the history lines must be a list of ClaimLine, "
                                            r"not NoneType \(use \(\) for none\)$"):
            judge([good], None)  # type: ignore[arg-type]
        with pytest.raises(TypeError,
                           match=r"^the lines must be a list of ClaimLine, not str$"):
            judge("C1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^a line is an object, not a ClaimLine$"):
            judge([object()])  # type: ignore[list-item]
        # an iterator is read once, and judged as a list would be
        assert [d.decision for d in judge(x for x in [good])] == ["allow"]


def test_an_integer_id_is_its_digits_and_any_integer_type_is_an_int() -> None:
    # an id written as a number is the same id as its digits, as the JSON Lines reader reads
    # it: the member's paid line counts, and the same-day pair is the same provider's
    policy = compile_text("policy a.b\nlimit 97810 per year <= 1\nwhen 64483 forbid 77003\n")
    day = dt.date(2024, 5, 1)
    history = [ClaimLine("H", 1, "5", dt.date(2024, 2, 1), "97810", provider_id="7"),
               ClaimLine("H", 2, "5", day, "64483", provider_id="7")]
    claim = [ClaimLine("C1", _Integer(1), 5, day, 97810, provider_id=7, units=_Integer(1)),
             ClaimLine(1, 2, _Integer(5), day, "77003", provider_id=_Integer(7))]
    assert (claim[0].line, claim[0].member_id, claim[0].code, claim[0].provider_id,
            claim[1].claim_id) == (1, "5", "97810", "7", "1")
    assert type(claim[0].line) is int and type(claim[0].units) is int
    for judge in (policy.adjudicate, policy.interpret):
        assert [d.decision for d in judge(claim, history)] == ["deny", "deny"]


@pytest.mark.parametrize("stamp", [
    dt.datetime(2024, 3, 4, 10, 30),
    dt.datetime(2024, 3, 4, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
])
def test_a_datetime_is_refused_when_the_line_is_made(stamp: dt.datetime) -> None:
    # a datetime is a date to Python, and the compiled engine would judge it, counting by its
    # instant and printing its time; the reference interpreter failed on it instead
    with pytest.raises(TypeError, match=r"^date datetime\.datetime\(2024, 3, 4, .* is a "
                                        r"datetime, not a datetime\.date: pass its \.date\(\)$"):
        ClaimLine("C1", 1, "M1", stamp, "97810")
    good = ClaimLine("C1", 1, "M1", stamp.date(), "97810")
    with pytest.raises(TypeError, match="is a datetime"):
        attrs.evolve(good, date=stamp)


def test_none_is_an_empty_provider_pos_and_auth_and_a_refused_claim_or_member_id() -> None:
    # a database's NULL: a missing provider is the empty provider, which matches only itself
    policy = compile_text("policy t\nwhen 64483 forbid 77003\naddon 64484 requires 64483\n"
                          "require auth for 64483\n")
    day = dt.date(2024, 3, 4)
    lines = [ClaimLine("C1", 1, "M1", day, "64483", provider_id="", auth="A1"),
             ClaimLine("C1", 2, "M1", day, "77003", provider_id=None),
             ClaimLine("C1", 3, "M1", day, "64484", provider_id=None, pos=None, auth=None)]
    assert (lines[1].provider_id, lines[2].pos, lines[2].auth) == ("", "", "")
    assert [d.decision for d in policy.adjudicate(lines)] == ["allow", "deny", "allow"]
    assert [d.decision for d in policy.interpret(lines)] == ["allow", "deny", "allow"]
    unauthorized = ClaimLine("C2", 1, "M2", day, "64483", auth=None)
    assert policy.adjudicate([unauthorized])[0].findings[0].carc == "197"
    for field in "claim_id", "member_id":
        with pytest.raises(TypeError, match=f"^{field} None is not a str$"):
            attrs.evolve(lines[0], **{field: None})


def test_a_code_of_none_is_refused_and_no_modifiers_or_diagnoses_are_none() -> None:
    with pytest.raises(TypeError, match=r"^code None is not a str$"):
        ClaimLine("C1", 1, "M1", dt.date(2024, 3, 4), None)
    line = ClaimLine("C1", 1, "M1", dt.date(2024, 3, 4), "97810",
                     modifiers=None, dx=None)
    assert (line.modifiers, line.dx) == ((), ())


def test_list_items_are_split_at_spaces_as_the_json_lines_reader_splits_them() -> None:
    # "modifiers": ["59 XU"] in a JSON Lines file is two modifiers: so it is in the API
    policy = compile_text("policy t\ndx CLBP = M54.5*\n"
                          "when 64483 forbid 77003 unless modifier 59, XU\n"
                          "require dx CLBP for 97810\n")
    day = dt.date(2024, 3, 4)
    lines = [ClaimLine("C1", 1, "M1", day, "64483"),
             ClaimLine("C1", 2, "M1", day, "77003", modifiers=["lt xu"]),
             ClaimLine("C1", 3, "M1", day, "97810", dx=["G89.29 m54.50"])]
    assert (lines[1].modifiers, lines[2].dx) == (("LT", "XU"), ("G8929", "M5450"))
    assert [d.decision for d in policy.adjudicate(lines)] == ["allow", "allow", "allow"]


@pytest.mark.parametrize(("field", "value", "said"), [
    ("date", "2024-03-04", "date '2024-03-04' is not a datetime.date"),
    ("units", "2", "units '2' is not an int"),
    ("units", None, "units None is not an int"),
])
def test_a_value_of_the_wrong_type_past_the_constructor_is_named_with_its_line(
        field: str, value: object, said: str) -> None:
    policy = compile_text("policy t\nlimit 97810 per day <= 1\n")
    good = ClaimLine("C0", 1, "M1", dt.date(2024, 3, 4), "97810")
    bad = _forced(good, claim_id="C1", **{field: value})
    for judge in (policy.adjudicate, policy.interpret):
        with pytest.raises(TypeError, match=f"^line C1/1: {re.escape(said)}$"):
            judge([good, bad])
        with pytest.raises(TypeError, match=f"^history line C1/1: {re.escape(said)}$"):
            judge([good], [bad])


def test_a_policy_shows_its_name_and_rule_count(tmp_path: Path) -> None:
    assert repr(compile_text("policy t.r\nlimit 97810 per day <= 1\nexclusive 20552, 20553\n")
                ) == "<Policy t.r: 2 rules>"
    write = tmp_path / "p.pol"
    write.write_text("policy t.c\nlimit 97810 per day <= 1\n")
    load(write, cache_dir=tmp_path / "cache")
    restored = load(write, cache_dir=tmp_path / "cache")
    assert repr(restored) == "<Policy t.c: 1 rules>"



_SHIPPED_MEDICARE = Path(__file__).resolve().parent.parent / "policies" / "medicare" / "pain.pol"
# codes the shipped rules judge (PTP pairs, add-ons, MUEs, limits, 10-day globals, visits):
# no 90-day procedure, whose period covers the day before it (docs/api.md, Real time)
_REAL_TIME_CODES = ["64483", "64484", "77003", "77002", "62323", "20552", "20553", "97810",
                    "97811", "97813", "20560", "64490", "64491", "64493", "64633", "64636",
                    "63650", "63685", "99213", "99214"]
_REAL_TIME_LINE = st.tuples(
    st.sampled_from(_REAL_TIME_CODES), st.sampled_from(["P1", "P2"]),
    st.lists(st.sampled_from(["59", "XU", "25", "KX"]), max_size=2, unique=True),
    st.integers(1, 2), st.lists(st.sampled_from(["M54.50", "M54.16", "M79.18", "M47.816"]),
                                max_size=2, unique=True), st.sampled_from(["", "A1"]))


@pytest.fixture(scope="module")
def shipped_medicare() -> Policy:
    return load(_SHIPPED_MEDICARE)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=st.lists(st.tuples(st.sampled_from([1, 2, 3, 10, 30, 100]),  # days after the last
                                 st.lists(_REAL_TIME_LINE, min_size=1, max_size=4)),
                       min_size=1, max_size=8))
def test_claims_judged_one_at_a_time_in_date_order_decide_as_a_batch(
        shipped_medicare: Policy, claims: list[tuple[int, list[tuple[
            str, str, list[str], int, list[str], str]]]]) -> None:
    """docs/api.md, Real time: a member's claims judged one at a time, each against the lines
    the calls before did not deny (pended ones count as paid), decide as a batch of them all
    when they come in order of date of service, one claim a date (and no 90-day procedure
    the day after a visit)."""
    day = dt.date(2024, 1, 1)
    lines: list[list[ClaimLine]] = []
    for k, (gap, rows) in enumerate(claims):
        day += dt.timedelta(days=gap)
        lines.append([ClaimLine(f"C{k:02d}", n, "M1", day, code, provider_id=provider,
                                modifiers=modifiers, units=units, dx=dx, auth=auth)
                      for n, (code, provider, modifiers, units, dx, auth) in enumerate(rows, 1)])
    paid: list[ClaimLine] = []
    one_at_a_time: list[Decision] = []
    for claim in lines:
        decisions = shipped_medicare.adjudicate(claim, paid)
        one_at_a_time += decisions
        paid += [line for line, d in zip(claim, decisions, strict=True) if d.decision != "deny"]
    assert one_at_a_time == shipped_medicare.adjudicate([x for claim in lines for x in claim])


def test_the_codes_of_a_long_exclusive_that_other_rules_pair_share_their_partners() -> None:
    # each code of the list held its own union of the codes ranked above it (one set for all
    # of them, past a few codes) and its forbid's: memory grew as the square of the list
    # (`exclusive J0000..J3999` beside a forbid of the range: 548 MB to compile, now 35 MB)
    policy = compile_text("policy t\nexclusive J0000..J0299\nwhen 99213 forbid J0000..J0299\n")
    tables = policy.program.tables
    assert tables is not None
    partners = {id(tables.plans[f"J{n:04d}"][8]) for n in range(1, 300)}  # plan field 8
    assert len(partners) == 1
    assert tables.plans["J0150"][8] == frozenset(f"J{n:04d}" for n in range(300)) | {"99213"}
