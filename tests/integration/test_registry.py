"""The registry framing (avro.framing: registry) on the real stack.

Without a schema registry (always run):
- the services list avro.framing and avro.registry_url among their keys;
- avro.framing registry without avro.registry_url, or with a registry that
  cannot be reached, stops a service at start with the reason (exit 2);
- a record whose schema id is unknown is dead-lettered with the reason:
  "no avro.registry_url to look it up", or the registry's failure.

With a real registry (deploy/registry/registry start; skipped, with the
reason, when none runs; CW_REGISTRY_URL names another one):
- ingest and alert-router with avro.framing registry register every schema
  (subjects carewatch.v1.<Record>, compatibility BACKWARD), and a face
  mismatch posted for an elder of street S01 comes out on
  alerts.street.S01 as 00 | the Alert subject's id | body, decoded here
  with the schema the registry gives for that id;
- the README's kcat line reads those alerts (kcat -s value=avro -r URL);
- a reader with single-object framing and a registry URL reads the
  registry-framed records (the id looked up once, matched by fingerprint),
  so a topic can move from one framing to the other.

Run with the local stack up:
  KAFKA_BROKERS=... CW_BUILD_DIR=... .venv/bin/python -m pytest tests/integration/test_registry.py
"""

import io
import json
import os
import shlex
import subprocess
import time
import uuid

import fastavro
import pytest
import requests
from confluent_kafka import Consumer, Producer, TopicPartition

from carewatch_py.demo_day import Day
from conftest import (BUILD_DIR, KAFKA_BROKERS, REGISTRY, REPO, IngestClient, RedisServer,
                      Service, TopicWatch, allocate_day, checker_config, free_port,
                      ingest_config, post)

SCRIPT = os.path.join(REPO, "deploy", "registry", "registry")
# The line of the README (section "Records on Kafka") a street office runs.
README_KCAT = ("kcat -b 127.0.0.1:9092 -C -t alerts.street.S01 -s value=avro "
               "-r http://127.0.0.1:8085/apis/ccompat/v7 -e")
UNKNOWN_ID = 999999


# ---- helpers --------------------------------------------------------------------------------

def binary(name):
    return os.path.join(BUILD_DIR, "services", name, "carewatch-" + name)


def registry_env(url, framing="registry"):
    env = {"CAREWATCH_AVRO_FRAMING": framing}
    if url:
        env["CAREWATCH_AVRO_REGISTRY_URL"] = url
    return env


def group_at_end(topics):
    """A new consumer group whose committed offsets are the current ends of
    topics (the broker holds other tests' records)."""
    group = "test-%s-registry" % uuid.uuid4().hex[:8]
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": group,
                  "enable.auto.commit": False})
    try:
        offsets = []
        for topic in topics:
            for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
                _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offsets.append(TopicPartition(topic, p, high))
        c.commit(offsets=offsets, asynchronous=False)
    finally:
        c.close()
    return group


class Router(Service):
    def __init__(self, workdir, redis_port, env):
        self.admin_port = free_port()
        group = group_at_end(["visit.checks", "caregiver.status"])
        super().__init__("alert-router",
                         checker_config("alert-router", self.admin_port, redis_port, group, 1440,
                                        "routing:\n  street_partitions: 2\n"),
                         workdir, env=env)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port


class Ingest(Service):
    def __init__(self, workdir, redis_port, keys, env):
        self.port = free_port()
        self.admin_port = free_port()
        super().__init__("ingest", ingest_config(self.port, self.admin_port, redis_port, keys),
                         workdir, env=env)
        self.client = IngestClient("http://127.0.0.1:%d" % self.port)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port


def exits_at_start(name, tmp_path, env, redis_port):
    """Starts a service that must refuse to start; returns its log."""
    svc = Service(name, checker_config(name, free_port(), redis_port, "test-never", 1440,
                                       "routing:\n  street_partitions: 2\n"
                                       if name == "alert-router" else ""),
                  str(tmp_path), env=env)
    try:
        svc.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        svc.proc.kill()
        svc.proc.wait()
        pytest.fail("%s kept running:\n%s" % (name, svc.log_text()))
    svc.log.close()
    assert svc.proc.returncode == 2, svc.log_text()
    return svc.log_text()


