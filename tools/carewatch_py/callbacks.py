"""The simulated district's call-backs: after the district is fed and
finalized, each street office (its street key) works the supervision
desk's call-back list of every service day, and the elders answer as the
ground truth says — a phantom visit (records that look honest for a visit
that did not happen) is DENIED, every other one CONFIRMED. The street
confirms each denial (resolves its case CONFIRMED), the desk publishes the
correction, and the ledger appends a correcting entry: the order becomes
INVALID after the fact. What came of it is read back from orders.finalized.
"""

import time

import requests

from .avro_single import Registry
from .topics import read_topics


class DeskError(Exception):
    pass


class Street:
    def __init__(self, url, street_id, key, timeout=30):
        self.url = url.rstrip("/")
        self.street_id = street_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + key
        self.timeout = timeout

    def call(self, method, path, body=None, **params):
        r = self.session.request(method, self.url + path, json=body, params=params,
                                 timeout=self.timeout)
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, {}

    def knows_all(self, order_ids, timeout):
        """Waits until the desk has every order of the street final (its
        call-back draw needs the whole week). Whether it came in time."""
        pending = list(order_ids)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            status, _ = self.call("GET", "/v1/orders/" + pending[-1])
            if status == 200:
                pending.pop()
            else:
                time.sleep(0.5)
        return not pending


def parse_street_keys(text):
    """"S01=key,S02=key" -> {"S01": "key", ...}."""
    keys = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        street, sep, key = item.partition("=")
        if not sep or not street.strip() or not key.strip():
            raise ValueError("street keys: expected S01=<key>,S02=<key>,... got %r" % item)
        keys[street.strip()] = key.strip()
    return keys


def work(desk_url, street_keys, truth, street_of_elder, brokers, timeout=300):
    """Works every street's call-backs; returns the counts and the orders
    denied and corrected."""
    by_street = {}
    for t in truth:
        by_street.setdefault(street_of_elder[t["elder_id"]], []).append(t)
    fraud = {t["order_id"]: t["fraud"] for t in truth}
    out = {"drawn": 0, "denied": [], "confirmed": 0, "streets": 0}
    for street_id in sorted(by_street):
        if street_id not in street_keys:
            raise DeskError("no key for street %s (--street-keys)" % street_id)
        street = Street(desk_url, street_id, street_keys[street_id])
        rows = by_street[street_id]
        if not street.knows_all([t["order_id"] for t in rows], timeout):
            raise DeskError("the desk does not know every final order of %s" % street_id)
        out["streets"] += 1
        for day in sorted({t["service_day"] for t in rows}):
            status, body = street.call("GET", "/v1/callbacks", day=day)
            if status != 200:
                raise DeskError("GET /v1/callbacks %s %s: %s %s" % (street_id, day, status, body))
            for item in body["callbacks"]:
                oid = item["order_id"]
                if oid not in fraud:
                    continue  # another district's order on the same street and day
                out["drawn"] += 1
                denied = fraud[oid] == "phantom"
                status, answer = street.call("POST", "/v1/callbacks/" + oid, {
                    "result": "DENIED" if denied else "CONFIRMED",
                    "note": "the elder says nobody came" if denied else "the elder confirms"})
                if status != 201:
                    raise DeskError("call-back of %s: %s %s" % (oid, status, answer))
                if not denied:
                    out["confirmed"] += 1
                    continue
                status, answer = street.call("POST", "/v1/cases/%s/resolve" % oid, {
                    "resolution": "CONFIRMED", "note": "the elder's denial confirmed"})
                if status != 200:
                    raise DeskError("resolving %s: %s %s" % (oid, status, answer))
                out["denied"].append(oid)
    out["corrected"] = corrected(brokers, out["denied"], timeout)
    return out


def corrected(brokers, order_ids, timeout):
    """The orders among order_ids whose latest ledger entry on
    orders.finalized corrects an earlier one to INVALID."""
    wanted, got = set(order_ids), set()
    registry = Registry()
    deadline = time.monotonic() + timeout
    while wanted - got and time.monotonic() < deadline:
        for r in read_topics(brokers, ["orders.finalized"], registry=registry):
            v = r["value"]
            if (r["name"] == "OrderFinalized" and v["order_id"] in wanted
                    and v.get("corrects_index") is not None and v["status"] == "INVALID"):
                got.add(v["order_id"])
        if wanted - got:
            time.sleep(1.0)
    return sorted(got)
