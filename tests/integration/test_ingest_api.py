"""ingest's HTTP API against the real broker and Redis: every endpoint's
records read back from the topics and decoded with the .avsc files,
idempotency, authorization, batches."""

import copy
import datetime
import json
import secrets
import socket
import time

import pytest
import requests

from conftest import Ingest, sha256_hex

UTC = datetime.timezone.utc


def ms(dt):
    return int(dt.timestamp() * 1000)


def ts(text):
    return datetime.datetime.fromisoformat(text)


@pytest.fixture
def ids(ids):
    """This file's ids lie in provider P01's namespace ("P01:..."): P01's key
    posts most of its orders and events."""
    return "P01:" + ids


def as_p02(body):
    """The same request in provider P02's namespace."""
    return {k: v.replace("P01:", "P02:", 1) if k in ("order_id", "event_id") else v
            for k, v in body.items()}


def with_providers(keys, *providers):
    """keys, plus one key per provider id given (for an ingest of its own):
    returns (the keys object for Ingest, {provider_id: key})."""
    extra = {p: secrets.token_hex(16) for p in providers}
    entries = keys.config_entries() + ["%s=provider:%s" % (sha256_hex(k), p)
                                       for p, k in extra.items()]
    scoped = copy.copy(keys)
    scoped.config_entries = lambda: entries
    return scoped, extra


def post_registry(ingest, keys, p):
    """An elder, a caregiver of P01 and a contract, all prefixed p."""
    elder = {"elder_id": p + "E1", "street_id": p + "S1", "community_id": p + "C1",
             "home": {"lat": 41.30412, "lon": 123.77618, "crs": "GCJ02"},
             "visits_per_month": 8, "minutes_per_visit": 45}
    caregiver = {"caregiver_id": p + "CG1", "provider_id": "P01", "certified": True,
                 "level": "senior"}
    contract = {"contract_id": p + "K1", "provider_id": "P01", "period_start": "2024-05-01",
                "period_end": "2024-05-31", "budget_cents": 12000000,
                "unit_price_cents": 4000, "prepay_ratio": 0.3,
                "invalid_deduction_cents": 18000, "publication_lag_days": 3}
    for kind, body in (("elder", elder), ("caregiver", caregiver), ("contract", contract)):
        r = ingest.client.submit(kind, keys.registry, body)
        assert r.status_code == 202, r.text
        assert r.json() == {"status": "accepted", "id": body[kind + "_id"]}
    return elder, caregiver, contract


def order_body(p, n=1, start="2024-05-06T09:00:00+08:00"):
    return {"order_id": "%sO%d" % (p, n), "elder_id": p + "E1", "caregiver_id": p + "CG1",
            "service_type": "bathing", "scheduled_start": start, "scheduled_minutes": 60}


def check_in_body(p, n=1, at="2024-05-06T09:02:00+08:00", **extra):
    body = {"event_id": "%sO%d-in" % (p, n), "order_id": "%sO%d" % (p, n),
            "caregiver_id": p + "CG1", "at": at,
            "gps": {"lat": 41.30297, "lon": 123.77001, "accuracy_m": 6.5},
            "beidou": {"lat": 41.30298, "lon": 123.77002}, "face_match": 0.93,
            "photo_sha256": sha256_hex(p + "photo-in-%d" % n), "device_id": "dev-1"}
    body.update(extra)
    return body


def check_out_body(p, n=1, at="2024-05-06T10:03:00+08:00"):
    return {"event_id": "%sO%d-out" % (p, n), "order_id": "%sO%d" % (p, n),
            "caregiver_id": p + "CG1", "at": at, "gps": {"lat": 41.30297, "lon": 123.77001},
            "voiceprint_match": 0.88, "items": ["bathing", "medication reminder"]}


def evidence_body(p, n=1):
    return {"event_id": "%sO%d-ev" % (p, n), "order_id": "%sO%d" % (p, n),
            "at": "2024-05-06T12:00:00+08:00",
            "watermark_photo_sha256": sha256_hex(p + "wm"),
            "elder_recording_sha256": sha256_hex(p + "rec")}


def by_topic(records):
    out = {}
    for r in records:
        out.setdefault(r["topic"], []).append(r)
    return out


def test_reference_data_is_published_and_kept_in_redis(ingest, keys, redis_server, watch, ids):
    elder, caregiver, contract = post_registry(ingest, keys, ids)
    got = by_topic(watch.new_records())
    assert sorted(got) == ["ref.caregivers", "ref.contracts", "ref.elders"]

    (e,) = got["ref.elders"]
    assert e["key"] == ids + "E1" and e["name"] == "Elder"
    v = e["value"]
    assert (v["elder_id"], v["street_id"], v["community_id"]) == (ids + "E1", ids + "S1",
                                                                  ids + "C1")
    assert v["home"] == {"lat": 41.30412, "lon": 123.77618, "crs": "GCJ02"}
    assert (v["visits_per_month"], v["minutes_per_visit"]) == (8, 45)

    (c,) = got["ref.caregivers"]
    assert c["key"] == ids + "CG1"
    assert c["value"]["provider_id"] == "P01" and c["value"]["certified"] is True
    assert c["value"]["level"] == "senior"

    (k,) = got["ref.contracts"]
    assert k["key"] == ids + "K1"
    kv = k["value"]
    assert kv["prepay_ratio_ppm"] == 300000
    assert (kv["budget_cents"], kv["unit_price_cents"], kv["invalid_deduction_cents"]) == (
        12000000, 4000, 18000)
    assert (kv["period_start"], kv["period_end"], kv["publication_lag_days"]) == (
        "2024-05-01", "2024-05-31", 3)

    assert redis_server.cli("HGET", "cw:elder:" + ids + "E1", "street_id") == ids + "S1"
    assert redis_server.cli("HGET", "cw:caregiver:" + ids + "CG1", "provider_id") == "P01"
    assert redis_server.cli("HGET", "cw:contract:" + ids + "K1", "prepay_ratio_ppm") == "300000"


