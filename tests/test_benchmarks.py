"""Smoke test of the benchmark harness: tiny sizes, so it runs in seconds.

It checks what the benchmarks rely on, not the engine's speed: the generator writes a policy
that ``policyc check`` accepts without an error and claims that parse without a malformed row,
with members of 1-500 lines; and ``benchmarks/run.py --quick`` runs every scenario and writes
``results.json``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.claims import ClaimLine
from policydsl.claims_io import read_claims
from policydsl.cli import main

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
LINES, RULES, UNUSED = 2000, 200, 1000


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-data")
    done = subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--out", str(out), "--lines", str(LINES),
         "--rules", str(RULES), "--unused-rules", str(UNUSED), "--seed", "3", "--json"],
        capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["claims"]["lines"] == LINES
    return out


@pytest.mark.parametrize(("name", "rules"), [("policy.pol", RULES),
                                             ("policy_unused.pol", RULES + UNUSED)])
def test_generated_policy_checks_clean(generated: Path, name: str, rules: int) -> None:
    result = CliRunner().invoke(main, ["check", str(generated / name)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output
    assert len(policydsl.load(generated / name).rules) == rules


def test_generated_claims_parse_and_members_are_1_to_500_lines(generated: Path) -> None:
    path = generated / "claims.csv"
    header = path.read_text().splitlines()[0]
    assert header == ("claim_id,line,member_id,provider_id,date,code,modifiers,units,dx,pos,"
                      "auth")
    rows = read_claims(path)
    malformed = [r for r in rows if not isinstance(r, ClaimLine)]
    assert malformed == []
    assert len(rows) == LINES
    sizes = Counter(r.member_id for r in rows if isinstance(r, ClaimLine))
    assert all(1 <= n <= 500 for n in sizes.values())
    claims = Counter((r.claim_id, r.date) for r in rows if isinstance(r, ClaimLine))
    assert all(1 <= n <= 6 for n in claims.values())
    # codes the unused rules name never appear in the claims
    assert not any(r.code.endswith("T") or r.code[0] in "ABCEKLQSV"
                   for r in rows if isinstance(r, ClaimLine))


def test_generation_is_deterministic(generated: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--out", str(tmp_path), "--lines",
         str(LINES), "--rules", str(RULES), "--seed", "3"],
        capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    for name in ("claims.csv", "policy.pol"):
        assert (tmp_path / name).read_bytes() == (generated / name).read_bytes()


def test_run_quick_writes_every_scenario(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--out", str(tmp_path),
         "--lines", "1000", "--rules", "100", "--unused-rules", "500", "--iterations", "50",
         "--history", "100", "--timeout", "30"],
        capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["scenarios"]) == {"e2e", "latency", "unused", "medicare", "phases"}
    for name, outcome in results["scenarios"].items():
        assert outcome["status"] in ("ok", "skipped"), (name, outcome)
    assert results["scenarios"]["e2e"]["runs"][0]["lines_per_s"] > 0
    assert results["scenarios"]["latency"]["p99_ms"] > 0
    assert "slowdown_pct" in results["scenarios"]["unused"]
    probe = results["machine"]["probe_s"]  # how fast the host ran Python, before and after
    assert probe["before"] > 0 and probe["after"] > 0
    assert "scenario" in done.stdout and "results:" in done.stdout and "host probe" in done.stdout
    # which Python ran the scenarios: its build moves the results as much as the host does
    python = results["machine"]["interpreter"]
    assert python["executable"] == sys.executable
    assert python["version"] == platform.python_version()
    assert f"interpreter: {sys.executable} (" in done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER")
def test_the_cpu_of_workers_nobody_waited_for_is_counted() -> None:
    """``policyc run --jobs 2 --out`` does not wait for its workers: the harness adopts them,
    so that their CPU time counts toward the run's."""
    program = f"""
import os, resource, subprocess, sys, time
sys.path.insert(0, {str(BENCH)!r})
from run import adopt_orphans, reap_orphans
assert adopt_orphans()
# a child that leaves a grandchild behind, which burns 0.3 CPU s after the child ended
subprocess.run([sys.executable, "-c", "import os, time\\n"
                "if os.fork() == 0:\\n"
                "    end = time.process_time() + 0.3\\n"
                "    while time.process_time() < end: pass\\n"
                "    os._exit(0)\\n"
                "os._exit(0)"], check=True)
reap_orphans()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime)
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True, timeout=60)
    assert float(done.stdout) >= 0.25
