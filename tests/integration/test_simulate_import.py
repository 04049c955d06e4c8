"""carewatch simulate and carewatch import (tools/carewatch_py): the
simulated district is deterministic and keeps its promises (honest visits
inside every threshold, each fraud over its own); the export's encodings,
column mappings and malformed rows; the report's arithmetic; and, on the
real stack, every command of docs/import.md: a GB18030 export with broken
rows imported end to end, its report checked against the ground truth and
against the payment run over its historical contracts (no PREPAY, no
statement, the report's clawback as CLAWBACK instructions), and a district
fed live with every fraud caught and no false alarm."""

import csv
import datetime
import filecmp
import io
import math
import os
import re
import subprocess
import uuid

import pytest

from carewatch_py import coords, histcsv, importer, quality, report
from carewatch_py.district import FRAUD_RULES, PARTNER, District
from carewatch_py.topics import read_topics
from conftest import (BUILD_DIR, KAFKA_BROKERS, REPO, Ingest, Service, allocate_day,
                      checker_config, free_port)
from test_ledger_writer import LedgerWriter, make_key
from test_payment_scheduler import batch_run

PY = os.path.join(REPO, ".venv", "bin", "python")
CLI = os.path.join(BUILD_DIR, "services", "cli", "carewatch")
RED = {"SCHEDULE_OVERLAP", "VISIT_OVERLAP", "FROZEN_CAREGIVER", "UNCERTIFIED", "ELDER_UNAVAILABLE",
       "CROSS_PROVIDER_OVERLAP"}


def simulate(*args):
    r = subprocess.run([PY, "-m", "carewatch_py.simulate", *args], cwd=REPO, capture_output=True,
                       text=True, timeout=120, env=dict(os.environ,
                                                        PYTHONPATH=os.path.join(REPO, "tools")))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


# ---- the district, no stack needed --------------------------------------------

def test_same_seed_gives_identical_files(tmp_path):
    opts = ["--streets", "3", "--elders", "400", "--start", "2024-05-06", "--days", "7",
            "--csv", "--encoding", "gb18030", "--headers", "zh", "--broken", "3"]
    simulate("--seed", "11", "--out", str(tmp_path / "a"), *opts)
    simulate("--seed", "11", "--out", str(tmp_path / "b"), *opts)
    simulate("--seed", "12", "--out", str(tmp_path / "c"), *opts)
    names = ["district.ndjson", "truth.csv", "export.csv", "broken.csv"]
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert match == names, (mismatch, errors)
    for name in ["district.ndjson", "truth.csv", "export.csv"]:
        assert not filecmp.cmp(tmp_path / "a" / name, tmp_path / "c" / name, shallow=False), name


def _speed_kmh(a_fix, a_t, b_fix, b_t):
    d = coords.distance_m(a_fix, b_fix)
    return d, (d / 1000.0) / max((b_t - a_t) / 3600.0, 1e-9)


