"""carewatch import: replays a historical export (CSV) through ingest in
event time and reports per provider the orders, valid and invalid ones by
reason, the invalid ratio and the clawback owed (seed 000 section 5.2).

    python -m carewatch_py.importer EXPORT.csv --ingest URL --key-file FILE \\
        --brokers HOST:PORT [--mapping en|zh|FILE.yaml] [--column col=header ...]
        [--encoding auto|utf-8|gb18030] [--report report.csv] [--check-only]

The export is read as UTF-8 (with or without a BOM) or else GB18030, as
Chinese Excel writes it. Malformed rows are reported with their line
numbers and skipped; the others register their elders, caregivers and a
historical contract per provider and month (paid long ago: the
payment-scheduler claws back invalid orders x the deduction and pays
nothing; --treasury-account and --provider-account name the accounts the
clawback goes between), then go to POST /v1/batch in event-time
order: each order a day before its start (assignments do not move event
time), each check-in, check-out and evidence at its own time. A closing
check-in some days after the last event moves every watermark past every
deadline, so that every imported order is finalized; the report is read
back from orders.finalized. ingest should run with time.mode replay and
rules.late_submission_enabled false (receipt time means nothing for
history), geo-validator with rules.geo_distance_m 50 (seed 000: 50 m for
old orders)."""

import argparse
import datetime
import hashlib
import os
import sys
import time

from . import histcsv, report
from .district import rfc3339
from .feed import Feeder, FeedError
from .finalized import FinalizedReader
from .progress import Progress

CLOSING_HOURS = 120
SEGMENT = 5000  # records posted between two reads of orders.finalized
ACCOUNT_MAX = 64  # Contract.provider_account / treasury_account


def check_account(text, what):
    """An account as contracts carry it: 1-64 printable ASCII characters."""
    if not 1 <= len(text) <= ACCOUNT_MAX or any(not " " <= ch <= "~" for ch in text):
        raise ValueError("%s %r: an account is 1-%d printable ASCII characters"
                         % (what, text, ACCOUNT_MAX))
    return text


def provider_accounts(options):
    """{provider_id: account} from PROVIDER=ACCOUNT options."""
    out = {}
    for option in options:
        provider, sep, account = option.partition("=")
        if not sep or not provider:
            raise ValueError("--provider-account %r: PROVIDER=ACCOUNT expected" % option)
        out[provider] = check_account(account, "--provider-account of %s" % provider)
    return out


def read_key(key=None, key_file=None, name="CW_IMPORTER_KEY"):
    """The bearer key: given, from a file (the key alone, or a keys.env with
    NAME=value lines), or from the environment variable name."""
    if key:
        return key
    if key_file:
        with open(key_file, encoding="utf-8") as f:
            lines = [x.strip() for x in f if x.strip()]
        for x in lines:
            if x.startswith(name + "="):
                return x.split("=", 1)[1].strip().strip("'\"")
        if lines and "=" not in lines[0]:
            return lines[0]
        raise ValueError("%s: no key (a line with the key alone, or %s=...)" % (key_file, name))
    if os.environ.get(name):
        return os.environ[name]
    raise ValueError("no key: give --key, --key-file or set %s" % name)


def _fix(f, which):
    body = {"lat": f[which + "_lat"], "lon": f[which + "_lon"]}
    return body


def row_records(row):
    """[(time, order within the time, record)] of one export row."""
    f = row.f
    oid = f["order_id"]
    out = [(f["scheduled_start"] - 86400, 0, {
        "type": "order", "order_id": oid, "elder_id": f["elder_id"],
        "caregiver_id": f["caregiver_id"], "service_type": f["service_type"],
        "scheduled_start": rfc3339(f["scheduled_start"]),
        "scheduled_minutes": f["scheduled_minutes"]})]
    for which, kind, score, score_name in (("check_in", "check-in", "face_match", "face_match"),
                                           ("check_out", "check-out", "voiceprint_match",
                                            "voiceprint_match")):
        if f[which + "_at"] is None:
            continue
        body = {"type": kind, "event_id": "%s-%s" % (oid, "in" if which == "check_in" else "out"),
                "order_id": oid, "caregiver_id": f["caregiver_id"], "at": rfc3339(f[which + "_at"]),
                "gps": _fix(f, which)}
        if f[which + "_beidou_lat"] is not None:
            body["beidou"] = {"lat": f[which + "_beidou_lat"], "lon": f[which + "_beidou_lon"]}
        if f[score] is not None:
            body[score_name] = f[score]
        if f[which + "_photo_sha256"]:
            body["photo_sha256"] = f[which + "_photo_sha256"]
        if which == "check_out":
            body["items"] = [f["service_type"]]
        out.append((f[which + "_at"], 1, body))
    if f["evidence_at"] is not None:
        out.append((f["evidence_at"], 1, {
            "type": "evidence", "event_id": oid + "-evidence", "order_id": oid,
            "at": rfc3339(f["evidence_at"]),
            "watermark_photo_sha256": f["watermark_photo_sha256"],
            "elder_recording_sha256": f["elder_recording_sha256"]}))
    return out


