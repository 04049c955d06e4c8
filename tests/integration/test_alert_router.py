"""alert-router on the real stack: the scripted fraud day through ingest and
the three checkers gives exactly the expected alerts on each street's topic,
on alerts.command and on alerts.all (read back and decoded independently),
a new street's topic is created on first use, re-emitted checks and a
replay from reset offsets add no alert, a Redis loss is rebuilt from
alerts.all without alerting twice, unknown orders are dead-lettered, and the
commands of the README (kcat, the Python consumer) read the alerts.
Prints the p99 latency from an event posted to its alert on the street
topic."""

import datetime
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from carewatch_py import coords
from carewatch_py.demo_day import Day, EXPECTED, true_home
from conftest import (KAFKA_BROKERS, REGISTRY, REPO, Service, TopicWatch, allocate_day,
                      checker_config, free_port, post, wait_until)

INPUTS = ["visit.checks", "caregiver.status"]
# The verdicts that freeze a caregiver in the scripted day: each freeze is
# a CAREGIVER_FROZEN alert on that order.
FREEZING_ORDERS = {"O-SCHED-B", "O-VOVL-B", "O-NOCERT", "O-HOSP-VISIT", "O-XPROV-B",
                   "O-XVISIT-B"}
# Rules judged as their event arrives (not when a watermark passes): their
# alerts time the path from a posted event to the street topic.
ARRIVAL_RULES = {"LATE_SUBMISSION", "FACE_MISMATCH", "VOICE_UNCONFIRMED", "PHOTO_REUSE",
                 "GEO_DISTANCE", "GEO_DUAL_MISMATCH", "GPS_INACCURATE", "SHORT_DURATION",
                 "FROZEN_CAREGIVER", "SERVICE_MISMATCH"}


# ---- the service --------------------------------------------------------------------

class Router(Service):
    def __init__(self, workdir, redis_port, group):
        self.admin_port = free_port()
        self.group = group
        self.redis_port = redis_port
        extra = "routing:\n  street_partitions: 2\n"
        super().__init__("alert-router", checker_config("alert-router", self.admin_port,
                                                        redis_port, group, 1440, extra),
                         workdir)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port

    def restart(self):
        """A new process with the same config, group and log."""
        return Router(self.workdir, self.redis_port, self.group)

    def metric(self, name, **labels):
        """Sum of a metric's series whose labels include labels."""
        total = 0.0
        text = requests.get("http://127.0.0.1:%d/metrics" % self.admin_port, timeout=5).text
        for line in text.splitlines():
            m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
            if not m:
                continue
            have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(2))
        return total


def group_offsets(topics):
    """{TopicPartition: end offset} of every partition of topics now."""
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": "probe-" + uuid.uuid4().hex})
    try:
        ends = []
        for topic in topics:
            md = c.list_topics(topic, timeout=10).topics[topic]
            for p in md.partitions:
                _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                ends.append(TopicPartition(topic, p, high))
        return ends
    finally:
        c.close()


def wait_caught_up(group, timeout=90):
    """Waits until group has committed every partition of the router's inputs
    up to where they end now: everything produced so far was handled (and
    its alerts acknowledged)."""
    ends = group_offsets(INPUTS)

    def caught_up():
        c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": group,
                      "enable.auto.commit": False})
        try:
            committed = c.committed([TopicPartition(e.topic, e.partition) for e in ends],
                                    timeout=10)
        finally:
            c.close()
        return all(got.offset >= end.offset for got, end in zip(committed, ends)
                   if end.offset > 0)
    wait_until(caught_up, timeout, "group %s to read its inputs to the end" % group)


def commit_group(group, offsets):
    """Sets a consumer group's committed offsets (the group must be empty)."""
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=offsets, asynchronous=False)
    finally:
        c.close()


@pytest.fixture(scope="module")
def router(tmp_path_factory, redis_server):
    """The alert-router in a group of its own that starts at the current end of
    its inputs (the broker holds other tests' checks)."""
    group = "test-%s-alert-router" % uuid.uuid4().hex[:8]
    commit_group(group, group_offsets(INPUTS))
    svc = Router(str(tmp_path_factory.mktemp("alert-router")), redis_server.port, group)
    svc.wait_ready(svc.ready_url)
    holder = {"svc": svc}
    yield holder
    if holder["svc"].proc.poll() is None or not holder["svc"].log.closed:
        holder["svc"].stop()


