"""Fixtures of the integration tests: the real Kafka broker of the local
stack (deploy/local/stack start, done by tests/run), a Redis server of the
tests' own on a free port (so the tests may flush it), and carewatch
services started from CW_BUILD_DIR with generated configuration and keys.

Records are read back with confluent-kafka and decoded with fastavro from
the .avsc files (tools/carewatch_py), independently of the C code."""

import datetime
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition

try:
    from carewatch_py.avro_single import Registry
    from carewatch_py.ingest_client import IngestClient
except ModuleNotFoundError as e:
    raise ImportError("the tests import carewatch_py, the package in tools/: run "
                      "deploy/local/install-deps (pip install -e tools into .venv)") from e

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

BUILD_DIR = os.environ.get("CW_BUILD_DIR", os.path.join(REPO, "build"))
# The build without sanitizers, for what is measured in memory (ASan keeps
# freed memory in quarantine, so RSS says nothing under it).
PLAIN_BUILD_DIR = os.environ.get("CW_PLAIN_BUILD_DIR", os.path.join(REPO, "build"))
KAFKA_BROKERS = os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092")
REGISTRY = Registry()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


# ---- Kafka ------------------------------------------------------------------

class TopicWatch:
    """Remembers the end of each partition of some topics; new_records()
    returns, decoded, everything written after that point and moves the
    mark to where it read up to."""

    def __init__(self, topics):
        self.topics = list(topics)
        self.consumer = Consumer({
            "bootstrap.servers": KAFKA_BROKERS,
            "group.id": "carewatch-test-" + uuid.uuid4().hex,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        })
        self.start = self._ends()

    def _ends(self):
        ends = {}
        for topic in self.topics:
            md = self.consumer.list_topics(topic, timeout=10).topics[topic]
            assert md.error is None, "topic %s: %s" % (topic, md.error)
            for p in md.partitions:
                _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                ends[(topic, p)] = high
        return ends

    def new_records(self):
        """Everything written since the last call (or since the start)."""
        ends = self._ends()
        todo = {tp: (self.start[tp], end) for tp, end in ends.items() if end > self.start[tp]}
        records = []
        if not todo:
            return records
        self.consumer.assign([TopicPartition(t, p, lo) for (t, p), (lo, _) in todo.items()])
        deadline = time.monotonic() + 30
        done = set()
        while len(done) < len(todo) and time.monotonic() < deadline:
            msg = self.consumer.poll(0.5)
            if msg is None:
                positions = self.consumer.position([TopicPartition(t, p) for (t, p) in todo])
                done.update((tp.topic, tp.partition) for tp in positions
                            if tp.offset >= todo[(tp.topic, tp.partition)][1])
                continue
            assert not msg.error(), msg.error()
            name, value = REGISTRY.decode(msg.value())
            records.append({"topic": msg.topic(), "key": msg.key().decode(), "name": name,
                            "value": value, "partition": msg.partition(),
                            "offset": msg.offset(), "raw": msg.value()})
            if msg.offset() + 1 >= todo[(msg.topic(), msg.partition())][1]:
                done.add((msg.topic(), msg.partition()))
        assert len(done) == len(todo), "could not read %s to the end" % todo
        self.consumer.unassign()
        self.start = ends
        return records

    def close(self):
        self.consumer.close()


ALL_INGEST_TOPICS = ["ref.elders", "ref.caregivers", "ref.contracts", "ref.elder_status",
                     "orders.assigned", "visit.events", "visit.checks", "caregiver.status"]


@pytest.fixture
def watch():
    w = TopicWatch(ALL_INGEST_TOPICS)
    yield w
    w.close()


@pytest.fixture(scope="session", autouse=True)
def kafka_up():
    c = Consumer({"bootstrap.servers": KAFKA_BROKERS, "group.id": "carewatch-probe"})
    try:
        md = c.list_topics(timeout=15)
    finally:
        c.close()
    missing = [t for t in ALL_INGEST_TOPICS if t not in md.topics]
    assert not missing, ("the local stack must be running with its topics "
                         "(deploy/local/stack start); missing: %s" % missing)


