"""``scatter``: a team of processes writes one file together, each copying its own records."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl.parallel import Team, can_fork, fork_map
from policydsl.scatter import OutputError, runs, write_together

owners = st.lists(st.integers(0, 2), max_size=60).map(bytes)


@given(owners)
def test_runs_are_the_records_in_a_row_of_one_owner(order: bytes) -> None:
    groups = [(owner, len(list(group))) for owner, group in itertools.groupby(order)]
    assert runs(order) == ([count for _, count in groups], bytes(o for o, _ in groups))


def test_runs_of_owners_above_one_byte_apart() -> None:
    assert runs(bytes([0, 0, 200, 7, 7, 7, 0])) == ([2, 1, 3, 1], bytes([0, 200, 7, 0]))


@pytest.mark.skipif(not can_fork(), reason="this system cannot fork")
@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.binary(max_size=12)), max_size=40))
def test_the_file_holds_every_record_in_order(tmp_path_factory: pytest.TempPathFactory,
                                              rows: list[tuple[int, bytes]]) -> None:
    path = tmp_path_factory.mktemp("out") / "records"
    path.write_bytes(b"stale " * 50)  # longer than any output: none of it may remain
    order = bytes(owner for owner, _ in rows)

    def task(team: Team) -> None:
        mine = [record for owner, record in rows if owner == team.index]
        write_together(team, str(path), b"HEADER\n", mine, order)

    fork_map(task, 3)
    assert path.read_bytes() == b"HEADER\n" + b"".join(record for _, record in rows)


@pytest.mark.skipif(not can_fork(), reason="this system cannot fork")
def test_a_worker_whose_records_do_not_match_the_order_fails(tmp_path: Path) -> None:
    def task(team: Team) -> None:
        write_together(team, str(tmp_path / "out"), b"", [b"a", b"b"] if team.index else [b"a"],
                       b"\x00\x01")

    with pytest.raises(ValueError, match="worker 1 holds 2 records, the order gives it 1"):
        fork_map(task, 2)


def test_an_output_error_crosses_from_a_worker_whole() -> None:
    error = OutputError("/data/out.jsonl", "No space left on device")
    again = pickle.loads(pickle.dumps(error))
    assert (again.path, again.reason) == (error.path, error.reason)
    assert str(again) == "cannot write /data/out.jsonl: No space left on device"
