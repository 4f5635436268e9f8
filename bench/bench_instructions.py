"""Instructions per KB of the streaming core, counted by callgrind (deterministic).

Runs ``bench_core.py``'s ``list[Idea]`` (``ideas``) or ``list[Note | Link]`` (``union``)
document in 4-character chunks through ``StreamSession`` (a typed snapshot after every
chunk) under ``valgrind --tool=callgrind --callgrind-out-file=/dev/null`` at two sizes, and
prints the difference of the instruction counts divided by the difference of the sizes
(KiB), so start-up and imports cancel.

Usage: ``PYTHONPATH=<tree>/src python bench/bench_instructions.py [--case ideas]
[--items 50,250]`` (needs valgrind). ``--run N`` is the measured child.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_core  # noqa: E402

CASES = {
    "ideas": (bench_core.document, None),
    "union": (bench_core.union_document, bench_core.UNION_TYPE),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="ideas", choices=sorted(CASES))
    ap.add_argument("--items", default="50,250")
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--run", type=int, help="the measured child: feed one document")
    args = ap.parse_args()
    make, tp = CASES[args.case]
    if args.run is not None:
        chunks = bench_core.chunked(make(args.run), args.chunk)
        if tp is None:
            bench_core.run_schemastream(chunks)
        else:
            bench_core.run_schemastream(chunks, tp)
        return
    small, large = (int(n) for n in args.items.split(","))
    counts = []
    for n in (small, large):
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        cmd += [sys.executable, __file__, "--case", args.case, "--chunk", str(args.chunk)]
        cmd += ["--run", str(n)]
        err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
        match = re.search(r"Collected : (\d+)", err)
        assert match, err[-2000:]
        counts.append(int(match.group(1)))
    kib = (len(make(large).encode()) - len(make(small).encode())) / 1024
    print(
        f"{args.case}: {counts[0]:,} instructions at {small} items, {counts[1]:,} at {large}; "
        f"{(counts[1] - counts[0]) / kib / 1e6:.2f} M instructions/KiB"
    )


if __name__ == "__main__":
    main()
