"""The ledger-writer on the real stack: the scripted fraud day, its evidence
and a visit a week later give the expected VALID / INVALID statuses on
orders.finalized, once per order; the published bytes are the ledger's
entries; checkpoints are published and the log verifies with the CLI; a
writer killed with SIGKILL mid-run finalizes every order exactly once after
its restart."""

import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import time
import uuid

import pytest

from carewatch_py.demo_day import Day
from carewatch_py.topics import read_topics
from conftest import (BUILD_DIR, KAFKA_BROKERS, REPO, Service, TopicWatch, allocate_day,
                      checker_config, free_port, post)

CLI = os.path.join(BUILD_DIR, "services", "cli", "carewatch")


def make_key(workdir):
    signing = os.path.join(workdir, "signing.pem")
    public = os.path.join(workdir, "public.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", signing], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", signing, "-pubout", "-out", public], check=True,
                   capture_output=True)
    return signing, public


class LedgerWriter(Service):
    def __init__(self, workdir, redis_port, group, ledger_dir, signing_key):
        self.admin_port = free_port()
        self.args = (workdir, redis_port, group, ledger_dir, signing_key)
        self.ledger_dir = ledger_dir
        extra = "ledger:\n  dir: %s\n  signing_key: %s\n  log_id: test-ledger\n" % (
            ledger_dir, signing_key)
        super().__init__("ledger-writer",
                         checker_config("ledger-writer", self.admin_port, redis_port, group, 1440,
                                        extra), workdir)
        self.ready_url = "http://127.0.0.1:%d/readyz" % self.admin_port

    def restart(self):
        return LedgerWriter(*self.args)


@pytest.fixture
def writer(tmp_path, redis_server):
    workdir = str(tmp_path / "writer")
    os.makedirs(workdir)
    signing, public = make_key(workdir)
    ledger_dir = str(tmp_path / "ledger")
    svc = LedgerWriter(workdir, redis_server.port, "test-ledger-" + uuid.uuid4().hex[:8],
                       ledger_dir, signing)
    svc.wait_ready(svc.ready_url)
    holder = {"svc": svc, "public_key": public}
    yield holder
    current = holder["svc"]
    if current.proc.poll() is None or not current.log.closed:
        current.stop()



def post_day(ingest, keys, day, events=None):
    for kind, bodies in (("elder", day.elders), ("caregiver", day.caregivers),
                         ("contract", day.contracts),
                         ("elder-status", day.elder_statuses)):
        for body in bodies:
            post(ingest, keys.registry, kind, body)
    for body in day.orders:
        post(ingest, keys.importer, "order", body)
    for kind, body in (events if events is not None else day.events):
        post(ingest, keys.importer, kind, body)


def post_rest(ingest, keys, day):
    post(ingest, keys.importer, "order", day.closing_order)
    for kind, body in day.closing + day.evidence:
        post(ingest, keys.importer, kind, body)
    post(ingest, keys.importer, "order", day.week_later_order)
    for kind, body in day.week_later:
        post(ingest, keys.importer, kind, body)


