"""What ``policyc check`` reports: every error code of the front end, and every lint.

Each test writes a small policy to ``tmp_path`` and loads it as ``policyc check`` does
(``load_paths(..., lint=True)``), then pins the diagnostics: code, severity, line and column,
and what the message says. Each lint also has a near miss that must stay silent.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import ClaimLine, compile_text
from policydsl.diagnostics import CODES, Diagnostic, PolicyError, render_text
from policydsl.loader import load_paths
from policydsl.model import Validity, Window


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in ``tmp_path`` so that files are shown as ``x.pol``."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def check(tmp_path: Path, text: str, **others: str) -> list[Diagnostic]:
    """The diagnostics of ``x.pol`` (with ``others``, ``name=text``, written beside it)."""
    for name, body in others.items():
        write(tmp_path, f"{name}.pol", body)
    return load_paths([write(tmp_path, "x.pol", text)], lint=True).diagnostics


def where(diagnostics: list[Diagnostic]) -> list[tuple[str, str, int, int]]:
    """``(code, file, line, column)`` of each diagnostic, in report order."""
    return [(d.code, d.file, d.span.line, d.span.column) for d in diagnostics]


def one(diagnostics: list[Diagnostic], code: str) -> Diagnostic:
    """The only diagnostic of ``code``, checking its severity against the code's letter."""
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, diagnostics
    assert found[0].severity == ("error" if code.startswith("E") else "warning")
    return found[0]


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


# --- errors: syntax -----------------------------------------------------------------------


def test_e001_syntax_error_is_rendered_with_source_line_and_caret(tmp_path: Path) -> None:
    loaded = load_paths([write(tmp_path, "x.pol", """
        policy t.a
        limit 97810 per 90d 12
        """)], lint=True)
    (d,) = loaded.diagnostics
    assert (d.code, d.severity, d.span.line, d.span.column) == ("E001", "error", 2, 21)
    assert render_text(loaded.diagnostics, loaded.workspace.sources) == (
        "x.pol:2:21: error E001: unexpected '12'; expected '<=' or 'by'\n"
        "    limit 97810 per 90d 12\n"
        "                        ^^"
    )


def test_e001_incomplete_statement_at_end_of_file(tmp_path: Path) -> None:
    d = one(check(tmp_path, """
        policy t.a
        limit 97810 per 90d <=
        """), "E001")
    assert (d.span.line, d.span.column) == (2, 23)
    assert "incomplete at the end of the file" in d.message and "a number" in d.message


# --- errors: names and declarations -------------------------------------------------------


@pytest.mark.parametrize("bom", ["", "\ufeff"])
@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_compile_text_reads_line_ends_as_a_file_is_read(tmp_path: Path, end: str,
                                                        bom: str) -> None:
    # and a byte order mark (text read from a file with encoding="utf-8" keeps it)
    text = bom + end.join(["policy p", "limit 97810 per 90d <= 1", "limit 97811 per 90d <= 1",
                           ""])
    path = tmp_path / "p.pol"
    path.write_bytes(text.encode())
    loaded = load_paths([path])
    from_file = [rule.info.id for rule in loaded.workspace.rulesets["p"].rules]
    assert from_file == ["p/limit@2", "p/limit@3"]
    assert [rule.info.id for rule in compile_text(text).rules] == from_file
    with pytest.raises(PolicyError) as caught:
        compile_text(text.replace("97811", "9781"), name="p.pol")
    assert "p.pol:3:7: error E201" in str(caught.value)
    assert "\n    limit 9781 per 90d <= 1\n          ^^^^" in str(caught.value)


@pytest.mark.parametrize(("text", "said"), [
    (None, "not NoneType"), (b"policy p\n", "not bytes (decode the bytes first)")])
def test_compile_text_of_anything_but_text_is_a_type_error(text: object, said: str) -> None:
    with pytest.raises(TypeError, match=re.escape(f"the policy's text as a str, {said}")):
        compile_text(text)  # type: ignore[arg-type]



@pytest.mark.parametrize(("name", "said"), [
    (Path("x/y.pol"), f"not {type(Path()).__name__} (use load for a file, or pass str(path))"),
    (5, "not int"), (None, "not NoneType")])
def test_compile_text_names_its_policy_with_a_str(name: object, said: str) -> None:
    """A path, a number or None as the name is refused before parsing, not met as a
    TypeError inside code generation or as findings whose source reads ``None:2:1``."""
    with pytest.raises(TypeError, match=re.escape(f"the name its findings show as a str, {said}")):
        compile_text("policy p\nlimit 97810 per day <= 1\n", name)  # type: ignore[arg-type]

def test_e101_undefined_code_set(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit NOPE per 90d <= 12
        """)
    assert where(diagnostics) == [("E101", "x.pol", 2, 7)]
    assert one(diagnostics, "E101").message == "undefined code set 'NOPE'"


def test_e101_of_a_name_that_looks_like_a_code_says_it_is_no_code_either(
        tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set A = J058, 64483
        dx D = M5, M54.50
        when A forbid 77002
        require dx D for 97810
        when ESI forbid 77002
        """)
    assert [d.message for d in diagnostics] == [
        "undefined code set 'J058' (nor a procedure code: CPT 12345, 1234T, HCPCS A1234)",
        "undefined dx set 'M5' (nor an ICD-10-CM code: M54.50, M5450, M54.5*)",
        "undefined code set 'ESI'"]


def test_e101_dx_set_used_as_code_set(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        dx BACK = M54.50
        set FL = 77002
        limit BACK per 90d <= 12
        require dx FL for 97810
        """)
    assert codes(diagnostics) == ["E101", "E101"]  # no W306 for the sets: they are used
    d = diagnostics[0]
    assert (d.span.line, d.span.column) == (4, 7)
    assert "undefined code set 'BACK'" in d.message and "it is a dx set" in d.message
    assert "undefined dx set 'FL' (it is a code set)" in diagnostics[1].message


def test_e102_duplicate_set(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set ACU = 97810
        set ACU = 97811
        limit ACU per day <= 1
        """)
    assert where(diagnostics) == [("E102", "x.pol", 3, 5)]
    assert one(diagnostics, "E102").message == "set 'ACU' is already defined on line 2"


def test_e102_duplicate_rule_name(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        rule acu: limit 97810 per day <= 1
        rule acu: limit 97811 per day <= 1
        """)
    assert where(diagnostics) == [("E102", "x.pol", 3, 6)]
    assert one(diagnostics, "E102").message == "rule 't.a/acu' is already defined on line 2"


def test_e103_cyclic_sets_are_reported_once_per_edge(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set A = B
        set B = A, 97810
        limit A per day <= 1
        limit A per year <= 3
        """)
    # once where each edge closes the cycle, however many rules use the sets
    assert where(diagnostics) == [("E103", "x.pol", 2, 9), ("E103", "x.pol", 3, 9)]
    assert diagnostics[0].message == "set 'B' is defined in terms of itself: B -> A -> B"
    assert diagnostics[1].message == "set 'A' is defined in terms of itself: A -> B -> A"


def test_a_bad_set_used_by_several_rules_is_reported_once(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set ACU = 9781
        limit ACU per day <= 1
        limit ACU per year <= 3
        """)
    assert where(diagnostics) == [("E201", "x.pol", 2, 11)]


def test_e104_missing_policy_line(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        limit 97810 per day <= 1
        """)
    assert where(diagnostics) == [("E104", "x.pol", 1, 1)]
    assert "must begin with 'policy NAME'" in diagnostics[0].message


def test_e104_second_policy_line(tmp_path: Path) -> None:
    d = one(check(tmp_path, """
        policy t.a
        policy t.b
        """), "E104")
    assert (d.span.line, d.span.column) == (2, 1)
    assert "only one 'policy' statement" in d.message


def test_e105_unknown_extends(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.nope
        """)
    assert where(diagnostics) == [("E105", "x.pol", 2, 9)]
    assert diagnostics[0].message == (
        "unknown policy 't.nope' in extends: no loaded policy, nor any file in this policy's "
        "folder or the folders beside it, declares it; keep this file in a folder beside the "
        "parent's (policies/<payer>/); check and test also find it among the files they are "
        "given")


def test_a_set_a_missing_parent_may_define_is_not_e101_besides_its_e105(
        tmp_path: Path) -> None:
    # the set is the parent's, most likely: once the parent is found, it is defined, or
    # the E101 comes then; a set of the wrong kind is an error whatever the parent holds
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.nope
        dx PAIN = M54.5*
        limit ACUPUNCTURE per 90d <= 12
        require dx CLBP for 97810
        require dx PAIN for PAIN
        """)
    assert where(diagnostics) == [("E105", "x.pol", 2, 9), ("E101", "x.pol", 6, 21)]
    assert diagnostics[1].message == "undefined code set 'PAIN' (it is a dx set)"
    # two levels up too; with every parent loaded, the name is undefined
    assert codes(check(tmp_path, "policy t.a\nextends t.b\nlimit ACU per 90d <= 12\n",
                       b="policy t.b\nextends t.nope\n")) == ["E105"]
    assert codes(check(tmp_path, "policy t.a\nextends t.b\nlimit ACU per 90d <= 12\n",
                       b="policy t.b\n")) == ["E101"]


def test_e105_suggests_a_policy_declared_nearby(tmp_path: Path) -> None:
    # the name with a slip, or in another case: a file in a folder beside it declares it
    write(tmp_path / "medicare", "acu.pol", "policy medicare.acu\nlimit 97810 per day <= 1\n")
    for slip in ("Medicare.acu", "medicare.acupuncture", "medicare.acu2"):
        (tmp_path / "acme").mkdir(exist_ok=True)
        diagnostics = load_paths([write(tmp_path / "acme", "x.pol",
                                        f"policy acme.x\nextends {slip}\n")],
                                 lint=True).diagnostics
        assert codes(diagnostics) == ["E105"]
        assert diagnostics[0].message.endswith("; did you mean 'medicare.acu'?"), slip


#: A child policy that disables its parent's rule ``acu``.
_DISABLES_ACU = "policy t.a\nextends t.b\ndisable t.b/acu\n"


def test_a_parent_that_does_not_parse_gives_its_children_no_e105_or_e106(
        tmp_path: Path) -> None:
    """The parent's own error is the one to fix; its children are not told that it does not
    exist, nor that it lacks the rule they disable."""
    diagnostics = check(tmp_path, _DISABLES_ACU,
                        b="policy t.b\nrule acu: limit 97810 per 90 days <= 1\n")
    assert where(diagnostics) == [("E001", "b.pol", 2, 27)]


def test_a_grandparent_that_does_not_parse_gives_no_e106_two_levels_down(
        tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        disable t.c/acu
        """, b="policy t.b\nextends t.c\n",
        c="policy t.c\nrule acu: limit 97810 per 90 days <= 1\n")
    assert where(diagnostics) == [("E001", "c.pol", 2, 27)]


def test_a_parent_whose_policy_line_is_not_first_is_its_e104_alone(tmp_path: Path) -> None:
    """The search for it ends (it looped forever), and its child gets no E105."""
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.c
        """, c="set X = 97810\npolicy t.c\n")
    assert where(diagnostics) == [("E104", "c.pol", 1, 1)]


def test_a_parent_with_an_error_gives_its_children_no_e106(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, _DISABLES_ACU,
                        b="policy t.b\nrule acu: limit NOSET per 90d <= 1\n")
    assert where(diagnostics) == [("E101", "b.pol", 2, 17)]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_a_file_that_is_not_utf8_is_e002_at_its_first_bad_byte(tmp_path: Path, end: bytes,
                                                                  bom: bytes) -> None:
    """Its children are not told that the policy it declares does not exist."""
    (tmp_path / "b.pol").write_bytes(bom + end.join(
        [b"policy t.b", b'rule acu "caf\xe9 \xff": limit 97810 per day <= 1', b""]))
    diagnostics = check(tmp_path, _DISABLES_ACU)
    assert where(diagnostics) == [("E002", "b.pol", 2, 14)]
    assert diagnostics[0].message == (
        "cannot read b.pol: it is not UTF-8 text (byte 0xe9); save it as UTF-8")
    assert render_text(diagnostics, load_paths(["x.pol"]).workspace.sources).endswith(
        '\n    rule acu "caf\ufffd \ufffd": limit 97810 per day <= 1\n'
        "                 ^")
    (tmp_path / "c.pol").write_bytes(bom + b"policy t.\xffc" + end)  # a column of line 1
    assert where(load_paths(["c.pol"]).diagnostics) == [("E002", "c.pol", 1, 10)]


