"""A scripted district day: reference data, orders and visit events with one
honest visit and one of each fraud pattern the rules catch. Used by the
main job and by the integration tests, so both tell the same story.

    day = Day(prefix="T1-", date="2024-06-03")
    day.elders, day.caregivers, day.contracts, day.orders
    day.events         (kind, body) pairs in posting order: the day's check-ins
                       and check-outs by time, the back-filled visit last
    day.closing_order, day.closing
                       an order and check-in two days later whose time moves
                       the watermark past every timer of the day
    day.after_freeze   a check-in of the caregiver frozen for VISIT_OVERLAP,
                       posted after the closing visit
    day.evidence       evidence for three questionable orders: O-VOICE's within
                       its 72 h window, O-SHORT's after it, O-FOGGY's in time
                       but with O-VOICE's photo and recording (EVIDENCE_REUSE)
    day.week_later_order, day.week_later
                       an honest visit a week later, past every evidence
                       deadline of the day and the closing visit
    day.last_order, day.last
                       a visit a day after that, which lets the week-later
                       visit be finalized (its finalized_at then moves the
                       payment clock past the day's T+3 statement)
    day.month_close_order, day.month_close
                       a visit on the 5th of the next month (or 27 days after
                       the day, if later) and a check-in a day after it: the
                       payment clock passes the month's UNDER_SERVED cutoff
    day.expected_month()
                       {(elder:month subject, "UNDER_SERVED"): outcome} of
                       the flagged ones once the month is judged
    day.expected()     {(subject, rule): outcome} of every non-PASS verdict
    day.expected_final(after_last=False)
                       {order_id: status} once the week-later visit (or the
                       last one) is in

prefix (default none) is put in front of every provider, elder, caregiver,
contract, order and event id and every photo hash, so that tests can post the
same day many times into one stack and each day owns its providers and
contracts: no other day's order can land on its statements. (Orders and
visits are posted with the importer key, which may post for any provider.) Homes are registered in WGS-84, GCJ-02 or
BD-09 (by elder number); GPS fixes are WGS-84, as phones report them.
"""

import datetime
import hashlib

from . import coords

TZ = "+08:00"
HOME = (41.2940, 123.7660)  # Benxi, Liaoning
ELDERS = 12
CRS_BY_REMAINDER = {0: "GCJ02", 1: "WGS84", 2: "BD09"}

