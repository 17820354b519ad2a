"""CMS table readers: each kind and layout read from the project's copies of the CMS extracts."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from pathlib import Path
from typing import cast

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import compile_text
from policydsl.diagnostics import PolicyError
from policydsl.model import (
    DEFAULT_GLOBAL_BYPASS,
    DEFAULT_GLOBAL_COVERS,
    NCCI_MODIFIERS,
    Addon,
    Forbid,
    ForbidModifier,
    Global,
    Mue,
    Rule,
    RuleInfo,
    Validity,
)
from policydsl.tables import TABLE_KINDS, TableError, load_table

ROOT = Path(__file__).resolve().parent.parent
NCCI = ROOT / "policies" / "medicare" / "ncci"
PTP_TIDY = NCCI / "ptp_practitioner_pain_2024q2.tsv"
MUE_TIDY = NCCI / "mue_pain_2024q2.csv"
ADDON = NCCI / "addon_pain_2024.csv"
PFS = ROOT / "policies" / "medicare" / "pfs" / "pfs_2025oct_pain_indicators.csv"
SAMPLES = ROOT / "tests" / "data" / "cms"
PTP_CMS = SAMPLES / "ncci_ptp_practitioner_layout_sample.txt"
MUE_CMS = SAMPLES / "ncci_mue_practitioner_layout_sample.csv"

INFO = RuleInfo(id="medicare/ncci", action="deny", carc="", message="", source="m.pol:3:1")
CMS_PTP_HEADER = PTP_CMS.read_text().splitlines(keepends=True)[:6]


def load(kind: str, path: Path, info: RuleInfo = INFO) -> list[Rule]:
    return load_table(kind, path, info=info, display_path=path.name)


def row_of(rule: Rule) -> int:
    """The table row a rule came from: its source is ``file:row:1``."""
    _path, row, column = rule.info.source.rsplit(":", 2)
    assert column == "1"
    return int(row)


def forbids(rules: list[Rule], column1: str, column2: str) -> list[Forbid]:
    return [
        r
        for r in rules
        if isinstance(r, Forbid) and r.triggers == {column1} and r.targets == {column2}
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_table_kinds() -> None:
    assert TABLE_KINDS == ("ptp", "mue", "addon", "pfs")


# --- ptp: CMS published layout --------------------------------------------------------------


def test_cms_ptp_layout_dates_and_star() -> None:
    rules = load("ptp", PTP_CMS)
    assert all(isinstance(r, Forbid) for r in rules)
    # 8 data rows on lines 7-14; lines 9 and 10 have indicator 9.
    assert [row_of(r) for r in rules] == [7, 8, 11, 12, 13, 14]
    first = rules[0]
    assert first.triggers == {"0001A"} and first.targets == {"0591T"}
    assert first.info.validity == Validity(dt.date(2022, 1, 1), dt.date(2023, 12, 31))
    last = rules[-1]
    assert last.triggers == {"0001U"} and last.targets == {"0030U"}
    assert last.info.validity == Validity(dt.date(2018, 7, 1), None)


def test_cms_ptp_indicator_9_rows_give_no_rule() -> None:
    rules = load("ptp", PTP_CMS)
    assert not forbids(rules, "0001A", "90473")
    assert not forbids(rules, "0001A", "G0008")


def test_ptp_bypass_follows_modifier_indicator() -> None:
    rules = load("ptp", PTP_CMS)
    (indicator_1,) = forbids(rules, "0001A", "0591T")
    (indicator_0,) = forbids(rules, "0001A", "36591")
    assert indicator_1.bypass == NCCI_MODIFIERS
    assert indicator_0.bypass == frozenset()


def test_ptp_defaults_carc_message_and_source() -> None:
    rules = load_table("ptp", PTP_CMS, info=INFO, display_path="ncci/sample.txt")
    rule = rules[0]
    assert rule.info.id == "medicare/ncci" and rule.info.action == "deny"
    assert rule.info.carc == "236"
    assert rule.info.message == (
        "NCCI PTP edit: 0591T is not payable with 0001A the same day (modifier indicator 1)"
    )
    assert rule.info.source == "ncci/sample.txt:7:1"


def test_statement_carc_message_and_action_win() -> None:
    info = RuleInfo(id="c/p", action="review", carc="97", message="bundled", source="c.pol:1:1")
    rule = load("ptp", PTP_CMS, info)[0]
    assert (rule.info.id, rule.info.action, rule.info.carc) == ("c/p", "review", "97")
    assert rule.info.message == "bundled"


def test_ptp_validity_is_intersected_with_the_statement(tmp_path: Path) -> None:
    rows = [
        "64483\t77002\t\t20000101\t*\t1\tx\n",  # line 7: open end
        "64483\t77003\t\t20000101\t20240315\t1\tx\n",  # line 8: ends inside
        "64483\t77012\t\t20000101\t20231231\t1\tx\n",  # line 9: ends before: no rule
        "64483\t76942\t\t20240401\t*\t0\tx\n",  # line 10: starts inside
    ]
    path = write(tmp_path, "ptp.txt", "".join(CMS_PTP_HEADER + rows))
    window = Validity(dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    rules = load("ptp", path, attrs.evolve(INFO, validity=window))
    assert [(row_of(r), r.info.validity) for r in rules] == [
        (7, window),
        (8, Validity(dt.date(2024, 1, 1), dt.date(2024, 3, 15))),
        (10, Validity(dt.date(2024, 4, 1), dt.date(2024, 6, 30))),
    ]



def test_rows_of_one_pair_without_effective_dates_follow_one_another() -> None:
    """The tidy extract lost its effective dates. 20552/99213 has a row deleted on 2019-12-31
    and one still in force: the second starts on 2020-01-01, so a date meets one of them, not
    both. 20552/92012's indicator 9 row (deleted retroactively on 2013-07-01: in force on no
    day, its deletion date is its effective date) gives no rule, and the row after it starts
    on 2013-07-01, leaving no date of the pair unedited. 64483/20552 ended on 2016-12-31 and
    CMS turned it round: 20552/64483 starts on 2017-01-01, so a date denies one line of the
    pair, never both."""
    rules = load("ptp", PTP_TIDY)
    assert [(row_of(r), r.info.validity) for r in forbids(rules, "20552", "99213")] == [
        (45, Validity(None, dt.date(2019, 12, 31))),
        (239, Validity(dt.date(2020, 1, 1), None)),
    ]
    assert [(row_of(r), r.info.validity) for r in forbids(rules, "20552", "92012")] == [
        (235, Validity(dt.date(2013, 7, 1), None))]
    assert [(r.info.validity, sorted(r.triggers), sorted(r.targets))
            for r in [*forbids(rules, "64483", "20552"), *forbids(rules, "20552", "64483")]] == [
        (Validity(None, dt.date(2016, 12, 31)), ["64483"], ["20552"]),
        (Validity(dt.date(2017, 1, 1), None), ["20552"], ["64483"]),
    ]


def test_rows_of_a_pair_in_both_orders_follow_one_another(tmp_path: Path) -> None:
    text = ("column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
            "77003\t64483\t*\t1\tx\n"  # row 2: turned round, in force after row 3
            "64483\t77003\t2019-12-31\t0\tx\n"  # row 3
            "64483\t77002\t2019-12-31\t1\tx\n"  # row 4
            "77002\t64483\t2020-01-01\t9\tx\n"  # row 5: turned round on no day
            "77002\t64483\t*\t1\tx\n"  # row 6: from row 5's date
            "64484\t77002\t*\t1\tx\n"  # rows 7 and 8: both in force, as written
            "77002\t64484\t*\t0\tx\n")
    rules = load("ptp", write(tmp_path, "ptp.tsv", text))
    assert [(row_of(r), r.info.validity) for r in rules] == [
        (2, Validity(dt.date(2020, 1, 1), None)),
        (3, Validity(None, dt.date(2019, 12, 31))),
        (4, Validity(None, dt.date(2019, 12, 31))),
        (6, Validity(dt.date(2020, 1, 1), None)),
        (7, Validity(None, None)),
        (8, Validity(None, None)),
    ]


@pytest.mark.parametrize("rows", [
    # an indicator 9 row deleted on the date an earlier row ends, listed after it or before
    ["64483\t20552\t2020-01-01\t1", "64483\t20552\t2020-01-01\t9", "20552\t64483\t*\t1"],
    ["64483\t20552\t2020-01-01\t9", "64483\t20552\t2020-01-01\t1", "20552\t64483\t*\t1"],
    # rows in force in both orders, and a dated one that ended before them
    ["64483\t20552\t*\t1", "20552\t64483\t*\t1", "64483\t20552\t2019-12-31\t1"],
])
def test_no_date_meets_two_rows_of_a_pair_whatever_the_rows(tmp_path: Path,
                                                            rows: list[str]) -> None:
    text = ("column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
            + "".join(row + "\tx\n" for row in rows))
    rules = load("ptp", write(tmp_path, "ptp.tsv", text))
    dated = [r.info.validity for r in rules if r.info.validity.end is not None]
    open_ = [r.info.validity for r in rules if r.info.validity.end is None]
    # the dated row keeps its days; every row in force starts after them
    assert [(v.start, v.end) for v in dated] == [(None, dated[0].end)]
    assert open_ and all(v.start == dated[0].end + dt.timedelta(days=1) for v in open_)


_PTP_DAYS = st.sampled_from(["2016-12-31", "2019-12-31", "2020-01-01", "2021-06-30",
                             "9999-12-31"])
_PTP_ROWS = st.lists(st.tuples(
    st.booleans(),  # turned round
    st.one_of(st.just(""), st.sampled_from(["2010-01-01", "2017-01-01", "2020-01-01"])),
    st.one_of(st.just("*"), _PTP_DAYS),
    st.sampled_from(["0", "1", "9"])), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(_PTP_ROWS)
def test_an_undated_row_meets_no_date_another_row_of_its_pair_holds(
        rows: list[tuple[bool, str, str, str]]) -> None:
    """Rows with and without effective dates, in a tidy file: a row without one holds only
    days no other row of the pair holds (dated rows keep theirs), but that two rows in force
    in opposite orders are kept as written; a deletion date of 9999-12-31 is no error."""
    text = ("column1\tcolumn2\teffective_date\tdeletion_date\tmodifier_indicator\trationale\n"
            + "".join(f"{'20552' if round_ else '64483'}\t{'64483' if round_ else '20552'}\t"
                      f"{start}\t{end}\t{indicator}\tx\n"
                      for round_, start, end, indicator in rows))
    with tempfile.TemporaryDirectory() as folder:
        rules = load("ptp", write(Path(folder), "ptp.tsv", text))
    undated = {at + 2 for at, (_, start, _, _) in enumerate(rows) if not start}
    in_force = {at + 2 for at, (_, _, end, _) in enumerate(rows) if end in ("*", "9999-12-31")}

    def meet(a: Validity, b: Validity) -> bool:
        return ((a.start is None or b.end is None or a.start <= b.end)
                and (b.start is None or a.end is None or b.start <= a.end))

    for a, b in itertools.combinations(rules, 2):
        as_written = {row_of(a), row_of(b)} <= undated & in_force and (
            cast(Forbid, a).triggers != cast(Forbid, b).triggers)
        if (row_of(a) in undated or row_of(b) in undated) and not as_written:
            assert not meet(a.info.validity, b.info.validity), (row_of(a), row_of(b))


def test_a_pair_repeated_in_a_tidy_file_gives_one_rule_a_date(tmp_path: Path) -> None:
    text = ("column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
            "64483\t77002\t*\t1\tx\n"  # row 2
            "64483\t77002\t*\t1\tx\n"  # row 3: the same edit again
            "64483\t77003\t2019-12-31\t0\tx\n"  # row 4
            "64483\t77003\t2019-12-31\t0\tx\n"  # row 5: the same deletion again
            "64483\t77003\t2021-06-30\t1\tx\n")  # row 6: then indicator 1 until 2021
    rules = load("ptp", write(tmp_path, "ptp.tsv", text))
    assert [(row_of(r), r.info.validity) for r in rules] == [
        (2, Validity(None, None)),
        (4, Validity(None, dt.date(2019, 12, 31))),
        (6, Validity(dt.date(2020, 1, 1), dt.date(2021, 6, 30))),
    ]


def test_a_pair_follows_its_own_dates_inside_the_statements(tmp_path: Path) -> None:
    """The rows follow one another by their own deletion dates, whatever dates the statement
    gives the table: inside `effective 2024-01-01` the row deleted on 2024-03-31 and the row
    after it meet no date together, and inside `until 2024-02-28` only the first applies."""
    text = ("column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
            "64483\t77003\t*\t1\tx\n"  # row 2: listed first, in force after row 3
            "64483\t77003\t2024-03-31\t0\tx\n")  # row 3
    path = write(tmp_path, "ptp.tsv", text)
    effective = load("ptp", path, attrs.evolve(INFO, validity=Validity(dt.date(2024, 1, 1))))
    assert [(row_of(r), r.info.validity) for r in effective] == [
        (2, Validity(dt.date(2024, 4, 1), None)),
        (3, Validity(dt.date(2024, 1, 1), dt.date(2024, 3, 31))),
    ]
    until = load("ptp", path, attrs.evolve(INFO, validity=Validity(None, dt.date(2024, 2, 28))))
    assert [(row_of(r), r.info.validity) for r in until] == [
        (3, Validity(None, dt.date(2024, 2, 28)))]

def test_ptp_shares_repeated_sets_and_validities(tmp_path: Path) -> None:
    rows = [f"64483\t{code}\t\t20200101\t*\t1\tx\n" for code in ("77002", "77003", "77012")]
    rows.append("64490\t77003\t\t20200101\t*\t0\tx\n")
    rules = load("ptp", write(tmp_path, "ptp.txt", "".join(CMS_PTP_HEADER + rows)))
    assert isinstance(rules[0], Forbid) and isinstance(rules[1], Forbid)
    assert isinstance(rules[3], Forbid)
    assert rules[0].triggers is rules[1].triggers
    assert rules[1].targets is rules[3].targets
    assert rules[0].info.validity is rules[3].info.validity
    assert rules[0].bypass is NCCI_MODIFIERS


def test_ptp_crlf_and_lower_case_codes(tmp_path: Path) -> None:
    text = "".join(CMS_PTP_HEADER) + "g0260\tj0585\t\t20200101\t*\t1\tx\r\n"
    (rule,) = load("ptp", write(tmp_path, "ptp.txt", text))
    assert isinstance(rule, Forbid)
    assert rule.triggers == {"G0260"} and rule.targets == {"J0585"}
    assert rule.info.validity.end is None


def test_cms_ptp_first_row_with_a_bad_code_is_an_error_not_header(tmp_path: Path) -> None:
    # the header was every line up to the first led by a code: the row was dropped unseen
    path = write(tmp_path, "ptp.txt", "".join(CMS_PTP_HEADER)
                 + "6448\t77002\t\t20170101\t*\t1\tx\n64483\t77003\t\t20170101\t*\t1\tx\n")
    with pytest.raises(TableError) as caught:
        load("ptp", path)
    assert (caught.value.row, caught.value.message) == (7, "invalid procedure code '6448'")


def test_a_pair_deleted_on_the_calendars_last_day_is_in_force(tmp_path: Path) -> None:
    # 9999-12-31 overflowed the day after it while the rows were chained: a traceback
    text = ("column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
            "64483\t77002\t9999-12-31\t1\tx\n"
            "64483\t77002\t2019-12-31\t0\tx\n")
    rules = load("ptp", write(tmp_path, "ptp.tsv", text))
    assert [(row_of(r), r.info.validity) for r in rules] == [
        (2, Validity(dt.date(2020, 1, 1), None)),
        (3, Validity(None, dt.date(2019, 12, 31)))]


def test_an_undated_row_keeps_the_days_no_dated_row_of_its_pair_holds(tmp_path: Path) -> None:
    text = ("column1\tcolumn2\teffective_date\tdeletion_date\tmodifier_indicator\trationale\n"
            "64483\t20552\t2010-01-01\t2016-12-31\t0\tx\n"  # row 2: dated
            "20552\t64483\t\t*\t0\tx\n"  # row 3: turned round, after row 2
            "64483\t77003\t\t2019-12-31\t0\tx\n"  # row 4: until the dated row 5
            "64483\t77003\t2017-01-01\t*\t1\tx\n")
    rules = load("ptp", write(tmp_path, "ptp.tsv", text))
    assert [(row_of(r), r.info.validity) for r in rules] == [
        (2, Validity(dt.date(2010, 1, 1), dt.date(2016, 12, 31))),
        (3, Validity(dt.date(2017, 1, 1), None)),
        (4, Validity(None, dt.date(2016, 12, 31))),
        (5, Validity(dt.date(2017, 1, 1), None))]


def test_cms_ptp_header_without_rows_is_an_empty_table(tmp_path: Path) -> None:
    assert load("ptp", write(tmp_path, "ptp.txt", "".join(CMS_PTP_HEADER))) == []


def test_tidy_ptp_with_an_effective_date_column(tmp_path: Path) -> None:
    text = (
        "column1\tcolumn2\teffective_date\tdeletion_date\tmodifier_indicator\trationale\n"
        "64483\t77002\t2021-04-01\t2024-06-30\t1\tx\n"
    )
    (rule,) = load("ptp", write(tmp_path, "ptp.tsv", text))
    assert rule.info.validity == Validity(dt.date(2021, 4, 1), dt.date(2024, 6, 30))


def test_tidy_ptp_effective_date_left_empty_or_star_is_an_open_start(tmp_path: Path) -> None:
    text = (
        "column1\tcolumn2\teffective_date\tdeletion_date\tmodifier_indicator\trationale\n"
        "64483\t77002\t\t2024-06-30\t1\tx\n"
        "64483\t77003\t*\t*\t1\tx\n"
    )
    rules = load("ptp", write(tmp_path, "ptp.tsv", text))
    assert [r.info.validity for r in rules] == [Validity(None, dt.date(2024, 6, 30)),
                                                Validity(None, None)]


# --- ptp: tidy subset -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ptp_tidy() -> list[Rule]:
    return load("ptp", PTP_TIDY)


def test_tidy_ptp_domain_examples(ptp_tidy: list[Rule]) -> None:
    (fluoro,) = forbids(ptp_tidy, "64483", "77002")
    assert fluoro.bypass == NCCI_MODIFIERS
    assert fluoro.info.validity == Validity(None, None)
    (dry,) = forbids(ptp_tidy, "20553", "20552")
    (acu,) = forbids(ptp_tidy, "97813", "97810")
    assert dry.bypass == frozenset() and acu.bypass == frozenset()
    assert row_of(dry) == 502 and row_of(fluoro) == 5479 and row_of(acu) == 10358


def test_tidy_ptp_counts(ptp_tidy: list[Rule]) -> None:
    lines = PTP_TIDY.read_text().splitlines()[1:]
    indicator_9 = sum(1 for line in lines if line.split("\t")[3] == "9")
    assert len(lines) == 10_610 and indicator_9 == 218
    assert len(ptp_tidy) == 10_610 - 218
    assert sum(1 for r in ptp_tidy if r.info.validity.end is None) == 7_635
    # no row has an effective date: a row starts open, or when the row of its pair (in
    # either order) before it ends (test_rows_of_one_pair_without_effective_dates_follow_...)
    assert sum(1 for r in ptp_tidy if r.info.validity.start is None) == 8_786


def test_tidy_ptp_no_date_meets_two_rows_of_a_pair_in_either_order(
        ptp_tidy: list[Rule]) -> None:
    # so a date never denies both lines of a pair, nor gives one line two findings of a pair
    by_pair: dict[frozenset[str], list[Validity]] = {}
    for rule in ptp_tidy:
        assert isinstance(rule, Forbid)
        by_pair.setdefault(rule.triggers | rule.targets, []).append(rule.info.validity)
    for pair, validities in by_pair.items():
        ordered = sorted(validities, key=lambda v: v.start or dt.date.min)
        for before, after in itertools.pairwise(ordered):
            assert before.end is not None and after.start is not None, pair
            assert before.end < after.start, pair


def test_tidy_ptp_indicator_9_rows_give_no_rule(ptp_tidy: list[Rule]) -> None:
    lines = PTP_TIDY.read_text().splitlines()
    rows_9 = {n for n, line in enumerate(lines, 1) if n > 1 and line.split("\t")[3] == "9"}
    assert rows_9 and not rows_9 & {row_of(r) for r in ptp_tidy}
    deleted = [r for r in ptp_tidy if row_of(r) == 2]  # 20552 J2000 2004-03-31 0
    assert deleted[0].info.validity == Validity(None, dt.date(2004, 3, 31))


def test_tidy_ptp_sources_point_at_their_rows(ptp_tidy: list[Rule]) -> None:
    lines = PTP_TIDY.read_text().splitlines()
    for rule in ptp_tidy[::97]:
        assert isinstance(rule, Forbid)
        column1, column2 = lines[row_of(rule) - 1].split("\t")[:2]
        assert rule.triggers == {column1} and rule.targets == {column2}
        assert rule.info.source == f"{PTP_TIDY.name}:{row_of(rule)}:1"


# --- mue ----------------------------------------------------------------------------------


def mue_of(rules: list[Rule], code: str) -> list[Mue]:
    return [r for r in rules if isinstance(r, Mue) and r.codes == {code}]


def test_tidy_mue_values_and_indicators() -> None:
    rules = load("mue", MUE_TIDY)
    (single,) = mue_of(rules, "64483")
    assert (single.maximum, single.per_day) == (1, True)
    assert single.info.message == "NCCI MUE: more than 1 unit of 64483 per day (MAI 2)"
    assert single.info.carc == "151"
    (addon,) = mue_of(rules, "64484")
    assert (addon.maximum, addon.per_day) == (4, True)
    assert addon.info.message == "NCCI MUE: more than 4 units of 64484 per day (MAI 3)"


def test_tidy_mue_takes_practitioner_rows_only() -> None:
    rules = load("mue", MUE_TIDY)
    lines = MUE_TIDY.read_text().splitlines()
    practitioner = {n for n, line in enumerate(lines, 1) if line.split(",")[4] == "Practitioner"}
    assert {row_of(r) for r in rules} == practitioner
    (j0585,) = mue_of(rules, "J0585")  # outpatient 600 and DME 0 rows are left out
    assert j0585.maximum == 600 and row_of(j0585) == 55


def test_tidy_mue_checks_the_rows_of_other_settings_too(tmp_path: Path) -> None:
    # they were skipped unread: a bad value there is a bad file all the same
    header = MUE_TIDY.read_text().splitlines()[0]
    for row, said in [("64483,lots,7,d,Outpatient Hospital,r", "invalid MUE value"),
                      ("BOGUS,1,2,d,DME Supplier,r", "invalid procedure code")]:
        path = write(tmp_path, "mue.csv", f"{header}\n64483,1,2,d,Practitioner,r\n{row}\n")
        with pytest.raises(TableError) as caught:
            load("mue", path)
        assert caught.value.row == 3 and said in caught.value.message


def test_cms_mue_layout() -> None:
    rules = load("mue", MUE_CMS)
    assert [row_of(r) for r in rules] == [3, 4, 5, 6, 7]  # the header takes lines 1-2
    (policy,) = mue_of(rules, "0001U")
    (clinical,) = mue_of(rules, "0009U")
    assert (policy.maximum, policy.per_day) == (1, True)
    assert (clinical.maximum, clinical.per_day) == (2, True)
    assert clinical.info.message.endswith("(MAI 3)")


def test_cms_mue_line_edit(tmp_path: Path) -> None:
    text = (
        '"HCPCS/\nCPT Code",Practitioner Services MUE Values,'
        "MUE Adjudication Indicator,MUE Rationale\n"
        "97810,1,1 Line Edit,Code Descriptor / CPT Instruction\n"
        "j0585,600,3 Date of Service Edit: Clinical,Clinical: Data\n"
    )
    rules = load("mue", write(tmp_path, "mue.csv", text))
    (line_edit,) = mue_of(rules, "97810")
    assert (line_edit.per_day, row_of(line_edit)) == (False, 3)
    assert line_edit.info.message == "NCCI MUE: more than 1 unit of 97810 per line (MAI 1)"
    assert mue_of(rules, "J0585")[0].maximum == 600


@pytest.mark.parametrize("setting", ["Outpatient Hospital", "DME Supplier"])
def test_another_settings_cms_mue_file_is_an_error(tmp_path: Path, setting: str) -> None:
    # the engine judges practitioner claims: a DME file's J0585 0 would deny every J0585
    text = (f'"HCPCS/\nCPT Code",{setting} Services MUE Values,'
            "MUE Adjudication Indicator,MUE Rationale\n"
            "J0585,0,3 Date of Service Edit: Clinical,x\n")
    with pytest.raises(TableError, match="not CMS's practitioner MUE file") as caught:
        load("mue", write(tmp_path, "mue.csv", text))
    assert caught.value.row is None


def test_cms_mue_after_a_preamble(tmp_path: Path) -> None:
    text = (
        "CPT codes and descriptions only are copyright American Medical Association.,,,\n"
        + MUE_CMS.read_text()
    )
    rules = load("mue", write(tmp_path, "mue.csv", text))
    assert [row_of(r) for r in rules] == [4, 5, 6, 7, 8]


# --- addon --------------------------------------------------------------------------------


def addons_of(rules: list[Rule], code: str) -> list[Addon]:
    return [r for r in rules if isinstance(r, Addon) and r.addons == {code}]


def test_addon_primaries_are_the_union_of_type_1_rows() -> None:
    rules = addons_of(load("addon", ADDON), "77003")
    assert len(rules) == 3
    union = frozenset().union(*(r.primaries for r in rules))
    expected = (
        "61050 61055 62267 62273 62280 62281 62282 62284 64510 64517 64520 64610 96450 "
        "62270 62272 64449"
    )
    assert union == frozenset(expected.split())
    assert all(r.info.carc == "B15" for r in rules)


def test_addon_deleted_year_is_the_last_year_in_force() -> None:
    """CMS's add-on deletion dates are December 31 of the year the extract keeps: the row of
    77003 with 62270 is in force through 2019, and the row of its new primary 64449 from 2020,
    with no year in between that has neither."""
    rules = addons_of(load("addon", ADDON), "77003")
    (deleted,) = [r for r in rules if "62270" in r.primaries]
    assert deleted.info.validity == Validity(dt.date(2017, 1, 1), dt.date(2019, 12, 31))

    def primaries_on(day: dt.date) -> frozenset[str]:
        return frozenset().union(*(r.primaries for r in rules if r.info.validity.covers(day)))

    assert "62270" in primaries_on(dt.date(2019, 12, 31))
    assert "62270" not in primaries_on(dt.date(2020, 1, 1))
    assert "64449" not in primaries_on(dt.date(2019, 12, 31))
    assert "64449" in primaries_on(dt.date(2020, 1, 1))


def test_addon_rows_replaced_by_cpt_join_without_a_gap() -> None:
    """77002's row with 27370 ends with 2018 and the row with 27369 (CPT 2019) starts in 2019;
    32405 stays a primary through 2020, its last year before CPT 2021's 32408."""
    rules = addons_of(load("addon", ADDON), "77002")

    def primaries_on(day: dt.date) -> frozenset[str]:
        return frozenset().union(*(r.primaries for r in rules if r.info.validity.covers(day)))

    assert {"27370", "10022"} <= primaries_on(dt.date(2018, 6, 1))
    assert "27369" not in primaries_on(dt.date(2018, 6, 1))
    assert "27370" not in primaries_on(dt.date(2019, 1, 1))
    assert "27369" in primaries_on(dt.date(2019, 1, 1))
    assert "32405" in primaries_on(dt.date(2020, 12, 31))
    assert "32405" not in primaries_on(dt.date(2021, 1, 1))


