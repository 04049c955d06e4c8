"""The observability files of deploy/observability/ against the real services.

The eight services run on the test stack (ingest and the checkers from
conftest's fixtures, the others started here), a scripted day is posted
through ingest so their metrics have series, and then:

- promtool (Debian's `prometheus` package) accepts prometheus.yml and
  alerts.yml (`check config`, `check rules`);
- `promtool check metrics` parses every service's real /metrics and finds
  nothing but the known findings only the services' C code can fix
  (KNOWN_LINT);
- `promtool test rules` runs alerts_test.yml: every alert rule fires on a
  series made for it and stays quiet on one that must not fire it;
- every metric the Grafana dashboard, the alert rules and their tests use is
  one the services really export (names read crudely from the
  expressions), and every dashboard query is PromQL promtool accepts.
"""

import json
import os
import re
import shutil
import subprocess
import uuid

import pytest
import requests
import yaml

from carewatch_py.demo_day import Day
from conftest import (KAFKA_BROKERS, REPO, Service, allocate_day, checker_config, free_port,
                      post, sha256_hex, wait_until)

OBS = os.path.join(REPO, "deploy", "observability")
PROMTOOL = shutil.which("promtool")
SERVICES = ("ingest", "geo-validator", "duration-timer", "overlap-detector", "alert-router",
            "ledger-writer", "payment-scheduler", "supervision-desk")


def promtool(*args, stdin=None):
    assert PROMTOOL, "promtool missing: Debian's package prometheus holds it"
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


# ---- the services ------------------------------------------------------------------

class Other(Service):
    """One of the services conftest has no fixture for, on free ports."""

    def __init__(self, name, workdir, admin_port, config_text):
        self.admin_port = admin_port
        super().__init__(name, config_text, workdir)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port


def make_signing_key(workdir):
    os.makedirs(workdir, exist_ok=True)
    signing = os.path.join(workdir, "signing.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", signing], check=True,
                   capture_output=True)
    return signing


def alert_router(workdir, redis_port, group):
    admin = free_port()
    extra = "routing:\n  street_partitions: 2\n"
    return Other("alert-router", workdir, admin,
                 checker_config("alert-router", admin, redis_port, group, 1440, extra))


def ledger_writer(workdir, redis_port, group):
    admin = free_port()
    extra = "ledger:\n  dir: %s\n  signing_key: %s\n  log_id: obs-%s\n" % (
        os.path.join(workdir, "ledger"), make_signing_key(workdir), group)
    return Other("ledger-writer", workdir, admin,
                 checker_config("ledger-writer", admin, redis_port, group, 1440, extra))


def payment_scheduler(workdir, group):
    admin = free_port()
    text = """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin}
log:
  level: info
time:
  mode: replay
stream:
  transactional_id: {group}
  group_id: {group}
  allowed_lateness_minutes: 1440
  wait_for_ledger: false
report:
  dir: {workdir}/reports
""".format(brokers=KAFKA_BROKERS, admin=admin, group=group, workdir=workdir)
    return Other("payment-scheduler", workdir, admin, text)


def supervision_desk(workdir, group, keys):
    admin, http = free_port(), free_port()
    text = """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin}
log:
  level: info
http:
  bind: 127.0.0.1
  port: {http}
auth:
  keys: ["{s01}=street:S01#S01 office"]
stream:
  group_id: {group}
  transactional_id: {group}
  allowed_lateness_minutes: 0
  quiet_partition_ms: 500
""".format(brokers=KAFKA_BROKERS, admin=admin, http=http, group=group,
           s01=sha256_hex(keys.s01))
    svc = Other("supervision-desk", workdir, admin, text)
    svc.url = "http://127.0.0.1:%d" % http
    return svc


def metrics_text(admin_port):
    r = requests.get("http://127.0.0.1:%d/metrics" % admin_port, timeout=10)
    assert r.status_code == 200, r.text
    return r.text


