"""Corrections on the real stack: ingest, the three checkers, the
ledger-writer and the payment-scheduler (waiting for the ledger's promise,
as in production). An honest visit is finalized VALID; the supervision
desk's OrderCorrection on orders.corrections (produced here with the
project's Avro helpers) makes it INVALID: one correcting entry that names
the original's ledger index, a ledger that still verifies, and the money
moved on the contract's next statement, or, when the contract was settled
already, by a CLAWBACK of its own. A correction of an order not final yet
waits for it. Sending a correction again changes nothing, and neither does
a restart of the payment-scheduler."""

import datetime
import json
import os
import re
import uuid

import pytest
import requests
from confluent_kafka import Producer

from carewatch_py.demo_day import Day
from carewatch_py.topics import read_topics
from conftest import (KAFKA_BROKERS, REGISTRY, Service, allocate_day, free_port, post,
                      wait_until)
from test_ledger_writer import LedgerWriter, as_ms, cli, make_key
from test_payment_scheduler import by_id, ms, plain, publication

UNIT, DEDUCTION = 4000, 18000
LAG = 3


# ---- the services -----------------------------------------------------------------

def scheduler_config(workdir, admin_port, txn):
    return """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin_port}
log:
  level: info
time:
  mode: replay
stream:
  transactional_id: {txn}
  group_id: {txn}
  allowed_lateness_minutes: 30
  batch_wait_ms: 20
  wait_for_ledger: true
report:
  dir: {workdir}/reports
""".format(brokers=KAFKA_BROKERS, admin_port=admin_port, txn=txn, workdir=workdir)


class LedgerScheduler(Service):
    """The payment-scheduler as deployed: statements wait for the ledger."""

    def __init__(self, workdir, txn):
        self.admin_port = free_port()
        self.args = (workdir, txn)
        super().__init__("payment-scheduler", scheduler_config(workdir, self.admin_port, txn),
                         workdir)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port

    def restart(self):
        return LedgerScheduler(*self.args)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server, ingest, checkers):
    """One ledger-writer and one payment-scheduler for the module: the
    scheduler counts one ledger's indexes."""
    workdir = str(tmp_path_factory.mktemp("corrections"))
    signing, public = make_key(workdir)
    writer = LedgerWriter(os.path.join(workdir, "writer"), redis_server.port,
                          "test-corr-" + uuid.uuid4().hex[:8], os.path.join(workdir, "ledger"),
                          signing)
    writer.wait_ready(writer.ready_url)
    payer = LedgerScheduler(os.path.join(workdir, "scheduler"),
                            "test-corr-pay-" + uuid.uuid4().hex[:8])
    payer.wait_ready(payer.ready_url)
    services = {"writer": writer, "payer": payer, "public_key": public}
    yield services
    for name in ("writer", "payer"):
        svc = services[name]
        if svc.proc.poll() is None or not svc.log.closed:
            svc.stop()


# ---- records ----------------------------------------------------------------------

class Visits:
    """An honest visit a day (elder 1 of a scripted day, caregiver CG01 of
    P01) under a contract of the test's own."""

    def __init__(self, ingest, keys, ids, first_day, contract_days, budget_cents):
        self.ingest, self.keys = ingest, keys
        self.day = Day(ids, first_day)
        self.first = datetime.date.fromisoformat(first_day)
        self.contract_id = ids + "K-P01"
        self.end = self.first + datetime.timedelta(days=contract_days - 1)
        post(ingest, keys.registry, "elder", self.day.elders[0])
        post(ingest, keys.registry, "caregiver",
             [c for c in self.day.caregivers if c["caregiver_id"] == ids + "CG01"][0])
        post(ingest, keys.registry, "contract", {
            "contract_id": self.contract_id, "provider_id": ids + "P01",
            "period_start": first_day, "period_end": self.end.isoformat(),
            "budget_cents": budget_cents, "unit_price_cents": UNIT, "prepay_ratio": 0.3,
            "invalid_deduction_cents": DEDUCTION, "publication_lag_days": LAG})

    def visit(self, offset_days):
        """Posts the visit offset_days after the first day; its order id."""
        date = (self.first + datetime.timedelta(days=offset_days)).isoformat()
        oid = "O-D%02d" % offset_days
        post(self.ingest, self.keys.importer, "order",
             self.day._order(oid, 1, "CG01", "09:00", date=date))
        post(self.ingest, self.keys.importer, "check-in",
             self.day._fix(oid, 1, "CG01", "in", "09:02", date=date))
        post(self.ingest, self.keys.importer, "check-out",
             self.day._fix(oid, 1, "CG01", "out", "10:05", date=date))
        return self.day.prefix + oid


