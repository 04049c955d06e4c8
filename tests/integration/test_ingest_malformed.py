"""Every kind of malformed request gets a JSON 4xx with the error format of
docs/design.md §3, and the server keeps answering."""

import json
import socket

import pytest
import requests

from conftest import sha256_hex

ELDER = {"elder_id": "E1", "street_id": "S1", "community_id": "C1",
         "home": {"lat": 41.3, "lon": 123.7, "crs": "WGS84"}}
CHECK_IN = {"event_id": "ev-1", "order_id": "o-1", "caregiver_id": "cg-1",
            "at": "2024-05-06T09:02:00+08:00", "gps": {"lat": 41.3, "lon": 123.7},
            "face_match": 0.9, "photo_sha256": sha256_hex("x")}


def variant(base, path, value):
    doc = json.loads(json.dumps(base))
    obj = doc
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj[part]
    if value is DELETE:
        del obj[parts[-1]]
    else:
        obj[parts[-1]] = value
    return json.dumps(doc)


DELETE = object()

# (name, path, raw body, expected status, expected field or None)
CASES = [
    ("empty body", "/v1/elders", "", 400, None),
    ("not json", "/v1/elders", "elder please", 400, None),
    ("truncated json", "/v1/elders", '{"elder_id": "E1", ', 400, None),
    ("trailing garbage", "/v1/elders", json.dumps(ELDER) + " xyz", 400, None),
    ("json array", "/v1/elders", "[1, 2]", 400, None),
    ("json string", "/v1/elders", '"hello"', 400, None),
    ("json null", "/v1/elders", "null", 400, None),
    ("nul byte", "/v1/elders", '{"elder_id": "E\u0000"}', 400, None),
    ("invalid utf-8", "/v1/elders", b'{"elder_id": "\xff\xfe"}', 400, None),
    ("deep nesting", "/v1/elders", "[" * 5000 + "]" * 5000, 400, None),
    ("missing id", "/v1/elders", variant(ELDER, "elder_id", DELETE), 400, "elder_id"),
    ("id wrong type", "/v1/elders", variant(ELDER, "elder_id", 17), 400, "elder_id"),
    ("id too long", "/v1/elders", variant(ELDER, "elder_id", "E" * 65), 400, "elder_id"),
    ("id bad chars", "/v1/elders", variant(ELDER, "elder_id", "E 1/2"), 400, "elder_id"),
    ("lat out of range", "/v1/elders", variant(ELDER, "home.lat", 90.0001), 400, "home.lat"),
    ("lon out of range", "/v1/elders", variant(ELDER, "home.lon", -180.5), 400, "home.lon"),
    ("lat as string", "/v1/elders", variant(ELDER, "home.lat", "41.3"), 400, "home.lat"),
    ("unknown crs", "/v1/elders", variant(ELDER, "home.crs", "OSGB36"), 400, "home.crs"),
    ("home not object", "/v1/elders", variant(ELDER, "home", [1, 2]), 400, "home"),
    ("unknown field", "/v1/elders", variant(ELDER, "colour", "red"), 400, "colour"),
    ("score above 1", "/v1/visits/check-in", variant(CHECK_IN, "face_match", 1.5), 400,
     "face_match"),
    ("score negative", "/v1/visits/check-in", variant(CHECK_IN, "face_match", -0.01), 400,
     "face_match"),
    ("bad time", "/v1/visits/check-in", variant(CHECK_IN, "at", "2024-05-06 09:02"), 400, "at"),
    ("time without offset", "/v1/visits/check-in",
     variant(CHECK_IN, "at", "2024-05-06T09:02:00"), 400, "at"),
    ("impossible date", "/v1/visits/check-in",
     variant(CHECK_IN, "at", "2024-02-30T09:02:00+08:00"), 400, "at"),
    ("bad photo hash", "/v1/visits/check-in", variant(CHECK_IN, "photo_sha256", "abc"), 400,
     "photo_sha256"),
    ("gps missing", "/v1/visits/check-in", variant(CHECK_IN, "gps", DELETE), 400, "gps"),
    ("huge number", "/v1/visits/check-in", variant(CHECK_IN, "gps.lat", 1e308), 400, "gps.lat"),
]


@pytest.mark.parametrize("name,path,body,status,field", CASES, ids=[c[0] for c in CASES])
def test_malformed_body(ingest, keys, name, path, body, status, field):
    key = keys.registry if path == "/v1/elders" else keys.importer
    r = ingest.client.post(path, key, data=body)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert set(doc) == {"error", "message", "field"}, doc
    assert doc["message"]
    if field is not None:
        assert doc["field"] == field, doc
    ingest.assert_running()


def test_body_over_the_limit_is_413(ingest, keys):
    big = json.dumps(dict(ELDER, street_id="S" * 64, pad="x" * 70000))
    r = ingest.client.post("/v1/elders", keys.registry, data=big)
    assert r.status_code == 413 and r.json()["error"]
    r = ingest.client.post("/v1/batch", keys.importer, data="x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    ingest.assert_running()


def test_wrong_method_and_unknown_path(ingest, keys):
    r = requests.get(ingest.url + "/v1/elders", timeout=5)
    assert r.status_code == 405 and "error" in r.json()
    r = requests.post(ingest.url + "/v1/nothing", data="{}", timeout=5,
                      headers={"Authorization": "Bearer " + keys.admin})
    assert r.status_code == 404 and "error" in r.json()
    r = requests.delete(ingest.url + "/v1/orders", timeout=5)
    assert r.status_code == 405


def test_garbage_on_the_socket_does_not_hurt(ingest):
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"POST /v1/elders HTTP/1.1\r\nContent-Length: "
                 b"99999999999999999999\r\n\r\n", b"GET " + b"A" * 20000 + b" HTTP/1.1\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", ingest.port), timeout=5) as s:
            s.sendall(junk)
            try:
                s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                pass
    ingest.assert_running()
    assert requests.get(ingest.url + "/livez", timeout=5).status_code == 200