def wait_finalized(watch, records, wanted, timeout=120):
    """Reads orders.finalized until every order of wanted is there, then two
    quiet seconds more."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while True:
        new = watch.new_records()
        records += new
        got = {r["value"]["order_id"] for r in records if r["topic"] == "orders.finalized"}
        if not wanted <= got:
            assert time.monotonic() < deadline, "never finalized: %s" % sorted(wanted - got)
            quiet_since = None
        elif new:
            quiet_since = time.monotonic()
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 2.0:
            return records
        time.sleep(0.5)


def as_ms(value):
    """A timestamp-millis field as the reader gives it (a datetime) in ms."""
    if isinstance(value, datetime.datetime):
        return round(value.timestamp() * 1000)
    return value


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def sm3(data):
    return hashlib.new("sm3", data).digest()


def test_fraud_day_is_finalized_as_expected_once(ingest, keys, checkers, writer, ids):
    day = Day(ids, allocate_day())
    watch = TopicWatch(["orders.finalized", "ledger.checkpoints"])
    try:
        post_day(ingest, keys, day)
        post_rest(ingest, keys, day)
        wanted = set(day.expected_final())
        records = wait_finalized(watch, [], wanted)
    finally:
        watch.close()

    finals = [r for r in records if r["topic"] == "orders.finalized"
              and r["value"]["order_id"].startswith(ids)]
    by_order, copies = {}, {}
    for r in finals:
        by_order.setdefault(r["value"]["order_id"], []).append(r["value"])
        copies.setdefault(r["value"]["order_id"], set()).add(r["raw"])
    # Every order; the week-later visit is still open. A record the broker
    # acknowledged late may be produced twice, but only ever with the same
    # bytes: one decision per order.
    assert set(by_order) == wanted, sorted(set(by_order) ^ wanted)
    assert all(len(c) == 1 for c in copies.values()), {k: len(c) for k, c in copies.items()}
    statuses = {o: v[0]["status"] for o, v in by_order.items()}
    assert statuses == day.expected_final()

    reasons = {o[len(ids):]: v[0]["reasons"] for o, v in by_order.items()}
    assert reasons["O-HONEST"] == []
    assert reasons["O-VOICE"] == ["VOICE_UNCONFIRMED"]  # cured: listed, not decisive
    assert reasons["O-SHORT"] == ["EVIDENCE_EXPIRED", "SHORT_DURATION"]
    assert reasons["O-NOSHOW"] == ["NO_SHOW"]
    assert reasons["O-SCHED-B"] == ["NO_SHOW", "SCHEDULE_OVERLAP"]
    assert reasons["O-NOCERT"] == ["FROZEN_CAREGIVER", "UNCERTIFIED"]
    assert reasons["O-LONG-3"] == ["DAILY_HOURS_EXCEEDED", "EVIDENCE_EXPIRED"]
    # Elder 12 was in hospital: the visit that checked in is INVALID, the
    # order never visited is cancelled (neither paid nor deducted).
    assert reasons["O-HOSP-VISIT"] == ["ELDER_UNAVAILABLE", "FROZEN_CAREGIVER"]
    assert reasons["O-HOSP-SKIP"] == ["ELDER_HOSPITALIZED"]
    assert reasons["O-XPROV-B"] == ["CROSS_PROVIDER_OVERLAP", "NO_SHOW"]
    assert reasons["O-XVISIT-B"] == ["CROSS_PROVIDER_OVERLAP", "FROZEN_CAREGIVER"]
    assert reasons["O-XPROV-A"] == reasons["O-XVISIT-A"] == []
    assert "VISIT_OVERLAP" in reasons["O-VOVL-B"]
    assert "EVIDENCE_EXPIRED" not in reasons["O-VOVL-B"]  # red needs no deadline

    # Every questionable order (flagged yellow / orange only, visited: the
    # ones that expired or were cured) asked its provider for evidence, on
    # the provider's notice topic, with its flags and its deadline; no
    # other order did. A request may come again, with the same bytes.
    questionable = {o for o, v in by_order.items()
                    if v[0]["reasons"] and ("EVIDENCE_EXPIRED" in v[0]["reasons"]
                                            or v[0]["status"] == "VALID")}
    assert {ids + "O-VOICE", ids + "O-SHORT", ids + "O-LONG-3"} <= questionable
    notices = read_topics(KAFKA_BROKERS, ["notices.provider.%sP01" % ids,
                                          "notices.provider.%sP02" % ids])
    asked = {}
    for r in notices:
        assert r["name"] == "EvidenceRequested", r
        v = {k: as_ms(x) for k, x in r["value"].items()}
        assert r["key"] == v["order_id"] and r["topic"].endswith(v["provider_id"])
        assert asked.setdefault(v["order_id"], v) == v, "asked again differently"
    assert set(asked) == questionable, sorted(set(asked) ^ questionable)
    for order_id, v in asked.items():
        final = by_order[order_id][0]
        assert v["reasons"] == [x for x in final["reasons"]
                                if x not in ("EVIDENCE_EXPIRED", "EVIDENCE_REUSE")]
        end = as_ms(final["check_out_at"]) or as_ms(final["check_in_at"]) + 240 * 60000
        assert (v["visit_end"], v["deadline"]) == (end, end + 72 * 3600000), order_id
    assert asked[ids + "O-SHORT"]["street_id"] == "S02"

    honest = by_order[ids + "O-HONEST"][0]
    assert honest["service_day"] == day.date
    # The provider's contract holding the day. Providers P01 and P02 are
    # shared by every scripted day of the session, and each registers a
    # contract of its own for its month: any of P01's for that month is it.
    assert honest["contract_id"].endswith("K-P01-%s" % day.month), honest["contract_id"]
    assert honest["unit_price_cents"] == 4000
    assert honest["duration_minutes"] == 63
    assert honest["street_id"] == "S01"
    noshow = by_order[ids + "O-NOSHOW"][0]
    assert noshow["check_in_at"] is None and noshow["duration_minutes"] is None

    # The published bytes are the ledger's entries: the ledger verifies,
    # and the CLI's inclusion proof of an order is for exactly those bytes.
    svc = writer["svc"]
    v = cli("ledger", "verify", svc.ledger_dir, "--pubkey", writer["public_key"])
    assert v.returncode == 0, v.stdout + v.stderr
    p = cli("ledger", "prove", svc.ledger_dir, ids + "O-VOICE")
    assert p.returncode == 0, p.stderr
    proof = json.loads(p.stdout)
    published = [r for r in finals if r["value"]["order_id"] == ids + "O-VOICE"][0]
    assert proof["leaf_index"] == published["value"]["ledger_index"]
    raw = published["raw"]
    assert base64.b64decode(proof["entry"]) == raw
    if "sm3" in hashlib.algorithms_available:
        assert proof["leaf_hash"] == sm3(b"\x00" + raw).hex()
    c = subprocess.run([CLI, "ledger", "check-proof", "-", "--pubkey", writer["public_key"]],
                       input=p.stdout, capture_output=True, text=True, timeout=60)
    assert c.returncode == 0, c.stdout + c.stderr

    checkpoints = [r["value"] for r in records if r["topic"] == "ledger.checkpoints"
                   and r["value"]["log_id"] == "test-ledger"]
    assert checkpoints, "no checkpoint published"
    sizes = [cp["tree_size"] for cp in checkpoints]
    assert sizes == sorted(sizes)
    assert max(sizes) >= len(wanted)
    assert all(cp["hash_alg"] == "SM3" and len(cp["root_hash"]) == 32 for cp in checkpoints)
    assert checkpoints[-1]["note"].startswith("carewatch.ledger/test-ledger/sm3\n%d\n"
                                              % checkpoints[-1]["tree_size"])


def test_kill9_mid_run_finalizes_every_order_exactly_once(ingest, keys, checkers, writer, ids):
    day = Day(ids, allocate_day())
    watch = TopicWatch(["orders.finalized"])
    try:
        post_day(ingest, keys, day)
        post(ingest, keys.importer, "order", day.closing_order)
        for kind, body in day.closing + day.evidence:
            post(ingest, keys.importer, kind, body)
        # Some orders are final by now (the honest and the red ones).
        records = []
        deadline = time.monotonic() + 90
        while not any(r["value"]["order_id"].startswith(ids) for r in records):
            assert time.monotonic() < deadline, "nothing finalized before the kill"
            records += watch.new_records()
            time.sleep(0.2)
        writer["svc"].kill9()
        post(ingest, keys.importer, "order", day.week_later_order)
        for kind, body in day.week_later:
            post(ingest, keys.importer, kind, body)
        writer["svc"] = writer["svc"].restart()
        writer["svc"].wait_ready(writer["svc"].ready_url)
        records = wait_finalized(watch, records, set(day.expected_final()))
    finally:
        watch.close()

    finals = [r for r in records if r["topic"] == "orders.finalized"
              and r["value"]["order_id"].startswith(ids)]
    by_order = {}
    for r in finals:
        by_order.setdefault(r["value"]["order_id"], set()).add(r["raw"])
    # Published at least once, and every copy identical (a replay after the
    # crash may publish an entry again, never a different verdict).
    assert set(by_order) == set(day.expected_final())
    assert all(len(copies) == 1 for copies in by_order.values())
    statuses = {r["value"]["order_id"]: r["value"]["status"] for r in finals}
    assert statuses == day.expected_final()

    svc = writer["svc"]
    v = cli("ledger", "verify", svc.ledger_dir, "--pubkey", writer["public_key"])
    assert v.returncode == 0, v.stdout + v.stderr
    # In the ledger exactly once each.
    for order_id in day.expected_final():
        p = cli("ledger", "prove", svc.ledger_dir, order_id)
        assert p.returncode == 0, (order_id, p.stderr)
    indexes = {r["value"]["ledger_index"] for r in finals}
    assert len(indexes) == len(by_order)


def readme_ledger_commands():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        section = f.read().split("## Finalization and the ledger", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()


def test_readme_audit_commands(ingest, keys, checkers, writer, ids, tmp_path):
    """The auditor's commands of the README, on a ledger the writer made."""
    day = Day(ids, allocate_day())
    watch = TopicWatch(["orders.finalized"])
    try:
        post_day(ingest, keys, day)
        post_rest(ingest, keys, day)
        wait_finalized(watch, [], set(day.expected_final()))
    finally:
        watch.close()
    svc = writer["svc"]
    with open(os.path.join(svc.ledger_dir, "checkpoints"), encoding="utf-8") as f:
        sizes = sorted({int(note.split("\n")[1]) for note in f.read().split("\n\n")
                        if note.strip() and not note.startswith("\u2014")})
    assert len(sizes) >= 2, sizes
    commands = readme_ledger_commands()
    assert len(commands) == 5, commands
    for line in commands:
        cmd = (line.replace("carewatch ledger", CLI + " ledger")
               .replace("var/ledger-public.pem", writer["public_key"])
               .replace("var/ledger", svc.ledger_dir)
               .replace("O-HONEST", ids + "O-HONEST")
               .replace(" OLD NEW ", " %d %d " % (sizes[0], sizes[-1])))
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=str(tmp_path),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    proof = json.loads((tmp_path / "proof.json").read_text())
    assert proof["tree_size"] >= len(day.expected_final())
    consistency = json.loads((tmp_path / "consistency.json").read_text())
    assert consistency, "empty consistency proof"
