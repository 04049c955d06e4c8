#!/usr/bin/env python3
"""Writes one record per schema, encoded by fastavro (an implementation
independent of carewatch's C codec), to tests/unit/data/avro/<Record>.bin.
The unit test test_schemas decodes each with the C codec and checks that it
encodes back to the same bytes. Values are derived from the schema itself:
every nullable field holds a value, arrays two items, strings include
non-ASCII text, numbers sit away from zero.

usage: .venv/bin/python tools/make_avro_fixtures.py
"""

import json
import os

from carewatch_py.avro_single import REPO, Registry

OUT = os.path.join(REPO, "tests", "unit", "data", "avro")


PRIMITIVES = {
    "string": lambda name, depth: "%s-值-%d" % (name, depth),
    "long": lambda name, depth: 1234567890123,
    "int": lambda name, depth: -4242,
    "double": lambda name, depth: 41.304123456789,
    "boolean": lambda name, depth: True,
    "bytes": lambda name, depth: bytes(range(7)) + name.encode(),
}


def value_for(schema, name, depth=0, named=None):
    """A value of schema; named holds the named types seen so far (a type
    used again by its name, as an enum shared by two fields)."""
    named = {} if named is None else named
    if isinstance(schema, list):  # union: take the first non-null branch
        branch = next(b for b in schema if b != "null")
        return value_for(branch, name, depth, named)
    if isinstance(schema, dict):
        kind = schema["type"]
        if "name" in schema:
            named[schema["name"]] = schema
        if kind == "record":
            return {f["name"]: value_for(f["type"], f["name"], depth + 1, named)
                    for f in schema["fields"]}
        if kind == "enum":
            return schema["symbols"][-1]
        if kind == "array":
            return [value_for(schema["items"], name + "-%d" % i, depth, named) for i in range(2)]
        if kind == "long" and schema.get("logicalType") == "timestamp-millis":
            return 1714957320000  # 2024-05-06T09:02:00+08:00
        return value_for(kind, name, depth, named)
    if schema in PRIMITIVES:
        return PRIMITIVES[schema](name, depth)
    return value_for(named[schema.split(".")[-1]], name, depth, named)


def main():
    registry = Registry()
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(registry.by_name):
        with open(os.path.join(REPO, "schemas", name + ".avsc"), encoding="utf-8") as f:
            raw = json.load(f)
        record = value_for(raw, name)
        payload = registry.encode(name, record)
        assert registry.decode(payload) is not None
        with open(os.path.join(OUT, name + ".bin"), "wb") as f:
            f.write(payload)
    print("wrote %d fixtures to %s" % (len(registry.by_name), OUT))


if __name__ == "__main__":
    main()
