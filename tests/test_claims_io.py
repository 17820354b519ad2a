"""Claims files in, decision files out: the public formats of ``policyc run``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import threading
import time
from pathlib import Path

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policydsl import claims_io
from policydsl.claims import (
    ClaimLine,
    Columns,
    Decision,
    Finding,
    LineRef,
    columns,
    decision_for,
    stored_line,
)
from policydsl.claims_io import (
    ClaimsFileError,
    RowError,
    csv_items,
    csv_records,
    decision_dict,
    error_decision,
    items_of,
    iter_claims,
    jsonl_records,
    read_claims,
    write_csv,
    write_jsonl,
)
from policydsl.claims_text import frame, read_text

HEADER = "claim_id,line,member_id,provider_id,date,code,modifiers,units,dx,pos,auth\n"
#: The header with a column the readers ignore, which may hold a quoted field over lines.
NOTES_HEADER = HEADER.replace("auth", "auth,notes")


def write(tmp_path: Path, text: str, name: str = "claims.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def reasons(items: list[ClaimLine | RowError]) -> list[tuple[int, str] | str]:
    """Each item as (row, reason) for an error, its claim id for a line."""
    return [(i.row, i.reason) if isinstance(i, RowError) else i.claim_id for i in items]


# --- reading CSV -------------------------------------------------------------------------------


def test_reads_every_field_as_the_claim_line_constructor_would(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER
                 + "C1,1,M1,P1,2024-03-05,99213,25 lt,2,M54.50 z00.00,11,A123\n"
                 + "C1,2,M1,,2024-03-05,j3301,,,,,\n")
    first, second = read_claims(path)
    assert first == ClaimLine("C1", 1, "M1", dt.date(2024, 3, 5), "99213", "P1",
                              modifiers="25 lt", units=2, dx="M54.50 z00.00", pos="11",
                              auth="A123")
    assert first.modifiers == ("25", "LT")
    assert first.dx == ("M5450", "Z0000")
    assert second == ClaimLine("C1", 2, "M1", dt.date(2024, 3, 5), "J3301")
    assert (second.units, second.modifiers, second.dx, second.provider_id) == (1, (), (), "")
    for item in (first, second):  # every slot set, types as declared
        assert isinstance(item, ClaimLine)
        assert type(item.line) is int and type(item.units) is int
        assert type(item.date) is dt.date
        assert attrs.evolve(item) == item


def test_header_in_another_order_with_spaces_and_capitals(tmp_path: Path) -> None:
    path = write(tmp_path, " Code ,AUTH, Date,units,Member_ID,pos,dx,Line,modifiers,"
                           "provider_id,claim_id,extra\n"
                           "97810,,2024-01-02,3,M9,22,M54.5,4,kx,P7,C9,ignored\n")
    (item,) = read_claims(path)
    assert item == ClaimLine("C9", 4, "M9", dt.date(2024, 1, 2), "97810", "P7",
                             modifiers=("KX",), units=3, dx=("M545",), pos="22")


def test_optional_columns_may_be_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "claim_id,line,member_id,date,code\nC1,1,M1,2024-01-01,99213\n"
                           "C1,2,M1,2024-01-01,0001F\n")
    items = read_claims(path)
    assert items == [ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213"),
                     ClaimLine("C1", 2, "M1", dt.date(2024, 1, 1), "0001F")]


def test_values_are_stripped_and_codes_upper_cased(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + " C1 , 1 , M1 , P1 , 2024-01-01 , g0283 , 59 ,  , "
                                    "m54.50 , 11 , A1 \n")
    (item,) = read_claims(path)
    assert item == ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "G0283", "P1",
                             modifiers=("59",), dx=("M5450",), pos="11", auth="A1")


def test_every_malformed_row_names_its_row_field_and_value(tmp_path: Path) -> None:
    rows = [
        ",1,M1,,2024-01-01,99213,,,,,",         # line 2
        "C1,x,M1,,2024-01-01,99213,,,,,",       # 3
        "C1,0,M1,,2024-01-01,99213,,,,,",       # 4
        "C1,1,,,2024-01-01,99213,,,,,",         # 5
        "",                                     # 6: blank, not a row
        "C1,1,M1,,2024-13-01,99213,,,,,",       # 7
        "C1,1,M1,,2024/01/01,99213,,,,,",       # 8
        "C1,1,M1,,2024-01-01,,,,,,",            # 9
        "C1,1,M1,,2024-01-01,9921,,,,,",        # 10
        "C1,1,M1,,2024-01-01,99213,,0,,,",      # 11
        "C1,1,M1,,2024-01-01,99213,,1.5,,,",    # 12
        "C1,1,M1,,2024-01-01,99213,25 ABC,,,,", # 13
        "C1,1,M1,,2024-01-01,99213,,,,,,",      # 14: one field too many
        "C2,1,M2,,2024-01-01,99213,,,,,",       # 15: fine
        "C1,,M1,,,99213,,,,,",                  # 16: two problems
        "C1,1,M1,,2024-01-01,1234Z,,,,,",       # 17
        "C1,1,M1,,2024-01-01,ı1234,ſx,,,,",      # 18: upper-case to ASCII, still not
    ]
    items = read_claims(write(tmp_path, HEADER + "\n".join(rows) + "\n"))
    assert reasons(items) == [
        (2, "row 2: claim_id is missing"),
        (3, "row 3: line 'x' is not a positive integer"),
        (4, "row 4: line '0' is not a positive integer"),
        (5, "row 5: member_id is missing"),
        (7, "row 7: date '2024-13-01' is not a valid YYYY-MM-DD date"),
        (8, "row 8: date '2024/01/01' is not a valid YYYY-MM-DD date"),
        (9, "row 9: code is missing"),
        (10, "row 10: code '9921' is not a valid procedure code"),
        (11, "row 11: units '0' is not a positive integer"),
        (12, "row 12: units '1.5' is not a positive integer"),
        (13, "row 13: modifier 'ABC' is not exactly 2 letters or digits"),
        (14, "row 14: has 12 fields, the header has 11"),
        "C2",
        (16, "row 16: line is missing; date is missing"),
        (17, "row 17: code '1234Z' is not a valid procedure code"),
        (18, "row 18: code 'ı1234' is not a valid procedure code; "
             "modifier 'ſx' is not exactly 2 letters or digits"),
    ]
    date_error = items[4]
    assert date_error == RowError(7, "row 7: date '2024-13-01' is not a valid YYYY-MM-DD date",
                                  claim_id="C1", line="1", member_id="M1", date="2024-13-01",
                                  code="99213")


_NOT_ICD10 = ("is not an ICD-10-CM code (a letter, a digit, a letter or digit, then up to four "
              "more, with or without a dot after the third)")


@pytest.mark.parametrize("dx", ["M54.50", "m5450", "M54", "U07.1", "Z79.899", "S3210XA",
                                "M54.50 G89.29", "  M54.5  ", ""])
def test_icd10_diagnoses_are_read_with_or_without_the_dot(tmp_path: Path, dx: str) -> None:
    (line,) = read_claims(write(tmp_path, HEADER + f"C1,1,M1,,2024-01-01,97810,,,{dx},,\n"))
    assert isinstance(line, ClaimLine)
    assert line.dx == tuple(dx.upper().replace(".", "").split())


def test_a_malformed_diagnosis_makes_the_row_malformed(tmp_path: Path) -> None:
    """Not a diagnosis that matches no rule (CARC 11): a row to correct (CARC 16), in CSV and
    JSON Lines alike."""
    rows = ['C1,1,M1,,2024-01-01,97810,,,"M54.16,M54.50",,',  # a comma is no separator
            "C2,1,M1,,2024-01-01,97810,,,M54.50.1,,",
            "C3,1,M1,,2024-01-01,97810,,,M54.50 12345,,",
            "C4,1,M1,,2024-01-01,97810,,,M5.4,,",
            "C5,1,M1,,2024-01-01,97810,,,M54.,,",
            "C6,1,M1,,2024-01-01,97810,,,M54.123456,,",
            "C7,1,M1,,2024-01-01,97810,,,M54.50 G89.29,,",
            "C8,1,M1,,2024-01-01,97810,,,ı54.50,,"]  # upper-cases to ASCII, still not
    items = read_claims(write(tmp_path, HEADER + "\n".join(rows) + "\n"))
    assert reasons(items) == [
        (2, f"row 2: dx 'M54.16,M54.50' {_NOT_ICD10} (separate them with spaces, not commas)"),
        (3, f"row 3: dx 'M54.50.1' {_NOT_ICD10}"),
        (4, f"row 4: dx '12345' {_NOT_ICD10}"),
        (5, f"row 5: dx 'M5.4' {_NOT_ICD10}"),
        (6, f"row 6: dx 'M54.' {_NOT_ICD10}"),
        (7, f"row 7: dx 'M54.123456' {_NOT_ICD10}"),
        "C7",
        (9, f"row 9: dx 'ı54.50' {_NOT_ICD10}")]
    jsonl_rows = [orjson.dumps({"claim_id": "J1", "line": 1, "member_id": "M1",
                                "date": "2024-01-01", "code": "97810", "dx": dx}).decode()
                  for dx in (["M54.50", "12345"], "M54.50 G89.29")]
    assert reasons(read_claims(write(tmp_path, "\n".join(jsonl_rows) + "\n", "c.jsonl"))) == [
        (1, f"row 1: dx '12345' {_NOT_ICD10}"), "J1"]


def test_a_line_carries_at_most_four_modifiers_and_twelve_diagnoses(tmp_path: Path) -> None:
    """domain.md: a line has up to four modifiers, a claim up to 12 diagnoses; more is a
    malformed row (CARC 16), read whole or streamed, in CSV and JSON Lines alike."""
    twelve = " ".join(f"M54.{i}" for i in range(10)) + " G89.29 G89.4"
    rows = ["C1,1,M1,,2024-01-01,64483,59 RT LT XS,,,,",
            "C2,1,M1,,2024-01-01,64483,59 RT LT XS 25,,,,",
            f"C3,1,M1,,2024-01-01,97810,,,{twelve},,",
            f"C4,1,M1,,2024-01-01,97810,,,{twelve} Z79.899,,",
            f"C5,1,M1,,2024-01-01,97810,59 RT LT XS 25,,{twelve} Z79.899,,"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    expected = [
        "C1",
        (3, "row 3: modifiers: 5 given, but a claim line carries at most 4"),
        "C3",
        (5, "row 5: dx: 13 given, but a claim carries at most 12"),
        (6, "row 6: modifiers: 5 given, but a claim line carries at most 4; "
            "dx: 13 given, but a claim carries at most 12")]
    assert reasons(read_claims(path)) == expected
    assert reasons(list(iter_claims(path))) == expected
    jsonl = orjson.dumps({"claim_id": "J1", "line": 1, "member_id": "M1", "date": "2024-01-01",
                          "code": "64483", "modifiers": ["59", "RT", "LT", "XS", "25"]})
    assert reasons(read_claims(write(tmp_path, jsonl.decode() + "\n", "c.jsonl"))) == [
        (1, "row 1: modifiers: 5 given, but a claim line carries at most 4")]


def test_a_bad_value_seen_after_good_ones_is_still_caught(tmp_path: Path) -> None:
    good = "C1,1,M1,,2024-01-01,99213,,,,,\n"
    path = write(tmp_path, HEADER + good + good + "C1,1,M1,,2024-01-01,99213,,-1,,,\n" + good)
    assert reasons(read_claims(path)) == [
        "C1", "C1", (4, "row 4: units '-1' is not a positive integer"), "C1"]


def test_small_caches_give_the_same_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "".join(f"C{i},{i % 3 + 1},M{i},,2024-01-{i % 28 + 1:02d},9921{i % 10},,{i % 2 + 1},"
                   f"M54.{i % 7},,\n" for i in range(60))
    path = write(tmp_path, HEADER + body)
    expected = read_claims(path)
    monkeypatch.setattr(claims_io, "_CACHE_LIMIT", 2)
    assert read_claims(path) == expected
    assert len(expected) == 60 and all(isinstance(i, ClaimLine) for i in expected)


def test_quoted_fields_and_line_numbers_after_a_multi_line_field(tmp_path: Path) -> None:
    # a column the reader ignores may hold line breaks; the row is numbered by its last line
    path = write(tmp_path, NOTES_HEADER
                 + "C1,1,M1,,2024-01-01,99213,,,,,,\n"
                 + 'C2,1,M1,"Smith, J",2024-01-01,99213,,,,,A1,"two\nlines"\n'
                 + "C3,1,M1,,2024-01-01,bad,,,,,,\n")
    items = read_claims(path)
    assert items == list(iter_claims(path))
    assert isinstance(items[1], ClaimLine)
    assert (items[1].provider_id, items[1].auth) == ("Smith, J", "A1")
    assert reasons(items) == ["C1", "C2", (5, "row 5: code 'bad' is not a valid procedure code")]


_OPEN_QUOTE = ("a quote opened on this row is not closed on its line, which would join lines "
               "{}-{} into one row: check its quotes (the lines after it are read as rows of "
               "their own)")


def test_a_quote_left_open_drops_no_row(tmp_path: Path) -> None:
    """A quote left open in the last column joined the rows after it into that field, which
    still parsed: rows were lost without a word. Its row is malformed, alone, and every line
    after it is read as a row, by the whole-file and the streaming reader alike, and by a
    batch split between processes (test_cli)."""
    rows = ["C1,1,M1,P1,2024-01-01,64483,,1,M54.16,11,",
            'C1,2,M1,"P1",2024-01-01,77003,,1,M54.16,11,"PA-1',
            "C1,3,M1,P1,2024-01-01,64484,,1,M54.16,11,",
            'C2,1,M2,P1,2024-01-01,20552,,1,M54.16,11,"A""7"',
            "C2,2,M2,P1,2024-01-01,20553,,1,M54.16,11,"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    items = read_claims(path)
    assert items == list(iter_claims(path))
    assert reasons(items) == ["C1", (3, "row 3: " + _OPEN_QUOTE.format(3, 5)), "C1", "C2", "C2"]
    error = items[1]
    assert isinstance(error, RowError)
    assert (error.claim_id, error.line, error.member_id, error.code) == ("C1", "2", "M1", "77003")
    assert isinstance(items[3], ClaimLine) and items[3].auth == 'A"7'


def test_crlf_line_ends_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.replace("\n", "\r\n").encode()
                     + b"C1,1,M1,,2024-01-01,99213,,,,,AUTH\r\n\r\n"
                     + b"C1,x,M1,,2024-01-01,99213,,,,,\r\n")
    items = read_claims(path)
    assert items[0] == ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213", auth="AUTH")
    assert reasons(items)[1] == (4, "row 4: line 'x' is not a positive integer")


def test_short_rows_read_as_empty_trailing_fields(tmp_path: Path) -> None:
    (item,) = read_claims(write(tmp_path, HEADER + "C1,1,M1,P1,2024-01-01,99213\n"))
    assert item == ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213", "P1")


# --- reading JSON Lines ------------------------------------------------------------------------


def test_jsonl_lists_strings_and_numbers(tmp_path: Path) -> None:
    rows = [
        {"claim_id": "C1", "line": 1, "member_id": "M1", "date": "2024-01-01", "code": "99213",
         "modifiers": ["25", "lt"], "dx": ["M54.50", "Z0000"], "units": 2},
        {"claim_id": "C1", "line": "2", "member_id": "M1", "date": "2024-01-01",
         "code": "97810", "modifiers": "kx 59", "dx": "m54.5", "units": "3",
         "provider_id": "P1", "pos": "11", "auth": "A1"},
        {"claim_id": "C1", "line": 3, "member_id": "M1", "date": "2024-01-01", "code": "99213",
         "modifiers": None},
    ]
    text = "\n".join(orjson.dumps(r).decode() for r in rows) + "\n"
    items = read_claims(write(tmp_path, text, "claims.jsonl"))
    assert items == [
        ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213", modifiers=("25", "LT"),
                  units=2, dx=("M5450", "Z0000")),
        ClaimLine("C1", 2, "M1", dt.date(2024, 1, 1), "97810", "P1", modifiers=("KX", "59"),
                  units=3, dx=("M545",), pos="11", auth="A1"),
        ClaimLine("C1", 3, "M1", dt.date(2024, 1, 1), "99213"),
    ]


def test_jsonl_malformed_lines(tmp_path: Path) -> None:
    good = '{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-01","code":"99213"}'
    text = "\n".join([
        good,
        "[1, 2]",
        "",
        "{not json",
        '{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-01","code":"99213",'
        '"units":1.5,"dx":[1]}',
        '{"claim_id":"C1","line":-2,"member_id":"M1","date":"2024-02-30","code":"99213"}',
        good,
    ]) + "\n"
    items = read_claims(write(tmp_path, text, "claims.ndjson"))
    assert reasons(items) == [
        "C1",
        (2, "row 2: not a JSON object: '[1, 2]'"),
        (4, "row 4: not valid JSON (unexpected character, expected a string key at column "
            "2): '{not json'"),
        (5, "row 5: units 1.5 is not a string or an integer; "
            "dx [1] is not a string or a list of strings"),
        (6, "row 6: line '-2' is not a positive integer; "
            "date '2024-02-30' is not a valid YYYY-MM-DD date"),
        "C1",
    ]
    assert isinstance(items[4], RowError)
    assert items[4] == RowError(6, items[4].reason, "C1", "-2", "M1", "2024-02-30", "99213")


def test_jsonl_values_of_the_wrong_type_are_reported_once_and_echoed(tmp_path: Path) -> None:
    text = ('{"claim_id":"C1","line":4.0,"member_id":"M1","date":2024.5,"code":true,'
            '"modifiers":["25",3]}\n')
    [item] = read_claims(write(tmp_path, text, "claims.jsonl"))
    assert item == RowError(
        1, "row 1: line 4.0 is not a string or an integer; date 2024.5 is not a string or an "
        'integer; code true is not a string or an integer; modifiers ["25",3] is not a string '
        "or a list of strings", "C1", "4.0", "M1", "2024.5", "true")


@pytest.mark.parametrize("name", ["claims.csv", "claims.jsonl"])
def test_line_numbers_and_units_fit_in_64_bits(tmp_path: Path, name: str) -> None:
    rows = [("C1", "9223372036854775807", "1"), ("C2", "1", "0009223372036854775807"),
            ("C3", "9223372036854775808", "99999999999999999999")]
    if name == "claims.csv":
        text = "claim_id,line,member_id,date,code,units\n" + "".join(
            f"{c},{n},M1,2024-01-01,97810,{u}\n" for c, n, u in rows)
    else:  # numbers as JSON integers, which orjson reads as floats past 64 bits
        text = "".join(f'{{"claim_id":"{c}","line":{n},"member_id":"M1","date":"2024-01-01",'
                       f'"code":"97810","units":{int(u)}}}\n' for c, n, u in rows)
    items = read_claims(write(tmp_path, text, name))
    assert reasons(items) == [
        "C1", "C2",
        (items[2].row, f"row {items[2].row}: line '9223372036854775808' is not below "
         "9223372036854775808; units '99999999999999999999' is not below 9223372036854775808")]
    assert [item.units for item in items[:2] if isinstance(item, ClaimLine)] == [1, 2**63 - 1]


def test_format_override_beats_the_extension(tmp_path: Path) -> None:
    jsonl = '{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-01","code":"99213"}\n'
    path = write(tmp_path, jsonl, "claims.txt")
    assert read_claims(path, fmt="jsonl") == [
        ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213")]
    csv_path = write(tmp_path, HEADER + "C1,1,M1,,2024-01-01,99213,,,,,\n", "claims.jsonl")
    assert read_claims(csv_path, fmt="csv") == [
        ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213")]


# --- whole-file errors -------------------------------------------------------------------------


def test_missing_code_column_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "claim_id,line,member_id,date\nC1,1,M1,2024-01-01\n")
    with pytest.raises(ClaimsFileError, match=r"lacks column.*code"):
        iter_claims(path)  # raised by the call, before any row is read


@pytest.mark.parametrize(("content", "match"), [
    (b"", "empty file"),
    (b"claim_id,line,member_id,date,code,code\n", "repeats column"),
])
def test_unreadable_files(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "claims.csv"
    path.write_bytes(content)
    with pytest.raises(ClaimsFileError, match=match):
        read_claims(path)


def test_the_api_reads_a_file_named_dash_not_standard_input(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # '-' is standard input for policyc only: read_claims reads the file, as iter_claims does
    (tmp_path / "-").write_text("claim_id,line,member_id,date,code\nC1,1,M1,2024-01-01,97810\n")
    monkeypatch.chdir(tmp_path)
    assert reasons(read_claims(Path("-"))) == reasons(list(iter_claims(Path("-")))) == ["C1"]


def test_a_json_number_beyond_a_double_is_a_bad_value_and_the_row_keeps_its_keys(
        tmp_path: Path) -> None:
    # 1e400 is valid JSON (RFC 8259 sets no range); orjson refuses it, so the row was "not
    # valid JSON" and echoed no claim id, line, member, date or code
    row = ('{"claim_id":"C1","line":16,"member_id":"M1","date":"2024-03-04","code":"64483",'
           '"units":1e400}')
    whole, streamed = read_both(tmp_path, row + "\n", "claims.jsonl")
    assert whole == streamed
    assert isinstance(whole, list)
    [error] = whole
    assert isinstance(error, RowError)
    assert error.reason == "row 1: units 1e400 is not a string or an integer"
    assert (error.claim_id, error.line, error.member_id, error.date, error.code) == (
        "C1", "16", "M1", "2024-03-04", "64483")
    # an integer past a double's range is a bad value too, and the row keeps its keys
    big = row.replace("1e400", "1" + "0" * 400)
    whole, streamed = read_both(tmp_path, big + "\n", "claims.jsonl")
    assert whole == streamed
    assert isinstance(whole, list)
    assert whole[0].claim_id == "C1"
    # beside another number that is not an integer, which reads the row a second time
    row = row.replace('"line":16', '"line":1.0')
    whole, streamed = read_both(tmp_path, row + "\n", "claims.jsonl")
    assert whole == streamed
    assert reasons(whole) == [(1, "row 1: line 1.0 is not a string or an integer; units 1e400 "
                                  "is not a string or an integer")]


def test_a_json_lines_row_nested_deeper_than_the_json_module_reads_is_malformed(
        tmp_path: Path) -> None:
    # orjson reads 1,000 nested arrays; the json module, which reads a row again for an
    # integer past 64 bits, overflows Python's stack on them: the row stays malformed
    deep = "[" * 1000 + "]" * 1000
    rows = [f'{{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-03-04",'
            f'"code":"64483","units":1.5,"x":{deep}}}',
            f'{{"claim_id":"C2","line":1,"member_id":123456789012345678901234567890,'
            f'"date":"2024-03-04","code":"64483","x":{deep}}}']
    whole, streamed = read_both(tmp_path, "\n".join(rows) + "\n", "claims.jsonl")
    assert whole == streamed
    assert isinstance(whole, list)
    assert reasons(whole) == [
        (1, "row 1: units 1.5 is not a string or an integer"),
        (2, "row 2: member_id 1.2345678901234568e+29 is not a string or an integer")]


def test_a_bad_json_value_is_shown_as_written_and_cut_however_deep_or_long(
        tmp_path: Path) -> None:
    # a list orjson reads but cannot write back (a number past its range, 300 levels deep:
    # it writes 255) is shown as the row wrote it, cut after 40 characters, never a traceback
    start = '{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-03-04","code":"64483",'
    rows = [start + '"dx":["M54.50",1e400]}',
            start + '"dx":["M54.50",123456789012345678901234567890]}',
            start + '"dx":{"a":[1e400,true,null,2.5]}}',
            start + '"modifiers":' + "[" * 300 + "]" * 300 + "}",
            start + '"dx":["M54.50",' + ",".join(["1"] * 5000) + "]}"]
    whole, streamed = read_both(tmp_path, "\n".join(rows) + "\n", "claims.jsonl")
    assert whole == streamed
    assert isinstance(whole, list)
    assert reasons(whole) == [
        (1, 'row 1: dx ["M54.50",1e400] is not a string or a list of strings'),
        (2, 'row 2: dx ["M54.50",123456789012345678901234567... is not a string or a list '
            "of strings"),
        (3, 'row 3: dx {"a":[1e400,true,null,2.5]} is not a string or a list of strings'),
        (4, "row 4: modifiers " + "[" * 37 + "... is not a string or a list of strings"),
        (5, 'row 5: dx ["M54.50",' + "1," * 13 + "1... is not a string or a list of "
            "strings")]
    assert [(e.claim_id, e.member_id) for e in whole if isinstance(e, RowError)] == [
        ("C1", "M1")] * 5


@pytest.mark.parametrize(("row", "said"), [
    ('{"claim_id":"C1","line":NaN}', "unexpected character, expected a JSON value at column 25"),
    ('{"claim_id":"\\ud800"}', "no low surrogate in string at column 14"),
    ('  {"claim_id":"C1"} {}', "unexpected content after document at column 19"),
])
def test_a_json_lines_row_that_is_not_json_says_where(tmp_path: Path, row: str,
                                                      said: str) -> None:
    # it is an object to the eye: "not a JSON object" would send the reader looking elsewhere
    whole, streamed = read_both(tmp_path, row + "\n", "claims.jsonl")
    assert whole == streamed
    assert isinstance(whole, list)
    assert reasons(whole) == [(1, f"row 1: not valid JSON ({said}): {row.strip()!r}")]


@pytest.mark.parametrize(("text", "hint"), [
    ('{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-01","code":"99213"}\n',
     "it looks like JSON: name a JSON Lines file *.jsonl"),
    ("claim_id;line;member_id;date;code\nC1;1;M1;2024-01-01;99213\n",
     "its columns are separated by semicolons: use commas"),
    ("claim_id\tline\tmember_id\tdate\tcode\n", "its columns are separated by tabs: use commas"),
])
def test_a_header_that_is_json_or_not_comma_separated_says_so(tmp_path: Path, text: str,
                                                               hint: str) -> None:
    whole, streamed = read_both(tmp_path, text, "claims.json")
    assert whole == streamed
    assert isinstance(whole, str)
    assert whole.startswith(f"{tmp_path / 'claims.json'}: header lacks column(s) ")
    assert whole.endswith(f"; {hint}")


def test_a_header_that_lacks_columns_is_shown_as_written(tmp_path: Path) -> None:
    # the columns are matched case-insensitively, but the message shows the header the user
    # wrote: a JSON row used as a header keeps its ids' case
    whole, streamed = read_both(tmp_path, 'Claim_ID,Line,{"member":"M1"}\n', "claims.csv")
    assert whole == streamed
    assert isinstance(whole, str)
    assert '(found: Claim_ID, Line, {"member":"M1"})' in whole


def test_an_unknown_column_may_repeat_and_is_ignored(tmp_path: Path) -> None:
    text = ("claim_id,line,member_id,date,code,note,Note,,\n"
            "C1,1,M1,2024-01-01,99213,a,b,c,d\n")
    whole, streamed = read_both(tmp_path, text, "claims.csv")
    assert whole == streamed == [ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213")]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ClaimsFileError, match="cannot open"):
        read_claims(tmp_path / "nope.csv")


# --- writing -----------------------------------------------------------------------------------

ALLOW = Decision("C1", 1, "M1", "2024-01-01", "99213", "allow")
DENY = Decision(
    "C1", 2, "M1", "2024-01-01", "97811", "deny",
    (Finding("acu/addon", "deny", "B15", 'needs "97810"', "acu.pol:3:1",
             (LineRef("C1", 1), LineRef("C0", 4))),
     Finding("acu/limit", "review", "119", "over 12", "acu.pol:5:1")),
)


def jsonl(decisions: list[Decision]) -> bytes:
    out = io.BytesIO()
    write_jsonl(decisions, out)
    return out.getvalue()


def test_jsonl_bytes_and_key_order_are_pinned() -> None:
    assert jsonl([ALLOW, DENY]) == (
        b'{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-01","code":"99213",'
        b'"decision":"allow","findings":[]}\n'
        b'{"claim_id":"C1","line":2,"member_id":"M1","date":"2024-01-01","code":"97811",'
        b'"decision":"deny","findings":['
        b'{"rule":"acu/addon","action":"deny","carc":"B15","message":"needs \\"97810\\"",'
        b'"source":"acu.pol:3:1","related":[{"claim_id":"C1","line":1},'
        b'{"claim_id":"C0","line":4}]},'
        b'{"rule":"acu/limit","action":"review","carc":"119","message":"over 12",'
        b'"source":"acu.pol:5:1","related":[]}]}\n'
    )


def test_error_rows_become_error_decisions(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "C1,1,M1,,2024-13-01,99213,,,,,\nC2,x,M2,,,j3301,,,,,\n")
    first, second = (error_decision(e, path.name) for e in read_claims(path)
                     if isinstance(e, RowError))
    assert first.line == 1 and second.line == "x"
    assert jsonl([first, second]) == (
        b'{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-13-01","code":"99213",'
        b'"decision":"error","findings":[{"rule":"input","action":"error","carc":"16",'
        b'"message":"row 2: date \'2024-13-01\' is not a valid YYYY-MM-DD date",'
        b'"source":"claims.csv:2:1","related":[]}]}\n'
        b'{"claim_id":"C2","line":"x","member_id":"M2","date":"","code":"j3301",'
        b'"decision":"error","findings":[{"rule":"input","action":"error","carc":"16",'
        b'"message":"row 3: line \'x\' is not a positive integer; date is missing",'
        b'"source":"claims.csv:3:1","related":[]}]}\n'
    )


def test_writing_twice_gives_the_same_bytes() -> None:
    many = [ALLOW, DENY] * 3000  # crosses the write batch size
    assert jsonl(many) == jsonl(many)
    assert jsonl(many).count(b"\n") == 6000
    text = io.StringIO()
    write_csv(many, text)
    again = io.StringIO()
    write_csv(many, again)
    assert text.getvalue() == again.getvalue()


ids = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)


@given(ids, st.one_of(st.integers(1, 10**6), ids), ids, ids, ids)
def test_allow_template_writes_what_orjson_writes(
    claim: str, number: int | str, member: str, date: str, code: str
) -> None:
    decision = Decision(claim, number, member, date, code, "allow")
    assert jsonl([decision]) == orjson.dumps(decision_dict(decision)) + b"\n"
    assert orjson.loads(jsonl([decision]))["claim_id"] == claim


def test_csv_output_is_pinned() -> None:
    out = io.StringIO()
    write_csv([ALLOW, DENY], out)
    assert out.getvalue() == (
        "claim_id,line,member_id,date,code,decision,carcs,rules,actions,messages\n"
        "C1,1,M1,2024-01-01,99213,allow,,,,\n"
        'C1,2,M1,2024-01-01,97811,deny,B15 119,acu/addon acu/limit,deny review,'
        '"needs ""97810"" | over 12"\n'
    )


def test_csv_messages_split_back_one_a_finding() -> None:
    # a message holding " | " (or a backslash) must not read as two findings
    texts = ["a | b", "c\\", "|", "d\\|e"]
    findings = tuple(Finding(f"r/{i}", "deny", "97", t, "p.pol:1:1")
                     for i, t in enumerate(texts))
    out = io.StringIO()
    write_csv([Decision("C1", 1, "M1", "2024-01-01", "99213", "deny", findings)], out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    parts = _split_messages(row["messages"])
    assert parts == texts
    assert len(row["rules"].split()) == len(row["actions"].split()) == len(parts)


def _split_messages(joined: str) -> list[str]:
    """The CSV messages column read back: split at `` | `` where the bar has no backslash
    before it, then the escapes undone (what a consumer of the CSV does)."""
    parts, current, chars = [], [], iter(range(len(joined)))
    for i in chars:
        ch = joined[i]
        if ch == "\\":
            current.append(joined[i + 1])
            next(chars)
        elif joined.startswith(" | ", i) and ch == " ":
            parts.append("".join(current))
            current = []
            next(chars)
            next(chars)
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def test_iter_claims_streams(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "C1,1,M1,,2024-01-01,99213,,,,,\n" * 3)
    stream = iter_claims(path)
    assert not isinstance(stream, list)
    assert next(stream) == ClaimLine("C1", 1, "M1", dt.date(2024, 1, 1), "99213")
    assert sum(1 for _ in stream) == 2


@given(ids, st.one_of(st.integers(1, 10**6), ids), ids, ids, ids,
       st.lists(st.tuples(ids, ids), max_size=3))
def test_csv_output_reads_back(
    claim: str, number: int | str, member: str, date: str, code: str,
    findings: list[tuple[str, str]],
) -> None:
    decision = Decision(claim, number, member, date, code, "deny" if findings else "allow",
                        tuple(Finding(rule, "deny", "97", message, "p.pol:1:1")
                              for rule, message in findings))
    out = io.StringIO()
    write_csv([decision, ALLOW], out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[1][:9] == [claim, str(number), member, date, code, decision.decision,
                           " ".join("97" for _ in findings), " ".join(r for r, _ in findings),
                           " ".join("deny" for _ in findings)]
    assert _split_messages(rows[1][9]) == ([m for _, m in findings] if findings else [""])
    assert rows[2] == ["C1", "1", "M1", "2024-01-01", "99213", "allow", "", "", "", ""]


# --- the whole-file reader against the streaming one -------------------------------------------

# Cells that exercise the reader: plain values, bad values, spaces, quotes, commas and line
# breaks inside quotes, empty cells.
_CELLS = st.sampled_from([
    "C1", "M1", " M2 ", "M3", "1", "2", "0", "x", "2024-01-01", "2024-13-01", "99213", "bad",
    "25 lt", "ABC", "M54.50", "", " ", "P1", '"a,b"', '"two\nlines"', '"q""uote"', '"M1"',
    '"open', 'mid"dle', "é", "\t",
])
_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """A CSV claims file: the usual header, rows of 0 to 13 cells, mixed line ends, blank
    lines; some files end without a line end."""
    lines = [HEADER.rstrip("\n")]
    for _ in range(draw(st.integers(0, 12))):
        cells = draw(st.lists(_CELLS, min_size=0, max_size=13))
        lines.append(",".join(cells))
    end = draw(_ENDS) if draw(st.booleans()) else "\n"
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    return ("\ufeff" if draw(st.booleans()) else "") + text


def read_both_bytes(tmp_path: Path, data: bytes, name: str = "claims.csv"
                    ) -> tuple[object, object]:
    """``read_both`` for a file of these bytes."""
    path = tmp_path / name
    path.write_bytes(data)
    results: list[object] = []
    for read in (read_claims, lambda p: list(iter_claims(p))):
        try:
            results.append(read(path))
        except ClaimsFileError as exc:
            results.append(str(exc))
    return results[0], results[1]


def read_both(tmp_path: Path, text: str, name: str) -> tuple[object, object]:
    """What ``read_claims`` and ``list(iter_claims)`` make of the file: items, or the error."""
    return read_both_bytes(tmp_path, text.encode("utf-8"), name)


@given(csv_texts())
def test_whole_file_reader_agrees_with_the_streaming_reader_on_csv(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        whole, streamed = read_both(Path(folder), text, "claims.csv")
    assert whole == streamed


@given(csv_texts(), st.lists(st.tuples(st.integers(0, 2000), st.binary(min_size=1, max_size=2)),
                             min_size=1, max_size=3))
def test_both_readers_agree_on_bytes_that_are_not_utf8(
        text: str, junk: list[tuple[int, bytes]]) -> None:
    # bytes 0x80-0xff put anywhere (in the header, a quoted field, a line end): the same
    # rows, or the same file error, from both readers
    data = text.encode("utf-8")
    for at, chunk in junk:
        at %= len(data) + 1
        data = data[:at] + bytes(0x80 | b for b in chunk) + data[at:]
    with tempfile.TemporaryDirectory() as folder:
        whole, streamed = read_both_bytes(Path(folder), data)
    assert whole == streamed


@given(csv_texts())
def test_the_whole_file_reader_collects_the_columns_of_its_lines(text: str) -> None:
    """What the engine reads of a batch (``Columns``) comes from the reader itself: it must be
    exactly the columns of the lines it read, whatever the rows."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            source = read_text(write(Path(folder), text, "claims.csv"))
        except ClaimsFileError:
            return
    into = Columns([], [], [], [], [])
    items = items_of(source, into)
    if source.framable:
        assert into == columns([item for item in items if isinstance(item, ClaimLine)])
    else:
        assert into == Columns([], [], [], [], [])  # the streaming reader collects none


