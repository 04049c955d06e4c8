"""An order's maintenance on the real stack (docs/maintenance.md): cancel,
reschedule and reassign through ingest with a provider's key, the street's
approval of a change asked for after the scheduled start, and what the
checkers, the alert-router, the ledger-writer and a payment run make of it:
a cancel before the start is CANCELLED with its reason, fires no NO_SHOW
and is neither paid nor deducted; one after the start stands unapproved
(NO_SHOW, INVALID) and is CANCELLED once the street approves it; a
rescheduled order is judged at its new time (and into an overlap, as one);
a reassigned order is the new caregiver's. Then ingest's Redis lost and
rebuilt from Kafka gives the same state.

Every day is scripted in replay time: a change's receipt time is the
stream clock, the largest event time posted so far, so the check-ins
posted before a change put it before or after an order's start."""

import csv
import datetime
import os
import subprocess
import time
import uuid

import pytest

from carewatch_py.topics import read_topics
from conftest import (BUILD_DIR, KAFKA_BROKERS, Ingest, RedisServer, TopicWatch, allocate_day,
                      free_port, post, wait_until)
from test_alert_router import INPUTS, Router, commit_group, group_offsets
from test_ledger_writer import LedgerWriter, make_key, wait_finalized

UTC8 = datetime.timezone(datetime.timedelta(hours=8))
SCHEDULER = os.path.join(BUILD_DIR, "services", "payment-scheduler",
                         "carewatch-payment-scheduler")
WATCHED = ["orders.assigned", "visit.events", "orders.changes", "visit.checks",
           "orders.finalized", "alerts.all"]


# ---- services ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def writer(tmp_path_factory, redis_server):
    workdir = str(tmp_path_factory.mktemp("maintenance-writer"))
    signing, _ = make_key(workdir)
    svc = LedgerWriter(workdir, redis_server.port, "test-ledger-" + uuid.uuid4().hex[:8],
                       os.path.join(workdir, "ledger"), signing)
    svc.wait_ready(svc.ready_url)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def router(tmp_path_factory, redis_server):
    """The alert-router from the current end of its inputs."""
    group = "test-%s-alert-router" % uuid.uuid4().hex[:8]
    commit_group(group, group_offsets(INPUTS))
    svc = Router(str(tmp_path_factory.mktemp("maintenance-router")), redis_server.port, group)
    svc.wait_ready(svc.ready_url)
    yield svc
    svc.stop()


# ---- a scripted day ----------------------------------------------------------------

class Script:
    """One test's day: elders, caregivers of provider P01 and orders, all
    with ids of the test's own (orders and events in P01's namespace)."""

    def __init__(self, ingest, keys, ids, day):
        self.ingest, self.keys, self.ids, self.day = ingest, keys, ids, day
        self.d0 = datetime.date.fromisoformat(day)

    def at(self, hhmm, days=0):
        return "%sT%s:00+08:00" % ((self.d0 + datetime.timedelta(days=days)).isoformat(), hhmm)

    def ms(self, hhmm, days=0):
        return int(datetime.datetime.fromisoformat(self.at(hhmm, days)).timestamp() * 1000)

    def order_id(self, name):
        return "P01:%s%s" % (self.ids, name)

    def elder(self, n, street="S01"):
        post(self.ingest, self.keys.registry, "elder",
             {"elder_id": "%sE%d" % (self.ids, n), "street_id": street, "community_id": "C01",
              "home": {"lat": self.home(n)[0], "lon": self.home(n)[1]}})

    def caregiver(self, name, provider="P01"):
        post(self.ingest, self.keys.registry, "caregiver",
             {"caregiver_id": self.ids + name, "provider_id": provider, "certified": True})

    def home(self, n):
        return (round(41.30 + n * 0.01, 6), round(123.70 + n * 0.01, 6))

    def contract(self):
        post(self.ingest, self.keys.registry, "contract",
             {"contract_id": "0%sK" % self.ids, "provider_id": "P01", "period_start": self.day,
              "period_end": (self.d0 + datetime.timedelta(days=13)).isoformat(),
              "budget_cents": 10000000, "unit_price_cents": 4000, "prepay_ratio": 0.3,
              "invalid_deduction_cents": 18000})

    def order(self, name, elder, cg, hhmm, days=0):
        post(self.ingest, self.keys.p01, "order",
             {"order_id": self.order_id(name), "elder_id": "%sE%d" % (self.ids, elder),
              "caregiver_id": self.ids + cg, "service_type": "bathing",
              "scheduled_start": self.at(hhmm, days), "scheduled_minutes": 60})

    def visit_event(self, kind, name, elder, cg, hhmm, days=0):
        which = "in" if kind == "check-in" else "out"
        lat, lon = self.home(elder)
        body = {"event_id": "%s-%s-%s" % (self.order_id(name), cg, which),
                "order_id": self.order_id(name), "caregiver_id": self.ids + cg,
                "at": self.at(hhmm, days), "gps": {"lat": lat, "lon": lon, "accuracy_m": 8.0},
                "photo_sha256": uuid.uuid4().hex * 2}
        if kind == "check-in":
            body["face_match"] = 0.95
        else:
            body.update(voiceprint_match=0.93, items=["bathing"])
        return self.ingest.client.submit(kind, self.keys.p01, body)

    def visit(self, kind, name, elder, cg, hhmm, days=0):
        r = self.visit_event(kind, name, elder, cg, hhmm, days)
        assert r.status_code == 202, r.text

    def change(self, name, action, body, key=None):
        return self.ingest.client.change(self.order_id(name), action,
                                         key or self.keys.p01, body)

    def close_day(self):
        """A visit a week later: event time moves past every deadline of
        the day (the checkers allow a day of lateness)."""
        self.elder(9)
        self.caregiver("CG9")
        self.order("W", 9, "CG9", "10:00", days=7)
        self.visit("check-in", "W", 9, "CG9", "10:00", days=7)


