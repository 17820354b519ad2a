"""docs/semantics.md, one test per rule of evaluation, on both engines."""

from __future__ import annotations

import random

from conftest import Adjudicate, fired, line, verdicts

import policydsl

ACUPUNCTURE = """
policy t
rule acu-90d: limit 97810, 97813 per 90d <= 12 unless modifier KX
rule acu-year: limit 97810, 97813 per year <= 20
"""


def test_pair_rule_denies_column_two_same_member_provider_date(adjudicate: Adjudicate) -> None:
    text = "policy t\nwhen 64483 forbid 77002\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "77002"),
                            line("C2", 1, "M1", "2024-03-01", "77002", provider="P2"),
                            line("C3", 1, "M2", "2024-03-01", "77002"),
                            line("C4", 1, "M1", "2024-03-02", "77002")])
    assert verdicts(out) == ["allow", "deny", "allow", "allow", "allow"]
    finding = out[1].findings[0]
    assert (finding.rule, finding.carc, finding.action) == ("t/forbid@2", "97", "deny")
    assert [(r.claim_id, r.line) for r in finding.related] == [("C1", 1)]
    assert finding.source == "test.pol:2:1"


def test_empty_provider_matches_only_empty(adjudicate: Adjudicate) -> None:
    text = "policy t\nwhen 64483 forbid 77002\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483", provider=""),
                            line("C1", 2, "M1", "2024-03-01", "77002", provider=""),
                            line("C1", 3, "M1", "2024-03-01", "77002", provider="P1")])
    assert verdicts(out) == ["allow", "deny", "allow"]


def test_unless_modifier_bypasses_on_the_forbidden_line(adjudicate: Adjudicate) -> None:
    text = "policy t\nwhen 64483 forbid 77002 unless modifier 59, XU\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483", mods="59"),
                            line("C1", 2, "M1", "2024-03-01", "77002", mods="xu")])
    assert verdicts(out) == ["allow", "allow"]


def test_pair_rules_are_judged_all_at_once(adjudicate: Adjudicate) -> None:
    # B is denied by A, and still forbids C: pair rules see the lines that survived line rules.
    text = "policy t\nwhen 20552 forbid 20553\nwhen 20553 forbid 20610\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "20552"),
                            line("C1", 2, "M1", "2024-03-01", "20553"),
                            line("C1", 3, "M1", "2024-03-01", "20610")])
    assert verdicts(out) == ["allow", "deny", "deny"]


def test_a_line_denied_by_line_rules_triggers_no_pair_rule(adjudicate: Adjudicate) -> None:
    text = "policy t\nrequire auth for 64483\nwhen 64483 forbid 77002\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "77002")])
    assert verdicts(out) == ["deny", "allow"]
    assert out[0].findings[0].carc == "197"


def test_limit_units_rolling_days_window_includes_the_line_date(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 97810 per 3d <= 2\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97810"),
                            line("C2", 1, "M1", "2024-03-03", "97810"),
                            line("C3", 1, "M1", "2024-03-03", "97810"),  # 3rd unit in 3 days
                            line("C4", 1, "M1", "2024-03-04", "97810")])  # 03-01 fell out
    assert verdicts(out) == ["allow", "allow", "deny", "allow"]
    assert out[2].findings[0].carc == "119"


def test_a_denied_line_counts_toward_nothing(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 97810 per 90d <= 2\n"
    lines = [line(f"C{i}", 1, "M1", f"2024-03-0{i}", "97810") for i in range(1, 6)]
    assert verdicts(adjudicate(text, lines)) == ["allow", "allow", "deny", "deny", "deny"]


def test_limit_counts_units_and_never_splits_a_line(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 64483 per day by provider <= 2 units\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483", units=1),
                            line("C1", 2, "M1", "2024-03-01", "64483", units=2),
                            line("C1", 3, "M1", "2024-03-01", "64483", units=1),
                            line("C2", 1, "M1", "2024-03-01", "64483", provider="P2", units=2)])
    assert verdicts(out) == ["allow", "deny", "allow", "allow"]


def test_sessions_are_distinct_dates(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 20552, 20553 per 12mo <= 2 sessions\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-01-10", "20552"),
                            line("C1", 2, "M1", "2024-01-10", "20553"),  # same session
                            line("C2", 1, "M1", "2024-02-10", "20552"),
                            line("C3", 1, "M1", "2024-03-10", "20552"),  # third session
                            line("C4", 1, "M1", "2025-01-11", "20552")])  # window moved on
    assert verdicts(out) == ["allow", "allow", "allow", "deny", "allow"]


def test_rolling_months_window_starts_after_the_same_day(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 64490 per 12mo <= 1\n"
    same_day = adjudicate(text, [line("C1", 1, "M1", "2023-03-15", "64490"),
                                 line("C2", 1, "M1", "2024-03-15", "64490")])
    day_after = adjudicate(text, [line("C1", 1, "M1", "2023-03-15", "64490"),
                                  line("C2", 1, "M1", "2024-03-16", "64490")])
    assert verdicts(same_day) == ["allow", "allow"]  # 2023-03-15 is not after itself
    assert verdicts(day_after) == ["allow", "allow"]
    inside = adjudicate(text, [line("C1", 1, "M1", "2023-03-16", "64490"),
                               line("C2", 1, "M1", "2024-03-15", "64490")])
    assert verdicts(inside) == ["allow", "deny"]


def test_rolling_months_use_the_month_end_when_the_day_does_not_exist(
        adjudicate: Adjudicate) -> None:
    # 1mo ending 2024-03-31: the same day a month before does not exist -> 2024-02-29;
    # the window is the dates after it.
    text = "policy t\nlimit 64490 per 1mo <= 1\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-02-29", "64490"),
                            line("C2", 1, "M1", "2024-03-31", "64490")])
    assert verdicts(out) == ["allow", "allow"]
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64490"),
                            line("C2", 1, "M1", "2024-03-31", "64490")])
    assert verdicts(out) == ["allow", "deny"]