_JSON_LINES = st.sampled_from([
    '{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-01","code":"99213"}',
    '{"claim_id":"C1","line":"2","member_id":" M2 ","date":"2024-01-01","code":"97810",'
    '"modifiers":["kx"],"dx":"m54.5","units":2}',
    '{"claim_id":"C1","line":1,"member_id":12,"date":"2024-01-01","code":"99213"}',
    '{"claim_id":"C1","line":1,"member_id":"M\\u0031","date":"2024-01-01","code":"99213"}',
    '{"claim_id":"C1","line":1,"member_id":"M1","member_id":"M2","date":"2024-01-01",'
    '"code":"99213"}',
    '{"x":{"member_id":"M1"},"claim_id":"C1","line":1,"date":"2024-01-01","code":"99213"}',
    '{"claim_id":"C1","line":1.5,"member_id":"M1","date":"2024-02-30","code":"99213"}',
    '{"claim_id":"C1","line":1,"member_id":true,"date":"2024-01-01","code":"99213"}',
    "[1, 2]", "{not json", "", "  ", '"member_id"',
])


@given(st.lists(_JSON_LINES, max_size=10), _ENDS)
def test_whole_file_reader_agrees_with_the_streaming_reader_on_json_lines(
        lines: list[str], end: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        whole, streamed = read_both(Path(folder), end.join(lines), "claims.jsonl")
    assert whole == streamed


def test_a_field_over_the_csv_limit_is_reported_at_the_same_line(tmp_path: Path) -> None:
    big = "x" * (csv.field_size_limit() + 1)
    for text in (
        HEADER + f'C1,1,M1,,2024-01-01,99213,,,,,"{big}"\n',  # the first quoted row
        HEADER + 'C1,1,M1,"P,1",2024-01-01,99213,,,,,\n' + f"C1,1,M1,,2024-01-01,{big},,,,,\n",
        HEADER + 'C1,1,M1,"P,1",2024-01-01,99213,,,,,\nC2,1,M1,,2024-01-01,99213,,,,,\n'
        + f'C1,1,M1,,2024-01-01,"{big}",,,,,\n',
        HEADER + f"C1,1,M1,,2024-01-01,{big},,,,,\n",  # no quote: str.split takes it
    ):
        whole, streamed = read_both(tmp_path, text, "claims.csv")
        assert whole == streamed


def test_a_field_over_the_csv_limit_makes_its_row_malformed_not_the_file(
        tmp_path: Path) -> None:
    # the csv module refuses the field, after a quote earlier in the file; that row is an
    # error, and every other row is read, by both readers
    big = "x" * (csv.field_size_limit() + 1)
    text = (HEADER + 'C1,1,M1,"P1",2024-01-01,99213,,,,,\n'
            + f"C2,1,M1,,2024-01-01,99213,,,,,{big}\n"
            + f'C3,1,M1,,2024-01-01,99213,,,,,"{big}\n{big}"\n'  # quoted over two lines
            + "C4,1,M1,,2024-01-01,99213,,,,,\n")
    whole, streamed = read_both(tmp_path, text, "claims.csv")
    assert whole == streamed
    assert isinstance(whole, list)
    kinds = [(type(item).__name__, item.row if isinstance(item, RowError) else item.claim_id)
             for item in whole]
    assert kinds[0] == ("ClaimLine", "C1") and kinds[1] == ("RowError", 3)
    assert kinds[-1] == ("ClaimLine", "C4")
    reason = whole[1].reason
    assert reason == f"row 3: a field is longer than {csv.field_size_limit():,} characters"


@pytest.mark.parametrize(("data", "expected", "rows"), [
    # a byte order mark, and a bad byte far in, after a two-byte character
    (b"\xef\xbb\xbf" + HEADER.encode() + b"C1,1,M1,,2024-01-01,99213,,,,,\n" * 400
     + "\u00e9".encode() + b"ab\xff\n", [(402, "row 402: not UTF-8 text: byte 0xff at column 4")],
     401),
    # bad sequences: cut by the end of the io module's first chunk of 8192 bytes, in a quoted
    # field over two lines, and a lone continuation byte
    (NOTES_HEADER.encode() + b"C1,1,M1,,2024-01-01,99213,,,,," + b"x" * 8130
     + b"\xe2\x28\xa1\n" + b'C2,1,M1,,2024-01-01,99213,,,,,,"a\n\x80b"\n'
     + b"C3,1,M\x80,,2024-01-01,99213,,,,,\n",
     [(2, "row 2: not UTF-8 text: byte 0xe2 at column 8161"),
      (4, "row 4: not UTF-8 text: byte 0x80 at column 1"),
      (5, "row 5: not UTF-8 text: byte 0x80 at column 7")], 3),
    (NOTES_HEADER.encode() + b'C2,1,M1,,2024-01-01,99213,,,,,,"\x80a\nb"\n',
     [(3, "row 3: not UTF-8 text: byte 0x80 at column 33 on line 2")], 1),
], ids=["mark-and-late-byte", "cut-by-first-chunk-and-quoted", "quoted-first-line"])
def test_a_byte_that_is_not_utf8_makes_its_row_malformed_alike_in_both_readers(
        tmp_path: Path, data: bytes, expected: list[tuple[int, str]], rows: int) -> None:
    # one bad byte (a Latin-1 name, say) must not cost the whole batch: its row is an error,
    # every other row is read, by both readers
    whole, streamed = read_both_bytes(tmp_path, data)
    assert whole == streamed
    assert isinstance(whole, list)
    assert [r for r in reasons(whole) if isinstance(r, tuple)] == expected
    assert len(whole) == rows  # the others are lines


@pytest.mark.parametrize("name", ["claims.csv", "claims.jsonl"])
def test_a_row_that_is_not_utf8_is_one_malformed_row_in_csv_and_json_lines(
        tmp_path: Path, name: str) -> None:
    good = {"claim_id": "C1", "line": 1, "member_id": "M1", "date": "2024-03-01",
            "code": "99213"}
    if name.endswith(".csv"):
        data = (HEADER.encode() + b"C1,1,M1,,2024-03-01,99213,,,,,\n"
                + b"C2,1,Jos\xe9,,2024-03-01,99213,,,,,\n" + b"C1,2,M1,,2024-03-01,99213,,,,,\n")
    else:
        row = orjson.dumps(good)
        data = row + b"\n" + row.replace(b"M1", b"Jos\xe9") + b"\n" + row + b"\n"
    whole, streamed = read_both_bytes(tmp_path, data, name)
    assert whole == streamed
    assert isinstance(whole, list)
    row = 3 if name.endswith(".csv") else 2
    column = 9 if name.endswith(".csv") else 43
    assert reasons(whole) == [
        "C1", (row, f"row {row}: not UTF-8 text: byte 0xe9 at column {column}"), "C1"]
    # the key values the row holds are echoed, so that the error can be matched to its claim;
    # the member id holds the bad byte and is not
    bad = whole[1]
    assert isinstance(bad, RowError)
    assert (bad.claim_id, bad.line, bad.member_id, bad.date, bad.code) == (
        "C2" if name.endswith(".csv") else "C1", "1", "", "2024-03-01", "99213")


def test_a_header_that_is_not_utf8_makes_the_file_unusable(tmp_path: Path) -> None:
    data = HEADER.replace("pos", "p\xf6s").encode("latin-1") + b"C1,1,M1,,2024-01-01,99213,,,,,\n"
    whole, streamed = read_both_bytes(tmp_path, data)
    assert whole == streamed == (
        f"{tmp_path / 'claims.csv'}: header: not UTF-8 text (byte 0xf6 at column 67 on line 1)")


def test_a_quote_left_open_is_pointed_at(tmp_path: Path) -> None:
    # the csv module joins the rows after an open quote into one field: the row that opens
    # it is malformed and says which lines it would join, so the analyst can find the quote,
    # and the rows after it are read as rows
    text = (HEADER + 'C1,1,"M1,P1,2024-03-01,64483,,,,,\n' + "C1,2,M1,P1,2024-03-01,77003,,,,,\n"
            + "C2,1,M2,P1,2024-03-01,77003,,,,,\n")
    whole, streamed = read_both(tmp_path, text, "claims.csv")
    assert whole == streamed
    assert isinstance(whole, list)
    assert reasons(whole) == [(2, "row 2: " + _OPEN_QUOTE.format(2, 4)), "C1", "C2"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_reads_as_the_same_file_would(tmp_path: Path) -> None:
    text = "\ufeff" + HEADER + "C1,1,M1,,2024-01-01,99213,,25,,,\n" * 3000
    path = write(tmp_path, text)
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    feeder = threading.Thread(target=pipe.write_text, args=(text,), kwargs={"encoding": "utf-8"},
                              daemon=True)  # a reader that never opens the pipe must not hang
    feeder.start()
    piped = read_text(pipe)
    feeder.join(timeout=10)
    assert not feeder.is_alive()
    regular = read_text(path)
    assert (piped.text, piped.columns, piped.header_lines) == (
        regular.text, regular.columns, regular.header_lines)
    assert regular.text == text[1:]  # the byte order mark is dropped


def test_not_utf8_past_the_first_chunk_after_a_bad_header(tmp_path: Path) -> None:
    # the header's error is the file's, whatever bytes come later
    rows = "C1,1,M1,,2024-01-01,99213,,,,,\n" * 400
    text = b"claim_id,line\n" + rows.encode() + b"C1,1,M\xff1,,2024-01-01,99213,,,,,\n"
    whole, streamed = read_both_bytes(tmp_path, text)
    assert whole == streamed
    assert isinstance(whole, str) and "header lacks column(s) member_id, date, code" in whole


def test_rows_of_chosen_lines_and_their_member_keys(tmp_path: Path) -> None:
    text = NOTES_HEADER + (
        "C1,1,M1,,2024-01-01,99213,,,,,\n"
        "\n"
        'C2,1," M2 ","P, 2",2024-01-01,99213,,,,,,"two\nlines"\n'
        "C3,1,,,2024-01-01,99213,,,,,\n"
        "C4,1\n"
        "C5,1,M1,,2024-13-01,99213,,,,,\n"
    )
    source = read_text(write(tmp_path, text))
    rows = frame(source)
    assert rows.member_keys(source.columns) == ["M1", None, " M2 ", None, "", None, "M1"]
    assert [i for i in range(len(rows.lines)) if rows.is_row(i)] == [0, 2, 4, 5, 6]
    everything = read_claims(tmp_path / "claims.csv")
    assert csv_items(rows, source.columns) == everything
    assert csv_items(rows, source.columns, [2, 6]) == [everything[1], everything[4]]
    assert reasons(csv_items(rows, source.columns, [4, 5])) == [
        (6, "row 6: member_id is missing"),
        (7, "row 7: member_id is missing; date is missing; code is missing"),
    ]


def test_member_keys_of_json_lines(tmp_path: Path) -> None:
    lines = [
        '{"member_id": "M1", "claim_id": "C1"}',
        '{"member_id":12}',
        '{"member_id":"M\\u0032"}',
        '{"member_id":"A","member_id":"B"}',
        "",
        "{not json",
        '{"note":"member_id","member_id":" M3 "}',
    ]
    source = read_text(write(tmp_path, "\n".join(lines) + "\n", "claims.jsonl"))
    rows = frame(source)
    assert rows.member_keys(source.columns) == ["M1", "12", "M2", "B", None, None, " M3 "]
    assert rows.member_keys(source.columns, 1, 3) == ["12", "M2"]
    assert [rows.is_row(i) for i in range(len(lines))] == [True] * 4 + [False] + [True] * 2


def test_a_json_member_id_past_64_bits_is_the_member_the_reader_reads(tmp_path: Path) -> None:
    """The key that splits a batch by member must be the member id the row parser reads: an
    integer past 64 bits is the same member as its digits in a string."""
    big = 2**64
    lines = [f'{{"claim_id":"B","line":1,"member_id":{big},"date":"2025-03-03","code":"64483"}}',
             f'{{"member_id":{big}.5}}']
    source = read_text(write(tmp_path, "\n".join(lines) + "\n", "claims.jsonl"))
    assert frame(source).member_keys(source.columns) == [str(big), None]
    item = read_claims(tmp_path / "claims.jsonl")[0]
    assert isinstance(item, ClaimLine) and item.member_id == str(big)


def test_stored_line_is_a_claim_line() -> None:
    built = stored_line("C1", 2, "M1", dt.date(2024, 1, 1), "99213", "P1", ("25",), 3,
                        ("M545",), "11", "A1")
    assert type(built) is ClaimLine
    assert built == ClaimLine("C1", 2, "M1", dt.date(2024, 1, 1), "99213", "P1", ("25",), 3,
                              ("M545",), "11", "A1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.code = "99214"  # type: ignore[misc]


# --- rendering: the pieced-together JSON is orjson's -------------------------------------------

_REFS = st.builds(LineRef, ids, st.one_of(st.integers(1, 10**6), ids))
_FINDINGS = st.builds(Finding, ids, st.sampled_from(["deny", "review", "error"]), ids, ids, ids,
                      st.lists(_REFS, max_size=3).map(tuple))


@st.composite
def _decisions(draw: st.DrawFn) -> list[Decision]:
    """Up to six decisions whose findings come from a pool of four objects, as the engine
    shares one finding among lines."""
    findings = draw(st.lists(_FINDINGS, min_size=4, max_size=4))
    rows = draw(st.lists(st.tuples(ids, st.one_of(st.integers(1, 10**6), ids), ids, ids, ids,
                                   st.sampled_from(["allow", "deny", "review", "error"]),
                                   st.lists(st.integers(0, 3), max_size=3)), max_size=6))
    return [Decision(c, n, m, d, code, verdict,  # type: ignore[arg-type]
                     tuple(findings[i] for i in picks))
            for c, n, m, d, code, verdict, picks in rows]


@given(_decisions())
def test_jsonl_records_are_orjson_of_decision_dict(decisions: list[Decision]) -> None:
    assert list(jsonl_records(decisions)) == [
        orjson.dumps(decision_dict(d)) + b"\n" for d in decisions]


# printable ASCII (quotes and backslashes among it), now and then a control character
_ASCII_IDS = st.text(st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                               st.characters(max_codepoint=0x1F), st.just("\x7f")),
                     min_size=1, max_size=6)


@given(st.lists(st.one_of(
    st.builds(ClaimLine, _ASCII_IDS, st.integers(1, 10**6), _ASCII_IDS, st.dates(),
              st.sampled_from(["99213", "J0585"])),
    st.builds(Decision, _ASCII_IDS, st.integers(1, 10**6), _ASCII_IDS, st.just("2024-05-01"),
              st.just("64483"), st.sampled_from(["deny", "review"]),
              st.lists(_FINDINGS, max_size=2).map(tuple))), max_size=8))
def test_jsonl_of_ascii_ids_is_orjson(decisions: list[Decision | ClaimLine]) -> None:
    """Ids of printable ASCII are written between quotes as they are; a quote, a backslash or
    a control character anywhere among a chunk's ids sends the chunk through orjson."""
    def reference(d: Decision | ClaimLine) -> bytes:
        decision = d if isinstance(d, Decision) else decision_for(d, ())
        return orjson.dumps(decision_dict(decision)) + b"\n"

    assert list(jsonl_records(decisions)) == list(map(reference, decisions))


def test_jsonl_of_ids_that_are_not_text_is_orjson() -> None:
    """An integer id is made its digits by the constructor; an id that is not text all the
    same (stored past the constructor) is written as orjson writes it."""
    lines = [ClaimLine(5, 1, 7, dt.date(2024, 1, 1), "99213"),
             ClaimLine("C1", 1, "M8", dt.date(2024, 1, 1), "99213")]
    assert (lines[0].claim_id, lines[0].member_id) == ("5", "7")
    object.__setattr__(lines[1], "member_id", 8.5)
    assert list(jsonl_records(lines)) == [
        orjson.dumps(decision_dict(decision_for(line, ()))) + b"\n" for line in lines]
    assert b'"member_id":8.5' in list(jsonl_records(lines))[1]


def test_jsonl_chunks_of_plain_and_other_ids_are_orjson() -> None:
    """Across several chunks, where only some hold an id that JSON must escape."""
    lines = [ClaimLine(f"C{i}", 1 + i % 5, f"M{i % 77}", dt.date(2024, 1, 1 + i % 28), "99213")
             for i in range(10_000)]
    lines[2000] = attrs.evolve(lines[2000], claim_id="C\\2000")  # one chunk each
    lines[5000] = attrs.evolve(lines[5000], member_id='M"5000')
    lines[9000] = attrs.evolve(lines[9000], member_id="Mé\u2028\x7f")
    decisions = [decision_for(line, ()) for line in lines]
    expected = [orjson.dumps(decision_dict(d)) + b"\n" for d in decisions]
    assert list(jsonl_records(lines)) == expected
    assert list(jsonl_records(iter(decisions))) == expected


@given(st.lists(st.builds(
    ClaimLine, ids, st.integers(1, 10**6), ids, st.dates(), st.sampled_from(["99213", "J0585"])),
    max_size=6))
def test_a_claim_line_renders_as_its_allow_decision(lines: list[ClaimLine]) -> None:
    """The engine's batch entry gives a line allowed without findings as the line itself: it
    must render exactly as that line's decision, in both formats."""
    decisions = [decision_for(line, ()) for line in lines]
    assert list(jsonl_records(lines)) == list(jsonl_records(decisions))
    assert list(csv_records(lines)) == list(csv_records(decisions))


def test_many_chunks_with_errors_blank_lines_and_new_values(tmp_path: Path) -> None:
    rows = [f"C{i},{1 + i % 4},M{i % 300},P{i % 9},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
            f"{99200 + i % 700},{('', '25', '59 lt')[i % 3]},{1 + i % 2},M54.{i % 97},11,\n"
            for i in range(9000)]
    rows[100] = "\n"
    rows[3000] = "C1,1,M1,,2024-02-30,99213,,,,,\n"
    rows[5000] = "C1,1, ,,2024-02-03,99213,,,,,\n"
    rows[7000] = "C1,1,M1,,2024-02-03,99213,,,,,,\n"
    rows[8999] = "C1,1,M1,,2024-02-03,99213,25 ABC,,,,"  # no line end at the end
    path = write(tmp_path, HEADER + "".join(rows))
    items = read_claims(path)
    assert items == list(iter_claims(path))
    assert [e.row for e in items if isinstance(e, RowError)] == [3002, 5002, 7002, 9001]
    into = Columns([], [], [], [], [])
    assert items_of(read_text(path), into) == items
    assert into == columns([item for item in items if isinstance(item, ClaimLine)])


def _csv_reference(d: Decision) -> str:
    """The CSV row of a decision, field by field (the format's definition)."""
    fields = (d.claim_id, d.line, d.member_id, d.date, d.code, d.decision,
              " ".join(str(f.carc) for f in d.findings), " ".join(f.rule for f in d.findings),
              " ".join(f.action for f in d.findings),
              " | ".join(f.message.replace("\\", "\\\\").replace("|", "\\|")
                         for f in d.findings))
    quoted = ['"' + str(f).replace('"', '""') + '"' if any(c in str(f) for c in '",\r\n')
              else str(f) for f in fields]  # RFC 4180
    return ",".join(quoted) + "\n"


@given(_decisions())
def test_csv_records_with_shared_findings(drawn: list[Decision]) -> None:
    decisions = drawn * 2
    assert list(csv_records(decisions)) == [_csv_reference(d) for d in decisions]


def test_findings_and_related_lines_given_as_lists_are_kept_as_tuples() -> None:
    """The output classes are documented as immutable and hashable: a caller who builds one
    with lists (as JSON gives them) gets tuples, equal to the engine's own objects."""
    related = [LineRef("C1", 1)]
    finding = Finding("p/r", "deny", "97", "m", "p.pol:2:1", related=related)
    decision = Decision("C1", 2, "M1", "2024-03-04", "77003", "deny", [finding])
    assert finding.related == (LineRef("C1", 1),) and decision.findings == (finding,)
    assert hash(decision) == hash(Decision("C1", 2, "M1", "2024-03-04", "77003", "deny", (
        Finding("p/r", "deny", "97", "m", "p.pol:2:1", (LineRef("C1", 1),)),)))
    related.append(LineRef("C1", 3))  # the caller's list is not shared
    assert len(finding.related) == 1
    assert Finding("p/r", "deny", "97", "m", "s", related=None).related == ()


def test_an_empty_path_names_no_claims_file() -> None:
    # Path("") is the working directory: "cannot open: Is a directory" said nothing useful
    for read in (read_claims, lambda p: list(iter_claims(p))):
        with pytest.raises(ClaimsFileError, match=r"^an empty path names no claims file$"):
            read("")


def test_a_modifier_or_diagnosis_list_written_with_commas_says_to_use_spaces(
        tmp_path: Path) -> None:
    text = ("claim_id,line,member_id,date,code,modifiers,dx\n"
            'C1,1,M1,2024-03-01,20552,"RT,50","M46.1,M54.50"\n'
            "C1,2,M1,2024-03-01,20552,R5,M46.1.0\n"
            "C1,3,M1,2024-03-01,20552,RT;50,\n")
    whole, streamed = read_both(tmp_path, text, "claims.csv")
    assert whole == streamed
    assert isinstance(whole, list)
    hint = " (separate them with spaces, not commas)"
    diagnosis = ("is not an ICD-10-CM code (a letter, a digit, a letter or digit, then up to "
                 "four more, with or without a dot after the third)")
    assert reasons(whole) == [
        (2, f"row 2: modifier 'RT,50' is not exactly 2 letters or digits{hint}; "
            f"dx 'M46.1,M54.50' {diagnosis}{hint}"),
        (3, f"row 3: dx 'M46.1.0' {diagnosis}"),
        (4, "row 4: modifier 'RT;50' is not exactly 2 letters or digits")]


def test_a_header_of_100000_columns_is_read_in_linear_time(tmp_path: Path) -> None:
    # each column looked among the header's others for what it may mean: 100,000 columns took
    # minutes; and the message listed every one of them
    extra = [f"x{i}" for i in range(100_000)]
    wide = write(tmp_path, ",".join(["claim_id", "line", "member_id", "date", *extra]) + "\n")
    started = time.perf_counter()
    whole, streamed = read_both(tmp_path, wide.read_text(), "claims.csv")
    assert time.perf_counter() - started < 20  # seconds; quadratic took minutes
    assert whole == streamed == (
        f"{tmp_path / 'claims.csv'}: header lacks column(s) code (found: claim_id, line, "
        "member_id, date, x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, "
        "x15, and 99,984 more)")


def test_a_header_column_is_shown_escaped(tmp_path: Path) -> None:
    whole, streamed = read_both(tmp_path, "claim_id,line,member\x00_id,date,code\n", "c.csv")
    assert whole == streamed == (
        f"{tmp_path / 'c.csv'}: header lacks column(s) member_id (found: claim_id, line, "
        "member\\x00_id, date, code); did you mean 'member\\x00_id' for member_id?")


def test_a_json_row_that_gives_a_key_of_ours_twice_is_malformed(tmp_path: Path) -> None:
    # the JSON reader kept the last value without a word (judged as 77003), where a CSV
    # header that repeats a column is refused
    base = '"claim_id":"C1","line":1,"member_id":"M1","date":"2024-03-01"'
    rows = ['{' + base + ',"code":"64483","code":"77003"}',
            '{' + base + ',"code":"64483","date":"2024-03-02","code":"77003"}',
            '{' + base + ',"code":"64483","extra":{"code":"1"},"note":"\\"code\\""}']
    path = write(tmp_path, "\n".join(rows) + "\n", "c.jsonl")
    items = read_claims(path)
    assert items == list(iter_claims(path))
    assert reasons(items) == [(1, "row 1: key 'code' is given twice"),
                              (2, "row 2: keys 'date', 'code' are given twice"), "C1"]


def test_a_quote_left_open_before_short_rows_or_a_long_run_drops_no_row(tmp_path: Path) -> None:
    # rows that leave off their empty last columns, and a quote left open before more than
    # the csv module's field limit: both were swallowed (the second with the error far off)
    short = (NOTES_HEADER + 'H1,1,M2,P1,2024-01-10,20553,,1,,11,,"PA-7\n'
             + "".join(f"H{i},1,M2,P1,2024-0{i}-10,20553\n" for i in (2, 3, 4)))
    whole, streamed = read_both(tmp_path, short, "claims.csv")
    assert whole == streamed
    assert reasons(whole) == [(2, "row 2: " + _OPEN_QUOTE.format(2, 5)), "H2", "H3", "H4"]
    rows = [f"C{i},1,M{i % 50},P1,2024-01-{1 + i % 28:02d},99213,,1,,11,,note {'x' * 40}"
            for i in range(1, 4000)]
    long = NOTES_HEADER + 'C0,1,M0,P1,2024-01-01,99213,,1,,11,,"oops\n' + "\n".join(rows) + "\n"
    whole, streamed = read_both(tmp_path, long, "claims.csv")
    assert whole == streamed
    assert isinstance(whole, list) and len(whole) == 4000
    assert isinstance(whole[0], RowError) and whole[0].row == 2
    assert whole[0].reason.startswith("row 2: a quote opened on this row is not closed")
    assert all(isinstance(item, ClaimLine) for item in whole[1:])


def test_notes_over_lines_with_commas_are_no_open_quote(tmp_path: Path) -> None:
    # prose in an ignored column, with as many commas as a row has: a record, not a quote
    text = ("claim_id,line,member_id,date,code,notes\n"
            'C1,1,M1,2024-01-02,20553,"Seen for: neck\nback, hips, knees, ankles, wrists"\n'
            "C2,1,M1,2024-01-03,20552,ok\n")
    whole, streamed = read_both(tmp_path, text, "claims.csv")
    assert whole == streamed
    assert reasons(whole) == ["C1", "C2"]


def test_a_key_of_ours_given_twice_with_an_escape_is_found(tmp_path: Path) -> None:
    row = ('{"claim_id":"C1","line":1,"member_id":"M1","date":"2024-01-02",'
           '"c\\u006fde":"20552","code":"99213"}')
    stamped = ('{"claim_id":"C2","line":1,"member_id":"M1","date":"2024-01-02",'
               '"code":"20552","at":"2024-01-01T10:00:00Z"}')
    path = write(tmp_path, row + "\n" + stamped + "\n", "c.jsonl")
    assert reasons(read_claims(path)) == [(1, "row 1: key 'code' is given twice"), "C2"]
