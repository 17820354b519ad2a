"""The parser: every statement form of the language, and syntax errors worded for a person."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

from policydsl import nodes as n
from policydsl import parser as parser_module
from policydsl.diagnostics import PolicyError
from policydsl.parser import parse

EVERY_FORM = (Path(__file__).parent / "data" / "every_form.pol").read_text()


def test_every_form_of_the_issue_parses() -> None:
    module = parse(EVERY_FORM, "every_form.pol")
    kinds = [type(s.body if isinstance(s, n.NamedRule) else s).__name__ for s in module.statements]
    assert kinds == [
        "PolicyDecl", "Extends", "Effective", "SetDef", "SetDef", "DxDef", "Forbid", "Forbid",
        "Limit", "Limit", "Limit", "Limit", "Limit", "Limit", "Exclusive", "Exclusive", "Addon",
        "RequireDx", "RequireAuth", "Prerequisite", "Global", "Global", "Deleted",
        "ForbidModifier", "Disable", "Limit", "Limit", "Limit", "Mue", "Mue", "Table",
    ]
    assert len(module.comments) == 28


def test_nodes_carry_spans() -> None:
    module = parse("policy p\n\nlimit 97810 per 90d <= 12 unless modifier KX\n", "p.pol")
    limit = module.statements[1]
    assert isinstance(limit, n.Limit)
    assert limit.span == n.Span(3, 1, 3, 45)
    assert limit.window.span == n.Span(3, 17, 3, 20)
    assert limit.bypass[0].span == n.Span(3, 43, 3, 45)


def test_every_statement_spans_its_text_from_keyword_to_last_token() -> None:
    """On the forms of the issue (a statement to a line or two, some with comments after
    them), a statement's span starts at its keyword, the first thing on its line, and ends
    after its last token, before any comment."""
    lines = EVERY_FORM.split("\n")
    for statement in parse(EVERY_FORM, "every_form.pol").statements:
        span = statement.span
        first, last = lines[span.line - 1], lines[span.end_line - 1]
        assert first[:span.column - 1].strip() == "", statement
        assert first[span.column - 1:].split()[0] in {"policy", "extends", "effective", "set",
                                                       "dx", "when", "limit", "exclusive",
                                                       "addon", "require", "global", "deleted",
                                                       "forbid", "disable", "rule", "mue",
                                                       "table"}
        assert not last[span.end_column - 2].isspace(), statement
        assert last[span.end_column - 1:].strip().startswith("#") or not last[
            span.end_column - 1:].strip(), statement


def test_spans_of_options_and_of_a_statement_over_lines() -> None:
    rule = parse('policy p\nrule r carc 97 "m" effective 2025-01-01:\n'
                 '    exclusive 20553,\n              20552  # trailing\n').statements[1]
    assert isinstance(rule, n.NamedRule)
    assert rule.span == n.Span(2, 1, 4, 20)
    assert rule.body.span == n.Span(3, 5, 4, 20)
    assert rule.options.span == n.Span(2, 8, 2, 15)  # the first option: "carc 97"
    assert rule.options.effective is not None
    assert rule.options.effective.span == n.Span(2, 20, 2, 40)


def test_limit_fields() -> None:
    limit = parse("policy p\nlimit 64483 per day by provider <= 1 units\n").statements[1]
    assert limit == n.Limit((n.Word("64483"),), n.Duration("day"), n.Number(1), True, "units")


def test_exclusive_across_providers_fields_and_spans() -> None:
    """``across providers`` is a flag of the exclusive; the statement's span runs to
    ``providers``, over a line break and up to a comment."""
    module = parse("policy p\nexclusive 20553, 20552\n"
                   "rule r: exclusive 20553,\n    20552 across\n    providers  # x\n", "p.pol")
    plain, rule = module.statements[1:]
    assert plain == n.Exclusive((n.Word("20553"), n.Word("20552")))
    assert not plain.across_providers  # type: ignore[union-attr]
    assert plain.span == n.Span(2, 1, 2, 23)
    assert isinstance(rule, n.NamedRule)
    assert rule.body == n.Exclusive((n.Word("20553"), n.Word("20552")), True)
    assert rule.body.span == n.Span(3, 9, 5, 14)
    assert rule.span == n.Span(3, 1, 5, 14)
    assert rule.body.codes[1].span == n.Span(4, 5, 4, 10)  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "message"), [
    ("exclusive 20553, 20552 across provider",
     "2:31: error E001: unexpected 'provider'; expected 'providers' (did you mean "
     "'providers'?)"),
    ("exclusive 20553, 20552 across",
     "2:30: error E001: the statement is incomplete at the end of the file; expected "
     "'providers'"),
    ("exclusive 20553, 20552 providers",
     "2:24: error E001: unexpected 'providers'; expected ',', '..', 'across', end of file or "
     "a new statement"),
])
def test_a_half_written_across_providers_is_a_syntax_error(text: str, message: str) -> None:
    assert _error(f"policy p\n{text}\n").splitlines()[0] == f"bad.pol:{message}"


def test_across_is_a_keyword_only_after_an_exclusive_list() -> None:
    """A set may still be named ``across`` (set names may be keywords): in a list, where a
    name is expected, the word is a name."""
    module = parse("policy p\nset across = 20552\nexclusive 20553, across\n")
    exclusive = module.statements[2]
    assert exclusive == n.Exclusive((n.Word("20553"), n.Word("across")))


def test_named_rule_options_in_any_order() -> None:
    rule = parse('policy p\nrule r review "m" carc B15 effective 2025-01-01 until 2025-12-31:'
                 ' require auth for 63650\n').statements[1]
    assert isinstance(rule, n.NamedRule)
    assert rule.options.carc == n.Word("B15")
    assert rule.options.action == n.Word("review")
    assert rule.options.message == n.Text("m")
    assert rule.options.effective == n.Effective(n.DateLit("2025-01-01"), n.DateLit("2025-12-31"))


def test_string_escapes() -> None:
    rule = parse('policy p\nrule r "a \\"quoted\\"\\nline": require auth for 63650\n'
                 ).statements[1]
    assert isinstance(rule, n.NamedRule)
    assert rule.options.message == n.Text('a "quoted"\nline')


def test_lists_may_continue_on_the_next_line() -> None:
    module = parse("policy p\nset S = 64490,\n    64491,\n    64493\n")
    assert len(module.statements[1].items) == 3  # type: ignore[union-attr]


def test_hash_inside_a_string_is_not_a_comment() -> None:
    module = parse('policy p # one\nrule r "see #4": require auth for 63650 # two\n')
    assert [c.text for c in module.comments] == ["# one", "# two"]


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse(text, "bad.pol")
    return str(info.value)


def test_syntax_error_message_pinned_unexpected_token() -> None:
    assert _error("policy p\nlimit 97810 per 90x <= 3\n") == (
        "bad.pol:2:17: error E001: unexpected '90x'; expected a duration (90d, 12mo) or "
        "day, claim, year or lifetime\n"
        "    limit 97810 per 90x <= 3\n"
        "                    ^^^"
    )


def test_a_rule_header_without_its_colon_is_blamed_at_its_end() -> None:
    """The body on the next line is where the parser stops; the slip is at the header's end
    (past a quoted '#' and a comment, over blank and comment lines)."""
    assert _error('policy p\nrule acu carc 119 "a # b"   # note\n  # more\n\n'
                  "    limit 97810 per 90d <= 12\n") == (
        "bad.pol:2:26: error E001: the header of rule 'acu' must end with ':' before its body "
        "('limit' on line 5)\n"
        '    rule acu carc 119 "a # b"   # note\n'
        "                             ^"
    )
    # a header over two lines ends on the second; on one line with the body, the hint is
    # the usual one
    assert _error('policy p\nrule acu carc 119\n    "msg"\n    limit 97810 per 90d <= 12\n'
                  ).startswith("bad.pol:3:10: error E001: the header of rule 'acu' must end")
    assert _error('policy p\nrule acu "say \\"#1\\""  # note\n    limit 97810 per 90d <= 12\n'
                  ).startswith("bad.pol:2:22: error E001: the header of rule 'acu' must end")
    assert _error('policy p\nrule acu "msg" limit 97810 per 90d <= 12\n').startswith(
        "bad.pol:2:16: error E001: unexpected 'limit'; expected ':'")


def test_syntax_error_message_pinned_keyword_read_as_a_name() -> None:
    # set names may be keywords: 'for' is read as the diagnosis set's name
    assert _error("policy p\nrequire dx for 97810\n") == (
        "bad.pol:2:16: error E001: unexpected '97810'; expected ',' or 'for' ('for' before "
        "it was read as a name, and a 'for' is still to come: is a name or a list missing "
        "before it?)\n"
        "    require dx for 97810\n"
        "                   ^^^^^"
    )
    # a statement's first word ends every statement: no hint from it
    assert "read as a name" not in _error("policy p\nwhen 64483 forbid forbid 77002\n")
    assert "and an 'across' is still to come" in _error(
        "policy p\nexclusive 20553, across providers\n")


def test_syntax_error_message_pinned_incomplete_statement() -> None:
    assert _error("policy p\nwhen 64483 forbid\n") == (
        "bad.pol:2:18: error E001: the statement is incomplete at the end of the file; "
        "expected a code or name\n"
        "    when 64483 forbid\n"
        "                     ^"
    )


def test_an_incomplete_last_statement_is_blamed_before_the_comments_after_it() -> None:
    assert _error("policy p\nlimit 97810 per 90d <=\n\n\n# c\n") == (
        "bad.pol:2:23: error E001: the statement is incomplete at the end of the file; "
        "expected a number\n"
        "    limit 97810 per 90d <=\n"
        "                          ^"
    )


def test_a_statement_keyword_read_as_a_modifier_blames_the_statement_before_it() -> None:
    # 'exclusive' would do as a modifier's text, so the parser only fails at '20553'
    assert _error("policy p\nlimit 97810 per day <= 1 unless modifier\n"
                  "exclusive 20553, 20552\n") == (
        "bad.pol:2:41: error E001: the statement is incomplete; expected a modifier "
        "(2 letters or digits)\n"
        "    limit 97810 per day <= 1 unless modifier\n"
        "                                            ^"
    )
    assert _error("policy p\nwhen 64483 forbid 77002 unless modifier 59,\n  # note\n"
                  "limit 97810 per day <= 1\n").startswith(
        "bad.pol:2:44: error E001: the statement is incomplete; expected a modifier")


def test_an_unclosed_quote_says_so() -> None:
    assert _error('policy p\nrule x "unterminated: require auth for 63650\n') == (
        "bad.pol:2:8: error E001: this quoted text is not closed: a '\"' must end it on the "
        "same line\n"
        '    rule x "unterminated: require auth for 63650\n'
        "           ^"
    )


def test_syntax_error_message_pinned_unknown_statement() -> None:
    assert _error("policy p\nlimits 97810 per 90d <= 3\n") == (
        "bad.pol:2:1: error E001: unexpected 'limits'; expected end of file or a new statement "
        "(did you mean 'limit'?)\n"
        "    limits 97810 per 90d <= 3\n"
        "    ^^^^^^"
    )


@pytest.mark.parametrize(("text", "message"), [
    ("polcy p\n", "1:1: error E001: unexpected 'polcy'; expected end of file or a new "
                  "statement (did you mean 'policy'?)"),
    ("policy p\nwhen 64483 forbd 77002\n", "2:12: error E001: unexpected 'forbd'; expected "
                                            "',', '..' or 'forbid' (did you mean 'forbid'?)"),
    ("policy p\nlimit 97810 per 90d <= 12 sesions\n",
     "2:27: error E001: unexpected 'sesions'; expected 'unless', end of file, units or sessions "
     "or a new statement (did you mean 'sessions'?)"),
    ("policy p\nLIMIT 97810 per 90d <= 12\n",
     "2:1: error E001: unexpected 'LIMIT'; expected end of file or a new statement (keywords are "
     "lower case: 'limit')"),
    ("policy p\nlimit 97810 PER 90d <= 12\n", "2:13: error E001: unexpected 'PER'; expected "
                                               "',', '..' or 'per' (keywords are lower case: "
                                               "'per')"),
    ("policy p\nlimit 97810 per 90d < 12\n", "2:21: error E001: unexpected character '<'; a "
                                              "bound is written '<= N'"),
    ("policy p\nset A = 64490-64495\n", "2:14: error E001: unexpected character '-'; a range "
                                         "is written with '..' (64490..64495)"),
    ("policy p\nlimit 97810 per 90d <= -1\n", "2:24: error E001: unexpected character '-'; a "
                                               "bound is a whole number, 0 or more"),
    ("policy p\nrule g: global 27447 90\n", "2:22: error E001: unexpected '90'; expected ',', "
                                             "'..' or a number of days (10d, 90d) (write 90d "
                                             "for 90 days)"),
    ("policy acme.2025\n", "1:12: error E001: unexpected character '.'; a policy name is words "
                           "of letters, digits and '_', each starting with a letter or '_', "
                           "joined by '.'"),
    ("policy p\ndx D = M54.5.0\n", "2:13: error E001: unexpected character '.'; a diagnosis "
                                   "code has one dot, after its third character (M54.50)"),
    ("policy p\nset A = B-C\n", "2:10: error E001: unexpected character '-'; names are "
                                 "letters, digits and '_'"),
    ("policy p\nset X = 64483,\u00a064484\n", "2:15: error E001: unexpected character "
                                              "'\\xa0' (U+00A0, a space that is not a plain "
                                              "space)"),
    ("policy p\nglobal 63650 10 days\n", "2:14: error E001: unexpected '10'; expected ',', "
                                          "'..' or a number of days (10d, 90d) (write 10d)"),
    # a window, a date or a measure written the way policies are worded
    ("policy p\nlimit 97810 per 90 days <= 12\n", "2:17: error E001: unexpected '90'; expected "
     "a duration (90d, 12mo) or day, claim, year or lifetime (write 90d)"),
    ("policy p\nlimit 97810 per 6 Months <= 12\n", "2:17: error E001: unexpected '6'; expected "
     "a duration (90d, 12mo) or day, claim, year or lifetime (write 6mo)"),
    ("policy p\nlimit 97810 per 2 weeks <= 4\n", "2:17: error E001: unexpected '2'; expected "
     "a duration (90d, 12mo) or day, claim, year or lifetime (write 14d)"),
    ("policy p\nlimit 97810 per 1 year <= 20\n", "2:17: error E001: unexpected '1'; expected "
     "a duration (90d, 12mo) or day, claim, year or lifetime (write 12mo for 12 months back, "
     "or year for the calendar year)"),
    ("policy p\nlimit 97810 per 90 <= 12\n", "2:17: error E001: unexpected '90'; expected "
     "a duration (90d, 12mo) or day, claim, year or lifetime (write 90d for 90 days)"),
    ("policy p\nglobal 63650 3 months\n", "2:14: error E001: unexpected '3'; expected ',', "
     "'..' or a number of days (10d, 90d)"),
    ("policy p\neffective 2025-1-1\n", "2:11: error E001: unexpected '2025'; expected a date "
     "(YYYY-MM-DD) (write 2025-01-01)"),
    ("policy p\ndeleted 62311 since 2017/01/01\n", "2:21: error E001: unexpected '2017'; "
     "expected a date (YYYY-MM-DD) (write 2017-01-01)"),
    ("policy p\nlimit 97810 per 90d <= 12 visits\n", "2:27: error E001: unexpected 'visits'; "
     "expected 'unless', end of file, units or sessions or a new statement (did you mean "
     "'sessions'?)"),
    ("policy p\nrule r carc CO-119: limit 97810 per 90d <= 12\n", "2:15: error E001: "
     "unexpected character '-'; write the reason code alone (carc 119): the group code CO is "
     "not part of it"),
    ("policy p\nlimit 97810 per 90d <= 12 // acupuncture\n", "2:27: error E001: unexpected "
     "character '/'; a comment starts with '#'"),
    ("policy p\nrule r carc CO-45: limit 97810 per 90d <= 12\n", "2:15: error E001: "
     "unexpected character '-'; write the reason code alone (carc 45): the group code CO is "
     "not part of it"),
    # no such date, or more than a date: no date to suggest
    ("policy p\neffective 2025/13/45\n", "2:11: error E001: unexpected '2025'; expected a date "
     "(YYYY-MM-DD)"),
    ("policy p\neffective 2025-1-1-1\n", "2:11: error E001: unexpected '2025'; expected a date "
     "(YYYY-MM-DD)"),
    # a number too long to be a window: no hint, and no traceback
    ("policy p\nlimit 97810 per " + "9" * 5000 + " days <= 12\n", "2:17: error E001: "
     "unexpected '" + "9" * 5000 + "'; expected a duration (90d, 12mo) or day, claim, year or "
     "lifetime"),
    ("policy p\nglobal 63650\n", "2:13: error E001: the statement is incomplete at the end of "
                                  "the file; expected a number of days (10d, 90d)"),
    ("policy p\nrule r: review limit 97810 per 90d <= 12\n",
     "2:9: error E001: unexpected 'review'; expected 'addon', 'deleted', 'exclusive', 'forbid', "
     "'global', 'limit', 'mue', 'require', 'table' or 'when' (a rule's options go before the "
     "':': rule NAME review…: BODY)"),
    ("policy p\nrule r 'tpi': exclusive 20553, 20552\n",
     "2:8: error E001: unexpected character \"'\"; quoted text is written between straight "
     "double quotes (\"...\")"),
    # what an analyst pastes from a word processor or a form
    ("policy p\nset FACET = 64490\u201364495\n", "2:18: error E001: unexpected character "
     "'\u2013'; a range is written with '..' (64490..64495)"),
    ("policy p\nset FACET = 64490 \u2014 64495\n", "2:19: error E001: unexpected character "
     "'\u2014'; a range is written with '..' (64490..64495)"),
    ("policy p\nset A = 77002,\u200b77003\n", "2:15: error E001: unexpected character "
     "'\\u200b' (U+200B, an invisible character pasted with the text: delete it)"),
    ("policy p\nlimit 97810 per \uff19\uff10d <= 12\n", "2:17: error E001: unexpected "
     "character '\uff19' (U+FF19, a digit that is not a plain 0-9)"),
    ("policy p\nlimit 97810 per 90d <= \u0661\u0662\n", "2:24: error E001: unexpected "
     "character '\u0661' (U+0661, a digit that is not a plain 0-9)"),
    ("policy p\neffective 01/31/2025\n", "2:11: error E001: unexpected '01'; expected a date "
     "(YYYY-MM-DD) (write 2025-01-31: year first)"),
    ("policy p\nlimit 97810 per yr <= 20\n", "2:17: error E001: unexpected 'yr'; expected a "
     "duration (90d, 12mo) or day, claim, year or lifetime (did you mean 'year'?)"),
    ("policy p\nlimit 97810 per annual <= 20\n", "2:17: error E001: unexpected 'annual'; "
     "expected a duration (90d, 12mo) or day, claim, year or lifetime (write year for the "
     "calendar year, or 12mo for 12 months back)"),
    ("policy p\nlimit 97810 per 90d =< 12\n", "2:21: error E001: unexpected '='; expected '<=' "
     "or 'by' (a bound is written '<= N')"),
    ("policy p\nmue 97810 max 12\n", "2:11: error E001: unexpected 'max'; expected ',', '..' or "
     "'<=' (a bound is written '<= N')"),
    ("policy p\nlimit 97810 per 90d up to 12\n", "2:21: error E001: unexpected 'up'; expected "
     "'<=' or 'by' (a bound is written '<= N')"),
    # a code or a diagnosis where it does not belong
    ("policy p\nset A = 64483.1\n", "2:14: error E001: unexpected character '.'; a procedure "
     "code has no dot (64483)"),
    ("policy p\nset A = M54.5\n", "2:12: error E001: unexpected character '.'; M54.5 is a "
     "diagnosis: diagnoses go in a 'dx' set or after 'require dx'"),
    ("policy p\nwhen 97810 forbid M54.50\n", "2:22: error E001: unexpected character '.'; "
     "M54.50 is a diagnosis: diagnoses go in a 'dx' set or after 'require dx'"),
    ("policy p\ndx A = M54.50..M54.59\n", "2:14: error E001: unexpected '..'; expected ',', end "
     "of file or a new statement (diagnoses have no ranges: a pattern such as M54.5* names "
     "every code that starts with M54.5)"),
    ("policy p\nglobal 63650 10d covers E/M\n", "2:26: error E001: unexpected character '/'; "
     "name the E/M visits by their codes (99202..99215)"),
    # list items side by side, or joined by a word
    ("policy p\nset A = 77002 77003\n", "2:15: error E001: unexpected '77003'; expected ',', "
     "'..', end of file or a new statement (list items are separated by ',')"),
    ("policy p\nset A = 77002 and 77003\n", "2:15: error E001: unexpected 'and'; expected ',', "
     "'..', end of file or a new statement (list items are separated by ',')"),
    ("policy p\nwhen 64483 forbid 77002 unless modifier 59 or XU\n", "2:44: error E001: "
     "unexpected 'or'; expected ',', end of file or a new statement (list items are separated "
     "by ',')"),
    # a rule's message after its ':'; a rule named without its policy
    ("policy p\nrule a:\n    \"Too many\"\n    limit 97810 per 90d <= 12\n", "3:5: error "
     "E001: unexpected '\"Too many\"'; expected 'addon', 'deleted', 'exclusive', 'forbid', "
     "'global', 'limit', 'mue', 'require', 'table' or 'when' (a rule's message goes before the "
     "':': rule NAME \"MESSAGE\": BODY)"),
    # (not the policy it extends: the id names the policy that wrote the rule, which may be
    # any ancestor)
    ("policy d.b\nextends medicare.pain\ndisable acu-dx\n", "3:9: error E001: unexpected "
     "'acu'; expected a rule id (policy/name) (a rule id is the name of the policy that wrote "
     "the rule, '/', then the rule's name: POLICY/acu-dx)"),
    ("policy d.b\ndisable medicare.tpi.tpi-frequency\n", "2:9: error E001: unexpected "
     "'medicare.tpi.tpi'; expected a rule id (policy/name) (a rule id joins the policy's name "
     "and the rule's name with '/': medicare.tpi/tpi-frequency)"),
    # what the hints above must not say (found by a review of them)
    ("policy p\nrule tpi\u2013frequency: limit 97810 per day <= 1\n", "2:9: error E001: "
     "unexpected character '\u2013' (U+2013, a dash that is not a plain '-')"),
    ("policy p\ndisable medicare.tpi/tpi\u2011frequency\n", "2:25: error E001: unexpected "
     "character '\u2011' (U+2011, a dash that is not a plain '-')"),
    ("policy p\nglobal 27447 yr\n", "2:14: error E001: unexpected 'yr'; expected ',', '..' or a "
     "number of days (10d, 90d)"),
    ("policy p\nlimit 97810 per 9\uff10d <= 1\n", "2:18: error E001: unexpected character "
     "'\uff10' (U+FF10, a digit that is not a plain 0-9)"),
    ("policy p\neffective 2025\u201301\u201301\n", "2:15: error E001: unexpected character "
     "'\u2013' (U+2013, a dash that is not a plain '-')"),
    ("policy p\nrequire dx M54.5 for M54.6\n", "2:25: error E001: unexpected character '.'; "
     "M54.6 is a diagnosis: diagnoses go in a 'dx' set or after 'require dx'"),
    ("policy p\nset A = CODE/MOD\n", "2:13: error E001: unexpected character '/'; list items "
     "are separated by ','"),
    ("policy p\nglobal 27447 10d covers E&M\n", "2:26: error E001: unexpected character '&'; "
     "name the E/M visits by their codes (99202..99215)"),
    ("policy p\ndx A = M5450\u2013M5459\n", "2:13: error E001: unexpected character '\u2013'; "
     "diagnoses have no ranges: a pattern such as M54.5* names every code that starts with "
     "M54.5"),
    ("policy p\ndx A = M54..M55\n", "2:12: error E001: unexpected character '.'; diagnoses "
     "have no ranges: a pattern such as M54.5* names every code that starts with M54.5"),
    ("policy p\nrule r \"a\": \"b\" limit 97810 per day <= 1\n", "2:13: error E001: "
     "unexpected '\"b\"'; expected 'addon', 'deleted', 'exclusive', 'forbid', 'global', "
     "'limit', 'mue', 'require', 'table' or 'when'"),
    ("policy p\neffective 02/03/2025\n", "2:11: error E001: unexpected '02'; expected a date "
     "(YYYY-MM-DD) (dates are written year first: 2025-02-03 or 2025-03-02)"),
    ("policy p\nrequire -1 of 64490 within 12mo before 64633\n", "2:9: error E001: unexpected "
     "character '-'; a count is a whole number, at least 1"),
    # ... and what a second review of them found
    ("policy p\nrule r: \"Acme\u2014at most 12\" limit 97810 per day <= 1\n", "2:9: error E001: "
     "unexpected '\"Acme\u2014at most 12\"'; expected 'addon', 'deleted', 'exclusive', 'forbid', "
     "'global', 'limit', 'mue', 'require', 'table' or 'when' (a rule's message goes before the "
     "':': rule NAME \"MESSAGE\": BODY)"),
    ("policy p\nglobal 27447 27446 90d\n", "2:14: error E001: unexpected '27446'; expected ',', "
     "'..' or a number of days (10d, 90d) (list items are separated by ',')"),
    ("policy p\nrequire 2 of 64490 within 64491 12mo before 64633\n", "2:27: error E001: "
     "unexpected '64491'; expected a duration (90d, 12mo) or day, claim, year or lifetime"),
    ("policy p\nlimit 97810 per 1 lifetime <= 1\n", "2:17: error E001: unexpected '1'; expected "
     "a duration (90d, 12mo) or day, claim, year or lifetime"),
    ("policy p\nglobal 63650 1\n", "2:14: error E001: unexpected '1'; expected ',', '..' or a "
     "number of days (10d, 90d) (write 1d for 1 day)"),
    ("policy p\nlimit 97810 per 0 days <= 1\n", "2:17: error E001: unexpected '0'; expected a "
     "duration (90d, 12mo) or day, claim, year or lifetime"),
    ("policy p\nlimit 97810 per 200 years <= 1\n", "2:17: error E001: unexpected '200'; "
     "expected a duration (90d, 12mo) or day, claim, year or lifetime"),
    ("policy p\nlimit 97810 per 2w <= 1\n", "2:17: error E001: unexpected '2w'; expected a "
     "duration (90d, 12mo) or day, claim, year or lifetime (write 14d)"),
    ("policy p\nlimit 97810 per calendar year <= 1\n", "2:17: error E001: unexpected 'calendar'; "
     "expected a duration (90d, 12mo) or day, claim, year or lifetime (write year: it is the "
     "calendar year)"),
    ("policy p\ndisable medicare.acupuncture acu-90d\n", "2:9: error E001: unexpected "
     "'medicare.acupuncture'; expected a rule id (policy/name) (a rule id joins the policy's "
     "name and the rule's name with '/', no spaces: medicare.acupuncture/acu-90d)"),
    ("policy p\ndisable medicare.acupuncture\n", "2:9: error E001: unexpected "
     "'medicare.acupuncture'; expected a rule id (policy/name) (a rule id is the name of the "
     "policy that wrote the rule, '/', then the rule's name: POLICY/NAME)"),
    ("policy p\ndisable medicare.pain-2025/acu\n", "2:9: error E001: unexpected 'medicare.pain'; "
     "expected a rule id (policy/name) (a policy name is words of letters, digits and '_', each "
     "starting with a letter or '_', joined by '.')"),
    ("policy p\ndisable rule medicare.pain/acu\n", "2:9: error E001: unexpected 'rule'; expected "
     "a rule id (policy/name) ('rule' is no part of a rule id: medicare.pain/acu)"),
    ("policy p\nforbid modifier 59 in 97810\n", "2:20: error E001: unexpected 'in'; expected ',' "
     "or 'on'"),
    ("policy p\nrule r carc 119\nset A = 97810\n", "2:16: error E001: rule 'r' has no body: "
     "after its header come ':' and one rule statement (rule r …: limit …); 'set' on line 3 "
     "starts no rule"),
    ("policy p\nrule r carc 119\nlimt 97810 per day <= 1\n", "2:16: error E001: the header of "
     "rule 'r' must end with ':' before its body ('limt' on line 3)"),
    ("policy acme/pain\n", "1:12: error E001: unexpected character '/'; a policy name is words "
     "of letters, digits and '_', each starting with a letter or '_', joined by '.'"),
    ("policy p\nrule tpi/freq: limit 97810 per day <= 1\n", "2:9: error E001: unexpected "
     "character '/'; a rule name is letters, digits, '_' and '-'"),
    ("policy p\nrule r carc CO/119: limit 97810 per day <= 1\n", "2:15: error E001: unexpected "
     "character '/'; write the reason code alone (carc 119): the group code CO is not part of "
     "it"),
    ("policy p\nset A = 97810 /* c */\n", "2:15: error E001: unexpected character '/'; a "
     "comment starts with '#'"),
    ("policy p\nset A = J0585.1\n", "2:14: error E001: unexpected character '.'; a procedure "
     "code has no dot (J0585)"),
    ("policy p\ndisable medicare.pain/acu.x\n", "2:26: error E001: unexpected character '.'; a "
     "rule name is letters, digits, '_' and '-'"),
    ("policy p\nrule -acu: limit 97810 per day <= 1\n", "2:6: error E001: unexpected character "
     "'-'; a rule name starts with a letter or '_'"),
    ("policy p\ndx A = M54.50-M54.59\n", "2:14: error E001: unexpected character '-'; diagnoses "
     "have no ranges: a pattern such as M54.5* names every code that starts with M54.5"),
    ("policy p\nset A = 77002 to 77003\n", "2:15: error E001: unexpected 'to'; expected ',', "
     "'..', end of file or a new statement (a range is written with '..' (64490..64495))"),
    ("policy p\neffective 2025-01-01 through 2025-12-31\n", "2:22: error E001: unexpected "
     "'through'; expected 'until', end of file or a new statement (did you mean 'until'?)"),
    ("policy p\neffective 01-31-2025\n", "2:11: error E001: unexpected '01'; expected a date "
     "(YYYY-MM-DD) (write 2025-01-31: year first)"),
    ("policy p\nset A = ESI FLUORO\n", "2:13: error E001: unexpected 'FLUORO'; expected ',', "
     "'..', end of file or a new statement (list items are separated by ',')"),
    ("policy p\nrule r \"a:b\": review limit 97810 per day <= 1\n", "2:15: error E001: "
     "unexpected 'review'; expected 'addon', 'deleted', 'exclusive', 'forbid', 'global', "
     "'limit', 'mue', 'require', 'table' or 'when' (a rule's options go before the ':': rule "
     "NAME review…: BODY)"),
    ("policy p\nlimit 97810 per day <= 1 carc 119\n", "2:26: error E001: unexpected 'carc'; "
     "expected 'unless', end of file, units or sessions or a new statement (a rule's options "
     "go in its header, before the ':': rule NAME carc…: BODY)"),
])
def test_syntax_errors_name_the_usual_slips(text: str, message: str) -> None:
    """A misspelt or capitalised keyword, '<' for '<=', a bad name or diagnosis, a pasted
    space, a global period that is not in days."""
    assert _error(text).split("\n")[0] == "bad.pol:" + message
    # the hint is not given where it would be wrong


@pytest.mark.parametrize("text", [
    "policy p\nwhen 64483 frobnicate 77002\n", "policy p\nlimit 97810 per 90 <= 1\n",
    "policy p\nglobal 27447 90d\nlimit 97810 per 12 <= 1\n", "policy p\nset A = 9781.1\n",
    "policy p\nwhen 97810 forbid 97811 unless modifier 5.9\n",
    "policy p\nset A = 20553 < 20552\n", "policy p\nrule x: exclusive 20553 > 20552\n",
])
def test_no_hint_where_the_slip_is_not_recognised(text: str) -> None:
    first = _error(text).split("\n")[0]
    assert not any(hint in first for hint in (
        "did you mean", "a number of days", "bound", "diagnosis", "range", "names are"))


def test_syntax_error_message_pinned_bad_character() -> None:
    assert _error("policy p\nexclusive 20553; 20552\n") == (
        "bad.pol:2:16: error E001: unexpected character ';'; list items are separated by ','\n"
        "    exclusive 20553; 20552\n"
        "                   ^"
    )


def test_a_count_has_at_most_18_digits() -> None:
    assert _error("policy p\nlimit 97810 per 90d <= 1234567890123456789\n") == (
        "bad.pol:2:24: error E001: the number 1234567890123456789 is too large: a count has at "
        "most 18 digits\n"
        "    limit 97810 per 90d <= 1234567890123456789\n"
        "                           ^^^^^^^^^^^^^^^^^^^"
    )
    limit = parse("policy p\nlimit 97810 per 90d <= 0000999999999999999999\n").statements[1]
    assert isinstance(limit, n.Limit) and limit.maximum.value == 999_999_999_999_999_999


def test_a_huge_count_is_a_located_error_before_any_later_one() -> None:
    """Past 4,300 digits Python's int() refuses a number: that must not become a traceback,
    nor hide where the file goes wrong first."""
    huge = "9" * 4301
    message = "error E001: the number 9999999999...9999999999 (4,301 digits) is too large"
    # a syntax error after it, and a rule option given twice before it
    assert _error(f"policy p\nmue 64483 <= {huge}\nexclusive 1 2\n").startswith(
        f"bad.pol:2:14: {message}")
    assert _error(f"policy p\nrule r deny deny: require {huge} of 64490 within 12mo before "
                  "64633\n").startswith(f"bad.pol:2:27: {message}")


def test_keywords_are_whole_words() -> None:
    assert _error("policy p\nwhen 64483 forbidden 77002\n").startswith(
        "bad.pol:2:12: error E001: unexpected 'forbidden'; expected ',', '..' or 'forbid'")


def test_rule_option_given_twice() -> None:
    message = _error("policy p\nrule r carc 97 carc 4: require auth for 63650\n")
    assert message.startswith("bad.pol:2:16: error E212: rule option 'carc' is given twice")


def test_the_ast_keeps_the_tokens_lark_would_keep() -> None:
    """The parser keeps every token (for spans) and drops, itself, those Lark would drop:
    the keywords and punctuation written in the grammar's rules."""
    default = Lark(parser_module._GRAMMAR, parser="lalr", maybe_placeholders=False)
    symbols = [s for rule in default.rules for s in rule.expansion if s.is_term]
    assert {s.name for s in symbols if not s.filter_out} <= parser_module._NAMED_TERMINALS
    assert not {s.name for s in symbols if s.filter_out} & parser_module._NAMED_TERMINALS