def test_windows_that_would_start_before_the_year_1_start_at_its_first_day(
        adjudicate: Adjudicate) -> None:
    # the same day 12 months (or 90 days) before 0001-01-02 does not exist: every earlier date
    # is inside the window
    text = ("policy t\nlimit 97810 per 12mo <= 1\nlimit 97813 per 90d <= 1\n"
            "limit 97814 per 1200mo <= 1\nrequire 1 of 64490 within 12mo before 64633\n")
    out = adjudicate(text, [line("C1", 1, "M1", "0001-01-01", "97810"),
                            line("C1", 2, "M1", "0001-01-02", "97810"),
                            line("C2", 1, "M1", "0001-01-01", "97813"),
                            line("C2", 2, "M1", "0001-01-02", "97813"),
                            line("C3", 1, "M1", "0001-01-01", "64490"),
                            line("C3", 2, "M1", "0001-01-03", "64633"),
                            line("C4", 1, "M1", "0050-01-01", "97814"),
                            line("C4", 2, "M1", "0050-01-02", "97814"),
                            line("C5", 1, "M1", "9999-12-31", "97810")])
    assert verdicts(out) == ["allow", "deny", "allow", "deny", "allow", "allow", "allow",
                             "deny", "allow"]


def test_calendar_year_and_lifetime_and_claim_windows(adjudicate: Adjudicate) -> None:
    year = adjudicate("policy t\nlimit 97810 per year <= 1\n",
                      [line("C1", 1, "M1", "2023-12-31", "97810"),
                       line("C2", 1, "M1", "2024-01-01", "97810"),
                       line("C3", 1, "M1", "2024-12-31", "97810")])
    assert verdicts(year) == ["allow", "allow", "deny"]
    life = adjudicate("policy t\nlimit 97810 per lifetime <= 1\n",
                      [line("C1", 1, "M1", "2001-01-01", "97810"),
                       line("C2", 1, "M1", "2024-01-01", "97810")])
    assert verdicts(life) == ["allow", "deny"]
    claim = adjudicate("policy t\nlimit 97810 per claim <= 1\n",
                       [line("C1", 1, "M1", "2024-01-01", "97810"),
                        line("C1", 2, "M1", "2024-01-05", "97810"),
                        line("C2", 1, "M1", "2024-01-05", "97810")])
    assert verdicts(claim) == ["allow", "deny", "allow"]


def test_kx_sessions_count_toward_the_yearly_limit(adjudicate: Adjudicate) -> None:
    # NCD 30.3.3: 12 in 90 days; 13-20 need KX; 20 a year. Weekly visits from January.
    lines = [line(f"C{i:02d}", 1, "M1", f"2024-{1 + i // 4:02d}-{1 + 7 * (i % 4):02d}", "97810",
                  mods="KX" if i >= 12 else "") for i in range(22)]
    out = adjudicate(ACUPUNCTURE, lines)
    assert verdicts(out)[:20] == ["allow"] * 20
    assert verdicts(out)[20:] == ["deny", "deny"]
    assert fired(out[20]) == ["t/acu-year"]
    without_kx = adjudicate(ACUPUNCTURE, [*lines[:12], line("X", 1, "M1", "2024-03-29", "97810")])
    assert verdicts(without_kx)[-1] == "deny"
    assert fired(without_kx[-1]) == ["t/acu-90d"]


def test_history_lines_count_as_allowed_and_are_not_printed(adjudicate: Adjudicate) -> None:
    history = [line(f"H{i}", 1, "M1", f"2024-01-0{i}", "97810") for i in range(1, 4)]
    out = adjudicate("policy t\nlimit 97810 per 90d <= 3\n",
                     [line("C1", 1, "M1", "2024-02-01", "97810")], history)
    assert len(out) == 1
    assert out[0].decision == "deny"
    assert [r.claim_id for r in out[0].findings[0].related] == ["H1", "H2", "H3"]


def test_a_paid_line_counts_before_the_claim_lines_of_its_date(adjudicate: Adjudicate) -> None:
    """Paid lines were paid before anything judged now: on their date they come before the
    claim lines, whatever the claim ids (Z9 sorts after C1)."""
    text = "policy t\nlimit 97810 per day <= 1\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97810")],
                     [line("Z9", 1, "M1", "2024-03-01", "97810")])
    assert verdicts(out) == ["deny"]
    assert [r.claim_id for r in out[0].findings[0].related] == ["Z9"]
    later = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97810")],
                       [line("Z9", 1, "M1", "2024-03-02", "97810")])
    assert verdicts(later) == ["allow"]  # a window ends on the judged line's date


def test_history_line_satisfies_addon_and_forbids(adjudicate: Adjudicate) -> None:
    text = "policy t\naddon 64484 requires 64483\nwhen 64483 forbid 77002\n"
    history = [line("H1", 1, "M1", "2024-03-01", "64483")]
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64484"),
                            line("C1", 2, "M1", "2024-03-01", "77002")], history)
    assert verdicts(out) == ["allow", "deny"]


def test_limits_go_line_by_line_within_a_date(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 97810 per day <= 1\n"
    out = adjudicate(text, [line("C2", 1, "M1", "2024-03-01", "97810"),
                            line("C1", 2, "M1", "2024-03-01", "97810"),
                            line("C1", 1, "M1", "2024-03-01", "97810")])
    # order is date, claim id, line: C1/1 first
    assert verdicts(out) == ["deny", "deny", "allow"]


def test_claim_ids_order_as_text_and_line_numbers_as_numbers(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 97810 per day <= 1\n"
    out = adjudicate(text, [line("9", 1, "M1", "2024-03-01", "97810"),
                            line("10", 1, "M1", "2024-03-01", "97810")])
    assert verdicts(out) == ["deny", "allow"]  # "10" < "9" as text
    out = adjudicate(text, [line("C1", 10, "M1", "2024-03-01", "97810"),
                            line("C1", 9, "M1", "2024-03-01", "97810")])
    assert verdicts(out) == ["deny", "allow"]  # 9 < 10 as numbers


def test_order_of_input_rows_changes_nothing(adjudicate: Adjudicate) -> None:
    lines = [line(f"C{i}", i % 3 + 1, f"M{i % 4}", f"2024-0{1 + i % 6}-1{i % 9}", "97810")
             for i in range(40)]
    base = adjudicate(ACUPUNCTURE, lines)
    by_key = {(d.claim_id, d.line, d.member_id): d for d in base}
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    for decision in adjudicate(ACUPUNCTURE, shuffled):
        assert by_key[(decision.claim_id, decision.line, decision.member_id)] == decision


def test_addon_needs_an_allowed_primary(adjudicate: Adjudicate) -> None:
    text = "policy t\naddon 64484 requires 64483\nrequire auth for 64483\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "64484")])
    assert verdicts(out) == ["deny", "deny"]
    assert out[1].findings[0].carc == "B15"


def test_an_addon_with_no_primary_standing_counts_toward_nothing(adjudicate: Adjudicate
                                                                  ) -> None:
    # docs/semantics.md, stage 4: no 64479 was billed, so stage 4 is sure to deny the 64480;
    # it does not count toward the limit of the 64484 after it, which counts the day after
    text = ("policy t\naddon 64480 requires 64479\naddon 64484 requires 64483\n"
            "limit 64480, 64484 per 2d by provider <= 1\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "64480"),
                            line("C1", 3, "M1", "2024-03-01", "64484"),
                            line("C2", 1, "M1", "2024-03-02", "64483"),
                            line("C2", 2, "M1", "2024-03-02", "64484")])
    assert verdicts(out) == ["allow", "deny", "allow", "allow", "deny"]
    assert [fired(d) for d in out] == [[], ["t/addon@2"], [], [], ["t/limit@4"]]
    assert [(r.claim_id, r.line) for r in out[4].findings[0].related] == [("C1", 3)]


def test_an_addon_whose_primary_a_pair_rule_denies_counts_toward_nothing(
        adjudicate: Adjudicate) -> None:
    # docs/semantics.md, stage 4: the 64479 stood after stage 1, and a pair rule denies it in
    # stage 2; nothing is left to support the 64480, which counts toward nothing, so the
    # 64484 after it is within the limit
    text = ("policy t\naddon 64480 requires 64479\naddon 64484 requires 64483\n"
            "limit 64480, 64484 per day by provider <= 1\nwhen 20610 forbid 64479\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "64479"),
                            line("C1", 3, "M1", "2024-03-01", "20610"),
                            line("C1", 4, "M1", "2024-03-01", "64480"),
                            line("C1", 5, "M1", "2024-03-01", "64484")])
    assert verdicts(out) == ["allow", "deny", "allow", "deny", "allow"]
    assert [fired(d) for d in out[1:]] == [["t/forbid@5"], [], ["t/addon@2"], []]