# order -> (elder, caregiver, provider, scheduled start "HH:MM", pattern)
ORDERS = [
    ("O-HONEST", 1, "CG01", "P01", "09:00", "honest"),
    ("O-FACE", 2, "CG02", "P01", "09:00", "face_mismatch"),
    ("O-VOICE", 5, "CG03", "P01", "09:00", "voice_unconfirmed"),
    ("O-PHOTO", 6, "CG06", "P02", "09:00", "photo_reuse"),
    ("O-ITEMS", 6, "CG06", "P02", "13:00", "service_mismatch"),
    ("O-LATE", 3, "CG01", "P01", "07:00", "late_submission"),
    ("O-AWAY", 4, "CG02", "P01", "13:00", "away_from_home"),
    ("O-DUAL", 7, "CG04", "P01", "09:00", "gps_beidou_disagree"),
    ("O-FOGGY", 3, "CG04", "P01", "13:00", "gps_inaccurate"),
    ("O-TRAVEL-A", 8, "CG05", "P01", "09:00", "honest"),
    ("O-TRAVEL-B", 12, "CG05", "P01", "10:15", "impossible_travel"),
    ("O-SHORT", 9, "CG07", "P02", "09:00", "short_visit"),
    ("O-NOSHOW", 10, "CG08", "P02", "09:00", "no_show"),
    ("O-NOOUT", 11, "CG09", "P02", "09:00", "no_checkout"),
    ("O-SCHED-A", 2, "CG11", "P02", "14:00", "honest"),
    ("O-SCHED-B", 5, "CG11", "P02", "14:30", "schedule_overlap"),
    ("O-VOVL-A", 2, "CG10", "P02", "15:00", "honest"),
    ("O-VOVL-B", 5, "CG10", "P02", "17:00", "visit_overlap"),
    ("O-NOCERT", 10, "CG12", "P02", "13:00", "uncertified"),
    # Three 211-minute visits in one day: 633 minutes, over the 600 cap at
    # the third check-out.
    ("O-LONG-1", 7, "CG13", "P01", "07:00", "long_day"),
    ("O-LONG-2", 8, "CG13", "P01", "11:00", "long_day"),
    ("O-LONG-3", 9, "CG13", "P01", "15:00", "long_day"),
    # Elder 12 goes to hospital at 14:00 (the registry says so at 12:00):
    # a check-in at 15:02 is a visit that cannot have happened; an order
    # never visited while the elder is away is cancelled, not a no-show.
    ("O-HOSP-VISIT", 12, "CG14", "P01", "15:00", "elder_away"),
    ("O-HOSP-SKIP", 12, "CG14", "P01", "17:00", "no_show"),
    # One person registered at both providers (CG15 at P01, CG16 at P02):
    # P02 books them over their P01 visit; never visited.
    ("O-XPROV-A", 3, "CG15", "P01", "16:00", "honest"),
    ("O-XPROV-B", 11, "CG16", "P02", "16:30", "no_show"),
    # Another such person (CG17, CG18): booked apart, but their P02 check-in
    # comes while their P01 visit is still open.
    ("O-XVISIT-A", 4, "CG17", "P01", "18:00", "honest"),
    ("O-XVISIT-B", 5, "CG18", "P02", "19:30", "cross_visit"),
]
# caregiver -> person_id (the hash of an ID number; here a name)
PERSONS = {"CG15": "PERSON-1", "CG16": "PERSON-1", "CG17": "PERSON-2", "CG18": "PERSON-2"}
HOSPITAL_STAY = ("E012", "14:00", 2)  # elder, from, days in hospital
CAREGIVERS = sorted({(cg, provider) for _, _, cg, provider, _, _ in ORDERS})
UNCERTIFIED_CAREGIVERS = {"CG12"}  # no care-worker certificate
# Every order is for bathing but these (a service that needs a certificate:
# rules.certified_service_types).
SERVICE_TYPES = {"O-NOCERT": "nursing"}
# Every order is scheduled for 60 minutes but these.
SCHEDULED_MINUTES = {"O-LONG-1": 210, "O-LONG-2": 210, "O-LONG-3": 210}