def accepted(r, state, change_id):
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted", "id": change_id, "change": state}, r.text


def refused(r, status, error, field=None):
    assert r.status_code == status, r.text
    assert r.json()["error"] == error, r.text
    if field is not None:
        assert r.json()["field"] == field, r.text


def as_ms(value):
    if isinstance(value, datetime.datetime):
        return round(value.timestamp() * 1000)
    return value


def finals_of(records, prefix):
    out = {}
    for r in records:
        if r["topic"] == "orders.finalized" and r["value"]["order_id"].startswith(prefix):
            out.setdefault(r["value"]["order_id"], set()).add(r["raw"])
    assert all(len(copies) == 1 for copies in out.values()), "an order decided twice"
    return {oid: [r["value"] for r in records if r["topic"] == "orders.finalized"
                  and r["value"]["order_id"] == oid][0] for oid in out}


def verdicts(records, order_id):
    """{(subject, rule): outcome} of an order's checks; every subject judged
    one way only."""
    out = {}
    for r in records:
        if r["topic"] == "visit.checks" and r["value"]["order_id"] == order_id:
            subject = r["value"]["check_id"].rsplit(":", 1)[0]
            key = (subject, r["value"]["rule"])
            assert out.setdefault(key, r["value"]["outcome"]) == r["value"]["outcome"], key
    return out


def of_topic(records, topic, order_id):
    return [r for r in records if r["topic"] == topic and r["value"]["order_id"] == order_id]


def start_script(ingest, keys, ids, elders, caregivers):
    s = Script(ingest, keys, ids, allocate_day())
    for n in elders:
        s.elder(n)
    for cg in caregivers:
        s.caregiver(cg)
    s.contract()
    return s


# ---- cancel ----------------------------------------------------------------------------

def statement_of(day, contract_id, workdir):
    """The day's statement of the contract from a payment run over the day
    (live mode: the wall clock is past every publication instant)."""
    config = os.path.join(workdir, "payment-scheduler.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write("kafka:\n  brokers: %s\nadmin:\n  bind: 127.0.0.1\n  port: %d\n"
                "time:\n  mode: live\n" % (KAFKA_BROKERS, free_port()))
    out = os.path.join(workdir, "payments")
    period = "%s..%s" % (day, day)
    r = subprocess.run([SCHEDULER, "--config", config, "--run", period, "--out", out],
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")})
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(out, "statements-%s.csv" % period), encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f)
                if row["contract_id"] == contract_id and row["service_day"] == day]
    assert len(rows) == 1, rows
    return rows[0]