def test_addon_primary_rows_and_other_edit_types_give_no_rule(tmp_path: Path) -> None:
    rules = load("addon", ADDON)
    assert not addons_of(rules, "20552")  # only "primary" rows
    assert addons_of(rules, "64484")[0].primaries == {"64483"}
    text = (
        "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year,notes\n"
        "64484,addon,64483,1,2013,,\n"
        "99153,addon,99152,2,2017,,\n"
        "0213T,addon,,3,2013,,\n"
    )
    (only,) = load("addon", write(tmp_path, "addon.csv", text))
    assert isinstance(only, Addon) and only.addons == {"64484"} and row_of(only) == 2


# --- pfs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pfs() -> list[Rule]:
    return load("pfs", PFS)


def pfs_rules(rules: list[Rule], code: str) -> list[Rule]:
    found: list[Rule] = []
    for rule in rules:
        if isinstance(rule, Global) and rule.procedures == {code}:
            found.append(rule)
        if isinstance(rule, ForbidModifier) and rule.codes == {code}:
            found.append(rule)
    return found


def test_pfs_global_periods(pfs: list[Rule]) -> None:
    (minor, bilateral) = pfs_rules(pfs, "63650")
    assert isinstance(minor, Global) and isinstance(bilateral, ForbidModifier)
    assert minor.days == 10 and minor.info.carc == "97"
    assert minor.covers == DEFAULT_GLOBAL_COVERS and minor.bypass == DEFAULT_GLOBAL_BYPASS
    major = pfs_rules(pfs, "63655")[0]
    assert isinstance(major, Global) and major.days == 90
    assert not [r for r in pfs_rules(pfs, "64483") if isinstance(r, Global)]  # 000


