"""Avro single-object encoding (C3 01, CRC-64-AVRO fingerprint, body),
decoded with fastavro and the .avsc files in schemas/ — independently of the
C codec, so tests that use it check the services' output against the spec."""

import glob
import io
import json
import os
import struct

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MARKER = b"\xc3\x01"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The .avsc files: $CAREWATCH_SCHEMAS_DIR, else the schemas/ of the checkout
# this package lives in (installed editable: pip install -e tools).
SCHEMA_DIR = os.environ.get("CAREWATCH_SCHEMAS_DIR") or os.path.join(REPO, "schemas")


class Registry:
    """Every schema in schemas/, by record name and by fingerprint."""

    def __init__(self, schema_dir=None):
        schema_dir = schema_dir or SCHEMA_DIR
        self.by_name = {}
        self.by_fingerprint = {}
        paths = sorted(glob.glob(os.path.join(schema_dir, "*.avsc")))
        if not paths:
            raise FileNotFoundError(
                "no .avsc schemas in %s: carewatch_py reads the checkout's schemas/ when it is "
                "installed editable (pip install -e tools), else set CAREWATCH_SCHEMAS_DIR"
                % schema_dir)
        for path in paths:
            with open(path, encoding="utf-8") as f:
                parsed = fastavro.parse_schema(json.load(f))
            name = parsed["name"].rsplit(".", 1)[-1]
            fp_hex = fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")
            fp = int.from_bytes(bytes.fromhex(fp_hex), "little")
            self.by_name[name] = (parsed, fp)
            self.by_fingerprint[fp] = (name, parsed)

    def decode(self, payload):
        """Returns (record name, record dict); raises ValueError when the
        payload is not single-object encoded with a known schema."""
        if len(payload) < 10 or payload[:2] != MARKER:
            raise ValueError("not Avro single-object encoding")
        (fp,) = struct.unpack("<Q", payload[2:10])
        if fp not in self.by_fingerprint:
            raise ValueError("unknown schema fingerprint %016x" % fp)
        name, schema = self.by_fingerprint[fp]
        body = io.BytesIO(payload[10:])
        record = fastavro.schemaless_reader(body, schema)
        if body.read(1):
            raise ValueError("trailing bytes after the %s record" % name)
        return name, record

    def encode(self, name, record):
        schema, fp = self.by_name[name]
        out = io.BytesIO()
        out.write(MARKER + struct.pack("<Q", fp))
        fastavro.schemaless_writer(out, schema, record)
        return out.getvalue()
