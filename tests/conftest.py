"""Shared fixtures: policies from text, claim lines in one line, both engines side by side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest

import policydsl
from policydsl.claims import ClaimLine, Decision

Adjudicate = Callable[..., list[Decision]]


def line(claim: str, number: int, member: str, date: str, code: str, *, provider: str = "P1",
         mods: str = "", units: int = 1, dx: str = "", auth: str = "") -> ClaimLine:
    """A claim line in one call: ``line("C1", 1, "M1", "2024-01-01", "97810", mods="KX")``."""
    return ClaimLine(claim, number, member, dt.date.fromisoformat(date), code, provider,
                     modifiers=mods, units=units, dx=dx, auth=auth)


@pytest.fixture(params=["compiled", "reference"])
def adjudicate(request: pytest.FixtureRequest) -> Adjudicate:
    """``adjudicate(policy_text, lines, history=())`` by the compiled engine and by the
    reference interpreter: every test using it pins both."""

    def run(text: str, lines: Sequence[ClaimLine], history: Sequence[ClaimLine] = ()
            ) -> list[Decision]:
        policy = policydsl.compile_text(text, name="test.pol")
        if request.param == "compiled":
            return policy.adjudicate(lines, history)
        return policy.interpret(lines, history)

    return run


def verdicts(decisions: Sequence[Decision]) -> list[str]:
    return [d.decision for d in decisions]


def fired(decision: Decision) -> list[str]:
    return [f.rule for f in decision.findings]
