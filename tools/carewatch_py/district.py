"""A simulated district: streets, communities, elders with homes registered
in WGS-84, GCJ-02 or BD-09, providers with contracts, caregivers, and a
period of orders and visits with fraud injected at chosen rates. The same
seed gives the same district, byte for byte.

    d = District(seed=7, streets=18, communities=212, elders=31750,
                 start="2024-05-01", days=31, rates={"no_show": 0.05})
    d.reference      API bodies of elders, caregivers, contracts ("type" set)
    d.timeline       orders, check-ins, check-outs and evidence with their
                     posting time, in posting order
    d.closing        an order and check-in days after the period, whose time
                     moves every watermark past every deadline of the period
    d.truth          one row per order: fraud type, the rules it must trip,
                     the status it must get (live feed and historical import)
    d.visits         per order what happened (for the historical export)

Honest visits stay well inside every threshold: fixes within 8 m of the
home, check-in at most 12 min late, visits at least the scheduled minutes,
scores of 0.90 or more, photos of their own, a caregiver's visits 2.5 h
apart within one street. Each fraud trips exactly its rules (FRAUD_RULES);
frauds that need two orders (impossible travel, overlapping visits and
schedules) get a caregiver of their own, so that the freeze a red verdict
brings touches no other visit.
"""

import bisect
import datetime
import hashlib
import math
import random

from . import coords

TZ = datetime.timezone(datetime.timedelta(hours=8))
CENTRE = (41.2940, 123.7660)  # Benxi, Liaoning
SLOTS = ((8, 0), (10, 30), (13, 30), (16, 0))  # a caregiver's visit slots, local time
SLOT_FILL = 0.75  # share of the caregivers' slots in use
CLOSING_DAYS = 5  # the closing visit: this many days after the period ends
UNIT_PRICE_CENTS = 18000  # seed 000: 180 yuan a visit
DEDUCTION_CENTS = 18000

# The reason code of the simulated cancels, and when they are received
# relative to the scheduled start.
CANCEL_REASON = "ELDER_REFUSED"
CANCEL_BEFORE_S = 2 * 3600
LATE_CANCEL_AFTER_S = 2 * 3600

