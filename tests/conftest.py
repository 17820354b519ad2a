"""Shared fixtures: policies from text, claim lines in one line, both engines side by side."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence

import pytest

import policydsl
from policydsl import image
from policydsl.claims import ClaimLine, Decision
from policydsl.engine import Program

Adjudicate = Callable[..., list[Decision]]


@pytest.fixture(autouse=True, scope="session")
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``policyc run`` keeps compiled policies in a cache: the tests' go in a temporary
    folder, never in the user's."""
    before = os.environ.get("POLICYDSL_CACHE_DIR")
    os.environ["POLICYDSL_CACHE_DIR"] = str(tmp_path_factory.mktemp("policy-cache"))
    yield
    if before is None:
        del os.environ["POLICYDSL_CACHE_DIR"]
    else:
        os.environ["POLICYDSL_CACHE_DIR"] = before


def line(claim: str, number: int, member: str, date: str, code: str, *, provider: str = "P1",
         mods: str = "", units: int = 1, dx: str = "", auth: str = "") -> ClaimLine:
    """A claim line in one call: ``line("C1", 1, "M1", "2024-01-01", "97810", mods="KX")``."""
    return ClaimLine(claim, number, member, dt.date.fromisoformat(date), code, provider,
                     modifiers=mods, units=units, dx=dx, auth=auth)


@pytest.fixture(params=["compiled", "restored", "reference"])
def adjudicate(request: pytest.FixtureRequest) -> Adjudicate:
    """``adjudicate(policy_text, lines, history=())`` by the compiled engine, by the compiled
    engine saved as an image and restored (as the cache does), and by the reference
    interpreter: every test using it pins all three."""

    def run(text: str, lines: Sequence[ClaimLine], history: Sequence[ClaimLine] = ()
            ) -> list[Decision]:
        policy = policydsl.compile_text(text, name="test.pol")
        if request.param == "compiled":
            return policy.adjudicate(lines, history)
        if request.param == "restored":
            saved = image.dumps(image.image_of(policy.program))
            restored = image.loads(saved)
            assert restored is not None
            return restored_program(restored, policy).adjudicate(lines, history)
        return policy.interpret(lines, history)

    return run


def restored_program(saved: image.ProgramImage, policy: policydsl.Policy) -> Program:
    """The program restored from ``saved``; its rule set, if asked for, is ``policy``'s."""
    return image.restore(saved, lambda: policy.ruleset)


def verdicts(decisions: Sequence[Decision]) -> list[str]:
    return [d.decision for d in decisions]


def fired(decision: Decision) -> list[str]:
    return [f.rule for f in decision.findings]