def test_cancel_before_and_after_the_start(ingest, keys, checkers, writer, router, ids,
                                           tmp_path):
    s = start_script(ingest, keys, ids, [1, 2, 3, 4], ["CG1", "CG2", "CG3", "CG4"])
    watch = TopicWatch(WATCHED)
    try:
        for name, elder, cg, hhmm in (("A", 1, "CG1", "09:00"), ("B", 2, "CG2", "09:00"),
                                      ("C", 3, "CG3", "10:00"), ("V", 4, "CG4", "11:00")):
            s.order(name, elder, cg, hhmm)
        a, b, c = s.order_id("A"), s.order_id("B"), s.order_id("C")

        # Before the start: at once, and the same request again is a duplicate.
        cancel_a = {"reason_code": "ELDER_REFUSED", "note": "the family visits this week"}
        accepted(s.change("A", "cancel", cancel_a), "EFFECTIVE", a + "@1")
        again = s.change("A", "cancel", cancel_a)
        assert again.status_code == 200, again.text
        assert again.json() == {"status": "duplicate", "id": a + "@1", "change": "EFFECTIVE"}
        refused(s.change("A", "reschedule", {"scheduled_start": s.at("12:00"),
                                              "reason_code": "OTHER"}), 409, "order_cancelled")
        refused(s.change("A", "approve-change", {}, key=keys.s01), 409, "no_pending_change")
        refused(s.change("A", "cancel", {"reason_code": "SICK"}), 400, "invalid_value",
                "reason_code")
        # Another provider's order answers as a missing one; no street key asks.
        refused(s.change("B", "cancel", {"reason_code": "OTHER"}, key=keys.p02), 404,
                "unknown_order")
        refused(s.change("B", "cancel", {"reason_code": "OTHER"}, key=keys.s01), 403,
                "forbidden")
        refused(ingest.client.change("P01:%snone" % ids, "cancel", keys.p01,
                                     {"reason_code": "OTHER"}), 404, "unknown_order")

        # 11:02 is posted: B (09:00) and C (10:00) have started.
        s.visit("check-in", "V", 4, "CG4", "11:02")
        accepted(s.change("B", "cancel", {"reason_code": "ELDER_ABSENT"}), "PENDING", b + "@1")
        refused(s.change("B", "reschedule", {"scheduled_start": s.at("15:00"),
                                              "reason_code": "OTHER"}), 409, "change_pending")
        accepted(s.change("C", "cancel", {"reason_code": "ELDER_HOSPITALIZED"}), "PENDING",
                 c + "@1")
        refused(s.change("C", "approve-change", {}, key=keys.s02), 404, "unknown_order")
        refused(s.change("C", "approve-change", {}), 403, "forbidden")
        approval = {"note": "the hospital confirmed the stay"}
        accepted(s.change("C", "approve-change", approval, key=keys.s01), "APPROVED", c + "@1")
        again = s.change("C", "approve-change", approval, key=keys.s01)
        assert again.status_code == 200, again.text
        assert again.json() == {"status": "duplicate", "id": c + "@1", "change": "APPROVED"}
        # A cancelled order takes no visit.
        refused(s.visit_event("check-in", "C", 3, "CG3", "11:05"), 409, "order_cancelled")
        s.visit("check-out", "V", 4, "CG4", "12:05")
        s.close_day()

        wanted = {a, b, c, s.order_id("V")}
        records = wait_finalized(watch, [], wanted, timeout=180)
        wait_until(lambda: records.extend(watch.new_records()) or
                   any(r["topic"] == "alerts.all" and r["value"]["order_id"] == b
                       for r in records), 90, "B's NO_SHOW alert")
    finally:
        watch.close()

    finals = finals_of(records, "P01:" + ids)
    assert {o: (v["status"], v["reasons"]) for o, v in finals.items() if o in wanted} == {
        a: ("CANCELLED", ["ELDER_REFUSED"]), b: ("INVALID", ["NO_SHOW"]),
        c: ("CANCELLED", ["ELDER_HOSPITALIZED"]), s.order_id("V"): ("VALID", [])}
    # A cancel is final at the order's start, or when approved if later.
    assert as_ms(finals[a]["finalized_at"]) == s.ms("09:00")
    assert as_ms(finals[c]["finalized_at"]) == s.ms("11:02")

    # No NO_SHOW for the order cancelled in time, nor an alert; the one
    # never approved stands.
    assert not [k for k in verdicts(records, a) if k[1] == "NO_SHOW"]
    assert verdicts(records, b)[(b, "NO_SHOW")] == "ORANGE"
    alerts = [(r["value"]["order_id"], r["value"]["rule"]) for r in records
              if r["topic"] == "alerts.all"]
    assert (b, "NO_SHOW") in alerts
    assert not [x for x in alerts if x[0] in (a, c)], alerts

    changes = {o: [(r["value"]["state"], r["value"]["approved_by"], r["value"]["revision"])
                   for r in of_topic(records, "orders.changes", o)] for o in (a, b, c)}
    assert changes == {a: [("EFFECTIVE", None, 1)], b: [("PENDING", None, None)],
                       c: [("PENDING", None, None), ("APPROVED", "S01 office", 1)]}
    first = of_topic(records, "orders.changes", a)[0]
    assert first["key"] == a
    assert (first["value"]["kind"], first["value"]["reason_code"], first["value"]["note"],
            first["value"]["street_id"], first["value"]["provider_id"],
            first["value"]["requested_by"], first["value"]["caregiver_id"]) == (
        "CANCEL", "ELDER_REFUSED", cancel_a["note"], "S01", "P01", "provider:P01", ids + "CG1")
    assert as_ms(first["value"]["scheduled_start"]) == s.ms("09:00")
    # The revisions on orders.assigned and their copies on visit.events.
    revisions = [r for r in of_topic(records, "orders.assigned", c)]
    assert [r["value"]["revision"] for r in revisions] == [None, 1]
    change = revisions[1]["value"]["change"]
    assert (change["kind"], change["approved_by"], change["change_id"]) == (
        "CANCEL", "S01 office", c + "@1")
    assert not [r for r in of_topic(records, "orders.assigned", b) if r["value"]["revision"]]

    # Paid: the visit; deducted: the order never approved; the two
    # cancelled ones neither.
    v = finals[s.order_id("V")]
    row = statement_of(s.day, v["contract_id"], str(tmp_path))
    deduction = [r["value"]["invalid_deduction_cents"] for r in
                 read_topics(KAFKA_BROKERS, ["ref.contracts"])
                 if r["name"] == "Contract" and r["value"]["contract_id"] == v["contract_id"]][-1]
    assert (int(row["valid_orders"]), int(row["invalid_orders"]), int(row["gross_cents"]),
            int(row["deduction_cents"])) == (1, 1, v["unit_price_cents"], deduction)
    assert finals[b]["contract_id"] == v["contract_id"]


