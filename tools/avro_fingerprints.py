#!/usr/bin/env python3
"""Cross-checks the C Avro codec against Python fastavro.

    tools/avro_fingerprints.py
        Prints, for every schemas/*.avsc, the Parsing Canonical Form and the
        CRC-64-AVRO fingerprint as fastavro computes them, then the table of
        expected fingerprints used by tests/unit/test_schemas.c.

    tools/avro_fingerprints.py --check-payloads DIR
        Decodes every DIR/*.bin (single-object encoded messages, e.g. written
        by `CW_AVRO_DUMP_DIR=DIR build/tests/test_schemas`) with fastavro and
        the .avsc files, and checks that re-encoding each record with fastavro
        gives the same bytes. Exits 1 on any difference.

    tools/avro_fingerprints.py --write-payloads DIR
        Writes two fastavro-encoded sample messages per schema:
        DIR/<Record>.fastavro.bin (optional fields set) and
        DIR/<Record>.fastavro-null.bin (optional fields null), for
        `CW_AVRO_FOREIGN_DIR=DIR build/tests/test_schemas` to decode with the C
        codec.

Note: fastavro.schema.fingerprint() returns the fingerprint's bytes in
little-endian order as hex, i.e. exactly the 8 bytes that follow C3 01 on the
wire; int(hex, 16) is *not* the fingerprint value.
"""

import argparse
import glob
import io
import json
import os
import sys

try:
    import fastavro
    from fastavro.schema import fingerprint, to_parsing_canonical_form
except ImportError:
    sys.exit("fastavro is needed: pip install fastavro")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = b"\xc3\x01"


def load_schemas(schema_dir):
    """{record name: (parsed schema, canonical form, fingerprint bytes)}"""
    schemas = {}
    for path in sorted(glob.glob(os.path.join(schema_dir, "*.avsc"))):
        name = os.path.basename(path)[: -len(".avsc")]
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        canonical = to_parsing_canonical_form(raw)
        wire = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
        schemas[name] = (fastavro.parse_schema(raw), canonical, wire)
    return schemas


def print_fingerprints(schemas):
    for name, (_, canonical, wire) in schemas.items():
        value = int.from_bytes(wire, "little")
        print("%s %016x\n  %s" % (name, value, canonical))
    print("\n/* for tests/unit/test_schemas.c */")
    for name, (_, _, wire) in schemas.items():
        print('    {"%s", UINT64_C(0x%016x)},' % (name, int.from_bytes(wire, "little")))


def check_payload(path, by_wire):
    with open(path, "rb") as f:
        payload = f.read()
    if len(payload) < 10 or payload[:2] != MARKER:
        return "not single-object encoded"
    entry = by_wire.get(payload[2:10])
    if entry is None:
        return "unknown fingerprint %s" % payload[2:10].hex()
    name, schema = entry
    body = io.BytesIO(payload[10:])
    record = fastavro.schemaless_reader(body, schema)
    rest = body.read()
    if rest:
        return "%d trailing bytes after the %s record" % (len(rest), name)
    again = io.BytesIO()
    fastavro.schemaless_writer(again, schema, record)
    if again.getvalue() != payload[10:]:
        return "%s: fastavro re-encodes the record differently" % name
    print("%s: %s %s" % (os.path.basename(path), name, record))
    return None


def check_payloads(directory, schemas):
    by_wire = {wire: (name, parsed) for name, (parsed, _, wire) in schemas.items()}
    paths = sorted(glob.glob(os.path.join(directory, "*.bin")))
    if not paths:
        sys.exit("no .bin files in %s" % directory)
    failures = 0
    for path in paths:
        problem = check_payload(path, by_wire)
        if problem:
            failures += 1
            print("FAIL %s: %s" % (os.path.basename(path), problem))
    print("%d payloads, %d failed" % (len(paths), failures))
    return 1 if failures else 0


def sample_value(schema, counter, nulls):
    """A deterministic value of a parsed fastavro schema; optional fields
    are null when nulls is true."""
    counter[0] += 1
    k = counter[0]
    if isinstance(schema, list):
        non_null = [branch for branch in schema if branch != "null"]
        if nulls and "null" in schema:
            return None
        return sample_value(non_null[0], counter, nulls)
    if isinstance(schema, str):
        schema = {"type": schema}
    kind = schema["type"]
    if kind == "record":
        return {f["name"]: sample_value(f["type"], counter, nulls) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][k % len(schema["symbols"])]
    if kind == "array":
        return [] if nulls else [sample_value(schema["items"], counter, nulls) for _ in range(2)]
    if kind == "map":
        return {} if nulls else {"k%d" % k: sample_value(schema["values"], counter, nulls)}
    if kind == "string":
        return "py%d-\u793e\u533a" % k
    if kind == "bytes":
        return bytes([k % 256, 0, 255])
    if kind == "int":
        return -k * 7919 if k % 2 else k * 7919
    if kind == "long":
        return 1714521600000 + k * 1000
    if kind in ("double", "float"):
        return k + 0.75
    if kind == "boolean":
        return k % 2 == 0
    if kind == "null":
        return None
    raise ValueError("no sample for %r" % kind)


def write_payloads(directory, schemas):
    os.makedirs(directory, exist_ok=True)
    for name, (parsed, _, wire) in schemas.items():
        for variant, nulls in (("fastavro", False), ("fastavro-null", True)):
            out = io.BytesIO()
            out.write(MARKER + wire)
            fastavro.schemaless_writer(out, parsed, sample_value(parsed, [0], nulls))
            with open(os.path.join(directory, "%s.%s.bin" % (name, variant)), "wb") as f:
                f.write(out.getvalue())
    print("wrote %d payloads to %s" % (2 * len(schemas), directory))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", default=os.path.join(REPO, "schemas"))
    parser.add_argument("--check-payloads", metavar="DIR")
    parser.add_argument("--write-payloads", metavar="DIR")
    args = parser.parse_args()
    schemas = load_schemas(args.schemas)
    if args.write_payloads:
        return write_payloads(args.write_payloads, schemas)
    if args.check_payloads:
        return check_payloads(args.check_payloads, schemas)
    print_fingerprints(schemas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
