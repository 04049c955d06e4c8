"""The three checkers on the real stack: the scripted day through ingest
gives exactly the expected verdicts on visit.checks (read back and decoded
independently); the same day out of order and with duplicates gives the same
set; a frozen caregiver's next check-in is FROZEN_CAREGIVER until unfrozen;
unknown references, undecodable and oversized records are dead-lettered; a checker
killed with SIGKILL mid-stream loses and contradicts nothing."""

import json
import random
import time

import pytest
from confluent_kafka import Producer

from carewatch_py.demo_day import Day, EXPECTED, INTAKE_RULES
from conftest import KAFKA_BROKERS, REGISTRY, TopicWatch, allocate_day, post

CHECK_IN_RULES = {"LATE_SUBMISSION", "FACE_MISMATCH", "PHOTO_REUSE", "GEO_DISTANCE",
                  "GEO_DUAL_MISMATCH", "GPS_INACCURATE", "IMPOSSIBLE_TRAVEL", "NO_CHECKOUT",
                  "VISIT_OVERLAP", "FROZEN_CAREGIVER", "ELDER_UNAVAILABLE",
                  "CROSS_PROVIDER_OVERLAP"}
CHECK_OUT_RULES = {"LATE_SUBMISSION", "VOICE_UNCONFIRMED", "PHOTO_REUSE", "GEO_DISTANCE",
                   "GEO_DUAL_MISMATCH", "GPS_INACCURATE", "SHORT_DURATION", "FROZEN_CAREGIVER",
                   "SERVICE_MISMATCH", "DAILY_HOURS_EXCEEDED"}
ORDER_RULES = {"NO_SHOW", "SCHEDULE_OVERLAP", "UNCERTIFIED", "CROSS_PROVIDER_OVERLAP"}
CHECKER_EXPECTED = {k: v for k, v in EXPECTED.items() if k[1] not in INTAKE_RULES}



