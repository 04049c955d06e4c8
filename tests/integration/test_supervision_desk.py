"""supervision-desk against the real broker. Alerts, verdicts (the event
clock), elders and finalized orders are produced directly (fastavro
single-object encoding); the desk's API is driven over HTTP with street,
command and admin keys, and its cases.events and orders.corrections are
read back. Escalation is decided on event time only: the test moves time
by producing verdicts, never by waiting.

The desk's clock is the watermark over visit.checks, which the broker keeps
from earlier tests: every test takes a day later than every verdict
already on the topic."""

import datetime
import secrets
import socket
import uuid

import pytest
import requests
from confluent_kafka import Producer

from conftest import (KAFKA_BROKERS, REGISTRY, Service, allocate_day, free_port, sha256_hex,
                      wait_until)
from carewatch_py.topics import read_topics

UTC8 = datetime.timezone(datetime.timedelta(hours=8))
MINUTE = 60 * 1000
HOUR = 60 * MINUTE
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(record):
    return {k: (v - EPOCH) // datetime.timedelta(milliseconds=1)
            if isinstance(v, datetime.datetime) else v for k, v in record.items()}


def fresh_day_ms():
    """08:00 UTC+8 of a day later than every verdict on visit.checks."""
    day = datetime.date.fromisoformat(allocate_day())
    ats = [plain(r["value"])["at"] for r in read_topics(KAFKA_BROKERS, ["visit.checks"])
           if r["name"] == "CheckResult"]
    if ats:
        last = datetime.datetime.fromtimestamp(max(ats) / 1000, UTC8).date()
        day = max(day, last + datetime.timedelta(days=2))
    start = datetime.datetime(day.year, day.month, day.day, 8, tzinfo=UTC8)
    return day, int(start.timestamp() * 1000)


class DeskKeys:
    def __init__(self):
        self.s01 = secrets.token_hex(16)
        self.s02 = secrets.token_hex(16)
        self.command = secrets.token_hex(16)
        self.admin = secrets.token_hex(16)
        self.provider = secrets.token_hex(16)

    def entries(self):
        return ["%s=street:S01#Wang Li" % sha256_hex(self.s01),
                "%s=street:S02#Zhao Min" % sha256_hex(self.s02),
                "%s=command#duty officer" % sha256_hex(self.command),
                "%s=admin" % sha256_hex(self.admin),
                "%s=provider:P01" % sha256_hex(self.provider)]


def desk_config(admin_port, http_port, group, keys, red_minutes=60):
    return """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin_port}
log:
  level: info
http:
  bind: 127.0.0.1
  port: {http_port}
auth:
  keys: [{keys}]
desk:
  ack_minutes:
    red: {red}
    orange: 1440
    yellow: 4320
  callback_share: 0.05
stream:
  group_id: {group}
  transactional_id: {group}
  allowed_lateness_minutes: 0
  quiet_partition_ms: 500
""".format(brokers=KAFKA_BROKERS, admin_port=admin_port, http_port=http_port, group=group,
           keys=", ".join('"%s"' % k for k in keys.entries()), red=red_minutes)


class Desk(Service):
    def __init__(self, workdir, group, keys, http_port=None):
        self.admin_port = free_port()
        self.http_port = http_port or free_port()
        self.args = (workdir, group, keys, self.http_port)
        super().__init__("supervision-desk",
                         desk_config(self.admin_port, self.http_port, group, keys), workdir)
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.wait_ready("http://127.0.0.1:%d/readyz" % self.admin_port, timeout=60)

    killed = False

    def restart(self):
        return Desk(*self.args)

    def kill9(self):
        super().kill9()
        self.killed = True

    def call(self, method, path, key=None, body=None, **params):
        headers = {"Authorization": "Bearer " + key} if key else {}
        r = requests.request(method, self.url + path, json=body, params=params, headers=headers,
                             timeout=30)
        return r.status_code, r.json()