def test_e106_disable_of_a_missing_rule(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        disable t.b/nope
        """, b="policy t.b\nrule acu: limit 97810 per day <= 1\n")
    assert where(diagnostics) == [("E106", "x.pol", 3, 9)]
    assert "'t.b/nope'" in diagnostics[0].message
    assert "no extended policy has" in diagnostics[0].message


def test_e106_names_the_rule_that_overrides_the_one_disabled(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.mid
        disable t.base/acu
        """, base="policy t.base\nrule acu: limit 97810 per 90d <= 12\n",
        mid="policy t.mid\nextends t.base\nrule acu: limit 97810 per 90d <= 20\n")
    assert one(diagnostics, "E106").message == (
        "disable names rule 't.base/acu', which no extended policy has; they have 't.mid/acu'")


def test_w307_disable_of_an_unnamed_rule_by_its_line(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        disable t.b/forbid@2
        disable t.b/acu
        """, b="policy t.b\nwhen 64483 forbid 77002\nrule acu: limit 97810 per day <= 1\n")
    assert where(diagnostics) == [("W307", "x.pol", 3, 9)]
    assert one(diagnostics, "W307").message.startswith(
        "disable names the unnamed rule 't.b/forbid@2' by its line")


def test_w307_not_added_to_e106_for_a_line_id_that_names_no_rule(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        disable t.b/limit@7
        """, b="policy t.b\nwhen 64483 forbid 77002\n")
    assert where(diagnostics) == [("E106", "x.pol", 3, 9)]


def test_e106_not_reported_for_an_inherited_rule(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        extends t.b
        disable t.b/acu
        """, b="policy t.b\nrule acu: limit 97810 per day <= 1\n") == []


def test_e106_a_policy_disabling_its_own_rule_is_told_so(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        rule acu: limit 97810 per day <= 1
        disable t.a/acu
        """)
    assert where(diagnostics) == [("E106", "x.pol", 3, 9)]
    assert diagnostics[0].message == (
        "disable names rule 't.a/acu' of this policy itself: disable switches off a rule this "
        "policy inherits; remove the rule instead, or disable it in a policy that extends t.a")


def test_w311_disable_of_a_rule_a_parent_disabled_already_is_a_warning(
        tmp_path: Path) -> None:
    # the rule is not in force either way: the line does nothing, and the policy is usable
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.mid
        disable t.base/acu
        """, base="policy t.base\nrule acu: limit 97810 per day <= 1\n",
        mid="policy t.mid\nextends t.base\ndisable t.base/acu\n")
    assert where(diagnostics) == [("W311", "x.pol", 3, 9)]
    assert diagnostics[0].message == (
        "rule 't.base/acu' is disabled already by policy 't.mid' (mid.pol:3), which this one "
        "extends; remove this line")


def test_w311_not_when_another_parent_brings_the_rule_back(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        extends t.mid, t.base
        disable t.base/acu
        """, base="policy t.base\nrule acu: limit 97810 per day <= 1\n",
        mid="policy t.mid\nextends t.base\ndisable t.base/acu\n") == []


def test_w311_the_same_disable_twice_in_a_file(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        disable t.b/acu
        disable t.b/acu
        """, b="policy t.b\nrule acu: limit 97810 per day <= 1\n")
    assert where(diagnostics) == [("W311", "x.pol", 4, 9)]
    assert diagnostics[0].message == (
        "rule 't.b/acu' is disabled on line 3 already; remove this line")


def test_e107_cyclic_extends_names_the_cycle(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        """, b="policy t.b\nextends t.a\n")
    assert where(diagnostics) == [("E107", "b.pol", 2, 9)]
    assert diagnostics[0].message == "policy 't.a' extends itself: t.a -> t.b -> t.a"


def test_e108_duplicate_policy_name_across_files(tmp_path: Path) -> None:
    write(tmp_path, "p/a.pol", "policy t.a\n")
    write(tmp_path, "p/b.pol", "# the same name again\n\npolicy t.a\n")
    diagnostics = load_paths([tmp_path / "p"], lint=True).diagnostics
    assert where(diagnostics) == [("E108", "p/b.pol", 3, 8)]
    assert diagnostics[0].message == "policy 't.a' is already defined in p/a.pol"


# --- errors: values -----------------------------------------------------------------------


def test_e201_malformed_code(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        when 64483 forbid 7700
        """)
    assert where(diagnostics) == [("E201", "x.pol", 2, 19)]
    assert "'7700' is not a procedure code" in diagnostics[0].message


def test_e202_reversed_range(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97814..97810 per day <= 1
        """)
    assert where(diagnostics) == [("E202", "x.pol", 2, 7)]
    assert diagnostics[0].message == "range 97814..97810 is reversed; write 97810..97814"


def test_e203_mixed_shape_range(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97810..0001T per day <= 1
        """)
    assert where(diagnostics) == [("E203", "x.pol", 2, 7)]
    assert "97810..0001T joins codes of different shapes" in diagnostics[0].message


def test_e204_bad_icd10_pattern(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        require dx M54.12345, M54.50 for 97810
        """)
    assert where(diagnostics) == [("E204", "x.pol", 2, 12)]
    assert "'M54.12345' is not an ICD-10-CM code or prefix pattern" in diagnostics[0].message


def test_e205_bad_date(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        deleted 62311 since 2017-02-30
        """)
    assert where(diagnostics) == [("E205", "x.pol", 2, 21)]
    assert diagnostics[0].message == "'2017-02-30' is not a valid date (YYYY-MM-DD)"


def test_e206_until_before_start(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        rule acu effective 2024-06-01 until 2024-01-01: limit 97810 per day <= 1
        """)
    assert where(diagnostics) == [("E206", "x.pol", 2, 10)]
    assert diagnostics[0].message == (
        "validity is empty: until 2024-01-01 is before effective 2024-06-01; swap the two dates")


def test_e207_bad_modifier(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        when 64483 forbid 77002 unless modifier 59, X9U
        """)
    assert where(diagnostics) == [("E207", "x.pol", 2, 45)]
    assert "'X9U' is not a modifier" in diagnostics[0].message


@pytest.mark.parametrize("window", ["day", "1d"])
def test_e208_prerequisite_within_a_window_of_one_date(tmp_path: Path, window: str) -> None:
    diagnostics = check(tmp_path, f"""
        policy t.a
        require 1 of 64490 within {window} before 64633
        """)
    assert where(diagnostics) == [("E208", "x.pol", 2, 27)]
    assert diagnostics[0].message == (
        f"a prerequisite counts sessions on earlier dates; 'within {window}' has none "
        "(write 'within 2d' or more)")
    assert check(tmp_path, """
        policy t.a
        require 1 of 64490 within 2d before 64633
        """) == []


def test_e208_global_with_months(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        global 63650 3mo
        """)
    assert where(diagnostics) == [("E208", "x.pol", 2, 14)]
    assert "a global period is a number of days" in diagnostics[0].message
    assert "not 3mo" in diagnostics[0].message


def test_e209_bad_carc(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        rule acu carc XY12: limit 97810 per day <= 1
        """)
    assert where(diagnostics) == [("E209", "x.pol", 2, 15)]
    assert "'XY12' is not a claim adjustment reason code" in diagnostics[0].message


@pytest.mark.parametrize("carc", ["CO97", "pr1", "OA23", "CO B15"])
def test_e209_a_carc_with_its_group_code_says_to_write_the_reason_alone(
        tmp_path: Path, carc: str) -> None:
    [diagnostic] = check(tmp_path, f"policy t.a\nrule acu carc {carc}: limit 97810 per day "
                                   "<= 1\n")
    if " " in carc:  # 'CO' is the code, 'B15' a stray word: no hint about groups
        assert diagnostic.code == "E001"
        return
    assert diagnostic.code == "E209"
    assert diagnostic.message == (
        f"'{carc}' is not a claim adjustment reason code (97, 119, B15); write the reason "
        f"code alone ({carc[2:]}): the group code {carc[:2].upper()} is not part of it")


def test_e211_zero_prerequisite_count(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        require 0 of 64490 within 12mo before 64633
        """)
    assert where(diagnostics) == [("E211", "x.pol", 2, 9)]
    assert "at least 1 earlier session" in diagnostics[0].message


def test_e211_empty_window(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97810 per 0d <= 1
        """)
    assert where(diagnostics) == [("E211", "x.pol", 2, 17)]
    assert "a duration of 0d is empty" in diagnostics[0].message


# --- W301 deleted code named ----------------------------------------------------------------


def test_w301_rule_names_a_deleted_code(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        deleted 62311 since 2017-01-01 use 62322
        limit 64483, 62311 per 12mo <= 4
        """)
    assert where(diagnostics) == [("W301", "x.pol", 3, 14)]  # the 62311 token
    message = one(diagnostics, "W301").message
    assert "62311 is deleted since 2017-01-01" in message
    assert "'t.a/deleted@2' (line 2)" in message
    assert "use 62322 instead" in message


def test_w301_points_at_the_set_that_holds_the_code(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set ESI = 62310, 62311, 62320..62323
        set ALL = ESI, 64483
        deleted 62311 since 2017-01-01
        when ALL forbid 77002
        exclusive 20553, 62311
        """)
    assert where(diagnostics) == [("W301", "x.pol", 5, 6), ("W301", "x.pol", 6, 18)]
    assert "through set 'ALL'" in diagnostics[0].message
    assert "use " not in diagnostics[0].message  # no replacement to suggest


def test_w301_points_at_the_code_written_out_not_the_range_around_it(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        deleted 62311 since 2017-01-01
        require auth for 62300..62327, 62311
        """)
    assert where(diagnostics) == [("W301", "x.pol", 3, 32)]


def test_w301_not_for_a_deleted_code_that_only_falls_inside_a_range(tmp_path: Path) -> None:
    """Payer manuals give ranges, and CMS's deleted codes are holes in them: a range does not
    name each code inside it (in the rule, or in a set it uses)."""
    assert check(tmp_path, """
        policy t.a
        set ESI = 62310..62323
        deleted 62310, 62311 since 2017-01-01 use 62320, 62321
        when ESI forbid 77002
        require auth for 62300..62327, 64479..64495
        exclusive 20553, 62305..62319
        """) == []


def test_w301_deletion_inherited_from_an_extended_policy(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.child
        extends t.base
        require auth for 62311
        """, base="policy t.base\ndeleted 62311 since 2017-01-01 use 62322\n")
    assert where(diagnostics) == [("W301", "x.pol", 3, 18)]
    assert "'t.base/deleted@2' (base.pol:2)" in diagnostics[0].message


def test_w301_not_for_a_rule_that_ends_before_the_deletion(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        deleted 62311 since 2017-01-01 use 62322
        rule old effective 2015-01-01 until 2016-12-31: limit 62311 per year <= 2
        deleted 62311, 62310 since 2017-01-01
        """) == []  # nor for the deleted rules themselves


def test_w301_not_when_the_deletion_is_only_in_force_before_the_rule(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        rule del effective 2017-01-01 until 2019-12-31: deleted 62311 since 2017-01-01
        rule later effective 2020-01-01: limit 62311 per year <= 2
        """) == []


# --- W302 self forbid -----------------------------------------------------------------------


def test_w302_forbid_shares_a_code_between_triggers_and_targets(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set ACU = 97810, 97813
        when ACU forbid 97811, 97813, 97810
        """)
    assert where(diagnostics) == [("W302", "x.pol", 3, 31)]  # first shared code, 97810
    message = diagnostics[0].message
    assert "97810, 97813 forbid themselves" in message
    assert "deny each other and neither is paid" in message
    assert "limit CODE per day <= 1" in message
    pended = check(tmp_path, "policy t.a\nrule r review: when 97810 forbid 97810\n")
    assert "97810 forbids itself: two lines of the code the same day pend each other and " \
           "both go to review" in one(pended, "W302").message