def test_an_addon_whose_primary_a_limit_denies_still_counts_for_its_date(
        adjudicate: Adjudicate) -> None:
    # docs/semantics.md, the gap left: the 64479 stands after stage 2, and a limit denies it
    # in stage 3 (one a year, and one is paid); the 64480 is counted when stage 3 reaches it,
    # and so denies the 64484 after it, though stage 4 then denies the 64480 too
    text = ("policy t\naddon 64480 requires 64479\naddon 64484 requires 64483\n"
            "limit 64480, 64484 per day by provider <= 1\nlimit 64479 per year <= 1\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "64479"),
                            line("C1", 4, "M1", "2024-03-01", "64480"),
                            line("C1", 5, "M1", "2024-03-01", "64484")],
                     [line("H1", 1, "M1", "2024-01-10", "64479")])
    assert verdicts(out) == ["allow", "deny", "deny", "deny"]
    assert [fired(d) for d in out[1:]] == [["t/limit@5"], ["t/addon@2"], ["t/limit@4"]]


def test_an_addon_and_its_primary_in_one_limit_never_pass_it_together(
        adjudicate: Adjudicate) -> None:
    """Why the gap above stays: not counting a denied add-on would let its primary through,
    which then supports the add-on, and two units would be paid under a limit of one."""
    text = "policy t\naddon 64484 requires 64483\nlimit 64483, 64484 per day <= 1\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64484"),
                            line("C1", 2, "M1", "2024-03-01", "64483")])
    assert verdicts(out) == ["deny", "deny"]
    assert [fired(d) for d in out] == [["t/addon@2"], ["t/limit@3"]]


def test_several_addon_rules_any_primary_satisfies(adjudicate: Adjudicate) -> None:
    text = "policy t\naddon 77003 requires 62270\naddon 77003 requires 64510\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64510"),
                            line("C1", 2, "M1", "2024-03-01", "77003"),
                            line("C2", 1, "M2", "2024-03-01", "77003")])
    assert verdicts(out) == ["allow", "allow", "deny"]
    assert fired(out[2]) == ["t/addon@2", "t/addon@3"]


def test_addon_of_an_addon_falls_with_its_primary(adjudicate: Adjudicate) -> None:
    text = "policy t\naddon 64491 requires 64490\naddon 64492 requires 64491\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64491"),
                            line("C1", 2, "M1", "2024-03-01", "64492")])
    assert verdicts(out) == ["deny", "deny"]


def test_every_line_of_a_session_past_the_limit_is_over_it(adjudicate: Adjudicate) -> None:
    # the 3rd session of "<= 2 sessions": its first line let through (pended by a review rule,
    # or carrying the bypass modifier) and counted does not let the next line of it through
    text = ("policy t\nrule pend review: limit 64493, 64494 per 12mo <= 2 sessions\n"
            "rule acu: limit 97810, 97811 per 90d <= 2 sessions unless modifier KX\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64493"),
                            line("C2", 1, "M1", "2024-03-02", "64493"),
                            line("C2", 2, "M1", "2024-03-02", "64494"),  # 2nd session, 2nd line
                            line("C3", 1, "M1", "2024-03-03", "64493"),
                            line("C3", 2, "M1", "2024-03-03", "64494"),
                            line("D1", 1, "M2", "2024-03-01", "97810"),
                            line("D2", 1, "M2", "2024-03-02", "97810"),
                            line("D3", 1, "M2", "2024-03-03", "97810", mods="KX"),
                            line("D3", 2, "M2", "2024-03-03", "97811"),
                            line("D3", 3, "M2", "2024-03-03", "97811", mods="KX")])
    assert verdicts(out) == ["allow", "allow", "allow", "review", "review",
                             "allow", "allow", "allow", "deny", "allow"]
    assert [(r.claim_id, r.line) for r in out[4].findings[0].related] == [
        ("C1", 1), ("C2", 1), ("C2", 2), ("C3", 1)]


def test_addons_that_name_only_each_other_are_not_paid(adjudicate: Adjudicate) -> None:
    # An add-on is paid on a primary that is paid: two add-ons that list each other (or one
    # that lists its own code) hold nothing up without a primary billed. With one, all stand.
    text = ("policy t\naddon 97811 requires 97810, 97814\naddon 97814 requires 97813, 97811\n"
            "addon 64484 requires 64483, 64484\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97811"),
                            line("C1", 2, "M1", "2024-03-01", "97814"),
                            line("C2", 1, "M2", "2024-03-01", "64484"),
                            line("C2", 2, "M2", "2024-03-01", "64484"),
                            line("C3", 1, "M3", "2024-03-01", "97811"),
                            line("C3", 2, "M3", "2024-03-01", "97814"),
                            line("C3", 3, "M3", "2024-03-01", "97813"),
                            line("C4", 1, "M4", "2024-03-01", "64484"),
                            line("C4", 2, "M4", "2024-03-01", "64484"),
                            line("C4", 3, "M4", "2024-03-01", "64483")])
    assert verdicts(out) == ["deny"] * 4 + ["allow"] * 6
    assert fired(out[0]) == ["t/addon@2"] and fired(out[2]) == ["t/addon@4"]


