"""Schema evolution: every schema in schemas/ must read what the previous
release wrote (BACKWARD compatibility, docs/schemas.md).

The previous release is the newest folder of schemas/released/ (a copy of
that release's .avsc files; schemas/released/README.md names the commit it
was taken from, and the copy is compared with that commit when the checkout
has it). Two checks:

- Avro's own schema resolution (fastavro): for every released schema,
  records are generated that together take every field, every union branch
  and every enum symbol; each is written with the released schema and read
  with the current one. A resolution error, or a field the two schemas share
  read back differently, fails. Known-bad and known-good changes check the
  checker itself.
- The schema registry's compatibility check, when a registry is running
  (deploy/registry/registry status, or CW_REGISTRY_URL): the released
  schema is registered under a subject of this run with compatibility
  BACKWARD, and the registry is asked whether the current one is compatible.

The checks read the .avsc files alone; the integration tests' conftest
still wants the local stack up for the session, as for every test here."""

import copy
import glob
import io
import json
import os
import subprocess
import uuid

import fastavro
import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCHEMAS = os.path.join(REPO, "schemas")
RELEASED = os.path.join(SCHEMAS, "released")
RELEASE_COMMIT = {"0.1.0": "e601025962ec6404ed609c9f2d7089cc9c992caa"}


def version_key(name):
    return tuple(int(p) if p.isdigit() else p for p in name.replace("-", ".").split("."))


def previous_release():
    folders = [d for d in os.listdir(RELEASED) if os.path.isdir(os.path.join(RELEASED, d))]
    assert folders, "schemas/released/ has no release folder"
    return max(folders, key=version_key)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def released_schemas():
    release = previous_release()
    paths = sorted(glob.glob(os.path.join(RELEASED, release, "*.avsc")))
    assert paths, "schemas/released/%s has no .avsc file" % release
    return release, {os.path.basename(p)[:-5]: load(p) for p in paths}


# ---- records that cover every field, branch and symbol --------------------------

def named_types(schema, out=None, space=""):
    """Every named type (record, enum, fixed) of a schema by full name, so
    that references by name can be followed."""
    out = {} if out is None else out
    if isinstance(schema, list):
        for branch in schema:
            named_types(branch, out, space)
    elif isinstance(schema, dict):
        t = schema.get("type")
        if t in ("record", "enum", "fixed", "error"):
            name = schema["name"]
            ns = schema.get("namespace", space)
            full = name if "." in name else (ns + "." + name if ns else name)
            out[full] = schema
            out.setdefault(name, schema)
            space = full.rsplit(".", 1)[0] if "." in full else ""
            for field in schema.get("fields", []):
                named_types(field["type"], out, space)
        elif t == "array":
            named_types(schema["items"], out, space)
        elif t == "map":
            named_types(schema["values"], out, space)
        elif isinstance(t, (dict, list)):
            named_types(t, out, space)
    return out


def variety(schema, names, seen=()):
    """How many records it takes for every union branch and enum symbol of
    schema to appear at least once."""
    if isinstance(schema, str):
        if schema in names and schema not in seen:
            return variety(names[schema], names, seen + (schema,))
        return 1
    if isinstance(schema, list):  # branch k mod n, then the branch's own sample k // n
        return len(schema) * max(variety(b, names, seen) for b in schema)
    t = schema["type"]
    if t == "enum":
        return len(schema["symbols"])
    if t in ("record", "error"):
        if schema["name"] in seen:
            return 1
        return max([1] + [variety(f["type"], names, seen + (schema["name"],))
                          for f in schema["fields"]])
    if t == "array":
        return variety(schema["items"], names, seen)
    if t == "map":
        return variety(schema["values"], names, seen)
    if isinstance(t, (dict, list)):
        return variety(t, names, seen)
    return 1


