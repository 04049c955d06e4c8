"""carewatch's benchmark: one table, every figure beside a baseline measured
in the same run on the same machine.

It brings up a stack of its own (Kafka, Redis and every service, in live
time mode, on ports of its own), then measures:

  ingest       POST /v1/elders, 16 connections and 1, closed loop, beside
               the same process's null handler (GET /livez on the admin port)
               and Kafka alone (carewatch-acks: ingest's producer, 16
               threads each waiting for one record's acknowledgement)
  batch        /v1/batch records/s (orders, check-ins, check-outs), beside
               the single-record rate
  alerts       check-in posted -> its GEO_DISTANCE alert on alerts.street.<street>,
               open loop at a fixed rate (latency counted from when each
               check-in was due, so queueing is not hidden), beside the
               ingest answer latency of the same requests
  stream       each stream service reading the run's backlog in a fresh
               consumer group, beside carewatch-passthrough (raw librdkafka
               consume -> produce -> commit) over visit.events
  redis        redis-benchmark GET/SET, unpipelined and 16 deep
  rss          peak resident memory of every service

usage: python -m carewatch_py.bench [--build build] [--size tiny|full]
                                    [--json FILE] [--var DIR]
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import requests
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from . import coords
from .avro_single import Registry
from .determinism import (REPO, SERVICES, Instance, Ports, RunFailed, Stack, _clean_env,
                          kill_leftovers)

SIZES = {
    # Runs inside tests/run: every row printed, in about a minute.
    "tiny": dict(elders=100, singles=400, orders=2000, alert_rate=50, alert_seconds=3,
                 null_requests=2000),
    # The documented figures (docs/performance.md).
    "full": dict(elders=2000, singles=20000, orders=40000, alert_rate=1000, alert_seconds=10,
                 null_requests=100000),
}

STREAM_SERVICES = {
    "geo-validator": ("ref.elders", "visit.events"),
    "duration-timer": ("orders.assigned", "visit.events"),
    "overlap-detector": ("visit.events",),
    "alert-router": ("visit.checks", "caregiver.status"),
    "ledger-writer": ("orders.assigned", "visit.events", "visit.checks"),
}
ALL_SERVICES = SERVICES  # the pipeline's, from deploy/services.txt
STREET = "S01"
SLOTS = 5                 # orders per caregiver in the batch step
SLOT_MS = 90 * 60000      # between a caregiver's orders
HOME = (30.2741, 120.1551)


def now_ms():
    return int(time.time() * 1000)


class Bench:
    def __init__(self, build, size, var):
        self.build = os.path.abspath(build)
        self.size = SIZES[size]
        self.size_name = size
        self.var = var
        self.ports = Ports(kafka=29092, controller=29093, redis=26379, http=28080, admin=29101)
        self.stack = Stack(var, self.ports)
        self.rows = []
        self.run_id = "B%d-" % (now_ms() % 10_000_000)
        self.instances = {}

    # ---- stack ---------------------------------------------------------

    def env_for(self, name, admin_port, group=None):
        env = _clean_env()
        env.update(CAREWATCH_KAFKA_BROKERS=self.ports.brokers, CAREWATCH_REDIS_HOST="127.0.0.1",
                   CAREWATCH_REDIS_PORT=str(self.ports.redis),
                   CAREWATCH_ADMIN_PORT=str(admin_port), CAREWATCH_TIME_MODE="live",
                   CAREWATCH_LOG_LEVEL="warn")
        if name == "ingest":
            env.update(CAREWATCH_HTTP_PORT=str(self.ports.http),
                       CAREWATCH_AUTH_KEYS=self.keys["CAREWATCH_AUTH_KEYS"])
        if name == "ledger-writer":
            env.update(CAREWATCH_LEDGER_DIR=os.path.join(self.var, "ledger"),
                       CAREWATCH_LEDGER_SIGNING_KEY=self.keys["CW_LEDGER_SIGNING_KEY"])
        if group:
            env["CAREWATCH_STREAM_GROUP_ID"] = group
        return env

    def start_service(self, name, n=1, group=None):
        port = self.ports.admin + ALL_SERVICES.index(name) + (0 if n == 1 else 20)
        inst = Instance(name, n, self.build, self.env_for(name, port, group),
                        os.path.join(self.var, "logs", "%s-%d.log" % (name, n)), port,
                        os.path.join(self.var, "bench-pids"))
        inst.start()
        inst.wait_ready()
        return inst

    def up(self):
        os.makedirs(os.path.join(self.var, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.var, "bench-pids"), exist_ok=True)
        kill_leftovers(os.path.join(self.var, "bench-pids"))
        step("starting the benchmark's own stack (Kafka %d, Redis %d)"
             % (self.ports.kafka, self.ports.redis))
        self.stack.run("stack", "reset")
        self.stack.run("stack", "start", timeout=600)
        self.keys = self.stack.keys()
        for name in ALL_SERVICES:
            self.instances[name] = self.start_service(name)
        self.url = "http://127.0.0.1:%d" % self.ports.http
        self.importer = self.keys["CW_IMPORTER_KEY"]
        self.registry = self.keys["CW_REGISTRY_KEY"]

    def down(self):
        for inst in self.instances.values():
            inst.stop()
        try:
            self.stack.run("stack", "stop")
        except RunFailed as e:
            print(e, file=sys.stderr)

    # ---- tools -----------------------------------------------------------

    def loadgen(self, target, lines, rate=0, connections=16, key=None, log=None):
        with tempfile.NamedTemporaryFile("w", suffix=".req", delete=False) as f:
            f.write("".join(lines))
            path = f.name
        cmd = [os.path.join(self.build, "tools", "bench", "carewatch-loadgen"), "--target",
               target, "--requests", path, "--rate", str(rate), "--connections",
               str(connections)]
        if key:
            cmd += ["--key", key]
        if log:
            cmd += ["--log", log]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        os.unlink(path)
        if r.returncode != 0:
            raise RunFailed("loadgen failed (%d): %s %s" % (r.returncode, r.stdout, r.stderr))
        return json.loads(r.stdout)

    def bench_topic(self):
        admin = AdminClient({"bootstrap.servers": self.ports.brokers})
        for f in admin.create_topics([NewTopic("bench.passthrough", 6, 1)]).values():
            try:
                f.result(30)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        return "bench.passthrough"

    def acks(self, threads, count):
        """carewatch-acks: ingest's producer path alone."""
        env = dict(_clean_env(), CAREWATCH_KAFKA_BROKERS=self.ports.brokers,
                   CAREWATCH_LOG_LEVEL="warn")
        r = subprocess.run([os.path.join(self.build, "tools", "bench", "carewatch-acks"),
                            self.bench_topic(), str(threads), str(count)],
                           capture_output=True, text=True, timeout=600, env=env)
        if r.returncode != 0:
            raise RunFailed("carewatch-acks failed: %s %s" % (r.stdout, r.stderr))
        return json.loads(r.stdout)

    def batch(self, key, lines, chunk=1000, clients=2):
        """Posts NDJSON lines in chunks from several clients at once; returns
        (records/s, the responses' totals)."""
        chunks = [lines[i:i + chunk] for i in range(0, len(lines), chunk)]
        totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "not_processed": 0}
        lock = threading.Lock()
        failures = []

        def worker(part):
            s = requests.Session()
            for c in part:
                body = "\n".join(json.dumps(x) for x in c) + "\n"
                r = s.post(self.url + "/v1/batch", data=body.encode(), timeout=300,
                           headers={"Authorization": "Bearer " + key,
                                    "Content-Type": "application/x-ndjson"})
                if r.status_code != 200:
                    failures.append(r.text[:300])
                    return
                doc = r.json()
                with lock:
                    for k in totals:
                        totals[k] += doc[k]
                    if doc["rejected"] and len(failures) < 3:
                        bad = doc["failures"][:1]
                        failures.append("rejected: %s" % bad)

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker, args=(chunks[i::clients],))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        if failures:
            raise RunFailed("batch failed: %s" % failures[:3])
        return len(lines) / elapsed, totals

    def row(self, what, figure, baseline, ratio=None, target="", note=""):
        self.rows.append(dict(what=what, figure=figure, baseline=baseline,
                              ratio=ratio, target=target, note=note))
        print("  %-44s %-30s %-30s %s" % (what, figure, baseline,
                                          "" if ratio is None else "%.2f" % ratio), flush=True)

    # ---- data ------------------------------------------------------------

    def reference(self):
        p = self.run_id
        lines = []
        for i in range(self.size["elders"]):
            lat, lon = coords.offset_north(HOME[0] + i * 0.001, HOME[1], 0.0)
            lines.append({"type": "elder", "elder_id": "%sE%05d" % (p, i), "street_id": STREET,
                          "community_id": "C%02d" % (i % 10),
                          "home": {"lat": round(lat, 7), "lon": round(lon, 7), "crs": "WGS84"}})
        for i in range(self.caregivers):
            lines.append({"type": "caregiver", "caregiver_id": "%sCG%05d" % (p, i),
                          "provider_id": p + "P01", "certified": True})
        month = datetime.date.today().strftime("%Y-%m")
        start = datetime.date.today().replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        lines.append({"type": "contract", "contract_id": "%sK-%s" % (p, month),
                      "provider_id": p + "P01", "period_start": start.isoformat(),
                      "period_end": end.isoformat(), "budget_cents": 10 ** 11,
                      "unit_price_cents": 4000, "prepay_ratio": 0.3,
                      "invalid_deduction_cents": 18000})
        rate, totals = self.batch(self.registry, lines)
        if totals["accepted"] + totals["duplicates"] != len(lines):
            raise RunFailed("reference data not accepted: %s" % totals)

    def home(self, i):
        return round(HOME[0] + (i % self.size["elders"]) * 0.001, 7), HOME[1]

    @property
    def caregivers(self):
        """Enough for SLOTS visits each: a caregiver's orders never
        overlap (overlaps would be frauds, and costly ones to judge)."""
        return max(50, self.size["orders"] // SLOTS)

    def orders(self, tag, n, first_start_ms):
        """n orders spread over the caregivers, a caregiver's k-th order
        starting k * 90 minutes after first_start_ms."""
        p, c = self.run_id, self.caregivers
        return [{"type": "order", "order_id": "%s%s-O%06d" % (p, tag, i),
                 "elder_id": "%sE%05d" % (p, i % self.size["elders"]),
                 "caregiver_id": "%sCG%05d" % (p, i % c), "service_type": "bathing",
                 "scheduled_start": iso(first_start_ms + (i // c) * SLOT_MS),
                 "scheduled_minutes": 60}
                for i in range(n)]

    def visit(self, order, i, which, at_ms, off_m=0.0):
        lat, lon = coords.offset_north(*self.home(i), off_m)
        body = {"event_id": "%s-%s" % (order["order_id"], which), "order_id": order["order_id"],
                "caregiver_id": order["caregiver_id"], "at": iso(at_ms),
                "gps": {"lat": round(lat, 7), "lon": round(lon, 7), "accuracy_m": 8.0}}
        if which == "in":
            body["face_match"] = 0.95
        else:
            body["voiceprint_match"] = 0.91
            body["items"] = ["bathing"]
        return body

    # ---- measurements ----------------------------------------------------

    def measure_ingest(self):
        step("ingest: single records beside the null handler")
        n = self.size["null_requests"]
        admin = "127.0.0.1:%d" % self.instances["ingest"].admin_port
        null = self.loadgen(admin, ["GET /livez\t\n"] * n)
        p = self.run_id
        singles = self.size["singles"]
        bodies = []
        for i in range(singles):
            lat, lon = self.home(i)
            bodies.append("POST /v1/elders\t%s\n" % json.dumps(
                {"elder_id": "%sX%06d" % (p, i), "street_id": STREET, "community_id": "C01",
                 "home": {"lat": lat, "lon": lon, "crs": "WGS84"}}))
        many = self.loadgen("127.0.0.1:%d" % self.ports.http, bodies[:singles // 2],
                            key=self.registry)
        one = self.loadgen("127.0.0.1:%d" % self.ports.http, bodies[singles // 2:],
                           connections=1, key=self.registry)
        for r in (many, one):
            if r["2xx"] != r["requests"]:
                raise RunFailed("ingest refused requests: %s" % r)
        acks = self.acks(16, max(1, singles // 2 // 16))
        self.row("ingest POST /v1/elders, 16 connections", rps(many),
                 "null handler %s" % rps(null), many["rate"] / null["rate"], ">= 0.50")
        self.row("ingest POST /v1/elders, 1 connection", rps(one),
                 "null handler %s" % rps(null), None, "")
        self.row("Kafka alone: 16 threads, one record, its ack", rps(acks),
                 "ingest 16 connections %.0f req/s" % many["rate"], many["rate"] / acks["rate"],
                 "", "ingest's ceiling: every accepted request waits for one")
        self.single_rate = many["rate"]

    def measure_batch(self):
        step("ingest: /v1/batch")
        n = self.size["orders"]
        # The slots end before the alert step's orders (scheduled now) begin.
        first = now_ms() - (SLOTS + 1) * SLOT_MS
        orders = self.orders("BATCH", n, first)
        rate_o, totals = self.batch(self.importer, orders)
        ins = [dict(self.visit(o, i, "in", ms_of(o) + 60000), type="check-in")
               for i, o in enumerate(orders)]
        outs = [dict(self.visit(o, i, "out", ms_of(o) + 25 * 60000), type="check-out")
                for i, o in enumerate(orders)]
        rate_in, t_in = self.batch(self.importer, ins)
        rate_out, t_out = self.batch(self.importer, outs)
        for t in (totals, t_in, t_out):
            if t["accepted"] != n:
                raise RunFailed("batch lines not accepted: %s" % t)
        base = "single records %.0f/s" % getattr(self, "single_rate", 0)
        single = getattr(self, "single_rate", None)
        for what, rate in (("orders", rate_o), ("check-ins", rate_in), ("check-outs", rate_out)):
            self.row("/v1/batch %s (records/s)" % what, "%.0f/s" % rate, base,
                     rate / single if single else None, ">= 20000/s")

    def wait_idle(self, timeout=600):
        """Until every stream service has committed everything its inputs
        hold: a measurement must not start behind an earlier one's backlog."""
        for name, topics in STREAM_SERVICES.items():
            wait_committed(self.ports.brokers, "carewatch-" + name,
                           end_offsets(self.ports.brokers, topics), timeout)

    def measure_alerts(self):
        rate, seconds = self.size["alert_rate"], self.size["alert_seconds"]
        n = rate * seconds
        step("check-in -> GEO_DISTANCE alert on alerts.street.%s, open loop at %d/s for %d s"
             % (STREET, rate, seconds))
        start = now_ms()
        # One order a caregiver (or a few, 90 minutes apart, the last one
        # now), each checked in at its start.
        orders = self.orders("ALERT", n, start - (n // self.caregivers) * SLOT_MS)
        self.batch(self.importer, orders)
        self.wait_idle()
        lines = ["POST /v1/visits/check-in\t%s\n"
                 % json.dumps(self.visit(o, i, "in", ms_of(o), off_m=500.0))
                 for i, o in enumerate(orders)]
        seen = {}
        ready = threading.Event()
        stop = threading.Event()

        def consume():
            c = Consumer({"bootstrap.servers": self.ports.brokers, "group.id": self.run_id + "al",
                          "enable.auto.commit": False, "fetch.wait.max.ms": 1,
                          "fetch.min.bytes": 1})
            topic = "alerts.street." + STREET
            md = c.list_topics(topic, timeout=10)
            parts = list(md.topics[topic].partitions) if topic in md.topics else []
            tps = []
            for part in parts:
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
                tps.append(TopicPartition(topic, part, hi))
            c.assign(tps)
            ready.set()
            registry = Registry()
            while not stop.is_set():
                m = c.poll(0.05)
                if m is None or m.error():
                    continue
                got = time.time() * 1000
                _, alert = registry.decode(m.value())
                if alert.get("rule") == "GEO_DISTANCE":
                    seen.setdefault(alert["order_id"], got)
            c.close()

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        ready.wait(30)
        log = os.path.join(self.var, "alerts-loadgen.log")
        http = self.loadgen("127.0.0.1:%d" % self.ports.http, lines, rate=rate, connections=64,
                            key=self.importer, log=log)
        deadline = time.monotonic() + 30
        while len(seen) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        t.join(10)
        due = {}
        with open(log) as f:
            for line in f:
                idx, due_ms, _, _ = line.split()
                due[orders[int(idx)]["order_id"]] = float(due_ms)
        lat = sorted(seen[o] - due[o] for o in seen if o in due)
        if len(lat) < n:
            raise RunFailed("%d of %d GEO_DISTANCE alerts arrived" % (len(lat), n))
        self.row("check-in -> alert on street topic (open loop %d/s)" % rate,
                 "p50 %.1f p99 %.1f p99.9 %.1f ms" % (pct(lat, .5), pct(lat, .99),
                                                     pct(lat, .999)),
                 "ingest answer p50 %.1f p99 %.1f ms" % (http["p50_ms"], http["p99_ms"]), None,
                 "p99 <= 25 ms at 1000/s")

    def measure_stream(self):
        step("stream services over the run's backlog, beside a raw passthrough")
        topic = self.bench_topic()
        out = subprocess.run(
            [os.path.join(self.build, "tools", "bench", "carewatch-passthrough"),
             self.ports.brokers, self.run_id + "passthrough", "visit.events", topic],
            capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RunFailed("passthrough failed: %s %s" % (out.stdout, out.stderr))
        base = json.loads(out.stdout)
        self.wait_idle()
        for name, topics in STREAM_SERVICES.items():
            self.instances[name].stop()
            ends = end_offsets(self.ports.brokers, topics)
            total = sum(ends.values())
            group = self.run_id + "replay-" + name
            t0 = time.monotonic()
            inst = self.start_service(name, n=2, group=group)
            ready = time.monotonic()
            wait_committed(self.ports.brokers, group, ends, timeout=900)
            seconds = time.monotonic() - ready
            inst.stop()
            self.instances[name] = self.start_service(name)
            rate = total / seconds
            self.row("%s over %d messages" % (name, total), "%.0f msg/s" % rate,
                     "passthrough %.0f msg/s" % base["rate"], rate / base["rate"], ">= 0.50",
                     "start-up %.1f s not counted" % (ready - t0))

    def measure_redis(self):
        step("Redis alone (redis-benchmark)")
        figures = []
        for pipeline in (1, 16):
            r = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(self.ports.redis),
                                "-q", "-n", "50000", "-t", "get,set", "-P", str(pipeline)],
                               capture_output=True, text=True, timeout=300)
            ops = re.findall(r"(GET|SET): ([\d.]+) requests per second", r.stdout)
            if len(ops) != 2:
                raise RunFailed("redis-benchmark: %s %s" % (r.stdout, r.stderr))
            figures.append("P%d %s" % (pipeline, " ".join("%s %.0f/s" % (k, float(v))
                                                         for k, v in ops)))
        self.row("Redis GET/SET (redis-benchmark)", figures[0], figures[1])

    def measure_rss(self):
        step("peak resident memory of each service")
        for name, inst in self.instances.items():
            hwm = rss_kb(inst.proc.pid, "VmHWM")
            self.row("%s peak RSS" % name, "%.1f MB" % (hwm / 1024.0), "", None, "<= 32 MB")


def step(text):
    print("\n==> " + text, flush=True)


def ms_of(order):
    return int(datetime.datetime.fromisoformat(
        order["scheduled_start"].replace("Z", "+00:00")).timestamp() * 1000)


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def rps(r):
    return "%.0f req/s (p50 %.1f p99 %.1f ms)" % (r["rate"], r["p50_ms"], r["p99_ms"])


def pct(values, q):
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


def rss_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def end_offsets(brokers, topics):
    c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-ends"})
    ends = {}
    for topic in topics:
        md = c.list_topics(topic, timeout=10)
        for part in md.topics[topic].partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
            ends[(topic, part)] = hi
    c.close()
    return ends


def wait_committed(brokers, group, ends, timeout):
    c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
    tps = [TopicPartition(t, p) for (t, p), hi in ends.items() if hi > 0]
    deadline = time.monotonic() + timeout
    try:
        while True:
            got = c.committed(tps, timeout=10)
            if all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in got):
                return
            if time.monotonic() > deadline:
                raise RunFailed("group %s did not reach the end in %d s" % (group, timeout))
            time.sleep(0.05)
    finally:
        c.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--var", default=os.path.join(REPO, "var", "bench"))
    ap.add_argument("--only", help="comma-separated measurements: ingest,batch,alerts,stream,"
                                   "redis,rss (default all)")
    args = ap.parse_args(argv)
    bench = Bench(args.build, args.size, os.path.abspath(args.var))
    try:
        bench.up()
        bench.reference()
        print("\n  %-44s %-30s %-30s %s" % ("what", "figure", "baseline (same run)", "ratio"))
        only = set((args.only or "ingest,batch,alerts,stream,redis,rss").split(","))
        for name in ("ingest", "batch", "alerts", "stream", "redis", "rss"):
            if name in only:
                getattr(bench, "measure_" + name)()
    except RunFailed as e:
        print("benchmark failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        bench.down()
    print_table(bench)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(size=args.size, machine=machine(), rows=bench.rows), f, indent=1)
    return 0


def machine():
    cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d cores, %s" % (cpus, model)


def print_table(bench):
    print("\ncarewatch benchmark (%s size), %s, %s" % (
        bench.size_name, machine(), datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
    print("| what | figure | baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    for r in bench.rows:
        print("| %s | %s | %s | %s | %s |" % (r["what"], r["figure"], r["baseline"],
                                             "" if r["ratio"] is None else "%.2f" % r["ratio"],
                                             r["target"]))


if __name__ == "__main__":
    sys.exit(main())