def test_w302_not_for_distinct_codes(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        when 97810 forbid 97811..97814
        """) == []


# --- W303 add-on whose primary is forbidden with it ------------------------------------------


def test_w303_forbid_denies_the_primary_when_the_addon_is_present(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        addon 64484 requires 64479, 64483
        when 64484 forbid 64483
        """)
    assert where(diagnostics) == [("W303", "x.pol", 2, 29)]  # the primary 64483
    message = diagnostics[0].message
    assert "add-on 64484 can never be paid with its primary 64483" in message
    assert "'t.a/forbid@3' (line 3)" in message
    assert "64483 is denied when 64484 is billed the same day" in message


def test_w303_forbid_denies_the_addon_when_the_primary_is_present(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        when 64483 forbid 64484
        addon 64484 requires 64483
        """)
    assert where(diagnostics) == [("W303", "x.pol", 3, 22)]
    assert "64484 is denied when 64483 is billed the same day" in diagnostics[0].message


def test_w303_an_exclusive_listing_the_addon_and_its_primary(tmp_path: Path) -> None:
    # exclusive pays one code of its list a day: either order leaves the add-on unpaid
    diagnostics = check(tmp_path, """
        policy t.a
        addon 64484 requires 64483
        exclusive 64484, 64483
        addon 64480 requires 64479
        rule pend review: exclusive 64479, 64480
        """)
    assert where(diagnostics) == [("W303", "x.pol", 2, 22)]
    message = diagnostics[0].message
    assert message.startswith("add-on 64484 can never be paid with its primary 64483: "
                              "rule 't.a/exclusive@3' (line 3) pays only one of the pair "
                              "(64483 is denied when 64484 is billed the same day)")
    assert "remove one of them from that exclusive" in message


def test_w303_an_exclusive_in_an_extending_policy_is_reported_there(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy kid
        extends base
        exclusive 64483, 64484
        """, base="policy base\naddon 64484 requires 64483\n")
    assert where(diagnostics) == [("W303", "x.pol", 3, 18)]  # the denied add-on's token
    assert diagnostics[0].message.startswith("this exclusive stops add-on 64484")


def test_w303_not_when_the_forbid_can_be_bypassed_or_only_pends(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        addon 64484 requires 64483
        when 64483 forbid 64484 unless modifier 59
        rule pend review: when 64484 forbid 64483
        when 64484 forbid 64479
        """) == []


def test_w303_not_when_the_validities_never_meet(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        rule old effective 2020-01-01 until 2020-12-31: addon 64484 requires 64483
        rule new effective 2021-01-01: when 64483 forbid 64484
        """) == []


def test_w303_against_a_table_row_is_reported_at_the_text_rule(tmp_path: Path) -> None:
    write(tmp_path, "ptp.tsv",
          "column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
          "64483\t64484\t*\t0\tMisuse of column two code\n"
          "64493\t64494\t*\t0\tMisuse of column two code\n")
    write(tmp_path, "aoc.csv",
          "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year\n"
          "64494,addon,64493,1,2017,\n")
    diagnostics = check(tmp_path, """
        policy t.a
        table ptp "ptp.tsv"
        table addon "aoc.csv"
        addon 64484 requires 64483
        """)
    # the table-to-table conflict (64494 / 64493) is CMS's, not the analyst's
    assert where(diagnostics) == [("W303", "x.pol", 4, 22)]
    assert "'t.a/table@2' (ptp.tsv:2:1)" in diagnostics[0].message


def test_w303_text_forbid_against_a_table_addon(tmp_path: Path) -> None:
    write(tmp_path, "aoc.csv",
          "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year\n"
          "64494,addon,64493,1,2017,\n")
    diagnostics = check(tmp_path, """
        policy t.a
        table addon "aoc.csv"
        when 64494 forbid 64493
        """)
    assert where(diagnostics) == [("W303", "x.pol", 3, 19)]
    message = diagnostics[0].message
    assert "this forbid stops add-on 64494 from ever being paid with its primary 64493" in message
    assert "(aoc.csv:2:1)" in message


# --- a pair of rules from a policy and one it extends -----------------------------------------

BASE = """
    policy base
    limit 62311 per 12mo <= 4 sessions
    addon 64484 requires 64483
    rule lim: limit 97810 per 90d <= 12
    """


def test_a_pair_with_an_inherited_rule_is_reported_in_the_extending_file(
        tmp_path: Path) -> None:
    # The parent is clean alone and serves other policies: the child brought the pair
    # together, so each warning points at the child's rule and says what to do there.
    assert check(tmp_path, BASE) == []
    diagnostics = check(tmp_path, """
        policy kid
        extends base
        deleted 62311 since 2017-01-01 use 62322
        when 64484 forbid 64483
        limit 97810 per 90d <= 3
        """, base=BASE)
    assert where(diagnostics) == [("W301", "x.pol", 3, 1), ("W303", "x.pol", 4, 19),
                                  ("W305", "x.pol", 5, 1)]
    w301, w303, w305 = (d.message for d in diagnostics)
    assert "inherited rule 'base/limit@2' (base.pol:2) still names" in w301
    # an unnamed rule's id follows its line (W307): the advice is to name it first
    assert w301.endswith("name that rule in base.pol (rule NAME: ...) and disable it here by "
                         "that name")
    assert "this forbid stops add-on 64484" in w303 and "'base/addon@3' (base.pol:3)" in w303
    assert "makes inherited rule 'base/lim' (base.pol:4)" in w305
    assert w305.endswith("disable it here (disable base/lim) or override it by name")


def test_w303_an_addon_table_row_against_an_inherited_forbid_is_at_the_table(
        tmp_path: Path) -> None:
    write(tmp_path, "aoc.csv",
          "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year\n"
          "64484,addon,64483,1,2017,\n")
    diagnostics = check(tmp_path, """
        policy kid
        extends base
        table addon "aoc.csv"
        """, base="policy base\nrule no-fluoro: when 64484 forbid 64483\n")
    assert where(diagnostics) == [("W303", "x.pol", 3, 1)]
    message = diagnostics[0].message
    assert message.startswith("add-on 64484 of this table (aoc.csv:2:1) can never be paid with "
                              "its primary 64483: inherited rule 'base/no-fluoro' (base.pol:2)")
    assert message.endswith("disable it here (disable base/no-fluoro) or override it by name")


def test_w303_an_inherited_forbid_is_switched_off_here_not_edited(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy kid
        extends base
        addon 64484 requires 64483
        """, base="policy base\nrule no-fluoro: when 64484 forbid 64483\n")
    assert where(diagnostics) == [("W303", "x.pol", 3, 22)]
    assert diagnostics[0].message.endswith(
        "disable it here (disable base/no-fluoro) or override it by name, or remove 64483 "
        "from this add-on's primaries")


def test_a_pair_from_two_extended_policies_is_reported_where_they_meet(
        tmp_path: Path) -> None:
    # neither a nor b has the problem alone: only the policy extending both does
    write(tmp_path, "a.pol", "policy a\nrule loose: limit 97810 per 90d <= 12\n"
          "rule gone: deleted 64483 since 2017-01-01\naddon 64484 requires 64479\n")
    write(tmp_path, "b.pol", "policy b\nrule tight: limit 97810 per 90d <= 3\n"
          "rule esi: limit 64483 per 12mo <= 4 sessions\nrule nf: when 64484 forbid 64479\n")
    assert load_paths([tmp_path / "a.pol", tmp_path / "b.pol"], lint=True).diagnostics == []
    diagnostics = check(tmp_path, "policy kid\nextends a, b\n")
    assert sorted(d.code for d in diagnostics) == ["W301", "W303", "W305"]
    assert {(d.file, d.span.line, d.span.column) for d in diagnostics} == {("x.pol", 2, 1)}
    w301, w303, w305 = sorted(diagnostics, key=lambda d: d.code)
    assert w301.message == (
        "rule 'a/gone' (a.pol:3) deletes 64483 since 2017-01-01, and rule 'b/esi' (b.pol:3) "
        "still names it; both are extended here, where that rule is in force from 2017-01-01; "
        "disable it here (disable b/esi) or override it by name")
    assert w303.message.startswith("add-on 64484 of rule 'a/addon@4' (a.pol:4) can never be "
                                   "paid with its primary 64479 here: rule 'b/nf' (b.pol:4)")
    assert w305.message.startswith("rule 'a/loose' (a.pol:2), 12 per 90d, is redundant here: "
                                   "rule 'b/tight' (b.pol:2), 3 per 90d")


DIAMOND_BASE = """
    policy base
    rule lim: limit 97810 per 90d <= 12
    rule esi: limit 64483 per 12mo <= 4 sessions
    """
# a overrides both rules of base, and deletes the code base's esi named: clean alone
DIAMOND_A = """
    policy a
    extends base
    rule lim: limit 97810 per 90d <= 3
    rule esi: limit 64479 per 12mo <= 4 sessions
    deleted 64483 since 2017-01-01
    """


def test_a_pair_an_extended_policy_overrode_meets_where_another_parent_brings_it_back(
        tmp_path: Path) -> None:
    # kid extends a and b; b brings base's lim and esi back, which a overrode: the pairs
    # (a/lim, base/lim) and (a's deletion, base/esi) meet in kid, not in a
    write(tmp_path, "base.pol", DIAMOND_BASE)
    write(tmp_path, "a.pol", DIAMOND_A)
    write(tmp_path, "b.pol", "policy b\nextends base\n")
    assert load_paths([tmp_path / "a.pol"], lint=True).diagnostics == []
    assert load_paths([tmp_path / "b.pol"], lint=True).diagnostics == []
    diagnostics = check(tmp_path, "policy kid\nextends a, b\n")
    assert sorted(where(diagnostics)) == [("W301", "x.pol", 2, 1), ("W305", "x.pol", 2, 1)]
    w301, w305 = sorted(diagnostics, key=lambda d: d.code)
    assert w301.message.startswith("rule 'a/deleted@5' (a.pol:5) deletes 64483 since "
                                   "2017-01-01, and rule 'base/esi' (base.pol:3) still names it")
    assert w305.message.startswith("rule 'base/lim' (base.pol:2), 12 per 90d, is redundant "
                                   "here: rule 'a/lim' (a.pol:3), 3 per 90d")


def test_a_pair_is_reported_where_it_first_meets_not_again_below(tmp_path: Path) -> None:
    # kid brings the pairs together; grandkid, extending kid, only inherits them
    write(tmp_path, "base.pol", DIAMOND_BASE)
    write(tmp_path, "a.pol", DIAMOND_A)
    write(tmp_path, "b.pol", "policy b\nextends base\n")
    write(tmp_path, "kid.pol", "policy kid\nextends a, b\n")
    diagnostics = check(tmp_path, "policy grandkid\nextends kid\n")
    assert sorted(where(diagnostics)) == [("W301", "kid.pol", 2, 1),
                                          ("W305", "kid.pol", 2, 1)]


def test_a_child_rule_against_a_parent_rule_stays_at_the_child(tmp_path: Path) -> None:
    # the other way round the child's rule was already the one reported
    parent = "policy base\ndeleted 62311 since 2017-01-01\nwhen 64484 forbid 64483\n" \
             "limit 97810 per 90d <= 3\n"
    diagnostics = check(tmp_path, """
        policy kid
        extends base
        limit 62311 per 12mo <= 4 sessions
        addon 64484 requires 64483
        limit 97810 per 90d <= 12
        """, base=parent)
    assert where(diagnostics) == [("W301", "x.pol", 3, 7), ("W303", "x.pol", 4, 22),
                                  ("W305", "x.pol", 5, 1)]


# --- W304 identical rules ---------------------------------------------------------------------


def test_w304_identical_rules_reported_at_the_later(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97810 per 90d <= 12
        exclusive 20553, 20552
        rule acu "Too many sessions": limit 97810 per 90d <= 12
        """)
    assert where(diagnostics) == [("W304", "x.pol", 4, 1)]
    message = diagnostics[0].message
    assert "identical to rule 't.a/limit@2' (line 2)" in message
    assert "remove one of them" in message