def test_pfs_bilateral_indicator(pfs: list[Rule]) -> None:
    (dry,) = pfs_rules(pfs, "20552")
    assert isinstance(dry, ForbidModifier)
    assert dry.modifiers == {"50"} and dry.info.carc == "4"
    assert dry.info.message == "PFS bilateral indicator 0: modifier 50 does not apply to 20552"
    assert pfs_rules(pfs, "64483") == []  # bilateral indicator 1
    (radiofrequency,) = pfs_rules(pfs, "64488")  # indicator 2
    assert isinstance(radiofrequency, ForbidModifier)


def test_pfs_skips_component_rows(pfs: list[Rule]) -> None:
    fluoro = pfs_rules(pfs, "77002")
    assert [row_of(r) for r in fluoro] == [88]  # 89 (MOD 26) and 90 (MOD TC) skipped
    rows = {row_of(r) for r in pfs}
    lines = PFS.read_text().splitlines()
    components = {n for n, line in enumerate(lines, 1) if line.split(",")[1]}
    assert components and not rows & components


def test_pfs_statement_carc_applies_to_both(tmp_path: Path) -> None:
    info = RuleInfo(id="c/pfs", action="deny", carc="B7", message="", source="c.pol:1:1")
    rules = load("pfs", PFS, info)
    assert {r.info.carc for r in rules} == {"B7"}


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "row", "needle"),
    [
        (
            "ptp",
            "".join(CMS_PTP_HEADER) + "64483\t77002\t\t20200101\t*\t1\tx\n"
            "64483\t7700\t\t20200101\t*\t1\tx\n",
            8,
            "7700",
        ),
        ("ptp", "".join(CMS_PTP_HEADER) + "64483\t77002\t\t20201301\t*\t1\tx\n", 7, "20201301"),
        # digits of another script, and a letter whose upper case is ASCII: no claim has them
        ("ptp", "".join(CMS_PTP_HEADER) + "64483\t77002\t\t20200101\t*\t1\tx\n"
                "\u0666\u0664\u0664\u0668\u0663\t77002\t\t20200101\t*\t1\tx\n", 8,
         "invalid procedure code"),
        ("ptp", "column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
                "64483\t\u01310001\t*\t1\tx\n", 2, "invalid procedure code"),
        ("addon", "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year,notes\n"
                  "64484,addon,64483,1,0000,,\n", 2, "year 0000"),
        ("addon", "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year,notes\n"
                  "64484,addon,64483,1,2010,0000,\n", 2, "year 0000"),
        ("ptp", "".join(CMS_PTP_HEADER) + "64483\t77002\t\t20200101\t*\t2\tx\n", 7, "indicator"),
        ("ptp", "".join(CMS_PTP_HEADER) + "64483\t77002\t\t20200101\n", 7, "fields"),
        ("ptp", "".join(CMS_PTP_HEADER) + "64483\t77002\tY\t20200101\t*\t1\tx\n", 7, "1996"),
        (
            "ptp",
            "column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
            "64483\t77002\t*\t1\tx\n\n64483\t77003\t2024-02-30\t1\tx\n",
            4,
            "2024-02-30",
        ),
        (
            "ptp",
            "column1\tcolumn2\tdeletion_date\trationale\n64483\t77002\t*\tx\n",
            1,
            "the tidy PTP header lacks modifier_indicator",
        ),
        (
            "mue",
            "hcpcs,mue_uos,mue_mai,mue_mai_desc,mue_service_type,mue_rationale\n"
            "64483,1,2,x,Practitioner,x\n64484,four,3,x,Practitioner,x\n",
            3,
            "four",
        ),
        (  # a count past 18 digits (int() refuses past 4,300: this was a traceback)
            "mue",
            "hcpcs,mue_uos,mue_mai,mue_mai_desc,mue_service_type,mue_rationale\n"
            "64483," + "9" * 4301 + ",2,x,Practitioner,x\n",
            2,
            "invalid MUE value",
        ),
        (
            "mue",
            '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator'
            ",MUE Rationale\n64483,1,4 Whatever,x\n",
            3,
            "adjudication",
        ),
        (
            "addon",
            "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year,notes\n"
            "64484,addon,64483,1,2013,,\n64484,addon,6448X,1,2013,,\n",
            3,
            "6448X",
        ),
        (
            "addon",
            "hcpcs,aoc_type,complements,aoc_edit_type,effective_year,deleted_year,notes\n"
            "64484,addon,64483,1,13,,\n",
            2,
            "effective_year",
        ),
        (
            "mue",
            "hcpcs,mue_uos,mue_mai,mue_mai_desc,mue_service_type,mue_rationale\n"
            "64483,1,2,x,Practitioner,x\n64480,1,2,x,Practicioner,x\n",
            3,
            "unknown MUE service type 'Practicioner'",
        ),
        (
            "pfs",
            "HCPCS,MOD,STATUS CODE,PCTC IND,GLOB DAYS,MULT PROC,BILAT SURG\n"
            "63650,,A,0,010,2,0\n63655,,A,0,045,2,0\n",
            3,
            "GLOB DAYS",
        ),
        (
            "pfs",
            "HCPCS,MOD,STATUS CODE,PCTC IND,GLOB DAYS,MULT PROC,BILAT SURG\n63650,,A,0,010,2,7\n",
            2,
            "BILAT SURG",
        ),
    ],
)
def test_malformed_row_reports_its_line(
    tmp_path: Path, kind: str, text: str, row: int, needle: str
) -> None:
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(TableError) as caught:
        load_table(kind, path, info=INFO, display_path="tables/bad.txt")
    error = caught.value
    assert (error.path, error.row) == ("tables/bad.txt", row)
    assert needle.lower() in error.message.lower()
    assert str(error).startswith(f"tables/bad.txt:{row}: ")