def test_reference_update_replaces_the_record(ingest, keys, redis_server, watch, ids):
    elder, _, _ = post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    elder["street_id"] = ids + "S2"
    r = ingest.client.submit("elder", keys.registry, elder)
    assert r.status_code == 202, r.text
    (e,) = watch.new_records()
    assert e["topic"] == "ref.elders" and e["value"]["street_id"] == ids + "S2"
    assert redis_server.cli("HGET", "cw:elder:" + ids + "E1", "street_id") == ids + "S2"


def test_historical_contract_and_its_accounts(ingest, keys, redis_server, watch, ids):
    """historical and the accounts go onto ref.contracts; a version that
    changes the flag is refused: the payment-scheduler can neither take back
    a PREPAY nor reopen a historical period it has closed."""
    _, _, running = post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    r = ingest.client.submit("contract", keys.registry, dict(running, historical=True))
    assert r.status_code == 409 and r.json()["field"] == "historical", r.text
    past = dict(running, contract_id=ids + "K9", historical=True,
                provider_account="6222 0210 0101", treasury_account="GK-0301")
    r = ingest.client.submit("contract", keys.registry, past)
    assert r.status_code == 202, r.text
    (k,) = watch.new_records()
    assert k["key"] == ids + "K9"
    assert (k["value"]["historical"], k["value"]["provider_account"],
            k["value"]["treasury_account"]) == (True, "6222 0210 0101", "GK-0301")
    assert redis_server.cli("HGET", "cw:contract:" + ids + "K9", "historical") == "1"
    assert redis_server.cli("HGET", "cw:contract:" + ids + "K1", "historical") == "0"
    # A newer version that keeps the flag is taken; one that drops it is not.
    r = ingest.client.submit("contract", keys.registry,
                             dict(past, provider_account="6222 0210 0102"))
    assert r.status_code == 202, r.text
    r = ingest.client.submit("contract", keys.registry, dict(past, historical=False))
    assert r.status_code == 409 and r.json()["field"] == "historical", r.text
    r = ingest.client.submit("contract", keys.registry,
                             dict(past, contract_id=ids + "K8", treasury_account="国库"))
    assert r.status_code == 400 and r.json()["field"] == "treasury_account", r.text
    (k,) = watch.new_records()
    assert k["value"]["provider_account"] == "6222 0210 0102"


def test_order_and_visit_records_round_trip(ingest, keys, redis_server, watch, ids):
    post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    bodies = [("order", order_body(ids)), ("check-in", check_in_body(ids)),
              ("check-out", check_out_body(ids)), ("evidence", evidence_body(ids))]
    for kind, body in bodies:
        r = ingest.client.submit(kind, keys.p01, body)
        assert r.status_code == 202, (kind, r.text)
        assert r.json()["status"] == "accepted"
    got = by_topic(watch.new_records())

    (o,) = got["orders.assigned"]
    assert o["key"] == ids + "CG1" and o["name"] == "OrderAssigned"
    ov = o["value"]
    assert ov["provider_id"] == "P01" and ov["scheduled_minutes"] == 60
    assert ov["scheduled_start"] == ts("2024-05-06T09:00:00+08:00")
    assert redis_server.cli("HGET", "cw:order:" + ids + "O1", "elder_id") == ids + "E1"

    # The assignment also in the caregiver's stream, ahead of its events.
    stream = [r for r in got["visit.events"] if r["key"] == ids + "CG1"]
    assert stream[0]["name"] == "OrderAssigned" and stream[0]["value"] == ov
    events = {r["value"]["event_id"]: r for r in got["visit.events"]
              if r["name"] != "OrderAssigned"}
    assert sorted(events) == [ids + "O1-ev", ids + "O1-in", ids + "O1-out"]
    cin = events[ids + "O1-in"]
    assert cin["key"] == ids + "CG1" and cin["name"] == "VisitEvent"
    cv = cin["value"]
    assert cv["kind"] == "CHECK_IN" and cv["elder_id"] == ids + "E1"
    assert cv["at"] == ts("2024-05-06T09:02:00+08:00")
    assert cv["gps"] == {"lat": 41.30297, "lon": 123.77001, "accuracy_m": 6.5}
    assert cv["beidou"] == {"lat": 41.30298, "lon": 123.77002}
    assert cv["face_match"] == 0.93 and cv["voiceprint_match"] is None
    assert cv["photo_sha256"] == sha256_hex(ids + "photo-in-1") and cv["device_id"] == "dev-1"
    cout = events[ids + "O1-out"]["value"]
    assert cout["kind"] == "CHECK_OUT" and cout["voiceprint_match"] == 0.88
    assert cout["face_match"] is None and cout["beidou"] is None
    assert cout["gps"]["accuracy_m"] is None
    assert cout["items"] == ["bathing", "medication reminder"]
    ev = events[ids + "O1-ev"]
    assert ev["name"] == "Evidence" and ev["key"] == ids + "CG1"
    assert ev["value"]["provider_id"] == "P01"
    assert ev["value"]["watermark_photo_sha256"] == sha256_hex(ids + "wm")
    assert ev["value"]["reused_from_order"] is None

    checks = {r["value"]["check_id"]: r for r in got["visit.checks"]}
    for event_id, rules in ((ids + "O1-in", ("LATE_SUBMISSION", "FACE_MISMATCH", "PHOTO_REUSE")),
                            (ids + "O1-out",
                             ("LATE_SUBMISSION", "VOICE_UNCONFIRMED", "PHOTO_REUSE",
                              "SERVICE_MISMATCH")),
                            (ids + "O1-ev", ("EVIDENCE_REUSE",))):
        for rule in rules:
            c = checks.pop("%s:%s" % (event_id, rule))
            assert c["key"] == ids + "O1" and c["name"] == "CheckResult"
            assert c["value"]["outcome"] == "PASS", c
            assert c["value"]["checker"] == "ingest" and c["value"]["event_id"] == event_id
    assert checks == {}, "unexpected checks: %s" % sorted(checks)


