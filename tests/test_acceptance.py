"""Black-box acceptance tests: ``policyc`` run as a subprocess against the public contract.

Every case lives in ``tests/acceptance/``; its ``case.md`` cites the sentence of the spec
(issue 2) or of ``domain.md`` it tests. Nothing here imports the engine: the product is judged
through the ``.pol`` language, the CLI, its CSV/JSON Lines formats and its exit codes only.

``run/<case>/`` holds ``policy.pol`` (and any other ``.pol`` files), ``claims.csv`` or
``claims.jsonl``, optionally ``history.csv``, and ``expected.txt``:

    @exit 1                 expected exit code (default 0)
    @policy child.pol       the --policy argument (default policy.pol)
    @claims claims.jsonl    the claims file (default claims.csv, else claims.jsonl)
    @history history.csv    the history file (default history.csv when present)
    # comment
    C1/2 deny | p/forbid@3 97 C1/1 | p/r 119 review *

One row per output line, in input order: ``CLAIM/LINE DECISION``, then one ``| finding`` per
finding: ``RULE CARC [ACTION] [RELATED...]`` where ACTION defaults to ``deny`` (``error`` for
rule ``input``), RELATED are ``CLAIM/LINE`` (compared as a set) and ``*`` skips the related
check. A trailing ``| ...`` allows further findings (and then RULE may be ``*``, any rule).
Findings are compared as a multiset: the spec does not fix their order.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ACCEPT = REPO / "tests" / "acceptance"
RUN_CASES = sorted(p.name for p in (ACCEPT / "run").iterdir() if p.is_dir())
CHECK_CASES = sorted(p.name for p in (ACCEPT / "check").iterdir() if p.is_dir())

def policyc_exe() -> str:
    beside = Path(sys.executable).with_name("policyc")
    if beside.exists():
        return str(beside)
    found = shutil.which("policyc")
    assert found, "the policyc console script is not installed"
    return found


def policyc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([policyc_exe(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_policydsl_under_test_is_this_worktree() -> None:
    import policydsl

    assert Path(policydsl.__file__).resolve().is_relative_to(REPO)
    out = subprocess.run([sys.executable, "-c", "import policydsl; print(policydsl.__file__)"],
                         env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert Path(out).resolve().is_relative_to(REPO)


# ---------------------------------------------------------------------------- run cases


def expected_lines(path: Path) -> tuple[dict[str, str], list[str]]:
    """An ``expected.txt``: its ``@key value`` directives, and its other lines (stripped),
    without blank lines and ``#`` comments."""
    directives: dict[str, str] = {}
    lines = []
    for raw in path.read_text().splitlines():
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("@"):
            key, _, value = text[1:].partition(" ")
            directives[key] = value.strip()
        else:
            lines.append(text)
    return directives, lines


def parse_expected(path: Path) -> tuple[dict[str, str], list[dict[str, object]]]:
    directives, lines = expected_lines(path)
    rows: list[dict[str, object]] = []
    for text in lines:
        head, *parts = [p.strip() for p in text.split("|")]
        ident, decision = head.split()
        claim, _, number = ident.rpartition("/")
        findings = []
        partial = False
        for part in parts:
            if part == "...":
                partial = True
                continue
            rule, carc, *rest = part.split()
            action = "error" if rule == "input" else "deny"
            if rest and rest[0] in ("deny", "review", "error"):
                action = rest.pop(0)
            related = None if rest == ["*"] else frozenset(rest)
            findings.append({"rule": rule, "carc": carc, "action": action, "related": related})
        rows.append({"id": (claim, number), "decision": decision, "findings": findings,
                     "partial": partial})
    return directives, rows


def read_input(path: Path) -> list[dict[str, object]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        return [json.loads(ln) for ln in text.splitlines() if ln.strip()]
    rows = [r for r in csv.reader(io.StringIO(text)) if any(f.strip() for f in r)]
    header = [h.strip().lower() for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:]]