def make_value(schema, names, k, depth=0):
    """The k-th sample of schema: union branch k mod n (and that branch's
    sample k // n), enum symbol k mod n, one item per array and map, numbers
    and strings that depend on k."""
    if isinstance(schema, str):
        primitive = {
            "null": None, "boolean": k % 2 == 1, "int": 1000 + k, "long": 1714521600000 + k,
            "float": 0.5 + k, "double": 0.25 + k, "bytes": b"b%d" % k, "string": "s%d" % k,
        }
        if schema in primitive:
            return primitive[schema]
        return make_value(names[schema], names, k, depth + 1)
    if isinstance(schema, list):
        branch = schema[k % len(schema)]
        return make_value(branch, names, k // len(schema), depth + 1)
    t = schema["type"]
    if t in ("record", "error"):
        assert depth < 20, "a recursive record"
        return {f["name"]: make_value(f["type"], names, k, depth + 1) for f in schema["fields"]}
    if t == "enum":
        return schema["symbols"][k % len(schema["symbols"])]
    if t == "array":
        return [make_value(schema["items"], names, k, depth + 1)]
    if t == "map":
        return {"k%d" % k: make_value(schema["values"], names, k, depth + 1)}
    if t == "fixed":
        return bytes([k % 256]) * schema["size"]
    return make_value(t, names, k, depth + 1)


def samples(schema):
    names = named_types(schema)
    return [make_value(schema, names, k) for k in range(max(2, variety(schema, names)))]


def shared_plain_fields(old, new):
    """Top-level fields both schemas have with the same type and no logical
    type: their values must come back unchanged."""
    new_fields = {f["name"]: f for f in new["fields"]}
    out = []
    for f in old["fields"]:
        g = new_fields.get(f["name"])
        if g is not None and f["type"] == g["type"] and "logicalType" not in json.dumps(f["type"]):
            out.append(f["name"])
    return out


def resolution_problems(old, new):
    """Writes samples with old and reads them with new; returns what went
    wrong (empty when new reads everything old wrote)."""
    problems = []
    try:
        writer = fastavro.parse_schema(copy.deepcopy(old))
        reader = fastavro.parse_schema(copy.deepcopy(new))
    except Exception as e:  # a schema that does not even parse
        return ["does not parse: %s" % e]
    shared = shared_plain_fields(old, new)
    for record in samples(old):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, writer, record)
        buf.seek(0)
        try:
            got = fastavro.schemaless_reader(buf, writer, reader)
        except Exception as e:
            problems.append("%s: %s" % (type(e).__name__, e))
            break
        if buf.read(1):
            problems.append("bytes left after reading a record")
            break
        changed = [f for f in shared if got.get(f) != record.get(f)]
        if changed:
            problems.append("fields read back differently: %s" % changed)
            break
    return problems


# ---- the checks ---------------------------------------------------------------------

def test_released_copy_is_the_release():
    release, old = released_schemas()
    commit = RELEASE_COMMIT.get(release)
    assert commit, "RELEASE_COMMIT names no commit for release %s" % release
    has_commit = subprocess.run(["git", "-C", REPO, "cat-file", "-e", commit + "^{commit}"],
                                capture_output=True).returncode == 0
    if not has_commit:
        pytest.skip("the checkout does not have commit %s (shallow clone or tarball): the copy "
                    "in schemas/released/%s is taken as it is" % (commit, release))
    listed = subprocess.run(["git", "-C", REPO, "ls-tree", "--name-only", commit, "schemas/"],
                            capture_output=True, text=True, check=True).stdout.split()
    at_commit = sorted(os.path.basename(p)[:-5] for p in listed if p.endswith(".avsc"))
    assert sorted(old) == at_commit
    for name in at_commit:
        text = subprocess.run(["git", "-C", REPO, "show", "%s:schemas/%s.avsc" % (commit, name)],
                              capture_output=True, text=True, check=True).stdout
        assert json.loads(text) == old[name], "schemas/released/%s/%s.avsc differs" % (release,
                                                                                      name)


def test_every_released_record_still_exists():
    _, old = released_schemas()
    current = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(SCHEMAS, "*.avsc"))}
    missing = sorted(set(old) - current)
    assert not missing, ("records of the previous release have no schema any more (their "
                         "records on the topics could not be read): %s" % missing)


@pytest.mark.parametrize("name", sorted(released_schemas()[1]))
def test_current_schema_reads_what_the_release_wrote(name):
    _, old = released_schemas()
    path = os.path.join(SCHEMAS, name + ".avsc")
    if not os.path.exists(path):
        pytest.fail("schemas/%s.avsc is gone" % name)
    problems = resolution_problems(old[name], load(path))
    assert not problems, "schemas/%s.avsc cannot read records of the previous release: %s" % (
        name, problems)


