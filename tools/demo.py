#!/usr/bin/env python3
"""Feeds the scripted district day through ingest, waits for the verdicts,
alerts, finalized orders and payment records and shows what carewatch
caught. Run by deploy/local/run, which starts the stack and the services.

usage: demo.py --ingest URL --brokers HOST:PORT --registry-key K --importer-key K
"""

import argparse
import collections
import os
import sys
import time

from carewatch_py import desk_demo
from carewatch_py.demo_day import Day, EXPECTED
from carewatch_py.ingest_client import IngestClient
from carewatch_py.topics import read_topics

TOPICS = ["ref.elders", "ref.caregivers", "ref.contracts", "orders.assigned", "visit.events",
          "visit.checks", "caregiver.status", "alerts.all", "orders.finalized",
          "ledger.checkpoints", "payments.statements", "payments.instructions"]
LOG_ID = "carewatch-local"
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
    post_all(client, registry_key, "elder-status", day.elder_statuses)
    post_all(client, importer_key, "order", day.orders)
    # The visit events go in one NDJSON batch, as a dispatch system would send them.
    r = client.batch(importer_key, [dict(body, type=kind) for kind, body in day.events])
    if r.status_code != 200:
        sys.exit("batch failed: %s %s" % (r.status_code, r.text))
    summary = r.json()
    post_all(client, importer_key, "order", [day.closing_order])
    for kind, body in day.closing + day.evidence:
        post_all(client, importer_key, kind, [body])
    post_all(client, importer_key, "order", [day.week_later_order])
    for kind, body in day.week_later:
        post_all(client, importer_key, kind, [body])
    return summary


def report_fed(day, summary):
    print("fed %d elders, %d caregivers, %d contracts, %d orders, %d visit events "
          "(batch: %d accepted, %d duplicates, %d rejected), then a closing visit two days later, "
          "%d evidence records, a visit a week later and one a day after, and visits in the "
          "next month that close the month for UNDER_SERVED"
          % (len(day.elders), len(day.caregivers), len(day.contracts), len(day.orders),
             len(day.events), summary["accepted"], summary["duplicates"], summary["rejected"],
             len(day.evidence)))


def feed_last(client, day, importer_key):
    """The last visit moves event time on once the day's orders are final,
    so that the payment clock passes the day's statement after all of them;
    the month-closing visits (close_month) move it past the month's
    UNDER_SERVED cutoff."""
    post_all(client, importer_key, "order", [day.last_order])
    for kind, body in day.last:
        post_all(client, importer_key, kind, [body])


def close_month(client, brokers, day, importer_key, timeout):
    """Posts the month-closing visits and shows the day's elders' month
    once the payment-scheduler has judged it (UNDER_SERVED). Whether it did
    within the timeout."""
    post_all(client, importer_key, "order", [day.month_close_order])
    for kind, body in day.month_close:
        post_all(client, importer_key, kind, [body])
    wanted = {subject for subject, _ in day.expected_month()}
    deadline = time.monotonic() + timeout
    while True:
        got = {r["value"]["order_id"]: r["value"] for r in read_topics(brokers, ["visit.checks"])
               if r["key"] in wanted and r["name"] == "CheckResult"
               and r["value"]["rule"] == "UNDER_SERVED"}
        if set(got) == wanted or time.monotonic() > deadline:
            break
        time.sleep(1.5)
    flagged = [c for _, c in sorted(got.items()) if c["outcome"] != "PASS"]
    print("\nthe month %s judged (UNDER_SERVED, per elder): %d of %d elders under-served"
          % (day.month, len(flagged), len(got)))
    for c in flagged:
        print("  %-7s %-18s order %-11s subject %-14s %.2f %s of %s"
              % (c["outcome"], c["rule"], c["order_id"], c["order_id"], c["measured"], c["unit"],
                 "-" if c["threshold"] is None else "%d" % c["threshold"]))
    return set(got) == wanted