class Feed:
    def __init__(self, prefix):
        self.prefix = prefix
        self.producer = Producer({"bootstrap.servers": KAFKA_BROKERS, "linger.ms": 5})

    def send(self, topic, key, name, record):
        self.producer.produce(topic, key=key, value=REGISTRY.encode(name, record))
        self.producer.flush(30)

    def elder(self, elder_id, street):
        self.send("ref.elders", elder_id, "Elder", {
            "elder_id": elder_id, "street_id": street, "community_id": street + "-C1",
            "home": {"lat": 30.0, "lon": 120.0, "crs": "WGS84"}, "visits_per_month": 4,
            "minutes_per_visit": 60, "geofence_radius_m": None, "updated_at": 0})

    def alert(self, order, rule, colour, at, street, caregiver="CG1", elder="E1"):
        self.send("alerts.all", order, "Alert", {
            "alert_id": "%s:%s" % (order, rule), "order_id": order, "rule": rule,
            "colour": colour, "street_id": street, "community_id": street + "-C1",
            "provider_id": "P01", "caregiver_id": caregiver, "elder_id": elder,
            "scheduled_start": at, "scheduled_minutes": 60, "measured": 412.0,
            "threshold": 30.0, "at": at, "raised_at": at, "message_zh": "打卡位置偏离",
            "message_en": "check-in away from home"})

    def clock(self, at):
        """A PASS verdict on a visit event on every visit.checks partition:
        the desk's event clock (verdicts on orders move no time)."""
        for p in range(6):
            check = {"check_id": "%s:clock:%d:%d" % (self.prefix, at, p),
                     "order_id": "%s-clock" % self.prefix, "caregiver_id": "CGX",
                     "event_id": "%s-clock-%d" % (self.prefix, at), "rule": "GEO_DISTANCE", "outcome": "PASS",
                     "measured": None, "threshold": None, "unit": "m", "checker": "test",
                     "at": at, "produced_at": at}
            self.producer.produce("visit.checks", key=check["check_id"], partition=p,
                                  value=REGISTRY.encode("CheckResult", check))
        self.producer.flush(30)

    def finalized(self, order, street, elder, caregiver, day, status="VALID", index=0):
        self.send("orders.finalized", order, "OrderFinalized", {
            "order_id": order, "provider_id": "P01", "contract_id": None,
            "caregiver_id": caregiver, "elder_id": elder, "street_id": street,
            "service_day": day.isoformat(), "status": status,
            "reasons": [] if status == "VALID" else ["NO_SHOW"], "check_in_at": None,
            "check_out_at": None, "duration_minutes": None, "unit_price_cents": 4000,
            "finalized_at": 0, "ledger_index": index, "visits_per_month": None,
            "minutes_per_visit": None})


def all_cases(desk, key, **params):
    """Every case of the list the key sees (the shared broker holds other
    tests' cases too: more than a page)."""
    out, cursor = [], None
    while True:
        page = dict(params, limit=500, **({"cursor": cursor} if cursor else {}))
        status, body = desk.call("GET", "/v1/cases", key, **page)
        assert status == 200, body
        out += body["cases"]
        cursor = body["next_cursor"]
        if not cursor:
            return out


def case_events(prefix):
    return [plain(r["value"]) for r in read_topics(KAFKA_BROKERS, ["cases.events"])
            if r["name"] == "CaseEvent" and r["value"]["case_id"].startswith(prefix)]


@pytest.fixture
def desk(tmp_path):
    keys = DeskKeys()
    group = "desk-" + uuid.uuid4().hex[:8]
    d = Desk(str(tmp_path / "desk"), group, keys)
    d.keys = keys
    yield d
    if not d.killed:
        d.stop()


def raw_status(desk, head):
    """Sends only a request's head (no body) and reads the status line: an
    answer proves the server judged it without waiting for the body."""
    with socket.create_connection(("127.0.0.1", desk.http_port), timeout=10) as sock:
        sock.sendall(head.encode())
        line = sock.makefile("rb").readline().decode()
    return int(line.split()[1])