def local_ms(day, hours):
    return ms(day, hours)


def correction(order_id, seq, decided_at, status="INVALID"):
    return {"correction_id": "%s:CORRECTION:%s:%d" % (order_id, order_id, seq),
            "order_id": order_id, "status": status, "reason": "CALLBACK_DENIED",
            "case_id": order_id, "decided_by": "street-S01", "decided_at": decided_at,
            "note": "老人电话回访否认服务 the elder denied the visit on the call-back"}


def publish(*corrections):
    producer = Producer({"bootstrap.servers": KAFKA_BROKERS})
    for c in corrections:
        producer.produce("orders.corrections", key=c["order_id"],
                         value=REGISTRY.encode("OrderCorrection", c))
    assert producer.flush(30) == 0


def finalized_entries(prefix):
    """{order_id: [entries by ledger_index]} of the test's orders, each entry
    with its raw bytes; every copy of an entry identical."""
    seen = {}
    for r in read_topics(KAFKA_BROKERS, ["orders.finalized"]):
        if r["name"] != "OrderFinalized" or not r["value"]["order_id"].startswith(prefix):
            continue
        v = plain(r["value"])
        assert seen.setdefault(v["ledger_index"], v) == v, "an entry published differently"
    by_order = {}
    for index in sorted(seen):
        by_order.setdefault(seen[index]["order_id"], []).append(seen[index])
    return by_order


def wait_entries(prefix, predicate, what, timeout=180):
    found = {}

    def done():
        found.clear()
        found.update(finalized_entries(prefix))
        return predicate(found)
    wait_until(done, timeout, what)
    return dict(found)


def payments(prefix):
    """The scheduler's statements and instructions of the test's contracts,
    by id (none published twice)."""
    out = {"payments.statements": [], "payments.instructions": []}
    for r in read_topics(KAFKA_BROKERS, list(out)):
        if r["value"] is not None and r["value"]["contract_id"].startswith(prefix):
            out[r["topic"]].append(plain(r["value"]))
    return (by_id(out["payments.statements"], "statement_id"),
            by_id(out["payments.instructions"], "instruction_id"))


def metric(svc, name, outcome):
    text = requests.get("http://127.0.0.1:%d/metrics" % svc.admin_port, timeout=5).text
    m = re.search(r'^%s\{outcome="%s"\} (\d+)$' % (name, outcome), text, re.M)
    return int(m.group(1)) if m else 0


def statement_day(entry, first_day):
    """The day whose statement counts an entry: the first one on or after
    its service day published after it was finalized (payments.md)."""
    d = max(datetime.date.fromisoformat(entry["service_day"]), first_day)
    while publication(d, LAG) <= entry["finalized_at"]:
        d += datetime.timedelta(days=1)
    return d


def model_statements(by_order, first_day, until_day):
    """{day: (valid, invalid, late_valid, late_invalid)} of the statements of
    days up to until_day, from the entries: a first entry counts its status,
    a correcting one the change from the entry it corrects."""
    counts = {}
    index = {e["ledger_index"]: e for entries in by_order.values() for e in entries}
    for entries in by_order.values():
        for e in entries:
            d = statement_day(e, first_day)
            if d > until_day:
                continue
            late = d != datetime.date.fromisoformat(e["service_day"])
            change = {"VALID": (1, 0), "INVALID": (0, 1), "CANCELLED": (0, 0)}
            now = change[e["status"]]
            if e["corrects_index"] is not None:
                was = change[index[e["corrects_index"]]["status"]]
                now = (now[0] - was[0], now[1] - was[1])
            row = counts.setdefault(d, [0, 0, 0, 0])
            row[2 * late] += now[0]
            row[2 * late + 1] += now[1]
    return {d: tuple(row) for d, row in counts.items() if any(row)}


def check_correcting_entry(original, fixed, c):
    assert fixed["corrects_index"] == original["ledger_index"]
    assert fixed["ledger_index"] > original["ledger_index"]
    assert fixed["correction_id"] == c["correction_id"]
    assert fixed["status"] == c["status"]
    assert fixed["reasons"] == sorted(set(original["reasons"]) | {c["reason"]})
    assert fixed["decided_at"] == c["decided_at"]
    # Never before the decision nor the entry it corrects.
    assert fixed["finalized_at"] >= max(c["decided_at"], original["finalized_at"])
    same = {k: v for k, v in original.items()
            if k not in ("status", "reasons", "finalized_at", "ledger_index", "corrects_index",
                         "correction_id", "decided_at")}
    assert {k: fixed[k] for k in same} == same