def test_honest_visits_stay_inside_every_threshold_and_frauds_cross_theirs():
    d = District(seed=5, streets=3, communities=30, elders=900, start="2024-05-01", days=31)
    by_id = {o["order_id"]: o for o in d.orders}
    counts = d.counts()
    for fraud in FRAUD_RULES:
        assert counts.get(fraud, 0) > 0, (fraud, counts)
    photos = {}
    for o in d.orders:
        v = d.visits[o["order_id"]]
        if v["in"]:
            photos.setdefault(v["in_photo"], []).append((v["in_at"], o["order_id"]))
    photos = {h: [oid for _, oid in sorted(users)] for h, users in photos.items()}
    per_cg = {}
    for o in d.orders:
        v = d.visits[o["order_id"]]
        home = d.elders[o["elder"]]["home"]
        fraud = o["fraud"]
        if v["in"]:
            per_cg.setdefault(o["caregiver"], []).append((v["in_at"], o["order_id"]))
        if fraud in ("honest", PARTNER):
            assert v["in"] and v["out"], o
            assert coords.distance_m(home, v["in_fix"]) <= 8.01
            assert coords.distance_m(home, v["out_fix"]) <= 8.01
            for b in (v["in_beidou"], v["out_beidou"]):
                assert b is None or coords.distance_m(home, b) <= 5.01
            assert v["in_at"] <= o["start"] + 12 * 60
            assert v["out_at"] - v["in_at"] >= o["minutes"] * 60 - 4 * 60
            assert v["face"] >= 0.9 and v["voice"] >= 0.9
            assert photos[v["in_photo"]][0] == o["order_id"]  # the first to use it
            assert v["posted_out"] is None
        elif fraud == "short":
            assert v["out_at"] - v["in_at"] < (o["minutes"] - 5) * 60 - 9 * 60
        elif fraud == "away":
            assert coords.distance_m(home, v["in_fix"]) > 140
            assert coords.distance_m(home, v["out_fix"]) > 140
        elif fraud == "dual":
            assert coords.distance_m(v["in_fix"], v["in_beidou"]) > 140
        elif fraud == "face":
            assert v["face"] is None or v["face"] < 0.75
        elif fraud == "voice":
            assert v["voice"] is None or v["voice"] < 0.75
        elif fraud == "photo":
            first = photos[v["in_photo"]][0]
            assert first != o["order_id"]
            assert d.visits[first]["in_at"] < v["in_at"] - 7000
        elif fraud == "backfill":
            assert v["posted_out"] - v["out_at"] >= 15 * 60
        elif fraud in ("no_show", "schedule_overlap"):
            assert not v["in"]
        elif fraud == "no_checkout":
            assert v["in"] and not v["out"]
    # A caregiver's visits: no overlap, no impossible travel, except the
    # pairs made for those frauds.
    for cg, visits in per_cg.items():
        visits.sort()
        for (_, a), (_, b) in zip(visits, visits[1:]):
            va, vb = d.visits[a], d.visits[b]
            end_a = va["out_at"] if va["out"] else va["in_at"] + 240 * 60
            if by_id[b]["fraud"] == "visit_overlap":
                assert vb["in_at"] < end_a
                continue
            assert vb["in_at"] >= end_a, (a, b)
            if not va["out"]:
                continue
            dist, kmh = _speed_kmh(va["out_fix"], va["out_at"], vb["in_fix"], vb["in_at"])
            if by_id[b]["fraud"] == "travel":
                assert dist > 1100 and kmh > 100, (a, b, dist, kmh)
            else:
                assert dist <= 1000 or kmh <= 20, (a, b, dist, kmh)
    # Caregivers' schedules do not overlap, except the schedule-overlap pairs.
    sched = {}
    for o in d.orders:
        sched.setdefault(o["caregiver"], []).append((o["start"], o["start"] + o["minutes"] * 60,
                                                     o["fraud"]))
    for cg, items in sched.items():
        items.sort()
        for (s1, e1, _), (s2, _, f2) in zip(items, items[1:]):
            assert s2 >= e1 or f2 == "schedule_overlap", (cg, items)
    # Two-order frauds have their caregiver to themselves.
    for o in d.orders:
        if o["fraud"] in ("travel", "visit_overlap", "schedule_overlap", PARTNER):
            assert len(sched[o["caregiver"]]) == 2
    # An uncertified caregiver has one order, of a service that needs the
    # certificate; the third visit of a long day takes it over 600 minutes.
    certified = {c["caregiver_id"]: c["certified"] for c in d.reference
                 if c["type"] == "caregiver"}
    assert sum(not v for v in certified.values()) == counts["uncertified"]
    for o in d.orders:
        if o["fraud"] == "uncertified":
            assert not certified[o["caregiver"]] and len(sched[o["caregiver"]]) == 1
            assert o["service_type"] in ("bathing", "medication")
        elif o["fraud"] == "long_day":
            day = [d.visits[x["order_id"]] for x in d.orders if x["caregiver"] == o["caregiver"]]
            assert len(day) == 3
            minutes = sum(v["out_at"] - v["in_at"] for v in day) / 60
            assert minutes > 600 and all(v["out_at"] - v["in_at"] <= 240 * 60 for v in day)
            assert d.visits[o["order_id"]]["in_at"] == max(v["in_at"] for v in day)
        else:
            assert certified[o["caregiver"]], o
    # A person registered twice: at two providers, booked over each other.
    person = {c["caregiver_id"]: c.get("person_id") for c in d.reference
              if c["type"] == "caregiver"}
    provider = {c["caregiver_id"]: c["provider_id"] for c in d.reference
                if c["type"] == "caregiver"}
    for o in d.orders:
        if o["fraud"] != "cross_provider":
            continue
        twins = [cg for cg, p in person.items() if p and p == person[o["caregiver"]]]
        assert len(twins) == 2 and provider[twins[0]] != provider[twins[1]]
        other = [x for x in d.orders if x["caregiver"] in twins and x is not o]
        assert len(other) == 1 and other[0]["start"] < o["start"] < other[0]["start"] + 3600
        assert not d.visits[o["order_id"]]["in"]


