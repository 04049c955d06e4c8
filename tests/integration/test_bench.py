"""The benchmark (docs/performance.md) at its tiny size, so that it cannot
rot: deploy/local/bench brings up a stack of its own (Kafka 29092, controller 29093, Redis
26379, ingest 28080, admin ports from 29101; data under var/bench-test),
measures every row beside its baseline and prints the table. No figure is
asserted against a target here (a loaded CI machine is not a benchmark
machine): only that every row was measured, with its baseline, and that
the work it timed was done (every request accepted, every alert
delivered: the benchmark fails otherwise)."""

import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORKDIR = os.path.join(REPO, "var", "bench-test")

ROWS = ("ingest POST /v1/elders, 16 connections", "ingest POST /v1/elders, 1 connection",
        "Kafka alone",
        "/v1/batch orders", "/v1/batch check-ins", "/v1/batch check-outs",
        "check-in -> alert on street topic", "geo-validator over", "duration-timer over",
        "overlap-detector over", "alert-router over", "ledger-writer over",
        "Redis GET/SET", "ingest peak RSS", "payment-scheduler peak RSS")


@pytest.fixture(scope="session", autouse=True)
def kafka_up():
    """Overrides conftest's: this module needs nothing of the shared stack."""
    yield


def test_tiny_benchmark_prints_every_row(tmp_path):
    out = tmp_path / "bench.json"
    # The README's command, on the release build (tests/run made it).
    r = subprocess.run([os.path.join(REPO, "deploy", "local", "bench"), "--size", "tiny",
                        "--var", WORKDIR, "--json", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    for prefix in ROWS:
        assert any(row["what"].startswith(prefix) for row in rows), (prefix, r.stdout)
    for row in rows:
        assert row["figure"], row
        if not row["what"].endswith("peak RSS"):
            assert row["baseline"], row
    table = [line for line in r.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == len(rows) + 1  # the header