# fraud type -> (rules it trips in a live feed, rules it trips in a
# historical import, rules it may also trip, may evidence cure it)
FRAUD_RULES = {
    "no_show": (("NO_SHOW",), ("NO_SHOW",), (), False),
    "short": (("SHORT_DURATION",), ("SHORT_DURATION",), (), True),
    "away": (("GEO_DISTANCE",), ("GEO_DISTANCE",), (), True),
    "dual": (("GEO_DUAL_MISMATCH",), ("GEO_DUAL_MISMATCH",), (), True),
    "travel": (("IMPOSSIBLE_TRAVEL",), ("IMPOSSIBLE_TRAVEL",), (), True),
    "visit_overlap": (("VISIT_OVERLAP",), ("VISIT_OVERLAP",), ("FROZEN_CAREGIVER",), False),
    "schedule_overlap": (("SCHEDULE_OVERLAP", "NO_SHOW"), ("SCHEDULE_OVERLAP", "NO_SHOW"), (),
                         False),
    # History has no receipt time: LATE_SUBMISSION does not apply to it.
    "backfill": (("LATE_SUBMISSION",), (), (), True),
    "photo": (("PHOTO_REUSE",), ("PHOTO_REUSE",), (), True),
    "face": (("FACE_MISMATCH",), ("FACE_MISMATCH",), (), True),
    "voice": (("VOICE_UNCONFIRMED",), ("VOICE_UNCONFIRMED",), (), True),
    "no_checkout": (("NO_CHECKOUT",), ("NO_CHECKOUT",), (), True),
    # A historical export carries no fix accuracy: GPS_INACCURATE is live only.
    "inaccurate": (("GPS_INACCURATE",), (), (), True),
    # The importer books the ordered service as done: history cannot show it.
    "mismatch": (("SERVICE_MISMATCH",), (), (), True),
    # A caregiver without a certificate assigned a service that needs one:
    # frozen by the assignment, so the visit's events are FROZEN_CAREGIVER.
    # The importer registers every caregiver as certified: history cannot
    # show it.
    "uncertified": (("UNCERTIFIED",), (), ("FROZEN_CAREGIVER",), False),
    # The third of three 211-minute visits of one caregiver's day (633 min):
    # ghost visits or a caregiver no one should let work that long.
    "long_day": (("DAILY_HOURS_EXCEEDED",), ("DAILY_HOURS_EXCEEDED",), (), True),
    # A visit while the registry says the elder is in hospital (a caregiver
    # of its own, frozen by it). An export has no hospital stays.
    "elder_away": (("ELDER_UNAVAILABLE",), (), ("FROZEN_CAREGIVER",), False),
    # Not a fraud: an order never visited while its elder is in hospital is
    # CANCELLED, not a no-show (history, without the stay, sees a no-show).
    "hospital_stay": (("ELDER_HOSPITALIZED",), ("NO_SHOW",), (), False),
    # One person registered at two providers (two caregivers sharing a
    # person_id): the second provider books them over the first one's
    # visit, and the order is never visited. An export has no person_id.
    "cross_provider": (("CROSS_PROVIDER_OVERLAP", "NO_SHOW"), ("NO_SHOW",), (), False),
    # A visit that did not happen although its records look honest (the
    # caregiver checked in and out at the door): no rule can see it, only
    # the elder on a call-back (the supervision desk's sample), whose denial
    # the street confirms and the ledger corrects to INVALID.
    "phantom": ((), (), (), False),
    # Not frauds: visit maintenance (docs/maintenance.md). A cancel received
    # before the start (the elder refused the visit) is CANCELLED, neither
    # paid nor deducted; one received after the start, never approved by
    # the street, leaves the order as it was: a no-show. History has no
    # cancels: its export shows an unvisited order.
    "cancelled": ((CANCEL_REASON,), ("NO_SHOW",), (), False),
    "late_cancel": (("NO_SHOW",), ("NO_SHOW",), (), False),
}
# Frauds whose live status is not INVALID.
LIVE_STATUS = {"hospital_stay": "CANCELLED", "cancelled": "CANCELLED"}
STAY_BEFORE_S = 2 * 3600   # a hospital stay starts this long before the order's start
STAY_AFTER_S = 20 * 3600   # and ends this long after it
# The honest order of a schedule- or visit-overlap pair: its caregiver is
# frozen when the overlapping order is assigned (or its visit checks in while
# this one is open), so this order's later events are FROZEN_CAREGIVER.
PARTNER = "overlap_partner"
PARTNER_RULES = ("FROZEN_CAREGIVER",)
FRAUD_TYPES = tuple(FRAUD_RULES)
PAIR_TYPES = ("travel", "visit_overlap", "schedule_overlap")
GROUP_TYPES = PAIR_TYPES + ("long_day", "cross_provider")
LONG_DAY_STARTS = (7 * 3600, 11 * 3600, 15 * 3600)  # local times of a long day's visits
LONG_DAY_MINUTES = 210
DEFAULT_RATES = {
    "no_show": 0.05, "short": 0.05, "away": 0.03, "dual": 0.02, "travel": 0.01,
    "visit_overlap": 0.005, "schedule_overlap": 0.005, "backfill": 0.02, "photo": 0.02,
    "face": 0.02, "voice": 0.01, "no_checkout": 0.01, "inaccurate": 0.01,
    "mismatch": 0.01, "uncertified": 0.005, "long_day": 0.005, "elder_away": 0.005,
    "hospital_stay": 0.005, "cross_provider": 0.005, "phantom": 0.02, "cancelled": 0.01,
    "late_cancel": 0.005,
    "evidence": 0.2,  # share of curable frauds whose evidence comes within 72 h
    # share of those whose evidence shows an earlier order's photo and
    # recording (EVIDENCE_REUSE: rejected, the order stays INVALID)
    "evidence_reuse": 0.1,
}
SERVICE_TYPES = ("bathing", "cleaning", "meal", "medication", "companionship")
# Of those, the ones only a certified caregiver may give (the services'
# default rules.certified_service_types holds them).
CERTIFIED_SERVICE_TYPES = ("bathing", "medication")


def parse_rates(text):
    """"no_show=0.05,short=0.1" -> dict (unknown names are an error)."""
    rates = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in DEFAULT_RATES:
            raise ValueError("unknown rate %r (known: %s)" % (name, ", ".join(DEFAULT_RATES)))
        rate = float(value)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate %s=%s is not in [0, 1]" % (name, value))
        rates[name] = rate
    return rates


def rfc3339(t):
    """Epoch seconds -> RFC 3339 in UTC+8."""
    return datetime.datetime.fromtimestamp(t, TZ).isoformat()


