"""Command-line behaviour of the service binaries and the generated
configuration docs."""

import os
import subprocess
import sys

from conftest import BUILD_DIR, REPO

INGEST = os.path.join(BUILD_DIR, "services", "ingest", "carewatch-ingest")
CHECKERS = [os.path.join(BUILD_DIR, "services", n, "carewatch-" + n)
            for n in ("geo-validator", "duration-timer", "overlap-detector", "alert-router",
                      "ledger-writer", "payment-scheduler")]


def run(*args, env=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    full.update(env or {})
    return subprocess.run([INGEST, *args], capture_output=True, text=True, timeout=30, env=full)


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("carewatch-ingest ")
    r = run("--help")
    assert r.returncode == 0 and "--config FILE" in r.stdout
    r = run("--bogus")
    assert r.returncode == 2 and "--bogus" in r.stderr


def test_check_config_accepts_the_local_config():
    r = run("--check-config", "--config", os.path.join(REPO, "deploy/local/config/ingest.yaml"))
    assert r.returncode == 0, r.stderr
    assert "is valid" in r.stdout


def test_bad_config_names_key_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kafka:\n  brokers: 127.0.0.1:9092\nhttp:\n  port: 99999\n")
    r = run("--check-config", "--config", str(path))
    assert r.returncode == 2
    assert "bad.yaml:4:" in r.stderr and "http.port" in r.stderr, r.stderr
    path.write_text("kafka:\n  brokerz: x\n")
    r = run("--check-config", "--config", str(path))
    assert r.returncode == 2 and "kafka.brokerz" in r.stderr, r.stderr
    r = run("--check-config", env={"CAREWATCH_RULES_FACE_MATCH_MIN": "1.5"})
    assert r.returncode == 2 and "CAREWATCH_RULES_FACE_MATCH_MIN" in r.stderr, r.stderr


def test_configuration_docs_match_the_binaries():
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "config_docs.py"), "--check",
                        BUILD_DIR], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_checkers_accept_their_local_configs():
    for binary in CHECKERS:
        name = os.path.basename(binary)[len("carewatch-"):]
        r = subprocess.run([binary, "--check-config", "--config",
                            os.path.join(REPO, "deploy/local/config/%s.yaml" % name)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        assert r.stdout.startswith("carewatch-%s " % name)
