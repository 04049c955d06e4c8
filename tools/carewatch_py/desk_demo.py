"""The main job's supervision-desk step: street office S01 works the cases
the scripted day opened (acknowledges, resolves), calls back its sampled
orders (one elder denies the visit; the street confirms it, and the order is
corrected in the ledger), and the district command looks at what reached
it. Everything goes through the desk's HTTP API with the street's and the
command's keys, as a person at the desk would."""

import collections
import time

import requests

from carewatch_py.topics import read_topics


class Desk:
    def __init__(self, url, key, timeout=30):
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.session = requests.Session()

    def call(self, method, path, body=None, **params):
        r = self.session.request(method, self.url + path, json=body, params=params,
                                 headers={"Authorization": "Bearer " + self.key},
                                 timeout=self.timeout)
        return r.status_code, r.json()

    def cases(self, **params):
        out, cursor = [], None
        while True:
            if cursor:
                params["cursor"] = cursor
            status, body = self.call("GET", "/v1/cases", limit=500, **params)
            if status != 200:
                raise RuntimeError("GET /v1/cases: %s %s" % (status, body))
            out += body["cases"]
            cursor = body["next_cursor"]
            if not cursor:
                return out


def alerted_orders(brokers, orders, street):
    """The day's orders with an alert on alerts.all in the street."""
    return {r["value"]["order_id"] for r in read_topics(brokers, ["alerts.all"])
            if r["name"] == "Alert" and r["value"]["order_id"] in orders
            and r["value"]["street_id"] == street}


def wait_for(predicate, timeout, pause=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(pause)
    return None


def show_cases(title, cases):
    print(title)
    print("  %-16s %-7s %-12s %-18s %-8s %s" % ("case", "colour", "status", "resolution",
                                                "overdue", "rules"))
    for c in cases:
        print("  %-16s %-7s %-12s %-18s %-8s %s" % (
            c["case_id"], c["colour"], c["status"], c["resolution"] or "-",
            "yes" if c["overdue"] else "no", ",".join(c["rules"]) or "-"))


def work_cases(street_desk, confirmed, false_alarm):
    """Acknowledges and resolves two of the street's cases: one confirmed as
    fraud, one as a false alarm."""
    done = []
    for cid, resolution, note in ((confirmed, "CONFIRMED",
                                   "provider admits the overlapping booking"),
                                  (false_alarm, "FALSE_ALARM",
                                   "elder confirms the visit; the recorder was broken")):
        s1, b1 = street_desk.call("POST", "/v1/cases/%s/acknowledge" % cid,
                                  {"note": "office took the case"})
        s2, b2 = street_desk.call("POST", "/v1/cases/%s/resolve" % cid,
                                  {"note": note, "resolution": resolution})
        print("  %s: acknowledge -> %d %s, resolve %s -> %d %s"
              % (cid, s1, b1.get("status", b1.get("error")), resolution, s2,
                 b2.get("status", b2.get("error"))))
        done.append(cid)
    return done


def call_back(street_desk, brokers, day, orders):
    """Works the day's call-back list: every elder confirms but the last,
    who denies; the street confirms the denial and the order is corrected."""
    status, body = street_desk.call("GET", "/v1/callbacks", day=day)
    if status != 200:
        print("  call-back list: %d %s" % (status, body))
        return None
    listed = [c for c in body["callbacks"] if c["order_id"] in orders]
    print("\n  call-backs of %s for %s: %d orders drawn" % (day, body["street_id"], len(listed)))
    denied = None
    for i, c in enumerate(listed):
        result = "DENIED" if i == len(listed) - 1 else "CONFIRMED"
        note = "elder says nobody came" if result == "DENIED" else "elder confirms the visit"
        s, ev = street_desk.call("POST", "/v1/callbacks/" + c["order_id"],
                                 {"result": result, "note": note})
        print("    %-14s %-9s -> %d" % (c["order_id"], result, s))
        if result == "DENIED" and s == 201:
            denied = c["order_id"]
    if denied is None:
        return None
    s, b = street_desk.call("POST", "/v1/cases/%s/resolve" % denied,
                            {"note": "neighbour confirms no visit that day",
                             "resolution": "CONFIRMED"})
    print("    denial of %s confirmed by the street -> %d %s" % (denied, s, b.get("status")))

    def corrected():
        return [r["value"] for r in read_topics(brokers, ["orders.finalized"])
                if r["name"] == "OrderFinalized" and r["value"]["order_id"] == denied
                and r["value"].get("corrects_index") is not None]
    got = wait_for(corrected, 60)
    if got:
        e = got[0]
        print("    ledger: %s corrected to %s by entry #%d (corrects #%d), reasons %s; the money "
              "follows on the contract's next statement"
              % (denied, e["status"], e["ledger_index"], e["corrects_index"],
                 ",".join(e["reasons"])))
    else:
        print("    ledger: no correcting entry for %s within 60 s" % denied)
    return denied


def run(desk_url, street_key, command_key, brokers, day, orders, worked, timeout):
    """The desk step of the main job; worked: the (confirmed, false alarm)
    cases the office resolves. Returns whether every step answered."""
    street = Desk(desk_url, street_key)
    command = Desk(desk_url, command_key)
    wanted = alerted_orders(brokers, orders, "S01")

    def opened():
        have = {c["case_id"] for c in street.cases()}
        return wanted <= have
    print("\nsupervision desk (http://127.0.0.1:8081), street office S01:")
    if not wait_for(opened, timeout):
        print("  the desk did not open a case for every alerted order of S01 within %.0f s"
              % timeout)
        return False
    mine = [c for c in street.cases() if c["case_id"] in orders]
    show_cases("  the day's cases of S01 (event time has moved past their deadlines: the "
               "unacknowledged ones went to the command):", mine)
    print("\n  the office works two cases:")
    worked = work_cases(street, *worked)
    denied = call_back(street, brokers, day, orders)
    attention = [c for c in command.cases(attention="true") if c["case_id"] in orders]
    by_street = collections.Counter(c["street_id"] for c in attention)
    print("\n  district command: %d red or escalated cases of the day (%s)"
          % (len(attention), ", ".join("%s %d" % kv for kv in sorted(by_street.items()))))
    status, stats = command.call("GET", "/v1/stats", by="street", **{"from": day, "to": day})
    if status == 200:
        print("  %-6s %6s %8s %9s %8s %5s %5s %5s %9s" % (
            "street", "orders", "visited", "duration", "invalid", "open", "esc", "done",
            "callbacks"))
        for r in stats["rows"]:
            pct = lambda v: "-" if v is None else "%.0f%%" % (100 * v)  # noqa: E731
            print("  %-6s %6d %8s %9s %8s %5d %5d %5d %4d/%-4d" % (
                r["street"], r["orders"], pct(r["visited_share"]), pct(r["duration_met_share"]),
                pct(r["invalid_share"]), r["cases"]["open"] + r["cases"]["acknowledged"],
                r["cases"]["escalated"], r["cases"]["resolved"], r["callbacks"]["done"],
                r["callbacks"]["denied"]))
    return len(worked) == 2 and denied is not None