def verify_and_prove(stack, order_id, index):
    v = cli("ledger", "verify", stack["writer"].ledger_dir, "--pubkey", stack["public_key"])
    assert v.returncode == 0, v.stdout + v.stderr
    assert "of them correcting entries" in v.stdout, v.stdout
    # A proof once a checkpoint covers the entry: of the order's latest.
    def proved():
        p = cli("ledger", "prove", stack["writer"].ledger_dir, order_id)
        return p.returncode == 0 and json.loads(p.stdout)["leaf_index"] == index
    wait_until(proved, 60, "a proof of %s's entry %d" % (order_id, index))


# ---- the tests ------------------------------------------------------------------------

def test_correction_is_appended_and_adjusts_the_next_statement(ingest, keys, stack, ids):
    first = allocate_day()
    d0 = datetime.date.fromisoformat(first)
    visits = Visits(ingest, keys, ids, first, 14, 12000000)
    honest = visits.visit(0)
    # A visit two days later lets the first be finalized; it is not final
    # itself until a later one comes.
    second = visits.visit(2)
    entries = wait_entries(ids, lambda f: honest in f, "%s finalized" % honest)
    original = entries[honest][0]
    assert original["status"] == "VALID" and original["corrects_index"] is None
    assert second not in entries

    # The street confirms the elder's denial after the day's statement
    # instant; and a correction of the second visit before it is final.
    c1 = correction(honest, 1, local_ms(d0 + datetime.timedelta(days=5), 12))
    c2 = correction(second, 1, local_ms(d0 + datetime.timedelta(days=2), 12))
    publish(c1, c2)
    entries = wait_entries(ids, lambda f: len(f.get(honest, [])) == 2,
                           "the correcting entry of %s" % honest)
    fixed = entries[honest][1]
    check_correcting_entry(original, fixed, c1)
    assert second not in entries, "a correction finalized an order"
    wait_until(lambda: metric(stack["writer"], "carewatch_ledger_corrections_total",
                              "held") >= 1, 60, "the correction of %s to be held" % second)

    # Later visits: the second is final and its held correction follows it.
    visits.visit(9)
    visits.visit(11)
    entries = wait_entries(ids, lambda f: len(f.get(second, [])) == 2,
                           "the held correction of %s" % second)
    assert entries[second][0]["status"] == "VALID"
    check_correcting_entry(entries[second][0], entries[second][1], c2)
    verify_and_prove(stack, honest, fixed["ledger_index"])

    # The statements: the original on its own day's, the correction as a
    # late adjustment on the first statement published after it (and the
    # second visit's correction on its own day's, which it reached in time).
    target = statement_day(fixed, d0)
    assert target > d0
    sid = "%s:%s" % (visits.contract_id, target)
    wait_until(lambda: sid in payments(ids)[0], 180, "statement %s" % sid)
    statements, instructions = payments(ids)
    entries = finalized_entries(ids)
    model = model_statements(entries, d0, target)
    got = {datetime.date.fromisoformat(s["service_day"]):
           (s["valid_orders"], s["invalid_orders"], s["late_valid_orders"],
            s["late_invalid_orders"])
           for s in statements.values() if s["service_day"] <= target.isoformat()}
    assert got == model, (got, model)
    assert got[d0] == (1, 0, 0, 0)
    assert got[target][2:] == (-1, 1), got
    for s in statements.values():
        assert s["gross_cents"] == (s["valid_orders"] + s["late_valid_orders"]) * UNIT
        assert s["deduction_cents"] == (s["invalid_orders"] + s["late_invalid_orders"]) * \
            DEDUCTION

    # The same corrections again, and one that changes nothing (the order
    # is INVALID already): no entry, no money.
    duplicates = metric(stack["writer"], "carewatch_ledger_corrections_total", "duplicate")
    same = metric(stack["writer"], "carewatch_ledger_corrections_total", "same_status")
    publish(c1, c2, correction(honest, 2, local_ms(d0 + datetime.timedelta(days=6), 9)))
    wait_until(lambda: metric(stack["writer"], "carewatch_ledger_corrections_total",
                              "duplicate") >= duplicates + 2
               and metric(stack["writer"], "carewatch_ledger_corrections_total",
                          "same_status") >= same + 1, 60, "the writer to read them")
    visits.visit(13)  # a batch after them, published or not
    wait_entries(ids, lambda f: visits.day.prefix + "O-D11" in f, "the visit of day 11")
    after = finalized_entries(ids)
    assert len(after[honest]) == 2 and len(after[second]) == 2
    assert after[honest][1] == entries[honest][1]
    again, instructions_again = payments(ids)
    assert {k: v for k, v in again.items() if k in statements} == statements
    assert instructions_again == instructions
    stack["writer"].assert_running()


