"""ingest when Kafka or Redis is down: 503, readiness says why, nothing is
half-written, and the same request succeeds once the part is back."""

import os
import subprocess
import time

import pytest
import requests

from conftest import REPO, Ingest, free_port, wait_until

STACK = os.path.join(REPO, "deploy", "local", "stack")


def elder(p):
    return {"elder_id": p + "E1", "street_id": "S1", "community_id": "C1",
            "home": {"lat": 41.3, "lon": 123.7}}


def caregiver(p):
    return {"caregiver_id": p + "CG1", "provider_id": "P01", "certified": True}


def order(p):
    return {"order_id": p + "O1", "elder_id": p + "E1", "caregiver_id": p + "CG1",
            "service_type": "cleaning", "scheduled_start": "2024-05-06T14:00:00+08:00",
            "scheduled_minutes": 45}


def test_redis_down_gives_503_and_writes_nothing(tmp_path, keys, watch, ids):
    svc = Ingest(str(tmp_path), free_port(), keys)  # nobody listens there
    try:
        svc.wait_ready(svc.url + "/livez")
        r = requests.get(svc.url + "/readyz", timeout=5)
        assert r.status_code == 503 and "redis" in r.json()["reason"]
        r = svc.client.submit("elder", keys.registry, elder(ids))
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "unavailable"
        r = svc.client.submit("order", keys.importer, order(ids))
        assert r.status_code == 503, r.text
        svc.assert_running()
    finally:
        svc.stop()
    assert watch.new_records() == []


@pytest.fixture
def kafka_restarted():
    """Makes sure the broker runs again after the test, whatever happens."""
    yield
    subprocess.run([STACK, "start-kafka"], check=True, timeout=120)


def test_kafka_down_gives_503_then_the_retry_lands_once(ingest, keys, redis_server, watch, ids,
                                                       kafka_restarted):
    for kind, body in (("elder", elder(ids)), ("caregiver", caregiver(ids))):
        assert ingest.client.submit(kind, keys.registry, body).status_code == 202
    watch.start = watch._ends()

    subprocess.run([STACK, "stop-kafka"], check=True, timeout=60)
    t0 = time.monotonic()
    r = ingest.client.submit("order", keys.importer, order(ids))
    waited = time.monotonic() - t0
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "unavailable"
    assert waited < 15, "503 took %.1f s" % waited
    # Nothing half-written: neither the order's state nor its idempotency mark.
    assert redis_server.cli("EXISTS", "cw:order:" + ids + "O1") == "0"
    assert redis_server.cli("EXISTS", "cw:idem:order:" + ids + "O1") == "0"
    r = requests.get(ingest.url + "/readyz", timeout=10)
    assert r.status_code == 503 and "kafka" in r.json()["reason"]
    ingest.assert_running()

    subprocess.run([STACK, "start-kafka"], check=True, timeout=120)
    ingest.wait_ready(ingest.url + "/readyz", timeout=60)

    def retried():
        r = ingest.client.submit("order", keys.importer, order(ids))
        assert r.status_code in (202, 503), r.text
        return r.status_code == 202
    wait_until(retried, 60, "the retried order to be accepted")
    assert redis_server.cli("HGET", "cw:order:" + ids + "O1", "caregiver_id") == ids + "CG1"

    records = [r for r in watch.new_records() if r["topic"] == "orders.assigned"]
    assert [r["value"]["order_id"] for r in records] == [ids + "O1"]
    r = ingest.client.submit("order", keys.importer, order(ids))
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