def test_timeline_posts_in_time_order_with_backfills_late():
    d = District(seed=2, streets=2, communities=10, elders=300, start="2024-05-01", days=10,
                 rates={"backfill": 0.05})
    times = [t for t, _ in d.timeline]
    assert times == sorted(times)
    late = [body for t, body in d.timeline if body["type"] == "check-out"
            and t > histcsv.parse_time(body["at"], None)]
    assert len(late) == d.counts()["backfill"]
    # Every back-filled check-out comes after an event at least 15 min later
    # than its own time (ingest's stream clock then shows the delay).
    clock = 0
    for _, body in d.timeline:
        if body["type"] in ("check-in", "check-out"):
            at = histcsv.parse_time(body["at"], None)
            if body in late:
                assert clock - at >= 15 * 60 - 1
            clock = max(clock, at)
    assert d.closing[-1]["at"] > d.timeline[-1][1].get("at", "")


# ---- the export ---------------------------------------------------------------

def _small(seed=4):
    return District(seed=seed, streets=2, communities=8, elders=120, start="2024-05-06", days=3)


@pytest.mark.parametrize("encoding,found", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                            ("gb18030", "gb18030")])
def test_encoding_is_detected(tmp_path, encoding, found):
    d = _small()
    path = str(tmp_path / "export.csv")
    histcsv.write_export(d, path, encoding, "zh")
    export = histcsv.Export(path)
    assert export.encoding == found
    assert export.problems == []
    assert [r.f["order_id"] for r in export.rows] == [r["order_id"] for r in histcsv.export_rows(d)]
    if encoding == "gb18030":
        with open(path, "rb") as f:
            raw = f.read()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert "工单编号".encode("gb18030") in raw


def test_export_reads_back_what_the_district_holds(tmp_path):
    d = _small()
    path = str(tmp_path / "export.csv")
    histcsv.write_export(d, path, "gb18030", "zh")
    rows = {r.f["order_id"]: r.f for r in histcsv.Export(path).rows}
    for o in d.orders:
        v = d.visits[o["order_id"]]
        f = rows[o["order_id"]]
        assert f["scheduled_start"] == o["start"] and f["scheduled_minutes"] == o["minutes"]
        assert f["check_in_at"] == (v["in_at"] if v["in"] else None)
        assert f["check_out_at"] == (v["out_at"] if v["in"] and v["out"] else None)
        assert f["face_match"] == (v["face"] if v["in"] else None)
        body = d.elder_body(d.elders[o["elder"]])
        assert (f["home_lat"], f["home_lon"], f["home_crs"]) == (
            body["home"]["lat"], body["home"]["lon"], body["home"]["crs"])


def test_broken_rows_are_reported_with_their_lines(tmp_path):
    d = _small()
    path = str(tmp_path / "export.csv")
    marks = histcsv.write_export(d, path, "gb18030", "zh", broken=5)
    export = histcsv.Export(path)
    assert [line for line, _ in export.problems] == [line for line, _, _ in marks]
    assert len(export.rows) == len(d.orders) and export.total == len(d.orders) + 5
    kinds = {kind: msg for (_, msg), (_, kind, _) in zip(export.problems, marks)}
    assert "预约开始时间" in kinds["bad_time"] and "not a time" in kinds["bad_time"]
    assert kinds["missing_field"].startswith("elder_id: missing")
    assert "not a number" in kinds["bad_number"]
    assert kinds["column_count"] == "7 columns, the header has 29"
    assert "out of range" in kinds["out_of_range"]


def _write(path, text, encoding="utf-8"):
    with open(path, "wb") as f:
        f.write(text.encode(encoding))


HEADER = ",".join(histcsv.COLUMNS)