# ---- reading topics -------------------------------------------------------------------

def read_topic(topic, prefix):
    """Every record of topic (from the beginning) keyed with prefix, decoded,
    with its broker timestamp; [] when the topic does not exist."""
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": "reader-" + uuid.uuid4().hex,
                  "enable.auto.commit": False})
    try:
        md = c.list_topics(timeout=10).topics.get(topic)
        if md is None or md.error is not None:
            return []
        ends = {}
        for p in md.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        if not ends:
            return []
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        records, done = [], set()
        deadline = time.monotonic() + 30
        while len(done) < len(ends) and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                positions = c.position([TopicPartition(topic, p) for p in ends])
                done.update(tp.partition for tp in positions if tp.offset >= ends[tp.partition])
                continue
            assert not msg.error(), msg.error()
            if msg.offset() + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
            key = msg.key().decode() if msg.key() else ""
            if not key.startswith(prefix):
                continue
            name, value = REGISTRY.decode(msg.value())
            records.append({"topic": topic, "key": key, "name": name, "value": value,
                            "partition": msg.partition(), "offset": msg.offset(),
                            "timestamp_ms": msg.timestamp()[1]})
        assert len(done) == len(ends), "could not read %s to the end" % topic
        return records
    finally:
        c.close()


def dead_letters(prefix):
    """The alert-router's dead letters of records keyed with prefix."""
    return [r["value"] for r in read_topic("dlq.alert-router", "")
            if r["value"]["key"] and r["value"]["key"].decode().startswith(prefix)]


def alert_topics(day):
    streets = sorted({e["street_id"] for e in day.elders})
    return ["alerts.all", "alerts.command"] + ["alerts.street." + s for s in streets]


def alerts_by_topic(topics, prefix):
    return {t: [r for r in read_topic(t, prefix) if r["name"] == "Alert"] for t in topics}


def pairs(records, day):
    """[(order, rule)] of alert records, unprefixed, in reading order."""
    return [(day.unprefix(r["value"]["order_id"]), r["value"]["rule"]) for r in records]


# ---- posting the day ----------------------------------------------------------------------


def extra_street_visit(day, ids):
    """An elder of a street nobody used before and a visit with a failed face
    match: its alert needs a topic created on first use."""
    street = ids + "S09"
    elder = {"elder_id": ids + "E900", "street_id": street, "community_id": "C90",
             "home": {"lat": round(true_home(1)[0], 7), "lon": round(true_home(1)[1], 7),
                      "crs": "WGS84"}}
    order = dict(day.orders[0], order_id=ids + "O-NEWSTREET", elder_id=ids + "E900",
                 caregiver_id=ids + "CG01", scheduled_start=day.at("20:00"))
    lat, lon = coords.offset_north(*true_home(1), 0.0)
    fix = {"lat": round(lat, 7), "lon": round(lon, 7), "accuracy_m": 8.0}
    check_in = {"event_id": ids + "O-NEWSTREET-in", "order_id": ids + "O-NEWSTREET",
                "caregiver_id": ids + "CG01", "at": day.at("20:02"), "gps": fix,
                "face_match": 0.5, "photo_sha256": "%064x" % (uuid.uuid4().int)}
    check_out = {"event_id": ids + "O-NEWSTREET-out", "order_id": ids + "O-NEWSTREET",
                 "caregiver_id": ids + "CG01", "at": day.at("21:05"), "gps": fix,
                 "voiceprint_match": 0.9, "items": ["bathing"],
                 "photo_sha256": "%064x" % (uuid.uuid4().int)}
    return street, elder, order, [("check-in", check_in), ("check-out", check_out)]


def post_everything(ingest, keys, day, extra=None, half_way=None):
    """The day's reference data, orders and events one by one (the post time
    of each event is kept), the extra street's visit, then the closing visit;
    half_way() is called after half the events. Returns {event_id:
    wall-clock ms when its post was sent}."""
    _, elder, order, extra_events = extra or (None, None, None, [])
    for kind, bodies in (("elder", day.elders + ([elder] if elder else [])),
                         ("caregiver", day.caregivers), ("contract", day.contracts),
                         ("elder-status", day.elder_statuses)):
        for body in bodies:
            post(ingest, keys.registry, kind, body)
    for body in day.orders + ([order] if order else []):
        post(ingest, keys.importer, "order", body)
    posted = {}
    events = day.events + extra_events
    for i, (kind, body) in enumerate(events):
        if half_way and i == len(events) // 2:
            half_way()
        posted[body["event_id"]] = time.time() * 1000.0
        post(ingest, keys.importer, kind, body)
    post(ingest, keys.importer, "order", day.closing_order)
    for kind, body in day.closing:
        posted[body["event_id"]] = time.time() * 1000.0
        post(ingest, keys.importer, kind, body)
    return posted