def test_w304_identical_to_an_inherited_rule(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.child
        extends t.base
        exclusive 20553, 20552
        """, base="policy t.base\nexclusive 20553, 20552\n")
    assert where(diagnostics) == [("W304", "x.pol", 3, 1)]
    assert "'t.base/exclusive@2' (base.pol:2)" in diagnostics[0].message
    assert diagnostics[0].message.endswith(  # an unnamed rule is named before it is disabled
        "remove this one, or switch the inherited one off: name that rule in base.pol "
        "(rule NAME: ...) and disable it here by that name")
    named = check(tmp_path, """
        policy t.child
        extends t.base
        exclusive 20553, 20552
        """, base="policy t.base\nrule tpi: exclusive 20553, 20552\n")
    assert named[0].message.endswith(
        "switch the inherited one off: disable it here (disable t.base/tpi) or override it by "
        "name")


def test_w304_not_when_rules_differ_in_carc_action_validity_or_order(tmp_path: Path) -> None:
    assert codes(check(tmp_path, """
        policy t.a
        when 64483 forbid 77002
        rule a carc 236: when 64483 forbid 77002
        rule b review: when 64483 forbid 77002
        rule c effective 2025-01-01: when 64483 forbid 77002
        rule d "Fluoroscopy is included": when 64483 forbid 77002 unless modifier 59
        exclusive 20553, 20552
        exclusive 20552, 20553
        """)) == ["W308"]  # the order of an exclusive matters: these two contradict


def test_w304_not_for_an_overridden_inherited_rule(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.child
        extends t.base
        rule acu: limit 97810 per 90d <= 12
        """, base="policy t.base\nrule acu: limit 97810 per 90d <= 12\n") == []


# --- W305 redundant limit ---------------------------------------------------------------------


def test_w305_wider_window_same_maximum(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97810, 97813 per 90d <= 12
        rule acu-30d: limit 97810, 97813 per 30d <= 12
        """)
    assert where(diagnostics) == [("W305", "x.pol", 3, 15)]  # the weaker limit's body
    message = diagnostics[0].message
    assert "this limit (12 per 30d) is redundant" in message
    assert "'t.a/limit@2' (line 2), 12 per 90d on the same codes and measure, already" in message


def test_w305_names_fewer_unless_modifiers(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 20552 per 90d <= 3 unless modifier KX
        limit 20552 per 90d <= 3
        """)
    assert where(diagnostics) == [("W305", "x.pol", 2, 1)]
    assert ("3 per 90d on the same codes and measure, with fewer unless modifiers, already "
            "denies every line it would" in diagnostics[0].message)


@pytest.mark.parametrize(("strict", "weak"), [
    ("per 90d <= 10", "per 30d <= 12"),
    ("per 12mo <= 4", "per 336d <= 4"),
    ("per 3mo <= 4", "per 2mo <= 4"),
    ("per 31d <= 4", "per 1mo <= 4"),  # a month has 28 to 31 days
    ("per 1mo <= 4", "per 28d <= 4"),
    ("per year <= 4", "per day <= 4"),
    ("per lifetime <= 4", "per year <= 5"),
    ("per lifetime <= 4", "per 12mo <= 4"),
    ("per lifetime <= 4", "per claim <= 4"),  # a claim's lines up to d are lines up to d
    ("per claim <= 2", "per claim <= 3"),
    ("per 12mo <= 4", "per year <= 4"),  # 12 months back from d is before January 1
    ("per 12mo <= 2", "per year <= 5"),
    ("per 12mo <= 4", "per 365d <= 4"),  # 12 months hold 365 days or 366
    ("per 400d <= 4", "per year <= 4"),
    ("per 366d <= 4", "per year <= 4"),  # a year up to d holds at most 366 days
    ("per 366d <= 4", "per 12mo <= 4"),
    ("per 2d <= 1", "per day <= 1"),
    ("per 90d <= 12", "per 30d <= 12 unless modifier KX"),  # KX lines are still counted
    ("per 90d <= 12 unless modifier KX", "per 30d <= 12 unless modifier KX, GA"),
])
def test_w305_window_pairs_that_surely_contain(tmp_path: Path, strict: str, weak: str) -> None:
    diagnostics = check(tmp_path, f"""
        policy t.a
        limit 97810 {weak}
        limit 97810 {strict}
        """)
    assert where(diagnostics) == [("W305", "x.pol", 2, 1)]


@pytest.mark.parametrize(("strict", "weak"), [
    ("exclusive 20553, 20560, 20552 across providers", "exclusive 20553, 20552"),
    ("limit 97810 per 90d <= 2", "limit 97810 per 90d by provider <= 3"),
])
@pytest.mark.parametrize("child", ["disable t.p/strict", "rule strict: limit 97814 per day <= 9"])
def test_w305_advises_no_removal_that_a_policy_extending_it_would_feel(
        tmp_path: Path, strict: str, weak: str, child: str) -> None:
    # removing the parent's redundant rule, as W305 advised, changed the child's decisions: the
    # child disables (or overrides) the stricter rule, and there the other one decides
    parent = write(tmp_path, "p.pol", f"policy t.p\nrule strict: {strict}\nrule weak: {weak}\n")
    alone = load_paths([parent], lint=True).diagnostics
    assert where(alone) == [("W305", "p.pol", 3, 12)]
    kid = write(tmp_path, "c.pol", f"policy t.c\nextends t.p\n{child}\n")
    assert "W305" not in codes(load_paths([parent, kid], lint=True).diagnostics)


def test_w305_reports_one_of_two_identical_exclusives(tmp_path: Path) -> None:
    # the second is W304's (identical to the first): W305 named both, as it does not limits
    diagnostics = check(tmp_path, """
        policy t.a
        exclusive 20553, 20552
        exclusive 20553, 20552
        exclusive 20553, 20552 across providers
        """)
    assert where(diagnostics) == [("W305", "x.pol", 2, 1), ("W304", "x.pol", 3, 1)]


def test_w305_lists_a_long_exclusive_in_short() -> None:
    from policydsl.lints.pairs import _terms
    from policydsl.model import Exclusive, RuleInfo

    info = RuleInfo(id="t/x", action="deny", carc="97", message="", source="")
    rule = Exclusive(info, tuple(f"J{n:04d}" for n in range(4000)), across_providers=True)
    assert _terms(rule) == ("J0000 over J0001, J0002, J0003, J0004, J0005, J0006 and 3993 more "
                            "across providers")


def test_w305_a_member_wide_limit_makes_a_by_provider_one_redundant(tmp_path: Path) -> None:
    """A member's count in a window is never below one provider's: a member-wide limit no
    looser than a ``by provider`` one on the same codes denies every line it would (not the
    other way round)."""
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97810 per 90d <= 2
        limit 97810 per 90d by provider <= 3
        limit 97813 per 30d by provider <= 3
        limit 97813 per 90d <= 3
        limit 97814 per 90d by provider <= 2
        limit 97814 per 90d <= 3
        """)
    assert where(diagnostics) == [("W305", "x.pol", 3, 1), ("W305", "x.pol", 4, 1)]
    assert diagnostics[0].message == (
        "this limit (3 per 90d by provider) is redundant: rule 't.a/limit@2' (line 2), 2 per "
        "90d on the same codes and measure, counting every provider's lines, already denies "
        "every line it would; remove this limit, or make it stricter than the other")


@pytest.mark.parametrize(("first", "second"), [
    ("per 365d <= 3", "per 12mo <= 4"),  # 365d may hold 1 day less than 12mo
    ("per 1mo <= 4", "per 30d <= 4"),  # a month may be 28 or 31 days
    ("per year <= 4", "per 365d <= 4"),  # a year up to December 31 of 2024 holds 366 days
    ("per 365d <= 4", "per year <= 4"),
    ("per 11mo <= 4", "per year <= 4"),  # on December 31, 11 months start on February 1
    ("per claim <= 4", "per day <= 4"),  # a claim may hold several dates
    ("per claim <= 4", "per lifetime <= 5"),
    ("per 90d <= 12", "per 30d <= 6"),  # the narrower window is stricter: both matter
    ("per 90d by provider <= 12", "per 30d <= 12"),  # one provider's count is below the
    # member's: the wider window by provider does not hold the narrower member-wide one
    ("per 90d <= 12 sessions", "per 30d <= 12"),  # a different measure
    ("per 90d <= 12 unless modifier KX", "per 30d <= 12"),  # KX lines pass only one
])
def test_w305_not_for_limits_that_both_matter(tmp_path: Path, first: str, second: str) -> None:
    assert check(tmp_path, f"""
        policy t.a
        limit 97810 {first}
        limit 97810 {second}
        """) == []


def test_w305_not_for_other_codes_validity_or_a_pending_stricter_limit(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        limit 97810 per 30d <= 12
        limit 97810, 97813 per 90d <= 12
        rule later effective 2025-01-01: limit 97811 per 90d <= 12
        limit 97811 per 30d <= 12
        rule pend review: limit 97812 per 90d <= 12
        limit 97812 per 30d <= 12
        """) == []


def test_w305_mutually_redundant_limits_are_reported_once(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 97810 per 90d <= 12
        rule acu carc 151: limit 97810 per 90d <= 12
        """)
    assert where(diagnostics) == [("W305", "x.pol", 3, 20)]


def test_w305_mue_made_redundant_by_a_stricter_mue(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        mue 64483 <= 1
        mue 64483 <= 2
        mue 64484 <= 4 per line
        mue 64484, 64483 <= 3 per line
        """)
    assert where(diagnostics) == [("W305", "x.pol", 3, 1), ("W305", "x.pol", 4, 1)]
    assert diagnostics[0].message == (
        "this mue (2 per day) is redundant: rule 't.a/mue@2' (line 2), 1 per day on the same "
        "codes, already denies every line it would; remove this mue, or make it stricter than "
        "the other")
    assert "rule 't.a/mue@5' (line 5), 3 per line on these codes and others" in (
        diagnostics[1].message)


@pytest.mark.parametrize(("first", "second"), [
    ("mue 64483 <= 2 per line", "mue 64483 <= 4"),  # a line within 2 may go past 4 a day
    # a line over 2 is denied before the day's units are summed: without the per-line MUE,
    # it would count toward the 1 a day and deny the day's other lines
    ("mue 64483 <= 1", "mue 64483 <= 2 per line"),
    ("mue 64483 <= 1", "mue 64483, 64484 <= 2"),  # 64484's units are counted apart
    ("rule late effective 2025-01-01: mue 64483 <= 1", "mue 64483 <= 2 per line"),
    ("rule pend review: mue 64483 <= 1", "mue 64483 <= 2"),  # the stricter only pends
])
def test_w305_not_for_mues_that_both_matter(tmp_path: Path, first: str, second: str) -> None:
    assert check(tmp_path, f"policy t.a\n{first}\n{second}\n") == []