def post_batch(ingest, key, events):
    r = ingest.client.post("/v1/batch", key,
                           data="".join(json.dumps(dict(b, type=k)) + "\n" for k, b in events),
                           headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == 0, r.text


def post_elder_statuses(ingest, keys, day, register=False):
    """The day's hospital stays (POST /v1/elders/{id}/status); register:
    the elders concerned first."""
    for body in day.elder_statuses:
        if register:
            post(ingest, keys.registry, "elder",
                 [e for e in day.elders if e["elder_id"] == body["elder_id"]][0])
        post(ingest, keys.registry, "elder-status", body)


def post_day_start(ingest, keys, day):
    for kind, bodies in (("elder", day.elders), ("caregiver", day.caregivers),
                         ("contract", day.contracts), ("elder-status", day.elder_statuses)):
        for body in bodies:
            post(ingest, keys.registry, kind, body)
    for body in day.orders:
        post(ingest, keys.importer, "order", body)


def post_closing(ingest, keys, day):
    post(ingest, keys.importer, "order", day.closing_order)
    for kind, body in day.closing:
        post(ingest, keys.importer, kind, body)


def subjects(day):
    """Every (subject, rule) the checkers and intake must judge for the day
    (the closing visit aside)."""
    wanted = set()
    for order in day.orders:
        wanted |= {(order["order_id"], rule) for rule in ORDER_RULES}
    in_events = {b["order_id"] for k, b in day.events if k == "check-in"}
    for kind, body in day.events:
        rules = CHECK_IN_RULES if kind == "check-in" else CHECK_OUT_RULES
        for rule in rules:
            if (rule in ("SHORT_DURATION", "DAILY_HOURS_EXCEEDED")
                    and body["order_id"] not in in_events):
                continue
            wanted.add((body["event_id"], rule))
    return wanted


class Verdicts:
    """visit.checks and caregiver.status as read back since the start."""

    def __init__(self):
        self.watch = TopicWatch(["visit.checks", "caregiver.status"])
        self.records = []

    def poll(self):
        self.records += self.watch.new_records()
        return self.records

    def checks(self, prefix):
        return [r["value"] for r in self.records
                if r["topic"] == "visit.checks" and r["key"].startswith(prefix)]

    def wait_for(self, prefix, wanted, timeout=90):
        """Polls until every (subject, rule) of wanted was judged, then until
        nothing new comes for two seconds. Returns {(subject, rule): [outcomes]}."""
        deadline = time.monotonic() + timeout
        quiet_since, count = None, -1
        while True:
            self.poll()
            got = {}
            for c in self.checks(prefix):
                got.setdefault((c["check_id"].rsplit(":", 1)[0], c["rule"]), []).append(
                    c["outcome"])
            if not wanted <= set(got):
                quiet_since = None
                assert time.monotonic() < deadline, "never judged: %s" % sorted(
                    wanted - set(got))[:20]
            elif len(self.records) != count:
                count, quiet_since = len(self.records), time.monotonic()
            elif time.monotonic() - quiet_since >= 2.0:
                return got
            time.sleep(0.5)

    def close(self):
        self.watch.close()


@pytest.fixture
def verdicts():
    v = Verdicts()
    yield v
    v.close()


def flagged(got, day, checkers_only=False):
    """The non-PASS verdicts, unprefixed; every subject judged consistently."""
    out = {}
    for (subject, rule), outcomes in got.items():
        assert len(set(outcomes)) == 1, "contradicting verdicts for %s %s: %s" % (
            subject, rule, outcomes)
        if checkers_only and rule in INTAKE_RULES:
            continue
        if outcomes[0] != "PASS":
            out[(day.unprefix(subject), rule)] = outcomes[0]
    return out


def test_a_homes_geofence_radius_replaces_the_rules(ingest, keys, checkers, verdicts, ids):
    """The registry gives O-AWAY's home (fixes 300 m off) a radius of 400 m:
    GEO_DISTANCE passes there, against 400 m; every other home keeps 30 m."""
    day = Day(ids, allocate_day())
    away_elder = next(o["elder_id"] for o in day.orders if o["order_id"] == ids + "O-AWAY")
    for e in day.elders:
        if e["elder_id"] == away_elder:
            e["geofence_radius_m"] = 400
    post_day_start(ingest, keys, day)
    post_batch(ingest, keys.importer, day.events)
    post_closing(ingest, keys, day)
    got = verdicts.wait_for(ids, subjects(day))
    expected = {k: v for k, v in EXPECTED.items() if not k[0].startswith("O-AWAY-")}
    assert flagged(got, day) == expected
    checks = {(c["check_id"].rsplit(":", 1)[0], c["rule"]): c for c in verdicts.checks(ids)}
    c = checks[(ids + "O-AWAY-in", "GEO_DISTANCE")]
    assert c["outcome"] == "PASS" and c["threshold"] == 400.0
    assert c["measured"] == pytest.approx(300.0, abs=0.5)
    assert checks[(ids + "O-HONEST-in", "GEO_DISTANCE")]["threshold"] == 30.0


def test_scripted_day_gives_exactly_the_expected_verdicts(ingest, keys, checkers, verdicts, ids):
    day = Day(ids, allocate_day())
    post_day_start(ingest, keys, day)
    post_batch(ingest, keys.importer, day.events)
    post_closing(ingest, keys, day)
    got = verdicts.wait_for(ids, subjects(day))
    assert flagged(got, day) == EXPECTED

    checks = {(c["check_id"].rsplit(":", 1)[0], c["rule"]): c for c in verdicts.checks(ids)}
    c = checks[(ids + "O-AWAY-in", "GEO_DISTANCE")]
    assert c["measured"] == pytest.approx(300.0, abs=0.5) and c["threshold"] == 30.0
    assert c["unit"] == "m" and c["checker"] == "geo-validator"
    c = checks[(ids + "O-DUAL-in", "GEO_DUAL_MISMATCH")]
    assert c["measured"] == pytest.approx(500.0, abs=0.5)
    c = checks[(ids + "O-FOGGY-in", "GPS_INACCURATE")]
    assert (c["measured"], c["threshold"], c["unit"]) == (120.0, 50.0, "m")
    c = checks[(ids + "O-FOGGY-out", "GPS_INACCURATE")]
    assert (c["outcome"], c["measured"]) == ("PASS", 8.0)
    c = checks[(ids + "O-TRAVEL-B-in", "IMPOSSIBLE_TRAVEL")]
    assert c["measured"] == pytest.approx(120.0, abs=0.5) and c["unit"] == "km/h"
    c = checks[(ids + "O-SHORT-out", "SHORT_DURATION")]
    assert (c["measured"], c["threshold"]) == (30.0, 55.0)
    # Decided when O-VOVL-B checked in, neither visit had checked out: each
    # counts as open for 240 minutes (15:02 + 240 min - 15:40 = 202 min).
    assert checks[(ids + "O-VOVL-B-in", "VISIT_OVERLAP")]["measured"] == 202.0
    assert checks[(ids + "O-SCHED-B", "SCHEDULE_OVERLAP")]["measured"] == 30.0
    # Every home registered in GCJ-02 or BD-09 was converted: honest fixes at
    # the true home are within a metre.
    for order in ("O-HONEST", "O-LATE", "O-FACE", "O-PHOTO", "O-SHORT"):
        assert checks[(ids + order + "-in", "GEO_DISTANCE")]["measured"] < 1.0

    frozen = {r["value"]["caregiver_id"]: r["value"] for r in verdicts.records
              if r["topic"] == "caregiver.status" and r["key"].startswith(ids)}
    assert sorted(frozen) == [ids + cg for cg in ("CG10", "CG11", "CG12", "CG14", "CG16", "CG18")]
    assert frozen[ids + "CG16"]["reason"] == "CROSS_PROVIDER_OVERLAP on order %sO-XPROV-B" % ids
    # The order-level verdict measures the schedules' overlap (16:30-17:00),
    # the check-in's the visits' as known then: both still open, each for
    # 240 minutes (18:02 + 240 min - 18:40 = 202 min).
    assert checks[(ids + "O-XPROV-B", "CROSS_PROVIDER_OVERLAP")]["measured"] == 30.0
    assert checks[(ids + "O-XVISIT-B-in", "CROSS_PROVIDER_OVERLAP")]["measured"] == 202.0
    assert checks[(ids + "O-XVISIT-B", "CROSS_PROVIDER_OVERLAP")]["outcome"] == "PASS"
    assert frozen[ids + "CG14"]["reason"] == "ELDER_UNAVAILABLE on order %sO-HOSP-VISIT" % ids
    assert frozen[ids + "CG11"]["reason"] == "SCHEDULE_OVERLAP on order %sO-SCHED-B" % ids
    assert frozen[ids + "CG12"]["reason"] == "UNCERTIFIED on order %sO-NOCERT" % ids
    # Nursing by a caregiver registered without a certificate; the same
    # caregiver's certified orders would pass (rules.certified_service_types).
    c = checks[(ids + "O-NOCERT", "UNCERTIFIED")]
    assert (c["measured"], c["threshold"], c["checker"]) == (0.0, 1.0, "overlap-detector")
    assert checks[(ids + "O-HONEST", "UNCERTIFIED")]["measured"] == 1.0
    # CG13's day: 211 + 211 minutes pass, the third visit makes it 633.
    c = checks[(ids + "O-LONG-2-out", "DAILY_HOURS_EXCEEDED")]
    assert (c["outcome"], c["measured"], c["threshold"]) == ("PASS", 422.0, 600.0)
    c = checks[(ids + "O-LONG-3-out", "DAILY_HOURS_EXCEEDED")]
    assert (c["outcome"], c["measured"], c["unit"]) == ("ORANGE", 633.0, "min")
    assert frozen[ids + "CG10"]["status"] == "FROZEN"

    # The frozen caregiver checks in again: FROZEN_CAREGIVER.
    for kind, body in day.after_freeze:
        post(ingest, keys.importer, kind, body)
    wanted = {(ids + "O-VOVL-C-in", rule) for rule in ("FROZEN_CAREGIVER", "GEO_DISTANCE")}
    got = verdicts.wait_for(ids, wanted)
    assert set(got[(ids + "O-VOVL-C-in", "FROZEN_CAREGIVER")]) == {"RED"}

    # A check-in accepted just before the unfreeze is judged frozen however
    # late the overlap-detector processes it; the one after it passes.
    late_day = day.closing[0][1]["at"][:10]
    order = dict(day.closing_order, order_id=ids + "O-VOVL-E", caregiver_id=ids + "CG10",
                 scheduled_start=day.at("09:00", late_day))
    post(ingest, keys.importer, "order", order)
    check_in = dict(day.closing[0][1], event_id=ids + "O-VOVL-E-in", order_id=ids + "O-VOVL-E",
                    caregiver_id=ids + "CG10", at=day.at("09:02", late_day))
    post(ingest, keys.importer, "check-in", check_in)
    check_out = dict(day.closing[1][1], event_id=ids + "O-VOVL-E-out", order_id=ids + "O-VOVL-E",
                     caregiver_id=ids + "CG10", at=day.at("10:05", late_day))
    post(ingest, keys.importer, "check-out", check_out)
    r = ingest.client.post("/v1/caregivers/%sCG10/unfreeze" % ids, keys.admin,
                           {"reason": "schedule checked by the street office"})
    assert r.status_code == 202, r.text
    order = dict(day.closing_order, order_id=ids + "O-VOVL-D", caregiver_id=ids + "CG10",
                 scheduled_start=day.at("12:00", day.closing[0][1]["at"][:10]))
    post(ingest, keys.importer, "order", order)
    check_in = dict(day.closing[0][1], event_id=ids + "O-VOVL-D-in", order_id=ids + "O-VOVL-D",
                    caregiver_id=ids + "CG10",
                    at=day.at("12:02", day.closing[0][1]["at"][:10]))
    post(ingest, keys.importer, "check-in", check_in)
    got = verdicts.wait_for(ids, {(ids + "O-VOVL-D-in", "FROZEN_CAREGIVER"),
                                  (ids + "O-VOVL-E-out", "FROZEN_CAREGIVER")})
    assert set(got[(ids + "O-VOVL-E-in", "FROZEN_CAREGIVER")]) == {"RED"}
    assert set(got[(ids + "O-VOVL-E-out", "FROZEN_CAREGIVER")]) == {"RED"}
    assert set(got[(ids + "O-VOVL-D-in", "FROZEN_CAREGIVER")]) == {"PASS"}
    unfrozen = [r["value"] for r in verdicts.records if r["topic"] == "caregiver.status"
                and r["key"] == ids + "CG10" and r["value"]["status"] == "ACTIVE"]
    assert [u["reason"] for u in unfrozen] == ["schedule checked by the street office"]


def reproduce(records):
    """Produces records again, byte for byte: duplicates as Kafka delivers
    them after a producer retry or a replay."""
    p = Producer({"bootstrap.servers": KAFKA_BROKERS})
    for r in records:
        p.produce(r["topic"], key=r["key"].encode(), value=REGISTRY.encode(r["name"], r["value"]))
    assert p.flush(30) == 0


def disorder(events, rnd, keep_whole=(), person_of=None):
    """The events as many phones deliver them: the caregivers' streams
    interleaved at random, and within a caregiver's stream some visits'
    check-out before their check-in. Each caregiver's visits keep their
    order: an overlap is judged when the later check-in is processed
    (docs/design.md §4.1), so reordering one caregiver's visits would change the
    verdicts by design. One person's registrations (person_of: caregiver ->
    person) are one stream, as ingest keys them. Streams in keep_whole keep
    their events as posted."""
    person_of = person_of or {}
    streams = {}
    for kind, body in events:
        cg = body["caregiver_id"]
        streams.setdefault(person_of.get(cg, cg), []).append((kind, body))
    for cg, stream in streams.items():
        if cg in keep_whole:
            continue
        for i in range(len(stream) - 1):
            (k1, b1), (k2, b2) = stream[i], stream[i + 1]
            if (k1, k2) == ("check-in", "check-out") and b1["order_id"] == b2["order_id"] \
                    and rnd.random() < 0.5:
                stream[i], stream[i + 1] = stream[i + 1], stream[i]
    out = []
    queues = [list(s) for s in streams.values()]
    while queues:
        q = queues[rnd.randrange(len(queues))]
        out.append(q.pop(0))
        queues = [q for q in queues if q]
    return out


def test_a_whole_day_in_one_batch_gives_the_same_verdicts(ingest, keys, checkers, verdicts,
                                                          ids):
    """Elders, caregivers, contracts, orders and visits in one /v1/batch:
    the checkers read an elder's home and an order from Redis as soon as a
    visit arrives, so ingest makes a line's state durable before it
    produces a later line that depends on it, and nothing is dead-lettered
    as unknown."""
    day = Day(ids, allocate_day())
    # The registry's word on an elder is no batch line: that elder and its
    # hospital stay go first (the batch then registers it again).
    post_elder_statuses(ingest, keys, day, register=True)
    lines = ([("elder", b) for b in day.elders] + [("caregiver", b) for b in day.caregivers] +
             [("contract", b) for b in day.contracts] + [("order", b) for b in day.orders] +
             list(day.events))
    letters = TopicWatch(["dlq.geo-validator", "dlq.duration-timer", "dlq.overlap-detector"])
    try:
        post_batch(ingest, keys.importer, lines)
        post_closing(ingest, keys, day)
        got = verdicts.wait_for(ids, subjects(day))
        unknown = [r["value"]["reason"] for r in letters.new_records()
                   if r["value"]["key"] and r["value"]["key"].decode().startswith(ids)]
    finally:
        letters.close()
    assert unknown == []
    assert flagged(got, day, checkers_only=True) == CHECKER_EXPECTED


def test_out_of_order_and_duplicates_give_the_same_verdicts(ingest, keys, checkers, verdicts,
                                                            ids):
    day = Day(ids, allocate_day())
    post_day_start(ingest, keys, day)
    # CG10, CG14 and CG18 are frozen by a check-in: their check-outs must
    # come after it to be judged frozen (freezing follows the caregiver's
    # stream, CG18's being its person's).
    person_of = {c["caregiver_id"]: c["person_id"] for c in day.caregivers if "person_id" in c}
    events = disorder(day.events, random.Random(20240610),
                      keep_whole={ids + "CG10", ids + "CG14", ids + "PERSON-2"},
                      person_of=person_of)
    # Some check-outs before their check-ins, as a flaky phone network does.
    assert any(k == "check-out" and (b["order_id"], "check-in") in
               {(o["order_id"], j) for j, o in events[i + 1:]}
               for i, (k, b) in enumerate(events))
    watch = TopicWatch(["visit.events"])
    try:
        post_batch(ingest, keys.importer, events)
        dupes = [r for r in watch.new_records() if r["key"].startswith(ids)][::3]
    finally:
        watch.close()
    reproduce(dupes)
    post_closing(ingest, keys, day)
    got = verdicts.wait_for(ids, subjects(day))
    assert flagged(got, day, checkers_only=True) == CHECKER_EXPECTED
    # The re-produced events were judged again: same ids, same outcomes.
    assert any(len(outcomes) > 1 for outcomes in got.values())


CHECKERS = ("geo-validator", "duration-timer", "overlap-detector")


def all_lettered(letters, ids):
    """Whether every checker has lettered each of the four bad records (by
    key: the ghost event is keyed by its unknown caregiver)."""
    got = {(r["value"]["service"], r["value"]["key"]) for r in letters}
    keys = [(ids + k).encode() for k in ("nobody", "junk", "bomb", "wide")]
    return all((svc, k) in got for svc in CHECKERS for k in keys)


def test_unknown_references_and_garbage_go_to_dead_letters(checkers, ids):
    watch = TopicWatch(["dlq.geo-validator", "dlq.duration-timer", "dlq.overlap-detector"])
    try:
        event = {"event_id": ids + "ghost-in", "kind": "CHECK_IN", "order_id": ids + "ghost",
                 "caregiver_id": ids + "nobody", "provider_id": "P01", "elder_id": ids + "nobody",
                 "at": 1717380000000, "received_at": 1717380000000,
                 "gps": {"lat": 41.3, "lon": 123.7, "accuracy_m": None}, "beidou": None,
                 "face_match": None, "voiceprint_match": None, "photo_sha256": None,
                 "device_id": None, "items": []}
        p = Producer({"bootstrap.servers": KAFKA_BROKERS})
        p.produce("visit.events", key=(ids + "nobody").encode(),
                  value=REGISTRY.encode("VisitEvent", event))
        p.produce("visit.events", key=(ids + "junk").encode(), value=b"not an avro record")
        # 700 KB on the wire, about 70 MB once decoded: refused undecoded.
        bomb = dict(event, event_id=ids + "bomb-in", items=[""] * 700000)
        p.produce("visit.events", key=(ids + "bomb").encode(),
                  value=REGISTRY.encode("VisitEvent", bomb))
        # 20 KB on the wire but 20,000 items: over avro.max_array_items.
        wide = dict(event, event_id=ids + "wide-in", items=[""] * 20000)
        p.produce("visit.events", key=(ids + "wide").encode(),
                  value=REGISTRY.encode("VisitEvent", wide))
        assert p.flush(30) == 0
        deadline = time.monotonic() + 60
        letters = []
        while time.monotonic() < deadline and not all_lettered(letters, ids):
            letters += [r for r in watch.new_records()
                        if r["value"]["key"] and r["value"]["key"].decode().startswith(ids)]
            time.sleep(0.5)
    finally:
        watch.close()
    reasons = {(r["value"]["service"], r["value"]["reason"].split(":")[0]) for r in letters}
    assert reasons == {
        ("geo-validator", "unknown elder %snobody" % ids),
        ("duration-timer", "unknown order %sghost" % ids),
        ("overlap-detector", "unknown order %sghost" % ids),
        ("geo-validator", "undecodable"),
        ("duration-timer", "undecodable"),
        ("overlap-detector", "undecodable"),
        ("geo-validator", "oversized"),
        ("duration-timer", "oversized"),
        ("overlap-detector", "oversized"),
    }, reasons
    bombs = [r["value"] for r in letters if r["value"]["reason"].startswith("oversized")]
    assert all(len(b["payload"]) == 65536 and "700" in b["reason"] for b in bombs), \
        [b["reason"] for b in bombs]
    # A batch handled again (at least once) letters its records again: one
    # letter per service is what counts.
    junk = [r["value"] for r in letters if r["value"]["key"] == (ids + "junk").encode()]
    assert {j["service"] for j in junk} == set(CHECKERS), junk
    assert all(j["payload"] == b"not an avro record" and j["source_topic"] == "visit.events"
               for j in junk), junk
    wide = [r["value"] for r in letters if r["value"]["key"] == (ids + "wide").encode()]
    assert {w["service"] for w in wide} == set(CHECKERS), wide
    assert all("avro.max_array_items" in w["reason"] and w["reason"].startswith("undecodable")
               for w in wide), wide
    for svc in checkers.values():
        svc.assert_running()


def test_kill9_mid_stream_loses_and_contradicts_nothing(ingest, keys, checkers, verdicts, ids):
    day = Day(ids, allocate_day())
    post_day_start(ingest, keys, day)
    half = len(day.events) // 2
    post_batch(ingest, keys.importer, day.events[:half])
    for name in ("duration-timer", "overlap-detector", "geo-validator"):
        checkers[name].kill9()
    post_batch(ingest, keys.importer, day.events[half:])
    for name in list(checkers):
        checkers[name] = checkers[name].restart()
        checkers[name].wait_ready(checkers[name].ready_url)
    post_closing(ingest, keys, day)
    got = verdicts.wait_for(ids, subjects(day))
    assert flagged(got, day, checkers_only=True) == CHECKER_EXPECTED


def test_two_instances_per_group_split_the_work(ingest, keys, checkers, verdicts, ids,
                                                tmp_path):
    """A second instance of each checker joins its group while a day flows;
    one of each pair is killed half way. The verdicts are those of one
    instance alone."""
    from conftest import Checker
    seconds = {}
    for name, first in checkers.items():
        seconds[name] = Checker(name, str(tmp_path / name), first.redis_port, first.group)
    try:
        for svc in seconds.values():
            svc.wait_ready(svc.ready_url)
        day = Day(ids, allocate_day())
        post_day_start(ingest, keys, day)
        half = len(day.events) // 2
        post_batch(ingest, keys.importer, day.events[:half])
        for svc in seconds.values():
            svc.kill9()
        post_batch(ingest, keys.importer, day.events[half:])
        post_closing(ingest, keys, day)
        got = verdicts.wait_for(ids, subjects(day), timeout=120)
        assert flagged(got, day, checkers_only=True) == CHECKER_EXPECTED
    finally:
        for svc in seconds.values():
            if svc.proc.poll() is None:
                svc.stop()


def test_redis_flush_is_rebuilt_from_kafka(ingest, keys, checkers, redis_server, verdicts, ids):
    """The day's morning before a FLUSHALL, the rest after it (the morning's
    visits check out after it): the verdicts that need both halves come out
    as if nothing had happened, and no event is dead-lettered for want of
    its order or elder."""
    day = Day(ids, allocate_day())
    post_day_start(ingest, keys, day)
    noon = day.at("09:30")
    before = [(k, b) for k, b in day.events if b["at"] < noon]
    after = [(k, b) for k, b in day.events if b["at"] >= noon]
    assert any(k == "check-in" for k, _ in before) and any(k == "check-out" for k, _ in after)
    post_batch(ingest, keys.importer, before)
    verdicts.wait_for(ids, {(b["event_id"], "GEO_DISTANCE") for _, b in before})
    dlq = TopicWatch(["dlq.geo-validator", "dlq.duration-timer", "dlq.overlap-detector"])
    try:
        assert redis_server.cli("FLUSHALL") == "OK"
        ingest.wait_ready("http://127.0.0.1:%d/readyz" % ingest.admin_port, timeout=60)
        time.sleep(3)  # the checkers look for their state every second
        post_batch(ingest, keys.importer, after)
        post_closing(ingest, keys, day)
        spanning = {"SHORT_DURATION", "NO_CHECKOUT", "VISIT_OVERLAP", "IMPOSSIBLE_TRAVEL",
                    "GEO_DISTANCE", "NO_SHOW"}
        wanted = {s for s in subjects(day) if s[1] in spanning}
        got = verdicts.wait_for(ids, wanted, timeout=180)
        letters = [r for r in dlq.new_records()
                   if r["value"]["key"] and r["value"]["key"].decode().startswith(ids)]
    finally:
        dlq.close()
    assert letters == []
    got = {k: v for k, v in got.items() if k[1] in spanning}
    expected = {k: v for k, v in CHECKER_EXPECTED.items() if k[1] in spanning}
    assert flagged(got, day) == expected


def test_redis_back_from_an_older_snapshot_replays_the_difference(ingest, keys, checkers,
                                                                  redis_server, verdicts, ids,
                                                                  tmp_path):
    """Redis restarted from a snapshot taken at noon, after the afternoon
    was judged and committed: the checkers find the offsets their state
    reflects behind their committed ones and handle the afternoon again, so
    every timer of the afternoon still fires and nothing contradicts what
    was said before."""
    day = Day(ids, allocate_day())
    post_day_start(ingest, keys, day)
    noon = day.at("12:00")
    morning = [(k, b) for k, b in day.events if b["at"] < noon]
    afternoon = [(k, b) for k, b in day.events if b["at"] >= noon]
    post_batch(ingest, keys.importer, morning)
    verdicts.wait_for(ids, {(b["event_id"], "GEO_DISTANCE") for _, b in morning})
    snapshot = str(tmp_path / "noon.rdb")
    redis_server.snapshot(snapshot)
    post_batch(ingest, keys.importer, afternoon)
    verdicts.wait_for(ids, {(b["event_id"], "GEO_DISTANCE") for _, b in afternoon})
    # Whether the checkers committed the afternoon before the restart or
    # not, the outcome must be the same: no wait for it here.
    redis_server.restart_from(snapshot)
    # Ingest reloads its Redis copy once it sees Redis restarted, answering
    # 503 meanwhile: posted as a client does, again after a 503.
    closing = [("order", day.closing_order)] + list(day.closing)
    for kind, body in closing:
        deadline = time.monotonic() + 60
        while True:
            r = ingest.client.submit(kind, keys.importer, body)
            if r.status_code != 503:
                break
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        assert r.status_code in (200, 202), (kind, r.text)
    got = verdicts.wait_for(ids, subjects(day), timeout=180)
    assert flagged(got, day, checkers_only=True) == CHECKER_EXPECTED
    for svc in checkers.values():
        svc.assert_running()
