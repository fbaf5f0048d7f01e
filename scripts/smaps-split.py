#!/usr/bin/env python3
"""Resident memory of a process by what it is: a /proc/<pid>/smaps copy summed per mapping (shared library, anonymous
memory, the heap), largest first. BENCH_SMAPS=<file> makes Repro.Bench and bench-train.py write one before their first
timed step (docs/benchmarks.md, "Peak RSS at 32 and 64 px").

    scripts/smaps-split.py repro.smaps [pytorch.smaps]   # MB per mapping, side by side
"""
import os
import re
import sys
from collections import defaultdict


def split(path):
    rss = defaultdict(int)
    name = None
    with open(path) as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split(None, 5)
                name = os.path.basename(parts[5].strip()) if len(parts) > 5 and parts[5].strip() else "[anonymous]"
                name = re.sub(r"\.so[.0-9]*$", ".so", re.sub(r"-[0-9a-f]{8}(?=\.so)", "", name))
            elif line.startswith("Rss:"):
                rss[name] += int(line.split()[1])
    return rss


def main():
    sides = [split(p) for p in sys.argv[1:]]
    names = sorted({n for s in sides for n in s}, key=lambda n: -max(s.get(n, 0) for s in sides))
    print("| mapping | " + " | ".join(os.path.basename(p) for p in sys.argv[1:]) + " |")
    print("|---|" + "---:|" * len(sides))
    print("| **total** | " + " | ".join(f"{sum(s.values()) / 1024:.0f}" for s in sides) + " |")
    for n in names:
        if max(s.get(n, 0) for s in sides) >= 1024:
            print(f"| {n} | " + " | ".join(f"{s.get(n, 0) / 1024:.0f}" for s in sides) + " |")


if __name__ == "__main__":
    main()
