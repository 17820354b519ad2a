"""``fork_map``: a task run by a team of forked processes, its results and its failures."""

from __future__ import annotations

import os

import pytest

from policydsl.claims_text import ClaimsFileError
from policydsl.parallel import Team, WorkerError, can_fork, fork_map

pytestmark = pytest.mark.skipif(not can_fork(), reason="this system cannot fork")


def test_results_come_in_member_order_and_pieces_are_pooled() -> None:
    def task(team: Team) -> tuple[int, int, list[bytes], int]:
        pooled = team.gather(bytes([team.index]) * (team.index + 1))
        again = team.gather(b"x")
        return team.index, team.size, pooled, len(again)

    assert fork_map(task, 3) == [
        (i, 3, [b"\x00", b"\x01\x01", b"\x02\x02\x02"], 3) for i in range(3)]


def test_a_worker_exception_is_raised_in_the_caller() -> None:
    def task(team: Team) -> int:
        if team.index == 2:
            raise ClaimsFileError("claims.csv: after line 7: field larger than field limit")
        return team.index

    with pytest.raises(ClaimsFileError, match="after line 7"):
        fork_map(task, 3)


def test_a_worker_failing_before_the_pooling_stops_it() -> None:
    def task(team: Team) -> list[bytes]:
        if team.index == 1:
            raise ValueError("no piece from me")
        return team.gather(b"piece")

    with pytest.raises(ValueError, match="no piece from me"):
        fork_map(task, 2)


def test_a_failure_of_member_0_stops_the_workers() -> None:
    def task(team: Team) -> list[bytes]:
        if team.index == 0:
            raise KeyError("member 0")
        return team.gather(b"waits for member 0 forever")

    with pytest.raises(KeyError, match="member 0"):
        fork_map(task, 3)


def test_a_worker_that_dies_without_an_answer() -> None:
    def task(team: Team) -> int:
        if team.index == 1:
            os._exit(3)
        return team.index

    with pytest.raises(WorkerError, match="worker process 1"):
        fork_map(task, 2)