# Non-PASS verdicts of the day, by unprefixed subject (event id, or order id
# for order-level rules), with the allowed lateness longer than the day's
# disorder (the integration tests run that way).
EXPECTED = {
    ("O-FACE-in", "FACE_MISMATCH"): "ORANGE",
    ("O-VOICE-out", "VOICE_UNCONFIRMED"): "YELLOW",
    ("O-PHOTO-in", "PHOTO_REUSE"): "ORANGE",
    ("O-LATE-in", "LATE_SUBMISSION"): "YELLOW",
    ("O-LATE-out", "LATE_SUBMISSION"): "YELLOW",
    ("O-AWAY-in", "GEO_DISTANCE"): "YELLOW",
    ("O-AWAY-out", "GEO_DISTANCE"): "YELLOW",
    ("O-DUAL-in", "GEO_DUAL_MISMATCH"): "YELLOW",
    ("O-FOGGY-in", "GPS_INACCURATE"): "YELLOW",
    ("O-ITEMS-out", "SERVICE_MISMATCH"): "YELLOW",
    ("O-TRAVEL-B-in", "IMPOSSIBLE_TRAVEL"): "ORANGE",
    ("O-SHORT-out", "SHORT_DURATION"): "ORANGE",
    ("O-NOSHOW", "NO_SHOW"): "ORANGE",
    ("O-NOOUT-in", "NO_CHECKOUT"): "ORANGE",
    ("O-SCHED-B", "SCHEDULE_OVERLAP"): "RED",
    ("O-SCHED-B", "NO_SHOW"): "ORANGE",
    ("O-SCHED-A-in", "FROZEN_CAREGIVER"): "RED",
    ("O-SCHED-A-out", "FROZEN_CAREGIVER"): "RED",
    ("O-VOVL-B-in", "VISIT_OVERLAP"): "RED",
    # O-VOVL-B checked in while O-VOVL-A was open: CG10 is frozen from then
    # on, whatever the speed of the stream, and both check-outs come after.
    ("O-VOVL-A-out", "FROZEN_CAREGIVER"): "RED",
    ("O-VOVL-B-out", "FROZEN_CAREGIVER"): "RED",
    ("O-VOVL-C", "NO_SHOW"): "ORANGE",  # its check-in only comes after_freeze
    # CG12 has no certificate: frozen by the assignment, before its visit.
    ("O-NOCERT", "UNCERTIFIED"): "RED",
    ("O-NOCERT-in", "FROZEN_CAREGIVER"): "RED",
    ("O-NOCERT-out", "FROZEN_CAREGIVER"): "RED",
    ("O-LONG-3-out", "DAILY_HOURS_EXCEEDED"): "ORANGE",
    ("O-HOSP-VISIT-in", "ELDER_UNAVAILABLE"): "RED",
    ("O-HOSP-VISIT-out", "FROZEN_CAREGIVER"): "RED",
    ("O-HOSP-SKIP", "NO_SHOW"): "ORANGE",
    ("O-XPROV-B", "CROSS_PROVIDER_OVERLAP"): "RED",
    ("O-XPROV-B", "NO_SHOW"): "ORANGE",
    ("O-XVISIT-B-in", "CROSS_PROVIDER_OVERLAP"): "RED",
    ("O-XVISIT-B-out", "FROZEN_CAREGIVER"): "RED",
}
# Non-PASS verdicts of the day's evidence (posted with the closing visit).
EXPECTED_EVIDENCE = {
    ("O-FOGGY-evidence", "EVIDENCE_REUSE"): "ORANGE",
}
EXPECTED_AFTER_FREEZE = {
    ("O-VOVL-C-in", "FROZEN_CAREGIVER"): "RED",
    ("O-VOVL-C-in", "LATE_SUBMISSION"): "YELLOW",
    ("O-VOVL-C-in", "NO_CHECKOUT"): "ORANGE",
}
# How the day's orders are finalized once a week has passed, with the
# day's evidence posted: questionable orders without timely evidence expire.
EXPECTED_FINAL = {
    "O-HONEST": "VALID",
    "O-FACE": "INVALID",
    "O-VOICE": "VALID",       # cured by evidence within 72 h
    "O-PHOTO": "INVALID",
    "O-LATE": "INVALID",
    "O-AWAY": "INVALID",
    "O-DUAL": "INVALID",
    "O-FOGGY": "INVALID",     # a fix too imprecise to judge; its evidence is another's
    "O-ITEMS": "INVALID",     # cleaned instead of bathing, no evidence
    "O-TRAVEL-A": "VALID",
    "O-TRAVEL-B": "INVALID",
    "O-SHORT": "INVALID",     # its evidence came after the 72 h
    "O-NOSHOW": "INVALID",
    "O-NOOUT": "INVALID",
    "O-SCHED-A": "INVALID",   # visits of a frozen caregiver
    "O-SCHED-B": "INVALID",
    "O-VOVL-A": "INVALID",   # its check-out came while CG10 was frozen
    "O-VOVL-B": "INVALID",
    "O-VOVL-C": "INVALID",
    "O-NOCERT": "INVALID",    # nursing by a caregiver without a certificate
    "O-LONG-1": "VALID",
    "O-LONG-2": "VALID",
    "O-LONG-3": "INVALID",    # the day's 601st visit minute and beyond, no evidence
    "O-HOSP-VISIT": "INVALID",  # a check-in while the elder was in hospital
    "O-HOSP-SKIP": "CANCELLED",  # not visited: the elder was in hospital
    "O-XPROV-A": "VALID",
    "O-XPROV-B": "INVALID",   # the same person booked at another provider meanwhile
    "O-XVISIT-A": "VALID",
    "O-XVISIT-B": "INVALID",  # checked in while the same person's other visit was open
    "O-CLOSE": "VALID",       # the closing visit, honest
}
# ...and once the last visit (a day after the week-later one) is in.
EXPECTED_FINAL_AFTER_LAST = dict(EXPECTED_FINAL, **{"O-WEEK": "VALID"})
# Elders' monthly duty other than the default 4 visits of 60 minutes:
# elder 1 needs one visit a month and gets it; every other elder of the day
# has fewer than 4 valid visits in the month (UNDER_SERVED).
VISITS_PER_MONTH = {1: 1}
INTAKE_RULES = {"LATE_SUBMISSION", "FACE_MISMATCH", "VOICE_UNCONFIRMED", "PHOTO_REUSE",
                "SERVICE_MISMATCH"}