def check_decision_shape(out: dict[str, object]) -> None:
    """Generic requirements on every output object (spec section 5, Output; section 3)."""
    assert list(out)[:6] == ["claim_id", "line", "member_id", "date", "code", "decision"]
    assert out["decision"] in ("allow", "deny", "review", "error")
    findings = out["findings"]
    assert isinstance(findings, list)
    actions = set()
    for f in findings:
        assert set(f) >= {"rule", "action", "carc", "message", "source", "related"}, f
        assert isinstance(f["carc"], str) and f["carc"], f
        assert isinstance(f["message"], str) and f["message"], f
        assert re.fullmatch(r".+:\d+(:\d+)?", f["source"]), f
        for rel in f["related"]:
            assert set(rel) == {"claim_id", "line"}, rel
        actions.add(f["action"])
    # "A line with several findings is denied if any finding denies; review when only
    # review findings fire."
    if out["decision"] == "error":
        assert actions == {"error"}
    elif "deny" in actions:
        assert out["decision"] == "deny"
    elif actions == {"review"}:
        assert out["decision"] == "review"
    else:
        assert not findings and out["decision"] == "allow"


@pytest.mark.parametrize("case", RUN_CASES)
def test_run_case(case: str) -> None:
    folder = ACCEPT / "run" / case
    assert (folder / "case.md").exists(), "every case cites the sentence it tests"
    directives, expected = parse_expected(folder / "expected.txt")
    claims = directives.get("claims") or next(
        n for n in ("claims.csv", "claims.jsonl") if (folder / n).exists())
    args = ["run", "--policy", directives.get("policy", "policy.pol")]
    history = directives.get("history") or ("history.csv" if (folder / "history.csv").exists()
                                            else None)
    if history:
        args += ["--history", history]
    result = policyc(*args, claims, cwd=folder)
    assert result.returncode == int(directives.get("exit", "0")), result.stderr
    outputs = [json.loads(ln) for ln in result.stdout.splitlines()]
    inputs = read_input(folder / claims)
    # "Output: one JSON object per input line, in input order"
    assert len(outputs) == len(inputs)
    # (a malformed row's line may be echoed as text: compared as text)
    assert [(o["claim_id"], str(o["line"])) for o in outputs] == [e["id"] for e in expected]
    for out, inp, exp in zip(outputs, inputs, expected, strict=True):
        check_decision_shape(out)
        where = f"{exp['id']}: {out}"
        if out["decision"] != "error":
            assert out["member_id"] == str(inp["member_id"]).strip(), where
            assert out["date"] == str(inp["date"]).strip(), where
            assert out["code"] == str(inp["code"]).strip().upper(), where
        assert out["decision"] == exp["decision"], where
        got = Counter((f["rule"], f["carc"], f["action"]) for f in out["findings"])
        want = Counter((f["rule"], f["carc"], f["action"]) for f in exp["findings"])
        if exp["partial"]:
            for rule, carc, action in want:
                assert any(rule in ("*", r) and (carc, action) == (c, a) for r, c, a in got), where
        else:
            assert got == want, where
        for f in exp["findings"]:
            if f["related"] is None:
                continue
            matching = [frozenset(f"{r['claim_id']}/{r['line']}" for r in g["related"])
                        for g in out["findings"] if g["rule"] == f["rule"]]
            assert f["related"] in matching, where


# -------------------------------------------------------------------------- check cases

DIAG = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): "
                  r"(?P<sev>error|warning) (?P<code>[A-Z]\d+): (?P<msg>.+)$")


def parse_check_text(stdout: str) -> list[dict[str, object]]:
    """Diagnostics as ``file:line:col: error|warning CODE: message``, then the source line and
    a caret line under the offending token."""
    lines = stdout.splitlines()
    diags = []
    i = 0
    while i < len(lines):
        m = DIAG.match(lines[i])
        if not m:
            i += 1
            continue
        d: dict[str, object] = {**m.groupdict(), "line": int(m["line"]), "col": int(m["col"])}
        source, caret = lines[i + 1], lines[i + 2]
        d["source"], d["caret"] = source, caret
        diags.append(d)
        i += 3
    return diags


