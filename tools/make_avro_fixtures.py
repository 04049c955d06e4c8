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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from carewatch_py.avro_single import REPO, Registry  # noqa: E402

OUT = os.path.join(REPO, "tests", "unit", "data", "avro")


def value_for(schema, name, depth=0):
    if isinstance(schema, list):  # union: take the first non-null branch
        branch = next(b for b in schema if b != "null")
        return value_for(branch, name, depth)
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind == "record":
            return {f["name"]: value_for(f["type"], f["name"], depth + 1)
                    for f in schema["fields"]}
        if kind == "enum":
            return schema["symbols"][-1]
        if kind == "array":
            return [value_for(schema["items"], name + "-%d" % i, depth) for i in range(2)]
        if kind == "long" and schema.get("logicalType") == "timestamp-millis":
            return 1714957320000  # 2024-05-06T09:02:00+08:00
        return value_for(kind, name, depth)
    return {
        "string": "%s-值-%d" % (name, depth),
        "long": 1234567890123,
        "int": -4242,
        "double": 41.304123456789,
        "boolean": True,
        "bytes": bytes(range(7)) + name.encode(),
    }[schema]


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
