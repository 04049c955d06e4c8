"""The scripted district day (tools/carewatch_py/demo_day.py) through ingest:
exactly the expected intake verdicts on visit.checks, PASS for everything
else, and a replay of the whole day changes nothing."""

import json

from carewatch_py.demo_day import INTAKE_RULES, Day
from conftest import allocate_day

RULES_BY_KIND = {"CHECK_IN": ("LATE_SUBMISSION", "FACE_MISMATCH", "PHOTO_REUSE"),
                 "CHECK_OUT": ("LATE_SUBMISSION", "VOICE_UNCONFIRMED", "PHOTO_REUSE",
                               "SERVICE_MISMATCH")}


def feed_day(ingest, keys, day):
    for kind, bodies in (("elder", day.elders), ("caregiver", day.caregivers),
                         ("contract", day.contracts),
                         ("elder-status", day.elder_statuses)):
        for body in bodies:
            r = ingest.client.submit(kind, keys.registry, body)
            assert r.status_code in (200, 202), r.text
    for body in day.orders:
        r = ingest.client.submit("order", keys.importer, body)
        assert r.status_code in (200, 202), r.text
    lines = [dict(body, type=kind) for kind, body in day.events]
    r = ingest.client.post("/v1/batch", keys.importer,
                           data="\n".join(json.dumps(x) for x in lines) + "\n",
                           headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    return r.json()


def test_scripted_day_gives_exactly_the_expected_intake_verdicts(ingest, keys, redis_server,
                                                                 watch, ids):
    redis_server.cli("DEL", "cw:stream_clock")  # the day starts a fresh replay
    day = Day(ids, allocate_day())
    summary = feed_day(ingest, keys, day)
    assert (summary["accepted"], summary["rejected"]) == (len(day.events), 0), summary

    records = watch.new_records()
    checks = [r["value"] for r in records if r["topic"] == "visit.checks"]
    assert {c["checker"] for c in checks} == {"ingest"}
    visit_kinds = {r["value"]["event_id"]: r["value"]["kind"]
                   for r in records
                   if r["topic"] == "visit.events" and r["name"] == "VisitEvent"}
    assert len(visit_kinds) == len(day.events)
    expected = {}
    for event_id, kind in visit_kinds.items():
        for rule in RULES_BY_KIND[kind]:
            expected[(event_id, rule)] = "PASS"
    expected.update({k: v for k, v in day.expected().items() if k[1] in INTAKE_RULES})
    got = {(c["event_id"], c["rule"]): c["outcome"] for c in checks}
    assert len(checks) == len(got), "a check was emitted twice"
    assert got == expected

    late = {c["event_id"]: c for c in checks if c["rule"] == "LATE_SUBMISSION"
            and c["outcome"] != "PASS"}
    # O-LATE's check-in claims 07:02 and arrives after the day's last
    # check-out (O-XVISIT-B's, 19:45).
    assert late[ids + "O-LATE-in"]["measured"] == 763.0
    assert late[ids + "O-LATE-in"]["threshold"] == 10.0
    face = [c for c in checks if c["rule"] == "FACE_MISMATCH" and c["outcome"] != "PASS"]
    assert [(c["measured"], c["threshold"]) for c in face] == [(0.62, 0.8)]

    # The same day again: all duplicates, nothing produced.
    watch.start = watch._ends()
    summary = feed_day(ingest, keys, day)
    assert (summary["accepted"], summary["duplicates"]) == (0, len(day.events)), summary
    assert watch.new_records() == []