def test_a_review_addon_supports_another_only_once_supported(adjudicate: Adjudicate) -> None:
    # a pended add-on with no primary of its own is no primary for the add-on that names it
    text = "policy t\nrule a review: addon 97811 requires 97814\naddon 97814 requires 97811\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97811"),
                            line("C1", 2, "M1", "2024-03-01", "97814")])
    assert verdicts(out) == ["review", "deny"]
    assert [fired(d) for d in out] == [["t/a"], ["t/addon@3"]]


def test_exclusive_first_listed_present_wins(adjudicate: Adjudicate) -> None:
    text = "policy t\nexclusive 20553, 20552\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "20552"),
                            line("C1", 2, "M1", "2024-03-01", "20553"),
                            line("C2", 1, "M2", "2024-03-01", "20552")])
    assert verdicts(out) == ["deny", "allow", "allow"]


def test_exclusive_of_a_long_list_ranks_as_a_short_one(adjudicate: Adjudicate) -> None:
    # over EXACT_PARTNERS codes, each code's same-day partners are the whole list (memory
    # linear in its length): the ranking is still the list's order
    text = "policy t\nexclusive 10099, 10000..10098\n"  # 100 codes, 10099 first
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "10050"),
                            line("C1", 2, "M1", "2024-03-01", "10005"),
                            line("C2", 1, "M2", "2024-03-01", "10098"),
                            line("C2", 2, "M2", "2024-03-01", "10099"),
                            line("C3", 1, "M3", "2024-03-01", "10070"),
                            line("C3", 2, "M3", "2024-03-01", "99213")])
    assert verdicts(out) == ["deny", "allow", "deny", "allow", "allow", "allow"]


ACROSS = "policy t\nexclusive 20553, 20552 across providers\n"
PLAIN = "policy t\nexclusive 20553, 20552\n"


def _related(decision: policydsl.Decision, index: int = 0) -> list[tuple[str, int]]:
    return [(r.claim_id, r.line) for r in decision.findings[index].related]


def test_exclusive_across_providers_compares_the_members_lines_of_every_provider(
        adjudicate: Adjudicate) -> None:
    # docs/semantics.md, exclusive: with `across providers`, a 20553 by P1 denies a 20552 by
    # P2 the same day, and `related` names the winner's line; the plain form keeps them apart
    lines = [line("C1", 1, "M1", "2024-03-01", "20553", provider="P1"),
             line("C2", 1, "M1", "2024-03-01", "20552", provider="P2"),
             line("C3", 1, "M2", "2024-03-01", "20552", provider="P2"),  # another member
             line("C4", 1, "M1", "2024-03-02", "20552", provider="P2")]  # another date
    out = adjudicate(ACROSS, lines)
    assert verdicts(out) == ["allow", "deny", "allow", "allow"]
    finding = out[1].findings[0]
    assert (finding.rule, finding.carc, finding.action) == ("t/exclusive@2", "97", "deny")
    assert _related(out[1]) == [("C1", 1)]
    assert finding.message == ("only one of 20553, 20552 is payable per day across "
                               "providers; the first listed that was billed is paid")
    assert verdicts(adjudicate(PLAIN, lines)) == ["allow", "allow", "allow", "allow"]


def test_exclusive_across_providers_counts_an_empty_provider_like_any_other(
        adjudicate: Adjudicate) -> None:
    # "an empty provider matches only an empty provider" is the rule of the same-provider
    # rules: across providers, a line without a provider is one of the member's lines too
    lines = [line("C1", 1, "M1", "2024-03-01", "20553", provider=""),
             line("C1", 2, "M1", "2024-03-01", "20552", provider="P1"),
             line("C2", 1, "M2", "2024-03-01", "20553", provider="P1"),
             line("C2", 2, "M2", "2024-03-01", "20552", provider="")]
    out = adjudicate(ACROSS, lines)
    assert verdicts(out) == ["allow", "deny", "allow", "deny"]
    assert _related(out[1]) == [("C1", 1)]
    assert _related(out[3]) == [("C2", 1)]
    assert verdicts(adjudicate(PLAIN, lines)) == ["allow", "allow", "allow", "allow"]


def test_exclusive_across_providers_names_the_winners_lines_of_every_provider(
        adjudicate: Adjudicate) -> None:
    # three providers, each a line of the list: the first listed code billed by anyone wins,
    # every line of the others is denied naming all the winner's lines, in the member's order
    text = "policy t\nexclusive 20553, 20552, 20550 across providers\n"
    lines = [line("C3", 1, "M1", "2024-03-01", "20550", provider="P3"),
             line("C2", 1, "M1", "2024-03-01", "20552", provider="P2"),
             line("C1", 2, "M1", "2024-03-01", "20553", provider="P1"),
             line("C3", 2, "M1", "2024-03-01", "20553", provider="P3"),
             line("C2", 2, "M1", "2024-03-01", "20552", provider="P2")]
    out = adjudicate(text, lines)
    assert verdicts(out) == ["deny", "deny", "allow", "allow", "deny"]
    for denied in (out[0], out[1], out[4]):
        assert _related(denied) == [("C1", 2), ("C3", 2)]
    # without a 20553, the 20552 lines (of P2) win over P3's 20550
    out = adjudicate(text, [lines[0], lines[1], lines[4]])
    assert verdicts(out) == ["deny", "allow", "allow"]
    assert _related(out[0]) == [("C2", 1), ("C2", 2)]