# ---- what the day must give -------------------------------------------------------------------

def expected_alerts(day):
    """{(order, rule): colour} unprefixed: one alert per (order, rule) of the
    day's flagged verdicts, and one per freeze."""
    order_of = {day.unprefix(b["event_id"]): day.unprefix(b["order_id"]) for _, b in day.events}
    out = {}
    for (subject, rule), colour in EXPECTED.items():
        order = order_of.get(subject, subject)
        assert out.get((order, rule), colour) == colour
        out[(order, rule)] = colour
    for order in FREEZING_ORDERS:
        out[(order, "CAREGIVER_FROZEN")] = "RED"
    return out


def street_of_orders(day):
    street = {day.unprefix(e["elder_id"]): e["street_id"] for e in day.elders}
    return {day.unprefix(o["order_id"]): street[day.unprefix(o["elder_id"])] for o in day.orders}


def wait_for_alerts(topics, prefix, wanted_count, timeout=120):
    """Polls until alerts.all holds wanted_count alerts of prefix, then until
    nothing new comes on any topic for three seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = alerts_by_topic(topics, prefix)
        if len(got["alerts.all"]) >= wanted_count:
            break
        assert time.monotonic() < deadline, "only %d of %d alerts: %s" % (
            len(got["alerts.all"]), wanted_count, sorted(r["value"]["alert_id"]
                                                         for r in got["alerts.all"]))
        time.sleep(0.5)
    return settle(topics, prefix)


def settle(topics, prefix, quiet=3.0):
    last, since = None, time.monotonic()
    while True:
        got = alerts_by_topic(topics, prefix)
        counts = {t: len(v) for t, v in got.items()}
        if counts != last:
            last, since = counts, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return got
        time.sleep(0.5)


def percentile(values, q):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))
    return ordered[k]


# ---- the docs' commands --------------------------------------------------------------------

def docs_blocks():
    """The code blocks of the README's section for street offices."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Alerts: how street offices subscribe", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def run_docs_commands(tmp_path):
    """Runs every sh command of the README's alerts section (against the test broker);
    returns {"kcat": stdout, "python": stdout}."""
    blocks = docs_blocks()
    python = [body for lang, body in blocks if lang == "python"]
    assert len(python) == 1
    assert len(python[0].strip().splitlines()) <= 22, "the consumer should stay short"
    script = tmp_path / "street_alerts.py"
    script.write_text(python[0], encoding="utf-8")
    outputs = {}
    commands = [line for lang, body in blocks if lang == "sh"
                for line in body.strip().splitlines() if line.strip()]
    assert commands, "no commands in the README's alerts section"
    for command in commands:
        command = command.replace("127.0.0.1:9092", KAFKA_BROKERS)
        if command.startswith("kcat "):
            r = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            outputs["kcat"] = r.stdout
        elif command.startswith("python3 street_alerts.py "):
            args = command.split()[2:]
            r = subprocess.run([sys.executable, str(script)] + args, cwd=REPO,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            outputs["python"] = r.stdout
        else:
            pytest.fail("the README has a command the test does not run: %s" % command)
    assert set(outputs) == {"kcat", "python"}
    return outputs


# ---- the tests ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def day_run(ingest, keys, checkers, router):
    """Posts the day once for the tests of this module; returns what they
    check against."""
    ids = "T%s-" % uuid.uuid4().hex[:10]
    day = Day(ids, allocate_day())
    extra = extra_street_visit(day, ids)
    start = group_offsets(INPUTS)
    checks = TopicWatch(INPUTS)
    try:
        posted = post_everything(ingest, keys, day, extra)
        expected = expected_alerts(day)
        topics = alert_topics(day) + ["alerts.street." + extra[0]]
        got = wait_for_alerts(topics, ids, len(expected) + 1)
        inputs = [r for r in checks.new_records() if r["key"].startswith(ids)]
    finally:
        checks.close()
    return {"ids": ids, "day": day, "extra": extra, "start": start, "posted": posted,
            "expected": expected, "topics": topics, "got": got, "inputs": inputs}


def test_each_topic_gets_exactly_its_alerts(day_run, router):
    day, got, expected = day_run["day"], day_run["got"], day_run["expected"]
    street_of = street_of_orders(day)
    extra_street = day_run["extra"][0]
    extra_alert = ("O-NEWSTREET", "FACE_MISMATCH")
    for topic, records in got.items():
        # Each alert once per topic: no duplicates anywhere.
        assert len(pairs(records, day)) == len(set(pairs(records, day))), topic
    assert set(pairs(got["alerts.all"], day)) == set(expected) | {extra_alert}
    assert set(pairs(got["alerts.command"], day)) == {k for k, c in expected.items()
                                                      if c == "RED"}
    for street in ("S01", "S02"):
        assert set(pairs(got["alerts.street." + street], day)) == {
            k for k in expected if street_of[k[0]] == street}, street
    assert pairs(got["alerts.street." + extra_street], day) == [extra_alert]
    # Both streets had alerts of every colour the day has.
    colours = {r["value"]["colour"] for r in got["alerts.street.S01"]}
    assert colours == {"YELLOW", "ORANGE", "RED"}
    assert dead_letters(day_run["ids"]) == []
    assert router["svc"].metric("carewatch_alerts_total") >= len(expected) + 1
    assert router["svc"].metric("carewatch_alerts_total", colour="RED",
                                rule="CAREGIVER_FROZEN") >= 2


def test_alerts_are_enriched(day_run):
    day, ids = day_run["day"], day_run["ids"]
    alerts = {(day.unprefix(r["value"]["order_id"]), r["value"]["rule"]): r
              for r in day_run["got"]["alerts.all"]}
    elders = {e["elder_id"]: e for e in day.elders}
    orders = {o["order_id"]: o for o in day.orders}
    caregivers = {c["caregiver_id"]: c for c in day.caregivers}
    for (order, rule), r in alerts.items():
        a = r["value"]
        assert r["key"] == a["order_id"] == ids + order
        assert a["alert_id"] == "%s%s:%s" % (ids, order, rule)
        if order == "O-NEWSTREET":
            continue
        o = orders[ids + order]
        assert a["elder_id"] == o["elder_id"]
        assert a["street_id"] == elders[o["elder_id"]]["street_id"]
        assert a["community_id"] == elders[o["elder_id"]]["community_id"]
        assert a["caregiver_id"] == o["caregiver_id"]
        assert a["provider_id"] == caregivers[o["caregiver_id"]]["provider_id"]
        assert a["message_zh"] and a["message_en"]
        scheduled = datetime.datetime.fromisoformat(o["scheduled_start"])
        assert a["scheduled_start"] == scheduled.astimezone(datetime.timezone.utc)
        assert a["scheduled_minutes"] == o["scheduled_minutes"]
    travel = alerts[("O-TRAVEL-B", "IMPOSSIBLE_TRAVEL")]["value"]
    assert travel["colour"] == "ORANGE" and travel["street_id"] == "S02"
    assert travel["measured"] == pytest.approx(120.0, abs=0.5) and travel["threshold"] == 80.0
    assert ("护理员 %sCG05 在订单 %sO-TRAVEL-B 签到时移动速度 120.0 km/h，超过 80 km/h（不可能的行程）"
            % (ids, ids)) in travel["message_zh"]
    assert "预约 %s 10:15，60 分钟" % day.date in travel["message_zh"]
    assert "faster than 80 km/h (impossible travel)" in travel["message_en"]
    away = alerts[("O-AWAY", "GEO_DISTANCE")]["value"]
    assert away["measured"] == pytest.approx(300.0, abs=0.5) and away["threshold"] == 30.0
    frozen = alerts[("O-SCHED-B", "CAREGIVER_FROZEN")]["value"]
    assert frozen["colour"] == "RED" and frozen["caregiver_id"] == ids + "CG11"
    assert frozen["measured"] is None
    assert "排班冲突（SCHEDULE_OVERLAP）已被冻结" in frozen["message_zh"]
    face = alerts[("O-FACE", "FACE_MISMATCH")]["value"]
    assert "0.62" in face["message_zh"] and face["colour"] == "ORANGE"
    # The alert is the first flagged check's (the check-in, not the
    # check-out that is flagged too), with its event time.
    first = {}
    for c in day_run["inputs"]:
        if c["name"] == "CheckResult" and c["value"]["outcome"] != "PASS":
            first.setdefault((c["value"]["order_id"], c["value"]["rule"]), c["value"])
    assert first[(ids + "O-AWAY", "GEO_DISTANCE")]["event_id"] == ids + "O-AWAY-in"
    assert away["at"] == first[(ids + "O-AWAY", "GEO_DISTANCE")]["at"]


def test_new_street_topic_was_created(day_run):
    street = day_run["extra"][0]
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": "probe-" + uuid.uuid4().hex})
    try:
        md = c.list_topics(timeout=10).topics["alerts.street." + street]
        assert len(md.partitions) == 2  # routing.street_partitions of the test's config
    finally:
        c.close()


def test_latency_from_post_to_street_topic(day_run, router):
    """Prints (does not assert) the latency from posting an event to its alert
    on the street topic, for the rules judged on arrival."""
    posted = day_run["posted"]
    first_check = {}
    for r in day_run["inputs"]:
        v = r["value"]
        if r["name"] == "CheckResult" and v["outcome"] != "PASS":
            first_check.setdefault((v["order_id"], v["rule"]), v)
    samples, by_rule = [], {}
    for topic, records in day_run["got"].items():
        if not topic.startswith("alerts.street."):
            continue
        for r in records:
            a = r["value"]
            if a["rule"] not in ARRIVAL_RULES:
                continue
            # Raised by the first flagged check of its (order, rule), about a
            # posted event.
            check = first_check[(a["order_id"], a["rule"])]
            samples.append(r["timestamp_ms"] - posted[check["event_id"]])
            by_rule.setdefault(a["rule"], []).append(samples[-1])
    assert len(samples) >= 8
    print("\nalert latency, event posted -> alert on alerts.street.*: n=%d p50=%.0f ms "
          "p99=%.0f ms max=%.0f ms" % (len(samples), percentile(samples, 0.50),
                                       percentile(samples, 0.99), max(samples)))
    print("by rule (ms): " + ", ".join("%s %s" % (rule, "/".join("%.0f" % v for v in values))
                                       for rule, values in sorted(by_rule.items())))
    svc = router["svc"]
    count = svc.metric("carewatch_alert_routing_seconds_count")
    if count:
        print("alert-router's share (record handled -> alert acknowledged): mean %.1f ms "
              "over %d alerts" % (1000 * svc.metric("carewatch_alert_routing_seconds_sum")
                                  / count, count))
    assert all(s > 0 for s in samples), samples


def reproduce_flagged(day_run):
    """Produces the day's flagged checks and freezes again, byte for byte.
    Returns how many."""
    flagged = [r for r in day_run["inputs"]
               if r["name"] == "CaregiverStatusChanged" or r["value"]["outcome"] != "PASS"]
    p = Producer({"bootstrap.servers": KAFKA_BROKERS})
    for r in flagged:
        p.produce(r["topic"], key=r["key"].encode(), value=REGISTRY.encode(r["name"], r["value"]))
    assert p.flush(30) == 0
    return len(flagged)


def assert_no_new_alerts(day_run, baseline):
    got = settle(day_run["topics"], day_run["ids"])
    for topic in day_run["topics"]:
        assert sorted(pairs(got[topic], day_run["day"])) == sorted(
            pairs(baseline[topic], day_run["day"])), topic


def test_re_emitted_checks_add_no_alert(day_run, router):
    """The day's flagged checks and freezes produced again, byte for byte (new
    offsets, as a checker's replay gives): every one is a duplicate."""
    svc = router["svc"]
    baseline = settle(day_run["topics"], day_run["ids"])
    before = svc.metric("carewatch_alert_decisions_total", decision="duplicate")
    flagged = reproduce_flagged(day_run)
    wait_caught_up(svc.group)
    assert svc.metric("carewatch_alert_decisions_total", decision="duplicate") >= before + flagged
    assert_no_new_alerts(day_run, baseline)


def test_replay_from_reset_offsets_adds_no_alert(day_run, router):
    """The router stopped, its group's offsets reset to before the day, and
    started again: it reads every check of the day again and produces
    nothing; each alert's own message is recognised as delivered."""
    baseline = settle(day_run["topics"], day_run["ids"])
    old = router["svc"]
    old.stop()
    commit_group(old.group, day_run["start"])
    svc = old.restart()
    router["svc"] = svc
    svc.wait_ready(svc.ready_url)
    wait_caught_up(svc.group)
    assert_no_new_alerts(day_run, baseline)
    # Every alert's own message was read again and known as delivered.
    assert svc.metric("carewatch_alert_decisions_total", decision="delivered") >= len(
        baseline["alerts.all"])


def test_docs_commands_read_the_street_topic(day_run, tmp_path):
    ids, day = day_run["ids"], day_run["day"]
    want = settle(["alerts.street.S01"], ids)["alerts.street.S01"]
    outputs = run_docs_commands(tmp_path)
    lines = [line.split() for line in outputs["kcat"].splitlines() if line.strip()]
    mine = [fields for fields in lines if fields[1].startswith(ids)]
    assert sorted(f[1] for f in mine) == sorted(r["key"] for r in want)
    assert sorted(int(f[0]) for f in mine) == sorted(r["timestamp_ms"] for r in want)
    decoded = [json.loads(line) for line in outputs["python"].splitlines() if line.strip()]
    mine = [a for a in decoded if a["order_id"].startswith(ids)]
    assert sorted(a["alert_id"] for a in mine) == sorted(r["value"]["alert_id"] for r in want)
    by_id = {r["value"]["alert_id"]: r["value"] for r in want}
    for a in mine:
        ref = by_id[a["alert_id"]]
        for field in ("rule", "colour", "street_id", "community_id", "message_zh",
                      "message_en", "measured", "threshold"):
            assert a[field] == ref[field], field
    assert {day.unprefix(a["order_id"]) for a in mine} <= set(street_of_orders(day))


def test_kill9_mid_day_loses_no_alert(ingest, keys, checkers, router):
    """The router killed with SIGKILL half way through a day and started
    again: every alert is there; a message replayed after the crash may
    produce its alert once more, under the same id and with the same
    content."""
    ids = "T%s-" % uuid.uuid4().hex[:10]
    day = Day(ids, allocate_day())

    def kill_and_restart():
        router["svc"].kill9()
        router["svc"] = router["svc"].restart()
        router["svc"].wait_ready(router["svc"].ready_url)

    post_everything(ingest, keys, day, half_way=kill_and_restart)
    expected = expected_alerts(day)
    topics = alert_topics(day)
    got = wait_for_alerts(topics, ids, len(expected))
    street_of = street_of_orders(day)
    assert set(pairs(got["alerts.all"], day)) == set(expected)
    assert set(pairs(got["alerts.command"], day)) == {k for k, c in expected.items()
                                                      if c == "RED"}
    for street in ("S01", "S02"):
        assert set(pairs(got["alerts.street." + street], day)) == {
            k for k in expected if street_of[k[0]] == street}
    for topic, records in got.items():
        copies = {}
        for r in records:
            v = dict(r["value"], raised_at=None)
            copies.setdefault(v["alert_id"], []).append(v)
        for alert_id, same in copies.items():
            assert all(c == same[0] for c in same), (topic, alert_id)


def test_unknown_order_and_garbage_are_dead_lettered(router):
    ids = "T%s-" % uuid.uuid4().hex[:10]
    watch = TopicWatch(["dlq.alert-router"])
    try:
        check = {"check_id": ids + "ghost-in:GEO_DISTANCE", "order_id": ids + "ghost",
                 "caregiver_id": ids + "nobody", "event_id": ids + "ghost-in",
                 "rule": "GEO_DISTANCE", "outcome": "YELLOW", "measured": 99.0,
                 "threshold": 30.0, "unit": "m", "checker": "geo-validator",
                 "at": 1720400520000, "produced_at": 1720400520000}
        p = Producer({"bootstrap.servers": KAFKA_BROKERS})
        p.produce("visit.checks", key=(ids + "ghost").encode(),
                  value=REGISTRY.encode("CheckResult", check))
        p.produce("visit.checks", key=(ids + "junk").encode(), value=b"not an avro record")
        assert p.flush(30) == 0
        letters = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(letters) < 2:
            letters += [r["value"] for r in watch.new_records()
                        if r["value"]["key"] and r["value"]["key"].decode().startswith(ids)]
            time.sleep(0.5)
    finally:
        watch.close()
    reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
    assert reasons == ["undecodable", "unknown order %sghost" % ids], reasons
    assert all(letter["service"] == "alert-router" and letter["source_topic"] == "visit.checks"
               for letter in letters)
    ghost = [letter for letter in letters if letter["reason"].startswith("unknown")][0]
    assert ghost["payload"] == REGISTRY.encode("CheckResult", check)
    assert read_topic("alerts.all", ids) == []
    router["svc"].assert_running()


def test_street_that_cannot_name_a_topic_still_alerts_elsewhere(ingest, keys, router):
    """Ids may hold ':', topic names may not: the alert reaches alerts.all,
    and the miss of its street topic is dead-lettered with the reason."""
    ids = "T%s-" % uuid.uuid4().hex[:10]
    street = ids + "S:7"
    post(ingest, keys.registry, "elder", {
        "elder_id": ids + "E1", "street_id": street, "community_id": "C1",
        "home": {"lat": 41.3, "lon": 123.7, "crs": "WGS84"}})
    post(ingest, keys.registry, "caregiver", {"caregiver_id": ids + "CG1", "provider_id": "P01",
                                              "certified": True})
    post(ingest, keys.importer, "order", {
        "order_id": ids + "O1", "elder_id": ids + "E1", "caregiver_id": ids + "CG1",
        "service_type": "bathing", "scheduled_start": "2030-01-02T09:00:00+08:00",
        "scheduled_minutes": 60})
    check = {"check_id": ids + "O1-in:FACE_MISMATCH", "order_id": ids + "O1",
             "caregiver_id": ids + "CG1", "event_id": ids + "O1-in", "rule": "FACE_MISMATCH",
             "outcome": "ORANGE", "measured": 0.5, "threshold": 0.8, "unit": "score",
             "checker": "ingest", "at": 1893546120000, "produced_at": 1893546120000}
    p = Producer({"bootstrap.servers": KAFKA_BROKERS})
    p.produce("visit.checks", key=(ids + "O1").encode(),
              value=REGISTRY.encode("CheckResult", check))
    assert p.flush(30) == 0
    wait_until(lambda: read_topic("alerts.all", ids) and dead_letters(ids), 60,
               "the alert and the dead letter of its street topic")
    alerts = read_topic("alerts.all", ids)
    assert [(a["value"]["alert_id"], a["value"]["street_id"]) for a in alerts] == [
        (ids + "O1:FACE_MISMATCH", street)]
    letters = dead_letters(ids)
    assert len(letters) == 1
    assert letters[0]["reason"] == ("alert %sO1:FACE_MISMATCH not delivered to alerts.street.%s: "
                                    "not a valid topic name" % (ids, street))
    assert letters[0]["payload"] == REGISTRY.encode("CheckResult", check)
    assert router["svc"].metric("carewatch_alert_unroutable_total", rule="FACE_MISMATCH") >= 1


def test_redis_loss_is_rebuilt_without_alerting_twice(day_run, router, checkers, redis_server,
                                                      ingest):
    """Redis flushed: the router rebuilds orders and claims from Kafka before
    routing again, and the day's checks produced once more find their
    claims. (The checkers are stopped first: their own replay after a loss
    is test_visit_checks' concern.)"""
    for svc in checkers.values():
        svc.stop()
    svc = router["svc"]
    baseline = settle(day_run["topics"], day_run["ids"])
    rebuilds = svc.log_text().count("alert state rebuilt")
    assert redis_server.cli("FLUSHALL") == "OK"
    ingest.wait_ready("http://127.0.0.1:%d/readyz" % ingest.admin_port, timeout=60)
    before = svc.metric("carewatch_alert_decisions_total", decision="duplicate")
    flagged = reproduce_flagged(day_run)
    wait_caught_up(svc.group)
    assert svc.metric("carewatch_alert_decisions_total", decision="duplicate") >= before + flagged
    assert svc.log_text().count("alert state rebuilt") == rebuilds + 1
    assert_no_new_alerts(day_run, baseline)
    # Nothing handled in the moment after the loss was taken for unknown.
    assert dead_letters(day_run["ids"]) == []