def series_value(text, name, **labels):
    """Sum of the samples of name whose labels include labels."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if not m:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


@pytest.fixture(scope="module")
def running(tmp_path_factory, redis_server, keys, ingest, checkers):
    """The eight services, a scripted day posted through ingest, and the
    admin port of each service by name."""
    run = uuid.uuid4().hex[:8]
    workdir = str(tmp_path_factory.mktemp("observability"))
    others = [
        alert_router(os.path.join(workdir, "alert-router"), redis_server.port,
                     "obs-%s-router" % run),
        ledger_writer(os.path.join(workdir, "ledger-writer"), redis_server.port,
                      "obs-%s-ledger" % run),
        payment_scheduler(os.path.join(workdir, "payment-scheduler"), "obs-%s-pay" % run),
        supervision_desk(os.path.join(workdir, "supervision-desk"), "obs-%s-desk" % run, keys),
    ]
    try:
        for svc in others:
            svc.wait_ready(svc.ready_url, timeout=90)
        ports = {"ingest": ingest.admin_port}
        ports.update({name: svc.admin_port for name, svc in checkers.items()})
        ports.update({svc.name: svc.admin_port for svc in others})
        assert sorted(ports) == sorted(SERVICES)

        day = Day(prefix="OBS%s-" % run, date=allocate_day())
        for kind, bodies in (("elder", day.elders), ("caregiver", day.caregivers),
                             ("contract", day.contracts)):
            for body in bodies:
                post(ingest, keys.registry, kind, body)
        for body in day.orders:
            post(ingest, keys.importer, "order", body)
        for kind, body in day.events:
            post(ingest, keys.importer, kind, body)
        # The arrival rules' alerts reach the router within seconds.
        wait_until(lambda: series_value(metrics_text(ports["alert-router"]),
                                        "carewatch_alerts_total") > 0,
                   90, "the alert-router to route the day's first alerts")
        yield ports
    finally:
        for svc in others:
            svc.stop()


@pytest.fixture(scope="module")
def exported(running):
    """{service: its /metrics text}."""
    return {name: metrics_text(port) for name, port in running.items()}


def metric_families(text):
    """{family name: type} from the # TYPE lines."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def exported_names(exported):
    """Every sample name a Prometheus scrape of these texts would store."""
    names = set()
    for text in exported.values():
        for family, kind in metric_families(text).items():
            names.add(family)
            if kind == "histogram":
                names.update(family + s for s in ("_bucket", "_sum", "_count"))
    return names


# ---- promtool on the files ------------------------------------------------------------