def test_missing_file_and_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(TableError) as missing:
        load_table("ptp", tmp_path / "nope.tsv", info=INFO, display_path="nope.tsv")
    assert (missing.value.path, missing.value.row) == ("nope.tsv", None)
    assert "not found" in missing.value.message
    csv_text = write(tmp_path, "ptp.csv", "column1,column2\n64483,77002\n")
    for kind in TABLE_KINDS:
        with pytest.raises(TableError, match="unknown") as unknown:
            load(kind, csv_text if kind == "ptp" else PTP_CMS)
        assert unknown.value.row is None
    with pytest.raises(TableError, match="unknown table kind"):
        load("lcd", PTP_CMS)
    with pytest.raises(TableError, match="cannot read"):
        load("ptp", tmp_path)


# --- a property: CMS PTP rows round-trip -------------------------------------------------


_codes = st.one_of(
    st.from_regex(r"[0-9]{5}", fullmatch=True),  # ASCII digits: a code has no others
    st.from_regex(r"[0-9]{4}[FTUAM]", fullmatch=True),
    st.from_regex(r"[A-Z][0-9]{4}", fullmatch=True),
)
_rows = st.tuples(
    _codes,
    _codes,
    st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
    st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
    st.sampled_from("019"),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(_rows, max_size=30))
