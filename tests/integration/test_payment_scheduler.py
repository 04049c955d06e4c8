"""payment-scheduler against the real broker: Contract and OrderFinalized
records are produced directly (fastavro single-object encoding), the
service's payments.* and dead letters are read back with confluent-kafka
and compared, to the cent, with an independent model of docs/design.md §6
written here, historical contracts (no PREPAY, no statement, one CLAWBACK
of invalid orders x deduction) and the payer and payee accounts included.
Then kill -9 in the middle of a run, restarts, and the batch run over the
same stream: one identical instruction set, no id twice.

The service's watermark is global over orders.finalized, which the broker
keeps from earlier tests: every test takes service days later than any
finalized_at already on the topic."""

import csv
import datetime
import os
import re
import signal
import subprocess
import time
import uuid

import requests
from confluent_kafka import Producer

from conftest import (BUILD_DIR, KAFKA_BROKERS, REGISTRY, REPO, Service, allocate_day, free_port,
                      wait_until)
from carewatch_py.topics import read_topics

BINARY = os.path.join(BUILD_DIR, "services", "payment-scheduler", "carewatch-payment-scheduler")
UTC8 = datetime.timezone(datetime.timedelta(hours=8))
HOUR = 3600 * 1000
DAY = 24 * HOUR
OUT_TOPICS = ["payments.statements", "payments.instructions", "dlq.payment-scheduler",
              "alerts.finance"]


# ---- the model ------------------------------------------------------------------

def ms(day, hours=0.0):
    """UTC ms of local (UTC+8) midnight of day, plus hours."""
    midnight = datetime.datetime(day.year, day.month, day.day, tzinfo=UTC8)
    return int(midnight.timestamp() * 1000) + int(hours * HOUR)


def publication(day, lag):
    return ms(day + datetime.timedelta(days=lag + 1))