def wait_case(desk, key, case_id, predicate, what, timeout=60):
    got = {}

    def ok():
        desk.assert_running()
        status, body = desk.call("GET", "/v1/cases/" + case_id, key)
        got["last"] = (status, body)
        return status == 200 and predicate(body)
    wait_until(ok, timeout, what)
    return got["last"][1]


def test_a_fraud_opens_a_case_that_escalates_in_event_time(desk, tmp_path):
    """Not acknowledged within an hour of event time: escalated, with the
    deadline as its time; a street sees only its street; the command sees
    the red case; acknowledging and resolving are recorded with who and
    why; a kill -9 and restart rebuilds the same cases from Kafka."""
    prefix = "DK" + uuid.uuid4().hex[:6]
    day, t0 = fresh_day_ms()
    feed = Feed(prefix)
    k = desk.keys
    red, yellow = prefix + "-O1", prefix + "-O2"
    feed.clock(t0)
    feed.alert(red, "GEO_DISTANCE", "RED", t0 + 5 * MINUTE, "S01")
    feed.alert(yellow, "SHORT_DURATION", "YELLOW", t0 + 6 * MINUTE, "S02")
    wait_case(desk, k.admin, yellow, lambda c: c["status"] == "OPEN", "the yellow case")
    case = wait_case(desk, k.s01, red, lambda c: c["status"] == "OPEN", "the red case")
    assert case["colour"] == "RED" and case["street_id"] == "S01"
    assert case["deadline"].startswith(day.isoformat() + "T09:05:00")
    assert case["alert_list"][0]["rule"] == "GEO_DISTANCE"
    assert case["alert_list"][0]["measured"] == 412.0

    # Street S01 sees its case, not S02's (404, as if missing); S02 the reverse.
    assert desk.call("GET", "/v1/cases/" + yellow, k.s01)[0] == 404
    assert desk.call("GET", "/v1/cases/" + red, k.s02)[0] == 404
    assert desk.call("POST", "/v1/cases/%s/acknowledge" % red, k.s02, {"note": "x"})[0] == 404
    listed = all_cases(desk, k.s01)
    assert red in [c["case_id"] for c in listed]
    assert yellow not in [c["case_id"] for c in listed]
    # The command reads both, and works only the red one.
    assert desk.call("GET", "/v1/cases/" + yellow, k.command)[0] == 200
    attention = [c["case_id"] for c in all_cases(desk, k.command, attention="true")]
    assert red in attention and yellow not in attention
    assert desk.call("POST", "/v1/cases/%s/acknowledge" % yellow, k.command, {})[0] == 403
    # A provider key is not served at all; no key is 401.
    assert desk.call("GET", "/v1/cases", k.provider)[0] == 403
    assert desk.call("GET", "/v1/cases")[0] == 401

    # 59 minutes of event time: not overdue. 61: escalated, at its deadline.
    feed.clock(t0 + 65 * MINUTE)
    assert desk.call("GET", "/v1/cases/" + red, k.s01)[1]["status"] == "OPEN"
    feed.clock(t0 + 66 * MINUTE)
    case = wait_case(desk, k.s01, red, lambda c: c["status"] == "ESCALATED", "the escalation")
    escalation = [e for e in case["events"] if e["action"] == "ESCALATED"]
    assert len(escalation) == 1 and escalation[0]["actor"] == "supervision-desk"
    assert escalation[0]["at"] == case["deadline"] or escalation[0]["at"].startswith(
        day.isoformat() + "T09:05:00")
    # The yellow one has 72 hours: still open.
    assert desk.call("GET", "/v1/cases/" + yellow, k.s02)[1]["status"] == "OPEN"

    # The command acknowledges the escalated case, the street resolves it.
    status, body = desk.call("POST", "/v1/cases/%s/acknowledge" % red, k.command,
                             {"note": "called the provider"})
    assert status == 200 and body["status"] == "ACKNOWLEDGED", body
    assert desk.call("POST", "/v1/cases/%s/resolve" % red, k.s01, {"note": "no"})[0] == 400
    assert desk.call("POST", "/v1/cases/%s/resolve" % red, k.s01,
                     {"note": "?", "resolution": "MAYBE"})[0] == 400
    status, body = desk.call("POST", "/v1/cases/%s/resolve" % red, k.s01,
                             {"note": "fake check-in confirmed", "resolution": "CONFIRMED"})
    assert status == 200 and body["status"] == "RESOLVED" and body["resolution"] == "CONFIRMED"
    assert desk.call("POST", "/v1/cases/%s/acknowledge" % red, k.s01, {})[0] == 409

    events = case_events(prefix)
    mine = sorted((e for e in events if e["case_id"] == red), key=lambda e: e["seq"])
    assert [e["action"] for e in mine] == ["OPENED", "ESCALATED", "ACKNOWLEDGED", "RESOLVED"]
    assert [e["actor"] for e in mine] == ["supervision-desk", "supervision-desk",
                                          "duty officer", "Wang Li"]
    assert mine[3]["note"] == "fake check-in confirmed"
    for e in events:
        assert k.s01 not in str(e) and k.command not in str(e)

    # kill -9, restart: the same cases, rebuilt from cases.events alone.
    before = {c: desk.call("GET", "/v1/cases/" + c, k.admin)[1] for c in (red, yellow)}
    desk.kill9()
    again = desk.restart()
    try:
        after = {c: again.call("GET", "/v1/cases/" + c, k.admin)[1] for c in (red, yellow)}
        assert after == before
        # Nothing was published twice by the restart.
        ids = [e["event_id"] for e in case_events(prefix)]
        assert len(ids) == len(set(ids)), ids
    finally:
        again.stop()


