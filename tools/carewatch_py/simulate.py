"""carewatch simulate: a simulated district with fraud injected at chosen
rates, its ground truth, optionally its historical export, optionally fed
through ingest.

    python -m carewatch_py.simulate --seed 7 --month 2024-05 --out DIR
        [--streets 18 --communities 212 --elders 31750 --providers 6]
        [--start 2024-05-01 --days 31] [--rates no_show=0.05,short=0.05,...]
        [--csv [FILE] --encoding utf-8|utf-8-sig|gb18030 --headers en|zh --broken N]
        [--feed URL --key-file FILE [--rate N] [--brokers HOST:PORT --timeout S]
         [--desk URL --street-keys S01=KEY,S02=KEY,...]]

DIR/district.ndjson  every API body (with its "type") in posting order:
                     elders, caregivers, contracts; then orders (each a day
                     before its start), check-ins, check-outs and evidence
                     by time (back-filled check-outs late); last a closing
                     check-in five days after the period
DIR/truth.csv        one row per order: order_id, provider_id, caregiver_id,
                     elder_id, service_day, fraud (honest or the type),
                     rules (what it must trip fed live), may_also, status
                     (VALID / INVALID), import_rules, import_status (the
                     same for its historical export), evidence
DIR/export.csv       with --csv: the period as a historical export
DIR/broken.csv       with --broken: line, kind and order id of each broken row
With --desk the street offices then work the supervision desk's call-backs
(the elders answer as the truth says: a phantom visit is denied) and the
quality table gains the call-back row.
The same seed and options give identical files.
"""

import argparse
import calendar
import csv
import datetime
import json
import os
import sys

from . import callbacks, histcsv, quality
from .district import DEFAULT_RATES, District, parse_rates
from .feed import Feeder, FeedError
from .finalized import read_finals
from .importer import read_key
from .progress import Progress

TRUTH_COLUMNS = ("order_id", "provider_id", "caregiver_id", "elder_id", "service_day", "fraud",
                 "rules", "may_also", "status", "import_rules", "import_status", "evidence")


def write_ndjson(path, records):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_truth(path, truth):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, TRUTH_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(truth)