def model(contracts, orders):
    """Statements, instructions and budget alerts by id, and the refused
    order ids, for records read in this order (within the allowed lateness)
    and a watermark past every settlement."""
    seen, refused = set(), {}
    payable = {cid: [] for cid in contracts}
    for o in orders:
        if o["order_id"] in seen:
            continue
        seen.add(o["order_id"])
        c = contracts.get(o["contract_id"])
        d = datetime.date.fromisoformat(o["service_day"])
        if c is None:
            refused[o["order_id"]] = "no contract"
        elif not c["start"] <= d <= c["end"]:
            refused[o["order_id"]] = "outside the period"
        elif o["finalized_at"] >= publication(c["end"], c["publication_lag_days"]):
            refused[o["order_id"]] = "after the settlement instant"
        else:
            payable[o["contract_id"]].append((d, o))
    statements, instructions, alerts = {}, {}, {}
    for cid, c in contracts.items():
        lag = c["publication_lag_days"]
        if c["historical"]:
            # A past period: no PREPAY, no statement, no budget cap; one
            # CLAWBACK of its invalid orders, nothing when there is none.
            invalid = sum(o["status"] != "VALID" for _, o in payable[cid])
            if invalid:
                instructions["%s:CLAWBACK:%s" % (cid, c["end"])] = instruction(
                    c, "CLAWBACK", invalid * c["invalid_deduction_cents"],
                    publication(c["end"], lag))
            continue
        prepaid = (c["budget_cents"] * c["prepay_ratio_ppm"] + 500000) // 1000000
        instructions[cid + ":PREPAY"] = instruction(c, "PREPAY", prepaid, c["updated_at"])
        left, gross, deduction = payable[cid], 0, 0
        d = c["start"]
        while d <= c["end"]:
            at = publication(d, lag)
            due = [(od, o) for od, o in left if od <= d and o["finalized_at"] < at]
            left = [(od, o) for od, o in left if not (od <= d and o["finalized_at"] < at)]
            if due:
                n = {(late, valid): 0 for late in (0, 1) for valid in (0, 1)}
                for od, o in due:
                    n[(od < d, o["status"] == "VALID")] += 1
                s = {"statement_id": "%s:%s" % (cid, d), "contract_id": cid,
                     "provider_id": c["provider_id"], "service_day": d.isoformat(),
                     "valid_orders": n[(0, 1)], "invalid_orders": n[(0, 0)],
                     "late_valid_orders": n[(1, 1)], "late_invalid_orders": n[(1, 0)],
                     "gross_cents": (n[(0, 1)] + n[(1, 1)]) * c["unit_price_cents"],
                     "deduction_cents": (n[(0, 0)] + n[(1, 0)]) * c["invalid_deduction_cents"],
                     "published_at": at}
                statements[s["statement_id"]] = s
                before = gross - deduction
                gross += s["gross_cents"]
                deduction += s["deduction_cents"]
                # Consumption (the net so far) strictly above 80 % (half up)
                # and 100 % of the budget: one alert each, with the statement.
                for rule, colour, level in (
                        ("BUDGET_80", "ORANGE", (c["budget_cents"] * 8 + 5) // 10),
                        ("BUDGET_EXCEEDED", "RED", c["budget_cents"])):
                    if before <= level < gross - deduction:
                        alerts["%s:%s" % (cid, rule)] = {
                            "order_id": s["statement_id"], "rule": rule, "colour": colour,
                            "provider_id": c["provider_id"], "street_id": "",
                            "measured": (gross - deduction) / 100.0, "threshold": level / 100.0,
                            "at": at, "raised_at": at}
            d += datetime.timedelta(days=1)
        # Never paid beyond the budget, prepayment included.
        owed = min(gross - deduction, c["budget_cents"]) - prepaid
        kind = "SETTLEMENT" if owed >= 0 else "CLAWBACK"
        instructions["%s:%s:%s" % (cid, kind, c["end"])] = instruction(
            c, kind, abs(owed), publication(c["end"], lag))
    return statements, instructions, alerts, refused


def instruction(c, kind, amount, created_at):
    iid = c["contract_id"] + (":PREPAY" if kind == "PREPAY" else ":%s:%s" % (kind, c["end"]))
    # The treasury pays the provider; a clawback goes back to the treasury.
    provider, treasury = c["provider_account"], c["treasury_account"]
    payer, payee = (provider, treasury) if kind == "CLAWBACK" else (treasury, provider)
    return {"instruction_id": iid, "contract_id": c["contract_id"],
            "provider_id": c["provider_id"], "kind": kind, "amount_cents": amount,
            "period_start": c["start"].isoformat(), "period_end": c["end"].isoformat(),
            "created_at": created_at, "payer_account": payer, "payee_account": payee}


# ---- records --------------------------------------------------------------------

def contract(cid, provider, start, days, lag, budget, ppm, unit=4000, deduction=18000,
             historical=False, provider_account=None, treasury_account=None):
    return {"contract_id": cid, "provider_id": provider, "start": start,
            "end": start + datetime.timedelta(days=days - 1), "budget_cents": budget,
            "unit_price_cents": unit, "prepay_ratio_ppm": ppm,
            "invalid_deduction_cents": deduction, "publication_lag_days": lag,
            "updated_at": ms(start) - 10 * DAY, "historical": historical,
            "provider_account": provider_account, "treasury_account": treasury_account}


def contract_record(c):
    return {"contract_id": c["contract_id"], "provider_id": c["provider_id"],
            "period_start": c["start"].isoformat(), "period_end": c["end"].isoformat(),
            "budget_cents": c["budget_cents"], "unit_price_cents": c["unit_price_cents"],
            "prepay_ratio_ppm": c["prepay_ratio_ppm"],
            "invalid_deduction_cents": c["invalid_deduction_cents"],
            "publication_lag_days": c["publication_lag_days"], "updated_at": c["updated_at"],
            "historical": c["historical"], "provider_account": c["provider_account"],
            "treasury_account": c["treasury_account"]}


def finalized(order_id, provider, cid, day, valid, finalized_at, index=0, elder=None,
              minutes=None, duty=(None, None)):
    """An OrderFinalized; its elder is the provider's own unless named, with
    no duty stamped unless duty = (visits_per_month, minutes_per_visit)."""
    return {"order_id": order_id, "provider_id": provider, "contract_id": cid,
            "caregiver_id": "CG-" + order_id, "elder_id": elder or provider + "-E1",
            "street_id": "S01",
            "service_day": day.isoformat(), "status": "VALID" if valid else "INVALID",
            "reasons": [] if valid else ["NO_SHOW"], "check_in_at": None, "check_out_at": None,
            "duration_minutes": minutes, "unit_price_cents": 4000, "finalized_at": finalized_at,
            "ledger_index": index, "visits_per_month": duty[0], "minutes_per_visit": duty[1]}


class Feed:
    def __init__(self):
        self.producer = Producer({"bootstrap.servers": KAFKA_BROKERS, "linger.ms": 5})

    def contracts(self, contracts):
        for c in contracts.values():
            self.producer.produce("ref.contracts", key=c["contract_id"],
                                  value=REGISTRY.encode("Contract", contract_record(c)))
        self.producer.flush(30)

    def orders(self, orders):
        for o in orders:
            if isinstance(o, bytes):
                self.producer.produce("orders.finalized", key=b"garbage", value=o)
            else:
                self.producer.produce("orders.finalized", key=o["order_id"],
                                      value=REGISTRY.encode("OrderFinalized", o))
        self.producer.flush(30)


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(record):
    """fastavro gives timestamp-millis fields as datetimes: back to UTC ms."""
    return {k: (v - EPOCH) // datetime.timedelta(milliseconds=1)
            if isinstance(v, datetime.datetime) else v for k, v in record.items()}


def fresh_base_day():
    """A service day later than every finalized_at on the topic (and than the
    days other tests were given)."""
    day = datetime.date.fromisoformat(allocate_day())
    latest = [plain(r["value"])["finalized_at"]
              for r in read_topics(KAFKA_BROKERS, ["orders.finalized"])
              if r["name"] == "OrderFinalized"]
    if latest:
        last = datetime.datetime.fromtimestamp(max(latest) / 1000, UTC8).date()
        day = max(day, last + datetime.timedelta(days=2))
    return day


def ours(prefix):
    """Everything the scheduler published about ids starting with prefix."""
    out = {"payments.statements": [], "payments.instructions": [], "dlq.payment-scheduler": [],
           "alerts.finance": []}
    for r in read_topics(KAFKA_BROKERS, OUT_TOPICS):
        if r["name"] == "DeadLetter":
            payload = r["value"]["payload"]
            if prefix.encode() in payload:
                out[r["topic"]].append(plain(r["value"]))
        elif r["name"] == "Alert":
            if r["value"]["alert_id"].startswith(prefix):
                out[r["topic"]].append(plain(r["value"]))
        elif r["value"] is not None and r["value"]["contract_id"].startswith(prefix):
            out[r["topic"]].append(plain(r["value"]))
    return out


def by_id(records, field):
    got = {}
    for r in records:
        assert r[field] not in got, "%s published twice" % r[field]
        got[r[field]] = r
    return got


def config(workdir, admin_port, txn_id, lateness_minutes, batch_max=500):
    return """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin_port}
log:
  level: info
time:
  mode: replay
stream:
  transactional_id: {txn}
  group_id: {txn}
  allowed_lateness_minutes: {lateness}
  batch_max: {batch_max}
  batch_wait_ms: 20
  # These tests write orders.finalized themselves: no ledger-writer, no
  # checkpoints to wait for.
  wait_for_ledger: false
report:
  dir: {workdir}/reports
""".format(brokers=KAFKA_BROKERS, admin_port=admin_port, txn=txn_id, lateness=lateness_minutes,
           batch_max=batch_max, workdir=workdir)


class Scheduler(Service):
    def __init__(self, workdir, txn_id, lateness_minutes, batch_max=500):
        self.admin_port = free_port()
        self.args = (workdir, txn_id, lateness_minutes, batch_max)
        super().__init__("payment-scheduler",
                         config(workdir, self.admin_port, txn_id, lateness_minutes, batch_max),
                         workdir)
        self.url = "http://127.0.0.1:%d" % self.admin_port

    def restart(self):
        return Scheduler(*self.args)


def batch_run(config_path, period, out_dir):
    r = subprocess.run([BINARY, "--config", config_path, "--run", period, "--out", out_dir],
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")})
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(out_dir, "instructions-%s.csv" % period), encoding="utf-8") as f:
        instructions = list(csv.DictReader(f))
    with open(os.path.join(out_dir, "statements-%s.csv" % period), encoding="utf-8") as f:
        statements = list(csv.DictReader(f))
    return r.stdout, instructions, statements


def as_csv_instruction(i):
    return {"instruction_id": i["instruction_id"], "contract_id": i["contract_id"],
            "provider_id": i["provider_id"], "kind": i["kind"],
            "amount_cents": str(i["amount_cents"]), "period_start": i["period_start"],
            "period_end": i["period_end"], "created_at": str(i["created_at"]),
            "payer_account": i["payer_account"] or "", "payee_account": i["payee_account"] or ""}


def wait_for_instructions(prefix, ids, svc, timeout=90):
    def done():
        svc.assert_running()
        have = {i["instruction_id"] for i in ours(prefix)["payments.instructions"]}
        return set(ids) <= have
    wait_until(done, timeout, "instructions %s" % sorted(ids))


# ---- to the cent ----------------------------------------------------------------------

def test_statements_and_instructions_to_the_cent(tmp_path):
    p = "T%s-" % uuid.uuid4().hex[:8]
    b = fresh_base_day()
    d = [b + datetime.timedelta(days=i) for i in range(14)]
    contracts = {c["contract_id"]: c for c in [
        # 1 000 005 × 30 % = 300 001.5: the prepayment rounds up to 300 002.
        contract(p + "CA", p + "PA", d[0], 3, 3, 1000005, 300000,
                 provider_account="6222 0001 PA", treasury_account="GK-0301"),
        # The next period of the same provider: a period boundary.
        contract(p + "CN", p + "PA", d[3], 3, 3, 1000, 300000, deduction=1000,
                 provider_account="6222 0001 PA", treasury_account="GK-0301"),
        contract(p + "CI", p + "PB", d[0], 2, 3, 100000, 300000),   # all invalid
        contract(p + "CZ", p + "PC", d[0], 2, 1, 50000, 250000),    # no orders at all
    ]}
    ca_end = publication(d[2], 3)
    orders = [
        finalized(p + "a1", p + "PA", p + "CA", d[0], 1, ms(d[1], 10)),
        finalized(p + "a2", p + "PA", p + "CA", d[0], 1, ms(d[1], 11)),
        finalized(p + "a3", p + "PA", p + "CA", d[0], 1, ms(d[1], 12)),
        finalized(p + "a4", p + "PA", p + "CA", d[0], 0, ms(d[1], 13)),
        finalized(p + "i1", p + "PB", p + "CI", d[0], 0, ms(d[1], 14)),
        finalized(p + "i2", p + "PB", p + "CI", d[0], 0, ms(d[1], 15)),
        finalized(p + "b1", p + "PA", p + "CA", d[1], 1, ms(d[2], 9)),
        finalized(p + "b2", p + "PA", p + "CA", d[1], 1, ms(d[2], 10)),
        finalized(p + "i3", p + "PB", p + "CI", d[1], 0, ms(d[2], 11)),
        finalized(p + "a1", p + "PA", p + "CA", d[0], 1, ms(d[2], 12)),  # duplicate
        finalized(p + "x1", p + "PA", None, d[1], 1, ms(d[2], 13)),      # no contract
        b"\xc3\x01 not an order " + p.encode(),                          # undecodable
        finalized(p + "x2", p + "PA", p + "CA", d[3], 1, ms(d[4], 8)),   # outside CA
        finalized(p + "n1", p + "PA", p + "CN", d[3], 1, ms(d[4], 9)),
        finalized(p + "n2", p + "PA", p + "CN", d[3], 1, ms(d[4], 10)),
        # Day 1, finalized 2 h after its statement: a late adjustment on day 2's.
        finalized(p + "a5", p + "PA", p + "CA", d[0], 1, publication(d[0], 3) + 2 * HOUR),
        finalized(p + "c1", p + "PA", p + "CA", d[2], 1, ca_end - 1),   # just in time
        finalized(p + "c2", p + "PA", p + "CA", d[2], 1, ca_end),       # too late
        finalized(p + "n3", p + "PA", p + "CN", d[5], 1, ms(d[6], 9)),
        finalized(p + "n4", p + "PA", p + "CN", d[5], 0, ms(d[6], 10)),
        # Moves the watermark past every settlement.
        finalized(p + "zz", p + "PA", None, d[13], 1, ms(d[13], 12)),
    ]
    garbage = orders.pop(11)
    orders.sort(key=lambda o: o["finalized_at"])
    orders.insert(11, garbage)
    statements, instructions, alerts, refused = model(
        contracts, [o for o in orders if isinstance(o, dict)])
    # The model, checked by hand on a few figures.
    assert instructions[p + "CA:PREPAY"]["amount_cents"] == 300002
    assert statements[p + "CA:" + d[1].isoformat()]["late_valid_orders"] == 1
    assert instructions[p + "CA:CLAWBACK:" + d[2].isoformat()]["amount_cents"] == \
        300002 + 18000 - 7 * 4000
    # CN's net, 3 × 40 − 10 yuan, is far above its 10 yuan budget: paid up to
    # the budget, and its first statement crosses both budget levels.
    assert instructions[p + "CN:SETTLEMENT:" + d[5].isoformat()]["amount_cents"] == 1000 - 300
    # The treasury pays the provider; a clawback goes back to the treasury.
    assert (instructions[p + "CN:SETTLEMENT:" + d[5].isoformat()]["payer_account"],
            instructions[p + "CN:SETTLEMENT:" + d[5].isoformat()]["payee_account"]) == \
        ("GK-0301", "6222 0001 PA")
    assert (instructions[p + "CA:CLAWBACK:" + d[2].isoformat()]["payer_account"],
            instructions[p + "CA:CLAWBACK:" + d[2].isoformat()]["payee_account"]) == \
        ("6222 0001 PA", "GK-0301")
    assert sorted(alerts) == [p + "CN:BUDGET_80", p + "CN:BUDGET_EXCEEDED"]
    assert alerts[p + "CN:BUDGET_80"]["threshold"] == 8.0
    assert instructions[p + "CI:CLAWBACK:" + d[1].isoformat()]["amount_cents"] == 3 * 18000 + 30000
    assert instructions[p + "CZ:CLAWBACK:" + d[1].isoformat()]["amount_cents"] == 12500
    assert set(refused) == {p + "x1", p + "x2", p + "c2", p + "zz"}

    feed = Feed()
    feed.contracts(contracts)
    # Half before the service starts (its restore reads them), half while
    # it streams.
    split = 12
    feed.orders(orders[:split])
    workdir = str(tmp_path / "scheduler")
    txn = "test-pay-" + uuid.uuid4().hex[:8]
    svc = Scheduler(workdir, txn, lateness_minutes=30)
    try:
        svc.wait_ready(svc.url + "/readyz")
        feed.orders(orders[split:])
        wait_for_instructions(p, instructions, svc)
        metrics = requests.get(svc.url + "/metrics", timeout=5).text
        # At least this test's own: other tests' contracts on the shared
        # stack may add theirs.
        clawbacks = re.search(r'^carewatch_payment_instructions_total\{kind="CLAWBACK"\} (\d+)$',
                              metrics, re.M)
        assert clawbacks and int(clawbacks.group(1)) >= 3, metrics
        published = re.search(r"^carewatch_payment_statements_total (\d+)$", metrics, re.M)
        assert published and int(published.group(1)) >= 1, metrics
    finally:
        svc.stop()

    got = ours(p)
    assert by_id(got["payments.statements"], "statement_id") == statements
    assert by_id(got["payments.instructions"], "instruction_id") == instructions
    finance = by_id(got["alerts.finance"], "alert_id")
    assert {k: {f: v[f] for f in alerts[k]} for k, v in finance.items()} == alerts
    assert all("预算" in v["message_zh"] and "budget" in v["message_en"]
               for v in finance.values())
    dead = got["dlq.payment-scheduler"]
    reasons = {}
    for r in dead:
        try:
            _, v = REGISTRY.decode(r["payload"])
            key = v["order_id"]
        except ValueError:
            key = "garbage"
        assert key not in reasons, "%s dead-lettered twice" % key
        reasons[key] = r["reason"]
        assert r["service"] == "payment-scheduler" and r["source_topic"] == "orders.finalized"
    assert set(reasons) == set(refused) | {"garbage"}
    for oid, why in refused.items():
        assert why.split()[-1] in reasons[oid], (oid, reasons[oid])
    assert reasons["garbage"].startswith("undecodable")

    # A restart over the same stream publishes nothing new.
    again = svc.restart()
    try:
        again.wait_ready(again.url + "/readyz")
        time.sleep(2)
    finally:
        again.stop()
    after = ours(p)
    assert by_id(after["payments.statements"], "statement_id") == statements
    assert by_id(after["payments.instructions"], "instruction_id") == instructions
    assert set(by_id(after["alerts.finance"], "alert_id")) == set(alerts)
    assert len(after["dlq.payment-scheduler"]) == len(dead)

    # The batch run over the same stream: the same instructions and
    # statements; the report files for finance.
    period = "%s..%s" % (d[0], d[5])
    out = str(tmp_path / "batch")
    stdout, batch_instructions, batch_statements = batch_run(svc.config_path, period, out)
    mine = {r["instruction_id"]: r for r in batch_instructions if r["contract_id"].startswith(p)}
    assert mine == {k: as_csv_instruction(v) for k, v in instructions.items()}
    mine_st = {r["statement_id"]: r for r in batch_statements if r["contract_id"].startswith(p)}
    assert set(mine_st) == set(statements)
    for sid, s in statements.items():
        for field in ("valid_orders", "invalid_orders", "late_valid_orders",
                      "late_invalid_orders", "gross_cents", "deduction_cents"):
            assert mine_st[sid][field] == str(s[field]), (sid, field)
    assert "instruction %sCA:PREPAY PREPAY 300002" % p in stdout
    with open(os.path.join(out, "payments-%s.csv" % period), encoding="utf-8") as f:
        totals = {r["provider_id"]: r for r in csv.DictReader(f)}
    pa = totals[p + "PA"]
    # CA and CN: 7 + 3 valid (one late), 1 + 1 invalid.
    assert (pa["contracts"], pa["valid_orders"], pa["late_valid_orders"], pa["invalid_orders"]) \
        == ("2", "9", "1", "2")
    assert pa["invalid_rate_percent"] == "16.67"
    assert pa["clawback_cents"] == str(300002 + 18000 - 28000)
    assert pa["settlement_cents"] == "700"
    assert totals[p + "PB"]["invalid_rate_percent"] == "100.00"
    with open(os.path.join(out, "payments-%s.html" % period), encoding="utf-8") as f:
        html = f.read()
    assert "<svg" in html and p + "PA" in html and "<script" not in html


# ---- historical contracts ------------------------------------------------------------------

def test_historical_contracts_claw_back_invalid_orders_only(tmp_path):
    """A past period registered by an import: no PREPAY, no statement, no
    budget alert; at its settlement instant one CLAWBACK of its invalid
    orders x the deduction (not capped by the budget), from the provider's
    account to the treasury; nothing at all when no order was invalid."""
    p = "T%s-" % uuid.uuid4().hex[:8]
    b = fresh_base_day()
    d = [b + datetime.timedelta(days=i) for i in range(12)]
    contracts = {c["contract_id"]: c for c in [
        # A budget of 10 yuan, far below the 540 yuan clawed back.
        contract(p + "HA", p + "PA", d[0], 3, 3, 1000, 300000, historical=True,
                 provider_account="6222 0002 PA", treasury_account="GK-0301"),
        contract(p + "H0", p + "PB", d[0], 2, 1, 100000, 300000, historical=True),
        contract(p + "RC", p + "PC", d[0], 3, 3, 100000, 300000,
                 provider_account="6222 0003 PC", treasury_account="GK-0301"),
    ]}
    ha_end = publication(d[2], 3)
    orders = [
        finalized(p + "h1", p + "PA", p + "HA", d[0], 1, ms(d[1], 10)),
        finalized(p + "h2", p + "PA", p + "HA", d[0], 0, ms(d[1], 11)),
        finalized(p + "z1", p + "PB", p + "H0", d[0], 1, ms(d[1], 12)),
        finalized(p + "r1", p + "PC", p + "RC", d[0], 1, ms(d[1], 13)),
        finalized(p + "h3", p + "PA", p + "HA", d[1], 1, ms(d[2], 9)),
        finalized(p + "z2", p + "PB", p + "H0", d[1], 1, ms(d[2], 10)),
        finalized(p + "h2", p + "PA", p + "HA", d[0], 0, ms(d[2], 11)),  # duplicate
        finalized(p + "r2", p + "PC", p + "RC", d[1], 0, ms(d[2], 12)),
        finalized(p + "h4", p + "PA", p + "HA", d[2], 0, ms(d[3], 9)),
        finalized(p + "h5", p + "PA", p + "HA", d[2], 0, ha_end - 1),     # just in time
        finalized(p + "h6", p + "PA", p + "HA", d[2], 0, ha_end),         # too late
        # Moves the watermark past every settlement.
        finalized(p + "zz", p + "PA", None, d[11], 1, ms(d[11], 12)),
    ]
    orders.sort(key=lambda o: o["finalized_at"])
    statements, instructions, alerts, refused = model(contracts, orders)
    assert instructions[p + "HA:CLAWBACK:" + d[2].isoformat()]["amount_cents"] == 3 * 18000
    assert (instructions[p + "HA:CLAWBACK:" + d[2].isoformat()]["payer_account"],
            instructions[p + "HA:CLAWBACK:" + d[2].isoformat()]["payee_account"]) == \
        ("6222 0002 PA", "GK-0301")
    assert not [i for i in instructions if i.startswith((p + "HA:PREPAY", p + "H0"))]
    assert not [s for s in statements if s.startswith((p + "HA", p + "H0"))]
    assert set(refused) == {p + "h6", p + "zz"}

    feed = Feed()
    feed.contracts(contracts)
    feed.orders(orders[:6])
    workdir = str(tmp_path / "scheduler")
    txn = "test-pay-" + uuid.uuid4().hex[:8]
    svc = Scheduler(workdir, txn, lateness_minutes=30)
    try:
        svc.wait_ready(svc.url + "/readyz")
        feed.orders(orders[6:])
        # RC settles with HA, after H0: once it is out, they are done too.
        wait_for_instructions(p, instructions, svc)
    finally:
        svc.stop()
    got = ours(p)
    assert by_id(got["payments.statements"], "statement_id") == statements
    assert by_id(got["payments.instructions"], "instruction_id") == instructions
    assert not got["alerts.finance"]
    dead = {REGISTRY.decode(r["payload"])[1]["order_id"] for r in got["dlq.payment-scheduler"]}
    assert dead == set(refused)

    # A restart publishes nothing again.
    again = svc.restart()
    try:
        again.wait_ready(again.url + "/readyz")
        time.sleep(2)
    finally:
        again.stop()
    after = ours(p)
    assert by_id(after["payments.instructions"], "instruction_id") == instructions
    assert by_id(after["payments.statements"], "statement_id") == statements
    assert len(after["dlq.payment-scheduler"]) == len(got["dlq.payment-scheduler"])

    # The batch run: the same instructions; the report counts the
    # historical orders, shows H0's clawback of 0 and pays nothing.
    period = "%s..%s" % (d[0], d[2])
    out = str(tmp_path / "batch")
    _, batch_instructions, batch_statements = batch_run(svc.config_path, period, out)
    mine = {r["instruction_id"]: r for r in batch_instructions if r["contract_id"].startswith(p)}
    assert mine == {k: as_csv_instruction(v) for k, v in instructions.items()}
    assert not [r for r in batch_statements if r["contract_id"].startswith((p + "HA", p + "H0"))]
    with open(os.path.join(out, "payments-%s.csv" % period), encoding="utf-8") as f:
        totals = {r["provider_id"]: r for r in csv.DictReader(f)}
    pa, pb = totals[p + "PA"], totals[p + "PB"]
    assert (pa["historical_contracts"], pa["valid_orders"], pa["invalid_orders"]) == ("1", "2", "3")
    assert (pa["prepaid_cents"], pa["gross_cents"], pa["clawback_cents"], pa["net_paid_cents"]) \
        == ("0", "0", str(3 * 18000), str(-3 * 18000))
    assert pa["invalid_rate_percent"] == "60.00"
    assert (pb["historical_contracts"], pb["valid_orders"], pb["clawback_cents"],
            pb["net_paid_cents"]) == ("1", "2", "0", "0")
    with open(os.path.join(out, "payments-%s.html" % period), encoding="utf-8") as f:
        html = f.read()
    assert p + "H0 (" in html and "no instruction" in html
    assert "6222 0002 PA → GK-0301" in html


# ---- kill -9 mid-run ------------------------------------------------------------------

def many_orders(p, contracts, seed):
    """Orders of every contract day, finalized from the next morning to 3 h
    past their statement (some after their contract's settlement instant),
    plus duplicates; in finalized_at order."""
    x = seed
    orders = []
    for c in contracts.values():
        day, k = c["start"], 0
        while day <= c["end"]:
            start = ms(day + datetime.timedelta(days=1), 8)
            span = publication(day, c["publication_lag_days"]) + 3 * HOUR - start
            for _ in range(18):
                x = (x * 6364136223846793005 + 1442695040888963407) % 2 ** 64
                k += 1
                orders.append(finalized("%s%s-%d" % (p, c["contract_id"][len(p):], k),
                                        c["provider_id"], c["contract_id"], day,
                                        (x >> 33) % 6 != 0, start + (x >> 20) % span, k))
            day += datetime.timedelta(days=1)
    orders.sort(key=lambda o: o["finalized_at"])
    for i in range(5, len(orders), 37):
        orders.insert(i + 3, dict(orders[i]))
    return orders


def test_kill9_mid_run_restart_then_batch_gives_one_instruction_set(tmp_path):
    p = "T%s-" % uuid.uuid4().hex[:8]
    b = fresh_base_day()
    contracts = {c["contract_id"]: c for c in [
        contract(p + "K1", p + "PK1", b, 5, 3, 2000000, 300000),
        contract(p + "K2", p + "PK2", b, 5, 2, 50000, 123457),
        contract(p + "K3", p + "PK1", b + datetime.timedelta(days=5), 4, 3, 10, 500000),
        # A past period: only its CLAWBACK, exactly once through the kills.
        contract(p + "K4", p + "PK4", b, 4, 3, 10, 300000, historical=True,
                 provider_account="6222 0004", treasury_account="GK-0301"),
    ]}
    orders = many_orders(p, contracts, seed=20240501)
    last_day = max(c["end"] for c in contracts.values())
    orders.append(finalized(p + "zz", p + "PK1", None, last_day,
                            1, ms(last_day + datetime.timedelta(days=8))))
    statements, instructions, _, refused = model(contracts, orders)
    assert len(statements) > 10 and len(refused) > 2
    assert instructions[p + "K4:CLAWBACK:" + (b + datetime.timedelta(days=3)).isoformat()][
        "amount_cents"] > 0
    assert any(s["late_valid_orders"] + s["late_invalid_orders"] for s in statements.values())

    feed = Feed()
    feed.contracts(contracts)
    workdir = str(tmp_path / "scheduler")
    txn = "test-pay-" + uuid.uuid4().hex[:8]
    # Small transactions, so the kill falls between and inside them.
    # The lateness covers the event time a few records written together
    # span (a partition read to its end follows the others' clock).
    svc = Scheduler(workdir, txn, lateness_minutes=720, batch_max=5)
    svc.wait_ready(svc.url + "/readyz")
    chunks = [orders[i:i + 3] for i in range(0, len(orders), 3)]
    sent = 0
    published_before_kill = 0
    for chunk in chunks:
        feed.orders(chunk)
        sent += 1
        time.sleep(0.03)
        if sent % 4 == 0:
            published_before_kill = len(ours(p)["payments.statements"])
            if published_before_kill >= 3:
                break
    assert published_before_kill >= 3, "no statement before the stream ran out"
    svc.kill9()
    # Records keep coming while it is down.
    for chunk in chunks[sent:sent + 5]:
        feed.orders(chunk)
    sent += 5
    # A second kill while it restores.
    svc = svc.restart()
    time.sleep(0.4)
    svc.kill9()
    svc = svc.restart()
    try:
        svc.wait_ready(svc.url + "/readyz")
        for chunk in chunks[sent:]:
            feed.orders(chunk)
            time.sleep(0.01)
        wait_for_instructions(p, instructions, svc, timeout=120)
    finally:
        svc.stop()
    assert published_before_kill < len(statements), "the kill came after the run"

    got = ours(p)
    assert by_id(got["payments.statements"], "statement_id") == statements
    assert by_id(got["payments.instructions"], "instruction_id") == instructions
    dead = [REGISTRY.decode(r["payload"])[1]["order_id"] for r in got["dlq.payment-scheduler"]]
    assert sorted(dead) == sorted(refused), "each refused order dead-lettered exactly once"

    period = "%s..%s" % (b, last_day)
    _, batch_instructions, _ = batch_run(svc.config_path, period, str(tmp_path / "batch"))
    mine = {r["instruction_id"]: r for r in batch_instructions if r["contract_id"].startswith(p)}
    assert mine == {k: as_csv_instruction(v) for k, v in instructions.items()}


# ---- one writer ---------------------------------------------------------------------------

def test_under_served_months_are_judged_once_at_their_cutoff(tmp_path):
    """UNDER_SERVED per elder and UTC+8 month: at 00:00 of the next month's
    first day + 3 days, with the orders finalized before it; a CheckResult
    per elder of the month (PASS too) on visit.checks, "<elder>:<YYYY-MM>",
    once, and not again after a restart."""
    p = "T%s-" % uuid.uuid4().hex[:8]
    b = fresh_base_day()
    first = b.replace(day=1)
    month = (first + datetime.timedelta(days=40)).replace(day=1)  # a month wholly ahead
    nxt = (month + datetime.timedelta(days=40)).replace(day=1)
    days = [month + datetime.timedelta(days=i) for i in (1, 8, 15, 22)]
    contract_row = contract(p + "KU", p + "PU", month, (nxt - month).days, 3, 10000000, 300000)
    duty = (4, 60)
    orders = []
    for elder, valid, minutes in (("OK", 4, [61, 61, 61, 61]), ("FEW", 2, [61, 61, 61, 61]),
                                  ("SHORT", 4, [61, 30, 61, 61])):
        for i, d in enumerate(days):
            orders.append(finalized("%s%s-%d" % (p, elder, i), p + "PU", p + "KU", d, i < valid,
                                    ms(d, 12), elder=p + "E-" + elder, minutes=minutes[i],
                                    duty=duty))
    cutoff = publication(nxt - datetime.timedelta(days=1), 3)
    # Finalized after the cutoff: not counted (FEW stays at two).
    orders.append(finalized(p + "FEW-late", p + "PU", p + "KU", days[3], 1, cutoff + 1,
                            elder=p + "E-FEW", minutes=61, duty=duty))
    # Moves the watermark past the cutoff.
    orders.append(finalized(p + "zz", p + "PU", None, nxt + datetime.timedelta(days=6), 1,
                            cutoff + 2 * 86400000))
    feed = Feed()
    feed.contracts({contract_row["contract_id"]: contract_row})
    workdir = str(tmp_path / "scheduler")
    svc = Scheduler(workdir, "test-pay-" + uuid.uuid4().hex[:8], lateness_minutes=30)

    def verdicts():
        return [plain(r["value"]) for r in read_topics(KAFKA_BROKERS, ["visit.checks"])
                if r["name"] == "CheckResult" and r["value"]["order_id"].startswith(p)]
    try:
        svc.wait_ready(svc.url + "/readyz")
        feed.orders(orders)
        wait_until(lambda: len(verdicts()) >= 3, 60, "the month's UNDER_SERVED verdicts")
        time.sleep(2)
        got = verdicts()
    finally:
        svc.stop()
    label = month.strftime("%Y-%m")
    assert sorted(v["check_id"] for v in got) == sorted(
        "%sE-%s:%s:UNDER_SERVED" % (p, e, label) for e in ("FEW", "OK", "SHORT"))
    by = {v["order_id"][len(p) + 2:].split(":")[0]: v for v in got}
    assert (by["OK"]["outcome"], by["OK"]["measured"], by["OK"]["threshold"]) == ("PASS", 4.0,
                                                                                  4.0)
    assert (by["FEW"]["outcome"], by["FEW"]["measured"]) == ("ORANGE", 2.0)
    assert (by["SHORT"]["outcome"], by["SHORT"]["measured"]) == ("ORANGE", 4.0)
    assert all(v["rule"] == "UNDER_SERVED" and v["at"] == cutoff and v["caregiver_id"] == ""
               and v["checker"] == "payment-scheduler" and v["unit"] == "visits" for v in got)

    # A restart over the same stream does not judge the month again: KU's
    # settlement, restored from payments.instructions, was made at the
    # month's cutoff, in the transaction that judged it.
    again = svc.restart()
    try:
        again.wait_ready(again.url + "/readyz")
        time.sleep(2)
    finally:
        again.stop()
    assert len(verdicts()) == 3


def test_a_second_instance_fences_the_first(tmp_path):
    p = "T%s-" % uuid.uuid4().hex[:8]
    b = fresh_base_day()
    contracts = {p + "F1": contract(p + "F1", p + "PF", b, 2, 1, 40000, 300000)}
    orders = [finalized(p + "f1", p + "PF", p + "F1", b, 1, ms(b, 20)),
              finalized(p + "f2", p + "PF", p + "F1", b + datetime.timedelta(days=1), 0,
                        ms(b + datetime.timedelta(days=1), 20)),
              finalized(p + "zz", p + "PF", None, b, 1, ms(b + datetime.timedelta(days=9)))]
    statements, instructions, _, _ = model(contracts, orders)
    feed = Feed()
    feed.contracts(contracts)
    txn = "test-pay-" + uuid.uuid4().hex[:8]
    first = Scheduler(str(tmp_path / "first"), txn, lateness_minutes=30)
    first.wait_ready(first.url + "/readyz")
    second = Scheduler(str(tmp_path / "second"), txn, lateness_minutes=30)
    try:
        second.wait_ready(second.url + "/readyz")
        feed.orders(orders)
        # The first one's next transaction is refused: it stops.
        wait_until(lambda: first.proc.poll() is not None, 60, "the fenced instance to exit")
        wait_for_instructions(p, instructions, second)
    finally:
        if first.proc.poll() is None:
            first.kill9()
        second.stop()
    first.log.close()
    log = first.log_text()
    assert first.proc.returncode == 1, log
    assert "FENCED" in log and "Sanitizer" not in log, log
    got = ours(p)
    assert by_id(got["payments.statements"], "statement_id") == statements
    assert by_id(got["payments.instructions"], "instruction_id") == instructions


# ---- docs/payments.md -------------------------------------------------------------------

def doc_commands():
    """The commands of docs/payments.md and of the README's payments section."""
    with open(os.path.join(REPO, "docs", "payments.md"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    text += readme.split("## Payments: how payment runs consume", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines += [line for line in block.splitlines() if line and not line.startswith("#")]
    return lines


def test_documented_commands(tmp_path):
    """Every command of docs/payments.md and the README, on this broker: the binary from the
    build under test, a transactional id and admin port of the test's own."""
    commands = doc_commands()
    assert len(commands) >= 4, commands
    admin_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    env.update(CAREWATCH_KAFKA_BROKERS=KAFKA_BROKERS, CAREWATCH_ADMIN_PORT=str(admin_port),
               CAREWATCH_STREAM_TRANSACTIONAL_ID="test-pay-doc-" + uuid.uuid4().hex[:8])
    binary_dir = os.path.join(BUILD_DIR, "services", "payment-scheduler") + "/"
    service = None
    try:
        for line in commands:
            cmd = line.replace("build/services/payment-scheduler/", binary_dir)
            cmd = cmd.replace("var/reports", str(tmp_path / "reports"))
            cmd = cmd.replace("127.0.0.1:9100", "127.0.0.1:%d" % admin_port)
            if "--run" not in cmd and "--check-config" not in cmd and "carewatch-payment" in cmd:
                service = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=REPO, env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

                def ready():
                    assert service.poll() is None, "the service exited"
                    try:
                        return requests.get("http://127.0.0.1:%d/readyz" % admin_port,
                                            timeout=2).status_code == 200
                    except requests.RequestException:
                        return False
                wait_until(ready, 60, "the documented service to be ready")
                continue
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, (cmd, r.stdout, r.stderr)
            if "--check-config" in cmd:
                assert "is valid" in r.stdout
            if "--run" in cmd:
                assert re.search(r"^payment run \S+: \d+ contracts", r.stdout, re.M), r.stdout
                assert os.listdir(str(tmp_path / "reports"))
            if "metrics" in cmd:
                assert "carewatch_payment_statements_total" in r.stdout, r.stdout
        assert service is not None, "no command starts the service"
    finally:
        if service is not None:
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=20) == 0