def _line(**cells):
    row = dict.fromkeys(histcsv.COLUMNS, "")
    row.update(order_id="O1", provider_id="P1", caregiver_id="CG1", elder_id="E1",
               street_id="S01", community_id="C01", home_lat="41.3", home_lon="123.7",
               home_crs="GCJ02", scheduled_start="2024-05-06 09:00", scheduled_minutes="60")
    row.update(cells)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([row[c] for c in histcsv.COLUMNS])
    return buf.getvalue()[:-2]


def test_each_kind_of_malformed_row(tmp_path):
    lines = [HEADER,
             _line(order_id="A1"),
             _line(order_id="A2", check_in_at="2024-05-06T09:01:00+08:00", check_in_lat=""),
             _line(order_id="A3", face_match="1.5"),
             _line(order_id="A1"),
             _line(order_id="A4", check_out_at="2024-05-06 10:00", check_out_lat="41.3",
                   check_out_lon="123.7"),
             _line(order_id="A5", home_crs="UTM"),
             _line(order_id="A 6"),
             "",
             _line(order_id="A7", service_type="bathing\nand meal",
                   scheduled_start="2024/5/6 9:00:30"),
             _line(order_id="A8", scheduled_minutes="sixty"),
             _line(order_id="A9", check_in_photo_sha256="abc"),
             _line(order_id="A10", evidence_at="2024-05-07 09:00")]
    path = str(tmp_path / "x.csv")
    _write(path, "\r\n".join(lines) + "\r\n")
    export = histcsv.Export(path)
    assert export.encoding == "utf-8"
    problems = dict(export.problems)
    assert problems == {
        3: "check_in_lat: missing",
        4: "face_match: 1.5 is out of range [0, 1]",
        5: "order_id: A1 repeats an earlier row",
        6: "check_in_at: missing (the row has a check-out)",
        7: "home_crs: unknown coordinate system 'UTM' (WGS84, GCJ02, BD09)",
        8: "order_id: not an id (1-64 of A-Z a-z 0-9 _ . : -): 'A 6'",
        12: "scheduled_minutes: not a number: 'sixty'",
        13: "check_in_photo_sha256: not a SHA-256 hex digest",
        14: "watermark_photo_sha256: missing or not a SHA-256 hex digest (the row has evidence)",
    }
    good = {r.f["order_id"]: r for r in export.rows}
    assert sorted(good) == ["A1", "A7"]
    # A quoted cell over two lines: the row starts on line 10, the next on 12.
    assert good["A7"].line == 10
    assert good["A7"].f["scheduled_start"] == histcsv.parse_time("2024-05-06T09:00:30+08:00", None)


def test_column_mapping_from_yaml_and_options(tmp_path):
    headers = {c: "col_%d" % i for i, c in enumerate(histcsv.COLUMNS)}
    headers["order_id"] = "单号"
    text = ",".join(headers[c] for c in histcsv.COLUMNS) + "\n" + _line(
        order_id="M1", scheduled_start="2024-05-06 09:00") + "\n"
    path = str(tmp_path / "m.csv")
    _write(path, text, "gb18030")
    # Without a mapping the header has none of carewatch's columns.
    with pytest.raises(ValueError, match="header has no column order_id"):
        histcsv.Export(path)
    mapping = str(tmp_path / "map.yaml")
    with open(mapping, "w", encoding="utf-8") as f:
        f.write("utc_offset: \"+00:00\"\ncolumns:\n" + "".join(
            "  %s: %s\n" % (c, h) for c, h in headers.items() if c != "scheduled_start"))
        f.write("  scheduled_start: wrong\n")
    with pytest.raises(ValueError, match="header has no column wrong"):
        histcsv.Export(path, mapping)
    export = histcsv.Export(path, mapping, ["scheduled_start=" + headers["scheduled_start"]])
    assert export.encoding == "gb18030" and export.problems == []
    (row,) = export.rows
    assert row.f["order_id"] == "M1"
    # utc_offset +00:00: local 09:00 is 09:00 UTC.
    assert row.f["scheduled_start"] == histcsv.parse_time("2024-05-06T09:00:00Z", None)
    with pytest.raises(ValueError, match="unknown column"):
        histcsv.Mapping.load(None, ["no_such=x"])
    with pytest.raises(ValueError, match="column=header"):
        histcsv.Mapping.load(None, ["order_id"])