# ---- reschedule --------------------------------------------------------------------------

def test_reschedule_moves_the_visit_and_is_judged_again(ingest, keys, checkers, writer, ids):
    s = start_script(ingest, keys, ids, [1, 2, 3], ["CG1", "CG2", "CG3"])
    watch = TopicWatch(WATCHED)
    try:
        s.order("R1", 1, "CG1", "09:00")
        s.order("R2", 2, "CG2", "09:00")
        s.order("R3", 3, "CG2", "13:00")
        r1, r3 = s.order_id("R1"), s.order_id("R3")
        refused(s.change("R1", "reschedule", {"scheduled_start": s.at("09:00"),
                                               "reason_code": "WEATHER"}), 422, "no_change")
        accepted(s.change("R1", "reschedule", {"scheduled_start": s.at("15:00"),
                                               "reason_code": "WEATHER"}), "EFFECTIVE", r1 + "@1")
        # Into the caregiver's other order: judged as if assigned so.
        accepted(s.change("R3", "reschedule", {"scheduled_start": s.at("09:30"),
                                               "reason_code": "ELDER_ABSENT"}),
                 "EFFECTIVE", r3 + "@1")
        records = []
        wait_until(lambda: records.extend(watch.new_records()) or
                   verdicts(records, r3).get((r3 + "@1", "SCHEDULE_OVERLAP")) == "RED", 90,
                   "the rescheduled order's overlap")
        # The overlap froze CG2: no order goes to a frozen caregiver.
        refused(s.change("R1", "reassign", {"caregiver_id": ids + "CG2",
                                            "reason_code": "CAREGIVER_ILL"}),
                422, "caregiver_frozen", "caregiver_id")
        s.visit("check-in", "R1", 1, "CG1", "15:01")
        s.visit("check-out", "R1", 1, "CG1", "16:05")
        s.close_day()
        records = wait_finalized(watch, records, {r1, r3, s.order_id("R2")}, timeout=180)
    finally:
        watch.close()

    finals = finals_of(records, "P01:" + ids)
    assert (finals[r1]["status"], finals[r1]["reasons"]) == ("VALID", [])
    assert as_ms(finals[r1]["check_in_at"]) == s.ms("15:01")
    assert finals[r3]["status"] == "INVALID"
    assert "SCHEDULE_OVERLAP" in finals[r3]["reasons"]
    v1 = verdicts(records, r1)
    # Judged at its new time, and nothing at the old one.
    assert v1[(r1 + "@1", "NO_SHOW")] == "PASS"
    assert (r1, "NO_SHOW") not in v1
    v3 = verdicts(records, r3)
    assert v3[(r3, "SCHEDULE_OVERLAP")] == "PASS"
    assert v3[(r3 + "@1", "SCHEDULE_OVERLAP")] == "RED"
    rev = [r["value"] for r in of_topic(records, "orders.assigned", r1) if r["value"]["revision"]]
    assert len(rev) == 1
    assert as_ms(rev[0]["scheduled_start"]) == s.ms("15:00")
    assert as_ms(rev[0]["change"]["previous_scheduled_start"]) == s.ms("09:00")
    assert (rev[0]["change"]["kind"], rev[0]["change"]["reason_code"],
            rev[0]["change"]["approved_by"]) == ("RESCHEDULE", "WEATHER", None)