def test_a_denied_call_back_confirmed_corrects_the_order(desk):
    """The day's call-back list is a deterministic sample with at least one
    order per caregiver a week; a DENIED call-back opens a red case; the
    street resolving it CONFIRMED publishes one OrderCorrection."""
    prefix = "DC" + uuid.uuid4().hex[:6]
    day, t0 = fresh_day_ms()
    feed = Feed(prefix)
    k = desk.keys
    elder = prefix + "-E1"
    feed.elder(elder, "S01")
    orders = ["%s-O%d" % (prefix, i) for i in range(3)]
    for i, o in enumerate(orders):
        feed.finalized(o, "S01", elder, prefix + "-CG1", day, index=i)
    invalid = prefix + "-X1"
    feed.finalized(invalid, "S01", elder, prefix + "-CG1", day, status="INVALID", index=9)
    feed.clock(t0)

    # Other tests' orders may share the street and the day: only ours count
    # (the draw is per order, the weekly pick per caregiver: theirs do not
    # change ours).
    def listed():
        status, body = desk.call("GET", "/v1/callbacks", k.s01, day=day.isoformat())
        mine = [c for c in body.get("callbacks", []) if c["order_id"].startswith(prefix)]
        return body if status == 200 and mine else None
    wait_until(listed, 60, "the call-back list")
    body = listed()
    picked = [c["order_id"] for c in body["callbacks"] if c["order_id"].startswith(prefix)]
    assert set(picked) <= set(orders) and len(picked) >= 1
    # The same list every time, and no other street's.
    assert desk.call("GET", "/v1/callbacks", k.s01, day=day.isoformat())[1]["callbacks"] == \
        body["callbacks"]
    assert desk.call("GET", "/v1/callbacks", k.s02, street_id="S01",
                     day=day.isoformat())[0] == 404
    assert desk.call("GET", "/v1/callbacks", k.command, day=day.isoformat())[0] == 400

    assert invalid not in picked
    # Only a VALID (paid) order is called back.
    assert desk.call("POST", "/v1/callbacks/" + invalid, k.s01, {"result": "DENIED"})[0] == 409
    order = picked[0]
    assert desk.call("POST", "/v1/callbacks/" + order, k.s01, {"result": "MAYBE"})[0] == 400
    status, ev = desk.call("POST", "/v1/callbacks/" + order, k.s01,
                           {"result": "DENIED", "note": "nobody came that day"})
    assert status == 201 and ev["callback_result"] == "DENIED", ev
    case = desk.call("GET", "/v1/cases/" + order, k.s01)[1]
    assert case["status"] == "OPEN" and case["colour"] == "RED" and case["callback_denied"]
    assert case["order"]["status"] == "VALID"
    status, body = desk.call("POST", "/v1/cases/%s/resolve" % order, k.s01,
                             {"note": "elder and neighbour confirm", "resolution": "CONFIRMED"})
    assert status == 200, body

    def corrections():
        return [plain(r["value"]) for r in read_topics(KAFKA_BROKERS, ["orders.corrections"])
                if r["name"] == "OrderCorrection" and r["value"]["order_id"].startswith(prefix)]
    wait_until(lambda: corrections(), 30, "the correction")
    got = corrections()
    assert len(got) == 1
    assert got[0]["order_id"] == order and got[0]["status"] == "INVALID"
    assert got[0]["reason"] == "CALLBACK_DENIED" and got[0]["decided_by"] == "Wang Li"