def test_cms_ptp_rows_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    lines = [
        f"{c1}\t{c2}\t\t{eff:%Y%m%d}\t{'*' if end is None else f'{end:%Y%m%d}'}\t{ind}\tx\n"
        for c1, c2, eff, end, ind in rows
    ]
    path = write(tmp_path_factory.mktemp("ptp"), "ptp.txt", "".join(CMS_PTP_HEADER + lines))
    expected = [
        (7 + i, c1, c2, Validity(eff, end), NCCI_MODIFIERS if ind == "1" else frozenset())
        for i, (c1, c2, eff, end, ind) in enumerate(rows)
        if ind != "9" and (end is None or eff <= end)
    ]
    got = [
        (row_of(r), *r.triggers, *r.targets, r.info.validity, r.bypass)
        for r in load("ptp", path)
        if isinstance(r, Forbid)
    ]
    assert got == expected


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_compile_text_refuses_a_table_rather_than_drop_its_rules(kind: str) -> None:
    with pytest.raises(PolicyError) as caught:
        compile_text(f'policy a\ntable {kind} "x.txt"\nlimit 97810 per day <= 1\n')
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column) == ("E210", 2, 1)
    assert diagnostic.message.startswith("a table is read from a file beside the policy")


def test_a_missing_table_file_is_named_once_and_says_where_its_path_is_read_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policydsl.loader import load_paths

    monkeypatch.chdir(tmp_path)
    (tmp_path / "payer").mkdir()
    (tmp_path / "payer" / "p.pol").write_text('policy t\ntable ptp "ncci/missing.txt"\n')
    [diagnostic] = load_paths([Path("payer/p.pol")]).diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column) == ("E210", 2, 11)
    assert diagnostic.message == (
        "payer/ncci/missing.txt: table file not found; a table's path is read from the folder "
        "of the policy that names it")


def test_a_byte_that_is_not_utf8_in_a_read_field_says_so(tmp_path: Path) -> None:
    path = tmp_path / "ptp.tsv"
    path.write_bytes(b"column1\tcolumn2\tdeletion_date\tmodifier_indicator\trationale\n"
                     b"64483\t7700\xe9\t*\t1\tx\n")
    with pytest.raises(TableError) as caught:
        load("ptp", path)
    assert (caught.value.row, caught.value.message) == (
        2, "invalid procedure code '7700\ufffd' (\ufffd stands for a byte that is not UTF-8, "
           "most likely: save the file as UTF-8)")