def test_w305_mue_equal_but_for_the_carc_is_reported_once_and_identical_ones_are_w304(
        tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        mue 64483 <= 1
        rule mine carc 16: mue 64483 <= 1
        mue 64483 <= 1
        """)
    assert where(diagnostics) == [("W305", "x.pol", 3, 20), ("W304", "x.pol", 4, 1)]


def test_w305_rows_of_an_mue_table_for_one_code(tmp_path: Path) -> None:
    write(tmp_path, "mue.csv", """
        hcpcs,mue_uos,mue_mai,mue_service_type
        64483,1,2,Practitioner
        64484,4,2,Practitioner
        64483,2,2,Practitioner
        64483,3,2,Outpatient Hospital
        """)
    diagnostics = check(tmp_path, """
        policy t.a
        table mue "mue.csv"
        mue 64484 <= 6
        """)
    assert where(diagnostics) == [("W305", "x.pol", 2, 1), ("W305", "x.pol", 3, 1)]
    assert diagnostics[0].message == (
        "row mue.csv:4:1 (64483, 2 per day) is redundant: row mue.csv:2:1 of the same table, "
        "1 per day, already denies every line it would; a table should give one MUE a code: "
        "remove one of the rows")
    assert diagnostics[1].message.startswith(
        "this mue (6 per day) is redundant: rule 't.a/table@2' (mue.csv:3:1), 4 per day on the "
        "same codes")


def test_w305_a_table_row_is_not_reported_against_a_written_mue(tmp_path: Path) -> None:
    write(tmp_path, "mue.csv", "hcpcs,mue_uos,mue_mai,mue_service_type\n"
                               "64483,2,2,Practitioner\n")
    # a payer's own stricter MUE over CMS's table: the table is not the payer's to edit
    assert check(tmp_path, """
        policy t.a
        table mue "mue.csv"
        rule ours: mue 64483 <= 1
        """) == []


def test_w305_a_child_mue_that_makes_its_parents_redundant(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.kid
        extends t.base
        mue 64483 <= 1
        """, base="policy t.base\nrule esi: mue 64483 <= 2\n")
    assert where(diagnostics) == [("W305", "x.pol", 3, 1)]
    assert diagnostics[0].message.startswith(
        "this mue, 1 per day on the same codes, makes inherited rule 't.base/esi' (base.pol:2), "
        "2 per day, redundant in this policy")


_MUE_TERMS = st.tuples(st.integers(1, 4), st.booleans(),
                      st.sampled_from(["64483", "64483, 64484"]))


@settings(max_examples=150, deadline=None)
@given(first=_MUE_TERMS, second=_MUE_TERMS,
       rows=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["C1", "C2", "C3"]),
                               st.sampled_from(["64483", "64484"]), st.sampled_from(["P1", "P2"]),
                               st.integers(1, 3)), min_size=1, max_size=12))
def test_w305_a_redundant_mue_never_decides(
        tmp_path_factory: pytest.TempPathFactory, first: tuple[int, bool, str],
        second: tuple[int, bool, str], rows: list[tuple[int, str, str, str, int]]) -> None:
    def mue(most: int, per_day: bool, codes: str) -> str:
        return f"mue {codes} <= {most} per {'day' if per_day else 'line'}"

    lines = [ClaimLine(claim, i, "M1", dt.date(2024, 1, 1) + dt.timedelta(days=day), code,
                       provider, units=units)
             for i, (day, claim, code, provider, units) in enumerate(rows)]
    assert_redundant_rule_decides_nothing(tmp_path_factory, [mue(*first), mue(*second)], lines)


def test_window_containment_is_conservative() -> None:
    assert Window("months", 1).holds(Window("days", 28))
    assert not Window("months", 1).holds(Window("days", 29))
    assert Window("days", 31).holds(Window("months", 1))
    assert not Window("days", 30).holds(Window("months", 1))
    assert Window("day").holds(Window("days", 1))
    assert not Window("day").holds(Window("days", 2))
    assert Window("claim").holds(Window("claim"))
    assert not Window("claim").holds(Window("day"))
    assert Window("lifetime").holds(Window("claim"))
    assert not Window("claim").holds(Window("lifetime"))
    assert Window("months", 12).holds(Window("year"))
    assert not Window("months", 11).holds(Window("year"))
    assert Window("days", 366).holds(Window("year"))
    assert not Window("days", 365).holds(Window("year"))
    assert Window("months", 12).holds(Window("days", 365))
    assert not Window("months", 12).holds(Window("days", 366))
    assert Window("days", 366).holds(Window("months", 12))
    assert not Window("days", 365).holds(Window("months", 12))
    with pytest.raises(ValueError, match="claim window holds no fixed number"):
        Window("claim").days_held()


_DATED_WINDOWS = [Window("day"), *(Window("days", n) for n in (1, 2, 28, 29, 30, 31, 365, 366)),
                  *(Window("months", n) for n in (1, 2, 11, 12, 13)), Window("year"),
                  Window("lifetime")]


def test_a_window_that_contains_another_starts_no_later_on_any_date() -> None:
    # W305's soundness rests on this: a limit it calls redundant counts, on every date, no
    # more lines than the stricter one (every date of a common year, a leap year and the next)
    dates = [dt.date(2023, 1, 1) + dt.timedelta(days=n) for n in range(3 * 365 + 1)]
    contained = 0
    for outer in _DATED_WINDOWS:
        for inner in _DATED_WINDOWS:
            if outer.holds(inner):
                contained += 1
                assert all(outer.first_day(day) <= inner.first_day(day) for day in dates), (
                    outer, inner)
    assert contained > len(_DATED_WINDOWS) * 5  # not only a window and itself


def test_days_held_bound_every_date_of_a_400_year_cycle() -> None:
    # a date's count of days in an Nmo window depends on its year in the 400-year cycle, its
    # month, and its day only past the 28th (where the same day may not exist N months back)
    dates = [dt.date(y, m, d) for y in range(2001, 2401) for m in range(1, 13)
             for d in (1, 29, 30, 31) if d <= (dt.date(y + m // 12, m % 12 + 1, 1)
                                               - dt.timedelta(days=1)).day]
    for months in [*range(1, 37), 48, 60, 96, 120, 1200]:
        window = Window("months", months)
        held = [day.toordinal() - window.first_day(day).toordinal() + 1 for day in dates]
        fewest, most = window.days_held()
        assert fewest <= min(held) and max(held) <= most, months
        if months < 96:
            assert fewest == min(held), months
        if months in (1, 2) or (months % 12 == 0 and months < 1200):
            assert most == max(held), months
    year = [day.timetuple().tm_yday for day in dates]
    assert Window("year").days_held() == (min(year), max(year)) == (1, 366)


# --- W306 unused sets -------------------------------------------------------------------------


def test_w306_unused_sets(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set FLUORO = 77002, 77003
        dx BACK = M54.50
        set ESI = 62321, 62323
        limit ESI per 12mo <= 4
        """)
    assert where(diagnostics) == [("W306", "x.pol", 2, 5), ("W306", "x.pol", 3, 4)]
    assert diagnostics[0].message.startswith("set 'FLUORO' is never used")
    assert diagnostics[1].message.startswith("dx set 'BACK' is never used")


def test_w306_not_for_sets_used_through_other_sets_or_by_a_child(tmp_path: Path) -> None:
    assert check(tmp_path, """
        policy t.a
        extends t.base
        set INNER = 77002
        set OUTER = INNER, 77003
        dx BACK = M54.5*
        dx PAIN = BACK, G89.29
        require dx PAIN for OUTER
        limit ESI per 12mo <= 4
        """, base="policy t.base\nset ESI = 62321\nlimit ESI per 24mo <= 6\n") == []


def test_w306_not_for_sets_of_a_rule_with_an_error_of_its_own(tmp_path: Path) -> None:
    # the rules did not build, so the resolver never looked their sets up: the sets are
    # used all the same, and the errors are what to fix; a modifier is never a set name
    diagnostics = check(tmp_path, """
        policy t.a
        set JOINT = 20610, 20611
        set INNER = 27096
        set SI = INNER
        dx PAIN = M54.5*
        set XU = 77002
        rule a carc CO119: limit JOINT per 90d <= 3
        global SI 3mo
        rule b carc XY1: require dx PAIN for 97810
        when 64483 forbid 77003 unless modifier XU
        """)
    assert where(diagnostics) == [("W306", "x.pol", 6, 5), ("E209", "x.pol", 7, 13),
                                  ("E208", "x.pol", 8, 11), ("E209", "x.pol", 9, 13)]
    assert diagnostics[0].message.startswith("set 'XU' is never used")


# --- robustness -------------------------------------------------------------------------------


def test_a_chain_of_100_extends_is_built_without_recursing_down_it(tmp_path: Path) -> None:
    # the deepest policy is found first (p000.pol declares p100): it was built by recursing
    # down its 100 parents; parents are now built first, so the stack stays shallow
    for i in range(101):
        write(tmp_path, f"p{100 - i:03}.pol",
              f"policy p{i}\n" + (f"extends p{i - 1}\n" if i else "limit 97810 per day <= 1\n"))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        loaded = load_paths([tmp_path], lint=True)
    finally:
        sys.setrecursionlimit(limit)
    assert loaded.diagnostics == []
    assert len(loaded.workspace.rulesets["p100"].rules) == 1


def test_a_chain_of_extends_deeper_than_100_is_one_located_error(tmp_path: Path) -> None:
    # a policy 1,100 extends deep overflowed Python's stack while its rules were inherited
    for i in range(1_100):
        write(tmp_path, f"p{i}.pol",
              f"policy p{i}\n" + (f"extends p{i - 1}\n" if i else "limit 97810 per day <= 1\n"))
    for paths in ([tmp_path], [tmp_path / "p1099.pol"], [tmp_path / "p101.pol"]):
        diagnostics = load_paths(paths, lint=True).diagnostics
        assert [(d.code, d.file, d.span.line, d.span.column) for d in diagnostics] == [
            ("E110", "p101.pol", 2, 9)], paths
        assert diagnostics[0].message == (
            "policy 'p101' extends 'p100', which is already 100 extends deep: at most 100 "
            "extends in a chain; extend fewer policies")
    assert load_paths([tmp_path / "p100.pol"], lint=True).diagnostics == []


def test_a_long_cycle_of_extends_is_e107(tmp_path: Path) -> None:
    for i in range(150):
        write(tmp_path, f"p{i}.pol", f"policy p{i}\nextends p{(i + 1) % 150}\n")
    assert {d.code for d in load_paths([tmp_path], lint=True).diagnostics} == {"E107"}


def test_lints_survive_rules_that_failed_to_resolve(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.nope
        deleted 62311 since 2017-13-01
        addon 64484 requires NOPE
        when 64484 forbid 6448
        limit 97810 per 0d <= 4
        rule x carc ZZZ9: limit 97810 per 30d <= 4
        global 63650 3mo
        """)
    assert all(d.severity == "error" for d in diagnostics), diagnostics


@pytest.mark.parametrize("kind", ["set", "dx"])
def test_sets_nested_over_100_deep_are_one_error_not_a_recursion_error(
        tmp_path: Path, kind: str) -> None:
    def chain(length: int) -> str:
        item = "{:05d}" if kind == "set" else "M54.{}"
        lines = [f"{kind} S_{i} = S_{i + 1}, {item.format(i % 10)}" for i in range(length - 1)]
        use = "limit S_0 per day <= 1" if kind == "set" else "require dx S_0 for 97810"
        return "\n".join(["policy t.a", use, *lines,
                          f"{kind} S_{length - 1} = {item.format(9)}", ""])
    assert not check(tmp_path, chain(101))  # S_0 names S_1 ... names S_100: 100 steps down
    diagnostics = check(tmp_path, chain(150))  # S_101 is 101 steps down, at line 103
    assert where(diagnostics) == [("E109", "x.pol", 103, 13 if kind == "set" else 12)]
    word = "set" if kind == "set" else "dx set"
    assert diagnostics[0].message == (f"{word} 'S_101' is nested more than 100 sets deep: list "
                                      "its codes in fewer steps")


def test_every_code_tested_here_is_documented() -> None:
    tested = {"E001", "E101", "E102", "E103", "E104", "E105", "E106", "E107", "E108", "E109",
              "E201",
              "E202", "E203", "E204", "E205", "E206", "E207", "E208", "E209", "E211", "W301",
              "W302", "W303", "W304", "W305", "W306", "W307", "W308", "W309", "W310", "W311",
              "W312", "W313", "W314", "W315", "W316"}
    assert tested <= set(CODES)


def test_w316_a_rule_with_an_empty_or_blank_message(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        rule r "": limit 97810 per day <= 1
        rule s "  " review: limit 97811 per day <= 1
        rule t "Too many": limit 97813 per day <= 1
        rule u: limit 97814 per day <= 1
        """)
    assert where(diagnostics) == [("W316", "x.pol", 2, 8), ("W316", "x.pol", 3, 8)]
    # a zero-width space shows nothing either
    [blank] = check(tmp_path, 'policy t.a\nrule r "\u200b": limit 97810 per day <= 1\n')
    assert blank.code == "W316"
    assert diagnostics[0].message == (
        "rule 'r' has an empty message: its findings would say nothing to the provider; write "
        "one, or leave it out for the default (made from the rule's text)")


def test_w308_exclusive_rules_that_rank_two_codes_both_ways(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        exclusive 20553, 20552, 64483
        rule old effective 2010-01-01 until 2015-12-31: exclusive 97811, 97810
        rule new effective 2016-01-01: exclusive 97810, 97811
        rule pend review: exclusive 64479, 64483
        exclusive 64483, 64479
        exclusive 20552, 64479
        """, b="policy t.b\nexclusive 20552, 20553\n")
    assert where(diagnostics) == []  # apart in time; a review rule pends, denies nothing
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        exclusive 64490, 64493
        """, b="policy t.b\nexclusive 20553, 20552\nexclusive 64493, 20553, 64490\n")
    assert where(diagnostics) == [("W308", "x.pol", 3, 1)]
    assert one(diagnostics, "W308").message == (
        "this exclusive keeps 64490 over 64493, and rule 't.b/exclusive@3' (b.pol:3) keeps "
        "64493 over 64490: billed the same day by one provider, both lines are denied; list "
        "the codes in one order")


def test_w310_the_files_effective_written_after_a_rule(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        limit 20552 per 90d <= 1 sessions
        rule late: limit 97810 per day <= 1
            effective 2025-01-01
        """)
    assert where(diagnostics) == [("W310", "x.pol", 4, 5)]
    assert one(diagnostics, "W310").message.startswith(
        "this sets the validity of every rule in the file, the rules above it too (from line 2)")
    assert check(tmp_path, """
        policy t.a
        effective 2025-01-01
        set S = 20552
        limit S per 90d <= 1 sessions
        """) == []