def test_evidence_with_another_orders_photo_or_recording_is_rejected(ingest, keys, watch, ids):
    """EVIDENCE_REUSE: the second order's evidence shows the first one's
    watermarked photo and recording: kept, marked with the order whose
    evidence used them first, and judged orange. The first evidence passes,
    so does the first order's own evidence posted again under a new id, and
    so does a third order's showing the first order's check-in photo (only
    evidence of another order counts, docs/design.md §4.1)."""
    post_registry(ingest, keys, ids)
    for n in (1, 2, 3):
        assert ingest.client.submit("order", keys.p01, order_body(ids, n)).status_code == 202
    assert ingest.client.submit("check-in", keys.p01, check_in_body(ids, 1)).status_code == 202
    watch.start = watch._ends()
    third = dict(evidence_body(ids, 3), watermark_photo_sha256=sha256_hex(ids + "photo-in-1"),
                 elder_recording_sha256=sha256_hex(ids + "rec-3"))
    again = dict(evidence_body(ids, 1), event_id=ids + "O1-ev-again")
    for body in (evidence_body(ids, 1), evidence_body(ids, 2), third, again):
        r = ingest.client.submit("evidence", keys.p01, body)
        assert r.status_code == 202, r.text
    got = by_topic(watch.new_records())
    marked = {r["value"]["event_id"]: r["value"]["reused_from_order"]
              for r in got["visit.events"] if r["name"] == "Evidence"}
    assert marked == {ids + "O1-ev": None, ids + "O2-ev": ids + "O1", ids + "O3-ev": None,
                      ids + "O1-ev-again": None}
    outcomes = {r["value"]["event_id"]: r["value"]["outcome"] for r in got["visit.checks"]
                if r["value"]["rule"] == "EVIDENCE_REUSE"}
    assert outcomes == {ids + "O1-ev": "PASS", ids + "O2-ev": "ORANGE", ids + "O3-ev": "PASS",
                        ids + "O1-ev-again": "PASS"}


def test_duplicates_produce_nothing_and_conflicts_are_409(ingest, keys, watch, ids):
    elder, caregiver, contract = post_registry(ingest, keys, ids)
    bodies = [("order", order_body(ids)), ("check-in", check_in_body(ids)),
              ("check-out", check_out_body(ids)), ("evidence", evidence_body(ids))]
    for kind, body in bodies:
        assert ingest.client.submit(kind, keys.p01, body).status_code == 202
    watch.start = watch._ends()

    for kind, body in (("elder", elder), ("caregiver", caregiver), ("contract", contract)):
        r = ingest.client.submit(kind, keys.registry, body)
        assert (r.status_code, r.json()["status"]) == (200, "duplicate"), r.text
    for kind, body in bodies:
        # The importer re-sending a provider's records is still a duplicate.
        r = ingest.client.submit(kind, keys.importer, body)
        assert (r.status_code, r.json()["status"]) == (200, "duplicate"), r.text
        changed = dict(body, at="2024-05-06T09:03:00+08:00") if "at" in body else dict(
            body, scheduled_minutes=30)
        r = ingest.client.submit(kind, keys.p01, changed)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "conflict"
    assert watch.new_records() == []