def test_exclusive_across_providers_counts_paid_lines_of_any_provider(
        adjudicate: Adjudicate) -> None:
    # a paid line counts as allowed toward same-day pairs: a 20553 paid to P2 denies the
    # 20552 of P1 that day (the plain form only a 20552 of P2), and names the paid line first
    claim = [line("C1", 1, "M1", "2024-03-01", "20552", provider="P1"),
             line("C2", 1, "M1", "2024-03-01", "20553", provider="P3")]
    paid = [line("H1", 1, "M1", "2024-03-01", "20553", provider="P2"),
            line("H2", 1, "M1", "2024-03-01", "20552", provider="P2")]
    out = adjudicate(ACROSS, claim, paid)
    assert verdicts(out) == ["deny", "allow"]
    assert _related(out[0]) == [("H1", 1), ("C2", 1)]
    assert verdicts(adjudicate(PLAIN, claim, paid)) == ["allow", "allow"]
    # a paid line is never judged: a paid 20552 of P2 does not stop a 20553 of P1
    out = adjudicate(ACROSS, [claim[1]], [paid[1]])
    assert verdicts(out) == ["allow"]
    # the same paid 20553 by the same provider: both forms deny
    same = [line("H1", 1, "M1", "2024-03-01", "20553", provider="P1")]
    for text in (ACROSS, PLAIN):
        out = adjudicate(text, [claim[0]], same)
        assert verdicts(out) == ["deny"]
        assert _related(out[0]) == [("H1", 1)]


def test_exclusive_across_providers_review_pends_and_the_line_still_counts(
        adjudicate: Adjudicate) -> None:
    text = ("policy t\nrule one review carc 234: exclusive 20553, 20552 across providers\n"
            "limit 20552 per day <= 1\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "20553", provider="P1"),
                            line("C2", 1, "M1", "2024-03-01", "20552", provider="P2"),
                            line("C3", 1, "M1", "2024-03-01", "20552", provider="P3")])
    assert verdicts(out) == ["allow", "review", "deny"]
    assert [(f.rule, f.action, f.carc) for f in out[1].findings] == [("t/one", "review", "234")]
    assert _related(out[1]) == [("C1", 1)]
    # the pended 20552 counts as allowed: the second one goes over the limit of one a day
    assert fired(out[2]) == ["t/one", "t/limit@3"]


def test_exclusive_across_providers_applies_on_the_dates_of_its_validity(
        adjudicate: Adjudicate) -> None:
    text = ("policy t\nrule one effective 2024-03-01 until 2024-03-31:\n"
            "    exclusive 20553, 20552 across providers\n")
    lines = [line(f"C{day}", number, "M1", f"2024-{day}", code, provider=provider)
             for day in ("02-29", "03-01", "03-31", "04-01")
             for number, code, provider in ((1, "20553", "P1"), (2, "20552", "P2"))]
    out = adjudicate(text, lines)
    assert verdicts(out) == ["allow", "allow", "allow", "deny", "allow", "deny",
                             "allow", "allow"]


def test_exclusive_across_providers_beside_the_plain_form_and_line_rules(
        adjudicate: Adjudicate) -> None:
    # both forms on one policy fire on their own lines, in the order of the rules; a winner
    # that its line rules deny wins nothing (stage 2 sees the lines that survived stage 1)
    text = ("policy t\nrequire auth for 20550\nexclusive 20553, 20552 across providers\n"
            "exclusive 20552, 20550\nexclusive 20550, 20551 across providers\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "20553", provider="P1"),
                            line("C1", 2, "M1", "2024-03-01", "20552", provider="P2"),
                            line("C1", 3, "M1", "2024-03-01", "20550", provider="P2"),
                            line("C1", 4, "M1", "2024-03-01", "20551", provider="P3")])
    assert verdicts(out) == ["allow", "deny", "deny", "allow"]
    assert fired(out[1]) == ["t/exclusive@3"]
    assert fired(out[2]) == ["t/auth@2"]


def test_a_procedure_an_exclusive_across_providers_denies_covers_no_day_before(
        adjudicate: Adjudicate) -> None:
    """The day before a major procedure is covered only if the procedure passes the
    same-day rules of its own date (docs/semantics.md, global): an exclusive across
    providers among them, with the winner billed by another provider."""
    lines = [line("C1", 1, "M1", "2024-03-09", "99213", provider="P1"),
             line("C2", 1, "M1", "2024-03-10", "63655", provider="P1"),
             line("C3", 1, "M1", "2024-03-10", "63685", provider="P2")]
    for across, covered in (("across providers", False), ("", True)):
        text = f"policy t\nexclusive 63685, 63655 {across}\nglobal 63655 90d\n"
        out = adjudicate(text, lines)
        assert verdicts(out) == (["deny", "allow", "allow"] if covered
                                 else ["allow", "deny", "allow"]), across


def test_global_period_10_days_after_procedure(adjudicate: Adjudicate) -> None:
    text = "policy t\nglobal 63650 10d\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "63650"),
                            line("C2", 1, "M1", "2024-02-29", "99213"),  # day before: no
                            line("C3", 1, "M1", "2024-03-01", "99213"),  # same day
                            line("C4", 1, "M1", "2024-03-11", "99214"),  # day 10
                            line("C5", 1, "M1", "2024-03-12", "99214"),  # day 11
                            line("C6", 1, "M1", "2024-03-05", "99213", mods="24"),
                            line("C7", 1, "M1", "2024-03-05", "99213", provider="P2")])
    assert verdicts(out) == ["allow", "allow", "deny", "deny", "allow", "allow", "allow"]
    assert out[2].findings[0].carc == "97"
    assert [r.claim_id for r in out[2].findings[0].related] == ["C1"]


def test_global_90_days_covers_the_day_before(adjudicate: Adjudicate) -> None:
    text = "policy t\nglobal 63655 90d covers 99202..99215 unless modifier 24, 25, 57, 79\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "63655"),
                            line("C0", 1, "M1", "2024-02-29", "99213"),
                            line("C0", 2, "M1", "2024-02-28", "99213"),
                            line("C9", 1, "M1", "2024-05-30", "99213"),   # day 90
                            line("C9", 2, "M1", "2024-05-31", "99213"),   # day 91
                            line("C8", 1, "M1", "2024-02-29", "99213", mods="57")])
    assert verdicts(out) == ["allow", "deny", "allow", "deny", "allow", "allow"]


def test_a_procedure_its_same_day_rules_deny_covers_no_day_before(
        adjudicate: Adjudicate) -> None:
    """A global period starts at a procedure line that is not denied: the day before a major
    procedure is covered only if the procedure passes the same-day rules of its own date too
    (a forbid, an exclusive, a per-day MUE), as well as its line rules."""
    text = ("policy t\nmue 63655 <= 1 per day\nwhen 63650 forbid 63655\n"
            "exclusive 63685, 63655\nglobal 63655 90d\n")
    cases = [  # (the procedure date's lines, is the E/M the day before denied)
        ([("63655", "", 2)], False),                  # MUE: 2 units
        ([("63655", "", 1), ("63650", "", 1)], False),  # forbidden with 63650
        ([("63655", "", 1), ("63685", "", 1)], False),  # 63685 wins the exclusive
        ([("63655", "", 1), ("63650", "P2", 1)], True),  # 63650 by another provider
        ([("63655", "", 1)], True),
    ]
    for procedure_day, covered in cases:
        lines = [line("C1", 1, "M1", "2024-03-09", "99213")]
        lines += [line("C2", i, "M1", "2024-03-10", code, provider=provider or "P1",
                       units=units) for i, (code, provider, units) in enumerate(procedure_day, 1)]
        out = adjudicate(text, lines)
        assert out[0].decision == ("deny" if covered else "allow"), procedure_day
    # a paid procedure is never denied: its day before is covered
    history = [line("H1", 1, "M1", "2024-03-10", "63655", units=2)]
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-09", "99213")], history)
    assert verdicts(out) == ["deny"]