def test_e102_of_a_second_effective_says_where_a_rules_dates_go(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        effective 2024-01-01
        rule r: limit 97810 per 90d <= 12
            effective 2025-01-01
        """)
    assert one(diagnostics, "E102").message == (
        "the file's validity is already set by an earlier 'effective' (a rule's own dates go in "
        "its header: rule NAME effective DATE: ...)")


def test_w313_a_diagnosis_ending_in_the_placeholder_x(tmp_path: Path) -> None:
    # M54.5x meant "any M54.5 code"; a prefix ending in X and a full code with X inside
    # (a placeholder before its 7th character) are fine
    diagnostics = check(tmp_path, """
        policy t.a
        dx CLBP = M54.5x, M54.50, T40.2X*, O40.1XX0
        require dx CLBP, s320x for 97810
        """)
    assert where(diagnostics) == [("W313", "x.pol", 2, 11), ("W313", "x.pol", 3, 18)]
    assert diagnostics[0].message == (
        "diagnosis 'M54.5x' ends in X, which ICD-10-CM writes only before a 7th character: no "
        "claim's diagnosis is exactly this code; for every code that starts M54.5, write "
        "M54.5*")
    assert diagnostics[1].message.endswith("that starts S320, write S320*")


def test_w314_an_override_not_in_force_where_the_rule_it_replaces_was(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        effective 2024-01-01
        rule acu: limit 97810 per 90d <= 12 sessions
        rule year effective 2021-01-01 until 2030-12-31: limit 97810 per year <= 20
        rule dx effective 2019-01-01: require dx M54.5* for 97810
        rule tpi effective 2024-01-01: limit 20552 per 12mo <= 3 sessions
        """, b="""policy t.b
        effective 2020-01-21
        rule acu: limit 97810 per 90d <= 12 sessions unless modifier KX
        rule year: limit 97810 per year <= 20 sessions
        rule dx: require dx M54.50 for 97810
        rule tpi effective 2010-01-01 until 2015-12-31: limit 20552 per 12mo <= 4 sessions
        """)
    assert where(diagnostics) == [("W314", "x.pol", 4, 6), ("W314", "x.pol", 5, 6),
                                  ("W314", "x.pol", 7, 6)]
    assert diagnostics[0].message == (
        "rule 'acu' replaces 't.b/acu' on every date, but is not in force itself from "
        "2020-01-21 to 2023-12-31, where 't.b/acu' is: neither applies there; give this rule "
        "those dates too (rule acu effective DATE: ...), or name it otherwise to keep both")
    assert "from 2020-01-21 to 2020-12-31 and from 2031-01-01 on, where" in (
        diagnostics[1].message)
    assert "from 2010-01-01 to 2015-12-31, where" in diagnostics[2].message
    # undated, it replaces the rule wherever that was in force
    assert check(tmp_path, "policy t.a\nextends t.b\nrule acu: limit 97810 per day <= 1\n",
                 b="policy t.b\neffective 2020-01-21\nrule acu: limit 97810 per day <= 2\n"
                 ) == []


def test_w315_an_override_that_shares_no_code_with_the_rule_it_replaces(
        tmp_path: Path) -> None:
    # a new rule given the name a parent uses takes that rule off its codes; a replacement
    # that judges some of the same codes, or a rule of another kind on them, is no slip
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        rule auth "SI RFA needs auth": require auth for 64625
        rule acu: limit 97810, 97811 per year <= 20 sessions
        rule tpi: require dx M79.1 for 20553
        """, b="""policy t.b
        rule auth: require auth for 63650, 63685
        rule acu: limit 97810 per 90d <= 12 sessions
        rule tpi: limit 20552, 20553 per 12mo <= 3 sessions
        """)
    assert where(diagnostics) == [("W315", "x.pol", 3, 6)]
    assert diagnostics[0].message == (
        "rule 'auth' replaces 't.b/auth', which judges 63650, 63685, with which it shares no "
        "code: those codes lose that rule; if this is a new rule, give it a name of its own")
    # moved off a code the policy deletes: a replacement
    assert check(tmp_path, "policy t.a\nextends t.b\ndeleted 62311 since 2017-01-01\n"
                           "rule esi: limit 62321 per 12mo <= 4 sessions\n",
                 b="policy t.b\nrule esi: limit 62311 per 12mo <= 4 sessions\n") == []


#: Days at the calendar's ends and in a month of 2024: a validity's ends, and the days probed.
_DAYS = [*(dt.date.min + dt.timedelta(i) for i in range(3)),
         *(dt.date(2024, 1, 1) + dt.timedelta(i) for i in range(12)),
         *(dt.date.max - dt.timedelta(i) for i in range(3))]
_VALIDITIES = st.lists(st.builds(Validity, st.none() | st.sampled_from(_DAYS),
                                 st.none() | st.sampled_from(_DAYS)), max_size=4)


@settings(max_examples=300)
@given(_VALIDITIES, _VALIDITIES)
def test_w314_finds_exactly_the_days_the_replaced_rules_hold_and_the_override_does_not(
        replaced: list[Validity], override: list[Validity]) -> None:
    # several validities a side (a table's rows), ends at the calendar's first and last day
    from policydsl.lints.inheritance import _days_of, _days_outside

    gaps = _days_outside(_days_of(replaced), _days_of(override))
    last = dt.date.max.toordinal()
    probed = [dt.date.fromordinal(o) for o in sorted(
        {day.toordinal() + step for day in _DAYS for step in (-1, 0, 1)}) if 1 <= o <= last]
    in_gaps = [day for day in probed
               if any(first <= day.toordinal() <= last for first, last in gaps)]
    assert in_gaps == [day for day in probed if any(v.covers(day) for v in replaced)
                       and not any(v.covers(day) for v in override)]
    assert all(first <= last for first, last in gaps)
    assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(gaps))  # apart, in order


def test_w314_compares_a_table_override_as_a_whole(tmp_path: Path) -> None:
    # each row against each replaced row took minutes on a PTP file and warned of days that
    # other rows held; the same file again, dated later, leaves only the days before
    table = ("column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
             "64483\t77002\t2019-12-31\t0\tx\n64483\t77002\t*\t1\tx\n"
             "64483\t77003\t*\t1\tx\n")
    write(tmp_path, "ptp.tsv", table)
    same = check(tmp_path, 'policy t.a\nextends t.b\nrule ptp: table ptp "ptp.tsv"\n',
                 b='policy t.b\nrule ptp: table ptp "ptp.tsv"\n')
    assert same == []
    later = check(tmp_path, 'policy t.a\nextends t.b\n'
                            'rule ptp effective 2024-07-01: table ptp "ptp.tsv"\n',
                  b='policy t.b\nrule ptp: table ptp "ptp.tsv"\n')
    assert [(d.code, d.span.line) for d in later] == [("W314", 3)]
    assert "is not in force itself up to 2024-06-30, where 't.b/ptp' is" in later[0].message


def test_w314_at_the_calendars_ends_is_no_traceback(tmp_path: Path) -> None:
    parent = "policy t.b\nrule lim: limit 97810 per 90d <= 12 sessions\n"
    assert check(tmp_path, "policy t.a\nextends t.b\nrule lim effective 0001-01-01 until "
                           "9999-12-31: limit 97810 per 90d <= 10 sessions\n", b=parent) == []
    [w314] = check(tmp_path, "policy t.a\nextends t.b\nrule lim effective 0001-01-01 until "
                             "2020-01-01: limit 97810 per 90d <= 10 sessions\n", b=parent)
    assert "is not in force itself from 2020-01-02 on, where" in w314.message


def test_w312_a_rule_indented_under_a_named_rule_is_not_part_of_it(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        rule acu carc 96 review "Acupuncture limits":
            limit 97810 per 90d <= 12 sessions
            limit 97810 per year <= 20 sessions
        rule tpi: limit 20552 per day <= 1
        """)
    assert where(diagnostics) == [("W312", "x.pol", 4, 5)]
    assert diagnostics[0].message.startswith(
        "this rule is indented under rule 'acu' (line 2) but is not part of it")
    # the body on the header's line or the next is the rule's own; a rule at the margin after
    # a named rule is its own rule, as it looks
    assert check(tmp_path, """
        policy t.a
        rule acu:
            limit 97810 per 90d <= 12 sessions
        limit 97810 per year <= 20 sessions
        rule tpi: limit 20552 per day <= 1
        """) == []



def test_w312_a_rule_on_the_line_after_a_body_at_the_margin_is_not_part_of_it(
        tmp_path: Path) -> None:
    # the header alone on its line, the body below it unindented, and a second limit on the
    # next line: the two read as one rule's body
    diagnostics = check(tmp_path, """
        policy t.a
        rule acu carc 96 "Acupuncture limits":
        limit 97810 per 90d <= 12 sessions
        limit 97810 per year <= 20 sessions
        """)
    assert where(diagnostics) == [("W312", "x.pol", 4, 1)]
    assert diagnostics[0].message == (
        "this rule is written like the body of rule 'acu' (line 2) but is not part of it: a "
        "rule has one statement, so this is an unnamed rule of its own, with its kind's action "
        "and CARC; name it (rule NAME: ...), or indent the body of rule 'acu' to set the two "
        "apart")
    # indented under a body at the margin: the fix offered must not lead to the case above
    [indented] = check(tmp_path, "policy t.a\nrule acu carc 96:\nlimit 97810 per 90d <= 12\n"
                                 "    limit 97810 per year <= 20\n")
    assert indented.message.endswith(
        "or indent the body of rule 'acu' and move this to the margin")
    assert check(tmp_path, "policy t.a\nrule acu carc 96:\n    limit 97810 per 90d <= 12\n"
                           "limit 97810 per year <= 20\n") == []
    # a blank line or a comment sets them apart; a body on the header's line is the rule's
    for text in ("rule acu:\nlimit 97810 per 90d <= 12\n\nlimit 97810 per year <= 20\n",
                 "rule acu:\nlimit 97810 per 90d <= 12\n# yearly\nlimit 97810 per year <= 20\n",
                 "rule acu: limit 97810 per 90d <= 12\nlimit 97810 per year <= 20\n"):
        assert check(tmp_path, "policy t.a\n" + text) == [], text


