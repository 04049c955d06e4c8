#!/usr/bin/env python3
"""The historical import's benchmark: a simulated district month of
127,000 orders (the seed district's size) written as a GB18030 export with
Chinese headers, imported end to end through a running stack (ingest with
time.mode replay, the checkers and the ledger-writer), every order waited
for on orders.finalized. Prints rows/s, the posting and total times and the
detection quality against the ground truth.

usage: bench_import.py --ingest URL --key-file FILE --brokers HOST:PORT
           [--month 2024-07] [--elders 31750] [--seed 1] [--workdir DIR]
"""

import argparse
import os
import sys
import tempfile
import time

from carewatch_py import importer, quality
from carewatch_py.simulate import main as simulate_main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--month", default="2024-07")
    ap.add_argument("--elders", type=int, default=31750)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="BENCH-")
    ap.add_argument("--workdir")
    ap.add_argument("--timeout", type=float, default=7200.0)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="carewatch-bench-")
    t0 = time.monotonic()
    rc = simulate_main(["--seed", str(args.seed), "--elders", str(args.elders), "--month",
                        args.month, "--prefix", args.prefix, "--out", work, "--csv",
                        "--encoding", "gb18030", "--headers", "zh"])
    if rc:
        return rc
    generated = time.monotonic() - t0
    opts = importer.parse_args([os.path.join(work, "export.csv"), "--ingest", args.ingest,
                                "--key-file", args.key_file, "--brokers", args.brokers,
                                "--report", os.path.join(work, "report.csv"),
                                "--problems", os.path.join(work, "problems.csv"),
                                "--timeout", str(args.timeout)])
    result = importer.run_import(opts)
    if result.status == 2:
        return 2
    rows = result.export.total
    print("\nbenchmark: %d rows (%d records) generated in %.1f s; posted in %.1f s (%.0f rows/s, "
          "%.0f records/s); every order finalized after %.1f s in all (%.0f rows/s end to end)"
          % (rows, len(result.plan.timeline), generated, result.posted_seconds,
             rows / result.posted_seconds, len(result.plan.timeline) / result.posted_seconds,
             result.total_seconds, rows / result.total_seconds))
    truth = quality.read_truth(os.path.join(work, "truth.csv"))
    q = quality.evaluate(truth, result.finals, "import")
    print("\ndetection quality (import mode):\n" + quality.format_result(q))
    return result.status


if __name__ == "__main__":
    sys.exit(main())