def test_complaints_open_cases_and_keys_are_judged_before_bodies(desk):
    prefix = "DP" + uuid.uuid4().hex[:6]
    day, t0 = fresh_day_ms()
    feed = Feed(prefix)
    k = desk.keys
    elder = prefix + "-E1"
    feed.elder(elder, "S02")
    feed.clock(t0)

    def complain():
        return desk.call("POST", "/v1/complaints", k.s02,
                         {"elder_id": elder, "channel": "family", "text": "no one came"})
    wait_until(lambda: complain()[0] == 201, 60, "the elder to be known")
    cases = [c for c in all_cases(desk, k.s02, kind="COMPLAINT") if c["elder_id"] == elder]
    assert len(cases) >= 1 and cases[0]["colour"] == "ORANGE"
    assert cases[0]["case_id"].startswith("complaint:%s:" % elder)
    # Another street cannot file for this elder (404), bad bodies are 400.
    assert desk.call("POST", "/v1/complaints", k.s01,
                     {"elder_id": elder, "text": "x"})[0] == 404
    assert desk.call("POST", "/v1/complaints", k.s02, {"elder_id": elder})[0] == 400
    assert desk.call("POST", "/v1/complaints", k.s02, {"elder_id": "bad id!", "text": "x"})[0] \
        == 400
    # Keys before bodies: a declared 1 GB body is refused at once, unread.
    assert raw_status(desk, "POST /v1/complaints HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: 1000000000\r\n\r\n" % k.s02) == 413
    assert raw_status(desk, "POST /v1/complaints HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: 1000000000\r\n\r\n") == 401
    r = requests.post(desk.url + "/v1/complaints", data=b"x" * 100,
                      headers={"Authorization": "Bearer nope"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert desk.call("GET", "/v1/nothing", k.s02)[0] == 404
    assert desk.call("DELETE", "/v1/cases", k.s02)[0] == 405
    # Figures: the street's complaint is counted among its cases.
    stats = desk.call("GET", "/v1/stats", k.s02, by="street")[1]
    assert [r["street"] for r in stats["rows"]] == ["S02"]
    assert stats["rows"][0]["cases"]["open"] >= 1


def test_caregivers_and_maintenance_as_the_desk_sees_them(desk):
    """A caregiver's freeze history and flagged verdicts; a street's pending
    maintenance requests and the maintenance rate per provider."""
    prefix = "DM" + uuid.uuid4().hex[:6]
    day, t0 = fresh_day_ms()
    feed = Feed(prefix)
    k = desk.keys
    cg, elder = prefix + "-CG1", prefix + "-E1"
    feed.elder(elder, "S01")
    orders = ["%s-O%d" % (prefix, i) for i in range(4)]
    for i, o in enumerate(orders):
        feed.finalized(o, "S01", elder, cg, day, index=i)
    feed.alert(orders[0], "SCHEDULE_OVERLAP", "RED", t0, "S01", caregiver=cg, elder=elder)
    feed.send("caregiver.status", cg, "CaregiverStatusChanged", {
        "caregiver_id": cg, "status": "FROZEN", "reason": "SCHEDULE_OVERLAP",
        "order_id": orders[0], "at": t0})
    for state, kind in (("EFFECTIVE", "CANCEL"), ("PENDING", "RESCHEDULE")):
        feed.send("orders.changes", orders[1], "OrderChange", {
            "change_id": "%s@%s" % (orders[1], state), "order_id": orders[1],
            "provider_id": "P01", "street_id": "S01", "kind": kind,
            "reason_code": "ELDER_HOSPITALIZED", "note": None, "requested_at": t0,
            "requested_by": "provider:P01", "scheduled_start": t0 + HOUR, "caregiver_id": cg,
            "state": state, "approved_by": None, "approved_at": None, "approval_note": None,
            "new_scheduled_start": t0 + 3 * HOUR if kind == "RESCHEDULE" else None,
            "new_caregiver_id": None, "revision": 1 if state == "EFFECTIVE" else None})
    feed.clock(t0)

    def caregiver():
        status, body = desk.call("GET", "/v1/caregivers/" + cg, k.s01)
        return body if status == 200 and body["freeze_history"] and body["open_cases"] else None
    wait_until(caregiver, 60, "the caregiver's freeze and case")
    body = caregiver()
    assert body["status"] == "FROZEN"
    assert body["freeze_history"][0]["reason"] == "SCHEDULE_OVERLAP"
    assert [f["rule"] for f in body["flagged"]] == ["SCHEDULE_OVERLAP"]
    assert desk.call("GET", "/v1/caregivers/" + cg, k.s02)[0] == 404
    assert desk.call("GET", "/v1/caregivers/" + prefix + "-nobody", k.admin)[0] == 404

    def pending():
        status, body = desk.call("GET", "/v1/changes", k.s01, state="PENDING")
        return [c for c in body["changes"] if c["order_id"] == orders[1]] if status == 200 \
            else None
    wait_until(pending, 60, "the pending change")
    assert pending()[0]["kind"] == "RESCHEDULE"
    assert desk.call("GET", "/v1/changes", k.s02, street_id="S01")[0] == 404
    stats = desk.call("GET", "/v1/stats", k.admin, by="caregiver",
                      **{"from": day.isoformat(), "to": day.isoformat()})[1]
    row = [r for r in stats["rows"] if r["caregiver"] == cg][0]
    assert row["orders"] == 4
    # The pending request is not maintenance done: one cancel of four orders.
    assert row["maintenance"]["cancelled"] == 1 and row["maintenance"]["rescheduled"] == 0
    assert row["maintenance"]["rate"] == 0.25


def test_an_undecodable_alert_is_dead_lettered_with_its_reason(desk):
    prefix = "DD" + uuid.uuid4().hex[:6]
    key = prefix + "-O1"
    producer = Producer({"bootstrap.servers": KAFKA_BROKERS})
    producer.produce("alerts.all", key=key, value=b"\xc3\x01not an alert at all")
    producer.flush(30)

    def letters():
        return [plain(r["value"]) for r in read_topics(KAFKA_BROKERS, ["dlq.supervision-desk"])
                if r["name"] == "DeadLetter" and r["value"]["key"] == key.encode()]
    wait_until(lambda: letters(), 60, "the dead letter")
    got = letters()
    assert len(got) == 1
    assert got[0]["service"] == "supervision-desk" and got[0]["source_topic"] == "alerts.all"
    assert got[0]["payload"] == b"\xc3\x01not an alert at all" and got[0]["reason"]
    # The desk goes on: no case was made of it, and it still answers.
    assert desk.call("GET", "/v1/cases/" + key, desk.keys.admin)[0] == 404
