"""The OpenAPI documents of ingest and the supervision desk (docs/openapi/)
against the running services.

Both services serve their document at GET /v1/openapi.json without a key;
it must be the file of the repository and a valid OpenAPI 3.1 document
(openapi-spec-validator). Every example request of ingest's document is
then sent to a real ingest in its `x-step` order, with the key of its
`x-key` role, its ids under a fresh prefix (where the example has "EX-"),
its dates moved to a fortnight of the test's own (conftest.allocate_day)
and its SHA-256 values made fresh: the answer must have the example's
`x-expected-status` and validate against the response the document gives
for that status (jsonschema, with the document's formats). The desk's
answers to a few reads and to a missing key are checked the same way."""

import datetime
import hashlib
import json
import os
import re
import uuid

import jsonschema
import pytest
import requests
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from conftest import KAFKA_BROKERS, REPO, Service, allocate_day, free_port, sha256_hex

DOCS = os.path.join(REPO, "docs", "openapi")
DOC_URI = "urn:carewatch:openapi"
# The date every example of ingest's document is written for.
EXAMPLE_DAY = datetime.date(2024, 5, 20)


def load(name):
    with open(os.path.join(DOCS, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


# ---- the desk -----------------------------------------------------------------------

class Desk(Service):
    def __init__(self, workdir, keys):
        self.admin_port, self.http_port = free_port(), free_port()
        group = "openapi-desk-" + uuid.uuid4().hex[:8]
        config = """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin_port}
log:
  level: info
http:
  bind: 127.0.0.1
  port: {http_port}
auth:
  keys: ["{s01}=street:S01#S01 office", "{admin}=admin"]
stream:
  group_id: {group}
  transactional_id: {group}
  allowed_lateness_minutes: 0
  quiet_partition_ms: 500
""".format(brokers=KAFKA_BROKERS, admin_port=self.admin_port, http_port=self.http_port,
           group=group, s01=sha256_hex(keys.s01), admin=sha256_hex(keys.admin))
        super().__init__("supervision-desk", config, workdir)
        self.url = "http://127.0.0.1:%d" % self.http_port


@pytest.fixture(scope="module")
def desk(tmp_path_factory, keys):
    svc = Desk(str(tmp_path_factory.mktemp("openapi-desk")), keys)
    svc.wait_ready("http://127.0.0.1:%d/readyz" % svc.admin_port, timeout=90)
    yield svc
    svc.stop()


# ---- the documents as JSON Schema -----------------------------------------------------

def pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(doc, node, where):
    """Follows a local $ref of the document (responses, parameters)."""
    while "$ref" in node:
        where = node["$ref"]
        node = doc
        for part in where[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, where


class Schemas:
    """Validates values against the document's schemas by JSON pointer."""

    def __init__(self, doc):
        self.doc = doc
        self.registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(doc))

    def errors(self, where, value):
        validator = jsonschema.Draft202012Validator(
            {"$ref": DOC_URI + where}, registry=self.registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                for e in validator.iter_errors(value)]

    def response_schema(self, path, method, status, media="application/json"):
        """The pointer of the schema of the documented answer, or None."""
        responses = self.doc["paths"][path][method]["responses"]
        assert str(status) in responses, "%s %s does not document %s" % (method, path, status)
        response, where = resolve(self.doc, responses[str(status)],
                                  pointer("paths", path, method, "responses", status))
        if media not in response.get("content", {}):
            return None
        return where + "/" + "/".join(p.replace("/", "~1") for p in ("content", media,
                                                                     "schema"))


@pytest.mark.parametrize("name", ["ingest", "desk"])
def test_documents_are_valid_openapi_3_1(name):
    doc = load(name)
    assert doc["openapi"].startswith("3.1.")
    validate_openapi(doc)
    # Every operation has an id, a summary and documented answers; every
    # local $ref resolves.
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op.get("operationId") and op.get("summary"), (method, path)
            assert op.get("responses"), (method, path)
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "(#/[^"]+)"', text)):
        resolve(doc, {"$ref": ref}, ref)