def test_samples_cover_every_branch_and_symbol():
    """The generator itself: every enum symbol and every union branch of
    VisitEvent appears in its samples."""
    _, old = released_schemas()
    schema = old["VisitEvent"]
    records = samples(schema)
    names = named_types(schema)
    for f in schema["fields"]:
        t = f["type"]
        if isinstance(t, dict) and t.get("type") == "enum":
            assert {r[f["name"]] for r in records} == set(t["symbols"]), f["name"]
        if isinstance(t, list):
            kinds = {type(r[f["name"]]).__name__ for r in records}
            assert len(kinds) == len(t), (f["name"], kinds)
    assert names


# A released schema changed in ways the rules forbid, and in ways they allow.
def _visit(old):
    return copy.deepcopy(old["VisitEvent"])


def _enum_field(schema):
    return next(f for f in schema["fields"]
                if isinstance(f["type"], dict) and f["type"].get("type") == "enum")


def _string_field(schema):
    return next(f for f in schema["fields"] if f["type"] == "string")


BREAKING = {
    "a field added without a default": lambda s: s["fields"].append(
        {"name": "new_required", "type": "string"}),
    "an enum symbol removed": lambda s: _enum_field(s)["type"].update(
        symbols=_enum_field(s)["type"]["symbols"][:-1]),
    "a field's type changed": lambda s: _string_field(s).update(type="int"),
}
ALLOWED = {
    "a nullable field added with default null": lambda s: s["fields"].append(
        {"name": "new_optional", "type": ["null", "string"], "default": None}),
    "a field removed": lambda s: s["fields"].remove(_string_field(s)),
    "an enum symbol added": lambda s: _enum_field(s)["type"]["symbols"].append("NEW_SYMBOL"),
    "doc changed": lambda s: s.update(doc="another text"),
}


@pytest.mark.parametrize("change", sorted(BREAKING))
def test_the_check_catches_a_breaking_change(change):
    _, old = released_schemas()
    new = _visit(old)
    BREAKING[change](new)
    assert resolution_problems(old["VisitEvent"], new), change


@pytest.mark.parametrize("change", sorted(ALLOWED))
def test_the_check_allows_a_compatible_change(change):
    _, old = released_schemas()
    new = _visit(old)
    ALLOWED[change](new)
    assert not resolution_problems(old["VisitEvent"], new), change


# ---- the registry's own check ------------------------------------------------------------

def registry_url():
    url = os.environ.get("CW_REGISTRY_URL")
    if url:
        return url.rstrip("/")
    script = os.path.join(REPO, "deploy", "registry", "registry")
    status = subprocess.run([script, "status"], capture_output=True, text=True)
    if status.returncode != 0:
        pytest.skip("no schema registry running (deploy/registry/registry start): %s"
                    % " / ".join(status.stdout.strip().splitlines()[:3]))
    return subprocess.run([script, "url"], capture_output=True, text=True,
                          check=True).stdout.strip()


def full_name(schema):
    ns = schema.get("namespace", "")
    return schema["name"] if "." in schema["name"] or not ns else ns + "." + schema["name"]


def registry_compatible(url, subject, old, new):
    headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    r = requests.post("%s/subjects/%s/versions" % (url, subject), headers=headers, timeout=10,
                      data=json.dumps({"schema": json.dumps(old)}))
    assert r.status_code == 200, r.text
    r = requests.put("%s/config/%s" % (url, subject), headers=headers, timeout=10,
                     data=json.dumps({"compatibility": "BACKWARD"}))
    assert r.status_code == 200, r.text
    r = requests.post("%s/compatibility/subjects/%s/versions/latest" % (url, subject),
                      headers=headers, timeout=10, data=json.dumps({"schema": json.dumps(new)}))
    assert r.status_code == 200, r.text
    return r.json()["is_compatible"]


def test_registry_finds_every_current_schema_backward_compatible():
    url = registry_url()
    run = uuid.uuid4().hex[:8]
    _, old = released_schemas()
    incompatible = []
    for name, schema in sorted(old.items()):
        subject = "evolution-%s.%s" % (run, full_name(schema))
        if not registry_compatible(url, subject, schema, load(os.path.join(SCHEMAS,
                                                                            name + ".avsc"))):
            incompatible.append(name)
    assert not incompatible, "the registry finds these not BACKWARD compatible: %s" % incompatible
    # And it does refuse a breaking change (the check is on).
    new = _visit(old)
    BREAKING["a field added without a default"](new)
    assert not registry_compatible(url, "evolution-%s.breaking" % run, old["VisitEvent"], new)
