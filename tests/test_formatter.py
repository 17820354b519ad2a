"""The canonical layout (``policydsl.formatter``): golden files and round-trip properties.

Each ``tests/golden/fmt/NAME.pol`` is formatted and compared with ``NAME.expected.pol``; the
expected file must itself be canonical (formatting it changes nothing) and must parse to the
same AST as the input, up to the case rewrites of the layout (``canonical_module``).

To regenerate the expected files after a deliberate change of layout, run
``POLICYDSL_UPDATE_GOLDENS=1 pytest tests/test_formatter.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import policy_texts

from policydsl import nodes as n
from policydsl.formatter import (
    WIDTH,
    canonical_module,
    format_file,
    format_file_text,
    format_text,
    quote,
)
from policydsl.parser import parse
from policydsl.resolve import resolve

GOLDEN = Path(__file__).parent / "golden" / "fmt"
UPDATE = os.environ.get("POLICYDSL_UPDATE_GOLDENS") == "1"
CASES = sorted(p.name.removesuffix(".pol") for p in GOLDEN.glob("*.pol")
               if not p.name.endswith(".expected.pol"))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(params=CASES)
def golden(request: pytest.FixtureRequest) -> tuple[str, str]:
    """``(input text, expected text)`` of one golden case; rewrites the expected file first
    when ``POLICYDSL_UPDATE_GOLDENS=1``."""
    name: str = request.param
    source = _read(GOLDEN / f"{name}.pol")
    expected_path = GOLDEN / f"{name}.expected.pol"
    if UPDATE:
        expected_path.write_text(format_text(source, f"{name}.pol"), encoding="utf-8")
    return source, _read(expected_path)


def test_golden_cases_exist() -> None:
    assert len(CASES) >= 6
    for name in CASES:
        assert (GOLDEN / f"{name}.expected.pol").exists(), f"{name}.expected.pol is missing"


def test_golden_format(golden: tuple[str, str]) -> None:
    source, expected = golden
    assert format_text(source) == expected


def test_golden_expected_is_canonical(golden: tuple[str, str]) -> None:
    _, expected = golden
    assert format_text(expected) == expected


def test_golden_same_ast(golden: tuple[str, str]) -> None:
    source, expected = golden
    assert parse(expected) == canonical_module(parse(source))
    assert canonical_module(parse(expected)) == parse(expected)


# --- properties ---------------------------------------------------------------------------


def _check_round_trip(text: str) -> str:
    formatted = format_text(text)
    assert parse(formatted) == canonical_module(parse(text))
    assert format_text(formatted) == formatted
    return formatted


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_texts())
def test_format_parse_round_trip(text: str) -> None:
    formatted = _check_round_trip(text)
    assert not formatted.startswith("\n")
    assert "\n\n\n" not in formatted
    assert formatted == "" or (formatted.endswith("\n") and not formatted.endswith("\n\n"))
    assert all(line == line.rstrip() for line in formatted.split("\n"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_texts())
def test_format_file_names_the_unnamed_rules_it_moves(text: str) -> None:
    """Exactly those whose statement line changes: their ids (``KIND@LINE``) before and
    after, as parsing the two texts gives them."""
    formatted, moved = format_file(text)

    def ids(source: str) -> list[str]:
        return [f"{n.RULE_KIND[type(st)]}@{st.span.line}" for st in parse(source).statements
                if isinstance(st, n.RULE_BODIES)]

    assert moved == [(old, new) for old, new in zip(ids(text), ids(formatted), strict=True)
                     if old != new]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_texts(resolvable=True))
def test_resolvable_policies_resolve_the_same_after_formatting(text: str) -> None:
    formatted = _check_round_trip(text)
    before = resolve([parse(text, "p.pol")], {"p.pol": text}, load_tables=False)
    after = resolve([parse(formatted, "p.pol")], {"p.pol": formatted}, load_tables=False)
    assert before.errors == []
    assert after.errors == []
    name = next(iter(before.rulesets))
    # the same rules, and the same messages in their findings (ids and sources name lines)
    rules_before = [attrs.evolve(r, info=attrs.evolve(r.info, id="", source=""))
                    for r in before.rulesets[name].rules]
    rules_after = [attrs.evolve(r, info=attrs.evolve(r.info, id="", source=""))
                   for r in after.rulesets[name].rules]
    assert rules_after == rules_before


@settings(max_examples=50, deadline=None)
@given(policy_texts(noise=False))
def test_round_trip_without_noise(text: str) -> None:
    _check_round_trip(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_texts(), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
@example("policy medicare.pain", "\r\n", False)  # a file of one line, with no line end
def test_a_file_keeps_its_line_ends_and_byte_order_mark(text: str, end: str, bom: bool) -> None:
    # what policyc fmt writes: the canonical layout, in the file's own line ends and BOM (a
    # file with no line end at all gets "\n", as format_file says)
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # the generated text's own ends
    raw = ("\ufeff" if bom else "") + text.replace("\n", end)
    formatted = format_file_text(raw)
    own = end if "\n" in text else "\n"
    assert formatted == ("\ufeff" if bom else "") + format_text(text).replace("\n", own)
    assert format_file_text(formatted) == formatted


# --- details of the layout ----------------------------------------------------------------


def test_lines_are_counted_as_the_parser_counts_them() -> None:
    # a Unicode line separator inside a comment is no line end: the comment alone on line 3
    # stays alone, not a trailing comment of line 2
    text = "policy p # a\u2028b\nset A = 97810\n    # alone\nlimit A per 90d <= 1\n"
    assert format_text(text) == (
        "policy p  # a\u2028b\nset A = 97810\n# alone\nlimit A per 90d <= 1\n")


def test_empty_and_comment_only_files() -> None:
    assert format_text("") == ""
    assert format_text("\n\n  \n") == ""
    assert format_text("\n\n  # a  \n\n\n#b") == "# a\n\n#b\n"


def test_case_rewrites() -> None:
    text = ("policy p\nset Esi = j0585, 0213t, esi_b, a0000..b0010\ndx lbp = m54.5*, m5450, lbp2\n"
            "when Esi forbid g0283 unless modifier xu, 59\nrule r carc b15: mue j0585 <= 1\n"
            "table ptp \"x\"\n")
    assert format_text(text) == (
        "policy p\nset Esi = J0585, 0213T, esi_b, A0000..B0010\ndx lbp = M54.5*, M5450, lbp2\n"
        "when Esi forbid G0283 unless modifier XU, 59\nrule r carc B15: mue J0585 <= 1\n"
        "table ptp \"x\"\n")


def test_optional_words_printed_only_when_written() -> None:
    text = ("limit 1 per day <= 2\nlimit 1 per day <= 2 units\nmue 1 <= 2\nmue 1 <= 2 per day\n"
            "exclusive 1, 2\nexclusive 1, 2 across providers\n")
    assert format_text(text) == text
    assert format_text("exclusive 1,2 across\n\tproviders\n") == "exclusive 1, 2 across providers\n"


def test_named_rule_body_moves_to_next_line_past_the_width() -> None:
    def rule(codes: int) -> str:
        return "rule r: exclusive " + ", ".join(["12345"] * codes)

    fits = next(k for k in range(30) if len(rule(k + 1)) > WIDTH)
    assert format_text(rule(fits)) == rule(fits) + "\n"
    assert len(rule(fits)) <= WIDTH
    wrapped = format_text(rule(fits + 1)).splitlines()
    assert wrapped[0] == "rule r:"
    assert wrapped[1].startswith("    exclusive 12345, ")


def test_long_lists_wrap_after_a_comma() -> None:
    codes = ", ".join(f"{64400 + i}" for i in range(40))
    lines = format_text(f"set S = {codes}\nrule r review: when S forbid {codes}\n").splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[0].startswith("set S = 64400, ")
    assert all(line.startswith("    6") for line in lines[1:3])
    rule_at = next(i for i, line in enumerate(lines) if line.startswith("rule"))
    assert lines[rule_at] == "rule r review:"
    assert lines[rule_at + 1].startswith("    when S forbid 64400, ")
    assert all(line.startswith("        6") for line in lines[rule_at + 2:])
    assert all(line.endswith(",") for line in lines[rule_at + 1:-1])


def test_strings_are_requoted() -> None:
    assert quote('a "b" \\ c\nd\te') == '"a \\"b\\" \\\\ c\\nd\\te"'
    text = 'rule r "say \\"hi\\"\\q\ttab #no comment": table ptp "a\\\\b"  # yes\n'
    assert format_text(text) == ('rule r "say \\"hi\\"q\\ttab #no comment": '
                                 'table ptp "a\\\\b"  # yes\n')


def test_comments_inside_a_statement() -> None:
    text = ("rule r  # one\n"
            "    # alone inside\n"
            "  : limit 1, # two\n"
            "    2 per day <= 3  # three\n"
            "# after\n")
    assert format_text(text) == ("rule r:  # one\n"
                                 "    # alone inside\n"
                                 "    limit 1,  # two\n"
                                 "        2 per day <= 3  # three\n"
                                 "# after\n")


def test_a_single_trailing_comment_goes_to_the_end() -> None:
    text = "rule r  # why\n  : limit 1,\n 2 per day <= 3\n"
    assert format_text(text) == "rule r: limit 1, 2 per day <= 3  # why\n"


def test_annotated_list_keeps_a_comment_per_item() -> None:
    text = ("dx D =\n"
            "    M54.50,   # one\n"
            "    # the next two\n"
            "    M54.51, M54.59,  # two and three\n"
            "    M54.4*    # four\n")
    assert format_text(text) == ("dx D = M54.50,  # one\n"
                                 "    # the next two\n"
                                 "    M54.51, M54.59,  # two and three\n"
                                 "    M54.4*  # four\n")


def test_a_comment_continued_under_a_trailing_comment_stays_under_it() -> None:
    text = ("set A = 1,\n"
            "   2          # first line\n"
            "              # continued\n"
            "              # and continued\n"
            "             # not aligned: before the next statement\n"
            "set B = 3\n")
    assert format_text(text) == ("set A = 1, 2  # first line\n"
                                 "              # continued\n"
                                 "              # and continued\n"
                                 "# not aligned: before the next statement\n"
                                 "set B = 3\n")


def test_two_statements_on_one_line_split() -> None:
    assert format_text("policy a extends b, c # on extends\n") == (
        "policy a\nextends b, c  # on extends\n")


def test_every_list_field_is_normalized() -> None:
    from policydsl.formatter import LIST_FIELDS

    for kind in (*n.RULE_BODIES, n.SetDef, n.DxDef, n.Extends):
        list_fields = {f.name for f in attrs.fields(kind)
                       if f.name != "span" and "tuple" in str(f.type)}
        if kind is n.Extends:
            assert kind not in LIST_FIELDS  # policy names are case sensitive
            continue
        assert set(LIST_FIELDS.get(kind, {})) == list_fields, kind