def test_a_syntax_error_is_reported_before_an_option_given_twice() -> None:
    """Options are checked once the whole file has parsed: a syntax error after the rule is
    the error, as it is before it."""
    text = "policy p\nrule r carc 97 carc 4: require auth for 63650\nlimit 97810 per 90d <=\n"
    assert _error(text).startswith("bad.pol:3:23: error E001: the statement is incomplete")


def test_one_parser_serves_many_threads() -> None:
    texts = [EVERY_FORM, "policy p\nlimit 97810 per 90d <= 12\n", "policy q\nexclusive 1\n"]

    def spans(text: str) -> list[n.Span]:
        return [node.span for node in n.walk(parse(text, "t.pol"))]

    expected = [spans(text) for text in texts]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert list(pool.map(spans, texts * 8)) == expected * 8


_ALPHABET = st.sampled_from(
    ["policy", "p", "limit", "97810", "per", "90d", "<=", "12", "when", "forbid", ",", "..",
     "unless", "modifier", "KX", "rule", "r", ":", '"', "#", "\n", " ", "set", "S", "=", "dx",
     "M54.5*", "require", "auth", "for", "global", "10d", "2024-01-01", "effective", "until",
     "table", "ptp", "x", "$", "\\", "é", "\t", "exclusive", "addon", "requires", "mue", "line",
     "12345678901234567890", "9" * 4400, "90", "days", "months", "weeks", "year", "2025-1-1",
     "2025/01/01", "visits", "sessions", "carc", "CO", "-", "//", "/", "review"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map(" ".join) | st.text(max_size=80))
def test_random_text_never_crashes_the_parser(text: str) -> None:
    """Any text either parses or raises a PolicyError located inside the text."""
    try:
        parse(text, "fuzz.pol")
    except PolicyError as exc:
        assert len(exc.diagnostics) == 1
        diagnostic = exc.diagnostics[0]
        assert diagnostic.file == "fuzz.pol"
        assert diagnostic.code in {"E001", "E212"}
        assert 1 <= diagnostic.span.line <= max(1, text.count("\n") + 1 + 1)
        assert diagnostic.span.column >= 1