@pytest.mark.parametrize("case", CHECK_CASES)
def test_check_case(case: str) -> None:
    """``check/<case>/``: ``policy.pol`` and ``expected.txt`` with ``@exit``, ``@strict-exit``
    and one ``LINE[|LINE] SEVERITY TOKEN`` row per diagnostic that must be reported (SEVERITY
    ``any`` when the spec does not say whether the lint is an error or a warning; TOKEN is
    the text the caret must sit under, ``-`` to skip)."""
    folder = ACCEPT / "check" / case
    assert (folder / "case.md").exists()
    directives, lines = expected_lines(folder / "expected.txt")
    wanted = []
    for text in lines:
        line, sev, token = text.split(maxsplit=2)
        wanted.append(({int(n) for n in line.split("|")}, sev, token))
    target = directives.get("path", "policy.pol")
    result = policyc("check", target, cwd=folder)
    assert result.returncode == int(directives["exit"]), result.stdout + result.stderr
    diags = parse_check_text(result.stdout)
    src = {p.name: p.read_text().splitlines() for p in folder.glob("*.pol")}
    for d in diags:
        # The source line is printed, and the caret sits inside it.
        name = Path(str(d["file"])).name
        assert str(d["source"]).strip() == src[name][int(d["line"]) - 1].strip(), d
        assert re.fullmatch(r"\s*\^+\s*", str(d["caret"])), d
        # "syntax errors worded for a person": no parser internals in messages
        assert not re.search(r"Token\(|Unexpected\w+\(|__ANON|\bRULE\b|\$END", str(d["msg"])), d
    for lines, sev, token in wanted:
        hits = [d for d in diags if d["line"] in lines and (sev == "any" or d["sev"] == sev)]
        assert hits, f"no {sev} diagnostic on line {lines}: {result.stdout}"
        if token != "-":
            def under(d: dict[str, object]) -> str:
                caret = str(d["caret"])
                start = caret.index("^")
                # caret lines are indented like the source line under them
                return str(d["source"])[start:start + caret.count("^")]
            assert any(under(d) == token for d in hits), (token, hits)
    if "strict-exit" in directives:
        strict = policyc("check", "--strict", target, cwd=folder)
        assert strict.returncode == int(directives["strict-exit"]), strict.stdout
        for d in parse_check_text(strict.stdout):
            assert d["sev"] == "error", d


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_check_machine_formats(fmt: str) -> None:
    """Spec §5 check: ``--format json|sarif``; the same diagnostics as the text format."""
    folder = ACCEPT / "check" / "malformed-code"
    result = policyc("check", "--format", fmt, "policy.pol", cwd=folder)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    if fmt == "json":
        assert isinstance(data, list) and len(data) == 1
        assert data[0]["severity"] == "error"
        assert data[0]["location"]["line"] == 2 and data[0]["location"]["column"] == 7
    else:
        assert data["version"] == "2.1.0"
        (run,) = data["runs"]
        assert run["tool"]["driver"]["name"] == "policyc"
        (res,) = run["results"]
        assert res["level"] == "error"
        region = res["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (2, 7)


def test_check_strict_sarif_levels() -> None:
    """``--strict`` makes warnings errors in every format."""
    folder = ACCEPT / "check" / "warnings"
    result = policyc("check", "--strict", "--format", "sarif", "policy.pol", cwd=folder)
    assert result.returncode == 1
    levels = {r["level"] for r in json.loads(result.stdout)["runs"][0]["results"]}
    assert levels == {"error"}


def test_check_usage_error_exits_2() -> None:
    """Spec §5 check: "Exit 0 clean, 1 findings, 2 usage"."""
    result = policyc("check", "--no-such-option", "policy.pol", cwd=ACCEPT / "check" / "clean")
    assert result.returncode == 2


FMT_MESSY = """\
policy   acc.fmt   # the name
set FLUORO=77002,77003
   when 64483   forbid FLUORO unless modifier 59,xu   # NCCI
rule acu-90d carc 119 "More than 12":
        limit 97810,97813 per 90d<=12 sessions unless modifier KX
"""


def test_fmt_check_canonical_idempotent_keeps_comments(tmp_path: Path) -> None:
    """Spec §5: "`policyc fmt [--check] PATH...`: one canonical layout; idempotent; keeps
    comments." A formatted policy decides exactly as the original."""
    pol = tmp_path / "p.pol"
    pol.write_text(FMT_MESSY)
    claims = tmp_path / "c.csv"
    claims.write_text("claim_id,line,member_id,provider_id,date,code,modifiers\n"
                      "C1,1,M1,P1,2024-03-04,64483,\nC1,2,M1,P1,2024-03-04,77002,\n"
                      "C1,3,M1,P1,2024-03-04,77003,XU\n")
    before = policyc("run", "--policy", "p.pol", "c.csv", cwd=tmp_path)
    assert policyc("fmt", "--check", "p.pol", cwd=tmp_path).returncode == 1
    assert pol.read_text() == FMT_MESSY, "--check changes nothing"
    assert policyc("fmt", "p.pol", cwd=tmp_path).returncode == 0
    once = pol.read_text()
    assert once != FMT_MESSY
    for comment in ("# the name", "# NCCI"):
        assert comment in once
    assert policyc("fmt", "--check", "p.pol", cwd=tmp_path).returncode == 0
    assert policyc("fmt", "p.pol", cwd=tmp_path).returncode == 0
    assert pol.read_text() == once, "fmt is idempotent"
    after = policyc("run", "--policy", "p.pol", "c.csv", cwd=tmp_path)
    strip = [
        [(d["decision"], [(f["rule"], f["carc"]) for f in d["findings"]])
         for d in map(json.loads, r.stdout.splitlines())] for r in (before, after)]
    assert strip[0] == strip[1]


def test_compile_emits_python() -> None:
    """Spec §4: "`policyc compile --emit python POLICY` prints the generated source"."""
    import ast

    folder = ACCEPT / "run" / "forbid-unless-modifier"
    result = policyc("compile", "--emit", "python", "policy.pol", cwd=folder)
    assert result.returncode == 0, result.stderr
    ast.parse(result.stdout)


def test_run_csv_output() -> None:
    """Spec §5: `--format jsonl|csv`: one CSV row per input line, in input order, with the
    decision and the findings' CARCs (columns spelled as in docs/cli.md)."""
    folder = ACCEPT / "run" / "malformed-rows"
    result = policyc("run", "--policy", "policy.pol", "--format", "csv", "claims.csv",
                     cwd=folder)
    assert result.returncode == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["claim_id"], r["line"], r["decision"]) for r in rows] == [
        ("C1", "1", "error"), ("C1", "2", "error"), ("C1", "3", "error"), ("C1", "0", "error"),
        ("C1", "5", "error"), ("C1", "6", "error"), ("C1", "7", "error"), ("C2", "1", "allow"),
        ("C2", "2", "deny")]
    assert rows[0]["carcs"] == "16"
    assert rows[-1]["carcs"] == "119" and rows[-1]["rules"] == "acc.bad/limit@2"


