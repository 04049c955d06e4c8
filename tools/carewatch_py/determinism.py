"""The determinism suite: one simulated district (every fraud type, evidence
in and out of time, freezes and unfreezes) fed through the whole pipeline
under several scenarios, each on a fresh stack of its own, and everything
the pipeline decided compared across the scenarios as sets.

    .venv/bin/python -m carewatch_py.determinism --build build \\
        --size small|month [--scenarios full,paced,pause,kills,pairs] \\
        [--workdir var/determinism] [--keep-logs]

Scenarios (docs/determinism.md):
  full    the records posted as fast as ingest answers
  paced   a fixed rate, about three times as long as the full feed
  pause   one consumer (ledger-writer by default) SIGSTOPped for 6 s at a
          third of the feed, then SIGCONT
  kills   SIGKILL at evenly spread points of the feed of the broker, of
          Redis and of each of the seven services in turn, each restarted
  pairs   two instances in each checker group (geo-validator,
          duration-timer, overlap-detector), full speed

Each scenario brings up its own stack (deploy/local/stack with
CAREWATCH_VAR=<workdir>/stack and ports of its own: Kafka 19092,
controller 19093, Redis 16379; ingest's API on 18080, admin ports from
19101), reset first so that every scenario starts empty, starts the seven
services itself, feeds the records through POST /v1/batch in posting order
(an admin unfreeze at its place), waits until every order is finalized and
every contract settled and nothing new arrives, and reads back every
verdict, OrderFinalized, statement, payment instruction and freeze.

Compared with the first scenario (full): the sets of (check_id, rule,
outcome), {order: (status, reasons, finalized_at)}, {statement_id:
(counts, cents, published_at)}, {instruction_id: (kind, amount, period)}
and (caregiver, status, reason, order) of caregiver.status. Checked in
every scenario: no check and no order decided two ways, every order
finalized exactly once with ledger indexes 0..N-1, `carewatch ledger
verify` OK, the unfreezes and late evidence doing what they must, no
sanitizer report in any service log. Exit code 0 only when all holds."""

import argparse
import datetime
import hashlib
import io
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid

import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from . import quality
from .avro_single import REPO, Registry
from .deployment import service_names
from .district import FRAUD_RULES, PARTNER, District, rfc3339
from .progress import Progress

# The pipeline's services in start order (deploy/services.txt); the
# supervision desk only reads what they decide and is not run here.
SERVICES = tuple(name for name in service_names() if name != "supervision-desk")
CHECKERS = ("geo-validator", "duration-timer", "overlap-detector")
SCENARIOS = ("full", "paced", "pause", "kills", "pairs")
CATEGORIES = ("verdicts", "finals", "statements", "instructions", "freezes")
TZ8 = datetime.timezone(datetime.timedelta(hours=8))

# Topics whose silence means the pipeline is through; read back at the end.
QUIET_TOPICS = ("visit.checks", "orders.finalized", "payments.statements",
                "payments.instructions", "caregiver.status")
DLQ_TOPICS = tuple("dlq." + s for s in SERVICES)

# Every fraud type at least once in the small district, the two-order frauds
# (whose freezes the unfreezes lift) a few times.
SMALL_RATES = {"travel": 0.02, "visit_overlap": 0.02, "schedule_overlap": 0.02,
               "no_checkout": 0.02, "voice": 0.02, "backfill": 0.03, "dual": 0.03,
               "evidence": 0.3}
SIZES = {
    # 2 streets, 160 elders, 160 orders over the last 5 days of May 2024:
    # the contracts (calendar months) are settled at T+3 of May 31.
    "small": {"district": dict(seed=7, streets=2, communities=16, elders=160, providers=2,
                               start="2024-05-27", days=5, prefix="DET-", rates=SMALL_RATES),
              "unfreezes_per_type": 2, "late_evidence": 3, "timeout": 900.0},
    # A calendar month: 3 streets, 600 elders, 2,400 orders in May 2024.
    "month": {"district": dict(seed=7, streets=3, communities=36, elders=600, providers=3,
                               start="2024-05-01", days=31, prefix="DETM-",
                               rates={"travel": 0.01, "visit_overlap": 0.005,
                                      "schedule_overlap": 0.005, "evidence": 0.25}),
              "unfreezes_per_type": 3, "late_evidence": 8, "timeout": 3600.0},
}
KILL_ORDER = ("kafka", "redis") + SERVICES


class Ports:
    """The driver's own ports: never the shared stack's 9092/9093/6379,
    8080 and 9101-9107."""

    def __init__(self, kafka=19092, controller=19093, redis=16379, http=18080, admin=19101):
        self.kafka, self.controller, self.redis, self.http, self.admin = (
            kafka, controller, redis, http, admin)

    @property
    def brokers(self):
        return "127.0.0.1:%d" % self.kafka


class RunFailed(Exception):
    pass


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value):
    """A decoded timestamp-millis (datetime) as RFC 3339 in UTC+8, to the ms."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(TZ8).isoformat(timespec="milliseconds")
    return str(value)


def _tail(path, lines=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(no log: %s)" % e


def _port_in_use(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _clean_env():
    """The environment without CAREWATCH_* (they override configuration
    keys) and without the shared stack's coordinates."""
    drop = ("KAFKA_BROKERS", "REDIS_HOST", "REDIS_PORT", "CW_LOCAL_KAFKA_PORT",
            "CW_LOCAL_CONTROLLER_PORT", "CW_LOCAL_REDIS_PORT")
    return {k: v for k, v in os.environ.items()
            if not k.startswith("CAREWATCH_") and k not in drop}


# ---- the plan: the district and what is added to it ------------------------------


