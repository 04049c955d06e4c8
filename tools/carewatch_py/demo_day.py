"""A small scripted district day: reference data, orders and visit events
with one honest visit and one of each intake fraud pattern. Used by the
main-job demo and by the integration tests, so both tell the same story.

Every event is a (kind, body) pair in the order it is posted. The day is
2024-05-06 (UTC+8), replayed with time.mode: replay.

prefix (default none) is put in front of every elder, caregiver, contract,
order and event id and every photo, so that tests can post the same day
many times into one stack without meeting their earlier runs. Provider ids
stay P01 and P02: the local stack's provider keys are made for them."""

import hashlib

DAY = "2024-05-06"
TZ = "+08:00"
HOME = {"lat": 41.2940, "lon": 123.7660}  # Benxi, Liaoning


def at(hhmm):
    return "%sT%s:00%s" % (DAY, hhmm, TZ)


def photo(name, prefix=""):
    return hashlib.sha256((prefix + name).encode()).hexdigest()


def registry(prefix=""):
    """Streets, elders, caregivers and contracts."""
    elders = []
    for i in range(1, 9):
        elders.append({
            "elder_id": "%sE%03d" % (prefix, i),
            "street_id": "S01" if i <= 4 else "S02",
            "community_id": "C%02d" % ((i + 1) // 2),
            "home": {"lat": HOME["lat"] + i * 0.01, "lon": HOME["lon"] + i * 0.01,
                     "crs": "GCJ02" if i % 3 == 0 else "WGS84"},
        })
    caregivers = [
        {"caregiver_id": prefix + "CG01", "provider_id": "P01", "certified": True,
         "level": "senior"},
        {"caregiver_id": prefix + "CG02", "provider_id": "P01", "certified": True},
        {"caregiver_id": prefix + "CG03", "provider_id": "P02", "certified": True},
        {"caregiver_id": prefix + "CG04", "provider_id": "P02", "certified": False},
    ]
    contracts = [
        {"contract_id": "%sK-%s-2024-05" % (prefix, p), "provider_id": p, "period_start": "2024-05-01",
         "period_end": "2024-05-31", "budget_cents": 12000000, "unit_price_cents": 4000,
         "prepay_ratio": 0.3, "invalid_deduction_cents": 18000}
        for p in ("P01", "P02")
    ]
    return elders, caregivers, contracts


# order id -> (elder, caregiver, scheduled start, what the visit does)
ORDERS = [
    ("O-HONEST", "E001", "CG01", "09:00", "honest"),
    ("O-FACE", "E002", "CG02", "09:00", "face_mismatch"),
    ("O-VOICE", "E005", "CG03", "09:00", "voice_unconfirmed"),
    ("O-PHOTO", "E006", "CG04", "09:00", "photo_reuse"),
    ("O-LATE", "E003", "CG01", "07:00", "late_submission"),
]


def orders(prefix=""):
    return [{"order_id": prefix + oid, "elder_id": prefix + elder, "caregiver_id": prefix + cg,
             "service_type": "bathing", "scheduled_start": at(start), "scheduled_minutes": 60}
            for oid, elder, cg, start, _ in ORDERS]


def elder_home(elder_id):
    i = int(elder_id[1:])
    return {"lat": HOME["lat"] + i * 0.01, "lon": HOME["lon"] + i * 0.01}


def visit_events(prefix=""):
    """Check-ins and check-outs, in posting order. The back-filled visit is
    posted last, hours after it claims to have happened."""
    timed, backfilled = [], []
    for short_oid, elder, short_cg, start, pattern in ORDERS:
        oid, cg = prefix + short_oid, prefix + short_cg
        h, m = start.split(":")
        t_in, t_out = "%s:%02d" % (h, int(m) + 2), "%02d:%s" % (int(h) + 1, "05")
        gps = dict(elder_home(elder), accuracy_m=8.0)
        check_in = {"event_id": oid + "-in", "order_id": oid, "caregiver_id": cg, "at": at(t_in),
                    "gps": gps, "face_match": 0.95, "photo_sha256": photo(short_oid, prefix)}
        check_out = {"event_id": oid + "-out", "order_id": oid, "caregiver_id": cg,
                     "at": at(t_out), "gps": gps, "voiceprint_match": 0.91,
                     "photo_sha256": photo(short_oid, prefix), "items": ["bathing"]}
        if pattern == "face_mismatch":
            check_in["face_match"] = 0.62
        elif pattern == "voice_unconfirmed":
            del check_out["voiceprint_match"]
        elif pattern == "photo_reuse":
            check_in["photo_sha256"] = photo("O-HONEST", prefix)
        events = [("check-in", check_in), ("check-out", check_out)]
        (backfilled if pattern == "late_submission" else timed).extend(events)
    timed.sort(key=lambda e: e[1]["at"])
    return timed + backfilled


# What ingest's intake checks must say about the day: (event_id, rule) -> outcome,
# for the day without prefix (see expected_intake_flags).
EXPECTED_INTAKE_FLAGS = {
    ("O-FACE-in", "FACE_MISMATCH"): "ORANGE",
    ("O-VOICE-out", "VOICE_UNCONFIRMED"): "YELLOW",
    ("O-PHOTO-in", "PHOTO_REUSE"): "ORANGE",
    ("O-LATE-in", "LATE_SUBMISSION"): "YELLOW",
    ("O-LATE-out", "LATE_SUBMISSION"): "YELLOW",
}


def expected_intake_flags(prefix=""):
    return {(prefix + event_id, rule): outcome
            for (event_id, rule), outcome in EXPECTED_INTAKE_FLAGS.items()}