def test_a_procedure_earlier_dates_already_deny_covers_no_day_before(
        adjudicate: Adjudicate) -> None:
    """The day before a major procedure is judged before the procedure's limits and
    prerequisites. Where the lines of earlier dates already settle them (a limit already full,
    a prerequisite short even if the day before brought a session), the procedure is sure to
    be denied and covers no day before; where the day before or its own date could still
    change them, it covers it (docs/semantics.md, `global`)."""
    text = ("policy t\nglobal 63655, 63662 90d\nlimit 63655 per 12mo <= 2 units\n"
            "rule rev review: limit 63655 per lifetime <= 1\n"
            "limit 63655 per 12mo <= 1 unless modifier KX\n"
            "require 1 of 64490 within 30d before 63662\n")
    visit = line("C1", 1, "M1", "2024-03-09", "99213")
    procedure = line("C2", 1, "M1", "2024-03-10", "63655", mods="KX")
    cases = [  # (earlier lines, paid lines, the procedure, is the visit covered)
        ([], [line("H1", 1, "M1", "2023-04-01", "63655", units=2)], procedure, False),
        ([line("C0", 1, "M1", "2023-04-01", "63655", mods="KX", units=2)], [], procedure,
         False),
        ([], [line("H1", 1, "M1", "2023-03-10", "63655", units=2)], procedure, True),  # 12mo
        ([], [line("H1", 1, "M1", "2023-04-01", "63655")], procedure, True),  # 2 of 2 units
        # without KX the third limit is full; the review limit alone never denies
        ([], [line("H1", 1, "M1", "2023-04-01", "63655")],
         line("C2", 1, "M1", "2024-03-10", "63655"), False),
        # the same limit filled by a line of the day before: known only on the procedure's date
        ([line("C0", 1, "M1", "2024-03-09", "63655", mods="KX", units=2)], [], procedure,
         True),
        # a prerequisite: short whatever the day before holds; met before; maybe met that day
        ([], [], line("C2", 1, "M1", "2024-03-10", "63662"), False),
        ([], [line("H1", 1, "M1", "2024-03-01", "64490")],
         line("C2", 1, "M1", "2024-03-10", "63662"), True),
        ([line("C0", 1, "M1", "2024-03-09", "64490", provider="P2")], [],
         line("C2", 1, "M1", "2024-03-10", "63662"), True),
    ]
    for earlier, paid, proc, covered in cases:
        out = adjudicate(text, [visit, proc, *earlier], paid)
        assert out[0].decision == ("deny" if covered else "allow"), (earlier, paid, proc)


def test_a_denied_procedure_starts_no_global_period(adjudicate: Adjudicate) -> None:
    text = "policy t\nrequire auth for 63650\nglobal 63650 10d\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "63650"),
                            line("C2", 1, "M1", "2024-03-03", "99213"),
                            line("C3", 1, "M1", "2024-03-10", "63650", auth="A1"),
                            line("C4", 1, "M1", "2024-03-11", "99213")])
    assert verdicts(out) == ["deny", "allow", "allow", "deny"]



def test_a_procedure_a_later_stage_denies_covers_no_visit_of_its_own_date(
        adjudicate: Adjudicate) -> None:
    """A global period starts at a procedure line that is not denied, on its own date too: a
    procedure that survives the line rules but that its limit or its prerequisite then denies
    covers no same-day visit (the date is judged again without it)."""
    text = ("policy t\nglobal 63650, 63685 10d\nlimit 63650 per lifetime <= 1\n"
            "require 1 of 64490 within 12mo before 63685\n")
    paid = [line("H1", 1, "M1", "2024-01-02", "63650")]
    out = adjudicate(text, [line("C1", 1, "M1", "2024-06-03", "63650"),  # over the limit
                            line("C1", 2, "M1", "2024-06-03", "99213"),
                            line("C2", 1, "M1", "2024-06-05", "99213"),
                            line("C3", 1, "M2", "2024-06-03", "63685"),  # no prerequisite
                            line("C3", 2, "M2", "2024-06-03", "99213"),
                            line("C4", 1, "M3", "2024-06-03", "63650"),  # allowed
                            line("C4", 2, "M3", "2024-06-03", "99213")], paid)
    assert verdicts(out) == ["deny", "allow", "allow", "deny", "allow", "allow", "deny"]
    assert fired(out[0]) == ["t/limit@3"] and fired(out[3]) == ["t/prerequisite@4"]
    assert fired(out[6]) == ["t/global@2"]


def test_a_visit_freed_from_a_denied_procedure_meets_its_own_limits(
        adjudicate: Adjudicate) -> None:
    """The date judged again is judged whole: a visit no longer covered goes through the
    limits, and a procedure that still stands keeps covering (its finding names it alone)."""
    text = ("policy t\nglobal 63650, 63685 10d\nlimit 63650 per lifetime <= 1\n"
            "limit 99213 per day <= 1\n")
    paid = [line("H1", 1, "M1", "2024-01-02", "63650")]
    out = adjudicate(text, [line("C1", 1, "M1", "2024-06-03", "63650"),
                            line("C1", 2, "M1", "2024-06-03", "99213"),
                            line("C1", 3, "M1", "2024-06-03", "99213"),
                            line("C2", 1, "M2", "2024-06-03", "63650"),
                            line("C2", 2, "M2", "2024-06-03", "63685"),
                            line("C2", 3, "M2", "2024-06-03", "99213")],
                     [*paid, line("H2", 1, "M2", "2024-01-02", "63650")])
    assert verdicts(out) == ["deny", "allow", "deny", "deny", "allow", "deny"]
    assert fired(out[2]) == ["t/limit@4"]
    (covered,) = out[5].findings
    assert covered.rule == "t/global@2"
    assert [(r.claim_id, r.line) for r in covered.related] == [("C2", 2)]


