"""Checks the alerts of a district run through a deployment: every flagged
check (a CheckResult on visit.checks whose outcome is not PASS) of the
district's orders has its alert on alerts.all, and no (order, rule) has two
alerts (the alert-router's promise: one alert per order and rule, also
across a crash). Reads both topics whole, committed records only.

    python deploy/containers/check_alerts.py --brokers HOST:PORT --truth DIR/truth.csv

Prints the counts; exits 1 when an alert is missing or doubled."""

import argparse
import collections
import csv
import sys
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from carewatch_py.avro_single import Registry


def read_topic(brokers, topic, registry, wanted_name):
    """Every record of topic named wanted_name, decoded, up to the end
    offsets at the time of the call."""
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "carewatch-check-alerts-" + uuid.uuid4().hex,
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    try:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        if md.error is not None:
            raise RuntimeError("%s: %s" % (topic, md.error))
        ends = {}
        for p in md.partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.partitions])
        pending = {p for p, high in ends.items() if high > 0}
        records = []
        idle = 0
        while pending and idle < 30:
            msgs = consumer.consume(5000, 1.0)
            idle = 0 if msgs else idle + 1
            for msg in msgs:
                if msg.error() or msg.offset() >= ends[msg.partition()]:
                    continue
                name, value = registry.decode(msg.value() or b"")
                if name == wanted_name:
                    records.append(value)
            # Positions, not offsets seen: a transaction's commit marker is
            # the last offset of a partition and is never delivered.
            for tp in consumer.position([TopicPartition(topic, p) for p in pending]):
                if tp.offset >= ends[tp.partition]:
                    pending.discard(tp.partition)
        if pending:
            raise RuntimeError("%s: partitions %s not read to their end" % (topic, sorted(pending)))
        return records
    finally:
        consumer.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--truth", required=True, help="truth.csv of carewatch simulate")
    args = ap.parse_args(argv)
    with open(args.truth, newline="", encoding="utf-8") as f:
        orders = {row["order_id"] for row in csv.DictReader(f)}
    registry = Registry()
    checks = read_topic(args.brokers, "visit.checks", registry, "CheckResult")
    alerts = read_topic(args.brokers, "alerts.all", registry, "Alert")
    flagged = {(c["order_id"], c["rule"]) for c in checks
               if c["order_id"] in orders and c["outcome"] != "PASS"}
    counts = collections.Counter((a["order_id"], a["rule"]) for a in alerts
                                 if a["order_id"] in orders)
    missing = sorted(flagged - set(counts))
    doubled = sorted(k for k, n in counts.items() if n > 1)
    print("alerts: %d checks of the district's %d orders, %d flagged (order, rule); "
          "%d alerts on alerts.all for %d (order, rule); %d missing, %d doubled"
          % (sum(1 for c in checks if c["order_id"] in orders), len(orders), len(flagged),
             sum(counts.values()), len(counts), len(missing), len(doubled)))
    for order, rule in missing[:20]:
        print("  missing alert: %s %s" % (order, rule))
    for order, rule in doubled[:20]:
        print("  %d alerts: %s %s" % (counts[(order, rule)], order, rule))
    if not flagged:
        print("  no flagged check at all: nothing was judged")
        return 1
    return 1 if missing or doubled else 0


if __name__ == "__main__":
    sys.exit(main())