def test_import_registers_historical_contracts_with_accounts(tmp_path):
    d = _small()
    path = str(tmp_path / "export.csv")
    histcsv.write_export(d, path, "utf-8", "en")
    export = histcsv.Export(path)
    providers = sorted({r.f["provider_id"] for r in export.rows})
    plan = importer.Import(export, treasury_account="GK-0301",
                           provider_accounts={providers[0]: "6222 0001"})
    contracts = [r for r in plan.reference if r["type"] == "contract"]
    assert contracts and all(c["historical"] is True for c in contracts)
    assert all(c["treasury_account"] == "GK-0301" for c in contracts)
    assert {c["provider_id"] for c in contracts if "provider_account" in c} == {providers[0]}
    assert all(c["provider_account"] == "6222 0001" for c in contracts if "provider_account" in c)
    # The closing visit's caregiver: a provider of its own, under no contract.
    closing_cg = [r for r in plan.closing if r["type"] == "caregiver"][0]
    assert closing_cg["provider_id"].startswith("IMPORT-")
    assert closing_cg["provider_id"] not in providers
    # No accounts: none on the contracts.
    plain = importer.Import(export)
    assert not [c for c in plain.reference if c["type"] == "contract" and
                ("treasury_account" in c or "provider_account" in c)]
    with pytest.raises(ValueError, match="does not have"):
        importer.Import(export, provider_accounts={"NOPE": "1"})
    assert importer.provider_accounts(["P1=6222 01"]) == {"P1": "6222 01"}
    for bad in (["P1"], ["=1"], ["P1="], ["P1=国库"], ["P1=" + "9" * 65]):
        with pytest.raises(ValueError):
            importer.provider_accounts(bad)
    with pytest.raises(ValueError):
        importer.check_account("a\tb", "--treasury-account")
    # A bad account is a bad option: exit status 2 before anything is posted.
    args = importer.parse_args([path, "--treasury-account", "国库", "--ingest",
                                "http://127.0.0.1:9"])
    assert importer.run_import(args, out=io.StringIO(), log=io.StringIO()).status == 2


def test_report_counts_ratio_and_clawback():
    orders = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P2", "f": "P2"}
    finals = {
        "a": {"status": "VALID", "reasons": ["VOICE_UNCONFIRMED"]},
        "b": {"status": "INVALID", "reasons": ["SHORT_DURATION", "EVIDENCE_EXPIRED"]},
        "c": {"status": "INVALID", "reasons": ["NO_SHOW"]},
        "d": {"status": "INVALID", "reasons": ["VISIT_OVERLAP", "FROZEN_CAREGIVER"]},
        "e": {"status": "VALID", "reasons": []},
    }
    columns, rows = report.provider_report(orders, finals, 18000)
    p1, p2, total = rows
    assert (p1["provider_id"], p1["orders"], p1["valid"], p1["invalid"], p1["pending"]) == (
        "P1", 3, 1, 2, 0)
    assert (p1["SHORT_DURATION"], p1["EVIDENCE_EXPIRED"], p1["NO_SHOW"],
            p1["VOICE_UNCONFIRMED"]) == (1, 1, 1, 0)
    assert p1["invalid_ratio"] == "0.6667" and p1["clawback_yuan"] == "360.00"
    assert (p2["orders"], p2["valid"], p2["invalid"], p2["pending"]) == (3, 1, 1, 1)
    assert p2["invalid_ratio"] == "0.5000" and p2["clawback_cents"] == 18000
    assert total["provider_id"] == "TOTAL" and total["invalid"] == 3
    assert total["clawback_yuan"] == "540.00" and total["invalid_ratio"] == "0.6000"
    assert report.ratio(1, 8) == "0.1250" and report.ratio(1, 16) == "0.0625"
    assert report.ratio(1, 32) == "0.0313"  # 0.03125 rounds half up
    assert columns[-3:] == ["invalid_ratio", "clawback_cents", "clawback_yuan"]