def test_auth_roles(ingest, keys, ids):
    post_registry(ingest, keys, ids)
    c = ingest.client
    assert c.submit("order", None, order_body(ids)).status_code == 401
    r = c.submit("order", "not-a-key", order_body(ids))
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = c.post("/v1/orders", None, order_body(ids), headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    # A provider cannot post for another provider's caregiver, and is told
    # no more than of a caregiver that does not exist.
    r = c.submit("order", keys.p02, as_p02(order_body(ids)))
    unknown = c.submit("order", keys.p02, as_p02(dict(order_body(ids),
                                                      caregiver_id=ids + "nobody")))
    assert r.status_code == 422 and r.json()["error"] == "unknown_caregiver", r.text
    assert r.json()["message"].replace(ids + "CG1", "X") == \
        unknown.json()["message"].replace(ids + "nobody", "X")
    # Providers do not post reference data; the registry does not post visits.
    r = c.submit("elder", keys.p01, {"elder_id": ids + "E9", "street_id": "S", "community_id": "C",
                                     "home": {"lat": 1, "lon": 2}})
    assert r.status_code == 403
    assert c.submit("order", keys.registry, order_body(ids)).status_code == 403
    # Only admins unfreeze.
    r = c.post("/v1/caregivers/%sCG1/unfreeze" % ids, keys.p01, {"reason": "checked"})
    assert r.status_code == 403
    assert c.submit("order", keys.p01, order_body(ids)).status_code == 202
    # Another provider's order answers as a missing one, whatever the
    # caregiver named: no "assigned to another caregiver" to learn from.
    for body in (check_in_body(ids), dict(check_in_body(ids), caregiver_id=ids + "CGX")):
        r = c.submit("check-in", keys.p02, dict(body, event_id="P02:" + body["event_id"]))
        assert r.status_code == 404 and r.json()["error"] == "unknown_order", r.text
    body = check_in_body(ids, n=9)
    missing = c.submit("check-in", keys.p02, dict(body, event_id="P02:" + body["event_id"]))
    assert r.json()["message"].replace(ids + "O1", "X") == \
        missing.json()["message"].replace(ids + "O9", "X")


def test_keys_are_judged_before_the_body_is_read(ingest, keys):
    """A bad key, or a key whose role may not use the endpoint, is answered
    from the headers: none of the declared body is ever sent here."""
    cases = [("POST /v1/orders", None, 401), ("POST /v1/orders", "not-a-key", 401),
             ("POST /v1/elders", keys.p01, 403), ("POST /v1/orders", keys.registry, 403),
             ("POST /v1/caregivers/X/unfreeze", keys.p01, 403)]
    for line, key, status in cases:
        auth = "Authorization: Bearer %s\r\n" % key if key else ""
        s = raw_request(ingest.port, "%s HTTP/1.1\r\nHost: x\r\n%sContent-Type: "
                                     "application/json\r\nContent-Length: 60000" % (line, auth))
        try:
            head = read_response(s)
        finally:
            s.close()
        assert head.startswith("HTTP/1.1 %d" % status), (line, key, head)


def test_unknown_references(ingest, keys, ids):
    post_registry(ingest, keys, ids)
    c = ingest.client
    r = c.submit("order", keys.importer, dict(order_body(ids), elder_id=ids + "nobody"))
    assert r.status_code == 422 and r.json()["field"] == "elder_id", r.text
    r = c.submit("order", keys.importer, dict(order_body(ids), caregiver_id=ids + "nobody"))
    assert r.status_code == 422 and r.json()["field"] == "caregiver_id", r.text
    r = c.submit("check-in", keys.p01, check_in_body(ids, n=7))
    assert r.status_code == 404 and r.json()["error"] == "unknown_order", r.text
    r = c.post("/v1/caregivers/%snobody/unfreeze" % ids, keys.admin, {"reason": "x"})
    assert r.status_code == 404


def test_unfreeze_goes_into_the_caregivers_stream(ingest, keys, redis_server, watch, ids):
    post_registry(ingest, keys, ids)
    redis_server.cli("HSET", "cw:cgstate:" + ids + "CG1", "status", "FROZEN", "reason",
                     "VISIT_OVERLAP")
    watch.start = watch._ends()
    r = ingest.client.post("/v1/caregivers/%sCG1/unfreeze" % ids, keys.admin,
                           {"reason": "street office checked the schedule"})
    assert r.status_code == 202, r.text
    # Behind the caregiver's events on visit.events: the overlap-detector
    # lifts the freeze when it gets there, not ingest at once.
    (s,) = watch.new_records()
    assert s["topic"] == "visit.events" and s["key"] == ids + "CG1"
    assert s["name"] == "CaregiverStatusChanged"
    assert s["value"]["status"] == "ACTIVE" and s["value"]["order_id"] is None
    assert s["value"]["reason"] == "street office checked the schedule"
    assert redis_server.cli("HGET", "cw:cgstate:" + ids + "CG1", "status") == "FROZEN"


def test_one_person_at_two_providers_is_one_stream(ingest, keys, watch, ids):
    """A caregiver's person_id (the hash of their ID number) keys their
    orders and visits, so every registration of one person is read in one
    partition; it is fixed once registered."""
    post_registry(ingest, keys, ids)
    c = ingest.client
    person = ids + "PERSON"
    for cg, provider in (("CGA", "P01"), ("CGB", "P02")):
        r = c.submit("caregiver", keys.registry, {"caregiver_id": ids + cg,
                                                  "provider_id": provider, "certified": True,
                                                  "person_id": person})
        assert r.status_code == 202, r.text
    r = c.submit("caregiver", keys.registry, {"caregiver_id": ids + "CGA", "provider_id": "P01",
                                              "certified": True, "person_id": ids + "OTHER"})
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (409, "person_fixed",
                                                                     "person_id"), r.text
    r = c.submit("caregiver", keys.registry, {"caregiver_id": ids + "CGA", "provider_id": "P01",
                                              "certified": True})
    assert r.status_code == 409, r.text
    r = c.submit("caregiver", keys.registry, {"caregiver_id": ids + "CG1", "provider_id": "P01",
                                              "certified": True, "person_id": "not an id!"})
    assert (r.status_code, r.json()["field"]) == (400, "person_id"), r.text
    watch.start = watch._ends()
    order = dict(order_body(ids, 1), caregiver_id=ids + "CGA")
    r = c.submit("order", keys.importer, order)
    assert r.status_code == 202, r.text
    check_in = dict(check_in_body(ids, 1), caregiver_id=ids + "CGA")
    r = c.submit("check-in", keys.importer, check_in)
    assert r.status_code == 202, r.text
    got = [x for x in watch.new_records() if x["topic"] in ("orders.assigned", "visit.events")]
    assert {x["key"] for x in got} == {person}, got
    assigned = [x["value"] for x in got if x["topic"] == "orders.assigned"][0]
    assert assigned["person_id"] == person and assigned["caregiver_certified"] is True


def test_elder_status_feed(ingest, keys, redis_server, watch, ids):
    """POST /v1/elders/{id}/status: the registry's word on an elder's
    availability goes onto ref.elder_status and into Redis; the same period
    again is a duplicate; errors say what is wrong."""
    post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    c = ingest.client
    path = "/v1/elders/%sE1/status" % ids
    stay = {"status": "HOSPITALIZED", "from": "2024-05-03T14:00:00+08:00",
            "to": "2024-05-05T00:00:00+08:00"}
    r = c.post(path, keys.registry, stay)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted", "id": ids + "E1"}
    r = c.post(path, keys.admin, stay)
    assert r.status_code == 200 and r.json()["status"] == "duplicate", r.text
    (rec,) = watch.new_records()
    assert (rec["topic"], rec["key"], rec["name"]) == ("ref.elder_status", ids + "E1",
                                                      "ElderStatusChanged")
    v = rec["value"]
    assert v["status"] == "HOSPITALIZED" and v["elder_id"] == ids + "E1"
    held = redis_server.cli("HGETALL", "cw:elder_status:" + ids + "E1")
    assert held.split("\n")[0] == "1714716000000|HOSPITALIZED|1714838400000", held

    assert c.post(path, keys.p01, stay).status_code == 403     # a provider key
    assert c.post(path, None, stay).status_code == 401
    r = c.post("/v1/elders/%snobody/status" % ids, keys.registry, stay)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_elder")
    for body, field in ((dict(stay, status="AWAY"), "status"),
                        (dict(stay, to="2024-05-03T14:00:00+08:00"), "to"),
                        ({"status": "DECEASED", "from": stay["from"], "to": stay["to"]}, "to"),
                        ({"status": "ACTIVE"}, "from"),
                        (dict(stay, elder_id="E9"), "elder_id")):
        r = c.post(path, keys.registry, body)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
    assert c.get(path).status_code == 405
    assert watch.new_records() == []


def test_batch_reports_counts_and_failed_lines(ingest, keys, watch, ids):
    post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    lines = [
        dict(order_body(ids, 1), type="order"),
        dict(order_body(ids, 2), type="order"),
        dict(order_body(ids, 1), type="order"),                       # duplicate
        dict(order_body(ids, 3), type="order", scheduled_minutes=-5),  # invalid
        {"type": "teleport", "order_id": ids + "O4"},                 # unknown type
        dict(check_in_body(ids, 2), type="check-in"),
    ]
    text = "\n".join(__import__("json").dumps(x) for x in lines) + "\n{not json\n"
    r = ingest.client.post("/v1/batch", keys.p01, data=text,
                           headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    doc = r.json()
    failures = doc["failures"]
    assert [x["line"] for x in failures] == [4, 5, 7]
    assert [x["status"] for x in failures] == [400, 400, 400]
    assert [x["error"] for x in failures] == ["out_of_range", "unknown_type", "invalid_json"]
    assert failures[0]["field"] == "scheduled_minutes"
    assert (doc["lines"], doc["accepted"], doc["duplicates"], doc["rejected"]) == (7, 3, 1, 3)
    assert (doc["not_processed"], doc["failures_omitted"], doc["resume_line"]) == (0, 0, None)
    got = by_topic(watch.new_records())
    assert sorted(x["value"]["order_id"] for x in got["orders.assigned"]) == [ids + "O1",
                                                                              ids + "O2"]
    copies = [x for x in got["visit.events"] if x["name"] == "OrderAssigned"]
    assert sorted(x["value"]["order_id"] for x in copies) == [ids + "O1", ids + "O2"]
    assert [x["value"]["event_id"] for x in got["visit.events"]
            if x["name"] != "OrderAssigned"] == [ids + "O2-in"]


def test_batch_lines_see_the_lines_before_them(ingest, keys, watch, ids):
    """A batch's lines are handled together (one read of Redis, one produce,
    one write): a line still sees what the lines before it did, and a batch
    longer than one chunk of lines is handled whole."""
    post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    twin = dict(check_in_body(ids, 1), type="check-in", face_match=0.5)
    lines = [dict(order_body(ids, 1), type="order"),
             dict(check_in_body(ids, 1), type="check-in"),   # its order: line 1
             dict(check_in_body(ids, 1), type="check-in"),   # the same again
             twin]                                            # same id, other content
    lines += [dict(order_body(ids, n), type="order") for n in range(2, 1202)]
    text = "\n".join(json.dumps(x) for x in lines) + "\n"
    r = ingest.client.post("/v1/batch", keys.p01, data=text,
                           headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text[:500]
    doc = r.json()
    assert [(x["line"], x["status"]) for x in doc["failures"]] == [(4, 409)]
    assert (doc["lines"], doc["accepted"], doc["duplicates"], doc["rejected"]) == (1204, 1202, 1, 1)
    got = by_topic(watch.new_records())
    assert len(got["orders.assigned"]) == 1201
    assert [x["value"]["event_id"] for x in got["visit.events"]
            if x["name"] != "OrderAssigned"] == [ids + "O1-in"]
    # Redis holds what the batch accepted: the same check-in alone is a
    # duplicate now, and its twin still a conflict.
    again = ingest.client.submit("check-in", keys.p01, check_in_body(ids, 1))
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    del twin["type"]
    assert ingest.client.submit("check-in", keys.p01, twin).status_code == 409


def test_concurrent_requests_of_one_id_make_one_record(ingest, keys, watch, ids):
    """Requests run on many threads at once: sixteen clients posting the
    same order at the same moment get one 202 and fifteen duplicates, and
    sixteen posting two versions of another get one 202, the same version's
    duplicates and the other version's 409s; each order is produced once."""
    import concurrent.futures
    import threading
    post_registry(ingest, keys, ids)
    watch.start = watch._ends()
    same = order_body(ids, 1)
    versions = [order_body(ids, 2), dict(order_body(ids, 2), scheduled_minutes=90)]
    start = threading.Barrier(32)

    def post(body):
        client = requests.Session()
        start.wait(30)
        r = client.post(ingest.url + "/v1/orders", json=body, timeout=60,
                        headers={"Authorization": "Bearer " + keys.p01})
        return body, r.status_code

    bodies = [same] * 16 + [versions[i % 2] for i in range(16)]
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(post, bodies))
    first = sorted(code for body, code in results if body is same)
    assert first == [200] * 15 + [202], first
    second = [(body is versions[0], code) for body, code in results if body is not same]
    winner = [won for won, code in second if code == 202]
    assert len(winner) == 1, second
    for won, code in second:
        if code != 202:
            assert code == (200 if won == winner[0] else 409), second
    got = by_topic(watch.new_records())
    produced = sorted(x["value"]["order_id"] for x in got["orders.assigned"])
    assert produced == [ids + "O1", ids + "O2"], produced


def raw_request(port, head, body=b"", timeout=10):
    """Sends a request by hand (head without its blank line); returns the
    socket, for the caller to read from or finish."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(head.encode() + b"\r\n\r\n" + body)
    return s


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def test_declared_oversized_body_is_refused_unread(ingest, keys):
    s = raw_request(ingest.port, "POST /v1/elders HTTP/1.1\r\nHost: x\r\n"
                                 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 50000000" % keys.registry)
    try:
        # Answered with none of the 50 MB sent.
        head = read_response(s)
        assert head.startswith("HTTP/1.1 413"), head
    finally:
        s.close()


def test_overload_is_answered_503_at_once(tmp_path, redis_server, keys, ids):
    """With one request in flight allowed, a second one is answered 503 with
    Retry-After while the first is still being read, and nothing is lost:
    the first completes, and once it has, requests are taken again."""
    svc = Ingest(str(tmp_path), redis_server.port, keys, http_extra="  max_in_flight: 1")
    try:
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
        elder = {"elder_id": ids + "EO", "street_id": "S1", "community_id": "C1",
                 "home": {"lat": 41.3, "lon": 123.7, "crs": "WGS84"}}
        body = json.dumps(elder).encode()

        def hold():
            return raw_request(svc.port, "POST /v1/elders HTTP/1.1\r\nHost: x\r\n"
                                         "Authorization: Bearer %s\r\n"
                                         "Content-Type: application/json\r\nContent-Length: %d"
                                         % (keys.registry, len(body)), body[:10])

        def answered(sock):
            sock.setblocking(False)
            try:
                return sock.recv(1, socket.MSG_PEEK) is not None
            except BlockingIOError:
                return False
            finally:
                sock.setblocking(True)

        held = hold()
        other = dict(elder, elder_id=ids + "EP")
        deadline = time.monotonic() + 30
        while True:
            r = svc.client.submit("elder", keys.registry, other)
            if r.status_code == 503:
                break
            # The other request began first: it passed, and the held one
            # was the one refused (or is still to begin). Nothing is lost
            # either way; hold another and try again.
            assert r.status_code in (200, 202), r.text
            if answered(held):
                assert read_response(held).startswith("HTTP/1.1 503")
                held.close()
                held = hold()
            assert time.monotonic() < deadline, "never answered 503"
            time.sleep(0.05)
        assert r.headers.get("Retry-After") == "1"
        assert r.json()["error"] == "overloaded"
        # Probes are not counted.
        assert requests.get(svc.url + "/livez", timeout=5).status_code == 200
        held.sendall(body[10:])
        assert read_response(held).startswith("HTTP/1.1 202")
        held.close()
        r = svc.client.submit("elder", keys.registry, other)
        assert r.status_code in (200, 202), r.text
    finally:
        svc.stop()


def test_batch_over_its_line_limit_is_refused_whole(tmp_path, redis_server, keys, watch, ids):
    svc = Ingest(str(tmp_path), redis_server.port, keys, http_extra="  max_batch_lines: 5")
    try:
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
        watch.start = watch._ends()
        lines = [{"type": "elder", "elder_id": "%sL%d" % (ids, i), "street_id": "S1",
                  "community_id": "C1", "home": {"lat": 41.3, "lon": 123.7, "crs": "WGS84"}}
                 for i in range(6)]

        def post(batch):
            # Blank lines are not lines.
            text = "\n\n".join(json.dumps(x) for x in batch) + "\n"
            return svc.client.post("/v1/batch", keys.registry, data=text,
                                   headers={"Content-Type": "application/x-ndjson"})
        r = post(lines)
        assert r.status_code == 413 and r.json()["error"] == "too_many_lines", r.text
        assert watch.new_records() == []
        r = post(lines[:5])
        assert r.status_code == 200 and r.json()["accepted"] == 5, r.text
    finally:
        svc.stop()


def test_batch_answer_lists_at_most_its_cap_of_failed_lines(tmp_path, redis_server, keys, ids):
    """A body of 10,000 failing lines answers counts and the first failed
    lines only: the answer stays small whatever the body holds."""
    svc = Ingest(str(tmp_path), redis_server.port, keys, http_extra="  max_batch_failures: 20")
    try:
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
        r = svc.client.post("/v1/batch", keys.importer, data="1\n" * 10000,
                            headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200, r.text[:300]
        doc = r.json()
        assert (doc["lines"], doc["rejected"], doc["accepted"]) == (10000, 10000, 0)
        assert [x["line"] for x in doc["failures"]] == list(range(1, 21))
        assert doc["failures_omitted"] == 9980
        assert len(r.content) < 4000
    finally:
        svc.stop()


def test_probes(ingest):
    for path in ("/livez", "/healthz", "/readyz"):
        r = requests.get(ingest.url + path, timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    r = requests.get("http://127.0.0.1:%d/metrics" % ingest.admin_port, timeout=5)
    assert r.status_code == 200
    assert "carewatch_ingest_responses_total" in r.text
    assert 'carewatch_up{service="ingest"} 1' in r.text or "carewatch_up 1" in r.text


def test_secrets_never_logged(ingest, keys):
    text = ingest.log_text()
    for k in (keys.registry, keys.importer, keys.admin, keys.p01, keys.p02):
        assert k not in text


def test_a_provider_cannot_take_another_providers_ids(ingest, keys, watch, ids):
    """Ids are namespaced per provider: P02 cannot post an order or event id
    of P01's namespace, whether or not P01 used it already (the two answers
    are the same), so P01's future ids stay P01's."""
    post_registry(ingest, keys, ids)
    c = ingest.client
    assert c.submit("order", keys.p01, order_body(ids, 1)).status_code == 202
    watch.start = watch._ends()
    taken = c.submit("order", keys.p02, dict(order_body(ids, 1), caregiver_id=ids + "CG1"))
    future = c.submit("order", keys.p02, dict(order_body(ids, 5), caregiver_id=ids + "CG1"))
    for r in (taken, future):
        assert r.status_code == 403 and r.json()["error"] == "id_namespace", r.text
        assert r.json()["field"] == "order_id"
    assert taken.json() == future.json()
    # The same for an event id on P02's own order.
    r = c.submit("check-in", keys.p02, dict(check_in_body(ids, 1),
                                            order_id=ids.replace("P01:", "P02:") + "O1"))
    assert r.status_code == 403 and r.json()["field"] == "event_id", r.text
    assert watch.new_records() == []
    # P01's future order is still P01's to post; the importer (the whole
    # district's history) is not bound by namespaces.
    assert c.submit("order", keys.p01, order_body(ids, 5)).status_code == 202
    body = dict(order_body(ids, 6), order_id="H" + ids.replace(":", "-") + "O6")
    assert c.submit("order", keys.importer, body).status_code == 202


def test_orders_only_for_elders_the_providers_contracts_serve(tmp_path, redis_server, keys,
                                                              watch, ids):
    """A provider orders only for elders its contracts serve: a contract
    period holding the service day (UTC+8) and, when the contract names
    streets, the elder's street. An elder of another street answers exactly
    as an unregistered one."""
    provider = "PX" + ids.split(":")[1].rstrip("-")
    scoped, extra = with_providers(keys, provider)
    key = extra[provider]
    svc = Ingest(str(tmp_path), redis_server.port, scoped)
    try:
        svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
        c = svc.client
        p = provider + ":" + ids.split(":")[1]
        home = {"lat": 41.3, "lon": 123.7, "crs": "WGS84"}
        registry = [("elder", {"elder_id": p + "E1", "street_id": p + "S1",
                               "community_id": "C", "home": home}),
                    ("elder", {"elder_id": p + "E2", "street_id": p + "S2",
                               "community_id": "C", "home": home}),
                    ("caregiver", {"caregiver_id": p + "CG1", "provider_id": provider,
                                   "certified": True})]
        for kind, body in registry:
            assert c.submit(kind, keys.registry, body).status_code == 202

        def order(n, elder, start="2024-05-06T09:00:00+08:00"):
            return {"order_id": "%sO%d" % (p, n), "elder_id": p + elder,
                    "caregiver_id": p + "CG1", "service_type": "bathing",
                    "scheduled_start": start, "scheduled_minutes": 60}
        r = c.submit("order", key, order(1, "E2"))
        assert r.status_code == 422 and r.json()["error"] == "no_contract", r.text
        assert "2024-05-06" in r.json()["message"]
        contract = {"contract_id": p + "K1", "provider_id": provider,
                    "period_start": "2024-05-01", "period_end": "2024-05-31",
                    "budget_cents": 1000000, "unit_price_cents": 4000, "prepay_ratio": 0.3,
                    "invalid_deduction_cents": 18000, "street_ids": [p + "S2"]}
        assert c.submit("contract", keys.registry, contract).status_code == 202
        assert c.submit("order", key, order(1, "E2")).status_code == 202
        other = c.submit("order", key, order(2, "E1"))
        unknown = c.submit("order", key, order(2, "E9"))
        assert other.status_code == 422 and other.json()["error"] == "unknown_elder", other.text
        assert other.json()["message"].replace("E1", "E9") == unknown.json()["message"]
        # 2024-05-31T23:30 +08:00 is the period's last day; an hour later is June.
        assert c.submit("order", key, order(3, "E2", "2024-05-31T23:30:00+08:00")).status_code \
            == 202
        r = c.submit("order", key, order(4, "E2", "2024-06-01T00:30:00+08:00"))
        assert r.status_code == 422 and r.json()["error"] == "no_contract", r.text
        # The same through a batch.
        lines = [dict(order(5, "E2"), type="order"), dict(order(6, "E1"), type="order")]
        r = c.post("/v1/batch", key, data="\n".join(json.dumps(x) for x in lines) + "\n",
                   headers={"Content-Type": "application/x-ndjson"})
        doc = r.json()
        assert (doc["accepted"], [(x["line"], x["error"]) for x in doc["failures"]]) == \
            (1, [(2, "unknown_elder")]), r.text
        # A contract keeps its provider.
        r = c.submit("contract", keys.registry, dict(contract, provider_id="P02"))
        assert r.status_code == 409 and r.json()["field"] == "provider_id", r.text
        # The provider's contract index holds the contract's days and streets.
        assert redis_server.cli("HGET", "cw:provider_contracts:" + provider, p + "K1") == \
            "19844 19874 " + p + "S2"
    finally:
        svc.stop()


def test_rights_follow_the_caregiver_to_a_new_provider(ingest, keys, ids):
    """Once a caregiver works for P02, P01 no longer checks them in on P01's
    orders (the order is to be reassigned), and P02 does not get P01's
    orders either."""
    elder, caregiver, _ = post_registry(ingest, keys, ids)
    c = ingest.client
    assert c.submit("order", keys.p01, order_body(ids, 1)).status_code == 202
    assert c.submit("check-in", keys.p01, check_in_body(ids, 1)).status_code == 202
    moved = dict(caregiver, provider_id="P02")
    assert c.submit("caregiver", keys.registry, moved).status_code == 202
    r = c.submit("check-out", keys.p01, check_out_body(ids, 1))
    assert r.status_code == 403 and r.json()["error"] == "caregiver_moved", r.text
    r = c.submit("evidence", keys.p01, evidence_body(ids, 1))
    assert r.status_code == 403 and r.json()["error"] == "caregiver_moved", r.text
    body = check_out_body(ids, 1)
    r = c.submit("check-out", keys.p02, dict(body, event_id="P02:" + body["event_id"]))
    assert r.status_code == 404 and r.json()["error"] == "unknown_order", r.text
    # In a batch too.
    line = dict(check_out_body(ids, 1), type="check-out")
    r = c.post("/v1/batch", keys.p01, data=json.dumps(line) + "\n",
               headers={"Content-Type": "application/x-ndjson"})
    assert [x["error"] for x in r.json()["failures"]] == ["caregiver_moved"], r.text
    # Back with P01, the check-out goes through.
    assert c.submit("caregiver", keys.registry, caregiver).status_code == 202
    assert c.submit("check-out", keys.p01, check_out_body(ids, 1)).status_code == 202
