"""The historical clean-up's report (seed 000 section 5.2): per provider the
orders imported, how many were finalized VALID and INVALID, the invalid
orders by reason (an order counts once under each of its reasons), the
invalid ratio, and the clawback owed: invalid orders x the deduction per
invalid order (180 yuan in the seed). Money is integer cents; the ratio is
rounded half up to four decimals. The import registers its contracts as
historical, so a provider's clawback here is the sum of the CLAWBACK
instructions the payment-scheduler issues for them (none for a contract
without invalid orders), and nothing is prepaid or paid."""

import csv
import decimal

REASONS = ("NO_SHOW", "SHORT_DURATION", "NO_CHECKOUT", "GEO_DISTANCE", "GEO_DUAL_MISMATCH",
           "GPS_INACCURATE", "IMPOSSIBLE_TRAVEL", "SCHEDULE_OVERLAP", "VISIT_OVERLAP",
           "FROZEN_CAREGIVER", "LATE_SUBMISSION", "FACE_MISMATCH", "VOICE_UNCONFIRMED",
           "PHOTO_REUSE", "SERVICE_MISMATCH", "EVIDENCE_EXPIRED", "EVIDENCE_REUSE")
TOTAL = "TOTAL"


def yuan(cents):
    sign = "-" if cents < 0 else ""
    return "%s%d.%02d" % ((sign,) + divmod(abs(cents), 100))


def ratio(part, whole):
    if whole == 0:
        return "0.0000"
    q = decimal.Decimal(part) / decimal.Decimal(whole)
    return str(q.quantize(decimal.Decimal("0.0001"), rounding=decimal.ROUND_HALF_UP))


def provider_report(orders, finals, deduction_cents=18000):
    """orders: {order_id: provider_id} of the imported orders; finals:
    {order_id: OrderFinalized dict}. Returns (columns, rows) with a TOTAL
    row last; counts are ints, invalid_ratio a string, clawback in cents
    and yuan."""
    extra = sorted({r for f in finals.values() for r in f["reasons"]} - set(REASONS))
    reasons = list(REASONS) + extra
    columns = (["provider_id", "orders", "valid", "invalid", "pending"] + reasons +
               ["invalid_ratio", "clawback_cents", "clawback_yuan"])
    by_provider = {}
    for oid, provider in orders.items():
        row = by_provider.setdefault(provider, dict.fromkeys(columns[1:-3] , 0))
        row["orders"] += 1
        final = finals.get(oid)
        if final is None:
            row["pending"] += 1
        elif final["status"] == "VALID":
            row["valid"] += 1
        else:
            row["invalid"] += 1
            for reason in dict.fromkeys(final["reasons"]):
                row[reason] += 1
    rows = []
    total = dict.fromkeys(columns[1:-3], 0)
    for provider in sorted(by_provider):
        row = by_provider[provider]
        for k in total:
            total[k] += row[k]
        rows.append(_finish(dict(row, provider_id=provider), deduction_cents))
    rows.append(_finish(dict(total, provider_id=TOTAL), deduction_cents))
    return columns, rows


def _finish(row, deduction_cents):
    row["invalid_ratio"] = ratio(row["invalid"], row["valid"] + row["invalid"])
    row["clawback_cents"] = row["invalid"] * deduction_cents
    row["clawback_yuan"] = yuan(row["clawback_cents"])
    return row


def write_csv(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def format_table(columns, rows):
    """A text table with the reasons that occur (all-zero reason columns are
    left out; the CSV has them all)."""
    shown = [c for c in columns if c == "provider_id" or c in ("orders", "valid", "invalid",
                                                               "pending", "invalid_ratio",
                                                               "clawback_yuan")
             or (c not in ("clawback_cents",) and any(r.get(c) for r in rows))]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in shown}
    lines = ["  ".join(c.rjust(width[c]) if c != "provider_id" else c.ljust(width[c])
                       for c in shown)]
    for r in rows:
        lines.append("  ".join(str(r[c]).rjust(width[c]) if c != "provider_id"
                               else str(r[c]).ljust(width[c]) for c in shown))
    return "\n".join(lines)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