def test_e106_suggests_a_close_rule_id(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        disable t.b/acu-dxx
        """, b="policy t.b\nrule acu-dx: require dx M54.50 for 97810\n")
    assert one(diagnostics, "E106").message.endswith("; did you mean 't.b/acu-dx'?")
    # the policy's rule set is still its own, under its own name
    assert sorted(load_paths([tmp_path / "x.pol"]).workspace.rulesets) == ["t.a", "t.b"]


def test_e101_of_a_set_name_in_another_case(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set ESI = 64483
        dx Back = M54.50
        limit esi per day <= 1
        require dx BACK for 97810
        """)
    assert [d.message for d in diagnostics] == [  # and no W306: the sets are used, misspelt
        "undefined code set 'esi' (did you mean 'ESI'? names are case sensitive)",
        "undefined dx set 'BACK' (did you mean 'Back'? names are case sensitive)"]


def test_e101_of_a_set_name_with_a_slip(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        set FLUORO = 77002, 77003
        dx CLBP = M54.50
        when 64483 forbid FLOURO
        require dx CLPB for 97810
        limit NOTHING per day <= 1
        """)
    assert [d.message for d in diagnostics] == [  # and no W306: the sets are used, misspelt
        "undefined code set 'FLOURO' (did you mean 'FLUORO'?)",
        "undefined dx set 'CLPB' (did you mean 'CLBP'?)",
        "undefined code set 'NOTHING'"]


def test_w308_an_exclusive_against_a_forbid_of_the_same_pair(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        when 62323 forbid 64483 unless modifier 59
        exclusive 64483, 62323
        rule pend review: when 20553 forbid 20552
        exclusive 20552, 20553
        rule old effective 2010-01-01 until 2010-12-31: when 64479 forbid 64490
        rule new effective 2020-01-01: exclusive 64490, 64479
        """)
    assert where(diagnostics) == [("W308", "x.pol", 3, 1)]  # not the review nor the old one
    assert one(diagnostics, "W308").message == (
        "this exclusive keeps 64483 over 62323, and rule 't.a/forbid@2' (line 2) forbids 64483 "
        "when 62323 is billed: billed the same day by one provider, both lines are denied")


def test_w308_an_exclusive_against_an_inherited_ptp_table(tmp_path: Path) -> None:
    (tmp_path / "ptp.tsv").write_text(
        "column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
        "62323\t64483\t*\t1\tMutually exclusive procedures\n")
    diagnostics = check(tmp_path, """
        policy t.a
        extends t.b
        exclusive 64483, 62323
        """, b='policy t.b\ntable ptp "ptp.tsv"\n')
    assert where(diagnostics) == [("W308", "x.pol", 3, 1)]
    assert "rule 't.b/table@2' (ptp.tsv:2:1) forbids 64483 when 62323" in diagnostics[0].message


