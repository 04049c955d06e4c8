"""A small client for ingest's HTTP API (docs/design.md §3)."""

import json

import requests

PATHS = {
    "elder": "/v1/elders",
    "caregiver": "/v1/caregivers",
    "contract": "/v1/contracts",
    "order": "/v1/orders",
    "check-in": "/v1/visits/check-in",
    "check-out": "/v1/visits/check-out",
    "evidence": "/v1/visits/evidence",
}


class IngestClient:
    def __init__(self, base_url, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def post(self, path, key, body=None, data=None, headers=None):
        hdrs = {"Content-Type": "application/json"}
        if key is not None:
            hdrs["Authorization"] = "Bearer " + key
        hdrs.update(headers or {})
        if data is None:
            data = json.dumps(body)
        return self.session.post(self.base_url + path, data=data, headers=hdrs,
                                 timeout=self.timeout)

    def submit(self, kind, key, body):
        """Posts one record. kind "elder-status" takes the elder from the
        body's elder_id (POST /v1/elders/{id}/status); an order's
        maintenance ("cancel", ...) the order from its order_id."""
        if kind == "elder-status":
            rest = {k: v for k, v in body.items() if k != "elder_id"}
            return self.post("/v1/elders/%s/status" % body["elder_id"], key, rest)
        if kind in ("cancel", "reschedule", "reassign", "approve-change"):
            rest = {k: v for k, v in body.items() if k != "order_id"}
            return self.change(body["order_id"], kind, key, rest)
        return self.post(PATHS[kind], key, body)

    def change(self, order_id, action, key, body):
        """An order's maintenance (docs/maintenance.md): action is "cancel",
        "reschedule", "reassign" or "approve-change"."""
        return self.post("/v1/orders/%s/%s" % (order_id, action), key, body)

    def batch(self, key, lines):
        text = "\n".join(json.dumps(line) for line in lines) + "\n"
        return self.post("/v1/batch", key, data=text,
                         headers={"Content-Type": "application/x-ndjson"})

    def get(self, path):
        return self.session.get(self.base_url + path, timeout=self.timeout)