def test_ingest_documents_every_route_it_has():
    """The routes of services/ingest/routes.c, and only those."""
    with open(os.path.join(REPO, "services", "ingest", "routes.c"), encoding="utf-8") as f:
        source = f.read()
    routes = set(re.findall(r'\{"(/v1/[a-z/-]+)", REQ_', source))
    routes |= {"/v1/batch", "/v1/openapi.json", "/v1/caregivers/{caregiver_id}/unfreeze",
               "/v1/elders/{elder_id}/status", "/livez", "/readyz", "/metrics"}
    routes |= {"/v1/orders/{order_id}" + s for s in
               re.findall(r'\{"(/[a-z-]+)", CHANGE_', source)}
    assert set(load("ingest")["paths"]) == routes


def test_desk_documents_every_route_it_has():
    with open(os.path.join(REPO, "services", "supervision-desk", "desk_http.c"),
              encoding="utf-8") as f:
        source = f.read()
    fixed = set(re.findall(r'strcmp\(url, "(/v1/[a-z.]+)"\) == 0', source))
    documented = set(load("desk")["paths"])
    assert fixed <= documented, fixed - documented
    for suffix in re.findall(r'strcmp\(after, "(/[a-z]+)"\) == 0', source):
        assert any(p.endswith("}" + suffix) for p in documented), suffix


def fetch_document(base_url):
    r = requests.get(base_url + "/v1/openapi.json", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def test_both_services_serve_their_document_without_a_key(ingest, desk):
    for name, url in (("ingest", ingest.url), ("desk", desk.url)):
        served = fetch_document(url)
        assert served == load(name), "%s serves another document than docs/openapi" % name
        validate_openapi(served)
        r = requests.post(url + "/v1/openapi.json", data="{}", timeout=10)
        assert r.status_code == 405, (name, r.status_code, r.text)
        assert set(r.json()) == {"error", "message", "field"}
    r = requests.head(ingest.url + "/v1/openapi.json", timeout=10)
    assert r.status_code == 200


# ---- ingest's examples against ingest --------------------------------------------------

class Localizer:
    """Puts an example in the test's own ids, days and hashes."""

    def __init__(self):
        self.prefix = "T%s-" % uuid.uuid4().hex[:10]
        self.shift = datetime.date.fromisoformat(allocate_day()) - EXAMPLE_DAY

    def _day(self, m):
        return (datetime.date.fromisoformat(m.group(0)) + self.shift).isoformat()

    def _hash(self, m):
        return hashlib.sha256((self.prefix + m.group(0)).encode()).hexdigest()

    def text(self, s):
        s = s.replace("EX-", self.prefix)
        s = re.sub(r"(?<![0-9A-Za-z])[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])", self._day, s)
        return re.sub(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])", self._hash, s)

    def value(self, v):
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return self.text(v) if isinstance(v, str) else v


def example_requests(doc):
    """(step, name, path, method, media, example, path parameter values)."""
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                for name, example in content.get("examples", {}).items():
                    params = {}
                    for p in op.get("parameters", []):
                        if p["in"] == "path":
                            params[p["name"]] = p["examples"][name]["value"]
                    found.append((example["x-step"], name, path, method, media, example,
                                  params))
    return sorted(found, key=lambda e: e[0])


def key_of(keys, role):
    return {"registry": keys.registry, "importer": keys.importer, "admin": keys.admin,
            "provider:P01": keys.p01, "provider:P02": keys.p02, "street:S01": keys.s01,
            "street:S02": keys.s02}[role]


