"""The long fuzz run: `make fuzz N=10000`, or `python -m tests.fuzz.run N [--base B] [--only I ...]`.

Prints the count of every outcome and of every kind of failure, with examples to replay
(`--only` the input numbers shown). Exit status 1 when there was any failure.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.fuzz.harness import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, nargs="?", default=10_000)
    parser.add_argument("--base", type=int, default=0, help="which run: another base, other inputs")
    parser.add_argument("--only", type=int, nargs="*", help="replay these input numbers")
    args = parser.parse_args()
    started = time.perf_counter()
    report = run(args.count, args.base, args.only, progress=True)
    for line in report.lines():
        print(line)
    print(f"time: {time.perf_counter() - started:.0f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
