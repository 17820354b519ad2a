"""``fork_map``: a task run by a team of forked processes, its results and its failures."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from policydsl.claims_text import ClaimsFileError
from policydsl.parallel import Team, WorkerError, can_fork, fork_map

pytestmark = pytest.mark.skipif(not can_fork(), reason="this system cannot fork")

#: Each test runs with worker 0 in this process, and with a detached team (every worker a forked
#: process, this one relaying).
detached = pytest.mark.parametrize("detached", [False, True], ids=["member0-here", "detached"])


@detached
def test_results_come_in_member_order_and_pieces_are_pooled(detached: bool) -> None:
    def task(team: Team) -> tuple[int, int, list[bytes], int]:
        pooled = team.gather(bytes([team.index]) * (team.index + 1))
        again = team.gather(b"x")
        return team.index, team.size, pooled, len(again)

    assert fork_map(task, 3, detached=detached) == [
        (i, 3, [b"\x00", b"\x01\x01", b"\x02\x02\x02"], 3) for i in range(3)]


@detached
def test_a_worker_exception_is_raised_in_the_caller(detached: bool) -> None:
    def task(team: Team) -> int:
        if team.index == 2:
            raise ClaimsFileError("claims.csv: after line 7: field larger than field limit")
        return team.index

    with pytest.raises(ClaimsFileError, match="after line 7"):
        fork_map(task, 3, detached=detached)


@detached
def test_a_worker_failing_before_the_pooling_stops_it(detached: bool) -> None:
    def task(team: Team) -> list[bytes]:
        if team.index == 1:
            raise ValueError("no piece from me")
        return team.gather(b"piece")

    with pytest.raises(ValueError, match="no piece from me"):
        fork_map(task, 2, detached=detached)


@detached
def test_a_failure_of_member_0_stops_the_workers(detached: bool) -> None:
    def task(team: Team) -> list[bytes]:
        if team.index == 0:
            raise KeyError("member 0")
        return team.gather(b"waits for member 0 forever")

    with pytest.raises(KeyError, match="member 0"):
        fork_map(task, 3, detached=detached)


@detached
def test_a_worker_that_dies_without_an_answer(detached: bool) -> None:
    def task(team: Team) -> int:
        if team.index == 1:
            os._exit(3)
        return team.index

    with pytest.raises(WorkerError, match="worker process 1"):
        fork_map(task, 2, detached=detached)


def test_a_detached_team_runs_every_member_in_a_worker() -> None:
    def task(team: Team) -> int:
        return os.getpid()

    pids = fork_map(task, 2, detached=True)
    assert os.getpid() not in pids
    assert len(set(pids)) == 2


def test_what_detached_workers_print_reaches_the_caller() -> None:
    """A detached worker closes its standard streams before it ends: what it printed is
    flushed first, and the caller reading them sees their end."""
    program = textwrap.dedent("""
        from policydsl.parallel import fork_map
        def task(team):
            print(f"member {team.index} was here", end="")  # stays buffered: no newline
            return team.index
        print(fork_map(task, 2, detached=True), flush=True)
    """)
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, check=True, env=buffered)
    assert "[0, 1]" in done.stdout
    assert "member 0 was here" in done.stdout
    assert "member 1 was here" in done.stdout


def test_a_detached_team_raises_a_failure_as_soon_as_it_comes() -> None:
    def task(team: Team) -> list[bytes]:
        if team.index == 1:
            raise ValueError("member 1 failed early")
        time.sleep(30)  # member 0 is still working: its piece comes much later
        return team.gather(b"piece")

    started = time.monotonic()
    with pytest.raises(ValueError, match="failed early"):
        fork_map(task, 2, detached=True)
    assert time.monotonic() - started < 15


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("waiting", ["busy", "gathering"])
def test_workers_end_when_their_parent_is_killed(tmp_path: Path, waiting: str) -> None:
    # killed (or out of memory), the parent left its workers judging, or blocked forever on a
    # pipe whose other end they held themselves, with the batch in their memory
    script = textwrap.dedent(f"""
        import os, time
        from policydsl.parallel import fork_map

        def task(team):
            if team.index:
                with open(os.path.join({str(tmp_path)!r}, f"w{{team.index}}"), "w") as out:
                    out.write(str(os.getpid()))
            if team.index and {waiting!r} == "gathering":
                team.gather(b"piece")
            time.sleep(120)

        fork_map(task, 3)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    files = [tmp_path / "w1", tmp_path / "w2"]
    deadline = time.monotonic() + 30
    while not all(f.exists() and f.read_text() for f in files):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    workers = [int(f.read_text()) for f in files]
    assert all(map(_running, workers))
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(map(_running, workers)):
        assert time.monotonic() < deadline, "a worker outlived its parent"
        time.sleep(0.05)