def test_promtool_accepts_the_scrape_config_and_the_rules():
    r = promtool("check", "config", os.path.join(OBS, "prometheus.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 rule files found" in r.stdout + r.stderr, r.stdout + r.stderr
    r = promtool("check", "rules", os.path.join(OBS, "alerts.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


def alert_rules():
    with open(os.path.join(OBS, "alerts.yml"), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    return [rule for g in groups for rule in g["rules"] if "alert" in rule]


def test_every_alert_rule_fires_on_one_series_and_not_on_another():
    r = promtool("test", "rules", os.path.join(OBS, "alerts_test.yml"))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    with open(os.path.join(OBS, "alerts_test.yml"), encoding="utf-8") as f:
        tests = yaml.safe_load(f)["tests"]
    fired, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names == fired, "alerts never shown firing: %s" % (names - fired)
    assert names == quiet, "alerts never shown quiet: %s" % (names - quiet)


def local_admin_ports():
    """{service: admin port} of the local stack: deploy/services.txt
    ("name admin-port http-port" lines) where it exists, else the
    ADMIN_PORT table of deploy/local/services."""
    listing = os.path.join(REPO, "deploy", "services.txt")
    if os.path.exists(listing):
        with open(listing, encoding="utf-8") as f:
            return {m.group(1): m.group(2) for m in
                    re.finditer(r"^([a-z-]+)\s+(\d+)\b", f.read(), re.M)}
    with open(os.path.join(REPO, "deploy", "local", "services"), encoding="utf-8") as f:
        return dict(re.findall(r"\[([a-z-]+)\]=(\d+)", f.read()))


def test_prometheus_scrapes_every_service_on_its_admin_port():
    """One job per service, named after it, on the admin port that
    deploy/local/services gives it; the rules know the same jobs."""
    with open(os.path.join(OBS, "prometheus.yml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    ports = local_admin_ports()
    jobs = {job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
            for job in config["scrape_configs"]}
    assert sorted(jobs) == sorted(SERVICES)
    for name, targets in jobs.items():
        assert targets == ["127.0.0.1:%s" % ports[name]], (name, targets)
    assert config["rule_files"] == ["alerts.yml"]
    down = next(r for r in alert_rules() if r["alert"] == "CarewatchServiceDown")
    assert set(re.search(r'job=~"([^"]+)"', down["expr"]).group(1).split("|")) == set(SERVICES)


# ---- the real /metrics --------------------------------------------------------------------

# What `promtool check metrics` says of the services' own metrics that only
# their C code can change (reported, not fixed here): gauges of UTC
# milliseconds named _ms.
KNOWN_LINT = {
    "carewatch_payment_watermark_ms metric names should not contain abbreviated units",
    "carewatch_payment_ledger_finalized_through_ms metric names should not contain "
    "abbreviated units",
}


def test_promtool_check_metrics_on_every_service(exported):
    """No service's /metrics fails to parse; its lint findings are at most
    the known ones."""
    assert sorted(exported) == sorted(SERVICES)
    findings = {}
    for name, text in exported.items():
        r = promtool("check", "metrics", stdin=text)
        lines = {line.strip() for line in (r.stdout + r.stderr).splitlines() if line.strip()}
        # 0: clean; 3: lint findings only; anything else (1) is a text that
        # does not parse.
        assert r.returncode in (0, 3), (name, r.returncode, lines)
        unknown = lines - KNOWN_LINT
        if unknown:
            findings[name] = sorted(unknown)
    assert not findings, findings


def dashboard():
    with open(os.path.join(OBS, "carewatch.json"), encoding="utf-8") as f:
        return json.load(f)


def dashboard_exprs():
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def used_metric_names():
    """{metric name: where}, read crudely from the dashboard's queries,
    the rules' expressions and the series the rules' tests make."""
    used = {}
    for expr in dashboard_exprs():
        for name in re.findall(r"\bcarewatch_\w+", expr):
            used.setdefault(name, "carewatch.json")
    for rule in alert_rules():
        for name in re.findall(r"\bcarewatch_\w+", rule["expr"]):
            used.setdefault(name, "alerts.yml " + rule["alert"])
    with open(os.path.join(OBS, "alerts_test.yml"), encoding="utf-8") as f:
        for test in yaml.safe_load(f)["tests"]:
            for series in test["input_series"]:
                name = re.match(r"\w+", series["series"]).group(0)
                if name != "up":
                    used.setdefault(name, "alerts_test.yml " + test["name"])
    return used


def test_dashboard_and_rules_use_only_metrics_the_services_export(exported):
    names = exported_names(exported)
    used = used_metric_names()
    missing = {name: where for name, where in used.items() if name not in names}
    assert not missing, missing
    # What the brief of each part asks to see is there.
    for wanted in ("carewatch_ingest_responses_total", "carewatch_desk_case_events_total",
                   "carewatch_alerts_total", "carewatch_alert_routing_seconds_bucket",
                   "carewatch_events_in_total", "carewatch_ledger_entries",
                   "carewatch_payment_amount_cents_total", "carewatch_ledger_finalized_total"):
        assert wanted in used, wanted
    assert any('kind="dead_letter"' in e for e in dashboard_exprs())
    for q in ("0.5", "0.95", "0.99"):
        assert any(e.startswith("histogram_quantile(%s," % q) and "alert_routing" in e
                   for e in dashboard_exprs()), q


def test_dashboard_is_a_grafana_dashboard_on_a_prometheus_variable(tmp_path):
    d = dashboard()
    assert d["schemaVersion"] == 39 and d["uid"] and d["title"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in d["panels"]:
        pos = p["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, p["title"]
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, p["title"]
        assert p["targets"] and p["description"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
    # Every query is PromQL: promtool checks them as recording rules, with
    # Grafana's variables given values.
    rules = [{"record": "carewatch:dashboard_query_%d" % i,
              "expr": e.replace("$__rate_interval", "5m").replace("$__range", "1h")
                       .replace("$job", ".*")}
             for i, e in enumerate(dashboard_exprs())]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    r = promtool("check", "rules", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
