"""Loading CMS edit tables: the shipped PTP subset, and a generated 1,000,000-row PTP file.

Floors (issue 3): the 10,610-row pain-management PTP subset (7,635 active edits) loads in under
1 s; a 1,000,000-row file in CMS's published layout loads in under 20 s and under 1 GB.

    python benchmarks/tables.py                 # both, 1,000,000 generated rows
    python benchmarks/tables.py --rows 200000   # a smaller generated file

Each load runs in a fresh process, so the peak resident memory reported is that load's own.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBSET = ROOT / "policies" / "medicare" / "ncci" / "ptp_practitioner_pain_2024q2.tsv"
LAYOUT_SAMPLE = ROOT / "tests" / "data" / "cms" / "ncci_ptp_practitioner_layout_sample.txt"
OUT = ROOT / "benchmarks" / "out"

RATIONALES = ["CPT Manual or CMS manual coding instruction",
              "Misuse of Column Two code with Column One code",
              "Standards of medical/surgical practice", "Mutually exclusive procedures"]


def generate(rows: int, path: Path, seed: int = 7) -> None:
    """A PTP file in CMS's published layout (header block, tabs, CRLF) with ``rows`` edits."""
    rng = random.Random(seed)
    header = LAYOUT_SAMPLE.read_text().splitlines()[:6]
    codes = ([f"{i:05d}" for i in range(10000, 99999, 7)]
             + [f"J{i:04d}" for i in range(0, 9999, 13)]
             + [f"{i:04d}T" for i in range(100, 999)])
    quarters = [f"{y}{m:02d}01" for y in range(1996, 2026) for m in (1, 4, 7, 10)]
    column1 = sorted(rng.sample(codes, 4000))
    written = 0
    with path.open("w", newline="\r\n") as out:
        out.write("\n".join(header) + "\n")
        while written < rows:
            for c1 in column1:
                for c2 in sorted(rng.sample(codes, 50)):
                    effective = rng.choice(quarters)
                    deleted = "*" if rng.random() < 0.7 else max(effective, rng.choice(quarters))
                    indicator = rng.choices("019", weights=(25, 72, 3))[0]
                    out.write(f"{c1}\t{c2}\t\t{effective}\t{deleted}\t{indicator}\t"
                              f"{rng.choice(RATIONALES)}\n")
                    written += 1
                    if written == rows:
                        return


def load_once(path: str) -> None:
    """In a child process: load the table, print seconds, rules and peak RSS as JSON."""
    from policydsl.model import RuleInfo
    from policydsl.tables import load_table

    info = RuleInfo(id="bench/ptp", action="deny", carc="", message="", source="bench.pol:1:1")
    start = time.perf_counter()
    rules = load_table("ptp", Path(path), info=info, display_path=path)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rules": len(rules), "peak_mib": peak_kib / 1024}))


def measure(path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--load-once", str(path)],
                          capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated file")
    parser.add_argument("--load-once", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_once:
        load_once(args.load_once)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    generated = OUT / f"ptp_{args.rows}.txt"
    if not generated.exists():
        generate(args.rows, generated)
    rows = [("pain subset (10,610 rows)", SUBSET, 1.0, None),
            (f"generated CMS layout ({args.rows:,} rows)", generated, 20.0, 1024.0)]
    print(f"{'file':<40} {'rules':>9} {'seconds':>8} {'peak MiB':>9}  floor")
    for label, path, max_seconds, max_mib in rows:
        got = measure(path)
        floor = f"< {max_seconds:g} s" + (f", < {max_mib:g} MiB" if max_mib else "")
        ok = got["seconds"] < max_seconds and (max_mib is None or got["peak_mib"] < max_mib)
        print(f"{label:<40} {got['rules']:>9,} {got['seconds']:>8.2f} {got['peak_mib']:>9.0f}"
              f"  {floor}: {'meets' if ok else 'MISSES'}")


if __name__ == "__main__":
    main()