class Plan:
    """The records to post, in posting order. Each is an API body with its
    "type"; type "unfreeze" is an admin's POST /v1/caregivers/{id}/unfreeze."""

    def __init__(self, size="small", **overrides):
        spec = SIZES[size]
        params = dict(spec["district"], **overrides)
        self.size = size
        self.timeout = spec["timeout"]
        d = self.district = District(**params)
        self.truth = d.truth
        by_cg = {}
        for o in d.orders:
            by_cg.setdefault(o["caregiver"], []).append(o)
        keyed = [((posted, 0, i), body) for i, (posted, body) in enumerate(d.timeline)]
        self.unfreezes = []
        self.late_evidence = []
        seq = 0
        p = params.get("prefix", "SIM-")
        # Unfreezes: caregivers frozen by an overlap pair, the pair's day not
        # the last (the extra visit comes a day later, in the contract's period).
        for kind in ("visit_overlap", "schedule_overlap"):
            cands = sorted(cg for cg, orders in by_cg.items()
                           if any(o["fraud"] == kind for o in orders))
            chosen = 0
            for cg in cands:
                if chosen >= spec["unfreezes_per_type"]:
                    break
                (a,) = [o for o in by_cg[cg] if o["fraud"] == PARTNER]
                (b,) = [o for o in by_cg[cg] if o["fraud"] == kind]
                if a["day"] + 1 > d.days - 1:
                    continue
                chosen += 1
                seq += 1
                va = d.visits[a["order_id"]]
                last = max(posted for o in (a, b) for _, _, posted in d.event_bodies(o))
                at = last + 2 * 3600
                extra = "%sO-UNF%02d" % (p, seq)
                reason = "determinism suite: street office checked %s" % cg
                keyed.append(((at, 1, seq), {"type": "unfreeze", "caregiver_id": cg,
                                             "reason": reason}))
                order = dict(d.order_body(a), type="order", order_id=extra,
                             scheduled_start=rfc3339(a["start"] + 86400))
                keyed.append(((at, 2, seq), order))
                bodies = {k: body for k, body, _ in d.event_bodies(a)}
                for kind_ev, t, suffix in (("check-in", va["in_at"], "in"),
                                           ("check-out", va["out_at"], "out")):
                    body = dict(bodies[kind_ev], type=kind_ev, event_id=extra + "-" + suffix,
                                order_id=extra, at=rfc3339(t + 86400),
                                photo_sha256=_sha("%s:unfreeze:%s:%s" % (p, extra, suffix)))
                    keyed.append(((t + 86400, 1, seq), body))
                self.unfreezes.append({"caregiver_id": cg, "kind": kind, "reason": reason,
                                       "partner": a["order_id"], "overlap": b["order_id"],
                                       "extra": extra})
        # Evidence out of time: after the 72 h window of flagged orders that
        # had none; the district's own evidence comes within it.
        close_at = d._day_start(d.days - 1 + 5)
        done_kinds = set()
        for o in sorted(d.orders, key=lambda o: o["order_id"]):
            if len(self.late_evidence) >= spec["late_evidence"]:
                break
            fraud = o["fraud"]
            v = d.visits[o["order_id"]]
            if (fraud not in FRAUD_RULES or not FRAUD_RULES[fraud][3] or not v["in"]
                    or v["evidence_at"] is not None):
                continue
            if fraud in done_kinds and len(done_kinds) < 6:
                continue
            end = v["out_at"] if v["out"] else v["in_at"] + 240 * 60
            at = end + 75 * 3600
            if at >= close_at:
                continue
            done_kinds.add(fraud)
            seq += 1
            oid = o["order_id"]
            keyed.append(((at, 1, seq), {
                "type": "evidence", "event_id": oid + "-late-evidence", "order_id": oid,
                "at": rfc3339(at),
                "watermark_photo_sha256": _sha("%s:late:%s:watermark" % (p, oid)),
                "elder_recording_sha256": _sha("%s:late:%s:recording" % (p, oid))}))
            self.late_evidence.append(oid)
        keyed.sort(key=lambda kv: kv[0])
        # The district's closing check-in (5 days after the period) moves the
        # checkers' and the ledger-writer's clocks past every deadline, but
        # the payment-scheduler's clock follows finalized_at only, and the
        # last order of the period is finalized before T+3 of its last day:
        # the closing visit is therefore completed (check-out) and a second
        # closing check-in a day later lets the ledger-writer finalize it.
        # Its finalized_at, days after the period's T+3, moves the payment
        # watermark past the settlement. (It has no contract: the
        # payment-scheduler dead-letters it, one record, in every scenario.)
        close_order, close_in = d.closing[0], d.closing[1]
        close_t = int(datetime.datetime.fromisoformat(close_in["at"]).timestamp())
        self.closing_order = close_order["order_id"]
        closing = list(d.closing) + [
            {"type": "check-out", "event_id": self.closing_order + "-out",
             "order_id": self.closing_order, "caregiver_id": close_in["caregiver_id"],
             "at": rfc3339(close_t + 65 * 60), "gps": close_in["gps"], "voiceprint_match": 0.95,
             "photo_sha256": _sha("%s:close:out" % p), "items": [close_order["service_type"]]},
            dict(close_order, order_id=self.closing_order + "2",
                 scheduled_start=rfc3339(close_t + 86400)),
            dict(close_in, event_id=self.closing_order + "2-in", order_id=self.closing_order + "2",
                 at=rfc3339(close_t + 86400), photo_sha256=_sha("%s:close2:in" % p)),
        ]
        self.records = list(d.reference) + [body for _, body in keyed] + closing
        self.order_ids = ([t["order_id"] for t in d.truth] + [u["extra"] for u in self.unfreezes]
                          + [self.closing_order])
        self.contract_ids = [c["contract_id"] for c in d.contracts()]
        self.evidence_in_time = [t["order_id"] for t in d.truth if t["evidence"] == "yes"]
        self.evidence_reused = [t["order_id"] for t in d.truth if t["evidence"] == "reused"]

    def describe(self):
        d = self.district
        counts = d.counts()
        return ("district %s: %d streets, %d elders, %d caregivers, %d contracts, %d orders "
                "(+%d after unfreezes) from %s for %d days; %d records; frauds: %s; "
                "%d unfreezes, %d evidence in time, %d of another order, %d out of time"
                % (self.size, len(d.streets), len(d.elders), len(d.caregivers),
                   len(self.contract_ids), len(d.orders), len(self.unfreezes),
                   d.first_day, d.days, len(self.records),
                   ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts)),
                   len(self.unfreezes), len(self.evidence_in_time), len(self.evidence_reused),
                   len(self.late_evidence)))


# ---- the stack -----------------------------------------------------------------


