"""How a team shares a batch: the schedule of parts of the buckets, and the queue it takes them
from. That the output is the same whatever ``--jobs`` is pinned in test_cli.py."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policydsl.batch import BUCKETS, MAX_JOBS, _ones, parts_queue, schedule, take_parts
from policydsl.parallel import Team, can_fork, fork_map


@given(st.integers(1, MAX_JOBS))
def test_the_schedule_takes_every_bucket_once_in_parts_that_shrink(jobs: int) -> None:
    parts = schedule(jobs)
    assert [b for part in parts for b in part] == list(range(BUCKETS))
    sizes = [len(part) for part in parts]
    assert all(size > 0 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] == 1  # the members end on single buckets
    assert len(parts) <= 255  # a part's number travels in a byte


def test_the_first_part_of_two_members_is_a_quarter_of_the_buckets() -> None:
    assert [len(part) for part in schedule(2)] == [16, 12, 9, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1]


@pytest.mark.skipif(not can_fork(), reason="this system cannot fork")
def test_a_slower_member_takes_fewer_parts_and_no_part_is_taken_twice() -> None:
    queue = parts_queue(2)

    def task(team: Team) -> list[int]:
        taken = []
        for part in take_parts(queue, team.size):
            taken.append(part.start)
            time.sleep(0.01 if team.index == 0 else 0.2)  # member 1 runs 20 times slower
        return taken

    try:
        fast, slow = fork_map(task, 2)
    finally:
        os.close(queue)
    assert sorted(fast + slow) == [part.start for part in schedule(2)]
    assert len(fast) > len(slow)


@given(st.lists(st.integers(0, 1), max_size=300), st.integers(0, 40))
def test_the_ones_of_a_mask_are_found_sparse_or_dense(bits: list[int], zeros: int) -> None:
    for mask in bytes(bits), bytes(bits) + bytes(zeros * 10):  # dense, and sparse
        assert list(_ones(mask)) == [i for i, bit in enumerate(mask) if bit]