def test_correction_after_the_settlement_is_a_clawback_of_its_own(ingest, keys, stack, ids):
    first = allocate_day()
    d0 = datetime.date.fromisoformat(first)
    # A one-day contract, settled at 00:00 four days later: a budget of 100
    # yuan, prepaid 30 yuan, one valid visit of 40: a SETTLEMENT of 10.
    visits = Visits(ingest, keys, ids, first, 1, 10000)
    honest = visits.visit(0)
    for offset in (2, 6, 8):
        visits.visit(offset)
    settlement = "%s:SETTLEMENT:%s" % (visits.contract_id, first)
    wait_until(lambda: settlement in payments(ids)[1], 180, "the settlement %s" % settlement)
    statements, instructions = payments(ids)
    assert instructions[settlement]["amount_cents"] == UNIT - 3000
    original = finalized_entries(ids)[honest][0]
    assert original["status"] == "VALID"

    c = correction(honest, 1, local_ms(d0 + datetime.timedelta(days=7), 12))
    publish(c)
    entries = wait_entries(ids, lambda f: len(f.get(honest, [])) == 2,
                           "the correcting entry of %s" % honest)
    fixed = entries[honest][1]
    check_correcting_entry(original, fixed, c)
    assert fixed["finalized_at"] >= publication(d0, LAG)
    visits.visit(10)  # moves the payment clock past the correction
    clawback = "%s:CLAWBACK:%s" % (visits.contract_id, c["correction_id"])
    wait_until(lambda: clawback in payments(ids)[1], 180, "instruction %s" % clawback)
    statements, instructions = payments(ids)
    # Paid 40 yuan for it; owes that back and the 180 yuan deduction.
    got = instructions[clawback]
    assert (got["kind"], got["amount_cents"], got["created_at"]) == \
        ("CLAWBACK", UNIT + DEDUCTION, fixed["finalized_at"])
    assert (got["period_start"], got["period_end"]) == (first, first)
    assert set(instructions) == {visits.contract_id + ":PREPAY", settlement, clawback}
    verify_and_prove(stack, honest, fixed["ledger_index"])

    # A restart rebuilds from the topics and publishes nothing again; the
    # correction sent again changes nothing either.
    stack["payer"].stop()
    stack["payer"] = stack["payer"].restart()
    stack["payer"].wait_ready(stack["payer"].ready_url)
    duplicates = metric(stack["writer"], "carewatch_ledger_corrections_total", "duplicate")
    publish(c)
    wait_until(lambda: metric(stack["writer"], "carewatch_ledger_corrections_total",
                              "duplicate") > duplicates, 60, "the writer to read it again")
    visits.visit(12)
    wait_entries(ids, lambda f: visits.day.prefix + "O-D10" in f, "the visit of day 10")
    assert len(finalized_entries(ids)[honest]) == 2
    again_statements, again_instructions = payments(ids)
    assert again_instructions == instructions
    assert {k: v for k, v in again_statements.items() if k in statements} == statements
    stack["payer"].assert_running()


def test_bad_corrections_go_to_the_dead_letters(stack, ids):
    """A record that does not decode, and a correction whose reason is no
    rule code: each to dlq.ledger-writer once, with its reason; nothing is
    appended."""
    bad = correction(ids + "O-X", 1, 1717000000000)
    bad["reason"] = "callback denied"
    producer = Producer({"bootstrap.servers": KAFKA_BROKERS})
    producer.produce("orders.corrections", key=ids + "O-X",
                     value=b"\xc3\x01 not a correction " + ids.encode())
    producer.produce("orders.corrections", key=ids + "O-X",
                     value=REGISTRY.encode("OrderCorrection", bad))
    assert producer.flush(30) == 0

    def dead():
        return [plain(r["value"]) for r in read_topics(KAFKA_BROKERS, ["dlq.ledger-writer"])
                if r["name"] == "DeadLetter" and ids.encode() in r["value"]["payload"]]
    wait_until(lambda: len(dead()) >= 2, 60, "two dead letters")
    letters = sorted(dead(), key=lambda d: d["offset"])
    assert len(letters) == 2
    assert all(d["source_topic"] == "orders.corrections" for d in letters)
    assert letters[0]["reason"].startswith("undecodable")
    assert "reason must be" in letters[1]["reason"]
    assert ids + "O-X" not in finalized_entries(ids)
    stack["writer"].assert_running()
