"""Instructions per claim line: compare versions of the engine on a noisy machine.

On a shared machine, a wall-clock figure can swing by a third from one minute to the next. The
number of instructions a run executes stays the same. This script runs the batch behind
``policyc run`` in one process (reading, parsing, judging and rendering; no writing) on the
first ``--lines`` lines of the benchmark claims against the 10,000-rule benchmark policy. It
runs under valgrind's cachegrind, and then once more stopping before the batch. It prints the
difference per claim line for each source tree it is given.

    python benchmarks/instructions.py                   # this checkout, 100,000 lines
    python benchmarks/instructions.py /tmp/base .       # two checkouts, side by side
    python benchmarks/instructions.py --phases .         # and per step: parse, judge, render

A tree is a folder holding ``policydsl/``, put first on ``PYTHONPATH``. The data are those of
``run.py`` (generated on first use). Each tree's compiled policy is cached in
``benchmarks/out/cache`` by a run outside valgrind first. Instructions are not time: memory
stalls do not show. Use this to see whether a change does less work, and ``run.py`` to see what
it is worth.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_WORKER = """
import gc, os, sys
from pathlib import Path
gc.disable()
from policydsl import load
from policydsl.batch import Batch, adjudicate_files
from policydsl.claims import ClaimLine, Columns
from policydsl.claims_io import items_of
from policydsl.claims_text import read_text
from policydsl.render import jsonl_records
policy, claims, cache, mode = sys.argv[1:5]
program = load(policy, cache_dir=Path(cache))
text = read_text(Path(claims))
if mode == "batch":
    outcome = adjudicate_files(Batch(program, text, None, jsonl_records, "claims.csv"), 1)
    assert len(outcome.records) > 0
elif mode != "setup":  # the batch's steps, up to and including the one named
    columns = Columns([], [], [], [], [])
    lines = [i for i in items_of(text, columns) if isinstance(i, ClaimLine)]
    if mode != "parse":
        decisions = program.program.judge(lines, [], columns)
        if mode != "judge":
            records = list(jsonl_records(decisions))
os._exit(0)
"""


def instructions(tree: Path, policy: Path, claims: Path, cache: Path, mode: str) -> int:
    """The instructions cachegrind counted for one run of the worker (in ``tree``: ``-c``
    puts the working folder first on ``sys.path``)."""
    # a fixed hash seed: string hashes decide probe sequences, so counts vary ~0.3% without it
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-c", _WORKER, str(policy), str(claims), str(cache), mode],
        capture_output=True, text=True, env=env, cwd=tree, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed for {tree}:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[ROOT],
                        help="Source trees to measure (default: this checkout).")
    parser.add_argument("--lines", type=int, default=100_000,
                        help="Claim lines of the batch (default 100,000).")
    parser.add_argument("--phases", action="store_true",
                        help="Also count each step apart: parse, judge, render (3 more runs).")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    sys.path.insert(0, str(HERE))
    from run import FULL, ensure_data

    out = HERE / "out"
    data = ensure_data(out / "data", FULL["lines"], FULL["rules"], FULL["unused_rules"], 1)
    folder = Path(data["folder"])
    policy = folder / "policy.pol"
    claims = out / f"claims_first_{args.lines}.csv"
    with open(folder / "claims.csv", encoding="utf-8") as source, \
            open(claims, "w", encoding="utf-8") as head:
        for _, line in zip(range(args.lines + 1), source, strict=False):
            head.write(line)
    cache = out / "cache"
    print(f"{args.lines:,} lines of {folder / 'claims.csv'}, policy {policy}")
    for tree in args.trees:
        tree = tree.resolve()
        env = {**os.environ, "PYTHONPATH": str(tree)}
        subprocess.run([sys.executable, "-c", _WORKER, str(policy), str(claims), str(cache),
                        "setup"], env=env, cwd=tree, check=True)  # compiles, caches the policy
        total = instructions(tree, policy, claims, cache, "batch")
        setup = instructions(tree, policy, claims, cache, "setup")
        batch = total - setup
        print(f"{tree}: {batch / 1e6:,.0f} M instructions, {batch / args.lines:,.0f} per line")
        if args.phases:
            before = setup
            steps = []
            for step in ("parse", "judge", "render"):
                upto = instructions(tree, policy, claims, cache, step)
                steps.append(f"{step} {(upto - before) / args.lines:,.0f}")
                before = upto
            print("    per line: " + ", ".join(steps))


if __name__ == "__main__":
    main()