def test_quality_counts_catches_misses_and_false_alarms():
    truth = [
        {"order_id": "h1", "fraud": "honest", "rules": "", "may_also": "", "status": "VALID",
         "import_rules": "", "import_status": "VALID"},
        {"order_id": "h2", "fraud": "honest", "rules": "", "may_also": "", "status": "VALID",
         "import_rules": "", "import_status": "VALID"},
        {"order_id": "s1", "fraud": "short", "rules": "SHORT_DURATION", "may_also": "",
         "status": "INVALID", "import_rules": "SHORT_DURATION", "import_status": "INVALID"},
        {"order_id": "s2", "fraud": "short", "rules": "SHORT_DURATION", "may_also": "",
         "status": "INVALID", "import_rules": "SHORT_DURATION", "import_status": "INVALID"},
        {"order_id": "b1", "fraud": "backfill", "rules": "LATE_SUBMISSION", "may_also": "",
         "status": "INVALID", "import_rules": "", "import_status": "VALID"},
        {"order_id": "r1", "fraud": "voice", "rules": "VOICE_UNCONFIRMED", "may_also": "",
         "status": "INVALID", "import_rules": "VOICE_UNCONFIRMED", "import_status": "INVALID",
         "evidence": "reused"},
        {"order_id": "r2", "fraud": "voice", "rules": "VOICE_UNCONFIRMED", "may_also": "",
         "status": "INVALID", "import_rules": "VOICE_UNCONFIRMED", "import_status": "INVALID",
         "evidence": "reused"},
    ]
    finals = {"h1": {"status": "VALID", "reasons": []},
              "h2": {"status": "VALID", "reasons": ["GEO_DISTANCE"]},
              "s1": {"status": "INVALID", "reasons": ["SHORT_DURATION", "EVIDENCE_EXPIRED"]},
              "s2": {"status": "VALID", "reasons": []},
              "b1": {"status": "VALID", "reasons": []},
              "r1": {"status": "INVALID",
                     "reasons": ["EVIDENCE_EXPIRED", "EVIDENCE_REUSE", "VOICE_UNCONFIRMED"]},
              "r2": {"status": "INVALID", "reasons": ["EVIDENCE_EXPIRED", "VOICE_UNCONFIRMED"]}}
    r = quality.evaluate(truth, finals, "feed")
    assert r["types"]["short"] == {"injected": 2, "caught": 1, "missed": 1, "not_final": 0,
                                   "false_alarms": 0}
    assert r["types"]["honest"]["false_alarms"] == 1
    assert r["types"]["backfill"]["missed"] == 1
    # The reused evidence is its own row: r2's reasons lack EVIDENCE_REUSE.
    assert r["types"]["voice"]["caught"] == 2 and not r["extra"]
    assert (r["types"]["evidence_reuse"]["injected"], r["types"]["evidence_reuse"]["caught"],
            r["types"]["evidence_reuse"]["missed"]) == (2, 1, 1)
    assert "missed: r2 (evidence_reuse)" in quality.format_result(r)
    assert not quality.ok(r)
    r = quality.evaluate(truth, finals, "import")
    assert r["types"]["backfill"]["caught"] == 1
    assert "missed: s2 (short)" in quality.format_result(r)


# ---- the real stack: the commands of docs/import.md ----------------------------------

def doc_blocks():
    with open(os.path.join(REPO, "docs", "import.md"), encoding="utf-8") as f:
        text = f.read()
    head, live = text.split("## Feeding a simulated district live", 1)
    blocks = lambda t: re.findall(r"```sh\n(.*?)```", t, re.S)  # noqa: E731
    return blocks(head), blocks(live)


