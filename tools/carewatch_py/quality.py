"""Detection quality: what carewatch finalized (orders.finalized) against
the ground truth of a simulated district (truth.csv from carewatch
simulate). Per fraud type: injected, caught (every rule the fraud must trip
is among the order's reasons and the status is the expected one), missed;
for honest orders the false alarms (any reason, or not VALID); for the
honest half of a schedule-overlap pair the side effect of the freeze; and
in a live feed a row for the evidence that reuses another order's photo
and recording (EVIDENCE_REUSE among the reasons of the order, which stays
INVALID).

    python -m carewatch_py.quality --truth DIR/truth.csv [--brokers HOST:PORT] \\
        [--mode feed|import] [--timeout 600] [--strict]

mode feed judges a district fed live (simulate --feed), mode import one
replayed from its historical export (no LATE_SUBMISSION for history)."""

import argparse
import csv
import os
import sys

from .district import FRAUD_RULES, PARTNER
from .finalized import read_finals
from .progress import Progress


def read_truth(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _split(text):
    return [x for x in (text or "").split(";") if x]


def evaluate(truth, finals, mode="feed"):
    """truth rows, {order_id: OrderFinalized} -> {"types": {fraud: counts},
    "misses": [...], "false_alarms": [...], "extra": [...]}. counts has
    injected, caught, missed, not_final; honest has orders, clean,
    false_alarms, not_final."""
    rules_col, status_col = ("rules", "status") if mode == "feed" else ("import_rules",
                                                                          "import_status")
    types = {}
    misses, false_alarms, extra = [], [], []
    for t in truth:
        fraud = t["fraud"]
        c = types.setdefault(fraud, {"injected": 0, "caught": 0, "missed": 0, "not_final": 0,
                                     "false_alarms": 0})
        c["injected"] += 1
        final = finals.get(t["order_id"])
        if final is None:
            c["not_final"] += 1
            continue
        reasons = set(final["reasons"])
        wanted = set(_split(t[rules_col]))
        allowed = wanted | set(_split(t.get("may_also"))) | {"EVIDENCE_EXPIRED", "EVIDENCE_REUSE"}
        if not wanted:  # honest (or a fraud history cannot see)
            if reasons or final["status"] != t[status_col]:
                c["false_alarms"] += 1
                false_alarms.append((t["order_id"], fraud, final["status"], sorted(reasons)))
            else:
                c["caught"] += 1
            continue
        if wanted <= reasons and final["status"] == t[status_col]:
            c["caught"] += 1
            if reasons - allowed:
                extra.append((t["order_id"], fraud, sorted(reasons - allowed)))
        else:
            c["missed"] += 1
            misses.append((t["order_id"], fraud, final["status"], sorted(reasons),
                           t[status_col], sorted(wanted)))
    if mode == "feed":
        _evidence_reuse(truth, finals, types, misses)
    return {"types": types, "misses": misses, "false_alarms": false_alarms, "extra": extra,
            "mode": mode}


EVIDENCE_REUSE_ROW = "evidence_reuse"


def _evidence_reuse(truth, finals, types, misses):
    """Orders whose evidence shows an earlier order's photo and recording:
    caught when EVIDENCE_REUSE is among their reasons and they are INVALID."""
    for t in truth:
        if t.get("evidence") != "reused":
            continue
        c = types.setdefault(EVIDENCE_REUSE_ROW, {"injected": 0, "caught": 0, "missed": 0,
                                                  "not_final": 0, "false_alarms": 0})
        c["injected"] += 1
        final = finals.get(t["order_id"])
        if final is None:
            c["not_final"] += 1
        elif "EVIDENCE_REUSE" in final["reasons"] and final["status"] == "INVALID":
            c["caught"] += 1
        else:
            c["missed"] += 1
            misses.append((t["order_id"], EVIDENCE_REUSE_ROW, final["status"],
                           sorted(final["reasons"]), "INVALID", ["EVIDENCE_REUSE"]))


CALLBACK_ROW = "callback"


def add_callbacks(result, truth, worked):
    """The call-back row: of the phantom visits the desk drew for a
    call-back (only those can be caught: the sample is the point), how many
    the ledger corrected to INVALID; an honest order denied is a false
    alarm. Also the share drawn, for the note under the table."""
    fraud = {t["order_id"]: t["fraud"] for t in truth}
    denied, corrected = set(worked["denied"]), set(worked["corrected"])
    phantoms = [o for o, f in fraud.items() if f == "phantom"]
    c = {"injected": len(denied), "caught": len(denied & corrected),
         "missed": len(denied - corrected), "not_final": 0,
         "false_alarms": sum(1 for o in denied if fraud.get(o) != "phantom")}
    result["types"][CALLBACK_ROW] = c
    for o in sorted(denied - corrected):
        result["misses"].append((o, CALLBACK_ROW, "VALID", [], "INVALID", ["CALLBACK_DENIED"]))
    result["callbacks"] = {"drawn": worked["drawn"], "phantoms": len(phantoms),
                           "phantoms_drawn": len(denied), "valid": sum(
                               1 for t in truth if t["status"] == "VALID")}


def ok(result):
    """No missed fraud, no false alarm, every order final."""
    return (not result["misses"] and not result["false_alarms"] and
            all(c["not_final"] == 0 for c in result["types"].values()))


def format_result(result, limit=20):
    rules_idx = 0 if result["mode"] == "feed" else 1
    lines = ["%-17s %-36s %8s %7s %7s %9s %12s" % ("fraud", "rules", "injected", "caught",
                                                  "missed", "not final", "false alarms")]
    order = ["honest"] + list(FRAUD_RULES) + [PARTNER, EVIDENCE_REUSE_ROW, CALLBACK_ROW]
    for fraud in order + sorted(set(result["types"]) - set(order)):
        c = result["types"].get(fraud)
        if c is None:
            continue
        if fraud == "honest":
            rules = "(none: must be VALID, no reason)"
        elif fraud == PARTNER:
            rules = "FROZEN_CAREGIVER (side effect)"
        elif fraud == EVIDENCE_REUSE_ROW:
            rules = "EVIDENCE_REUSE (evidence of another)"
        elif fraud == CALLBACK_ROW:
            rules = "CALLBACK_DENIED (phantoms called back)"
        elif fraud == "phantom":
            rules = "(none: only a call-back sees it)"
        else:
            rules = ",".join(FRAUD_RULES[fraud][rules_idx]) or "(none in history)"
        judged = fraud in (PARTNER, EVIDENCE_REUSE_ROW, CALLBACK_ROW) or (
            fraud in FRAUD_RULES and FRAUD_RULES[fraud][rules_idx])
        if not judged:
            lines.append("%-17s %-36s %8d %7s %7s %9d %12d" % (fraud, rules, c["injected"], "-",
                                                             "-", c["not_final"],
                                                             c["false_alarms"]))
        else:
            lines.append("%-17s %-36s %8d %7d %7d %9d %12s" % (fraud, rules, c["injected"],
                                                             c["caught"], c["missed"],
                                                             c["not_final"], "-"))
    cb = result.get("callbacks")
    if cb:
        lines.append("call-backs: %d orders drawn of %d valid; %d of %d phantom visits drawn "
                     "and denied (the others passed as VALID: only a call-back sees them)"
                     % (cb["drawn"], cb["valid"], cb["phantoms_drawn"], cb["phantoms"]))
    for oid, fraud, status, reasons, want_status, wanted in result["misses"][:limit]:
        lines.append("missed: %s (%s) %s %s, expected %s with %s"
                     % (oid, fraud, status, ",".join(reasons) or "-", want_status,
                        ",".join(wanted)))
    for oid, fraud, status, reasons in result["false_alarms"][:limit]:
        lines.append("false alarm: %s (%s) %s %s" % (oid, fraud, status, ",".join(reasons) or "-"))
    for oid, fraud, reasons in result["extra"][:limit]:
        lines.append("also flagged: %s (%s) %s" % (oid, fraud, ",".join(reasons)))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="carewatch quality", description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, help="truth.csv written by carewatch simulate")
    ap.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"),
                    help="Kafka brokers (default $KAFKA_BROKERS or 127.0.0.1:9092)")
    ap.add_argument("--mode", choices=("feed", "import"), default="feed")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds to wait for every order to be finalized (default 600)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 on any miss, false alarm or order not final")
    args = ap.parse_args(argv)
    truth = read_truth(args.truth)
    progress = Progress(len(truth), "finalized", "orders")
    finals = read_finals(args.brokers, [t["order_id"] for t in truth], args.timeout, progress)
    progress.close()
    result = evaluate(truth, finals, args.mode)
    print(format_result(result))
    return 1 if args.strict and not ok(result) else 0


if __name__ == "__main__":
    sys.exit(main())
