"""``policyc`` as users meet it: commands, output formats and exit codes."""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from policydsl import PolicyError, load
from policydsl import cli as cli_module
from policydsl.cli import main
from policydsl.parallel import MIN_PARALLEL_LINES

HEADER = "claim_id,line,member_id,provider_id,date,code,modifiers,units,dx,pos,auth\n"
POLICY = """policy t.pain
set FLUORO = 77002, 77003
when 64483 forbid FLUORO unless modifier 59
rule acu: limit 97810 per 90d <= 2
"""


def policyc(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "pain.pol"
    path.write_text(POLICY)
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- check --------------------------------------------------------------------------------


def test_check_clean_policy_exits_0(policy: Path) -> None:
    result = policyc("check", str(policy))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s) in 1 file(s)" in result.output


def test_check_error_points_at_file_line_col_with_caret(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.pol", "policy t\nlimit 97810, 9781 per 90d <= 2\n")
    result = policyc("check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2:14: error E201: '9781' is not a procedure code" in result.output
    assert "    limit 97810, 9781 per 90d <= 2\n                 ^^^^\n" in result.output


def test_a_policy_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.pol"
    path.write_bytes("\ufeffpolicy t\nset UNUSED = 97810\n".encode())
    result = policyc("check", str(path))
    assert result.output.startswith(f"{path}:2:5: warning W306: ")
    assert policyc("fmt", "--check", str(path)).exit_code == 0
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    assert policyc("run", "--policy", str(path), str(claims)).exit_code == 0


def test_check_of_a_folder_without_policies_warns(tmp_path: Path) -> None:
    result = policyc("check", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr == f"policyc: warning: no policy files (*.pol) in {tmp_path}\n"
    assert result.stdout == "0 error(s), 0 warning(s) in 0 file(s)\n"
    formatted = policyc("fmt", str(tmp_path))  # fmt says the same
    assert formatted.exit_code == 0
    assert formatted.stderr == f"policyc: warning: no policy files (*.pol) in {tmp_path}\n"


def test_check_json_and_sarif(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.pol", "policy t\nset UNUSED = 97810\nlimit NOPE per 90d <= 2\n")
    result = policyc("check", "--format", "json", str(bad))
    assert result.exit_code == 1
    items = json.loads(result.output)
    assert [(i["code"], i["severity"], i["location"]["line"], i["location"]["column"])
            for i in items] == [("W306", "warning", 2, 5), ("E101", "error", 3, 7)]
    sarif = json.loads(policyc("check", "--format", "sarif", str(bad)).output)
    results = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in results] == ["W306", "E101"]
    region = results[1]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (3, 7)
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        bad.as_uri()


def test_sarif_uris_are_percent_encoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    (tmp_path / "sp ace").mkdir()
    write(tmp_path / "sp ace" / "w#2.pol", "policy t\nset UNUSED = 97810\n")
    monkeypatch.chdir(tmp_path)
    sarif = json.loads(policyc("check", "--format", "sarif", "sp ace/w#2.pol").output)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "sp%20ace/w%232.pol"


def test_warnings_alone_pass_unless_strict(tmp_path: Path) -> None:
    warn = write(tmp_path / "w.pol", "policy t\nset UNUSED = 97810\n")
    assert policyc("check", str(warn)).exit_code == 0
    strict = policyc("check", "--strict", str(warn))
    assert strict.exit_code == 1
    assert "error W306" in strict.output


def test_check_of_a_path_that_does_not_exist_is_a_usage_error_reported_as_e002(
        policy: Path, tmp_path: Path) -> None:
    """A missing path is a usage error (exit 2), as in the other commands; ``check`` still
    reports it as E002 and checks the other paths."""
    missing = tmp_path / "missing.pol"
    result = policyc("check", str(policy), str(missing))
    assert result.exit_code == 2
    assert f"{missing}:0:0: error E002: no such file or folder: {missing}" in result.output
    assert "in 1 file(s)" in result.output  # the policy that exists was checked


def test_a_policy_folder_never_leaves_out_a_file_it_cannot_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.pol`` link to nothing, and a folder that cannot be listed, are errors: a policy is
    not run with some of its rules silently missing."""
    folder = tmp_path / "pols"
    (folder / "sub").mkdir(parents=True)
    write(folder / "a.pol", "policy x.a\nlimit 97810 per day <= 1\n")
    write(folder / "sub" / "b.pol", "policy x.b\nlimit 97813 per day <= 1\n")
    (folder / "c.pol").symlink_to(tmp_path / "nowhere.pol")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,,2024-03-04,97810,,1,,,\n")
    run = policyc("run", "--policy", str(folder), str(claims))
    assert run.exit_code == 2
    assert f"{folder / 'c.pol'}:0:0: error E002: cannot read {folder / 'c.pol'}: " \
           "[Errno 2] No such file or directory" in run.stderr
    (folder / "c.pol").unlink()
    assert policyc("run", "--policy", str(folder), str(claims)).exit_code == 0

    listed = os.scandir

    def refuse(path: Any = ".") -> Any:  # as for a folder without read permission
        if Path(path).name == "sub":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return listed(path)

    monkeypatch.setattr(os, "scandir", refuse)
    sub = folder / "sub"
    said = f"{sub}:0:0: error E002: cannot read folder {sub}: Permission denied"
    run = policyc("run", "--policy", str(folder), str(claims))
    assert run.exit_code == 2
    assert said in run.stderr
    check = policyc("check", str(folder))
    assert check.exit_code == 1
    assert said in check.output
    assert "no policy files" not in check.output
    fmt = policyc("fmt", str(folder))
    assert fmt.exit_code == 1
    assert said in fmt.stderr
    with pytest.raises(PolicyError, match="cannot read folder"):
        load(folder)
    # policyc test walked the folder with rglob, which skips what it cannot list: the cases
    # there went unrun and the run passed
    write(sub / "b.cases.csv", "case,expect,claim_id,line,member_id,date,code\n"
                               "fails,deny,C1,1,M1,2024-03-04,97813\n")
    tested = policyc("test", str(folder))
    assert tested.exit_code == 2
    assert said in tested.stderr


def test_an_empty_policy_path_is_an_error_not_the_working_directory(
        policy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(policy.parent)  # a folder with a good policy in it
    for attempt in (lambda: load(""), lambda: load("", cache_dir=policy.parent / "cache")):
        with pytest.raises(PolicyError) as raised:
            attempt()
        assert str(raised.value) == "'':0:0: error E002: an empty path names no file or folder"
    check = policyc("check", "")
    assert check.exit_code == 2
    assert "E002: an empty path names no file or folder" in check.output


@pytest.mark.parametrize("text", [
    "policy p # note\u2028more\nset A = 6448\n",  # a Unicode line separator in a comment
    "policy p\nrule r \"a\x0bb\": limit 97810 per 90d <= 1\nset A = 6448\n",  # in a message
    "policy p\nlimit 97810 per 90d <= 1\nset A = 6448\n",
])
def test_the_caret_is_under_the_text_on_the_line_the_location_names(tmp_path: Path,
                                                                      text: str) -> None:
    bad = tmp_path / "bad.pol"
    bad.write_text(text, encoding="utf-8")
    result = policyc("check", str(bad))
    last = text.count("\n")  # the set is on the last line
    assert f"{bad}:{last}:9: error E201: '6448' is not a procedure code" in result.output
    assert "\n    set A = 6448\n            ^^^^\n" in result.output


def test_a_form_feed_between_statements_shows_as_a_space(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pol"
    bad.write_text("policy p\nlimit 97810 per 90d <= 1\x0cset A = 6448\n", encoding="utf-8")
    result = policyc("check", str(bad))
    assert f"{bad}:2:34: error E201" in result.output
    assert ("\n    limit 97810 per 90d <= 1 set A = 6448\n"
            "                                     ^^^^\n") in result.output


@pytest.mark.parametrize(("label", "column", "cells"), [
    # each emoji takes two cells; the é is an e and a combining accent (none)
    ("\U0001F600\U0001F600 e\u0301", 23, 23),
    # a Thai vowel sign and an emoji's variation selector take no cell of their own
    ("\u0e01\u0e34\u2714\ufe0f", 22, 19),
])
def test_the_caret_sits_under_the_token_as_a_terminal_shows_the_line(
        tmp_path: Path, label: str, column: int, cells: int) -> None:
    bad = tmp_path / "bad.pol"
    source = f'rule r "{label}": limit 6448 per day <= 1'
    bad.write_text(f"policy p\n{source}\n", encoding="utf-8")
    result = policyc("check", str(bad))
    assert f"{bad}:2:{column}: error E201" in result.output  # columns count characters
    assert f"\n    {source}\n    {' ' * cells}^^^^\n" in result.output


def test_a_line_break_in_a_message_is_escaped_in_the_text_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pol"
    bad.write_text('policy p\ntable mue "no\\nsuch.csv"\n', encoding="utf-8")
    result = policyc("check", str(bad))
    first = result.output.split("\n")[0]
    assert first.startswith(f"{bad}:2:11: error E210") and "no\\nsuch.csv" in first
    as_json = json.loads(policyc("check", "--format", "json", str(bad)).output)
    assert "no\nsuch.csv" in as_json[0]["message"]  # the structured formats keep it as is


def test_usage_errors_exit_2() -> None:
    assert policyc("check").exit_code == 2
    assert policyc("run", "--policy", "nowhere.pol", "claims.csv").exit_code == 2
    assert policyc("frobnicate").exit_code == 2


# --- run ----------------------------------------------------------------------------------


def test_run_names_an_unusable_file_by_its_path(policy: Path, tmp_path: Path) -> None:
    # the history and the claims may share a file name: the message says which it is
    for folder in "h", "c":
        (tmp_path / folder).mkdir()
    history = write(tmp_path / "h" / "claims.csv", "claim_id,line,member_id,date\n")
    claims = write(tmp_path / "c" / "claims.csv", HEADER)
    result = policyc("run", "--policy", str(policy), "--history", str(history), str(claims))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"policyc: {history}: header lacks column(s) code")


def test_run_warns_of_a_column_that_seems_to_mean_one_it_lacks(tmp_path: Path) -> None:
    # 'modifier' and 'diagnosis' would be ignored with no sign: the 50 not judged (the line
    # paid), the diagnosis not seen (the line denied 11); the decisions stand, exit 0
    policy = write(tmp_path / "p.pol", "policy t\nforbid modifier 50 on 20552\n"
                   "require dx M79.1 for 20552\n")
    claims = write(tmp_path / "claims.csv", "claim_id,line,member_id,date,code,modifier,"
                   "Diagnosis,note,dx_code\nC1,1,M1,2024-03-01,20552,50,M79.1,x,\n")
    result = policyc("run", "--policy", str(policy), str(claims))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"][0]["carc"] == "11"
    assert result.stderr.splitlines() == [
        f"policyc: {claims}: warning: column 'modifier' is not a claims column and is "
        "ignored; did you mean 'modifiers'?",
        f"policyc: {claims}: warning: column 'diagnosis' is not a claims column and is "
        "ignored; did you mean 'dx'?"]
    # beside the column itself, another name is just another column
    write(tmp_path / "claims.csv", "claim_id,line,member_id,date,code,dx,diagnosis,modifer\n"
          "C1,1,M1,2024-03-01,20552,M79.1,,\n")
    result = policyc("run", "--policy", str(policy), str(claims))
    assert result.stderr.splitlines() == [
        f"policyc: {claims}: warning: column 'modifer' is not a claims column and is "
        "ignored; did you mean 'modifiers'?"]
    # a required column under another name: the header is refused, and says which
    write(tmp_path / "claims.csv", "claim_id,Line_No,member,dos,cpt\nC1,1,M1,2024-03-01,20552\n")
    result = policyc("run", "--policy", str(policy), str(claims))
    assert result.exit_code == 2
    assert result.stderr == (
        f"policyc: {claims}: header lacks column(s) line, member_id, date, code (found: "
        "claim_id, Line_No, member, dos, cpt); did you mean 'Line_No' for line, 'member' for "
        "member_id, 'dos' for date, 'cpt' for code?\n")


def test_run_names_a_file_by_its_path_exactly_as_given(policy: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # "./claims.csv" is not shortened to "claims.csv": a header error and a malformed row's
    # source name the file alike
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "claims.csv", "claim_id,line,member_id,date\n")
    result = policyc("run", "--policy", str(policy), "./claims.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("policyc: ./claims.csv: header lacks column(s) code")
    write(tmp_path / "claims.csv", HEADER + "C1,1,M1,,2024-02-31,97810,,1,,,\n")
    result = policyc("run", "--policy", str(policy), "./claims.csv")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["findings"][0]["source"] == "./claims.csv:2:1"


def test_every_finding_source_is_file_line_col() -> None:
    """Spec §5: a finding's ``source`` is ``"file:line:col"``: for a statement, a CMS table
    row (the shipped NCCI and PFS tables) and a malformed input row alike."""
    repo = Path(__file__).resolve().parent.parent
    records = []
    for claims in ("claims.csv", "malformed.csv"):
        result = CliRunner().invoke(main, [
            "run", "--policy", str(repo / "policies" / "medicare"), "--no-cache",
            str(repo / "examples" / claims)])
        assert result.exit_code in (0, 1), result.output
        records += [json.loads(row) for row in result.stdout.splitlines()]
    sources = [f["source"] for record in records for f in record["findings"]]
    assert [s for s in sources if not re.fullmatch(r".+:[1-9][0-9]*:[1-9][0-9]*", s)] == []
    assert any(re.fullmatch(r".+\.pol:\d+:\d+", s) for s in sources)  # a statement
    assert any("/ncci/" in s or "/pfs/" in s for s in sources)  # a CMS table row
    assert any("malformed.csv:" in s for s in sources)  # an input row


def test_run_adjudicates_every_row_and_reports_malformed_ones(policy: Path,
                                                              tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + (
        "C1,1,M1,P1,2024-03-01,64483,,1,M54.16,11,\n"
        "C1,2,M1,P1,2024-03-01,77002,,1,,11,\n"
        "C1,3,M1,P1,2024-13-01,77003,,1,,11,\n"
        "C2,1,M2,,2024-03-01,97810,,,,,\n"))
    result = policyc("run", "--policy", str(policy), str(claims))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["decision"] for r in rows] == ["allow", "deny", "error", "allow"]
    assert list(rows[1]) == ["claim_id", "line", "member_id", "date", "code", "decision",
                             "findings"]
    assert rows[1]["findings"] == [{
        "rule": "t.pain/forbid@3", "action": "deny", "carc": "97",
        "message": "FLUORO is not payable with 64483 the same day by the same provider",
        "source": f"{policy}:3:1", "related": [{"claim_id": "C1", "line": 1}]}]
    error = rows[2]["findings"][0]
    assert (error["action"], error["carc"], error["source"]) == ("error", "16", f"{claims}:4:1")
    assert "2024-13-01" in error["message"]


def test_run_history_counts_and_is_not_printed(policy: Path, tmp_path: Path) -> None:
    history = write(tmp_path / "history.csv", HEADER + "H1,1,M1,P1,2024-01-02,97810,,2,,11,\n")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-02-01,97810,,1,,11,\n")
    result = policyc("run", "--policy", str(policy), "--history", str(history), str(claims))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    assert rows[0]["decision"] == "deny"
    assert rows[0]["findings"][0]["related"] == [{"claim_id": "H1", "line": 1}]


def test_run_exclusive_across_providers(tmp_path: Path) -> None:
    """``exclusive … across providers`` from the command line, cached and not, on both
    engines: a 20552 of P2 is denied beside a 20553 of P1 and a paid 20553 of P3; under the
    plain form, and for another member, the 20552 is paid."""
    across = write(tmp_path / "across.pol", "policy t.tpi\nrule tpi: exclusive 20553, 20552 "
                   "across providers\n")
    plain = write(tmp_path / "plain.pol", "policy t.tpi\nrule tpi: exclusive 20553, 20552\n")
    history = write(tmp_path / "history.csv", HEADER + "H1,1,M1,P3,2024-03-01,20553,,1,,11,\n")
    claims = write(tmp_path / "claims.csv", HEADER + (
        "C1,1,M1,P1,2024-03-01,20553,,1,,11,\n" "C2,1,M1,P2,2024-03-01,20552,,1,,11,\n"
        "C3,1,M2,P2,2024-03-01,20552,,1,,11,\n"))
    for args in ([], ["--no-cache"], ["--engine", "reference"]):
        result = policyc("run", "--policy", str(across), "--history", str(history), *args,
                         str(claims))
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["decision"] for r in rows] == ["allow", "deny", "allow"]
        assert rows[1]["findings"] == [{
            "rule": "t.tpi/tpi", "action": "deny", "carc": "97",
            "message": "only one of 20553, 20552 is payable per day across providers; the "
                       "first listed that was billed is paid",
            "source": f"{across}:2:1",
            "related": [{"claim_id": "H1", "line": 1}, {"claim_id": "C1", "line": 1}]}]
    result = policyc("run", "--policy", str(plain), "--history", str(history), str(claims))
    assert [json.loads(line)["decision"] for line in result.stdout.splitlines()] == [
        "allow", "allow", "allow"]


def test_run_csv_output_to_file_and_determinism(policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + (
        "C1,1,M1,P1,2024-03-01,64483,,1,,11,\n" "C1,2,M1,P1,2024-03-01,77002,,1,,11,\n"))
    out = tmp_path / "out.csv"
    assert policyc("run", "--policy", str(policy), "--format", "csv", "--out", str(out),
                   str(claims)).exit_code == 0
    first = out.read_bytes()
    assert first.decode().splitlines()[0] == (
        "claim_id,line,member_id,date,code,decision,carcs,rules,actions,messages")
    assert first.decode().splitlines()[2].startswith("C1,2,M1,2024-03-01,77002,deny,97,")
    policyc("run", "--policy", str(policy), "--format", "csv", "--out", str(out), str(claims))
    assert out.read_bytes() == first


def test_run_writes_csv_to_an_out_file_named_csv_unless_told_otherwise(
        policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,64483,,1,,11,\n")
    as_csv = policyc("run", "--policy", str(policy), "--format", "csv", str(claims)).stdout
    as_jsonl = policyc("run", "--policy", str(policy), str(claims)).stdout
    for name, fmt, expected in [("out.csv", None, as_csv), ("OUT.CSV", None, as_csv),
                                ("out.jsonl", None, as_jsonl), ("out.txt", None, as_jsonl),
                                ("out.csv", "jsonl", as_jsonl)]:
        out = tmp_path / name
        assert policyc("run", "--policy", str(policy), "--out", str(out), str(claims),
                       *(["--format", fmt] if fmt else [])).exit_code == 0
        assert out.read_text() == expected, (name, fmt)
        out.unlink()


def test_run_reads_json_lines(policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.jsonl", "\n".join(json.dumps(r) for r in [
        {"claim_id": "C1", "line": 1, "member_id": "M1", "provider_id": "P1",
         "date": "2024-03-01", "code": "64483"},
        {"claim_id": "C1", "line": 2, "member_id": "M1", "provider_id": "P1",
         "date": "2024-03-01", "code": "77002", "modifiers": ["59"]},
    ]) + "\n")
    rows = [json.loads(x) for x in policyc("run", "--policy", str(policy),
                                           str(claims)).stdout.splitlines()]
    assert [r["decision"] for r in rows] == ["allow", "allow"]



def test_run_of_an_empty_json_lines_file_writes_no_record(policy: Path, tmp_path: Path) -> None:
    """No header, so an empty JSON Lines file is a batch of no rows (exit 0): JSON Lines out is
    empty, CSV out is its header line alone (docs/cli.md)."""
    claims = write(tmp_path / "claims.jsonl", "\n\n")
    as_jsonl = policyc("run", "--policy", str(policy), str(claims))
    assert (as_jsonl.exit_code, as_jsonl.stdout) == (0, "")
    as_csv = policyc("run", "--policy", str(policy), "--format", "csv", str(claims))
    assert as_csv.exit_code == 0
    assert as_csv.stdout == ("claim_id,line,member_id,date,code,decision,carcs,rules,actions,"
                             "messages\n")


def test_run_reads_claims_from_standard_input(policy: Path, tmp_path: Path) -> None:
    # '-' is standard input: CSV, or JSON Lines when it starts with '{'; a malformed row's
    # source names it <stdin>; the decisions are those of the same rows read from a file
    text = HEADER + ("C1,1,M1,P1,2024-03-01,64483,,1,M54.16,11,\n"
                     "C1,2,M1,P1,2024-03-01,77002,,1,,11,\n"
                     "C1,3,M1,P1,2024-13-01,77003,,1,,11,\n")
    from_file = policyc("run", "--policy", str(policy), str(write(tmp_path / "c.csv", text)))
    runner = CliRunner()
    piped = runner.invoke(main, ["run", "--policy", str(policy), "-"], input=text)
    assert piped.exit_code == from_file.exit_code == 1
    assert piped.stdout == from_file.stdout.replace(str(tmp_path / "c.csv"), "<stdin>")
    assert json.loads(piped.stdout.splitlines()[2])["findings"][0]["source"] == "<stdin>:4:1"
    rows = [json.dumps({"claim_id": "C1", "line": n, "member_id": "M1", "provider_id": "P1",
                        "date": "2024-03-01", "code": code})
            for n, code in ((1, "64483"), (2, "77002"))]
    as_jsonl = runner.invoke(main, ["run", "--policy", str(policy), "-"],
                             input="\n".join(rows) + "\n")
    assert as_jsonl.exit_code == 0
    assert [json.loads(x)["decision"] for x in as_jsonl.stdout.splitlines()] == ["allow", "deny"]


def test_run_reads_history_from_standard_input_but_not_both(policy: Path,
                                                             tmp_path: Path) -> None:
    history = HEADER + "H1,1,M1,P1,2024-01-02,97810,,2,,11,\n"
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-02-01,97810,,1,,11,\n")
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--policy", str(policy), "--history", "-",
                                  str(claims)], input=history)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"][0]["related"] == [{"claim_id": "H1",
                                                                     "line": 1}]
    both = runner.invoke(main, ["run", "--policy", str(policy), "--history", "-", "-"],
                         input=history)
    assert both.exit_code == 2
    assert "the claims and the history cannot both be standard input" in both.stderr


def test_run_reads_a_pipe_with_two_jobs(policy: Path, tmp_path: Path) -> None:
    # a real pipe into the program, split between two processes: the same bytes as the file
    text = HEADER + "".join(f"C{i},1,M{i % 50},P1,2024-03-{1 + i % 28:02},97810,,1,,11,\n"
                            for i in range(12_000))
    claims = write(tmp_path / "claims.csv", text)
    command = [sys.executable, "-m", "policydsl.cli", "run", "--policy", str(policy),
               "--jobs", "2", "--no-cache"]
    piped = subprocess.run([*command, "-"], input=text.encode(), capture_output=True,
                           check=False)
    from_file = subprocess.run([*command, str(claims)], capture_output=True, check=False)
    assert piped.returncode == from_file.returncode == 0
    assert piped.stdout == from_file.stdout
    assert piped.stdout.count(b"\n") == 12_000  # 10,000 lines and more are split


def test_run_of_empty_standard_input_writes_no_record(policy: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--policy", str(policy), "-"], input="")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_run_and_check_work_in_a_working_directory_that_was_removed(
        policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the cache key and the paths shown asked the system for the working directory
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    ran = policyc("run", "--policy", str(policy), "--cache-dir", str(tmp_path / "cache"),
                  str(claims))
    assert (ran.exit_code, json.loads(ran.stdout)["decision"]) == (0, "allow")
    checked = policyc("check", str(policy))
    assert checked.exit_code == 0


def test_run_unusable_policy_exits_2_with_the_reason(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.pol", "policy t\nlimit 97810 per 90d <=\n")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    result = policyc("run", "--policy", str(bad), str(claims))
    assert result.exit_code == 2
    assert "error E001" in result.stderr


def test_run_claims_file_without_required_columns_exits_2(policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", "claim_id,line\nC1,1\n")
    result = policyc("run", "--policy", str(policy), str(claims))
    assert result.exit_code == 2
    assert "code" in result.stderr


def test_run_output_in_a_missing_folder_exits_2_before_judging(policy: Path,
                                                              tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    out = tmp_path / "missing" / "out.jsonl"
    result = policyc("run", "--policy", str(policy), "--out", str(out), str(claims))
    assert result.exit_code == 2
    assert result.stderr == f"policyc: cannot write {out}: no such folder: {out.parent}\n"


def test_run_output_that_is_an_input_empty_or_under_a_file_exits_2_before_judging(
        policy: Path, tmp_path: Path) -> None:
    text = HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n"
    claims = write(tmp_path / "claims.csv", text)
    history = write(tmp_path / "history.csv", text)
    for out, said in ((str(claims), "it is the claims file"),
                      (str(tmp_path / "." / "history.csv"), "it is the history file"),
                      ("", "the path is empty (use '-' for standard output)"),
                      (str(claims / "out.jsonl"), f"not a folder: {claims}")):
        result = policyc("run", "--policy", str(policy), "--history", str(history),
                         "--out", out, str(claims))
        assert (result.exit_code, result.stderr) == (2, f"policyc: cannot write {out}: {said}\n")
    assert claims.read_text() == history.read_text() == text  # neither was emptied


def test_an_output_never_overwrites_a_policy_or_its_cases(policy: Path, tmp_path: Path) -> None:
    # a slip of the command line (--out and --junit take the next word) replaced the policy
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    other = write(tmp_path / "other.pol", "policy t.other\n")
    cases = write(tmp_path / "other.cases.csv", "case,claim_id\n")
    kept = {path: path.read_bytes() for path in (policy, other, cases)}
    link = tmp_path / "decisions.jsonl"  # a link's name hides the policy it leads to
    link.symlink_to(other)
    for out, said in ((policy, "it is the policy file"),
                      (link, "it is a policy file or a policy's cases, which it would "
                             "overwrite"),
                      (other, "it is a policy file or a policy's cases, which it would "
                              "overwrite"),
                      (cases, "it is a policy file or a policy's cases, which it would "
                              "overwrite")):
        result = policyc("run", "--policy", str(policy), "--out", str(out), str(claims))
        assert (result.exit_code, result.stderr) == (2, f"policyc: cannot write {out}: {said}\n")
        result = policyc("test", "--junit", str(out), str(policy))
        assert result.exit_code == 2
        assert result.stderr == (f"policyc: cannot write {out}: it is a policy file or a "
                                 "policy's cases, which it would overwrite\n")
    assert {path: path.read_bytes() for path in kept} == kept


def test_test_threshold_must_be_a_number(policy: Path) -> None:
    result = policyc("test", "--threshold", "nan", str(policy))
    assert result.exit_code == 2
    assert "Invalid value for '--threshold': is not a number" in result.stderr


def test_run_output_dash_is_standard_output(policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    with_dash = policyc("run", "--policy", str(policy), "--out", "-", str(claims))
    assert with_dash.exit_code == 0
    assert with_dash.stdout == policyc("run", "--policy", str(policy), str(claims)).stdout
    assert with_dash.stdout.startswith('{"claim_id":"C1"')
    assert not (tmp_path / "-").exists() and not Path("-").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="this system has no /dev/full")
def test_run_output_that_cannot_be_written_exits_2(policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n")
    result = policyc("run", "--policy", str(policy), "--out", "/dev/full", str(claims))
    assert result.exit_code == 2
    assert result.stderr == "policyc: cannot write /dev/full: No space left on device\n"


def test_run_reference_engine_agrees(policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + "".join(
        f"C{i},1,M1,P1,2024-03-{i:02d},97810,,1,,11,\n" for i in range(1, 6)))
    compiled = policyc("run", "--policy", str(policy), str(claims)).stdout
    reference = policyc("run", "--policy", str(policy), "--engine", "reference",
                        str(claims)).stdout
    assert compiled == reference
    assert compiled.count('"decision":"deny"') == 3


def test_extends_finds_policies_in_sibling_folders(tmp_path: Path) -> None:
    (tmp_path / "medicare").mkdir()
    (tmp_path / "commercial").mkdir()
    write(tmp_path / "medicare" / "base.pol", "policy medicare.base\n"
          "rule acu: limit 97810 per 90d <= 1\nrequire auth for 63650\n")
    child = write(tmp_path / "commercial" / "payer.pol", "policy commercial.payer\n"
                  "extends medicare.base\nrule acu: limit 97810 per 90d <= 2\n")
    claims = write(tmp_path / "claims.csv", HEADER + (
        "C1,1,M1,P1,2024-03-01,97810,,1,,11,\n" "C2,1,M1,P1,2024-03-02,97810,,1,,11,\n"
        "C3,1,M1,P1,2024-03-02,63650,,1,,11,\n"))
    rows = [json.loads(x) for x in policyc("run", "--policy", str(child),
                                           str(claims)).stdout.splitlines()]
    assert [r["decision"] for r in rows] == ["allow", "allow", "deny"]
    assert rows[2]["findings"][0]["rule"] == "medicare.base/auth@3"


def test_extends_finds_sibling_folders_from_inside_the_policy_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the policy named as a bare file name, from its own folder: ".." is still beside it
    (tmp_path / "medicare").mkdir()
    (tmp_path / "commercial").mkdir()
    write(tmp_path / "medicare" / "base.pol", "policy medicare.base\nrequire auth for 63650\n")
    write(tmp_path / "commercial" / "payer.pol",
          "policy commercial.payer\nextends medicare.base\n")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-02,63650,,1,,11,\n")
    monkeypatch.chdir(tmp_path / "commercial")
    checked = policyc("check", "payer.pol")
    assert checked.exit_code == 0, checked.output
    ran = policyc("run", "--policy", "payer.pol", str(claims))
    assert ran.exit_code == 0, ran.output
    row = json.loads(ran.stdout)
    assert row["findings"][0]["rule"] == "medicare.base/auth@2"
    assert row["findings"][0]["source"] == f"{tmp_path / 'medicare' / 'base.pol'}:2:1"


def test_extends_of_a_name_two_sibling_files_declare_is_an_error(tmp_path: Path) -> None:
    # a scratch copy in another folder must not quietly stand in for the real parent
    for folder in "drafts", "medicare", "commercial":
        (tmp_path / folder).mkdir()
    write(tmp_path / "drafts" / "base.pol", "policy medicare.base\n# an empty draft\n")
    write(tmp_path / "medicare" / "base.pol", "policy medicare.base\nrequire auth for 63650\n")
    child = write(tmp_path / "commercial" / "payer.pol",
                  "policy commercial.payer\nextends medicare.base\n")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-02,63650,,1,,11,\n")
    checked = policyc("check", str(child))
    assert checked.exit_code == 1
    assert (f"{tmp_path / 'medicare' / 'base.pol'}:1:8: error E108: policy 'medicare.base' is "
            f"already defined in {tmp_path / 'drafts' / 'base.pol'}") in checked.output
    ran = policyc("run", "--policy", str(child), str(claims))
    assert ran.exit_code == 2
    assert ran.stdout == ""


def test_extends_finds_the_policys_own_folder_before_the_folders_beside_it(
        tmp_path: Path) -> None:
    for folder in "other", "payer":
        (tmp_path / folder).mkdir()
    write(tmp_path / "other" / "base.pol", "policy t.base\n# someone else's\n")
    write(tmp_path / "payer" / "base.pol", "policy t.base\nrequire auth for 63650\n")
    child = write(tmp_path / "payer" / "child.pol", "policy t.child\nextends t.base\n")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-02,63650,,1,,11,\n")
    assert policyc("check", str(child)).exit_code == 0
    ran = policyc("run", "--policy", str(child), str(claims))
    assert json.loads(ran.stdout)["findings"][0]["rule"] == "t.base/auth@2"

def test_folder_runs_every_policy_no_other_extends(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    write(folder / "a.pol", "policy a\nrequire auth for 63650\n")
    write(folder / "b.pol", "policy b\nextends a\nrequire auth for 63685\n")
    write(folder / "c.pol", "policy c\nlimit 97810 per day <= 0\n")
    claims = write(tmp_path / "claims.csv", HEADER + (
        "C1,1,M1,P1,2024-03-01,63650,,1,,11,\n" "C1,2,M1,P1,2024-03-01,63685,,1,,11,\n"
        "C1,3,M1,P1,2024-03-01,97810,,1,,11,\n"))
    rows = [json.loads(x) for x in policyc("run", "--policy", str(folder),
                                           str(claims)).stdout.splitlines()]
    assert [r["decision"] for r in rows] == ["deny", "deny", "deny"]


# --- compile ------------------------------------------------------------------------------


def test_compile_emits_python_source(policy: Path) -> None:
    result = policyc("compile", "--emit", "python", str(policy))
    assert result.exit_code == 0
    compile(result.output, "generated", "exec")
    assert result.output == policyc("compile", str(policy)).output


def test_compile_of_an_unusable_policy_says_so_and_exits_2(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.pol", "policy p\nlimit 9781 per 90d <= 1\n")
    result = policyc("compile", str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.endswith(f"policyc: the policy {bad} cannot be used\n")
    assert f"{bad}:2:7: error E201" in result.stderr


# --- test ---------------------------------------------------------------------------------

CASES = """case,claim_id,line,member_id,provider_id,date,code,modifiers,units,dx,pos,auth,\
expect,carc,rule
two sessions are allowed,C1,1,M1,P1,2024-03-01,97810,,1,,11,,allow,,
two sessions are allowed,C2,1,M1,P1,2024-03-02,97810,,1,,11,,allow,,
third session in 90 days is denied,H1,1,M1,P1,2024-03-01,97810,,1,,11,,history,,
third session in 90 days is denied,H2,1,M1,P1,2024-03-02,97810,,1,,11,,history,,
third session in 90 days is denied,C3,1,M1,P1,2024-03-03,97810,,1,,11,,deny,119,acu
"""


def test_policyc_test_fails_a_policy_that_cannot_be_used_even_without_cases(
        policy: Path, tmp_path: Path) -> None:
    # `policyc test policies/` in CI must not pass a folder holding a broken policy
    write(tmp_path / "pain.cases.csv", CASES)
    assert policyc("test", str(tmp_path)).exit_code == 0
    write(tmp_path / "broken.pol", "policy t.broken\naddon 6448 requires 64483\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path / 'broken.pol'}:2:7: error E201" in result.stderr


def test_policyc_test_finds_a_parent_among_the_paths_it_is_given(tmp_path: Path) -> None:
    # a draft kept apart from the shipped policies extends them when both are named, as
    # `check` finds it among the files it reads; alone, the E105 says how to fix it and no
    # E101 follows for the parent's set
    (tmp_path / "shipped" / "base").mkdir(parents=True)
    shipped = write(tmp_path / "shipped" / "base" / "pain.pol", POLICY.replace(
        "set FLUORO", "set ACU = 97810\nset FLUORO"))
    (tmp_path / "drafts").mkdir()
    draft = write(tmp_path / "drafts" / "new.pol",
                  "policy t.draft\nextends t.pain\nrule acu: limit ACU per 90d <= 1\n")
    write(tmp_path / "drafts" / "new.cases.csv", CASES.replace(
        "two sessions are allowed,C2,1,M1,P1,2024-03-02,97810,,1,,11,,allow,,",
        "two sessions are allowed,C2,1,M1,P1,2024-03-02,97810,,1,,11,,deny,119,acu"))
    for paths in ([shipped.parent, draft.parent], [draft.parent, shipped], [draft, shipped]):
        result = policyc("test", *map(str, paths))
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == "2 passed, 0 failed"  # the second: 1 in 90d
    alone = policyc("test", str(draft.parent))
    assert alone.exit_code == 2
    assert "error E105: unknown policy 't.pain' in extends" in alone.stderr
    assert "check and test also find it among the files they are given" in alone.stderr
    assert "E101" not in alone.stderr
    assert policyc("check", str(draft), str(shipped)).exit_code == 0
    # a draft copy of the parent beside the draft is found first: no E108 with the shipped
    # one (each policy was loaded alone before, and so passed)
    write(draft.parent / "pain.pol", shipped.read_text())
    both = policyc("test", str(shipped.parent), str(draft.parent))
    assert both.exit_code == 0, both.output


def test_policyc_test_passes_and_reports_coverage(policy: Path, tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES)
    junit = tmp_path / "junit.xml"
    result = policyc("test", "--coverage", "--junit", str(junit), str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 passed, 0 failed"
    coverage = {line.split()[0]: line.split()[1:3] for line in result.output.splitlines()
                if line.startswith("t.pain/")}
    assert coverage == {"t.pain/forbid@3": ["0", "0"], "t.pain/acu": ["1", "1"]}
    assert "coverage: 1/2 rules fired (50.0%)" in result.output
    assert policyc("test", "--coverage", "--threshold", "100", str(tmp_path)).exit_code == 1
    alone = policyc("test", "--threshold", "100", str(tmp_path))  # implies --coverage
    assert alone.exit_code == 1 and "coverage 50.00% is under the threshold 100%" in alone.output
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "0"


def test_policyc_test_coverage_names_a_statement_by_line_and_a_table_by_file(
        tmp_path: Path) -> None:
    """A table row's rules have the row's ``file:line:1`` as their source, but coverage counts
    the table as one rule and names it by its file; a statement by ``file:line``."""
    write(tmp_path / "ptp.tsv", "column1\tcolumn2\tdeletion_date\tmodifier_indicator\t"
          "rationale\n64483\t64484\t*\t0\tMisuse of column two code\n")
    write(tmp_path / "t.pol", 'policy t\ntable ptp "ptp.tsv"\nwhen 64483 forbid 77002\n')
    write(tmp_path / "t.cases.csv", "case,claim_id,line,member_id,provider_id,date,code,expect\n"
          "bundled,C1,1,M1,P1,2024-03-01,64483,allow\n"
          "bundled,C1,2,M1,P1,2024-03-01,64484,deny\n")
    result = policyc("test", "--coverage", str(tmp_path))
    assert result.exit_code == 0, result.output
    where = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()
             if line.startswith("t/")}
    assert where == {"t/table@2": str(tmp_path / "ptp.tsv"),
                     "t/forbid@3": f"{tmp_path / 't.pol'}:3"}


def test_policyc_test_junit_holds_only_what_xml_can(policy: Path, tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES.replace("two sessions are allowed",
                                                     'two\x01 <&> "sessions"'))
    junit = tmp_path / "junit.xml"
    policyc("test", "--junit", str(junit), str(tmp_path))
    names = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert names == ['two? <&> "sessions"', "third session in 90 days is denied"]


def test_policyc_test_junit_that_cannot_be_written_exits_2(policy: Path,
                                                           tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES)
    junit = tmp_path / "missing" / "junit.xml"
    result = policyc("test", "--junit", str(junit), str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"policyc: cannot write {junit}: No such file or directory\n"


def test_policyc_test_failure_shows_expected_and_actual(policy: Path, tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES.replace(",deny,119,acu", ",allow,,"))
    result = policyc("test", str(tmp_path / "pain.cases.csv"))
    assert result.exit_code == 1
    assert "FAIL " in result.output and ": third session in 90 days is denied" in result.output
    assert ("row 6: C3/1 97810 2024-03-03: expected allow; got deny by t.pain/acu (CARC 119, "
            in result.output)
    assert result.output.splitlines()[-1] == "1 passed, 1 failed"


def test_policyc_test_bad_cases_file_exits_2(policy: Path, tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES.replace("history", "paid"))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert "pain.cases.csv:4: expect must be one of" in result.stderr


def test_policyc_test_reports_every_bad_row_of_a_cases_file_at_once(
        policy: Path, tmp_path: Path) -> None:
    # one run shows them all, not one a run; no case of the file is judged
    rows = CASES.splitlines()
    rows[1] = rows[1].replace(",allow,", ",maybe,")
    rows[2] = rows[2].replace("2024-03-02", "2024-13-02")  # a row that continues a case
    rows[5] = rows[5].replace(",deny,119,acu", ",allow,119,")
    write(tmp_path / "pain.cases.csv", "\n".join(rows) + "\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    cases = tmp_path / "pain.cases.csv"
    assert result.stderr.splitlines() == [
        f"policyc: {cases}:2: expect must be one of allow, deny, review, history, not 'maybe'",
        f"policyc: {cases}:3: date '2024-13-02' is not a valid YYYY-MM-DD date",
        f"policyc: {cases}:6: expect allow with a carc: an allowed line has no findings; "
        "leave the carc empty, or expect deny or review"]
    assert result.stdout == ""


def test_policyc_test_a_cases_file_without_its_policy_says_which_file_it_needs(
        tmp_path: Path) -> None:
    # named alone or found in a folder: no E002 at line 0 of a file the user never named
    folder = tmp_path / "drafts"
    folder.mkdir()
    cases = write(folder / "tpi.cases.csv", CASES)
    for given in (cases, folder):
        result = policyc("test", str(given))
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"policyc: {cases}: no policy to test: a cases file tests the policy file of its "
            f"own name beside it, and {folder / 'tpi.pol'} does not exist"]
        assert result.stdout == ""
    # a link to nothing is named as such
    (folder / "tpi.pol").symlink_to(folder / "gone.pol")
    result = policyc("test", str(cases))
    assert result.exit_code == 2
    assert result.stderr.endswith(f"and {folder / 'tpi.pol'} is a link to nothing\n")


def test_policyc_test_warns_of_a_cases_file_that_holds_no_cases(
        policy: Path, tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES.splitlines()[0] + "\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"policyc: warning: {tmp_path / 'pain.cases.csv'} holds no cases"]
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed"


def test_policyc_test_rows_before_the_first_case_name_each_say_they_need_one(
        policy: Path, tmp_path: Path) -> None:
    rows = CASES.splitlines()
    rows[1] = rows[1].replace("two sessions are allowed,", ",", 1)
    rows[2] = rows[2].replace("two sessions are allowed,", ",", 1)
    write(tmp_path / "pain.cases.csv", "\n".join(rows) + "\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    said = ("this row needs a case name: a row without one continues the case above, and no "
            "row above names one")
    assert result.stderr.splitlines() == [
        f"policyc: {tmp_path / 'pain.cases.csv'}:{row}: {said}" for row in (2, 3)]


def test_policyc_test_refuses_a_case_name_used_again_after_other_cases(
        policy: Path, tmp_path: Path) -> None:
    # a copied row that lands below another case would be a second case of the same name,
    # judged apart; the rows that continue it are fine
    rows = CASES.splitlines()
    write(tmp_path / "pain.cases.csv", "\n".join([*rows, rows[1]]) + "\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"policyc: {tmp_path / 'pain.cases.csv'}:7: case 'two sessions are allowed' began on "
        "row 2, with other cases since: the rows of a case are consecutive; move this row up "
        "to it, or give this case a name of its own\n")


def test_policyc_test_a_misspelt_column_stops_the_run(policy: Path, tmp_path: Path) -> None:
    # with the column read as unknown and ignored, the case would pass without its checks
    write(tmp_path / "pain.cases.csv", CASES.replace("expect,carc,rule", "expect,carcs,rule"))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert "pain.cases.csv:1: unknown column(s) 'carcs'; a cases file has the columns " \
        "case, expect, carc, rule, claim_id" in result.stderr


def test_policyc_test_an_empty_header_name_is_no_column(policy: Path, tmp_path: Path) -> None:
    # a spreadsheet's trailing comma: read as run reads it, not as an unknown column
    rows = CASES.splitlines(keepends=True)
    write(tmp_path / "pain.cases.csv",
          "".join(row.replace("\n", ",\n") for row in rows))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 0, result.output


def test_policyc_test_a_row_of_commas_alone_is_no_row(policy: Path, tmp_path: Path) -> None:
    # what a spreadsheet exports for an empty row; it made the reader and the cases disagree
    width = CASES.splitlines()[0].count(",")
    write(tmp_path / "pain.cases.csv", CASES + "," * width + "\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 passed, 0 failed"


@pytest.mark.parametrize(("expect", "carc", "rule", "message"), [
    ("allow", "119", "", "expect allow with a carc: an allowed line has no findings; leave the "
     "carc empty, or expect deny or review"),
    ("allow", "", "acu", "expect allow with a rule: an allowed line has no findings; leave the "
     "rule empty, or expect deny or review"),
    ("history", "119", "acu", "expect history with a carc and rule: a history line is not "
     "judged; leave the carc and rule empty, or expect deny or review"),
])
def test_policyc_test_a_case_that_can_never_pass_is_a_bad_row(
        policy: Path, tmp_path: Path, expect: str, carc: str, rule: str, message: str) -> None:
    bad = CASES + f"never,C9,1,M9,P1,2024-03-01,97810,,1,,11,,{expect},{carc},{rule}\n"
    write(tmp_path / "pain.cases.csv", bad)
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert f"pain.cases.csv:7: {message}" in result.stderr


def test_policyc_test_the_header_must_have_case_and_expect(policy: Path,
                                                           tmp_path: Path) -> None:
    # checked on the header itself, with no data row, and whatever the first row's length
    write(tmp_path / "pain.cases.csv", "claim_id,line,member_id,date,code\n")
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert "pain.cases.csv:1: a cases file needs the columns 'case' and 'expect'" in \
        result.stderr
    short = "claim_id,line,member_id,date,code,case,expect\nC1,1,M1,2024-03-01,97810\n"
    write(tmp_path / "pain.cases.csv", short)
    result = policyc("test", str(tmp_path))
    assert "needs the columns" not in result.stderr


def test_policyc_test_a_rule_the_policy_does_not_have_is_named(policy: Path,
                                                                tmp_path: Path) -> None:
    write(tmp_path / "pain.cases.csv", CASES.replace(",deny,119,acu", ",deny,119,acu-90"))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 1
    assert ("expected rule acu-90, which the policy does not have (no rule has that id or "
            "name); got deny by t.pain/acu") in result.output


def test_policyc_test_a_cases_file_without_a_column_names_the_file_once(
        policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "pain.cases.csv"
    write(cases, CASES.replace(",code,", ",cpt,"))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"policyc: {cases}: header lacks column(s) code")


def test_policyc_test_a_byte_that_is_not_utf8_is_reported_at_its_row(
        policy: Path, tmp_path: Path) -> None:
    rows = CASES.encode().splitlines(keepends=True)
    (tmp_path / "pain.cases.csv").write_bytes(b"".join(
        [*rows[:3], rows[3].replace(b"third", b"th\xe9rd"), *rows[4:]]))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"policyc: {tmp_path / 'pain.cases.csv'}:4: not UTF-8 "
                             "text: byte 0xe9 at column 3\n")


def test_policyc_test_cases_file_with_a_quote_never_closed(policy: Path,
                                                            tmp_path: Path) -> None:
    rows = CASES.splitlines(keepends=True)
    write(tmp_path / "pain.cases.csv", "".join([*rows[:2], '"' + rows[2], *rows[3:]]))
    result = policyc("test", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "pain.cases.csv:3: unexpected end of data: check the quotes of this row\n")


def test_policyc_console_script_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "policydsl.cli", "--version"],
                          capture_output=True, text=True, check=True)
    assert "policyc, version" in done.stdout


# --- fmt ----------------------------------------------------------------------------------


def test_fmt_check_then_rewrite_then_clean(tmp_path: Path) -> None:
    messy = write(tmp_path / "m.pol", "policy   m  # the policy\nwhen 64483   forbid 77002 "
                  "unless modifier xu,59\n\n\n\nlimit 97810 per 90d<=12\n")
    check = policyc("fmt", "--check", str(messy))
    assert check.exit_code == 1
    assert f"would reformat {messy}" in check.output
    assert messy.read_text().startswith("policy   m")  # --check changes nothing
    assert policyc("fmt", str(messy)).exit_code == 0
    assert messy.read_text() == ("policy m  # the policy\n"
                                 "when 64483 forbid 77002 unless modifier XU, 59\n\n"
                                 "limit 97810 per 90d <= 12\n")
    assert policyc("fmt", "--check", str(messy)).exit_code == 0


MESSY = "policy   m\nlimit 97810 per 90d<=12\n"


def test_fmt_formats_the_file_a_link_names_and_keeps_the_link(tmp_path: Path) -> None:
    # the link was replaced by a formatted copy, and the file it named left as it was
    (tmp_path / "real").mkdir()
    target = write(tmp_path / "real" / "m.pol", MESSY)
    link = tmp_path / "m.pol"
    link.symlink_to(target)
    assert policyc("fmt", str(link)).exit_code == 0
    assert link.is_symlink()
    assert target.read_text() == "policy m\nlimit 97810 per 90d <= 12\n"


def test_fmt_leaves_a_file_it_may_not_write(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # a read-only file was replaced all the same (renaming needs only the folder's permission)
    messy = write(tmp_path / "m.pol", MESSY)
    monkeypatch.setattr("policydsl.replacing._may_write", lambda path: False)
    result = policyc("fmt", str(messy))
    assert result.exit_code == 1
    assert result.stderr == f"policyc: cannot write {messy}: Permission denied\n"
    assert messy.read_text() == MESSY


def test_fmt_shows_a_file_name_with_a_line_break_escaped(tmp_path: Path) -> None:
    messy = write(tmp_path / "a\nb.pol", MESSY)
    result = policyc("fmt", "--check", str(messy))
    assert result.stdout == f"would reformat {str(messy)!r}\n".replace("'", "")


@pytest.mark.parametrize(("bom", "end"), [(b"", b"\r\n"), (b"\xef\xbb\xbf", b"\r\n"),
                                         (b"\xef\xbb\xbf", b"\n"), (b"", b"\r")])
def test_fmt_keeps_a_files_byte_order_mark_and_line_ends(tmp_path: Path, bom: bytes,
                                                         end: bytes) -> None:
    # what `--check` passes and what a rewrite writes agree: the file's own line ends and BOM
    # are kept, whether or not its layout changes
    canonical = tmp_path / "c.pol"
    canonical.write_bytes(bom + end.join([b"policy c", b"limit 97810 per 90d <= 1", b""]))
    messy = tmp_path / "m.pol"
    messy.write_bytes(bom + end.join([b"policy   m", b"limit  97810 per 90d<=1", b""]))
    assert policyc("fmt", "--check", str(canonical)).exit_code == 0
    assert policyc("fmt", "--check", str(messy)).exit_code == 1
    assert policyc("fmt", str(tmp_path)).output == f"reformatted {messy}\n"
    assert messy.read_bytes() == bom + end.join([b"policy m", b"limit 97810 per 90d <= 1", b""])
    assert policyc("fmt", "--check", str(tmp_path)).exit_code == 0


def test_fmt_makes_a_file_of_mixed_line_ends_use_its_first_throughout(tmp_path: Path) -> None:
    mixed = tmp_path / "m.pol"
    mixed.write_bytes(b"policy m\r\nlimit 97810 per 90d <= 1\n")
    assert policyc("fmt", "--check", str(mixed)).exit_code == 1
    assert policyc("fmt", str(mixed)).exit_code == 0
    assert mixed.read_bytes() == b"policy m\r\nlimit 97810 per 90d <= 1\r\n"


def test_fmt_reports_syntax_errors_and_leaves_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.pol", "policy b\nlimit 97810 per\n")
    result = policyc("fmt", str(bad))
    assert result.exit_code == 1
    assert "error E001" in result.stderr
    assert bad.read_text() == "policy b\nlimit 97810 per\n"


def test_fmt_warns_when_it_moves_unnamed_rules_whose_ids_follow_their_line(
        tmp_path: Path) -> None:
    path = write(tmp_path / "pain.pol", "policy acme.pain\nset FLUORO = 77002,\n    77003\n"
                                        "when 64483 forbid FLUORO\nrule named: exclusive 20553, "
                                        "20552\nlimit  97810 per 90d <= 12\n")
    checked = policyc("fmt", "--check", str(path))
    assert checked.exit_code == 1
    assert (f"policyc: warning: {path}: formatting moves unnamed rules, whose ids follow their "
            "line: forbid@4 would be forbid@3, limit@6 would be limit@5; a `disable` or test "
            "case naming them must follow (name a rule to keep its id)") in checked.stderr
    done = policyc("fmt", str(path))
    assert done.exit_code == 0 and "forbid@4 is now forbid@3, limit@6 is now limit@5" in (
        done.stderr)
    # a reflow within lines moves no rule: no warning
    write(tmp_path / "pain.pol", "policy acme.pain\nwhen 64483 forbid  77002\n")
    assert "warning" not in policyc("fmt", str(path)).stderr


def test_fmt_reports_an_unreadable_file_and_formats_the_others(tmp_path: Path) -> None:
    messy = "policy {}\nlimit  97810 per 90d <= 1\n"
    first = write(tmp_path / "a.pol", messy.format("a"))
    broken = tmp_path / "b.pol"
    broken.write_bytes(b"policy b\nset A = \xff\n")  # not UTF-8
    last = write(tmp_path / "c.pol", messy.format("c"))
    result = policyc("fmt", str(tmp_path))
    assert result.exit_code == 1
    assert (f"{broken}:2:9: error E002: cannot read {broken}: it is not UTF-8 text (byte 0xff);"
            " save it as UTF-8\n    set A = \ufffd\n            ^\n") in result.stderr
    assert first.read_text() == last.read_text().replace("policy c", "policy a") == (
        "policy a\nlimit 97810 per 90d <= 1\n")
    assert broken.read_bytes() == b"policy b\nset A = \xff\n"
    assert policyc("fmt", "--check", str(broken)).exit_code == 1


def test_fmt_reports_a_file_it_cannot_write_and_leaves_it_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messy = write(tmp_path / "m.pol", "policy m\nlimit  97810 per 90d <= 1\n")
    messy.chmod(0o640)

    def refuse(source: object, target: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr(os, "replace", refuse)
    result = policyc("fmt", str(messy))
    assert result.exit_code == 1
    assert f"policyc: cannot write {messy}: Permission denied" in result.stderr
    assert "reformatted" not in result.stdout
    assert messy.read_text() == "policy m\nlimit  97810 per 90d <= 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pol"]  # no temporary file left
    monkeypatch.undo()
    assert policyc("fmt", str(messy)).exit_code == 0
    assert messy.read_text() == "policy m\nlimit 97810 per 90d <= 1\n"
    assert messy.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions


def test_run_jobs_2_gives_the_same_bytes_as_one_job(policy: Path, tmp_path: Path) -> None:
    rows = [f"C{i},{1 + i % 3},M{i % 997},P{i % 2},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
            f"{('64483', '77002', '97810', '77003')[i % 4]},,1,,11,\n" for i in range(12_000)]
    rows[5_000] = "BAD,1,M1,P1,2024-02-31,97810,,1,,11,\n"
    claims = write(tmp_path / "claims.csv", HEADER + "".join(rows))
    for fmt in ("jsonl", "csv"):
        one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
        assert policyc("run", "--policy", str(policy), "--format", fmt, "--out", str(one),
                       str(claims)).exit_code == 1
        assert policyc("run", "--policy", str(policy), "--format", fmt, "--jobs", "2",
                       "--out", str(two), str(claims)).exit_code == 1
        assert one.read_bytes() == two.read_bytes()
        assert one.read_bytes().count(b"\n") == 12_000 + (fmt == "csv")


# --- run in parallel: the same bytes whatever --jobs -------------------------------------------


@pytest.fixture
def small_batches_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let even a few lines be split between workers."""
    monkeypatch.setattr("policydsl.batch.MIN_PARALLEL_LINES", 1)


def run_with_jobs(*args: str, jobs: tuple[str, ...] = ("1", "2", "3")) -> list[Result]:
    """``policyc run ARGS`` once per --jobs value (and once without --jobs)."""
    results = [policyc("run", *args, "--jobs", j) for j in jobs]
    results.append(policyc("run", *args))
    return results


AWKWARD = HEADER.replace("auth", "auth,notes") + "".join([
    "C1,1,M1,P1,2024-03-01,64483,,1,M54.16,11,\n",
    "C1,2,M1,P1,2024-03-01,77002,,1,,11,\n",
    'C2,1,M2,"Smith, J",2024-03-01,97810,,,,,\n',           # a quoted comma
    "\n",                                                    # a blank line: no row
    'C2,2," M2 ",P2,2024-03-02,97810,,,,,,"two\nlines"\n',   # notes over two lines
    "C3,1,,P1,2024-03-01,97810,,,,,\n",                      # no member: malformed
    "C4,1,M4,P1,2024-13-01,97810,,,,,\n",                    # a bad date: malformed
    "C4,2,M4,P1,2024-03-05,97810,,,,,,,\n",                  # a field too many: malformed
    "C5,1,M5\n",                                             # a short row: malformed
    *(f"C{9 + i},1,M{i % 7},P1,2024-04-{1 + i % 28:02d},97810,,,,,\n" for i in range(40)),
    'C99,1,"M3",P1,2024-05-01,64483,,1,,11,\n',
    "C99,2,M3,P1,2024-05-01,77003,59,1,,11,\n",
])


def test_run_parallel_quoted_and_malformed_rows_give_the_same_bytes(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None) -> None:
    claims = tmp_path / "claims.csv"
    for ends in ("\r", "\r\n", "\n"):  # a lone \r ends lines too: the streaming reader reads
        claims.write_bytes(AWKWARD.replace("\n", ends).encode())
        for fmt in ("csv", "jsonl"):
            results = run_with_jobs("--policy", str(policy), "--format", fmt, str(claims))
            assert {r.exit_code for r in results} == {1}
            assert len({r.stdout_bytes for r in results}) == 1
    rows = [json.loads(line) for line in results[0].stdout.splitlines()]
    assert len(rows) == 50
    errors = [(r["claim_id"], r["findings"][0]["source"]) for r in rows
              if r["decision"] == "error"]
    assert errors == [("C3", f"{claims}:8:1"), ("C4", f"{claims}:9:1"), ("C4", f"{claims}:10:1"),
                      ("C5", f"{claims}:11:1")]
    assert [r["decision"] for r in rows[:4]] == ["allow", "deny", "allow", "allow"]


def test_run_parallel_a_field_over_the_csv_limit_is_one_malformed_row(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None) -> None:
    big = "x" * (csv.field_size_limit() + 1)
    claims = write(tmp_path / "claims.csv", AWKWARD.replace(
        "C5,1,M5\n", f"C5,1,M5,P1,2024-03-01,97810,,,,,{big}\n"))
    results = run_with_jobs("--policy", str(policy), str(claims))
    assert {r.exit_code for r in results} == {1}
    assert len({r.stdout_bytes for r in results}) == 1
    rows = [json.loads(line) for line in results[0].stdout.splitlines()]
    assert len(rows) == 50
    assert rows[7]["findings"][0]["message"] == (
        f"row 11: a field is longer than {csv.field_size_limit():,} characters")


def test_run_parallel_a_byte_that_is_not_utf8_is_one_malformed_row(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None) -> None:
    # a Latin-1 name in one row: that row is an error (exit 1), the batch is adjudicated
    claims = tmp_path / "claims.csv"
    for ends in ("\r", "\r\n", "\n"):
        claims.write_bytes(AWKWARD.replace("\n", ends).encode().replace(
            b"C4,1,M4,P1,2024-13-01", b"C4,1,M\xe94,P1,2024-03-01").replace(
            b'C2,2," M2 ",P2,2024-03-02,97810,,,,,,"two',
            b'C2,2,M2,P2,2024-03-02,97810,,,,,,"tw\xf6'))
        results = run_with_jobs("--policy", str(policy), str(claims))
        assert {r.exit_code for r in results} == {1}
        assert len({r.stdout_bytes for r in results}) == 1
        rows = [json.loads(line) for line in results[0].stdout.splitlines()]
        assert len(rows) == 50
        errors = [(r["findings"][0]["source"], r["findings"][0]["message"]) for r in rows
                  if r["decision"] == "error"]
        assert errors[:3] == [
            (f"{claims}:7:1", "row 7: not UTF-8 text: byte 0xf6 at column 37 on line 6"),
            (f"{claims}:8:1", "row 8: member_id is missing"),
            (f"{claims}:9:1", "row 9: not UTF-8 text: byte 0xe9 at column 7")]
        assert [r["decision"] for r in rows[:4]] == ["allow", "deny", "allow", "error"]
        # a row with a bad byte echoes its key values, but one that holds the byte
        echoed = [(r["claim_id"], r["line"], r["member_id"], r["date"], r["code"])
                  for r in rows if r["decision"] == "error"][:3:2]
        assert echoed == [("C2", 2, "M2", "2024-03-02", "97810"),
                          ("C4", 1, "", "2024-03-01", "97810")]


def test_run_parallel_reads_json_lines(policy: Path, tmp_path: Path,
                                       small_batches_in_parallel: None) -> None:
    lines = [json.dumps({"claim_id": f"C{i}", "line": 1 + i % 2, "member_id": f"M{i % 5}",
                         "provider_id": "P1", "date": f"2024-03-{1 + i % 20:02d}",
                         "code": ("64483", "77002", "97810")[i % 3]}) for i in range(30)]
    lines[4] = "{not json"
    lines[9] = json.dumps({"claim_id": "C9", "line": 1, "member_id": 7, "date": "2024-03-01",
                           "code": "97810"})
    lines[12] = ""
    claims = write(tmp_path / "claims.jsonl", "\n".join(lines) + "\n")
    results = run_with_jobs("--policy", str(policy), str(claims))
    assert {r.exit_code for r in results} == {1}
    assert len({r.stdout_bytes for r in results}) == 1
    assert results[0].stdout.count("\n") == 29
    assert '"source":"' + str(claims) + ':5:1"' in results[0].stdout


def test_run_parallel_a_json_member_past_64_bits_stays_one_member(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None) -> None:
    big = 2**64  # as a JSON number in one row and as a string in the other: the same member
    claims = write(tmp_path / "claims.jsonl", "".join(
        [f'{{"claim_id":"F{i}","line":1,"member_id":"F{i}","date":"2024-03-01",'
         f'"code":"99213"}}\n' for i in range(40)]
        + [f'{{"claim_id":"B","line":1,"member_id":{big},"date":"2024-03-01",'
           f'"code":"64483"}}\n',
           f'{{"claim_id":"B","line":2,"member_id":"{big}","date":"2024-03-01",'
           f'"code":"77002"}}\n']))
    results = run_with_jobs("--policy", str(policy), str(claims))
    assert len({r.stdout_bytes for r in results}) == 1
    last = json.loads(results[0].stdout.splitlines()[-1])
    assert (last["code"], last["decision"]) == ("77002", "deny")


def test_run_parallel_history_is_split_by_member_too(policy: Path, tmp_path: Path,
                                                     small_batches_in_parallel: None) -> None:
    history = write(tmp_path / "history.csv", HEADER + "".join(
        f"H{i},1,M{i % 6},P1,2024-01-{1 + i:02d},97810,,1,,11,\n" for i in range(12))
        + "H99,1,M1,P1,2024-01-40,97810,,1,,11,\nH98,x,M2,P1,2024-01-02,97810,,1,,11,\n")
    claims = write(tmp_path / "claims.csv", HEADER + "".join(
        f"C{i},1,M{i % 6},P1,2024-02-{1 + i:02d},97810,,1,,11,\n" for i in range(12)))
    results = run_with_jobs("--policy", str(policy), "--history", str(history), str(claims))
    assert {r.exit_code for r in results} == {1}
    assert len({r.stdout_bytes for r in results}) == 1
    assert len({r.stderr for r in results}) == 1
    assert results[0].stderr.splitlines() == [
        f"{history}:14: history row skipped: date '2024-01-40' is not a valid YYYY-MM-DD date",
        f"{history}:15: history row skipped: line 'x' is not a positive integer",
    ]
    assert results[0].stdout.count('"decision":"deny"') == 12  # two sessions paid each


def test_run_a_quote_left_open_in_history_hides_no_paid_line(
        tmp_path: Path, small_batches_in_parallel: None) -> None:
    """An open quote in a paid line's last field joined the paid lines after it into that
    field: they went uncounted, and a fourth session in 12 months was paid, with exit 0. The
    row is now skipped and said, and the paid lines after it count."""
    policy = write(tmp_path / "tpi.pol", "policy t.tpi\nlimit 20553 per 12mo <= 3 sessions\n")
    history = write(tmp_path / "history.csv", HEADER
                    + 'H1,1,M2,P1,2024-01-10,20553,,1,M79.18,11,"PA-7\n'
                    + "".join(f"H{i},1,M2,P1,2024-0{i}-10,20553,,1,M79.18,11,\n"
                              for i in (2, 3, 4)))
    claims = write(tmp_path / "claims.csv", HEADER + "C9,1,M2,P1,2024-06-10,20553,,1,,11,\n")
    results = run_with_jobs("--policy", str(policy), "--history", str(history), str(claims))
    for result in results:
        assert result.exit_code == 1
        assert '"decision":"deny"' in result.stdout
        assert result.stderr.splitlines() == [
            f"{history}:2: history row skipped: a quote opened on this row is not closed on "
            "its line, which would join lines 2-5 into one row: check its quotes (the lines "
            "after it are read as rows of their own)"]


@pytest.mark.parametrize(("args", "closes", "message"), [
    (["run", "--policy", "POLICY", "-"], "<&-",
     "policyc: <stdin>: cannot read: standard input is closed"),
    (["run", "--policy", "POLICY", "CLAIMS"], ">&-",
     "policyc: cannot write standard output: it is closed"),
    (["check", "POLICY"], ">&-", "policyc: cannot write standard output: it is closed"),
    (["run", "--policy", "POLICY", "--out", "-", "CLAIMS"], ">&-",
     "policyc: cannot write standard output: it is closed"),
])
def test_a_closed_standard_input_or_output_is_a_usage_error(
        policy: Path, tmp_path: Path, args: list[str], closes: str, message: str) -> None:
    # Python sees a closed stream as None: these were tracebacks (exit 1, "rows in error")
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,64483,,1,,11,\n")
    argv = [str(policy) if a == "POLICY" else str(claims) if a == "CLAIMS" else a
            for a in args]
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "policydsl.cli", *argv])
    done = subprocess.run(["sh", "-c", f"{command} {closes}"], capture_output=True,
                          text=True, check=False)
    assert (done.returncode, done.stderr.strip()) == (2, message)


@pytest.mark.parametrize("command", [["compile", "--emit", "python"], ["check"], ["test"]])
def test_a_reader_that_stops_reading_is_exit_2_for_every_command(
        policy: Path, command: list[str]) -> None:
    # click made it exit 1 ("findings") for check and test, and compile's lost output exit 0
    done = subprocess.Popen([sys.executable, "-m", "policydsl.cli", *command, str(policy)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert done.stdout is not None and done.stderr is not None
    done.stdout.close()  # the reader is gone before the first write
    stderr = done.stderr.read().decode()
    assert done.wait() == 2
    assert stderr == ("policyc: cannot write standard output: its reader stopped reading (a "
                      "broken pipe)\n")


def test_ctrl_c_is_exit_130_without_a_traceback(policy: Path) -> None:
    # click said "Aborted!" and exit 1, which reads as "rows in error"
    script = ("import policydsl.cli as cli\n"
              "def interrupted(*args, **kwargs):\n"
              "    raise KeyboardInterrupt\n"
              "cli.load = interrupted\n"
              f"cli.main(['compile', '--emit', 'python', {str(policy)!r}])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stderr) == (130, "\npolicyc: interrupted\n")


def test_run_out_with_a_closed_standard_output_writes_its_file(
        policy: Path, tmp_path: Path) -> None:
    claims = write(tmp_path / "claims.csv", HEADER + "C1,1,M1,P1,2024-03-01,64483,,1,,11,\n")
    out = tmp_path / "out.jsonl"
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "policydsl.cli", "run",
                                          "--policy", str(policy), "--out", str(out),
                                          str(claims)])
    done = subprocess.run(["sh", "-c", f"{command} >&-"], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert out.read_text().count("\n") == 1


def test_run_parallel_reference_engine_agrees(policy: Path, tmp_path: Path,
                                              small_batches_in_parallel: None) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_text(AWKWARD)
    compiled = policyc("run", "--policy", str(policy), "--jobs", "2", str(claims)).stdout
    reference = policyc("run", "--policy", str(policy), "--engine", "reference", "--jobs", "2",
                        str(claims)).stdout
    assert compiled == reference


def test_run_jobs_defaults_to_the_cpus_this_process_may_use() -> None:
    assert "the CPUs this process may use" in " ".join(policyc("run", "--help").output.split())
    from policydsl.batch import default_jobs
    from policydsl.parallel import available_cpus
    assert default_jobs() == available_cpus() >= 1


def test_run_as_a_program_flushes_everything_and_exits_with_its_status(
        policy: Path, tmp_path: Path) -> None:
    # as a program, run ends without the interpreter's teardown: nothing may be lost; with
    # --jobs 2 and --out, a team of workers writes the file and is not waited for
    history = write(tmp_path / "history.csv", HEADER + "H1,x,M1,P1,2024-01-02,97810,,2,,11,\n")
    claims = write(tmp_path / "claims.csv", HEADER + "".join(
        f"C{i},1,M{i % 50},P1,2024-02-{1 + i % 28:02d},97810,,{1 + i % 3},,11,\n"
        for i in range(3000)))
    many = write(tmp_path / "many.csv", HEADER + "C0,x,M1,P1,2024-02-01,97810,,1,,11,\n" + "".join(
        f"C{i},1,M{i % 900},P1,2024-02-{1 + i % 28:02d},97810,,{1 + i % 3},,11,\n"
        for i in range(1, MIN_PARALLEL_LINES + 2000)))
    for rows in claims, many:
        in_process = policyc("run", "--policy", str(policy), "--history", str(history),
                             "--jobs", "1", str(rows))
        for out in (None, tmp_path / "out.jsonl"):
            done = subprocess.run(
                [sys.executable, "-m", "policydsl.cli", "run", "--policy", str(policy),
                 "--history", str(history), str(rows), "--jobs", "2",
                 *(["--out", str(out)] if out else [])],
                capture_output=True, check=False, timeout=120)
            assert done.returncode == 1
            assert done.stderr.decode() == in_process.stderr
            assert (out.read_bytes() if out else done.stdout) == in_process.stdout_bytes


@pytest.mark.parametrize(("fmt", "jobs"), [("jsonl", "1"), ("csv", "1"), ("jsonl", "2")])
def test_run_into_a_pipe_whose_reader_left_exits_2_saying_so(policy: Path, tmp_path: Path,
                                                             fmt: str, jobs: str) -> None:
    """``policyc run ... | head -c 100``: the output did not all arrive, so the run did not
    do its job (exit 2, with the reason), where a buffered write would have lost the error
    and exited 0."""
    claims = write(tmp_path / "claims.csv", HEADER + "".join(
        f"C{i},1,M{i % 900},P1,2024-02-{1 + i % 28:02d},97810,,1,,11,\n"
        for i in range(MIN_PARALLEL_LINES + 2000)))  # far more than a pipe holds
    run = subprocess.Popen(
        [sys.executable, "-m", "policydsl.cli", "run", "--policy", str(policy), "--format", fmt,
         "--jobs", jobs, str(claims)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None and run.stderr is not None
    assert len(run.stdout.read(100)) == 100
    run.stdout.close()  # the reader leaves, as `head -c 100` does
    said = run.stderr.read().decode()
    assert run.wait(timeout=120) == 2
    assert said == "policyc: cannot write standard output: Broken pipe\n"


def test_run_parallel_writes_the_output_file_together(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None) -> None:
    claims = write(tmp_path / "claims.csv", AWKWARD)
    out = tmp_path / "out"
    for fmt in ("jsonl", "csv"):
        expected = policyc("run", "--policy", str(policy), "--format", fmt, "--jobs", "1",
                           str(claims)).stdout_bytes
        for jobs in ("2", "3"):
            out.write_bytes(b"x" * 100_000)  # longer than the output: it must not show
            result = policyc("run", "--policy", str(policy), "--format", fmt, "--jobs", jobs,
                             "--out", str(out), str(claims))
            assert result.exit_code == 1
            assert out.read_bytes() == expected
    only_errors = write(tmp_path / "bad.csv", HEADER + "C1,x,M1,P1,2024-03-01,97810,,,,,\n")
    policyc("run", "--policy", str(policy), "--jobs", "2", "--out", str(out), str(only_errors))
    assert out.read_bytes().count(b'"decision":"error"') == 1


def test_run_parallel_output_file_on_a_full_disk_exits_2(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("policydsl.scatter.os.posix_fallocate", disk_full, raising=False)
    # the file held the zeros of the space set aside: not decisions
    assert_a_full_disk_leaves_no_output(policy, tmp_path, jobs=2)


def assert_a_full_disk_leaves_no_output(policy: Path, tmp_path: Path, jobs: int) -> None:
    """``policyc run --out`` onto a disk that fills (as the caller made it): exit 2, the
    system's reason, and no output file left for a reader to take for decisions."""
    claims = write(tmp_path / "claims.csv", AWKWARD)
    out = tmp_path / "out.jsonl"
    result = policyc("run", "--policy", str(policy), "--jobs", str(jobs), "--out", str(out),
                     str(claims))
    assert result.exit_code == 2
    assert result.stderr == (f"policyc: cannot write {out}: No space left on device (the "
                             "partial file is removed)\n")
    assert not out.exists()


def test_run_output_cut_short_is_removed(policy: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # one process, a disk that fills after part of the records: the part looked like a batch
    # (a team sets the file's space aside first: the test above)
    real_write_all = cli_module._write_all

    def write_half(handle: Any, data: bytes) -> None:
        real_write_all(handle, data[:len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cli_module, "_write_all", write_half)
    assert_a_full_disk_leaves_no_output(policy, tmp_path, jobs=1)


def test_run_a_system_failure_is_not_blamed_on_the_output_file(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_more_files(jobs: int) -> int:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    claims = write(tmp_path / "claims.csv", AWKWARD)
    monkeypatch.setattr("policydsl.batch.parts_queue", no_more_files)
    out = tmp_path / "out.jsonl"
    result = policyc("run", "--policy", str(policy), "--jobs", "2", "--out", str(out),
                     str(claims))
    assert result.exit_code == 2
    assert result.stderr == "policyc: the run failed: [Errno 24] Too many open files\n"


def test_run_a_worker_that_dies_is_reported(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from policydsl import batch

    here = os.getpid()
    split = batch._split

    def dies_in_a_worker(*args: Any) -> Any:
        # every member splits the file (a member may take no part to judge, when another
        # takes them all first)
        if os.getpid() != here:
            os._exit(9)  # as if the system had killed it
        return split(*args)

    claims = write(tmp_path / "claims.csv", AWKWARD)
    monkeypatch.setattr("policydsl.batch._split", dies_in_a_worker)
    result = policyc("run", "--policy", str(policy), "--jobs", "2", "--out",
                     str(tmp_path / "out.jsonl"), str(claims))
    assert result.exit_code == 2
    assert result.stderr == ("policyc: the run failed: worker process 1 ended without an "
                             "answer\n")


def test_run_parallel_output_file_without_memory_mapping(
        policy: Path, tmp_path: Path, small_batches_in_parallel: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def cannot_map(*args: object, **kwargs: object) -> None:
        raise OSError("no mmap on this file system")

    claims = write(tmp_path / "claims.csv", AWKWARD)
    expected = policyc("run", "--policy", str(policy), "--jobs", "1", str(claims)).stdout_bytes
    monkeypatch.setattr("policydsl.scatter.mmap.mmap", cannot_map)
    out = tmp_path / "out.jsonl"
    assert policyc("run", "--policy", str(policy), "--jobs", "3", "--out", str(out),
                   str(claims)).exit_code == 1
    assert out.read_bytes() == expected


def test_every_package_of_the_source_is_installed() -> None:
    # pyproject.toml lists the packages: a new subpackage left out of it imports in a
    # checkout and is missing from `pip install .`
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    root = Path(__file__).resolve().parent.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]
    found = sorted(".".join(init.parent.relative_to(root).parts)
                   for init in (root / "policydsl").rglob("__init__.py"))
    assert sorted(declared) == found


def test_a_folder_reached_twice_is_read_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # policies given as a folder and a link to it: every policy was "defined twice" (E108),
    # and every case ran twice
    folder = tmp_path / "policies"
    folder.mkdir()
    write(folder / "a.pol", "policy t.a\nlimit 97810 per day <= 1\n")
    write(folder / "a.cases.csv", "case,expect,claim_id,line,member_id,date,code\n"
                                  "one a day,allow,C1,1,M1,2024-03-04,97810\n")
    (tmp_path / "link").symlink_to(folder)
    monkeypatch.chdir(tmp_path)
    check = policyc("check", "policies", "link")
    assert (check.exit_code, check.output) == (0, "0 error(s), 0 warning(s) in 1 file(s)\n")
    tested = policyc("test", "policies", "link")
    assert (tested.exit_code, tested.stdout) == (0, "1 passed, 0 failed\n")