class DocKeys:
    """The keys deploy/local/keys makes, as the services' auth entries."""

    def __init__(self, var):
        r = subprocess.run([os.path.join(REPO, "deploy", "local", "keys")], capture_output=True,
                           text=True, check=True, env=dict(os.environ, CAREWATCH_VAR=var))
        values = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        self.importer = values["CW_IMPORTER_KEY"]
        self.entries = values["CAREWATCH_AUTH_KEYS"].split(",")

    def config_entries(self):
        return self.entries


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server):
    """ingest twice (import settings: no LATE_SUBMISSION; live settings),
    the three checkers (geo-validator at the historical 50 m) and the
    ledger-writer, with the keys deploy/local/keys makes."""
    work = tmp_path_factory.mktemp("simstack")
    var = str(work / "var")
    keys = DocKeys(var)
    run = uuid.uuid4().hex[:8]
    started = []
    try:
        imp = Ingest(str(work / "ingest-import"), redis_server.port, keys,
                     extra="rules:\n  late_submission_enabled: false\n")
        started.append(imp)
        live = Ingest(str(work / "ingest-live"), redis_server.port, keys)
        started.append(live)
        for name, extra in (("geo-validator", "rules:\n  geo_distance_m: 50\n"),
                            ("duration-timer", ""), ("overlap-detector", "")):
            port = free_port()
            svc = Service(name, checker_config(name, port, redis_server.port,
                                               "test-sim-%s-%s" % (run, name), 1440, extra),
                          str(work / name))
            svc.ready_url = "http://127.0.0.1:%d/readyz" % port
            started.append(svc)
        signing, _ = make_key(str(work))
        writer = LedgerWriter(str(work / "writer"), redis_server.port, "test-sim-ledger-" + run,
                              str(work / "ledger"), signing)
        started.append(writer)
        imp.wait_ready("http://127.0.0.1:%d/readyz" % imp.admin_port)
        live.wait_ready("http://127.0.0.1:%d/readyz" % live.admin_port)
        for svc in started[2:]:
            svc.wait_ready(svc.ready_url)
        yield {"import": imp, "live": live, "var": var, "keys": keys}
    finally:
        for svc in started:
            svc.stop()


def bash(script, env, timeout=600):
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _expected_report(truth):
    """The report the ground truth implies, per provider (import mode)."""
    out = {}
    for t in truth:
        row = out.setdefault(t["provider_id"], {"orders": 0, "valid": 0, "invalid": 0,
                                                "reasons": {}, "frozen_max": 0})
        row["orders"] += 1
        if t["import_status"] == "VALID":
            row["valid"] += 1
            continue
        row["invalid"] += 1
        rules = [r for r in t["import_rules"].split(";") if r]
        for r in rules:
            row["reasons"][r] = row["reasons"].get(r, 0) + 1
        if "FROZEN_CAREGIVER" in t["may_also"]:
            row["frozen_max"] += 1
        # Never visited: NO_SHOW decides, no evidence window to expire.
        if not RED & set(rules) and t["fraud"] not in ("no_show", "schedule_overlap",
                                                       "hospital_stay", "cross_provider",
                                                       "cancelled", "late_cancel"):
            row["reasons"]["EVIDENCE_EXPIRED"] = row["reasons"].get("EVIDENCE_EXPIRED", 0) + 1
            # Its evidence was another order's: named beside the expiry.
            if t["evidence"] == "reused":
                row["reasons"]["EVIDENCE_REUSE"] = row["reasons"].get("EVIDENCE_REUSE", 0) + 1
    return out


def _assert_historical_payments(workdir, contract_prefix, first_day, report_rows, treasury):
    """The import's contracts are historical on ref.contracts, and a payment
    run over their days (live mode: the wall clock is past every settlement
    instant) prepays nothing, publishes no statement for them and claws back
    per provider what the import's report says, into the treasury."""
    contracts = [r["value"] for r in read_topics(KAFKA_BROKERS, ["ref.contracts"])
                 if r["name"] == "Contract" and
                 r["value"]["contract_id"].startswith(contract_prefix)]
    assert contracts, "the import registered no contract"
    assert all(c["historical"] and c["treasury_account"] == treasury and
               c["provider_account"] is None for c in contracts), contracts
    config = os.path.join(workdir, "payment-scheduler.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write("kafka:\n  brokers: %s\nadmin:\n  bind: 127.0.0.1\n  port: %d\n"
                "time:\n  mode: live\n" % (KAFKA_BROKERS, free_port()))
    last_day = datetime.date.fromisoformat(first_day) + datetime.timedelta(days=2)
    period = "%s..%s" % (first_day, last_day)
    _, instructions, statements = batch_run(config, period, os.path.join(workdir, "payments"))
    ours = [i for i in instructions if i["contract_id"].startswith(contract_prefix)]
    assert {i["kind"] for i in ours} <= {"CLAWBACK"}, ours
    assert all((i["payer_account"], i["payee_account"]) == ("", treasury) for i in ours), ours
    assert not [s for s in statements if s["contract_id"].startswith(contract_prefix)]
    clawed = {}
    for i in ours:
        clawed[i["provider_id"]] = clawed.get(i["provider_id"], 0) + int(i["amount_cents"])
    owed = {r["provider_id"]: int(r["clawback_cents"]) for r in report_rows
            if r["provider_id"] != report.TOTAL and int(r["clawback_cents"])}
    assert clawed == owed, (clawed, owed)