def demo_keys(day):
    """The Kafka keys of the demo's own records (entity, caregiver and order
    ids): other users of the same stack, the tests among them, leave records
    of their own on the topics."""
    keys = {e["elder_id"] for e in day.elders} | {c["caregiver_id"] for c in day.caregivers}
    keys |= {k["contract_id"] for k in day.contracts} | {o["order_id"] for o in day.orders}
    keys |= {subject for subject, _ in day.expected_month()}
    keys |= {body["order_id"] for kind, body in day.month_close if kind == "order"}
    return keys | {day.closing_order["order_id"], day.week_later_order["order_id"],
                   day.last_order["order_id"], day.month_close_order["order_id"], LOG_ID}


def is_mine(record, mine, contracts):
    if record["topic"].startswith("payments."):
        return record["value"] is not None and record["value"]["contract_id"] in contracts
    return record["key"] in mine


def wait_final(brokers, day, timeout):
    """Waits until every order of the day is on orders.finalized. Whether
    they all came in time."""
    mine = demo_keys(day)
    wanted = set(day.expected_final())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        final = {r["value"]["order_id"] for r in read_topics(brokers, ["orders.finalized"])
                 if r["key"] in mine and r["value"] is not None}
        if wanted <= final:
            return True
        time.sleep(1.0)
    return False


def collect(brokers, day, timeout):
    """The demo's records once the services are through the day (or the
    timeout passed): waits for the last timer verdicts, every order
    finalized and the day's statements, then for quiet."""
    mine = demo_keys(day)
    contracts = {k["contract_id"] for k in day.contracts}
    deadline = time.monotonic() + timeout
    last_count = -1
    while True:
        records = [r for r in read_topics(brokers, TOPICS) if is_mine(r, mine, contracts)]
        seen = {(day.unprefix(c["value"]["check_id"].rsplit(":", 1)[0]), c["value"]["rule"])
                for c in records if c["name"] == "CheckResult"}
        final = {r["value"]["order_id"] for r in records if r["name"] == "OrderFinalized"}
        statements = {r["value"]["contract_id"] for r in records if r["name"] == "DailyStatement"}
        done = (LAST_TO_COME <= seen and set(day.expected_final(after_last=True)) <= final
                and statements == contracts and len(records) == last_count)
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
    show_alerts(records)
    show_finalized(records)
    show_payments(records)
    return checks


def show_alerts(records):
    alerts = {r["value"]["alert_id"]: r["value"] for r in records if r["name"] == "Alert"}
    print("\nalerts (each on alerts.all and alerts.street.<street>; red also on alerts.command):")
    print("  %-8s %6s %6s %6s" % ("street", "YELLOW", "ORANGE", "RED"))
    by_street = collections.defaultdict(collections.Counter)
    for a in alerts.values():
        by_street[a["street_id"]][a["colour"]] += 1
    for street in sorted(by_street):
        n = by_street[street]
        print("  %-8s %6d %6d %6d" % (street, n["YELLOW"], n["ORANGE"], n["RED"]))
    by_rule = collections.Counter((a["colour"], a["rule"]) for a in alerts.values())
    for (colour, rule), n in sorted(by_rule.items()):
        print("    %-7s %-19s %3d" % (colour, rule, n))
    command = [a for a in alerts.values() if a["colour"] == "RED"]
    if command:
        print("  to the district command: %s" % ", ".join(
            sorted("%s %s" % (a["order_id"], a["rule"]) for a in command)))


def show_finalized(records):
    finals = {}
    for r in records:
        if r["name"] == "OrderFinalized":
            finals.setdefault(r["value"]["order_id"], r["value"])  # republished copies are equal
    valid = sum(1 for f in finals.values() if f["status"] == "VALID")
    print("\nfinalized orders (orders.finalized, each one ledger entry): %d valid, %d invalid"
          % (valid, len(finals) - valid))
    for f in sorted(finals.values(), key=lambda f: f["ledger_index"]):
        print("  final %-7s %-12s #%-4d %s" % (f["status"], f["order_id"], f["ledger_index"],
                                              ",".join(f["reasons"]) or "-"))
    checkpoints = [r["value"] for r in records if r["name"] == "LedgerCheckpoint"]
    if checkpoints:
        last = max(checkpoints, key=lambda c: c["tree_size"])
        print("  ledger %s: %d entries, %s root %s (checkpoint signed by key %s)"
              % (last["log_id"], last["tree_size"], last["hash_alg"], last["root_hash"].hex(),
                 last["key_id"]))