EXPECTED_INTAKE_FLAGS = {k: v for k, v in EXPECTED.items() if k[1] in INTAKE_RULES}


def photo(name, prefix=""):
    return hashlib.sha256((prefix + name).encode()).hexdigest()


def true_home(elder):
    """The elder's home in WGS-84."""
    if elder == 12:  # 20 km north of elder 8: too far to reach in 10 minutes
        return coords.offset_north(HOME[0] + 0.08, HOME[1] + 0.08, 20000.0)
    return (HOME[0] + elder * 0.01, HOME[1] + elder * 0.01)


def _add_minutes(hhmm, minutes):
    h, m = map(int, hhmm.split(":"))
    t = h * 60 + m + minutes
    return "%02d:%02d" % (t // 60, t % 60)


class Day:
    def __init__(self, prefix="", date="2024-05-20"):
        self.prefix = prefix
        self.date = date
        p = prefix
        d0 = datetime.date.fromisoformat(date)
        self.month = date[:7]

        self.elders = []
        for i in range(1, ELDERS + 1):
            crs = CRS_BY_REMAINDER[i % 3]
            lat, lon = coords.register(*true_home(i), crs)
            self.elders.append({
                "elder_id": "%sE%03d" % (p, i),
                "street_id": "S01" if i <= 6 else "S02",
                "community_id": "C%02d" % ((i + 1) // 2),
                "home": {"lat": round(lat, 7), "lon": round(lon, 7), "crs": crs},
                "visits_per_month": VISITS_PER_MONTH.get(i, 4),
            })
        self.caregivers = [dict({"caregiver_id": p + cg, "provider_id": p + prov,
                                 "certified": cg not in UNCERTIFIED_CAREGIVERS},
                                **({"person_id": p + PERSONS[cg]} if cg in PERSONS else {}))
                           for cg, prov in CAREGIVERS]
        period_end = (d0.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) \
            - datetime.timedelta(days=1)
        self.contracts = [
            {"contract_id": "%sK-%s-%s" % (p, prov, self.month), "provider_id": p + prov,
             "period_start": d0.replace(day=1).isoformat(), "period_end": period_end.isoformat(),
             "budget_cents": 12000000, "unit_price_cents": 4000, "prepay_ratio": 0.3,
             "invalid_deduction_cents": 18000}
            for prov in ("P01", "P02")
        ]
        self.orders = [self._order(oid, elder, cg, start)
                       for oid, elder, cg, _, start, _ in ORDERS]
        stay_elder, stay_from, stay_days = HOSPITAL_STAY
        self.elder_statuses = [{
            "elder_id": p + stay_elder, "status": "HOSPITALIZED", "from": self.at(stay_from),
            "to": self.at("00:00", (d0 + datetime.timedelta(days=stay_days)).isoformat())}]

        timed, backfilled = [], []
        for oid, elder, cg, _, start, pattern in ORDERS:
            events = self._visit(oid, elder, cg, start, pattern)
            (backfilled if pattern == "late_submission" else timed).extend(events)
        timed.sort(key=lambda e: e[1]["at"])
        self.events = timed + backfilled

        close_day = (d0 + datetime.timedelta(days=2)).isoformat()
        self.closing_order = self._order("O-CLOSE", 1, "CG01", "10:00", date=close_day)
        self.closing = [("check-in", self._fix("O-CLOSE", 1, "CG01", "in", "10:00",
                                               date=close_day)),
                        ("check-out", self._fix("O-CLOSE", 1, "CG01", "out", "11:05",
                                                date=close_day))]
        self.orders.append(self._order("O-VOVL-C", 1, "CG10", "19:00"))
        self.after_freeze = [("check-in", self._fix("O-VOVL-C", 1, "CG10", "in", "19:02"))]

        self.evidence = [self._evidence("O-VOICE", self.at("12:00")),
                         self._evidence("O-SHORT", self.at(
                             "09:33", (d0 + datetime.timedelta(days=3)).isoformat())),
                         self._evidence("O-FOGGY", self.at("18:00"), like="O-VOICE")]
        week_later = (d0 + datetime.timedelta(days=7)).isoformat()
        self.week_later_order = self._order("O-WEEK", 1, "CG01", "10:00", date=week_later)
        self.week_later = [("check-in", self._fix("O-WEEK", 1, "CG01", "in", "10:00",
                                                  date=week_later)),
                           ("check-out", self._fix("O-WEEK", 1, "CG01", "out", "11:05",
                                                   date=week_later))]
        last_day = (d0 + datetime.timedelta(days=8)).isoformat()
        self.last_order = self._order("O-LAST", 1, "CG01", "10:00", date=last_day)
        self.last = [("check-in", self._fix("O-LAST", 1, "CG01", "in", "10:00", date=last_day)),
                     ("check-out", self._fix("O-LAST", 1, "CG01", "out", "11:05",
                                             date=last_day))]
        # The month's UNDER_SERVED cutoff is 00:00 UTC+8 of the next month's
        # 4th (its first day + 3): a visit on the 5th, or later, after the
        # main job's simulated district (which ends 25 days after the day),
        # finalized once a check-in a day later is in.
        next_month = (d0.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        close = max(next_month + datetime.timedelta(days=4), d0 + datetime.timedelta(days=27))
        self.month_close_order = self._order("O-MONTH", 1, "CG01", "10:00",
                                             date=close.isoformat())
        after = (close + datetime.timedelta(days=1)).isoformat()
        self.month_close = [
            ("check-in", self._fix("O-MONTH", 1, "CG01", "in", "10:00", date=close.isoformat())),
            ("check-out", self._fix("O-MONTH", 1, "CG01", "out", "11:05",
                                    date=close.isoformat())),
            ("order", self._order("O-MONTH-NEXT", 1, "CG01", "10:00", date=after)),
            ("check-in", self._fix("O-MONTH-NEXT", 1, "CG01", "in", "10:00", date=after))]

    def at(self, hhmm, date=None):
        return "%sT%s:00%s" % (date or self.date, hhmm, TZ)

    def _order(self, oid, elder, cg, start, date=None):
        p = self.prefix
        return {"order_id": p + oid, "elder_id": "%sE%03d" % (p, elder), "caregiver_id": p + cg,
                "service_type": SERVICE_TYPES.get(oid, "bathing"),
                "scheduled_start": self.at(start, date),
                "scheduled_minutes": SCHEDULED_MINUTES.get(oid, 60)}

    def _fix(self, oid, elder, cg, which, hhmm, date=None, offset_m=0.0):
        p = self.prefix
        lat, lon = coords.offset_north(*true_home(elder), offset_m)
        body = {"event_id": "%s%s-%s" % (p, oid, which), "order_id": p + oid,
                "caregiver_id": p + cg, "at": self.at(hhmm, date),
                "gps": {"lat": round(lat, 7), "lon": round(lon, 7), "accuracy_m": 8.0},
                "photo_sha256": photo(oid, p)}
        if which == "in":
            body["face_match"] = 0.95
        else:
            body["voiceprint_match"] = 0.91
            body["items"] = [SERVICE_TYPES.get(oid, "bathing")]
        return body

    def _visit(self, oid, elder, cg, start, pattern):
        if pattern == "no_show" or pattern == "schedule_overlap":
            return []
        t_in, t_out = _add_minutes(start, 2), _add_minutes(start, 65)
        offset = 300.0 if pattern == "away_from_home" else 0.0
        if pattern == "impossible_travel":
            t_in, t_out = start, _add_minutes(start, 65)
        if pattern == "short_visit":
            t_out = _add_minutes(start, 32)
        if pattern == "visit_overlap":  # checks in while O-VOVL-A is still open
            t_in, t_out = "15:40", "16:40"
        if pattern == "cross_visit":  # O-XVISIT-A is open from 18:02 to 19:05
            t_in, t_out = "18:40", "19:45"
        if pattern == "long_day":
            t_in, t_out = _add_minutes(start, 1), _add_minutes(start, 212)
        check_in = self._fix(oid, elder, cg, "in", t_in, offset_m=offset)
        check_out = self._fix(oid, elder, cg, "out", t_out, offset_m=offset)
        if pattern == "face_mismatch":
            check_in["face_match"] = 0.62
        elif pattern == "voice_unconfirmed":
            del check_out["voiceprint_match"]
        elif pattern == "photo_reuse":
            check_in["photo_sha256"] = photo("O-HONEST", self.prefix)
        elif pattern == "service_mismatch":
            check_out["items"] = ["cleaning"]
        elif pattern == "gps_inaccurate":
            check_in["gps"]["accuracy_m"] = 120.0
        elif pattern == "gps_beidou_disagree":
            lat, lon = coords.offset_north(*true_home(elder), 500.0)
            check_in["beidou"] = {"lat": round(lat, 7), "lon": round(lon, 7)}
        if pattern == "no_checkout":
            return [("check-in", check_in)]
        return [("check-in", check_in), ("check-out", check_out)]

    def _evidence(self, oid, at, like=None):
        """Evidence for oid; like: with the photo and recording of another
        order's evidence (EVIDENCE_REUSE)."""
        p = self.prefix
        src = like or oid
        return ("evidence", {"event_id": "%s%s-evidence" % (p, oid), "order_id": p + oid,
                             "at": at, "watermark_photo_sha256": photo(src + "-watermark", p),
                             "elder_recording_sha256": photo(src + "-recording", p)})

    def month_subject(self, elder_number):
        return "%sE%03d:%s" % (self.prefix, elder_number, self.month)

    def expected_month(self):
        """{(subject, "UNDER_SERVED"): outcome} of the day's elders once their
        month is judged (PASS ones included), prefixed."""
        return {(self.month_subject(i), "UNDER_SERVED"): "PASS" if i in VISITS_PER_MONTH
                else "ORANGE" for i in range(1, ELDERS + 1)}

    def expected_final(self, after_last=False):
        """{order_id: status} of the day's orders, prefixed."""
        table = EXPECTED_FINAL_AFTER_LAST if after_last else EXPECTED_FINAL
        return {self.prefix + o: status for o, status in table.items()}

    def expected(self, after_freeze=False):
        """{(subject, rule): outcome} of the non-PASS verdicts, prefixed."""
        table = dict(EXPECTED)
        if after_freeze:
            table.update(EXPECTED_AFTER_FREEZE)
        return {(self.prefix + s, rule): outcome for (s, rule), outcome in table.items()}

    def unprefix(self, subject):
        return subject[len(self.prefix):] if subject.startswith(self.prefix) else subject