def test_docs_import_and_live_feed_end_to_end(stack, tmp_path):
    import_day, live_day = allocate_day(), allocate_day()
    first, live_blocks = doc_blocks()
    assert len(first) == 4 and len(live_blocks) == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    env.update(CAREWATCH_VAR=stack["var"], CW_INGEST=stack["import"].url,
               KAFKA_BROKERS=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    # The documented dates moved to days of this test's own, and ids of its
    # own: the broker keeps every earlier district (the main job's among them).
    unique = "T%s-" % uuid.uuid4().hex[:8]
    script = ("\n".join(first).replace("2024-06-03", import_day)
              .replace("build/services/cli/carewatch", CLI)
              .replace("simulate --seed", "simulate --prefix %sI- --seed" % unique)
              + '\necho "SIM=$SIM"\n')
    r = bash(script, env)
    out = r.stdout
    print(out)  # the import's report and detection quality, for the log
    assert r.returncode == 0, out + r.stderr
    sim = re.search(r"^SIM=(.*)$", out, re.M).group(1)
    assert re.search(r"export\.csv: 304 rows \(gb18030\), 300 good, 4 malformed", out), out
    with open(os.path.join(sim, "broken.csv"), encoding="utf-8") as f:
        broken = [int(row["line"]) for row in csv.DictReader(f)]
    assert len(broken) == 4
    for line in broken:
        assert re.search(r"^line %d: " % line, out, re.M), out
    with open(os.path.join(sim, "problems.csv"), encoding="utf-8") as f:
        assert [int(row["line"]) for row in csv.DictReader(f)] == broken  # nothing refused

    truth = quality.read_truth(os.path.join(sim, "truth.csv"))
    expected = _expected_report(truth)
    got = {row["provider_id"]: row for row in report.read_csv(os.path.join(sim, "report.csv"))}
    assert set(got) == set(expected) | {"TOTAL"}
    for provider, want in expected.items():
        row = got[provider]
        assert (int(row["orders"]), int(row["valid"]), int(row["invalid"]), int(row["pending"])) \
            == (want["orders"], want["valid"], want["invalid"], 0), (provider, row, want)
        for reason in report.REASONS:
            n = int(row[reason])
            base = want["reasons"].get(reason, 0)
            if reason == "FROZEN_CAREGIVER":
                assert base <= n <= base + want["frozen_max"], (provider, reason, row)
            else:
                assert n == base, (provider, reason, row, want)
        assert int(row["clawback_cents"]) == want["invalid"] * 18000
        assert row["clawback_yuan"] == "%d.00" % (want["invalid"] * 180)
        assert math.isclose(float(row["invalid_ratio"]), want["invalid"] / want["orders"],
                            abs_tol=0.00005)
    total = got["TOTAL"]
    assert int(total["orders"]) == len(truth) == 300
    assert int(total["invalid"]) == sum(w["invalid"] for w in expected.values())
    assert sum(w["invalid"] for w in expected.values()) > 30  # the district has its fraud
    # The quality command (--strict) passed: every fraud caught, no false alarm.
    assert re.search(r"^honest +\(none: must be VALID, no reason\) +\d+ +- +- +0 +0$", out,
                     re.M), out
    _assert_historical_payments(str(tmp_path), "K-%sI-" % unique, import_day, got.values(),
                                "GK-0301")

    # The live feed: back-filled check-outs are LATE_SUBMISSION there.
    env["CW_INGEST"] = stack["live"].url
    env["CW_IMPORTER_KEY"] = stack["keys"].importer
    script = ('export PYTHONPATH=tools\nSIM=%s\n' % sim) + live_blocks[0].replace(
        "2024-06-17", live_day).replace("build/services/cli/carewatch", CLI).replace(
        "--prefix LIVE-", "--prefix %sL-" % unique)
    r = bash(script, env)
    print(r.stdout)  # the live feed's detection quality, for the log
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"fed \d+ records: 0 refused", r.stdout), r.stdout
    assert re.search(r"^backfill +LATE_SUBMISSION +(\d+) +\1 +0 +0", r.stdout, re.M), r.stdout
    assert re.search(r"^honest .* 0 +0$", r.stdout, re.M), r.stdout