def test_procedures_that_cover_each_other_stay_as_the_pair_rules_left_them(
        adjudicate: Adjudicate) -> None:
    """Two procedures that cover each other are both denied; judged without them as
    procedures, both would stand, and a procedure that stands does start a period: that
    judging contradicts itself, so the date stays as the pair rules left it, and the denied
    procedures start no period on the days after either."""
    text = "policy t\nglobal 63650 90d covers 63650\n"
    out = adjudicate(text, [line("A", 1, "M1", "2024-03-01", "63650"),
                            line("A", 2, "M1", "2024-03-01", "63650"),
                            line("B", 1, "M1", "2024-03-05", "63650")])
    assert verdicts(out) == ["deny", "deny", "allow"]


def test_a_date_is_judged_again_a_bounded_number_of_times(adjudicate: Adjudicate) -> None:
    """Each judging frees one more visit here, which a limit shared with the procedures then
    counts, denying one more procedure: a date is judged again at most
    ``MAX_DATE_RETRIES`` times, then stands as the last judging left it (the same in every
    engine), so that a date of many lines costs a bounded multiple of its time."""
    from policydsl.model import MAX_DATE_RETRIES
    pairs = MAX_DATE_RETRIES + 4
    text = f"policy t\nglobal 63650 10d\nlimit 63650, 99213 per day <= {pairs - 1}\n"
    lines = []
    for i in range(pairs):
        lines.append(line(f"A{pairs - i:03d}", 1, "M1", "2024-03-01", "99213", provider=f"P{i}"))
        lines.append(line(f"B{i:03d}", 1, "M1", "2024-03-01", "63650", provider=f"P{i}"))
    out = adjudicate(text, lines)
    assert sum(d.decision == "allow" for d in out) <= pairs - 1  # the limit holds
    # each judging again took out one procedure, so frees one visit, provider by provider
    # from the last; after MAX_DATE_RETRIES of them, the next procedure the limit denies
    # (provider pairs - MAX_DATE_RETRIES - 1) still covers its visit
    visits = [d.decision for d in out if d.code == "99213"]
    procedures = [d.decision for d in out if d.code == "63650"]
    kept = pairs - MAX_DATE_RETRIES
    assert visits == ["deny"] * kept + ["allow"] * MAX_DATE_RETRIES
    assert procedures == ["allow"] * (kept - 1) + ["deny"] * (MAX_DATE_RETRIES + 1)

def test_a_prerequisites_default_message_counts_its_sessions() -> None:
    def message(count: int) -> str:
        text = f"policy t\nrequire {count} of 64493 within year before 64635\n"
        return policydsl.compile_text(text).ruleset.rules[0].info.message

    assert message(1) == "64635 needs 1 earlier session of 64493 within year"
    assert message(2) == "64635 needs 2 earlier sessions of 64493 within year"


def test_prerequisite_needs_sessions_on_earlier_dates(adjudicate: Adjudicate) -> None:
    text = "policy t\nrequire 2 of 64490..64495 within 12mo before 64633..64636\n"
    history = [line("H1", 1, "M1", "2024-01-10", "64493")]
    one = adjudicate(text, [line("C1", 1, "M1", "2024-02-10", "64493"),
                            line("C1", 2, "M1", "2024-02-10", "64635")], history)
    assert verdicts(one) == ["allow", "deny"]  # the same-date block is not earlier
    assert one[1].findings[0].carc == "B15"
    two = adjudicate(text, [line("C1", 1, "M1", "2024-02-10", "64493"),
                            line("C2", 1, "M1", "2024-03-10", "64635")], history)
    assert verdicts(two) == ["allow", "allow"]
    stale = adjudicate(text, [line("C1", 1, "M1", "2024-02-10", "64493"),
                              line("C2", 1, "M1", "2025-01-10", "64635")], history)
    assert verdicts(stale) == ["allow", "deny"]


def test_line_rules(adjudicate: Adjudicate) -> None:
    text = """policy t
dx CLBP = M54.50, M54.51, M54.59, M54.4*
require dx CLBP for 97810..97814
require auth for 63650
deleted 62311 since 2017-01-01 use 62322
forbid modifier 50 on 20552, 20553
"""
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97810", dx="M5450"),
                            line("C1", 2, "M1", "2024-03-01", "97811", dx="m54.41 Z00.0"),
                            line("C1", 3, "M1", "2024-03-01", "97813", dx="M54.9"),
                            line("C1", 4, "M1", "2024-03-01", "63650", auth=""),
                            line("C1", 5, "M1", "2024-03-01", "63650", auth="PA123"),
                            line("C1", 6, "M1", "2016-12-31", "62311"),
                            line("C1", 7, "M1", "2017-01-01", "62311"),
                            line("C1", 8, "M1", "2024-03-01", "20552", mods="50"),
                            line("C1", 9, "M1", "2024-03-01", "20552", mods="LT")])
    assert verdicts(out) == ["allow", "allow", "deny", "deny", "allow", "allow", "deny", "deny",
                             "allow"]
    assert [d.findings[0].carc for d in out if d.findings] == ["11", "197", "181", "4"]
    assert "62322" in out[6].findings[0].message


def test_review_when_only_review_findings_and_deny_wins(adjudicate: Adjudicate) -> None:
    text = """policy t
rule tpi review: limit 20552 per 90d <= 1 sessions
rule auth: require auth for 20552
"""
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "20552", auth="A"),
                            line("C2", 1, "M1", "2024-03-05", "20552", auth="A"),
                            line("C3", 1, "M1", "2024-03-06", "20552")])
    assert verdicts(out) == ["allow", "review", "deny"]
    assert out[1].findings[0].action == "review"


def test_review_lines_are_not_denied_so_they_count(adjudicate: Adjudicate) -> None:
    text = """policy t
rule soft review: limit 20552 per 90d <= 1
rule hard: limit 20552 per 90d <= 2
"""
    lines = [line(f"C{i}", 1, "M1", f"2024-03-0{i}", "20552") for i in range(1, 4)]
    assert verdicts(adjudicate(text, lines)) == ["allow", "review", "deny"]


def test_rule_applies_only_inside_its_validity(adjudicate: Adjudicate) -> None:
    text = """policy t
effective 2024-01-01 until 2024-12-31
require auth for 63650
rule later effective 2025-01-01: require auth for 63685
"""
    out = adjudicate(text, [line("C1", 1, "M1", "2023-12-31", "63650"),
                            line("C1", 2, "M1", "2024-01-01", "63650"),
                            line("C1", 3, "M1", "2025-01-01", "63650"),
                            line("C1", 4, "M1", "2024-12-31", "63685"),
                            line("C1", 5, "M1", "2025-01-01", "63685")])
    assert verdicts(out) == ["allow", "deny", "allow", "allow", "deny"]