def test_w309_exclusive_of_a_single_code(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        exclusive 20553, 20552
        exclusive 20553
        """)
    assert where(diagnostics) == [("W309", "x.pol", 3, 1)]
    assert one(diagnostics, "W309").message.startswith(
        "this exclusive lists only 20553, so it never fires")


def test_exclusive_lints_judge_the_across_providers_form(tmp_path: Path) -> None:
    """W304 tells ``across providers`` from the plain form (they deny different lines); W303,
    W308 and W309 hold for it as for the plain form: across providers it denies every line
    the plain form would, and more (which makes the plain form redundant beside it: W305)."""
    diagnostics = check(tmp_path, """
        policy t.a
        exclusive 20553, 20552
        exclusive 20553, 20552 across providers
        rule again: exclusive 20553, 20552 across providers
        when 62323 forbid 64483
        exclusive 64483, 62323 across providers
        exclusive 97810 across providers
        addon 64484 requires 64479
        exclusive 64479, 64484 across providers
        exclusive 20552, 20553
        """)
    assert where(diagnostics) == [("W305", "x.pol", 2, 1), ("W304", "x.pol", 4, 1),
                                  ("W308", "x.pol", 6, 1), ("W309", "x.pol", 7, 1),
                                  ("W303", "x.pol", 8, 22), ("W308", "x.pol", 10, 1)]
    assert "identical to rule 't.a/exclusive@3' (line 3)" in diagnostics[1].message
    assert "rule 't.a/exclusive@2' (line 2) keeps 20553 over 20552" in diagnostics[5].message


def test_w305_an_exclusive_that_another_makes_redundant(tmp_path: Path) -> None:
    """An exclusive is redundant beside one that ranks its codes in its order (others may
    come between) over at least the same providers: whenever it denies a line, the other
    has a higher code to deny it for too."""
    diagnostics = check(tmp_path, """
        policy t.a
        exclusive 20553, 20552
        exclusive 20553, 20552 across providers
        exclusive 64483, 62323
        exclusive 64483, 64484, 62323
        exclusive 97810, 97811 across providers
        exclusive 97810, 97811
        rule late effective 2025-01-01: exclusive 20560, 20561
        exclusive 20560, 20561 across providers
        rule pend review: exclusive 63650, 63655 across providers
        exclusive 63650, 63655
        """)
    assert where(diagnostics) == [("W305", "x.pol", 2, 1), ("W305", "x.pol", 4, 1),
                                  ("W305", "x.pol", 7, 1), ("W305", "x.pol", 8, 33)]
    assert diagnostics[0].message == (
        "this exclusive (20553 over 20552) is redundant: rule 't.a/exclusive@3' (line 3), "
        "20553 over 20552 across providers, already denies every line it would; remove this "
        "exclusive, or make it stricter than the other")
    assert "rule 't.a/exclusive@5' (line 5), 64483 over 64484, 62323, among other codes," \
        in diagnostics[1].message
    # a plain exclusive never makes an across-providers one redundant (line 6); nor does a
    # review one a deny one (line 10 is not reported, line 11 is)
    assert "(line 6)" in diagnostics[2].message  # the plain one below it is the redundant one


_EXCLUSIVE = st.builds(
    lambda codes, across, review: ("rule r{n} review: " if review else "")
    + "exclusive " + ", ".join(codes) + (" across providers" if across else ""),
    st.lists(st.sampled_from(["20552", "20553", "20560"]), min_size=2, max_size=3,
             unique=True),
    st.booleans(), st.booleans())


@settings(max_examples=150, deadline=None)
@given(first=_EXCLUSIVE, second=_EXCLUSIVE,
       rows=st.lists(st.tuples(st.integers(0, 1), st.sampled_from(["20552", "20553", "20560"]),
                               st.sampled_from(["P1", "P2", ""])), min_size=1, max_size=8))
def test_w305_a_redundant_exclusive_never_decides(
        tmp_path_factory: pytest.TempPathFactory, first: str, second: str,
        rows: list[tuple[int, str, str]]) -> None:
    lines = [ClaimLine(f"C{i}", 1, "M1", dt.date(2024, 1, 1) + dt.timedelta(days=day), code,
                       provider) for i, (day, code, provider) in enumerate(rows)]
    assert_redundant_rule_decides_nothing(
        tmp_path_factory, [first.format(n=1), second.format(n=2)], lines)


def test_w301_names_every_deleted_code_of_the_rule(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, """
        policy t.a
        deleted 62310, 62311 since 2017-01-01
        rule esi effective 2016-01-01: require auth for 62311, 62310, 62321
        """)
    assert where(diagnostics) == [("W301", "x.pol", 3, 56)]  # the lowest code, 62310
    message = diagnostics[0].message
    assert "62310, 62311 are deleted since 2017-01-01" in message
    assert "still names them and is in force from 2017-01-01" in message
    assert "end the rule's validity before 2017-01-01" in message


def test_durations_longer_than_100_years_are_rejected(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "policy t\nlimit 97810 per 800000d <= 1\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E213", 2, 17)]
    assert "lifetime" in diagnostics[0].message


def test_a_global_period_too_long_is_not_told_to_write_lifetime(tmp_path: Path) -> None:
    # a global period is a number of days: 'lifetime' would be E208
    diagnostics = check(tmp_path, "policy t\nglobal 63650 99999999999999999999d\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E213", 2, 14)]
    assert "lifetime" not in diagnostics[0].message
    assert "at most 36525 days" in diagnostics[0].message
    # in months it is E208 whatever the number: no number of months would do
    diagnostics = check(tmp_path, "policy t\nglobal 63650 1300mo\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E208", 2, 14)]


def test_a_duration_of_thousands_of_digits_is_longer_than_100_years(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, f"policy t\nlimit 97810 per {'9' * 5000}d <= 1\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E213", 2, 17)]


def test_prerequisite_within_day_can_never_be_met(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "policy t\nrequire 1 of 97810 within day before 97811\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E208", 2, 27)]


_LIMIT_TAILS = st.sampled_from([
    "per day", "per 2d", "per 30d", "per 90d", "per 365d", "per 1mo", "per 3mo", "per 12mo",
    "per year", "per lifetime", "per claim"])


_LIMIT_TERMS = st.tuples(_LIMIT_TAILS, st.booleans(), st.integers(0, 3),
                        st.sampled_from(["", "KX", "KX, GA"]))


@settings(max_examples=100, deadline=None)
@given(first=_LIMIT_TERMS, second=_LIMIT_TERMS,
       rows=st.lists(st.tuples(st.one_of(st.integers(0, 120), st.integers(330, 400)),
                               st.sampled_from(["", "KX", "GA"]), st.integers(1, 3),
                               st.sampled_from(["P1", "P2"])), min_size=1, max_size=12))
def test_w305_a_redundant_limit_never_decides(
        tmp_path_factory: pytest.TempPathFactory, first: tuple[str, bool, int, str],
        second: tuple[str, bool, int, str], rows: list[tuple[int, str, int, str]]) -> None:
    def limit(window: str, by_provider: bool, most: int, bypass: str) -> str:
        return (f"limit 97810 {window}{' by provider' if by_provider else ''} <= {most}"
                + (f" unless modifier {bypass}" if bypass else ""))

    lines = [ClaimLine(f"C{i}", 1, "M1", dt.date(2024, 1, 1) + dt.timedelta(days=day), "97810",
                       provider, modifiers=mods, units=units)
             for i, (day, mods, units, provider) in enumerate(rows)]
    assert_redundant_rule_decides_nothing(tmp_path_factory, [limit(*first), limit(*second)],
                                          lines)


@settings(max_examples=100, deadline=None)
@given(first=st.tuples(st.booleans(), st.integers(1, 2)),
       second=st.tuples(st.booleans(), st.integers(1, 2)),
       rows=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["P1", "P2"])), min_size=1,
                     max_size=6))
def test_w305_a_limit_by_provider_is_redundant_only_by_a_member_wide_one(
        tmp_path_factory: pytest.TempPathFactory, first: tuple[bool, int],
        second: tuple[bool, int], rows: list[tuple[int, str]]) -> None:
    """The provider scope alone, drawn densely: a member-wide limit may make a ``by
    provider`` one redundant, never the other way round."""
    def limit(by_provider: bool, most: int) -> str:
        return f"limit 97810 per 90d{' by provider' if by_provider else ''} <= {most}"

    lines = [ClaimLine(f"C{i}", 1, "M1", dt.date(2024, 1, 1) + dt.timedelta(days=day), "97810",
                       provider) for i, (day, provider) in enumerate(rows)]
    assert_redundant_rule_decides_nothing(tmp_path_factory, [limit(*first), limit(*second)],
                                          lines)


def assert_redundant_rule_decides_nothing(
        tmp_path_factory: pytest.TempPathFactory, rules: list[str], lines: list[ClaimLine]
        ) -> None:
    """When W305 calls one of two ``rules`` redundant, the other alone decides every line
    as both do."""
    text = "policy t.a\n" + "\n".join(rules) + "\n"
    diagnostics = load_paths([write(tmp_path_factory.mktemp("w305"), "x.pol", text)],
                             lint=True).diagnostics
    redundant = [d.span.line - 2 for d in diagnostics if d.code == "W305"]
    if not redundant:
        return
    kept = "policy t.a\n" + rules[1 - redundant[0]] + "\n"
    both = [d.decision for d in compile_text(text).adjudicate(lines)]
    assert both == [d.decision for d in compile_text(kept).adjudicate(lines)]


_LIMIT_STATEMENT = st.builds(
    lambda codes, tail, most, by_provider, measure, bypass, review: (
        ("rule r{n} review: " if review else "")
        + f"limit {codes} {tail}{' by provider' if by_provider else ''} <= {most}{measure}"
        + (f" unless modifier {bypass}" if bypass else "")),
    st.sampled_from(["97810", "97810, 97813"]),
    st.sampled_from(["per day", "per 30d", "per 90d", "per 3mo", "per year"]),
    st.integers(1, 3), st.booleans(), st.sampled_from(["", " sessions"]),
    st.sampled_from(["", "KX", "KX, GA"]), st.booleans())


@settings(max_examples=100, deadline=None)
@given(statements=st.lists(_LIMIT_STATEMENT, min_size=2, max_size=16))
def test_w305_finds_what_comparing_every_pair_of_limits_finds(
        tmp_path_factory: pytest.TempPathFactory, statements: list[str]) -> None:
    """W305 compares each limit only with those on the same codes and measure; it reports
    what comparing it with every other limit of the rule set reports: the first limit that
    is stricter, unless the two are stricter than each other and that one comes later."""
    from policydsl.lints import pairs
    from policydsl.lints.index import index_for
    from policydsl.model import Limit

    text = "policy t.a\n" + "".join(s.format(n=i) + "\n" for i, s in enumerate(statements))
    loaded = load_paths([write(tmp_path_factory.mktemp("w305"), "x.pol", text)], lint=True)
    found = sorted((d.span.line, d.message) for d in loaded.diagnostics if d.code == "W305")
    ruleset = loaded.workspace.rulesets["t.a"]
    limits = [r for r in ruleset.rules if isinstance(r, Limit)]
    index = index_for(loaded.workspace)
    expected = []
    for i, weak in enumerate(limits):
        for j, strict in enumerate(limits):
            if (i != j and pairs._stripped(weak) != pairs._stripped(strict)
                    and pairs._stricter(strict, weak)
                    and not (j > i and pairs._stricter(weak, strict))):
                site = index.site(weak)
                assert site is not None
                expected.append((site.body.span.line, index.describe(strict, site.file)))
                break
    assert [line for line, _ in found] == sorted(line for line, _ in expected)
    for (_, message), (_, strict) in zip(found, sorted(expected), strict=True):
        assert strict in message


_PAIR_CODES = st.sampled_from(["64483", "64484", "77002", "77003", "20552"])
_PAIR_STATEMENT = st.one_of(
    st.builds(lambda a, p: f"addon {a} requires {p}", _PAIR_CODES, _PAIR_CODES),
    st.builds(lambda t, f: f"when {t} forbid {f}", _PAIR_CODES, _PAIR_CODES),
    st.builds(lambda codes: "exclusive " + ", ".join(codes),
              st.lists(_PAIR_CODES, min_size=2, max_size=4, unique=True)))


@settings(max_examples=100, deadline=None)
@given(statements=st.lists(_PAIR_STATEMENT, min_size=2, max_size=14))
def test_w303_and_w308_find_what_comparing_every_pair_of_rules_finds(
        tmp_path_factory: pytest.TempPathFactory, statements: list[str]) -> None:
    """W303 looks only at the add-ons that name a code of the forbid or exclusive, and W308
    only at the earlier exclusives that share two codes with an exclusive; both report what
    comparing every add-on with every forbid, and every exclusive with every earlier one,
    reports."""
    from policydsl.lints import pairs
    from policydsl.model import Addon, Exclusive, Forbid

    text = "policy t.a\n" + "".join(s + "\n" for s in statements)
    loaded = load_paths([write(tmp_path_factory.mktemp("pairs"), "x.pol", text)], lint=True)
    rules = loaded.workspace.rulesets["t.a"].rules
    line = {r: int(r.info.id.rsplit("@", 1)[1]) for r in rules}  # unnamed: kind@line
    addons = [r for r in rules if isinstance(r, Addon)]
    expected_w303 = sorted({line[addon] for blocker in rules
                            if isinstance(blocker, (Forbid, Exclusive))
                            for addon in addons if pairs._blocks(blocker, addon)})
    exclusives = [r for r in rules if isinstance(r, Exclusive) and len(set(r.codes)) > 1]
    expected_w308 = []
    for i, later in enumerate(exclusives):
        for earlier in exclusives[:i]:
            a, b = earlier.codes, later.codes
            if any(a.index(x) < a.index(y) and b.index(y) < b.index(x)
                   for x in set(a) & set(b) for y in set(a) & set(b)):
                expected_w308.append(line[later])
                break
    found = loaded.diagnostics
    assert sorted({d.span.line for d in found if d.code == "W303"}) == expected_w303
    assert sorted(d.span.line for d in found
                  if d.code == "W308" and "this exclusive keeps" in d.message
                  and "forbids" not in d.message) == expected_w308


def test_diagnostics_of_several_files_come_sorted_by_location(tmp_path: Path) -> None:
    # issue 2, section 5: `policyc check PATH...` reports file:line:col diagnostics; a syntax
    # error found while reading z.pol and the lints of a.pol come out in location order
    # (file, line, column), not in the order the stages found them
    good = write(tmp_path, "a.pol", """
        policy t.a
        set UNUSED = 97810
        when 64483 forbid 64483
        """)
    bad = write(tmp_path, "z.pol", """
        policy t.z
        limit 97810 per 90d 12
        """)
    found = load_paths([bad, good], lint=True).diagnostics
    assert [(d.file, d.span.line, d.code) for d in found] == [
        ("a.pol", 2, "W306"), ("a.pol", 3, "W302"), ("z.pol", 2, "E001")]


def test_a_validity_of_one_day_is_not_empty(tmp_path: Path) -> None:
    # issue 2, section 5: "empty validity" is E206 only when until is before effective; both
    # ends are inclusive, so effective and until on the same date leave one day (today only a
    # formatter property test notices when a one-day validity is called empty)
    path = write(tmp_path, "x.pol", """
        policy t.a
        effective 2024-01-01 until 2024-01-01
        rule r effective 2024-03-01 until 2024-03-01: require auth for 63650
        """)
    assert [d.code for d in load_paths([path], lint=True).diagnostics] == []
    empty = write(tmp_path, "y.pol", """
        policy t.b
        effective 2024-01-02 until 2024-01-01
        """)
    assert [d.code for d in load_paths([empty], lint=True).diagnostics] == ["E206"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_policy_or_table_that_is_no_regular_file_is_refused_not_read(tmp_path: Path) -> None:
    # a named pipe in a policy folder blocked check, fmt, test and run for ever; a table or a
    # policy linked to /dev/zero filled the memory
    os.mkfifo(tmp_path / "pipe.pol")
    (tmp_path / "zero.pol").symlink_to("/dev/zero")
    write(tmp_path, "x.pol", 'policy t.x\ntable mue "/dev/zero"\n')
    diagnostics = load_paths([tmp_path], lint=True).diagnostics
    assert sorted((d.code, d.file, d.message) for d in diagnostics) == [  # cwd: tmp_path
        ("E002", "pipe.pol", "cannot read pipe.pol: it is a named pipe, not a regular file"),
        ("E002", "zero.pol", "cannot read zero.pol: it is a device or other special file, "
                             "not a regular file"),
        ("E210", "x.pol",
         "/dev/zero: cannot read table file: it is a device or other special file, not a "
         "regular file")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_e105_names_the_files_where_extends_looked_that_could_not_be_read(
        tmp_path: Path) -> None:
    # the parent's file could not be read (a named pipe here; no permission, say): "unknown
    # policy ... did you mean" sent the analyst looking for a typo
    # in a folder of its own: the folders beside the policy's are searched too
    (tmp_path / "own").mkdir()
    os.mkfifo(tmp_path / "own" / "base.pol")
    kid = write(tmp_path, "own/kid.pol", "policy t.kid\nextends t.base\n")
    diagnostics = load_paths([kid], lint=True).diagnostics
    assert [(d.code, d.message) for d in diagnostics] == [(
        "E105", "unknown policy 't.base' in extends: no loaded policy, nor any file in this "
        "policy's folder or the folders beside it, declares it that could be read (some could "
        "not, and may: own/base.pol: it is a named pipe, not a regular file)")]


def test_e103_3000_sets_that_name_each_other_are_checked_at_once(tmp_path: Path) -> None:
    # each set on the cycle was expanded again from every other: minutes for 3,000 sets
    names = [f"SET_{i}" for i in range(3000)]
    text = ("policy t.a\nset W = " + ", ".join(names) + "\n"
            + "".join(f"set {name} = W\n" for name in names) + "limit W per day <= 1\n")
    started = time.perf_counter()
    diagnostics = check(tmp_path, text)
    assert time.perf_counter() - started < 60  # seconds; it ran for more than 300
    assert len(diagnostics) == 6000 and {d.code for d in diagnostics} == {"E103"}
    assert diagnostics[0].message == (
        "set 'SET_0' is defined in terms of itself: SET_0 -> W -> SET_0")
    assert diagnostics[-1].message == (
        "set 'W' is defined in terms of itself: W -> SET_2999 -> W")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("ABCDE"),
                       st.lists(st.sampled_from([*"ABCDE", "97810"]), min_size=1, max_size=4),
                       min_size=1))
def test_e103_is_reported_at_each_name_that_closes_a_cycle(
        tmp_path_factory: pytest.TempPathFactory, sets: dict[str, list[str]]) -> None:
    """At every name X written in set Y's definition where X reaches Y (by the names in the
    definitions), and nowhere else; its message is a cycle through that name."""
    order = sorted(sets)
    text = "policy t.a\n" + "".join(f"set {name} = {', '.join(sets[name])}\n" for name in order)
    diagnostics = load_paths([write(tmp_path_factory.mktemp("e103"), "x.pol", text)],
                             lint=True).diagnostics

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo += [x for x in sets.get(name, []) if x in sets]
        return False

    expected = set()
    for line, name in enumerate(order, 2):
        column = len(f"set {name} = ") + 1
        for item in sets[name]:
            if item in sets and reaches(item, name):
                expected.add((line, column))
            column += len(item) + 2
    cycles = [d for d in diagnostics if d.code == "E103"]
    assert {(d.span.line, d.span.column) for d in cycles} == expected
    for d in cycles:
        named, _, path = d.message.partition(" is defined in terms of itself: ")
        steps = path.split(" -> ")
        assert named == f"set '{steps[0]}'" and steps[0] == steps[-1]
        assert len(set(steps[:-1])) == len(steps) - 1  # no set twice
        assert all(b in sets[a] for a, b in itertools.pairwise(steps))


def test_e105_keeps_its_typo_hint_beside_an_unreadable_file(tmp_path: Path) -> None:
    # an editor's lock file (a link to nothing) beside the policy hid "did you mean"
    (tmp_path / "own").mkdir()
    write(tmp_path, "own/base.pol", "policy t.base\n")
    (tmp_path / "own" / "zz.pol").symlink_to(tmp_path / "nowhere")
    kid = write(tmp_path, "own/kid.pol", "policy t.kid\nextends t.bsae\n")
    errors = [d for d in load_paths([kid], lint=True).diagnostics if d.code == "E105"]
    assert len(errors) == 1 and errors[0].message.endswith("did you mean 't.base'?")