def test_run_out_file(tmp_path: Path) -> None:
    """`--out FILE` writes the same decisions as standard output."""
    folder = ACCEPT / "run" / "exclusive-first-listed"
    stdout = policyc("run", "--policy", "policy.pol", "claims.csv", cwd=folder).stdout
    out = tmp_path / "out.jsonl"
    result = policyc("run", "--policy", "policy.pol", "--out", str(out), "claims.csv",
                     cwd=folder)
    assert result.returncode == 0
    assert out.read_text() == stdout


def test_rule_message_is_the_rules_own() -> None:
    """Spec §2: `rule acu-90d carc 119 "More than 12 ..."` — the finding carries the message."""
    folder = ACCEPT / "run" / "rule-options"
    out = [json.loads(ln) for ln in policyc("run", "--policy", "policy.pol", "claims.csv",
                                            cwd=folder).stdout.splitlines()]
    assert out[1]["findings"][0]["message"] == "More than 1 acupuncture session in 90 days"
    assert out[1]["findings"][0]["source"].startswith("policy.pol:2:")


UNUSABLE = {
    "syntax": ("policy acc.x\nlimit 97810 per 90 days <= 12\n", None),
    "undefined": ("policy acc.x\nwhen ESI forbid 77002\n", None),
    "unknown-extends": ("policy acc.x\nextends acc.nowhere\nrequire auth for 63650\n", None),
    "bad-header": ("policy acc.x\nrequire auth for 63650\n",
                   "claim_id,line,member_id,date\nC1,1,M1,2024-01-01\n"),
    "empty-claims": ("policy acc.x\nrequire auth for 63650\n", ""),
    "missing-claims": ("policy acc.x\nrequire auth for 63650\n", "MISSING"),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_run_unusable_policy_or_file_exits_2(case: str, tmp_path: Path) -> None:
    """Spec §5: "exit ... 2 unusable policy or file (with the reason)"; "an unknown name is an
    error" for extends."""
    text, claims = UNUSABLE[case]
    (tmp_path / "p.pol").write_text(text)
    if claims != "MISSING":
        (tmp_path / "c.csv").write_text(
            "claim_id,line,member_id,date,code\nC1,1,M1,2024-01-01,63650\n"
            if claims is None else claims)
    result = policyc("run", "--policy", "p.pol", "c.csv", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip(), "the reason is given"
    assert not result.stdout.strip()


def test_history_rows_are_never_printed(tmp_path: Path) -> None:
    """Spec §5: history lines "are neither judged nor printed"; a bad history row is not a
    decision either (AMBIGUITY: the spec is silent on malformed history rows; docs/cli.md says
    it is skipped with a message and exit 1)."""
    (tmp_path / "p.pol").write_text("policy acc.h\nlimit 97810 per 90d <= 1\n")
    (tmp_path / "h.csv").write_text("claim_id,line,member_id,date,code\n"
                                    "H1,1,M1,2024-01-01,97810\nH2,1,M1,2024-01-02,97810\n")
    (tmp_path / "c.csv").write_text("claim_id,line,member_id,date,code\n"
                                    "C1,1,M1,2024-01-03,97810\n")
    result = policyc("run", "--policy", "p.pol", "--history", "h.csv", "c.csv", cwd=tmp_path)
    assert result.returncode == 0
    out = [json.loads(ln) for ln in result.stdout.splitlines()]
    assert [(o["claim_id"], o["decision"]) for o in out] == [("C1", "deny")]


def test_spec_example_block_parses_checks_and_formats(tmp_path: Path) -> None:
    """Every form of the spec's §2 block, verbatim: see tests/acceptance/spec-example/case.md."""
    folder = ACCEPT / "spec-example"
    result = policyc("check", "policy.pol", cwd=folder)
    assert result.returncode == 0, result.stdout
    assert not [d for d in parse_check_text(result.stdout) if d["sev"] == "error"]
    for pol in folder.glob("*.pol"):
        shutil.copy(pol, tmp_path / pol.name)
    assert policyc("fmt", "policy.pol", cwd=tmp_path).returncode == 0
    formatted = (tmp_path / "policy.pol").read_text()
    comments = [ln[ln.index("#"):].strip() for ln in
                (folder / "policy.pol").read_text().splitlines() if "#" in ln]
    for comment in comments:
        assert comment in formatted
    assert policyc("fmt", "--check", "policy.pol", cwd=tmp_path).returncode == 0
    assert policyc("check", "policy.pol", cwd=tmp_path).returncode == 0


FMT_MULTILINE = """\
policy acc.base
set FACET = 64490, 64491,
            64493, 64494


limit FACET
    per 12mo <= 4 sessions
when 64483 forbid 77002
"""


def test_disable_by_line_is_warned_since_fmt_moves_lines(tmp_path: Path) -> None:
    """Spec §2: "unnamed rules get a stable id from their position" and `disable` takes rule
    ids; §5: fmt gives "one canonical layout". fmt joins continued lines, so an unnamed rule's
    line (and id) can move: acc.base/forbid@8 becomes forbid@5. `check` warns (W307) on a
    `disable` that names a rule by its line, before anything breaks; disabling by name is
    stable."""
    (tmp_path / "base.pol").write_text(FMT_MULTILINE)
    (tmp_path / "child.pol").write_text(
        "policy acc.child\nextends acc.base\ndisable acc.base/forbid@8\n")
    before = policyc("check", "child.pol", cwd=tmp_path)
    assert before.returncode == 0  # a warning only
    assert "warning W307" in before.stdout
    assert policyc("check", "--strict", "child.pol", cwd=tmp_path).returncode == 1
    assert policyc("fmt", "base.pol", cwd=tmp_path).returncode == 0
    after = policyc("check", "child.pol", cwd=tmp_path)
    assert after.returncode == 1 and "E106" in after.stdout
    named = FMT_MULTILINE.replace("when 64483", "rule fluoro: when 64483")
    (tmp_path / "base.pol").write_text(named)
    (tmp_path / "child.pol").write_text(
        "policy acc.child\nextends acc.base\ndisable acc.base/fluoro\n")
    assert policyc("fmt", "base.pol", cwd=tmp_path).returncode == 0
    clean = policyc("check", "--strict", "child.pol", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout


def test_check_missing_path_is_a_usage_error_reported_as_e002(tmp_path: Path) -> None:
    """Spec §5 check: "Exit 0 clean, 1 findings, 2 usage". A path that does not exist is a
    usage error, as in every other command (exit 2); docs/cli.md: it is still reported,
    `missing.pol:0:0: error E002: ...`, in the chosen format, beside the other files' findings."""
    (tmp_path / "ok.pol").write_text("policy t\nlimit 97810 per day <= 1\n")
    (tmp_path / "bad.pol").write_text("policy u\nlimit 97810 per day <= 1\nwhen 1 forbid 2\n")
    result = policyc("check", "missing.pol", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.pol:0:0: error E002: no such file or folder: missing.pol" in result.stdout
    both = policyc("check", "--format", "json", "bad.pol", "missing.pol", cwd=tmp_path)
    assert both.returncode == 2
    assert {d["location"]["file"] for d in json.loads(both.stdout)} == {"bad.pol", "missing.pol"}
    assert policyc("check", "ok.pol", cwd=tmp_path).returncode == 0
    assert policyc("check", "bad.pol", cwd=tmp_path).returncode == 1


def test_the_example_decisions_are_those_examples_readme_documents() -> None:
    """The README's first command on the shipped example: every decision examples/README.md
    lists per claim line (``CLM-1003-A`` ... ``2 64494 -> review``), and its totals."""
    done = policyc("run", "--policy", "policies/medicare/pain.pol", "--history",
                   "examples/history.csv", "examples/claims.csv", cwd=REPO)
    assert done.returncode == 0, done.stderr
    got = {(r["claim_id"], r["line"]): (r["code"], r["decision"])
           for r in map(json.loads, done.stdout.splitlines())}
    readme = (REPO / "examples" / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())  # bullets wrap: one line of words
    claims_part = text.split("### M1012")[0]  # the malformed.csv example comes after
    documented = {}
    for bullet in claims_part.split("- `CLM-")[1:]:
        claim = "CLM-" + bullet.split("`", 1)[0]
        for number, code, decision in re.findall(
                r"`(\d+) ([0-9A-Z]{5})\b[^`]*`?[^`>]*?`?-> ?(allow|deny|review)", bullet):
            documented[claim, int(number)] = (code, decision)
    assert len(documented) >= 35  # nearly every line of claims.csv is explained
    assert {key: got[key] for key in documented} == documented
    totals = re.search(r"`claims.csv`: (\d+) allow, (\d+) deny, (\d+) review", text)
    assert totals is not None
    counted = Counter(decision for _, decision in got.values())
    assert [counted["allow"], counted["deny"], counted["review"]] == list(
        map(int, totals.groups()))