# ---- reassign ------------------------------------------------------------------------------

def test_reassign_gives_the_order_to_the_new_caregiver(ingest, keys, checkers, writer, ids):
    s = start_script(ingest, keys, ids, [1, 2], ["CG1", "CG2"])
    s.caregiver("CGX", provider="P02")
    watch = TopicWatch(WATCHED)
    try:
        s.order("X", 1, "CG1", "09:00")
        x = s.order_id("X")
        refused(s.change("X", "reassign", {"caregiver_id": ids + "CGX",
                                           "reason_code": "CAREGIVER_ILL"}),
                422, "unknown_caregiver", "caregiver_id")
        move = {"caregiver_id": ids + "CG2", "reason_code": "CAREGIVER_ILL", "note": "fever"}
        accepted(s.change("X", "reassign", move), "EFFECTIVE", x + "@1")
        assert s.change("X", "reassign", move).status_code == 200
        refused(s.change("X", "reassign", dict(move, note="again")), 422, "no_change")
        # CG1's schedule no longer holds X: an order in its old slot is no overlap.
        s.order("Y", 2, "CG1", "09:30")
        refused(s.visit_event("check-in", "X", 1, "CG1", "09:02"), 422, "caregiver_mismatch")
        s.visit("check-in", "X", 1, "CG2", "09:02")
        refused(s.change("X", "cancel", {"reason_code": "OTHER"}), 409, "order_visited")
        s.visit("check-out", "X", 1, "CG2", "10:05")
        s.close_day()
        records = wait_finalized(watch, [], {x, s.order_id("Y")}, timeout=180)
    finally:
        watch.close()

    finals = finals_of(records, "P01:" + ids)
    assert (finals[x]["status"], finals[x]["reasons"], finals[x]["caregiver_id"]) == (
        "VALID", [], ids + "CG2")
    vx = verdicts(records, x)
    assert vx[(x + "@1", "NO_SHOW")] == "PASS"
    assert vx[(x + "@1", "SCHEDULE_OVERLAP")] == "PASS"
    assert (x, "NO_SHOW") not in vx
    assert verdicts(records, s.order_id("Y"))[(s.order_id("Y"), "SCHEDULE_OVERLAP")] == "PASS"
    # The revision went to the new caregiver's partitions and the old one's.
    copies = sorted((r["topic"], r["key"]) for r in records
                    if r["topic"] in ("orders.assigned", "visit.events")
                    and r["name"] == "OrderAssigned" and r["value"]["order_id"] == x
                    and r["value"]["revision"] == 1)
    assert copies == sorted((t, ids + cg) for t in ("orders.assigned", "visit.events")
                            for cg in ("CG1", "CG2")), copies


# ---- Redis lost ----------------------------------------------------------------------------