# ---- Redis --------------------------------------------------------------------

class RedisServer:
    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self._start()

    def _start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.cli("PING") == "PONG", 10, "redis-server")

    def snapshot(self, path):
        """Writes the data as it is now to path (an RDB file)."""
        assert self.cli("SAVE") == "OK"
        shutil.copy(os.path.join(self.workdir, "dump.rdb"), path)

    def restart_from(self, path):
        """Stops Redis without saving and starts it again on the same port
        from the snapshot at path: a Redis that comes back older."""
        self.cli("SHUTDOWN", "NOSAVE")
        self.proc.wait(timeout=10)
        shutil.copy(path, os.path.join(self.workdir, "dump.rdb"))
        self._start()

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


# ---- keys ---------------------------------------------------------------------

class Keys:
    def __init__(self):
        self.registry = secrets.token_hex(16)
        self.importer = secrets.token_hex(16)
        self.admin = secrets.token_hex(16)
        self.p01 = secrets.token_hex(16)
        self.p02 = secrets.token_hex(16)
        # Street offices S01 and S02 (the label names the holder).
        self.s01 = secrets.token_hex(16)
        self.s02 = secrets.token_hex(16)

    def config_entries(self):
        pairs = [(self.registry, "registry"), (self.importer, "importer"),
                 (self.admin, "admin"), (self.p01, "provider:P01"), (self.p02, "provider:P02"),
                 (self.s01, "street:S01#S01 office"), (self.s02, "street:S02#S02 office")]
        return ["%s=%s" % (sha256_hex(k), role) for k, role in pairs]


@pytest.fixture(scope="session")
def keys():
    return Keys()


# ---- services -------------------------------------------------------------------