def check_result_body():
    """The Avro body (no header) of a CheckResult."""
    check = {"check_id": "x:GEO_DISTANCE", "order_id": "x", "caregiver_id": "x",
             "event_id": "x", "rule": "GEO_DISTANCE", "outcome": "YELLOW", "measured": 99.0,
             "threshold": 30.0, "unit": "m", "checker": "geo-validator",
             "at": 1720400520000, "produced_at": 1720400520000}
    return REGISTRY.encode("CheckResult", check)[10:]


def letters_for(prefix, watch, count, timeout=60):
    letters = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(letters) < count:
        letters += [r["value"] for r in watch.new_records()
                    if r["value"]["key"] and r["value"]["key"].decode().startswith(prefix)]
        time.sleep(0.5)
    return letters


# ---- without a registry -----------------------------------------------------------------------

def test_the_keys_are_listed():
    out = subprocess.run([binary("alert-router"), "--config-keys"], capture_output=True,
                         text=True, check=True).stdout
    assert "| `avro.framing` | `CAREWATCH_AVRO_FRAMING` | string: single-object / registry | " \
           "`single-object` |" in out
    assert "| `avro.registry_url` | `CAREWATCH_AVRO_REGISTRY_URL` | string |  |" in out


def test_registry_framing_needs_a_url(tmp_path, redis_server):
    log = exits_at_start("alert-router", tmp_path, registry_env(""), redis_server.port)
    assert "avro.framing registry needs avro.registry_url" in log


def test_a_bad_framing_is_refused(tmp_path, redis_server):
    log = exits_at_start("geo-validator", tmp_path, {"CAREWATCH_AVRO_FRAMING": "confluent"},
                         redis_server.port)
    assert "avro.framing" in log and "single-object" in log, log


def test_an_unreachable_registry_stops_the_service_at_start(tmp_path, redis_server):
    port = free_port()  # nobody listens there
    url = "http://127.0.0.1:%d/apis/ccompat/v7" % port
    log = exits_at_start("alert-router", tmp_path, registry_env(url), redis_server.port)
    assert ("schema registry unreachable: POST http://127.0.0.1:%d/apis/ccompat/v7/subjects/"
            "carewatch.v1." % port) in log, log
    assert "Connection refused" in log


@pytest.mark.parametrize("with_url", [False, True], ids=["no-url", "registry-down"])
def test_an_unknown_schema_id_is_dead_lettered(tmp_path, redis_server, with_url):
    """A reader with single-object framing gets a record framed 00 + id: with
    no registry to ask, or one that does not answer, it is dead-lettered
    with the reason; the service goes on."""
    url = "http://127.0.0.1:%d/apis/ccompat/v7" % free_port() if with_url else ""
    router = Router(str(tmp_path), redis_server.port, registry_env(url, "single-object"))
    router.wait_ready(router.ready_url)
    ids = "T%s-" % uuid.uuid4().hex[:10]
    watch = TopicWatch(["dlq.alert-router"])
    try:
        value = b"\x00" + UNKNOWN_ID.to_bytes(4, "big") + check_result_body()
        p = Producer({"bootstrap.servers": KAFKA_BROKERS})
        p.produce("visit.checks", key=(ids + "unknown-id").encode(), value=value)
        assert p.flush(30) == 0
        letters = letters_for(ids, watch, 1)
    finally:
        watch.close()
    assert len(letters) == 1, letters
    reason = letters[0]["reason"]
    if with_url:
        assert reason.startswith("undecodable: unknown schema id %d: schema registry "
                                 "unreachable: GET %s/schemas/ids/%d: connect: Connection "
                                 "refused" % (UNKNOWN_ID, url, UNKNOWN_ID)), reason
    else:
        assert reason == ("undecodable: unknown schema id %d (no avro.registry_url to look it "
                          "up)" % UNKNOWN_ID), reason
    assert letters[0]["payload"] == value
    router.assert_running()
    router.stop()