def test_named_rule_options_carc_message(adjudicate: Adjudicate) -> None:
    text = 'policy t\nrule acu carc 96 "No more than twelve":\n  limit 97810 per 90d <= 0\n'
    finding = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97810")])[0].findings[0]
    assert (finding.rule, finding.carc, finding.message, finding.source) == (
        "t/acu", "96", "No more than twelve", "test.pol:2:1")


def test_mue_per_day_denies_every_line_of_the_code(adjudicate: Adjudicate) -> None:
    text = "policy t\nmue 64484 <= 4 per day\nmue 64483 <= 1 per line\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64484", units=3),
                            line("C1", 2, "M1", "2024-03-01", "64484", units=2),
                            line("C2", 1, "M1", "2024-03-01", "64484", units=4, provider="P2"),
                            line("C3", 1, "M1", "2024-03-01", "64483", units=2),
                            line("C3", 2, "M1", "2024-03-01", "64483", units=1)])
    assert verdicts(out) == ["deny", "deny", "allow", "deny", "allow"]
    assert out[0].findings[0].carc == "151"


def test_mue_per_day_denies_the_claim_that_goes_over_not_the_claims_before(
        adjudicate: Adjudicate) -> None:
    # domain.md: the units of the member, provider and date are summed, "and if the sum
    # exceeds the MUE, all units of the code on that claim are denied"
    text = "policy t\nmue 64483 <= 1 per day\n"
    out = adjudicate(text, [line("C2", 1, "M1", "2024-03-01", "64483"),
                            line("C1", 1, "M1", "2024-03-01", "64483"),
                            line("C3", 1, "M1", "2024-03-01", "64483", provider="P2"),
                            line("C2", 2, "M1", "2024-03-01", "64483")])
    # C1 comes first (claim order), alone within its MUE; C2 goes over with C1's unit
    assert verdicts(out) == ["deny", "allow", "allow", "deny"]
    assert [ref.claim_id for ref in out[0].findings[0].related] == ["C1", "C2"]
    # a paid line of the date counts first, as an earlier claim does
    paid = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64483")],
                      [line("H9", 1, "M1", "2024-03-01", "64483")])
    assert verdicts(paid) == ["deny"]


def test_members_are_independent(adjudicate: Adjudicate) -> None:
    text = "policy t\nlimit 97810 per 90d <= 1\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "97810"),
                            line("C2", 1, "M2", "2024-03-01", "97810")])
    assert verdicts(out) == ["allow", "allow"]


def test_global_default_covers_every_em_from_99202_to_99215(adjudicate: Adjudicate) -> None:
    # docs/semantics.md: `global P Nd` without `covers` covers E/M 99202-99215, both ends
    text = "policy t\nglobal 63650 10d\n"
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "63650"),
                            line("C2", 1, "M1", "2024-03-02", "99201"),
                            line("C2", 2, "M1", "2024-03-02", "99202"),
                            line("C2", 3, "M1", "2024-03-02", "99215"),
                            line("C2", 4, "M1", "2024-03-02", "99216")])
    assert verdicts(out) == ["allow", "allow", "deny", "deny", "allow"]


def test_an_addon_denied_in_stage_4_counts_toward_nothing_from_the_next_date(
        adjudicate: Adjudicate) -> None:
    # docs/semantics.md, stage 4: the 64479 stands after stage 2 and a limit denies it in
    # stage 3, so the 64480 is counted on its own date, then denied B15. "From the next date
    # on, a denied add-on counts toward nothing": the 64480 of 03-02 (its primary 64483
    # allowed) is within `per 2d <= 1`.
    text = ("policy t\naddon 64480 requires 64479, 64483\nlimit 64480 per 2d <= 1\n"
            "limit 64479 per year <= 1\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "64479"),
                            line("C1", 2, "M1", "2024-03-01", "64480"),
                            line("C2", 1, "M1", "2024-03-02", "64483"),
                            line("C2", 2, "M1", "2024-03-02", "64480")],
                     [line("H1", 1, "M1", "2024-01-10", "64479")])
    assert verdicts(out) == ["deny", "deny", "allow", "allow"]
    assert fired(out[1]) == ["t/addon@2"]


def test_findings_of_one_stage_come_in_the_order_of_the_rules(adjudicate: Adjudicate) -> None:
    # docs/semantics.md, output order: "A line's findings are in stage order, and within a
    # stage in the order of the rules in the policy": the global rule (line 2) before the
    # forbids (lines 3 and 4), and the forbid of 77002 (line 3) before that of 63650 (line 4),
    # whatever the order of the trigger lines
    text = ("policy t\nglobal 63650 10d\nwhen 77002 forbid 99213\nwhen 63650 forbid 99213\n"
            "exclusive 99212, 99213\n")
    out = adjudicate(text, [line("C1", 1, "M1", "2024-03-01", "63650"),
                            line("C1", 2, "M1", "2024-03-01", "77002"),
                            line("C1", 3, "M1", "2024-03-01", "99212"),
                            line("C1", 4, "M1", "2024-03-01", "99213")])
    assert verdicts(out) == ["allow", "allow", "deny", "deny"]
    assert fired(out[3]) == [
        "t/global@2", "t/forbid@3", "t/forbid@4", "t/exclusive@5"]


def test_related_lines_of_a_forbid_with_several_trigger_codes_are_in_member_order(
        adjudicate: Adjudicate) -> None:
    # docs/semantics.md, output order: "`related` lines are in the member's order (date, a
    # date's history lines first, claim id, line number)", also when the triggers that deny a
    # line have different codes
    text = "policy t\nwhen 64483, 77003 forbid 77002\n"
    out = adjudicate(text, [line("C1", 4, "M1", "2024-03-01", "77002"),
                            line("C1", 3, "M1", "2024-03-01", "64483"),
                            line("C1", 2, "M1", "2024-03-01", "77003"),
                            line("C1", 1, "M1", "2024-03-01", "64483")],
                     [line("H1", 1, "M1", "2024-03-01", "77003")])
    assert verdicts(out) == ["deny", "allow", "allow", "allow"]
    assert [(r.claim_id, r.line) for r in out[0].findings[0].related] == [
        ("H1", 1), ("C1", 1), ("C1", 2), ("C1", 3)]