def test_ingest_examples_are_valid_requests():
    """An example meant to succeed is a valid body of its operation."""
    doc = load("ingest")
    schemas = Schemas(doc)
    examples = example_requests(doc)
    steps = [e[0] for e in examples]
    assert len(steps) == len(set(steps)), "x-step values repeat"
    assert len(examples) >= len([p for p, i in doc["paths"].items() if "post" in i])
    for step, name, path, method, media, example, _ in examples:
        if example["x-expected-status"] >= 300:
            continue
        if media == "application/x-ndjson":
            for line in example["value"].splitlines():
                assert not schemas.errors("#/components/schemas/BatchLine", json.loads(line)), \
                    (name, line)
            continue
        where = pointer("paths", path, method, "requestBody", "content", media, "schema")
        problems = schemas.errors(where, example["value"])
        assert not problems, (step, name, problems)


def test_every_ingest_example_gets_its_documented_answer(ingest, keys):
    doc = fetch_document(ingest.url)
    schemas = Schemas(doc)
    local = Localizer()
    ran = 0
    for step, name, path, method, media, example, params in example_requests(doc):
        url = ingest.url + path.format(**{k: local.text(v) for k, v in params.items()})
        value = local.value(example["value"])
        data = value if isinstance(value, str) else json.dumps(value)
        r = requests.request(method.upper(), url, data=data.encode(), timeout=30, headers={
            "Authorization": "Bearer " + key_of(keys, example["x-key"]),
            "Content-Type": media})
        what = "step %d (%s %s, example %s)" % (step, method.upper(), path, name)
        assert r.status_code == example["x-expected-status"], (what, r.status_code, r.text)
        where = schemas.response_schema(path, method, r.status_code)
        assert where, "%s: no JSON answer documented for %d" % (what, r.status_code)
        problems = schemas.errors(where, r.json())
        assert not problems, (what, r.text, problems)
        if path == "/v1/batch":
            assert r.json()["rejected"] == 0, (what, r.text)
        ran += 1
    assert ran >= 15


def test_ingest_refusals_match_the_documented_error(ingest):
    """No key: 401 on every keyed operation; an unknown path 404; both
    answers as documented."""
    doc = load("ingest")
    schemas = Schemas(doc)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if op.get("security") == []:
                continue
            url = ingest.url + re.sub(r"\{[a-z_]+\}", "X1", path)
            r = requests.request(method.upper(), url, data=b"{}", timeout=10)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert not schemas.errors(schemas.response_schema(path, method, 401), r.json())
    r = requests.get(ingest.url + "/v1/nothing", timeout=10)
    assert r.status_code == 404
    assert not schemas.errors("#/components/schemas/Error", r.json())


# ---- the desk's answers -----------------------------------------------------------------

def test_desk_answers_match_its_document(desk, keys):
    doc = fetch_document(desk.url)
    schemas = Schemas(doc)
    street = {"Authorization": "Bearer " + keys.s01}
    admin = {"Authorization": "Bearer " + keys.admin}
    calls = [("/v1/whoami", street, {}, 200), ("/v1/whoami", admin, {}, 200),
             ("/v1/cases", street, {"limit": "5"}, 200),
             ("/v1/cases", street, {"colour": "PURPLE"}, 400),
             ("/v1/stats", admin, {"by": "provider"}, 200),
             ("/v1/changes", street, {}, 200), ("/v1/caregivers", street, {}, 200),
             ("/v1/callbacks", street, {"day": "2024-05-20"}, 200),
             ("/v1/cases", {}, {}, 401), ("/v1/cases/nothing-here", street, {}, 404)]
    for path, headers, params, status in calls:
        r = requests.get(desk.url + path, headers=headers, params=params, timeout=10)
        assert r.status_code == status, (path, params, r.status_code, r.text)
        template = path if path in doc["paths"] else "/v1/cases/{case_id}"
        problems = schemas.errors(schemas.response_schema(template, "get", status), r.json())
        assert not problems, (path, r.text, problems)
    # Every example request body of the desk is a valid request.
    for path, item in doc["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            for name, example in (content or {}).get("examples", {}).items():
                where = pointer("paths", path, method, "requestBody", "content",
                                "application/json", "schema")
                assert not schemas.errors(where, example["value"]), (path, name)