def period(args):
    if args.start:
        return args.start, args.days or 31
    year, month = map(int, args.month.split("-"))
    return datetime.date(year, month, 1).isoformat(), args.days or calendar.monthrange(year, month)[1]


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="carewatch simulate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--streets", type=int, default=18)
    ap.add_argument("--communities", type=int, help="default 212, or 12 a street if fewer streets")
    ap.add_argument("--elders", type=int, default=31750,
                    help="default 31750 (4 visits each: 127,000 orders a month)")
    ap.add_argument("--providers", type=int, default=6)
    ap.add_argument("--month", default="2024-05", help="YYYY-MM (default 2024-05)")
    ap.add_argument("--start", help="first day YYYY-MM-DD (instead of --month)")
    ap.add_argument("--days", type=int, help="days from --start (default: the month's)")
    ap.add_argument("--rates", default="",
                    help="fraud rates, e.g. no_show=0.05,short=0.1 (defaults: %s)"
                         % ",".join("%s=%g" % kv for kv in DEFAULT_RATES.items()))
    ap.add_argument("--prefix", default="SIM-", help="put in front of every entity id (default SIM-)")
    ap.add_argument("--out", required=True, help="directory for the files")
    ap.add_argument("--csv", nargs="?", const="", default=None, metavar="FILE",
                    help="also write the historical export (default DIR/export.csv)")
    ap.add_argument("--encoding", default="utf-8", help="utf-8 (default), utf-8-sig or gb18030")
    ap.add_argument("--headers", choices=("en", "zh"), default="en",
                    help="column headers: en (carewatch's names, RFC 3339 times) or zh "
                         "(Chinese, local times as Excel writes them)")
    ap.add_argument("--broken", type=int, default=0, help="malformed rows to add to the export")
    ap.add_argument("--feed", metavar="URL", help="post everything through ingest at URL")
    ap.add_argument("--key", help="importer key for --feed (or --key-file, or $CW_IMPORTER_KEY)")
    ap.add_argument("--key-file")
    ap.add_argument("--rate", type=float, help="records per second (default: as fast as possible)")
    ap.add_argument("--brokers", help="after --feed, wait for every order on orders.finalized "
                                      "and print the detection quality")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--desk", metavar="URL", help="after --brokers: work every street's call-backs "
                                                   "at the supervision desk at URL")
    ap.add_argument("--street-keys", default="",
                    help="with --desk: the street offices' keys, S01=KEY,S02=KEY,...")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        rates = parse_rates(args.rates)
        start, days = period(args)
        communities = args.communities or min(212, 12 * args.streets)
        district = District(seed=args.seed, streets=args.streets, communities=communities,
                            elders=args.elders, providers=args.providers, start=start, days=days,
                            rates=rates, prefix=args.prefix)
    except ValueError as e:
        sys.stderr.write("carewatch simulate: %s\n" % e)
        return 2
    os.makedirs(args.out, exist_ok=True)
    records = district.records()
    write_ndjson(os.path.join(args.out, "district.ndjson"), records)
    write_truth(os.path.join(args.out, "truth.csv"), district.truth)
    counts = district.counts()
    print("district: %d streets, %d communities, %d elders, %d caregivers, %d contracts, "
          "%d orders from %s for %d days; %d records"
          % (len(district.streets), len(district.communities), len(district.elders),
             len(district.caregivers), len(district.contracts()), len(district.orders), start,
             days, len(records)))
    print("orders by fraud: " + ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts)))
    if args.csv is not None:
        path = args.csv or os.path.join(args.out, "export.csv")
        marks = histcsv.write_export(district, path, args.encoding, args.headers, args.broken)
        print("export: %s (%s, %s headers, %d rows, %d broken)"
              % (path, args.encoding, args.headers, len(district.orders) + len(marks), len(marks)))
        if marks:
            with open(os.path.join(args.out, "broken.csv"), "w", encoding="utf-8",
                      newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["line", "kind", "order_id"])
                w.writerows(marks)
    if not args.feed:
        return 0
    try:
        key = read_key(args.key, args.key_file)
    except (OSError, ValueError) as e:
        sys.stderr.write("carewatch simulate: %s\n" % e)
        return 2
    progress = Progress(len(records), "fed", "records")
    try:
        results = Feeder(args.feed, key, rate=args.rate, progress=progress).post(records)
    except FeedError as e:
        sys.stderr.write("carewatch simulate: %s\n" % e)
        return 1
    progress.close()
    refused = [(r, res) for r, res in zip(records, results) if not res.ok]
    print("fed %d records: %d refused" % (len(records), len(refused)))
    for r, res in refused[:20]:
        print("  refused %s %s: %s" % (r["type"], r.get("event_id") or r.get("order_id") or
                                       r.get("elder_id") or r.get("caregiver_id") or
                                       r.get("contract_id"), res.describe()))
    if not args.brokers:
        return 1 if refused else 0
    progress = Progress(len(district.truth), "finalized", "orders")
    finals = read_finals(args.brokers, [t["order_id"] for t in district.truth], args.timeout,
                         progress)
    progress.close()
    result = quality.evaluate(district.truth, finals, "feed")
    if args.desk:
        street_of_elder = {e["elder_id"]: district.streets[e["street"]]["street_id"]
                           for e in district.elders}
        try:
            worked = callbacks.work(args.desk, callbacks.parse_street_keys(args.street_keys),
                                    district.truth, street_of_elder, args.brokers, args.timeout)
        except (callbacks.DeskError, ValueError) as e:
            sys.stderr.write("carewatch simulate: call-backs: %s\n" % e)
            return 1
        quality.add_callbacks(result, district.truth, worked)
    print(quality.format_result(result))
    return 0 if quality.ok(result) and not refused else 1


if __name__ == "__main__":
    sys.exit(main())