def _point(centre, metres, bearing):
    """The point metres from centre (lat, lon) towards bearing (radians)."""
    lat, lon = centre
    dlat = metres * math.cos(bearing) / 111195.08
    dlon = metres * math.sin(bearing) / (111195.08 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _r7(x):
    return round(x, 7)


class District:
    def __init__(self, seed=1, streets=18, communities=212, elders=31750, providers=6,
                 start="2024-05-01", days=31, rates=None, prefix="SIM-", visits_per_month=4):
        if streets < 1 or communities < streets or elders < 1 or providers < 1 or days < 1:
            raise ValueError("need streets >= 1, communities >= streets, elders >= 1, "
                             "providers >= 1, days >= 1")
        self.seed = seed
        self.prefix = prefix
        self.rates = dict(DEFAULT_RATES, **(rates or {}))
        self.rnd = random.Random(seed)
        self.first_day = datetime.date.fromisoformat(start)
        self.days = days
        self.last_day = self.first_day + datetime.timedelta(days=days - 1)
        self.n_providers = min(providers, streets)
        self._geography(streets, communities, elders)
        self._orders(visits_per_month)
        self._schedule()
        self._honest_visits()
        self._inject()
        self._build()

    # ---- the district ------------------------------------------------------

    def _geography(self, n_streets, n_communities, n_elders):
        rnd = self.rnd
        cols = max(1, int(math.ceil(math.sqrt(n_streets))))
        self.streets = []
        for i in range(n_streets):
            centre = _point(CENTRE, 7000.0 * (i // cols), 0.0)
            centre = _point(centre, 7000.0 * (i % cols), math.pi / 2)
            self.streets.append({"street_id": "S%02d" % (i + 1), "centre": centre,
                                 "provider": "%sP%02d" % (self.prefix, i % self.n_providers + 1)})
        self.communities = []
        for i in range(n_communities):
            street = i % n_streets
            centre = _point(self.streets[street]["centre"], 2000.0 * math.sqrt(rnd.random()),
                            rnd.uniform(0, 2 * math.pi))
            self.communities.append({"community_id": "C%03d" % (i + 1), "street": street,
                                     "centre": centre})
        self.elders = []
        for i in range(n_elders):
            community = rnd.randrange(n_communities)
            home = _point(self.communities[community]["centre"], 250.0 * math.sqrt(rnd.random()),
                          rnd.uniform(0, 2 * math.pi))
            crs = ("WGS84", "GCJ02", "BD09")[rnd.randrange(3)]
            self.elders.append({
                "elder_id": "%sE%05d" % (self.prefix, i + 1), "community": community,
                "street": self.communities[community]["street"], "home": home, "crs": crs,
                "minutes": 90 if rnd.random() < 0.15 else 60,
            })

    def _orders(self, visits_per_month):
        """Each elder's visits, spread evenly over the period."""
        rnd = self.rnd
        n = max(1, min(self.days, int(round(visits_per_month * self.days / 30.0))))
        step = self.days / n
        self.orders = []
        for e_idx, elder in enumerate(self.elders):
            offset = rnd.uniform(0, step)
            for k in range(n):
                self.orders.append({
                    "order_id": "%sO%07d" % (self.prefix, len(self.orders) + 1),
                    "elder": e_idx, "street": elder["street"], "day": int(offset + k * step),
                    "minutes": elder["minutes"], "service_type": rnd.choice(SERVICE_TYPES),
                    "fraud": "honest", "caregiver": None, "slot": None, "start": None,
                })

    def _day_start(self, day):
        d = self.first_day + datetime.timedelta(days=day)
        return int(datetime.datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())

    def _schedule(self):
        """Caregivers per street, enough for SLOT_FILL of their slots on the
        busiest day; each day's orders fill random (caregiver, slot) pairs."""
        rnd = self.rnd
        by_street_day = {}
        for o in self.orders:
            by_street_day.setdefault((o["street"], o["day"]), []).append(o)
        self.caregivers = []
        self.street_caregivers = []
        for s_idx, street in enumerate(self.streets):
            busiest = max([len(v) for (s, _), v in by_street_day.items() if s == s_idx] or [0])
            n = max(1, int(math.ceil(busiest / (len(SLOTS) * SLOT_FILL))))
            ids = []
            for _ in range(n):
                cg = "%sCG%05d" % (self.prefix, len(self.caregivers) + 1)
                self.caregivers.append({"caregiver_id": cg, "provider_id": street["provider"],
                                        "street": s_idx})
                ids.append(cg)
            self.street_caregivers.append(ids)
        for (s_idx, day), orders in sorted(by_street_day.items()):
            pairs = [(cg, slot) for cg in self.street_caregivers[s_idx] for slot in range(len(SLOTS))]
            rnd.shuffle(pairs)
            rnd.shuffle(orders)
            base = self._day_start(day)
            for o, (cg, slot) in zip(orders, pairs):
                h, m = SLOTS[slot]
                o["caregiver"], o["slot"] = cg, slot
                o["start"] = base + h * 3600 + m * 60
        self.orders.sort(key=lambda o: o["order_id"])

    def _fix(self, centre, max_m):
        return _point(centre, max_m * math.sqrt(self.rnd.random()),
                      self.rnd.uniform(0, 2 * math.pi))

    def _honest_visits(self):
        rnd = self.rnd
        self.visits = {}
        for o in self.orders:
            home = self.elders[o["elder"]]["home"]
            t_in = o["start"] + rnd.randint(-300, 720)
            t_out = t_in + o["minutes"] * 60 + rnd.randint(60, 600)
            p = self.prefix + str(self.seed) + ":" + o["order_id"]
            self.visits[o["order_id"]] = {
                "in_at": t_in, "out_at": t_out,
                "in_fix": self._fix(home, 8.0), "out_fix": self._fix(home, 8.0),
                "in_accuracy": 6.0, "out_accuracy": 6.0, "items": None,
                "in_beidou": self._fix(home, 5.0) if rnd.random() < 0.5 else None,
                "out_beidou": self._fix(home, 5.0) if rnd.random() < 0.5 else None,
                "face": round(rnd.uniform(0.90, 0.99), 2),
                "voice": round(rnd.uniform(0.90, 0.99), 2),
                "in_photo": hashlib.sha256((p + ":in").encode()).hexdigest(),
                "out_photo": hashlib.sha256((p + ":out").encode()).hexdigest(),
                "posted_out": None, "evidence_at": None, "evidence_like": None,
                "in": True, "out": True,
            }

    # ---- fraud -------------------------------------------------------------

    def _count(self, kind):
        return int(round(self.rates.get(kind, 0.0) * len(self.orders)))

    def _inject(self):
        rnd = self.rnd
        self.stays = []  # (posting time, elder status body)
        self.free = [o for o in self.orders]
        rnd.shuffle(self.free)
        self._taken = set()
        self._photo_sources = set()  # honest check-ins whose photo a fraud copies
        self._rogues = 0
        self._persons = 0
        for kind in PAIR_TYPES:
            self._inject_pairs(kind, self._count(kind))
        self._inject_long_days(self._count("long_day"))
        self._inject_cross_provider(self._count("cross_provider"))
        # Back-fills last: their posting time waits for an event that the
        # others must not remove.
        # The kinds added last keep the earlier kinds' draws of a seed.
        last = ("backfill", "phantom", "cancelled", "late_cancel")
        singles = [k for k in FRAUD_TYPES if k not in GROUP_TYPES + last]
        for kind in singles + list(last):
            self._inject_single(kind, self._count(kind))
        self._evidence()

    def _take(self, o, fraud):
        o["fraud"] = fraud
        self._taken.add(o["order_id"])

    def _rogue(self, street, certified=True, person_id=None):
        """A caregiver of its own for a two-order fraud (or an uncertified one,
        or one registration of a person registered twice)."""
        self._rogues += 1
        cg = "%sCGX%04d" % (self.prefix, self._rogues)
        self.caregivers.append({"caregiver_id": cg, "provider_id": self.streets[street]["provider"],
                                "street": street, "certified": certified,
                                "person_id": person_id})
        return cg

    def _inject_pairs(self, kind, count):
        """Two orders of one day and street move to a caregiver of their own."""
        by_day = {}
        for o in self.free:
            if o["order_id"] not in self._taken:
                by_day.setdefault((o["street"], o["day"]), []).append(o)
        made = 0
        for a in self.free:
            if made >= count:
                break
            if a["order_id"] in self._taken:
                continue
            partners = [b for b in by_day[(a["street"], a["day"])]
                        if b is not a and b["order_id"] not in self._taken]
            if kind == "travel":
                home = self.elders[a["elder"]]["home"]
                partners = [b for b in partners
                            if coords.distance_m(home, self.elders[b["elder"]]["home"]) >= 1200.0]
            if not partners:
                continue
            b = partners[self.rnd.randrange(len(partners))]
            self._pair(kind, a, b, self._rogue(a["street"]))
            made += 1

    def _pair(self, kind, a, b, cg):
        rnd = self.rnd
        a["caregiver"] = b["caregiver"] = cg
        a["minutes"] = b["minutes"] = 60
        s = a["start"]
        va, vb = self.visits[a["order_id"]], self.visits[b["order_id"]]
        if kind == "travel":
            # b's check-in comes seconds after a's check-out, 1.2 km or more away.
            b["start"] = s + 3600
            va["in_at"] = s + rnd.randint(0, 120)
            va["out_at"] = va["in_at"] + 61 * 60
            dist = coords.distance_m(self.elders[a["elder"]]["home"],
                                     self.elders[b["elder"]]["home"])
            vb["in_at"] = va["out_at"] + max(20, int(dist / (150 / 3.6)))
            vb["out_at"] = vb["in_at"] + 62 * 60
            self._take(a, "honest")
            self._take(b, "travel")
        elif kind == "visit_overlap":
            # b checks in a minute before a checks out: b is VISIT_OVERLAP and
            # freezes the caregiver at once, so a's check-out, a minute
            # later, is FROZEN_CAREGIVER (a is the pair's partner).
            b["start"] = s + 3600
            va["in_at"], va["out_at"] = s + 60, s + 63 * 60
            vb["in_at"], vb["out_at"] = s + 62 * 60, s + 124 * 60
            self._take(a, PARTNER)
            self._take(b, "visit_overlap")
        else:  # schedule_overlap: b is booked over a's second half and never visited
            b["start"] = s + 1800
            vb["in"] = vb["out"] = False
            self._take(a, PARTNER)
            self._take(b, "schedule_overlap")

    def _inject_cross_provider(self, count):
        """Two orders of one day in streets of different providers move to two
        caregivers of their own that are one person; the second is booked
        half an hour into the first and never visited."""
        by_day = {}
        for o in self.free:
            if o["order_id"] not in self._taken:
                by_day.setdefault(o["day"], []).append(o)
        made = 0
        for day in sorted(by_day):
            if made >= count:
                break
            orders = [o for o in by_day[day] if o["order_id"] not in self._taken]
            for a in orders:
                pa = self.streets[a["street"]]["provider"]
                b = next((x for x in orders if x is not a and x["order_id"] not in self._taken
                          and self.streets[x["street"]]["provider"] != pa), None)
                if b is None:
                    continue
                self._persons += 1
                person = "%sPX%04d" % (self.prefix, self._persons)
                a["caregiver"] = self._rogue(a["street"], person_id=person)
                b["caregiver"] = self._rogue(b["street"], person_id=person)
                a["minutes"] = b["minutes"] = 60
                b["start"] = a["start"] + 1800
                vb = self.visits[b["order_id"]]
                vb["in"] = vb["out"] = False
                self._take(a, "honest")
                self._take(b, "cross_provider")
                made += 1
                break

    def _inject_long_days(self, count):
        """Three orders of one day and street move to a caregiver of their
        own, 210 minutes each, visited 211 minutes at 07:00, 11:00 and 15:00:
        the third check-out takes the day to 633 minutes."""
        by_day = {}
        for o in self.free:
            if o["order_id"] not in self._taken:
                by_day.setdefault((o["street"], o["day"]), []).append(o)
        made = 0
        for key in sorted(by_day):
            if made >= count:
                break
            group = [o for o in by_day[key] if o["order_id"] not in self._taken][:3]
            if len(group) < 3:
                continue
            cg = self._rogue(key[0])
            base = self._day_start(key[1])
            for i, o in enumerate(group):
                o["caregiver"], o["minutes"] = cg, LONG_DAY_MINUTES
                o["start"] = base + LONG_DAY_STARTS[i]
                v = self.visits[o["order_id"]]
                v["in_at"] = o["start"] + 60
                v["out_at"] = v["in_at"] + (LONG_DAY_MINUTES + 1) * 60
                self._take(o, "long_day" if i == 2 else "honest")
            made += 1

    def _hospital_stay(self, o):
        """The registry puts o's elder in hospital around o's start, posted an
        hour before the stay begins; False when another order of the elder
        falls in the stay."""
        start, end = o["start"] - STAY_BEFORE_S, o["start"] + STAY_AFTER_S
        if any(x is not o and x["elder"] == o["elder"] and start - 86400 <= x["start"] < end
               for x in self.orders):
            return False
        self.stays.append((start - 3600, {
            "elder_id": self.elders[o["elder"]]["elder_id"], "status": "HOSPITALIZED",
            "from": rfc3339(start), "to": rfc3339(end)}))
        return True

    def _last_of_day(self):
        """Orders after which their caregiver has no other that day."""
        last = {}
        for o in self.orders:
            key = (o["caregiver"], o["day"])
            if key not in last or o["start"] > last[key]["start"]:
                last[key] = o
        return {o["order_id"] for o in last.values()}

    def _inject_single(self, kind, count):
        rnd = self.rnd
        last_of_day = self._last_of_day() if kind == "no_checkout" else None
        if kind == "backfill":
            events = sorted(v["in_at"] for v in self.visits.values() if v["in"])
            events += [v["out_at"] for v in self.visits.values() if v["out"]]
            events.sort()
            next_in = self._next_check_in()
            anchors = set()
        if kind == "photo":
            sources = sorted((self.visits[o["order_id"]]["in_at"], o["order_id"])
                             for o in self.orders if o["fraud"] == "honest")
            used_sources = self._photo_sources
        made = 0
        for o in self.free:
            if made >= count:
                break
            oid = o["order_id"]
            if oid in self._taken:
                continue
            v = self.visits[oid]
            home = self.elders[o["elder"]]["home"]
            if kind == "no_show":
                v["in"] = v["out"] = False
            elif kind == "short":
                v["out_at"] = v["in_at"] + (o["minutes"] - 5) * 60 - rnd.randint(600, 1800)
            elif kind == "away":
                spot = _point(home, rnd.uniform(150.0, 800.0), rnd.uniform(0, 2 * math.pi))
                v["in_fix"], v["out_fix"] = self._fix(spot, 8.0), self._fix(spot, 8.0)
                v["in_beidou"] = v["out_beidou"] = None
            elif kind == "dual":
                v["in_beidou"] = _point(v["in_fix"], rnd.uniform(150.0, 600.0),
                                        rnd.uniform(0, 2 * math.pi))
                v["out_beidou"] = None
            elif kind == "mismatch":
                # ticks another service than the one ordered
                others = [s for s in SERVICE_TYPES if s != o["service_type"]]
                v["items"] = [others[rnd.randrange(len(others))]]
            elif kind in ("elder_away", "hospital_stay"):
                # (an order whose photo a PHOTO_REUSE fraud copies must stay visited)
                if oid in self._photo_sources or not self._hospital_stay(o):
                    continue
                if kind == "elder_away":
                    o["caregiver"] = self._rogue(o["street"])
                else:
                    v["in"] = v["out"] = False
            elif kind in ("cancelled", "late_cancel"):
                if oid in self._photo_sources:
                    continue
                v["in"] = v["out"] = False
                o["cancel_at"] = o["start"] + (-CANCEL_BEFORE_S if kind == "cancelled"
                                               else LATE_CANCEL_AFTER_S)
            elif kind == "uncertified":
                o["caregiver"] = self._rogue(o["street"], certified=False)
                o["service_type"] = CERTIFIED_SERVICE_TYPES[
                    rnd.randrange(len(CERTIFIED_SERVICE_TYPES))]
            elif kind == "inaccurate":
                # at home, but the phone reports the fix good to 60-300 m only
                v["in_accuracy"] = round(rnd.uniform(60.0, 300.0), 1)
            elif kind == "face":
                v["face"] = None if rnd.random() < 0.2 else round(rnd.uniform(0.2, 0.7), 2)
            elif kind == "voice":
                v["voice"] = None if rnd.random() < 0.2 else round(rnd.uniform(0.2, 0.7), 2)
            elif kind == "no_checkout":
                if oid not in last_of_day:
                    continue
                v["out"] = False
            elif kind == "photo":
                # the hash of an honest check-in at least 2 h earlier
                if oid in used_sources:
                    continue
                n = bisect.bisect_left(sources, (v["in_at"] - 7200, ""))
                if n == 0:
                    continue
                src = sources[rnd.randrange(n)][1]
                used_sources.add(src)  # its own check-in photo must stay the first
                v["in_photo"] = self.visits[src]["in_photo"]
            elif kind == "backfill":
                # Neither the waited-for event nor this check-out may be
                # another back-filled one (those are not there in time).
                if not v["out"] or v["out_at"] in anchors:
                    continue
                events.pop(bisect.bisect_left(events, v["out_at"]))
                posted = self._backfill_time(v, events, next_in.get(oid))
                if posted is None:
                    bisect.insort(events, v["out_at"])
                    continue
                anchors.add(posted)
                v["posted_out"] = posted
            self._take(o, kind)
            made += 1

    def _next_check_in(self):
        """order -> the check-in time of its caregiver's next visit."""
        by_cg = {}
        for o in self.orders:
            v = self.visits[o["order_id"]]
            if v["in"]:
                by_cg.setdefault(o["caregiver"], []).append((v["in_at"], o["order_id"]))
        nxt = {}
        for visits in by_cg.values():
            visits.sort()
            for (_, oid), (t, _) in zip(visits, visits[1:]):
                nxt[oid] = t
        return nxt

    def _backfill_time(self, v, events, next_in):
        """A check-out posted 15-30 min after its time, right after the first
        event of the district that late (so ingest's stream clock shows the
        delay), while the visit's no-checkout timer is far off and before
        the caregiver's next check-in. None when the order cannot be used."""
        if not v["out"] or v["out_at"] - v["in_at"] > 100 * 60:
            return None
        wanted = v["out_at"] + self.rnd.randint(15 * 60, 30 * 60)
        i = bisect.bisect_left(events, wanted)
        if i >= len(events):
            return None
        posted = events[i]
        if posted > v["in_at"] + 200 * 60:
            return None
        if next_in is not None and posted > next_in - 600:
            return None
        return posted

    def _evidence(self):
        rnd = self.rnd
        rate = self.rates.get("evidence", 0.0)
        for o in self.orders:
            if o["fraud"] in FRAUD_RULES and FRAUD_RULES[o["fraud"]][3] and rnd.random() < rate:
                v = self.visits[o["order_id"]]
                end = v["out_at"] if v["out"] else v["in_at"] + 240 * 60
                v["evidence_at"] = end + rnd.randint(3600, 48 * 3600)
        # Reused evidence copies one posted at least an hour before it, so
        # the copy, not the original, is the one judged reused.
        reuse = self.rates.get("evidence_reuse", 0.0)
        posted = sorted((v["evidence_at"], oid) for oid, v in self.visits.items()
                        if v["evidence_at"] is not None)
        for at, oid in posted:
            earlier = bisect.bisect_left(posted, (at - 3600, ""))
            if earlier > 0 and rnd.random() < reuse:
                self.visits[oid]["evidence_like"] = posted[rnd.randrange(earlier)][1]

    # ---- the records ---------------------------------------------------------

    def elder_body(self, e):
        lat, lon = coords.register(e["home"][0], e["home"][1], e["crs"])
        return {"elder_id": e["elder_id"], "street_id": self.streets[e["street"]]["street_id"],
                "community_id": self.communities[e["community"]]["community_id"],
                "home": {"lat": _r7(lat), "lon": _r7(lon), "crs": e["crs"]},
                "visits_per_month": 4, "minutes_per_visit": e["minutes"]}

    def contracts(self):
        """One contract per provider and calendar month of the period."""
        per_provider = {}
        for o in self.orders:
            p = self.streets[o["street"]]["provider"]
            per_provider[p] = per_provider.get(p, 0) + 1
        months = []
        d = self.first_day.replace(day=1)
        while d <= self.last_day:
            nxt = (d.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
            months.append((d, nxt - datetime.timedelta(days=1)))
            d = nxt
        out = []
        for p in sorted(per_provider):
            for first, last in months:
                out.append({"contract_id": "%sK-%s-%s" % (self.prefix, p[len(self.prefix):],
                                                          first.strftime("%Y-%m")),
                            "provider_id": p, "period_start": first.isoformat(),
                            "period_end": last.isoformat(),
                            "budget_cents": per_provider[p] * UNIT_PRICE_CENTS // len(months),
                            "unit_price_cents": UNIT_PRICE_CENTS, "prepay_ratio": 0.3,
                            "invalid_deduction_cents": DEDUCTION_CENTS})
        return out

    def order_body(self, o):
        return {"order_id": o["order_id"], "elder_id": self.elders[o["elder"]]["elder_id"],
                "caregiver_id": o["caregiver"], "service_type": o["service_type"],
                "scheduled_start": rfc3339(o["start"]), "scheduled_minutes": o["minutes"]}

    def event_bodies(self, o):
        """(kind, body, posting time) of the order's visit events."""
        oid = o["order_id"]
        v = self.visits[oid]
        out = []
        if v["in"]:
            body = {"event_id": oid + "-in", "order_id": oid, "caregiver_id": o["caregiver"],
                    "at": rfc3339(v["in_at"]),
                    "gps": {"lat": _r7(v["in_fix"][0]), "lon": _r7(v["in_fix"][1]),
                            "accuracy_m": v["in_accuracy"]}}
            if v["in_beidou"]:
                body["beidou"] = {"lat": _r7(v["in_beidou"][0]), "lon": _r7(v["in_beidou"][1])}
            if v["face"] is not None:
                body["face_match"] = v["face"]
            body["photo_sha256"] = v["in_photo"]
            body["device_id"] = "DEV-" + o["caregiver"]
            out.append(("check-in", body, v["in_at"]))
        if v["in"] and v["out"]:
            body = {"event_id": oid + "-out", "order_id": oid, "caregiver_id": o["caregiver"],
                    "at": rfc3339(v["out_at"]),
                    "gps": {"lat": _r7(v["out_fix"][0]), "lon": _r7(v["out_fix"][1]),
                            "accuracy_m": v["out_accuracy"]}}
            if v["out_beidou"]:
                body["beidou"] = {"lat": _r7(v["out_beidou"][0]), "lon": _r7(v["out_beidou"][1])}
            if v["voice"] is not None:
                body["voiceprint_match"] = v["voice"]
            body["photo_sha256"] = v["out_photo"]
            body["items"] = v["items"] or [o["service_type"]]
            out.append(("check-out", body, v["posted_out"] or v["out_at"]))
        if v["evidence_at"] is not None:
            p = self.prefix + str(self.seed) + ":" + (v["evidence_like"] or oid)
            out.append(("evidence", {
                "event_id": oid + "-evidence", "order_id": oid, "at": rfc3339(v["evidence_at"]),
                "watermark_photo_sha256": hashlib.sha256((p + ":watermark").encode()).hexdigest(),
                "elder_recording_sha256": hashlib.sha256((p + ":recording").encode()).hexdigest(),
            }, v["evidence_at"]))
        return out

    def _build(self):
        self.reference = [dict(self.elder_body(e), type="elder") for e in self.elders]
        self.reference += [dict({"type": "caregiver", "caregiver_id": c["caregiver_id"],
                                 "provider_id": c["provider_id"],
                                 "certified": c.get("certified", True)},
                                **({"person_id": c["person_id"]} if c.get("person_id") else {}))
                           for c in self.caregivers]
        self.reference += [dict(k, type="contract") for k in self.contracts()]
        timed = []
        for n, o in enumerate(sorted(self.orders, key=lambda o: (o["start"], o["order_id"]))):
            # Orders are dispatched the day before (assignments do not move
            # the watermark), in order of their start.
            timed.append((o["start"] - 86400, 0, "%09d" % n, dict(self.order_body(o), type="order")))
        for posted, body in self.stays:
            timed.append((posted, 0, body["from"], dict(body, type="elder-status")))
        for o in self.orders:
            if "cancel_at" in o:
                timed.append((o["cancel_at"], 1, rfc3339(o["cancel_at"]), {
                    "type": "cancel", "order_id": o["order_id"], "reason_code": CANCEL_REASON,
                    "note": "the elder refused the visit"}))
        for o in self.orders:
            for kind, body, posted in self.event_bodies(o):
                # A back-filled check-out goes right after the event it waited for.
                late = 1 if posted != (self.visits[o["order_id"]]["out_at"]
                                       if kind == "check-out" else posted) else 0
                timed.append((posted, 1 + late, body["at"], dict(body, type=kind)))
        timed.sort(key=lambda x: (x[0], x[1], x[2],
                                  x[3].get("event_id", x[3].get("order_id", x[3].get("elder_id")))))
        self.timeline = [(posted, body) for posted, _, _, body in timed]
        self._closing()
        self._truth()

    def _closing(self):
        p = self.prefix
        e = self.elders[0]
        close_at = self._day_start(self.days - 1 + CLOSING_DAYS) + 12 * 3600
        self.reference += [
            dict(self.elder_body(e), type="elder", elder_id=p + "E-CLOSE"),
            {"type": "caregiver", "caregiver_id": p + "CG-CLOSE",
             "provider_id": self.streets[0]["provider"], "certified": True},
        ]
        fix = e["home"]
        self.closing = [
            {"type": "order", "order_id": p + "O-CLOSE", "elder_id": p + "E-CLOSE",
             "caregiver_id": p + "CG-CLOSE", "service_type": "bathing",
             "scheduled_start": rfc3339(close_at), "scheduled_minutes": 60},
            {"type": "check-in", "event_id": p + "O-CLOSE-in", "order_id": p + "O-CLOSE",
             "caregiver_id": p + "CG-CLOSE", "at": rfc3339(close_at),
             "gps": {"lat": _r7(fix[0]), "lon": _r7(fix[1]), "accuracy_m": 6.0},
             "face_match": 0.95, "photo_sha256": hashlib.sha256(
                 (p + str(self.seed) + ":close").encode()).hexdigest()},
        ]

    def _truth(self):
        self.truth = []
        for o in self.orders:
            fraud = o["fraud"]
            v = self.visits[o["order_id"]]
            if fraud == "honest":
                rules, hist, maybe, cured = (), (), (), False
            elif fraud == PARTNER:
                rules, hist, maybe, cured = PARTNER_RULES, PARTNER_RULES, (), False
            else:
                rules, hist, maybe, _ = FRAUD_RULES[fraud]
                cured = v["evidence_at"] is not None and v["evidence_like"] is None
            status = LIVE_STATUS.get(fraud, "VALID" if not rules or cured else "INVALID")
            hist_status = "VALID" if not hist or cured else "INVALID"
            self.truth.append({
                "order_id": o["order_id"], "provider_id": self.streets[o["street"]]["provider"],
                "caregiver_id": o["caregiver"], "elder_id": self.elders[o["elder"]]["elder_id"],
                "service_day": datetime.datetime.fromtimestamp(o["start"], TZ).date().isoformat(),
                "fraud": fraud, "rules": ";".join(rules), "may_also": ";".join(maybe),
                "status": status, "import_rules": ";".join(hist), "import_status": hist_status,
                "evidence": ("reused" if v["evidence_like"] else "yes")
                            if v["evidence_at"] is not None else "",
            })

    def records(self):
        """Every API body in posting order: reference data, the timeline, the closing visit."""
        return self.reference + [body for _, body in self.timeline] + self.closing

    def counts(self):
        out = {}
        for t in self.truth:
            out[t["fraud"]] = out.get(t["fraud"], 0) + 1
        return out