# ---- with a real registry -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def registry_url():
    url = os.environ.get("CW_REGISTRY_URL")
    if url:
        return url.rstrip("/")
    status = subprocess.run([SCRIPT, "status"], capture_output=True, text=True)
    if status.returncode != 0:
        pytest.skip("no schema registry running (deploy/registry/registry start): %s"
                    % " / ".join(status.stdout.strip().splitlines()[:3]))
    return subprocess.run([SCRIPT, "url"], capture_output=True, text=True,
                          check=True).stdout.strip()


def subject_id(url, record):
    r = requests.get("%s/subjects/carewatch.v1.%s/versions/latest" % (url, record), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def decode_registry_framed(url, value, schemas):
    """00 | id | body, decoded with the schema the registry gives for id."""
    assert value[:1] == b"\x00", value[:10]
    schema_id = int.from_bytes(value[1:5], "big")
    if schema_id not in schemas:
        r = requests.get("%s/schemas/ids/%d" % (url, schema_id), timeout=10)
        assert r.status_code == 200, r.text
        schemas[schema_id] = fastavro.parse_schema(json.loads(r.json()["schema"]))
    body = io.BytesIO(value[5:])
    record = fastavro.schemaless_reader(body, schemas[schema_id])
    assert not body.read(1), "trailing bytes"
    return schema_id, record


def read_from(topic, start_ms, key_prefix):
    """(key, raw value) of topic's records from start_ms on, keyed with
    key_prefix."""
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": "reader-" + uuid.uuid4().hex,
                  "enable.auto.commit": False})
    try:
        parts = [TopicPartition(topic, p, start_ms)
                 for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
        starts = c.offsets_for_times(parts, timeout=10)
        ends = {p.partition: c.get_watermark_offsets(TopicPartition(topic, p.partition),
                                                      timeout=10)[1] for p in parts}
        todo = [s for s in starts if s.offset >= 0 and s.offset < ends[s.partition]]
        if not todo:
            return []
        c.assign(todo)
        out, done = [], set()
        deadline = time.monotonic() + 30
        while len(done) < len(todo) and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.key() and msg.key().decode().startswith(key_prefix):
                out.append((msg.key().decode(), msg.value()))
            if msg.offset() + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
        return out
    finally:
        c.close()


@pytest.fixture(scope="module")
def face_mismatch_day(registry_url, tmp_path_factory, redis_server, keys):
    """ingest and alert-router with avro.framing registry; the day's reference
    data and its face-mismatch order (elder E002 of street S01) posted. Returns
    what the tests read."""
    workdir = str(tmp_path_factory.mktemp("registry"))
    env = registry_env(registry_url)
    ingest = Ingest(os.path.join(workdir, "ingest"), redis_server.port, keys, env)
    router = Router(os.path.join(workdir, "router"), redis_server.port, env)
    started_ms = int(time.time() * 1000) - 1000
    try:
        ingest.wait_ready(ingest.ready_url)
        router.wait_ready(router.ready_url)
        ids = "T%s-" % uuid.uuid4().hex[:10]
        day = Day(ids, allocate_day())
        for kind, bodies in (("elder", day.elders), ("caregiver", day.caregivers),
                             ("contract", day.contracts)):
            for body in bodies:
                post(ingest, keys.registry, kind, body)
        order = next(o for o in day.orders if o["order_id"] == ids + "O-FACE")
        post(ingest, keys.importer, "order", order)
        for kind, body in day.events:
            if body["order_id"] == order["order_id"]:
                post(ingest, keys.importer, kind, body)
        alerts = []
        deadline = time.monotonic() + 90
        while not alerts and time.monotonic() < deadline:
            alerts = read_from("alerts.street.S01", started_ms, order["order_id"])
            time.sleep(0.5)
        assert alerts, "no alert for %s on alerts.street.S01" % order["order_id"]
        ingest.assert_running()
        router.assert_running()
        yield {"ids": ids, "order": order, "alerts": alerts, "started_ms": started_ms,
               "url": registry_url}
    finally:
        for svc in (ingest, router):
            if not svc.log.closed:
                svc.stop()


def test_services_register_every_schema_backward(face_mismatch_day):
    url = face_mismatch_day["url"]
    subjects = requests.get(url + "/subjects", timeout=10).json()
    for path in os.listdir(os.path.join(REPO, "schemas")):
        if path.endswith(".avsc"):
            subject = "carewatch.v1." + path[:-5]
            assert subject in subjects, subject
            config = requests.get("%s/config/%s" % (url, subject), timeout=10).json()
            assert config.get("compatibilityLevel", config.get("compatibility")) == "BACKWARD", \
                (subject, config)


def test_alerts_are_registry_framed(face_mismatch_day):
    url = face_mismatch_day["url"]
    alert_id = subject_id(url, "Alert")
    schemas = {}
    for key, value in face_mismatch_day["alerts"]:
        schema_id, alert = decode_registry_framed(url, value, schemas)
        assert schema_id == alert_id
        assert alert["order_id"] == face_mismatch_day["order"]["order_id"]
        assert alert["rule"] == "FACE_MISMATCH" and alert["colour"] == "ORANGE", alert
        assert alert["street_id"] == "S01"
    checks = read_from("visit.checks", face_mismatch_day["started_ms"],
                       face_mismatch_day["order"]["order_id"])
    assert checks and all(decode_registry_framed(url, v, schemas)[0] ==
                          subject_id(url, "CheckResult") for _, v in checks)


def test_kcat_reads_the_street_alerts(face_mismatch_day):
    """The README's line, against this stack's broker and registry; from the
    time this run began (-o s@<ms>), as the broker keeps other tests'
    single-object alerts on the same topic, which kcat's Avro reader does
    not take."""
    command = (README_KCAT.replace("127.0.0.1:9092", KAFKA_BROKERS)
               .replace("http://127.0.0.1:8085/apis/ccompat/v7", face_mismatch_day["url"])
               + " -o s@%d" % face_mismatch_day["started_ms"])
    r = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60)
    if "lacks Avro/Schema-Registry support" in r.stderr + r.stdout:
        pytest.skip("this kcat is built without Avro (libserdes): %s" % r.stderr.strip())
    assert r.returncode == 0, r.stderr
    decoded = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    mine = [a for a in decoded if a.get("order_id") == face_mismatch_day["order"]["order_id"]]
    assert mine and all(a["rule"] == "FACE_MISMATCH" and a["colour"] == "ORANGE" for a in mine), \
        r.stdout


def test_a_single_object_reader_looks_registry_ids_up(face_mismatch_day, tmp_path):
    """alert-router with single-object framing and the registry's URL, on a
    Redis of its own, rebuilds its state from ref.elders, ref.caregivers and
    orders.assigned at start: the day's records there are registry-framed
    with ids it never registered, so each id is asked of the registry once
    and matched by fingerprint. The day's elder and order then stand in its
    Redis (a record it could not decode would be skipped there)."""
    url = face_mismatch_day["url"]
    order = face_mismatch_day["order"]
    os.makedirs(str(tmp_path / "redis"))
    redis = RedisServer(str(tmp_path / "redis"))
    router = Router(str(tmp_path), redis.port, registry_env(url, "single-object"))
    try:
        router.wait_ready(router.ready_url, timeout=120)
        assert redis.cli("HGET", "cw:order:" + order["order_id"], "elder_id") == \
            order["elder_id"]
        log = router.log_text()
    finally:
        router.stop()
        redis.stop()
    assert "schema registry for reading" in log
    assert "unknown schema id" not in log