def _month_bounds(day):
    first = day.replace(day=1)
    nxt = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return first, nxt - datetime.timedelta(days=1)


class Import:
    """The plan of an import: reference records, the timeline with each
    record's export line, the closing records, the imported orders."""

    def __init__(self, export, unit_price_cents=18000, deduction_cents=18000,
                 contracts=True, closing=True, closing_hours=CLOSING_HOURS, closing_prefix=None,
                 prepay_ratio=0.3, treasury_account=None, provider_accounts=None):
        self.export = export
        self.problems = list(export.problems)
        tz = histcsv._offset(export.mapping.utc_offset)
        elders, caregivers, months = {}, {}, {}
        for row in export.rows:
            f = row.f
            elders.setdefault(f["elder_id"], {
                "type": "elder", "elder_id": f["elder_id"], "street_id": f["street_id"],
                "community_id": f["community_id"],
                "home": {"lat": f["home_lat"], "lon": f["home_lon"], "crs": f["home_crs"]}})
            caregivers.setdefault(f["caregiver_id"], {
                "type": "caregiver", "caregiver_id": f["caregiver_id"],
                "provider_id": f["provider_id"], "certified": True})
            day = datetime.datetime.fromtimestamp(f["scheduled_start"], tz).date()
            key = (f["provider_id"], _month_bounds(day))
            months[key] = months.get(key, 0) + 1
        self.reference = list(elders.values()) + list(caregivers.values())
        accounts = provider_accounts or {}
        unknown = sorted(set(accounts) - {p for p, _ in months})
        if unknown:
            raise ValueError("--provider-account names providers the export does not have: %s"
                             % ", ".join(unknown))
        if contracts:
            for (provider, (first, last)), n in sorted(months.items()):
                # A past period: the payment-scheduler prepays nothing and
                # publishes no statements, only a CLAWBACK of its invalid
                # orders x the deduction (docs/design.md §6).
                contract = {
                    "type": "contract", "contract_id": "K-%s-%s" % (provider, first.strftime("%Y-%m")),
                    "provider_id": provider, "period_start": first.isoformat(),
                    "period_end": last.isoformat(), "budget_cents": n * unit_price_cents,
                    "unit_price_cents": unit_price_cents, "prepay_ratio": prepay_ratio,
                    "invalid_deduction_cents": deduction_cents, "historical": True}
                if treasury_account:
                    contract["treasury_account"] = treasury_account
                if provider in accounts:
                    contract["provider_account"] = accounts[provider]
                self.reference.append(contract)
        timed = []
        for row in export.rows:
            for t, order, rec in row_records(row):
                timed.append((t, order, rec.get("event_id", rec["order_id"]), row.line, rec))
        timed.sort(key=lambda x: x[:3])
        self.timeline = [(line, rec) for _, _, _, line, rec in timed]
        self.orders = {r.f["order_id"]: r.f["provider_id"] for r in export.rows}
        self.closing = []
        if closing and export.rows:
            with open(export.path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()[:10]
            p = closing_prefix or "IMPORT-%s-" % digest
            last = max(t for t, _, _, _, _ in timed)
            at = last + closing_hours * 3600
            first = export.rows[0].f
            # The closing visit's caregiver works for a provider of its own,
            # which no contract covers: when later data finalizes its order
            # (INVALID, never checked out), no clawback counts it.
            self.closing = [
                {"type": "elder", "elder_id": p + "E", "street_id": first["street_id"],
                 "community_id": first["community_id"],
                 "home": {"lat": first["home_lat"], "lon": first["home_lon"],
                          "crs": first["home_crs"]}},
                {"type": "caregiver", "caregiver_id": p + "CG", "provider_id": p + "P",
                 "certified": True},
                {"type": "order", "order_id": p + "O", "elder_id": p + "E", "caregiver_id": p + "CG",
                 "service_type": "closing", "scheduled_start": rfc3339(at),
                 "scheduled_minutes": 60},
                {"type": "check-in", "event_id": p + "O-in", "order_id": p + "O",
                 "caregiver_id": p + "CG", "at": rfc3339(at),
                 "gps": {"lat": first["home_lat"], "lon": first["home_lon"]}, "face_match": 1.0},
            ]

    def run(self, feeder, reader=None, log=sys.stderr):
        """Posts everything; returns the orders ingest accepted. Per-record
        refusals are added to problems with the export line."""
        feeder.progress = Progress(len(self.reference), "registered", "records", stream=log)
        refused = self._post(feeder, [(0, r) for r in self.reference], "reference data", log)
        feeder.progress.close()
        for line, rec, res in refused:
            self.problems.append((line, "%s %s refused by ingest: %s" % (
                rec["type"], rec.get("elder_id") or rec.get("caregiver_id") or rec.get("contract_id"),
                res.describe())))
        progress = Progress(len(self.timeline), "replayed", "records", stream=log)
        feeder.progress = progress
        accepted = dict(self.orders)
        for i in range(0, len(self.timeline), SEGMENT):
            segment = self.timeline[i:i + SEGMENT]
            results = feeder.post([rec for _, rec in segment])
            for (line, rec), res in zip(segment, results):
                if not res.ok:
                    self.problems.append((line, "%s of order %s refused by ingest: %s"
                                          % (rec["type"], rec["order_id"], res.describe())))
                    if rec["type"] == "order":
                        accepted.pop(rec["order_id"], None)
            if reader is not None:
                reader.poll(0.01)
        progress.close()
        feeder.progress = None
        if self.closing:
            for _, rec, res in self._post(feeder, [(0, r) for r in self.closing], "closing", log):
                raise FeedError("the closing %s was refused: %s" % (rec["type"], res.describe()))
        return accepted

    @staticmethod
    def _post(feeder, items, what, log):
        results = feeder.post([rec for _, rec in items])
        return [(line, rec, res) for (line, rec), res in zip(items, results) if not res.ok]


def print_problems(problems, log, limit=50):
    problems = sorted(problems, key=lambda p: p[0])
    for line, message in problems[:limit]:
        log.write("line %d: %s\n" % (line, message))
    if len(problems) > limit:
        log.write("... and %d more (see --problems)\n" % (len(problems) - limit))


def write_problems(path, problems):
    import csv
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["line", "problem"])
        for line, message in sorted(problems, key=lambda p: p[0]):
            w.writerow([line, message])


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="carewatch import", description=__doc__.split("\n\n")[0])
    ap.add_argument("export", help="the CSV export")
    ap.add_argument("--ingest", default=os.environ.get("CW_INGEST", "http://127.0.0.1:8080"),
                    help="ingest's URL (default $CW_INGEST or http://127.0.0.1:8080)")
    ap.add_argument("--key", help="the importer key (or --key-file, or $CW_IMPORTER_KEY)")
    ap.add_argument("--key-file", help="a file with the importer key, or a keys.env")
    ap.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"),
                    help="Kafka brokers to read orders.finalized from (default $KAFKA_BROKERS)")
    ap.add_argument("--mapping", help="en, zh or a YAML mapping file (default: the preset "
                                      "the header matches)")
    ap.add_argument("--column", action="append", default=[], metavar="COLUMN=HEADER",
                    help="the header holding a column (repeatable)")
    ap.add_argument("--encoding", help="auto (default), utf-8 or gb18030")
    ap.add_argument("--deduction-yuan", type=int, default=180,
                    help="clawback per invalid order in yuan (default 180)")
    ap.add_argument("--unit-price-yuan", type=int, default=180,
                    help="unit price of the contracts the import registers (default 180)")
    ap.add_argument("--no-contracts", action="store_true",
                    help="register no contracts (they are registered already)")
    ap.add_argument("--treasury-account", metavar="ACCOUNT",
                    help="the district treasury account (区财政国库) on the contracts the import "
                         "registers: where their clawbacks go")
    ap.add_argument("--provider-account", action="append", default=[],
                    metavar="PROVIDER=ACCOUNT",
                    help="a provider's settlement account (结算账户) on its contracts: where its "
                         "clawback comes from (repeatable)")
    ap.add_argument("--closing-hours", type=float, default=CLOSING_HOURS,
                    help="the closing check-in comes this long after the last event (default 120)")
    ap.add_argument("--no-closing", action="store_true",
                    help="post no closing check-in (later data follows)")
    ap.add_argument("--rate", type=float, help="records per second (default: as fast as possible)")
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="seconds to wait for every order to be finalized (default 1800)")
    ap.add_argument("--report", default="import-report.csv", help="the per-provider report (CSV)")
    ap.add_argument("--problems", help="every malformed or refused row (CSV: line, problem)")
    ap.add_argument("--check-only", action="store_true",
                    help="read and check the export, post nothing")
    return ap.parse_args(argv)


