#!/usr/bin/env python3
"""Feeds the scripted district day through ingest and shows what landed on
the topics. Run by deploy/local/run, which starts the stack and services.

usage: demo.py --ingest URL --brokers HOST:PORT --registry-key K --importer-key K
"""

import argparse
import collections
import sys

from carewatch_py import demo_day
from carewatch_py.ingest_client import IngestClient
from carewatch_py.topics import read_topics

TOPICS = ["ref.elders", "ref.caregivers", "ref.contracts", "orders.assigned", "visit.events",
          "visit.checks", "caregiver.status"]


def post_all(client, key, kind, bodies):
    for body in bodies:
        r = client.submit(kind, key, body)
        if r.status_code not in (200, 202):
            sys.exit("ingest refused a %s: %s %s" % (kind, r.status_code, r.text))


def feed(client, registry_key, importer_key):
    elders, caregivers, contracts = demo_day.registry()
    post_all(client, registry_key, "elder", elders)
    post_all(client, registry_key, "caregiver", caregivers)
    post_all(client, registry_key, "contract", contracts)
    post_all(client, importer_key, "order", demo_day.orders())
    events = demo_day.visit_events()
    # The visit events go in one NDJSON batch, as a dispatch system would send them.
    r = client.batch(importer_key, [dict(body, type=kind) for kind, body in events])
    if r.status_code != 200:
        sys.exit("batch failed: %s %s" % (r.status_code, r.text))
    summary = r.json()
    print("fed %d elders, %d caregivers, %d contracts, %d orders, %d visit events "
          "(batch: %d accepted, %d duplicates, %d rejected)"
          % (len(elders), len(caregivers), len(contracts), len(demo_day.ORDERS), len(events),
             summary["accepted"], summary["duplicates"], summary["rejected"]))


def demo_keys():
    """The Kafka keys of the demo's own records (entity, caregiver and order
    ids): other users of the same stack, the tests among them, leave records
    of their own on the topics."""
    elders, caregivers, contracts = demo_day.registry()
    keys = {e["elder_id"] for e in elders} | {c["caregiver_id"] for c in caregivers}
    keys |= {k["contract_id"] for k in contracts} | {o["order_id"] for o in demo_day.orders()}
    return keys


def show(brokers):
    mine = demo_keys()
    records = [r for r in read_topics(brokers, TOPICS) if r["key"] in mine]
    counts = collections.Counter(r["topic"] for r in records)
    print("\nrecords on the topics:")
    for topic in TOPICS:
        print("  %-18s %5d" % (topic, counts.get(topic, 0)))
    undecodable = [r for r in records if r["error"] is not None]
    for r in undecodable:
        print("  undecodable: %s partition %d offset %d: %s"
              % (r["topic"], r["partition"], r["offset"], r["error"]))
    checks = [r["value"] for r in records if r["name"] == "CheckResult"]
    flagged = sorted((c for c in checks if c["outcome"] != "PASS"),
                     key=lambda c: (c["order_id"], c["rule"]))
    print("\nintake checks: %d judged, %d flagged" % (len(checks), len(flagged)))
    for c in flagged:
        measured = "" if c["measured"] is None else "%.2f %s" % (c["measured"], c["unit"])
        print("  %-7s %-18s order %-9s event %-12s %s"
              % (c["outcome"], c["rule"], c["order_id"], c["event_id"], measured))
    return records


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--registry-key", required=True)
    ap.add_argument("--importer-key", required=True)
    args = ap.parse_args()
    client = IngestClient(args.ingest)
    feed(client, args.registry_key, args.importer_key)
    show(args.brokers)


if __name__ == "__main__":
    main()