class Service:
    """A carewatch service binary running with a generated YAML config."""

    def __init__(self, name, config_text, workdir, env=None, build_dir=None):
        self.name = name
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.config_path = os.path.join(workdir, name + ".yaml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(config_text)
        self.log_path = os.path.join(workdir, name + ".log")
        binary = os.path.join(build_dir or BUILD_DIR, "services", name, "carewatch-" + name)
        assert os.access(binary, os.X_OK), "no binary %s (build first)" % binary
        # CAREWATCH_* variables would override the generated config.
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
        full_env.update(ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86",
                        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87")
        full_env.update(env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary, "--config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=full_env)

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def assert_running(self):
        assert self.proc.poll() is None, ("%s exited with %s:\n%s"
                                          % (self.name, self.proc.returncode, self.log_text()))

    def wait_ready(self, url, timeout=30):
        def ready():
            self.assert_running()
            try:
                return requests.get(url, timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, timeout, "%s to be ready at %s" % (self.name, url))

    def kill9(self):
        """SIGKILL: the crash the delivery guarantees are tested against."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self):
        """SIGTERM; the service must exit 0 within 15 s, with no sanitizer
        report in its log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("%s ignored SIGTERM" % self.name)
        self.log.close()
        text = self.log_text()
        assert "ERROR: AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text
        assert "ERROR: LeakSanitizer" not in text, text
        assert "WARNING: ThreadSanitizer" not in text, text
        assert self.proc.returncode == 0, "%s exited %s:\n%s" % (self.name,
                                                                  self.proc.returncode, text)


def ingest_config(port, admin_port, redis_port, keys, brokers=KAFKA_BROKERS, extra="",
                  http_extra=""):
    entries = "\n".join("    - %s" % e for e in keys.config_entries())
    return """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
redis:
  host: 127.0.0.1
  port: {redis_port}
  timeout_ms: 1000
admin:
  bind: 127.0.0.1
  port: {admin_port}
log:
  level: info
time:
  mode: replay
http:
  bind: 127.0.0.1
  port: {port}
  max_body_bytes: 65536
  max_batch_bytes: 1048576
{http_extra}
auth:
  keys:
{entries}
{extra}""".format(brokers=brokers, redis_port=redis_port, admin_port=admin_port, port=port,
                  entries=entries, extra=extra, http_extra=http_extra)


class Ingest(Service):
    def __init__(self, workdir, redis_port, keys, brokers=KAFKA_BROKERS, extra="",
                 http_extra="", build_dir=None):
        self.port = free_port()
        self.admin_port = free_port()
        super().__init__("ingest", ingest_config(self.port, self.admin_port, redis_port, keys,
                                                 brokers, extra, http_extra), workdir,
                         build_dir=build_dir)
        self.url = "http://127.0.0.1:%d" % self.port
        self.client = IngestClient(self.url)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory, redis_server, keys):
    svc = Ingest(str(tmp_path_factory.mktemp("ingest")), redis_server.port, keys)
    svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port)
    yield svc
    svc.stop()


# Scripted days go through one shared broker, and every test's checkers read
# it from the beginning: a day older than one posted before it would arrive
# "late" in event time. Each day therefore gets a fortnight of its own, later
# than every day handed out before it in the session (and than the fixed
# dates of the ingest tests).
_next_day = [datetime.date(2024, 6, 3)]


def allocate_day():
    """A fresh "YYYY-MM-DD" for a scripted day (it and the week after are
    its own)."""
    day = _next_day[0]
    _next_day[0] = day + datetime.timedelta(days=14)
    return day.isoformat()


def post(ingest, key, kind, body):
    """Posts one record through ingest; it must be accepted (or a duplicate)."""
    r = ingest.client.submit(kind, key, body)
    assert r.status_code in (200, 202), (kind, r.text)


@pytest.fixture
def ids():
    """A fresh id prefix per test: the broker is shared and keeps its data."""
    return "T%s-" % uuid.uuid4().hex[:10]


@pytest.fixture
def artifacts(tmp_path):
    return str(tmp_path)


def copy_log(svc, dest):
    shutil.copy(svc.log_path, dest)


def checker_config(name, admin_port, redis_port, group, lateness_minutes, extra=""):
    return """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
redis:
  host: 127.0.0.1
  port: {redis_port}
admin:
  bind: 127.0.0.1
  port: {admin_port}
log:
  level: info
time:
  mode: replay
stream:
  group_id: {group}
  allowed_lateness_minutes: {lateness}
{extra}""".format(brokers=KAFKA_BROKERS, redis_port=redis_port, admin_port=admin_port,
                  group=group, lateness=lateness_minutes, extra=extra)


CHECKERS = ("geo-validator", "duration-timer", "overlap-detector")


class Checker(Service):
    def __init__(self, name, workdir, redis_port, group, lateness_minutes=1440):
        self.admin_port = free_port()
        self.group = group
        self.lateness = lateness_minutes
        self.redis_port = redis_port
        super().__init__(name, checker_config(name, self.admin_port, redis_port, group,
                                              lateness_minutes), workdir)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port

    def restart(self):
        """A new process with the same config, group and log."""
        return Checker(self.name, self.workdir, self.redis_port, self.group, self.lateness)


@pytest.fixture(scope="module")
def checkers(tmp_path_factory, redis_server):
    """The three checkers, one instance each, in groups of their own, with a
    day of allowed lateness (the scripted days post out of order)."""
    run = uuid.uuid4().hex[:8]
    workdir = str(tmp_path_factory.mktemp("checkers"))
    started = {}
    for name in CHECKERS:
        started[name] = Checker(name, os.path.join(workdir, name), redis_server.port,
                                "test-%s-%s" % (run, name))
    for svc in started.values():
        svc.wait_ready(svc.ready_url)
    yield started
    for svc in started.values():
        if svc.proc.poll() is None or not svc.log.closed:
            svc.stop()