class Stack:
    """deploy/local/stack with CAREWATCH_VAR and ports of the driver's own."""

    def __init__(self, var, ports):
        self.var = var
        self.ports = ports
        self.env = _clean_env()
        self.env.update(CAREWATCH_VAR=var, CW_LOCAL_KAFKA_PORT=str(ports.kafka),
                        CW_LOCAL_CONTROLLER_PORT=str(ports.controller),
                        CW_LOCAL_REDIS_PORT=str(ports.redis))
        for name in ("CAREWATCH_CACHE", "CAREWATCH_VENV", "CAREWATCH_KAFKA_VERSIONS"):
            if name in os.environ:
                self.env[name] = os.environ[name]

    def run(self, *args, timeout=240):
        script = os.path.join(REPO, "deploy", "local", args[0])
        r = subprocess.run([script, *args[1:]], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RunFailed("deploy/local/%s failed (%d):\n%s%s"
                            % (" ".join(args), r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
        return r.stdout

    def pid(self, name):
        try:
            with open(os.path.join(self.var, "run", name + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill9(self, name):
        """SIGKILL of the broker or Redis, by the pid in its pid file."""
        pid = self.pid(name)
        marker = "kafka.Kafka" if name == "kafka" else "redis-server"
        if pid is None or marker not in _cmdline(pid):
            raise RunFailed("%s is not running (pid file %s)" % (name, pid))
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 30)
        # The thread group leader turns zombie before the other threads have
        # closed the sockets: the restart waits for the ports to be free.
        ports = ((self.ports.kafka, self.ports.controller) if name == "kafka"
                 else (self.ports.redis,))
        deadline = time.monotonic() + 30
        while any(_port_in_use(p) for p in ports):
            if time.monotonic() > deadline:
                raise RunFailed("%s's ports %s still open 30 s after SIGKILL" % (name, ports))
            time.sleep(0.05)

    def keys(self):
        """The bearer keys and the ledger's key pair (deploy/local/keys makes
        them once under CAREWATCH_VAR)."""
        out = self.run("keys")
        values = {}
        for line in out.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name] = shlex.split(value)[0] if value else ""
        return values


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid):
    """Running and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _tasks(pid):
    try:
        return [int(t) for t in os.listdir("/proc/%d/task" % pid)]
    except OSError:
        return []


def _alive_task(pid, tid):
    try:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _wait_gone(pid, timeout):
    """Until the process is gone or a zombie and none of its threads runs."""
    deadline = time.monotonic() + timeout
    while _alive(pid) or os.path.exists("/proc/%d/task/%d" % (pid, pid)) and any(
            _alive_task(pid, t) for t in _tasks(pid)):
        if time.monotonic() > deadline:
            raise RunFailed("process %d still alive %.0f s after SIGKILL" % (pid, timeout))
        time.sleep(0.05)


# ---- the services ------------------------------------------------------------------


class Instance:
    """One service process: the same command and environment at every
    (re)start, its log appended to one file."""

    def __init__(self, name, n, build, env, log_path, admin_port, pid_dir):
        self.name = name
        self.n = n
        self.label = name if n == 1 else "%s#%d" % (name, n)
        self.binary = os.path.join(build, "services", name, "carewatch-" + name)
        self.cmd = [self.binary, "--config",
                    os.path.join(REPO, "deploy", "local", "config", name + ".yaml")]
        self.env = env
        self.log_path = log_path
        self.admin_port = admin_port
        self.pid_file = os.path.join(pid_dir, self.label.replace("#", "-") + ".pid")
        self.proc = None
        self.log = None
        self.starts = 0
        self.exits = []  # unexpected exit codes

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise RunFailed("no binary %s (build first)" % self.binary)
        self.log = open(self.log_path, "ab")
        self.log.write(b"== determinism: start %s\n" % self.label.encode())
        self.log.flush()
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=REPO, start_new_session=True)
        with open(self.pid_file, "w") as f:
            f.write("%d\n" % self.proc.pid)
        self.starts += 1

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=120.0):
        url = "http://127.0.0.1:%d/readyz" % self.admin_port
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                raise RunFailed("%s exited with %s during start-up; log tail:\n%s"
                                % (self.label, self.proc.returncode, _tail(self.log_path)))
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RunFailed("%s not ready at %s after %.0f s; log tail:\n%s"
                                % (self.label, url, timeout, _tail(self.log_path)))
            time.sleep(0.1)

    def signal(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.write(b"== determinism: SIGKILL\n")
        self.log.close()

    def restart(self, timeout=120.0):
        self.start()
        self.wait_ready(timeout)

    def stop(self, timeout=20.0):
        """SIGTERM (SIGCONT first, in case it was stopped); returns the exit
        code, None when it had to be killed."""
        if self.proc is None:
            return 0
        code = self.proc.poll()
        if code is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
                self.proc.send_signal(signal.SIGTERM)
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = None
        if self.log and not self.log.closed:
            self.log.close()
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass
        return code


def kill_leftovers(pid_dir):
    """Service processes a previous run of this driver left behind (it was
    itself killed): by the pids it recorded, if still carewatch binaries."""
    if not os.path.isdir(pid_dir):
        return
    for name in os.listdir(pid_dir):
        path = os.path.join(pid_dir, name)
        try:
            with open(path) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pid = None
        if pid and _alive(pid) and "carewatch-" in _cmdline(pid):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 30)
        os.unlink(path)


class Services:
    def __init__(self, build, stack, keys, ports, log_dir, pid_dir, pairs=False):
        base = _clean_env()
        base.update(ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86",
                    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87",
                    CAREWATCH_KAFKA_BROKERS=ports.brokers, CAREWATCH_REDIS_HOST="127.0.0.1",
                    CAREWATCH_REDIS_PORT=str(ports.redis))
        self.instances = []
        port = ports.admin
        for name in SERVICES:
            count = 2 if pairs and name in CHECKERS else 1
            for n in range(1, count + 1):
                env = dict(base, CAREWATCH_ADMIN_PORT=str(port),
                           CAREWATCH_SERVICE_INSTANCE_ID="det-%s-%d" % (name, n))
                if name == "ingest":
                    env.update(CAREWATCH_HTTP_PORT=str(ports.http),
                               CAREWATCH_AUTH_KEYS=keys["CAREWATCH_AUTH_KEYS"])
                if name == "ledger-writer":
                    env.update(CAREWATCH_LEDGER_DIR=os.path.join(stack.var, "ledger"),
                               CAREWATCH_LEDGER_SIGNING_KEY=keys["CW_LEDGER_SIGNING_KEY"])
                log = os.path.join(log_dir, "%s%s.log" % (name, "" if n == 1 else "-%d" % n))
                self.instances.append(Instance(name, n, build, env, log, port, pid_dir))
                port += 1
        self.ports = [ports.http] + [i.admin_port for i in self.instances]
        self.restarted = []  # (label, exit code) of unexpected exits

    def by_name(self, name, n=1):
        for i in self.instances:
            if i.name == name and i.n == n:
                return i
        raise KeyError(name)

    def start(self):
        busy = [p for p in self.ports if _port_in_use(p)]
        if busy:
            raise RunFailed("ports in use by another process: %s" % busy)
        for i in self.instances:
            i.start()
        for i in self.instances:
            i.wait_ready()

    def supervise(self):
        """An instance that exited on its own: a sanitizer report fails the
        run; anything else is noted and the instance restarted (what the
        restart policies of compose and Kubernetes do)."""
        for i in self.instances:
            if i.proc is not None and not i.running():
                code = i.proc.returncode
                i.log.close()
                text = _tail(i.log_path, 60)
                if code in (86, 87) or "Sanitizer" in text or "runtime error:" in text:
                    raise RunFailed("%s exited with %s (sanitizer report):\n%s"
                                    % (i.label, code, text))
                self.restarted.append((i.label, code))
                i.restart()

    def stop(self):
        """Stops every instance; returns the problems (exit codes, sanitizer
        reports in the logs)."""
        problems = []
        for i in reversed(self.instances):
            code = i.stop()
            if code not in (0,):
                problems.append("%s exited with %s on SIGTERM" % (i.label, code))
        for i in self.instances:
            try:
                with open(i.log_path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if mark in text:
                    at = text.index(mark)
                    problems.append("%s log has a sanitizer report:\n%s"
                                    % (i.label, text[max(0, at - 200):at + 1500]))
                    break
        return problems


# ---- feeding ---------------------------------------------------------------------------


class Feeder:
    """Posts the plan's records in order: NDJSON chunks through POST
    /v1/batch (importer key), unfreezes through POST
    /v1/caregivers/{id}/unfreeze (admin key), elders' statuses through POST
    /v1/elders/{id}/status (importer key). A connection error, a 502,
    503 or 504 is waited out and the chunk posted again from its first line
    not done (a line done before answers 200 duplicate or 202 with the same
    ids); any other refusal fails the run. hook(done, total) is called
    before each post."""

    def __init__(self, url, importer_key, admin_key, chunk=200, rate=None, hook=None,
                 progress=None, retry_seconds=300.0, check=None):
        self.url = url.rstrip("/")
        self.importer_key = importer_key
        self.admin_key = admin_key
        self.chunk = chunk
        self.rate = rate
        self.hook = hook
        self.progress = progress
        self.retry_seconds = retry_seconds
        self.check = check
        self.session = requests.Session()
        self.accepted = self.duplicates = self.retries = 0

    def _segments(self, records):
        lines = []
        for r in records:
            if r["type"] in ("unfreeze", "elder-status", "cancel"):
                if lines:
                    yield "batch", lines
                    lines = []
                yield r["type"], r
                continue
            lines.append(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode())
            if len(lines) >= self.chunk:
                yield "batch", lines
                lines = []
        if lines:
            yield "batch", lines

    def _retry(self, waited, what):
        """waited: [time of the first failure, failures since]."""
        if self.check:
            self.check()
        now = time.monotonic()
        if waited[0] is None:
            waited[0] = now
        if now - waited[0] >= self.retry_seconds:
            raise RunFailed("ingest still unavailable after %.0f s: %s" % (now - waited[0], what))
        time.sleep(min(2.0, 0.25 * 2 ** min(waited[1], 3)))
        waited[1] += 1
        self.retries += 1

    def _post_batch(self, lines):
        pending = lines
        waited = [None, 0]
        while pending:
            try:
                r = self.session.post(self.url + "/v1/batch", data=b"\n".join(pending) + b"\n",
                                      headers={"Authorization": "Bearer " + self.importer_key,
                                               "Content-Type": "application/x-ndjson"},
                                      timeout=120)
                status, body = r.status_code, r.text
            except requests.RequestException as e:
                self._retry(waited, "connection: %s" % e)
                continue
            if status in (200, 503):
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {}
                if not isinstance(doc, dict) or "lines" not in doc:
                    doc = {"lines": len(pending), "resume_line": 1}  # nothing handled
                resume = doc.get("resume_line")
                final = pending if resume is None else pending[:resume - 1]
                for x in doc.get("failures", []):
                    if x["line"] <= len(final):
                        raise RunFailed("ingest refused %s: %s"
                                        % (pending[x["line"] - 1][:200].decode(), json.dumps(x)))
                self.accepted += doc.get("accepted", 0)
                self.duplicates += doc.get("duplicates", 0)
                pending = pending[len(final):]
                if pending:
                    if final:
                        waited = [None, 0]
                    self._retry(waited, "503 %s" % body[:200])
            elif status in (502, 504):
                self._retry(waited, "%d %s" % (status, body[:200]))
            else:
                raise RunFailed("ingest answered %d to a batch: %s" % (status, body[:500]))

    def _post_single(self, path, key, body, what, ok=(202,)):
        waited = [None, 0]
        while True:
            try:
                r = self.session.post(self.url + path, json=body,
                                      headers={"Authorization": "Bearer " + key}, timeout=60)
            except requests.RequestException as e:
                self._retry(waited, "connection: %s" % e)
                continue
            if r.status_code in ok:
                self.accepted += 1
                return
            if r.status_code in (502, 503, 504):
                self._retry(waited, "%d %s" % (r.status_code, r.text[:200]))
                continue
            raise RunFailed("ingest answered %d to %s: %s" % (r.status_code, what, r.text[:300]))

    def _post_unfreeze(self, rec):
        self._post_single("/v1/caregivers/%s/unfreeze" % rec["caregiver_id"], self.admin_key,
                          {"reason": rec["reason"]}, "the unfreeze of " + rec["caregiver_id"])

    def _post_status(self, rec):
        """An elder's status; posted again after a lost answer, it is a
        duplicate (200)."""
        body = {k: v for k, v in rec.items() if k not in ("type", "elder_id")}
        self._post_single("/v1/elders/%s/status" % rec["elder_id"], self.importer_key, body,
                          "the status of " + rec["elder_id"], ok=(200, 202))

    def _post_cancel(self, rec):
        """An order's cancel; posted again after a lost answer, it is a
        duplicate (200)."""
        body = {k: v for k, v in rec.items() if k not in ("type", "order_id")}
        self._post_single("/v1/orders/%s/cancel" % rec["order_id"], self.importer_key, body,
                          "the cancel of " + rec["order_id"], ok=(200, 202))

    def run(self, records):
        total = len(records)
        done = 0
        started = time.monotonic()
        for kind, seg in self._segments(records):
            if self.hook:
                self.hook(done, total)
            if self.rate:
                delay = started + done / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if kind == "batch":
                self._post_batch(seg)
                done += len(seg)
            elif kind == "elder-status":
                self._post_status(seg)
                done += 1
            elif kind == "cancel":
                self._post_cancel(seg)
                done += 1
            else:
                self._post_unfreeze(seg)
                done += 1
            if self.progress:
                self.progress.update(done)
        if self.hook:
            self.hook(done, total)


class Disturbance:
    """Things done to the pipeline at points of the feed, in a thread of
    their own so that the feed goes on meanwhile (and meets the outage); the
    next one waits for the previous one to be over."""

    def __init__(self, steps):
        self.steps = sorted(steps, key=lambda s: s[0])  # (fraction, label, function)
        self.next = 0
        self.thread = None
        self.error = None
        self.log = []

    def _run(self, label, fn):
        t0 = time.monotonic()
        try:
            fn()
            self.log.append("%s (over in %.1f s)" % (label, time.monotonic() - t0))
        except BaseException as e:  # noqa: B902 - reported to the feeding thread
            self.error = RunFailed("%s failed: %s" % (label, e))

    def check(self):
        """Raises the error of a disturbance that failed (its restart, say)."""
        if self.error is not None:
            raise self.error

    def join(self):
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            raise self.error

    def hook(self, done, total):
        while self.next < len(self.steps) and done >= self.steps[self.next][0] * total:
            self.join()
            _, label, fn = self.steps[self.next]
            label = "%s at %d/%d" % (label, done, total) if total > 1 else label + " after the feed"
            self.next += 1
            self.thread = threading.Thread(target=self._run, args=(label, fn), daemon=True)
            self.thread.start()

    def finish(self):
        self.hook(float("inf"), 1)
        self.join()


# ---- reading back ---------------------------------------------------------------------


def _consumer(brokers):
    return Consumer({"bootstrap.servers": brokers, "log_level": 2,
                     "group.id": "carewatch-determinism-" + uuid.uuid4().hex,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "isolation.level": "read_committed"})


def _partitions(consumer, topics):
    out = []
    for topic in topics:
        md = consumer.list_topics(topic, timeout=15).topics.get(topic)
        if md is None or md.error is not None:
            raise RunFailed("topic %s: %s" % (topic, md and md.error))
        out += [(topic, p) for p in md.partitions]
    return out


def read_all(brokers, topics, registry, timeout=180.0):
    """Every committed record of the topics, decoded, read to the end
    offsets taken at the start."""
    consumer = _consumer(brokers)
    try:
        ends = {}
        for tp in _partitions(consumer, topics):
            low, high = consumer.get_watermark_offsets(TopicPartition(*tp), timeout=15)
            if high > low:
                ends[tp] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for (t, p) in ends])
        records, done = [], set()
        deadline = time.monotonic() + timeout
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise RunFailed("could not read %s to the end in %.0f s"
                                % (sorted(set(ends) - done), timeout))
            for msg in consumer.consume(5000, 0.5):
                if msg.error():
                    continue
                try:
                    name, value = registry.decode(msg.value() or b"")
                except ValueError as e:
                    name, value = None, str(e)
                records.append((msg.topic(), msg.key().decode() if msg.key() else None,
                                name, value))
            positions = consumer.position([TopicPartition(t, p) for (t, p) in ends
                                           if (t, p) not in done])
            for tp in positions:
                if tp.offset >= ends[(tp.topic, tp.partition)]:
                    done.add((tp.topic, tp.partition))
        return records
    finally:
        consumer.close()


def wait_through(plan, brokers, services, timeout, quiet, progress=None):
    """Until every order is on orders.finalized, every contract has its
    SETTLEMENT or CLAWBACK, and nothing new arrived on QUIET_TOPICS for
    quiet seconds. Raises RunFailed with what is missing after timeout."""
    registry = Registry()
    wanted = set(plan.order_ids)
    contracts = set(plan.contract_ids)
    finals, settled = set(), set()
    consumer = _consumer(brokers)
    watch = _consumer(brokers)
    try:
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in
                         _partitions(consumer, ("orders.finalized", "payments.instructions"))])
        quiet_parts = [TopicPartition(t, p) for t, p in _partitions(watch, QUIET_TOPICS)]
        deadline = time.monotonic() + timeout
        marks, changed, next_marks = None, time.monotonic(), 0.0
        while True:
            for msg in consumer.consume(5000, 0.3):
                if msg.error() or msg.key() is None:
                    continue
                if msg.topic() == "orders.finalized":
                    finals.add(msg.key().decode())
                    continue
                try:
                    name, value = registry.decode(msg.value() or b"")
                except ValueError:
                    continue
                if name == "PaymentInstruction" and value["kind"] in ("SETTLEMENT", "CLAWBACK"):
                    settled.add(value["contract_id"])
            services.supervise()
            now = time.monotonic()
            if now >= next_marks:
                next_marks = now + 0.5
                new = [watch.get_watermark_offsets(tp, timeout=10)[1] for tp in quiet_parts]
                if new != marks:
                    marks, changed = new, now
            if progress is not None:
                progress.update(len(finals & wanted))
            if wanted <= finals and contracts <= settled and now - changed >= quiet:
                return
            if now > deadline:
                missing = sorted(wanted - finals)
                unsettled = sorted(contracts - settled)
                raise RunFailed(
                    "pipeline not through after %.0f s: %d of %d orders not finalized%s; "
                    "%d of %d contracts without SETTLEMENT/CLAWBACK%s; last new record %.0f s ago"
                    % (timeout, len(missing), len(wanted),
                       (" (" + ", ".join(missing[:20]) + (", ..." if len(missing) > 20 else "")
                        + ")") if missing else "",
                       len(unsettled), len(contracts),
                       (" (" + ", ".join(unsettled) + ")") if unsettled else "", now - changed))
    finally:
        consumer.close()
        watch.close()


class Outcome:
    """What one scenario's pipeline decided, normalised to be compared."""

    def __init__(self):
        self.verdicts = set()  # (check_id, rule, outcome)
        # order_id -> (status, reasons, finalized_at, contract_id, unit_price_cents)
        self.finals = {}
        # statement_id -> (valid, invalid, gross, deduction, late valid,
        # late invalid, published_at)
        self.statements = {}
        self.instructions = {}  # instruction_id -> (kind, amount_cents, period_start, period_end)
        self.freezes = set()  # (caregiver_id, status, reason, order_id)
        self.ledger_index = {}  # order_id -> set of indexes
        self.final_records = 0
        self.dead_letters = {}
        self.dead_letter_reasons = {}  # topic -> the first few reasons
        self.problems = []

    def category(self, name):
        return getattr(self, name)


def normalise(records):
    out = Outcome()
    outcomes, final_values, stmt_values, instr_values = {}, {}, {}, {}
    finalized_at, promises = {}, []
    for topic, key, name, value in records:
        if name is None:
            out.problems.append("%s: a record that does not decode (key %s): %s"
                                % (topic, key, value))
            continue
        if topic.startswith("dlq."):
            out.dead_letters[topic] = out.dead_letters.get(topic, 0) + 1
            reasons = out.dead_letter_reasons.setdefault(topic, [])
            if len(reasons) < 3:
                reasons.append(value["reason"])
        elif name == "LedgerCheckpoint":
            if value.get("finalized_through") is not None:
                promises.append((value["tree_size"], value["finalized_through"]))
        elif name == "CheckResult":
            outcomes.setdefault((value["check_id"], value["rule"]), set()).add(value["outcome"])
        elif name == "OrderFinalized":
            out.final_records += 1
            final_values.setdefault(value["order_id"], set()).add(
                (value["status"], tuple(sorted(value["reasons"])), _iso(value["finalized_at"]),
                 value["contract_id"] or "-", value["unit_price_cents"]))
            out.ledger_index.setdefault(value["order_id"], set()).add(value["ledger_index"])
            finalized_at[value["order_id"]] = (value["finalized_at"], value["ledger_index"])
        elif name == "DailyStatement":
            stmt_values.setdefault(value["statement_id"], set()).add(
                (value["valid_orders"], value["invalid_orders"], value["gross_cents"],
                 value["deduction_cents"], value["late_valid_orders"],
                 value["late_invalid_orders"], _iso(value["published_at"])))
        elif name == "PaymentInstruction":
            instr_values.setdefault(value["instruction_id"], set()).add(
                (value["kind"], value["amount_cents"], value["period_start"],
                 value["period_end"]))
        elif name == "CaregiverStatusChanged":
            out.freezes.add((value["caregiver_id"], value["status"], value["reason"],
                             value["order_id"]))
    for (check_id, rule), seen in outcomes.items():
        for o in seen:
            out.verdicts.add((check_id, rule, o))
        if len(seen) > 1:
            out.problems.append("check %s decided two ways: %s" % (check_id, sorted(seen)))
    for what, values, target in (("order", final_values, out.finals),
                                 ("statement", stmt_values, out.statements),
                                 ("instruction", instr_values, out.instructions)):
        for k, seen in values.items():
            target[k] = min(seen)
            if len(seen) > 1:
                out.problems.append("%s %s published with different contents: %s"
                                    % (what, k, sorted(seen)))
    # Exactly once: one ledger index per order, the indexes 0..N-1.
    by_index = {}
    for oid, idx in out.ledger_index.items():
        if len(idx) > 1:
            out.problems.append("order %s has several ledger indexes: %s" % (oid, sorted(idx)))
        for i in idx:
            by_index.setdefault(i, set()).add(oid)
    for i, oids in sorted(by_index.items()):
        if len(oids) > 1:
            out.problems.append("ledger index %d holds several orders: %s" % (i, sorted(oids)))
    n = len(out.ledger_index)
    if set(by_index) != set(range(n)):
        gaps = sorted(set(range(n)) - set(by_index))[:20]
        beyond = sorted(set(by_index) - set(range(n)))[:20]
        out.problems.append("ledger indexes of the %d orders are not 0..%d: missing %s, beyond %s"
                            % (n, n - 1, gaps, beyond))
    out.problems += broken_promises(promises, finalized_at)
    return out


def broken_promises(promises, finalized_at):
    """The ledger-writer's promise to the payment scheduler: a checkpoint
    (tree_size, finalized_through) says that every order finalized at or
    before finalized_through is among its first tree_size entries. One
    problem per checkpoint that promised too much."""
    problems = []
    for tree_size, through in sorted(set(promises)):
        late = sorted((idx, oid, at) for oid, (at, idx) in finalized_at.items()
                      if at <= through and idx >= tree_size)
        if late:
            idx, oid, at = late[0]
            problems.append("checkpoint of %d entries promised every order finalized through %s, "
                            "but %d such orders come later (first: %s, index %d, finalized %s)"
                            % (tree_size, _iso(through), len(late), oid, idx, _iso(at)))
    return problems


def expectations(plan, out):
    """What the plan's additions must do, whatever the scenario."""
    problems = []
    verdict = {}
    for cid, rule, o in out.verdicts:
        verdict[cid] = o

    def want(cid, outcome, why):
        got = verdict.get(cid)
        if got != outcome:
            problems.append("%s: %s is %s, expected %s" % (why, cid, got, outcome))

    for u in plan.unfreezes:
        why = "unfreeze of %s (%s)" % (u["caregiver_id"], u["kind"])
        frozen = ["-out"] if u["kind"] == "visit_overlap" else ["-in", "-out"]
        for suffix in frozen:
            want(u["partner"] + suffix + ":FROZEN_CAREGIVER", "RED", why + ", before it")
        for suffix in ("-in", "-out"):
            want(u["extra"] + suffix + ":FROZEN_CAREGIVER", "PASS", why + ", after it")
        final = out.finals.get(u["extra"])
        if final is not None and final[:2] != ("VALID", ()):
            problems.append("%s: the visit after it is %s %s, expected VALID without reasons"
                            % (why, final[0], list(final[1])))
        if (u["caregiver_id"], "ACTIVE", u["reason"], None) not in out.freezes:
            problems.append("%s: no ACTIVE record on caregiver.status" % why)
    for oid in plan.late_evidence:
        final = out.finals.get(oid)
        if final is not None and (final[0] != "INVALID" or "EVIDENCE_EXPIRED" not in final[1]):
            problems.append("evidence out of time for %s: finalized %s %s, expected INVALID "
                            "with EVIDENCE_EXPIRED" % (oid, final[0], list(final[1])))
    for oid in plan.evidence_in_time:
        final = out.finals.get(oid)
        if final is not None and final[0] != "VALID":
            problems.append("evidence in time for %s: finalized %s %s, expected VALID"
                            % (oid, final[0], list(final[1])))
    for oid in plan.evidence_reused:
        final = out.finals.get(oid)
        if final is not None and (final[0] != "INVALID" or "EVIDENCE_EXPIRED" not in final[1]):
            problems.append("evidence of another order for %s: finalized %s %s, expected "
                            "INVALID with EVIDENCE_EXPIRED" % (oid, final[0], list(final[1])))
    return problems


def verify_ledger(build, ledger_dir, pubkey):
    cli = os.path.join(build, "services", "cli", "carewatch")
    r = subprocess.run([cli, "ledger", "verify", ledger_dir, "--pubkey", pubkey],
                       capture_output=True, text=True, timeout=300)
    text = (r.stdout + r.stderr).strip()
    return r.returncode, text


# ---- one scenario ------------------------------------------------------------------------


class Run:
    def __init__(self, name):
        self.name = name
        self.outcome = None
        self.problems = []
        self.info = []
        self.fed = 0
        self.retries = 0
        self.duplicates = 0
        self.seconds = self.feed_seconds = self.wait_seconds = 0.0
        self.ledger = ""
        self.log_dir = None

    @property
    def ok(self):
        return self.outcome is not None and not self.problems

    def summary(self):
        o = self.outcome
        if o is None:
            return "%-6s FAILED before the results were read (%.0f s)" % (self.name, self.seconds)
        return ("%-6s fed %d records (%d re-posted lines answered duplicate, %d retries), "
                "%d orders, %d verdicts, %d finals (%d records), %d statements, "
                "%d instructions, %d freeze records; %.0f s (feed %.1f s, wait %.1f s)"
                % (self.name, self.fed, self.duplicates, self.retries,
                   len(o.ledger_index), len(o.verdicts), len(o.finals), o.final_records,
                   len(o.statements), len(o.instructions), len(o.freezes), self.seconds,
                   self.feed_seconds, self.wait_seconds))


def _say(out, text):
    if out is not None:
        out.write(text + "\n")
        out.flush()


def run_scenario(name, plan, build, workdir, ports, full_feed_seconds=None, quiet=5.0,
                 timeout=None, pause_service="ledger-writer", pause_seconds=6.0, out=None,
                 progress=True, kills=KILL_ORDER):
    """Runs one scenario on a fresh stack; returns a Run (its problems list
    says what went wrong, its outcome what the pipeline decided)."""
    run = Run(name)
    t0 = time.monotonic()
    sdir = os.path.join(workdir, name)
    shutil.rmtree(sdir, ignore_errors=True)
    run.log_dir = os.path.join(sdir, "logs")
    os.makedirs(run.log_dir)
    pid_dir = os.path.join(workdir, "pids")
    os.makedirs(pid_dir, exist_ok=True)
    kill_leftovers(pid_dir)
    stack = Stack(os.path.join(workdir, "stack"), ports)
    services = dist = None
    stream = sys.stderr if progress else io.StringIO()
    paused = []
    try:
        stack.run("stack", "reset")
        stack.run("stack", "start")
        keys = stack.keys()
        services = Services(build, stack, keys, ports, run.log_dir, pid_dir,
                            pairs=(name == "pairs"))
        services.start()
        _say(out, "[%s] stack and %d service instances up (%.0f s)"
             % (name, len(services.instances), time.monotonic() - t0))

        steps = []
        rate = None
        # About 40 chunks (at most 200 lines each), so that the points of the
        # feed where something is done to the pipeline fall where they should.
        chunk = max(10, min(200, len(plan.records) // 40))
        if name == "paced":
            # About three times the full feed; without one, 40 records/s.
            rate = (len(plan.records) / (3.0 * full_feed_seconds)) if full_feed_seconds else 40.0
            chunk = max(5, min(chunk, int(rate / 2)))
        elif name == "pause":
            target = services.by_name(pause_service)

            def pause():
                target.signal(signal.SIGSTOP)
                paused.append(target)
                time.sleep(pause_seconds)
                target.signal(signal.SIGCONT)
                paused.remove(target)
            steps.append((1.0 / 3, "SIGSTOP %s for %.0f s" % (pause_service, pause_seconds),
                          pause))
        elif name == "kills":
            for k, what in enumerate(kills):
                steps.append(((k + 1.0) / (len(kills) + 1), "SIGKILL " + what,
                              _killer(what, stack, services)))
        dist = Disturbance(steps)
        feeder = Feeder("http://127.0.0.1:%d" % ports.http, keys["CW_IMPORTER_KEY"],
                        keys["CW_ADMIN_KEY"], chunk=chunk, rate=rate, hook=dist.hook,
                        check=dist.check,
                        progress=Progress(len(plan.records), "[%s] fed" % name, "records",
                                          stream=stream))
        t_feed = time.monotonic()
        try:
            feeder.run(plan.records)
        finally:
            feeder.progress.close()
        dist.finish()
        run.feed_seconds = time.monotonic() - t_feed
        run.fed = len(plan.records)
        run.retries, run.duplicates = feeder.retries, feeder.duplicates
        if dist.log:
            run.info.append("disturbances: " + "; ".join(dist.log))
        if rate:
            run.info.append("paced at %.1f records/s" % rate)

        t_wait = time.monotonic()
        prog = Progress(len(plan.order_ids), "[%s] finalized" % name, "orders", stream=stream)
        try:
            wait_through(plan, ports.brokers, services, timeout or plan.timeout, quiet, prog)
        finally:
            prog.close()
        run.wait_seconds = time.monotonic() - t_wait
        records = read_all(ports.brokers, QUIET_TOPICS + ("ledger.checkpoints",) + DLQ_TOPICS,
                           Registry())
        run.outcome = normalise(records)
        run.problems += run.outcome.problems
        run.problems += expectations(plan, run.outcome)
        if run.outcome.dead_letters:
            run.info.append("dead letters: " + ", ".join(
                "%s %d" % kv for kv in sorted(run.outcome.dead_letters.items())))
            for topic, reasons in sorted(run.outcome.dead_letter_reasons.items()):
                run.info.append("  %s, first reasons: %s" % (topic, "; ".join(reasons)))
        finals = {oid: {"status": v[0], "reasons": list(v[1])}
                  for oid, v in run.outcome.finals.items()}
        q = quality.evaluate(plan.truth, finals, "feed")
        run.info.append("detection against the ground truth: %d missed, %d false alarms"
                        % (len(q["misses"]), len(q["false_alarms"])))
        if services.restarted:
            run.info.append("exited on their own and restarted: " + ", ".join(
                "%s (%s)" % r for r in services.restarted))
    except RunFailed as e:
        run.problems.append(str(e))
    except Exception:  # noqa: BLE001 - a harness error is reported like a failed run
        run.problems.append("harness error:\n" + traceback.format_exc())
    finally:
        if dist is not None and dist.thread is not None:
            dist.thread.join(300)  # a restart under way ends before everything stops
        for target in paused:
            target.signal(signal.SIGCONT)
        if services is not None:
            run.problems += services.stop()
        try:
            if services is not None and services.by_name("ledger-writer").starts:
                code, text = verify_ledger(build, os.path.join(stack.var, "ledger"),
                                           keys["CW_LEDGER_PUBLIC_KEY"])
                run.ledger = text.splitlines()[0] if text else ""
                if code != 0:
                    run.problems.append("carewatch ledger verify exited %d:\n%s" % (code, text))
        except Exception as e:  # noqa: BLE001
            run.problems.append("carewatch ledger verify could not run: %s" % e)
        for log in ("kafka.log", "redis.log"):
            src = os.path.join(stack.var, "logs", log)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(run.log_dir, log))
        try:
            stack.run("stack", "stop")
        except Exception as e:  # noqa: BLE001
            run.problems.append("stack stop: %s" % e)
        run.seconds = time.monotonic() - t0
    return run


def _killer(what, stack, services):
    def kill():
        # A moment for the feed's next request to be on its way: the kill
        # then meets work in progress (a batch half done, a produce in flight).
        time.sleep(0.05)
        if what == "kafka":
            stack.kill9("kafka")
            stack.run("stack", "start-kafka")
        elif what == "redis":
            stack.kill9("redis")
            stack.run("stack", "start")
        else:
            inst = services.by_name(what)
            inst.kill9()
            inst.restart()
    return kill


# ---- comparing ------------------------------------------------------------------------------


def _fmt(category, key, value=None):
    if category == "verdicts":
        return "%s %s" % (key[0], key[2])
    if category == "freezes":
        return "%s %s %r order %s" % key
    if category == "finals":
        return "%s %s [%s] at %s contract %s at %d" % (key, value[0], ",".join(value[1]),
                                                       value[2], value[3], value[4])
    if category == "statements":
        return ("%s valid %d invalid %d gross %d deduction %d late %d/%d published %s"
                % ((key,) + tuple(value)))
    return "%s %s %d %s..%s" % ((key,) + tuple(value))


def diff(category, base, other, base_name, other_name, limit=20):
    """Readable lines of what only one side has (at most limit)."""
    lines = []
    a, b = base.category(category), other.category(category)
    if category in ("verdicts", "freezes"):
        if category == "verdicts":
            da = {(c, r): o for c, r, o in a}
            db = {(c, r): o for c, r, o in b}
            for k in sorted(set(da) | set(db)):
                if da.get(k) != db.get(k):
                    lines.append("%s: %s %s, %s %s" % (k[0], base_name, da.get(k, "-"),
                                                     other_name, db.get(k, "-")))
        else:
            for x in sorted(a - b, key=repr):
                lines.append("only in %s: %s" % (base_name, _fmt(category, x)))
            for x in sorted(b - a, key=repr):
                lines.append("only in %s: %s" % (other_name, _fmt(category, x)))
    else:
        for k in sorted(set(a) | set(b)):
            if a.get(k) == b.get(k):
                continue
            if k not in b:
                lines.append("only in %s: %s" % (base_name, _fmt(category, k, a[k])))
            elif k not in a:
                lines.append("only in %s: %s" % (other_name, _fmt(category, k, b[k])))
            else:
                lines.append("%s: %s | %s: %s" % (base_name, _fmt(category, k, a[k]),
                                                  other_name, _fmt(category, k, b[k])))
    total = len(lines)
    if total > limit:
        lines = lines[:limit] + ["... %d more" % (total - limit)]
    return total, lines


class SuiteResult:
    def __init__(self, plan, runs):
        self.plan = plan
        self.runs = runs
        self.diffs = {}  # scenario -> {category: (count, lines)}
        base = next((r for r in runs if r.outcome is not None), None)
        self.base = base
        for r in runs:
            if r is base or r.outcome is None:
                continue
            d = {}
            for cat in CATEGORIES:
                n, lines = diff(cat, base.outcome, r.outcome, base.name, r.name)
                if n:
                    d[cat] = (n, lines)
            self.diffs[r.name] = d

    @property
    def identical(self):
        return (self.base is not None and all(r.outcome is not None for r in self.runs)
                and not any(self.diffs.values()))

    @property
    def ok(self):
        return self.identical and all(r.ok for r in self.runs)

    def report(self):
        lines = [self.plan.describe(), ""]
        for r in self.runs:
            lines.append(r.summary())
            for i in r.info:
                lines.append("       " + i)
            if r.ledger:
                lines.append("       ledger: " + r.ledger)
            for p in r.problems:
                lines.append("       PROBLEM: " + p.replace("\n", "\n         "))
        lines.append("")
        for r in self.runs:
            if r is self.base:
                continue
            if r.outcome is None:
                lines.append("%s: not compared (no results)" % r.name)
                continue
            d = self.diffs[r.name]
            if not d:
                lines.append("%s: identical to %s in %s" % (r.name, self.base.name,
                                                           ", ".join(CATEGORIES)))
                continue
            lines.append("%s: DIFFERS from %s in %s" % (
                r.name, self.base.name, ", ".join("%s (%d)" % (c, d[c][0]) for c in d)))
            for cat, (n, dl) in d.items():
                lines.append("  %s, %d differences:" % (cat, n))
                lines += ["    " + x for x in dl]
        lines.append("")
        lines.append("RESULT: %s" % ("all scenarios identical, every check passed" if self.ok
                                     else "FAILED"))
        return "\n".join(lines)


def run_suite(build, size="small", scenarios=SCENARIOS, workdir=None, keep_logs=False,
              ports=None, out=sys.stdout, pause_service="ledger-writer", pause_seconds=6.0,
              quiet=5.0, timeout=None, progress=True, kills=KILL_ORDER):
    """Runs the scenarios in order on one plan; returns a SuiteResult."""
    build = os.path.abspath(build)
    workdir = os.path.abspath(workdir or os.path.join(REPO, "var", "determinism"))
    ports = ports or Ports()
    os.makedirs(workdir, exist_ok=True)
    plan = Plan(size)
    _say(out, plan.describe())
    runs = []
    full_feed = None
    for name in scenarios:
        if name not in SCENARIOS:
            raise ValueError("unknown scenario %r (known: %s)" % (name, ", ".join(SCENARIOS)))
        _say(out, "[%s] starting" % name)
        run = run_scenario(name, plan, build, workdir, ports, full_feed_seconds=full_feed,
                           quiet=quiet, timeout=timeout, pause_service=pause_service,
                           pause_seconds=pause_seconds, out=out, progress=progress,
                           kills=kills)
        if name == "full" and run.ok:
            full_feed = run.feed_seconds
        runs.append(run)
        _say(out, run.summary())
        for p in run.problems:
            _say(out, "       PROBLEM: " + p.replace("\n", "\n         "))
    result = SuiteResult(plan, runs)
    if not keep_logs and result.ok:
        for r in runs:
            shutil.rmtree(os.path.dirname(r.log_dir), ignore_errors=True)
    else:
        for r in runs:
            r.info.append("logs: " + r.log_dir)
    return result


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="carewatch_py.determinism",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="build directory with the service binaries (default build)")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated, compared with the first (default %s)"
                         % ",".join(SCENARIOS))
    ap.add_argument("--workdir", default=os.path.join(REPO, "var", "determinism"))
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the service logs also when everything passed")
    ap.add_argument("--pause-service", default="ledger-writer", choices=SERVICES)
    ap.add_argument("--pause-seconds", type=float, default=6.0)
    ap.add_argument("--kills", default=",".join(KILL_ORDER),
                    help="what the kills scenario kills, in this order, at evenly spread "
                         "points of the feed (default %s)" % ",".join(KILL_ORDER))
    ap.add_argument("--quiet", type=float, default=5.0,
                    help="seconds without new records that end the wait (default 5)")
    ap.add_argument("--timeout", type=float, help="seconds to wait for the pipeline per scenario")
    ap.add_argument("--kafka-port", type=int, default=19092)
    ap.add_argument("--controller-port", type=int, default=19093)
    ap.add_argument("--redis-port", type=int, default=16379)
    ap.add_argument("--http-port", type=int, default=18080)
    ap.add_argument("--admin-port", type=int, default=19101,
                    help="first admin port; one per instance upwards")
    args = ap.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.kills = tuple(k.strip() for k in args.kills.split(",") if k.strip())
    for k in args.kills:
        if k not in KILL_ORDER:
            ap.error("unknown process to kill %r (known: %s)" % (k, ", ".join(KILL_ORDER)))
    for s in args.scenarios:
        if s not in SCENARIOS:
            ap.error("unknown scenario %r (known: %s)" % (s, ", ".join(SCENARIOS)))
    return args


def main(argv=None):
    args = parse_args(argv)
    ports = Ports(args.kafka_port, args.controller_port, args.redis_port, args.http_port,
                  args.admin_port)
    result = run_suite(args.build, args.size, args.scenarios, args.workdir, args.keep_logs, ports,
                       pause_service=args.pause_service, pause_seconds=args.pause_seconds,
                       quiet=args.quiet, timeout=args.timeout, kills=args.kills)
    print()
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
