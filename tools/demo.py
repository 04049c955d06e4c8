#!/usr/bin/env python3
"""Feeds the scripted district day through ingest, waits for the checkers'
verdicts and shows what carewatch caught. Run by deploy/local/run, which
starts the stack and the services.

usage: demo.py --ingest URL --brokers HOST:PORT --registry-key K --importer-key K
"""

import argparse
import collections
import os
import sys
import time

from carewatch_py.demo_day import Day, EXPECTED
from carewatch_py.ingest_client import IngestClient
from carewatch_py.topics import read_topics

TOPICS = ["ref.elders", "ref.caregivers", "ref.contracts", "orders.assigned", "visit.events",
          "visit.checks", "caregiver.status"]
# Verdicts whose timers the closing visit fires: their arrival means the
# checkers have worked through the day.
LAST_TO_COME = {("O-NOSHOW", "NO_SHOW"), ("O-NOOUT-in", "NO_CHECKOUT"),
                ("O-VOVL-B-in", "VISIT_OVERLAP")}
COLOURS = ["PASS", "YELLOW", "ORANGE", "RED"]


def post_all(client, key, kind, bodies):
    for body in bodies:
        r = client.submit(kind, key, body)
        if r.status_code not in (200, 202):
            sys.exit("ingest refused a %s: %s %s" % (kind, r.status_code, r.text))


def feed(client, day, registry_key, importer_key):
    post_all(client, registry_key, "elder", day.elders)
    post_all(client, registry_key, "caregiver", day.caregivers)
    post_all(client, registry_key, "contract", day.contracts)
    post_all(client, importer_key, "order", day.orders)
    # The visit events go in one NDJSON batch, as a dispatch system would send them.
    r = client.batch(importer_key, [dict(body, type=kind) for kind, body in day.events])
    if r.status_code != 200:
        sys.exit("batch failed: %s %s" % (r.status_code, r.text))
    summary = r.json()
    post_all(client, importer_key, "order", [day.closing_order])
    for kind, body in day.closing:
        post_all(client, importer_key, kind, [body])
    print("fed %d elders, %d caregivers, %d contracts, %d orders, %d visit events "
          "(batch: %d accepted, %d duplicates, %d rejected), then a closing visit two days later"
          % (len(day.elders), len(day.caregivers), len(day.contracts), len(day.orders),
             len(day.events), summary["accepted"], summary["duplicates"], summary["rejected"]))


def demo_keys(day):
    """The Kafka keys of the demo's own records (entity, caregiver and order
    ids): other users of the same stack, the tests among them, leave records
    of their own on the topics."""
    keys = {e["elder_id"] for e in day.elders} | {c["caregiver_id"] for c in day.caregivers}
    keys |= {k["contract_id"] for k in day.contracts} | {o["order_id"] for o in day.orders}
    return keys | {day.closing_order["order_id"]}


def collect(brokers, day, timeout):
    """The demo's records once the checkers are through the day (or the
    timeout passed): waits for the last timer verdicts, then for quiet."""
    mine = demo_keys(day)
    deadline = time.monotonic() + timeout
    last_count = -1
    while True:
        records = [r for r in read_topics(brokers, TOPICS) if r["key"] in mine]
        seen = {(c["value"]["check_id"].rsplit(":", 1)[0], c["value"]["rule"])
                for c in records if c["name"] == "CheckResult"}
        done = LAST_TO_COME <= seen and len(records) == last_count
        if done or time.monotonic() > deadline:
            return records, done
        last_count = len(records)
        time.sleep(1.5)


def show(records):
    counts = collections.Counter(r["topic"] for r in records)
    print("\nrecords on the topics:")
    for topic in TOPICS:
        print("  %-18s %5d" % (topic, counts.get(topic, 0)))
    undecodable = [r for r in records if r["error"] is not None]
    for r in undecodable:
        print("  undecodable: %s partition %d offset %d: %s"
              % (r["topic"], r["partition"], r["offset"], r["error"]))

    checks = {}
    for r in records:
        if r["name"] == "CheckResult":
            checks[r["value"]["check_id"]] = r["value"]  # a re-emitted check counts once
    table = collections.defaultdict(collections.Counter)
    for c in checks.values():
        table[(c["checker"], c["rule"])][c["outcome"]] += 1
    print("\nverdicts by rule (each check-in, check-out and order is judged by every rule "
          "that applies to it):")
    print("  %-17s %-19s %6s %6s %6s %6s" % ("checker", "rule", *COLOURS))
    for (checker, rule) in sorted(table):
        n = table[(checker, rule)]
        print("  %-17s %-19s %6d %6d %6d %6d" % (checker, rule, *(n[c] for c in COLOURS)))

    flagged = sorted((c for c in checks.values() if c["outcome"] != "PASS"),
                     key=lambda c: (c["order_id"], c["rule"]))
    print("\nflagged: %d of %d verdicts" % (len(flagged), len(checks)))
    for c in flagged:
        measured = "" if c["measured"] is None else "%.2f %s" % (c["measured"], c["unit"])
        subject = c["check_id"].rsplit(":", 1)[0]
        print("  %-7s %-18s order %-11s subject %-14s %s"
              % (c["outcome"], c["rule"], c["order_id"], subject, measured))

    frozen = [r["value"] for r in records if r["topic"] == "caregiver.status"
              and r["value"]["status"] == "FROZEN"]
    print("\nfrozen caregivers:")
    for s in {s["caregiver_id"]: s for s in frozen}.values():
        print("  %-6s %s" % (s["caregiver_id"], s["reason"]))
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--registry-key", required=True)
    ap.add_argument("--importer-key", required=True)
    ap.add_argument("--timeout", type=float, default=90.0,
                    help="seconds to wait for the checkers (default 90)")
    ap.add_argument("--date", default=os.environ.get("CW_DEMO_DATE", "2024-05-20"),
                    help="the scripted day's date (default $CW_DEMO_DATE or 2024-05-20)")
    args = ap.parse_args()
    day = Day(date=args.date)
    feed(IngestClient(args.ingest), day, args.registry_key, args.importer_key)
    records, done = collect(args.brokers, day, args.timeout)
    checks = show(records)
    if not done:
        sys.exit("the checkers did not finish the day within %.0f s" % args.timeout)
    missed = [k for k in EXPECTED if k not in {(c["check_id"].rsplit(":", 1)[0], c["rule"])
                                               for c in checks.values()}]
    if missed:
        print("\nnot judged: %s" % ", ".join("%s %s" % k for k in sorted(missed)))


if __name__ == "__main__":
    main()