def yuan(cents):
    return "%d.%02d" % divmod(cents, 100) if cents >= 0 else "-" + yuan(-cents)


def show_payments(records):
    statements = {r["value"]["statement_id"]: r["value"] for r in records
                  if r["name"] == "DailyStatement"}
    instructions = {r["value"]["instruction_id"]: r["value"] for r in records
                    if r["name"] == "PaymentInstruction"}
    print("\npayments:")
    for i in sorted(instructions.values(), key=lambda i: i["instruction_id"]):
        print("  instruction %-10s %-26s %12s yuan" % (i["kind"], i["instruction_id"],
                                                       yuan(i["amount_cents"])))
    for st in sorted(statements.values(), key=lambda s: s["statement_id"]):
        print("  statement %-26s valid %2d invalid %2d gross %10s deduction %10s"
              % (st["statement_id"], st["valid_orders"], st["invalid_orders"],
                 yuan(st["gross_cents"]), yuan(st["deduction_cents"])))
    if not statements:
        print("  no daily statement yet")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--registry-key", required=True)
    ap.add_argument("--importer-key", required=True)
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds to wait for the services (default 120)")
    ap.add_argument("--date", default=os.environ.get("CW_DEMO_DATE", "2024-05-20"),
                    help="the scripted day's date (default $CW_DEMO_DATE or 2024-05-20)")
    ap.add_argument("--prefix", default=os.environ.get("CW_DEMO_PREFIX", ""),
                    help="put in front of every id of the day, providers included (default "
                         "$CW_DEMO_PREFIX or none)")
    ap.add_argument("--desk", metavar="URL",
                    help="after the day was fed: work the day's cases at the supervision desk "
                         "with --street-key (street S01) and --command-key")
    ap.add_argument("--street-key")
    ap.add_argument("--command-key")
    ap.add_argument("--close-month", action="store_true",
                    help="after the day was fed (and whatever came after it): post visits "
                         "past the day's month and show its UNDER_SERVED verdicts")
    args = ap.parse_args()
    day = Day(prefix=args.prefix, date=args.date)
    client = IngestClient(args.ingest)
    if args.desk:
        if not (args.street_key and args.command_key):
            ap.error("--desk needs --street-key and --command-key")
        orders = {o["order_id"] for o in day.orders}
        if not desk_demo.run(args.desk, args.street_key, args.command_key, args.brokers,
                             day.date, orders,
                             (day.prefix + "O-SCHED-B", day.prefix + "O-VOICE"), args.timeout):
            sys.exit("the supervision desk step did not complete")
        return
    if args.close_month:
        if not close_month(client, args.brokers, day, args.importer_key, args.timeout):
            sys.exit("the month was not judged within %.0f s" % args.timeout)
        return
    summary = feed(client, day, args.registry_key, args.importer_key)
    report_fed(day, summary)
    if not wait_final(args.brokers, day, args.timeout):
        print("not every order of the day was finalized within %.0f s" % args.timeout)
    feed_last(client, day, args.importer_key)
    records, done = collect(args.brokers, day, args.timeout)
    checks = show(records)
    if not done:
        sys.exit("the services did not finish the day within %.0f s" % args.timeout)
    judged = {(day.unprefix(c["check_id"].rsplit(":", 1)[0]), c["rule"])
              for c in checks.values()}
    missed = [k for k in EXPECTED if k not in judged]
    if missed:
        print("\nnot judged: %s" % ", ".join("%s %s" % k for k in sorted(missed)))


if __name__ == "__main__":
    main()