ORDER_FIELDS = ("elder_id", "caregiver_id", "provider_id", "person_id", "scheduled_start",
                "scheduled_minutes", "revision", "status")


def hash_of(redis, key, fields):
    return {f: redis.cli("HGET", key, f) for f in fields}


def test_ingests_redis_is_rebuilt_with_every_change(keys, ids, tmp_path):
    """An ingest of its own on a Redis of its own: after changes of every
    kind the Redis is flushed; ingest rebuilds the orders (their latest
    revision), the change waiting for approval and the visited marks from
    Kafka, and answers as before."""
    redis = RedisServer(str(tmp_path))
    svc = Ingest(str(tmp_path / "ingest"), redis.port, keys)
    try:
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
        s = Script(svc, keys, ids, allocate_day())
        for n in (1, 2, 3, 4):
            s.elder(n)
        for cg in ("CG1", "CG2", "CG3", "CG4", "CG5"):
            s.caregiver(cg)
        s.contract()
        for name, elder, cg, hhmm in (("K1", 1, "CG1", "09:00"), ("K2", 2, "CG2", "09:00"),
                                      ("K3", 3, "CG3", "09:00"), ("K4", 4, "CG4", "08:00")):
            s.order(name, elder, cg, hhmm)
        accepted(s.change("K1", "cancel", {"reason_code": "WEATHER"}), "EFFECTIVE",
                 s.order_id("K1") + "@1")
        accepted(s.change("K2", "reassign", {"caregiver_id": ids + "CG5",
                                             "reason_code": "CAREGIVER_ILL"}),
                 "EFFECTIVE", s.order_id("K2") + "@1")
        s.visit("check-in", "K4", 4, "CG4", "09:10")
        accepted(s.change("K3", "reschedule", {"scheduled_start": s.at("16:00"),
                                               "reason_code": "OTHER"}),
                 "PENDING", s.order_id("K3") + "@1")
        before = {n: hash_of(redis, "cw:order:" + s.order_id(n), ORDER_FIELDS)
                  for n in ("K1", "K2", "K3", "K4")}
        pending = redis.cli("HGETALL", "cw:change:" + s.order_id("K3"))
        assert before["K1"]["status"] == "CANCELLED" and before["K2"]["revision"] == "1"

        assert redis.cli("FLUSHALL") == "OK"

        def rebuilt():
            return (redis.cli("EXISTS", "cw:order:" + s.order_id("K4")) == "1" and
                    redis.cli("EXISTS", "cw:visited:" + s.order_id("K4")) == "1")
        wait_until(rebuilt, 90, "ingest to rebuild Redis from Kafka")
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port, timeout=90)
        after = {n: hash_of(redis, "cw:order:" + s.order_id(n), ORDER_FIELDS)
                 for n in ("K1", "K2", "K3", "K4")}
        assert after == before
        assert redis.cli("HGETALL", "cw:change:" + s.order_id("K3")) == pending

        # And it answers as before: the visited order and the cancelled one
        # refuse changes; the waiting change is approved.
        refused(s.change("K4", "cancel", {"reason_code": "OTHER"}), 409, "order_visited")
        refused(s.change("K1", "cancel", {"reason_code": "OTHER"}), 409, "order_cancelled")
        refused(s.change("K3", "cancel", {"reason_code": "OTHER"}), 409, "change_pending")
        accepted(s.change("K3", "approve-change", {}, key=keys.s01), "APPROVED",
                 s.order_id("K3") + "@1")
        assert redis.cli("HGET", "cw:order:" + s.order_id("K3"), "scheduled_start") == str(
            s.ms("16:00"))
        refused(s.visit_event("check-in", "K2", 2, "CG2", "09:20"), 422, "caregiver_mismatch")
        # The original assignment posted again (its idempotency mark went with
        # the flush) would undo the reassign: refused.
        r = svc.client.submit("order", keys.p01, {
            "order_id": s.order_id("K2"), "elder_id": ids + "E2", "caregiver_id": ids + "CG2",
            "service_type": "bathing", "scheduled_start": s.at("09:00"),
            "scheduled_minutes": 60})
        refused(r, 409, "order_changed", "order_id")
        assert redis.cli("HGET", "cw:order:" + s.order_id("K2"), "caregiver_id") == ids + "CG5"
    finally:
        svc.stop()
        redis.stop()