class Outcome:
    """What an import did: the export, the plan, the accepted orders
    {order_id: provider_id}, their finals, the report (columns, rows), the
    seconds spent posting and in all, and an exit status."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_import(args, out=sys.stdout, log=sys.stderr):
    started = time.monotonic()
    try:
        export = histcsv.Export(args.export, args.mapping, args.column, args.encoding)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        log.write("carewatch import: %s\n" % e)
        return Outcome(status=2)
    out.write("%s: %d rows (%s), %d good, %d malformed\n"
              % (args.export, export.total, export.encoding, len(export.rows),
                 len(export.problems)))
    if args.check_only:
        print_problems(export.problems, out, limit=10 ** 9)
        if args.problems:
            write_problems(args.problems, export.problems)
        return Outcome(status=0, export=export)
    print_problems(export.problems, log)
    deduction = args.deduction_yuan * 100
    try:
        if args.treasury_account is not None:
            check_account(args.treasury_account, "--treasury-account")
        plan = Import(export, unit_price_cents=args.unit_price_yuan * 100,
                      deduction_cents=deduction, contracts=not args.no_contracts,
                      closing=not args.no_closing, closing_hours=args.closing_hours,
                      treasury_account=args.treasury_account,
                      provider_accounts=provider_accounts(args.provider_account))
    except ValueError as e:
        log.write("carewatch import: %s\n" % e)
        return Outcome(status=2)
    try:
        key = read_key(args.key, args.key_file)
        reader = FinalizedReader(args.brokers, plan.orders)
    except Exception as e:  # a bad key file, brokers out of reach
        log.write("carewatch import: %s\n" % e)
        return Outcome(status=2)
    try:
        feeder = Feeder(args.ingest, key, rate=args.rate)
        try:
            accepted = plan.run(feeder, reader, log)
        except FeedError as e:
            log.write("carewatch import: %s\n" % e)
            return Outcome(status=1)
        posted = time.monotonic() - started
        refused = len(plan.problems) - len(export.problems)
        print_problems(plan.problems[len(export.problems):], log)
        out.write("posted %d records in %.1f s (%.0f/s); %d refused by ingest; waiting for %d "
                  "orders to be finalized\n" % (len(plan.timeline), posted,
                                                len(plan.timeline) / max(posted, 1e-6),
                                                refused, len(accepted)))
        reader.wanted = set(accepted)
        progress = Progress(len(accepted), "finalized", "orders", stream=log)
        finals = reader.wait(args.timeout, progress)
        progress.close()
    finally:
        reader.close()
    columns, rows = report.provider_report(accepted, finals, deduction)
    report.write_csv(args.report, columns, rows)
    if args.problems:
        write_problems(args.problems, plan.problems)
    out.write("\n" + report.format_table(columns, rows) + "\n\n")
    pending = len(accepted) - len(finals)
    total = time.monotonic() - started
    out.write("report: %s; %d rows, %d malformed, %d refused, %d orders, %d finalized, %d pending; "
              "%.1f s in all\n" % (args.report, export.total, len(export.problems), refused,
                                   len(accepted), len(finals), pending, total))
    return Outcome(status=1 if pending else 0, export=export, plan=plan, accepted=accepted,
                   finals=finals, columns=columns, rows=rows, posted_seconds=posted,
                   total_seconds=total)


def main(argv=None):
    return run_import(parse_args(argv)).status


if __name__ == "__main__":
    sys.exit(main())
