"""Command-line behaviour of the service binaries, of `carewatch simulate`
and `carewatch import` (the Python tools they run), and the generated
configuration docs."""

import os
import subprocess
import sys

from carewatch_py.deployment import read_services
from conftest import BUILD_DIR, REPO

INGEST = os.path.join(BUILD_DIR, "services", "ingest", "carewatch-ingest")
CLI = os.path.join(BUILD_DIR, "services", "cli", "carewatch")


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


def test_services_accept_their_local_configs():
    """Every service of deploy/services.txt, with its local file and the
    ports deploy/local/services passes."""
    for svc in read_services():
        binary = os.path.join(BUILD_DIR, "services", svc.name, "carewatch-" + svc.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
        env["CAREWATCH_ADMIN_PORT"] = str(svc.admin_port)
        if svc.http_port:
            env["CAREWATCH_HTTP_PORT"] = str(svc.http_port)
        r = subprocess.run([binary, "--check-config", "--config",
                            os.path.join(REPO, "deploy/local/config/%s.yaml" % svc.name)],
                           capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        assert r.stdout.startswith("carewatch-%s " % svc.name)


def run_cli(*args, cwd=None, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    full.update(env)
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, env=full,
                          cwd=cwd)


def test_simulate_and_import_run_the_installed_package(tmp_path):
    """From any directory, with nothing set: the checkout's virtualenv (or
    $CAREWATCH_VENV's) runs `-m carewatch_py.simulate|importer`, and the
    tool's own exit status comes back."""
    for command, module in (("simulate", "simulate"), ("import", "importer")):
        r = run_cli(command, "--help", cwd=str(tmp_path),
                    CAREWATCH_VENV=os.path.dirname(os.path.dirname(sys.executable)))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("usage: carewatch %s " % command), r.stdout
    r = run_cli("simulate", "--seed", "1", cwd=str(tmp_path), CAREWATCH_PYTHON=sys.executable)
    assert r.returncode == 2 and "--out" in r.stderr, r.stderr
    r = run_cli("simulate", "--seed", "1", "--streets", "1", "--elders", "12", "--providers", "1",
                "--start", "2024-06-03", "--days", "1", "--out", str(tmp_path / "sim"),
                cwd=str(tmp_path), CAREWATCH_PYTHON=sys.executable)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "sim")) == ["district.ndjson", "truth.csv"]


def test_simulate_says_how_to_install_the_package(tmp_path):
    """A Python without carewatch_py, or no Python at all: exit 2 and a
    message that says what to do."""
    bare = tmp_path / "python"
    # -S: no site-packages, so no carewatch_py (installed editable there).
    bare.write_text('#!/bin/sh\nexec "%s" -S "$@"\n' % sys.executable)
    bare.chmod(0o755)
    r = run_cli("simulate", "--help", cwd=str(tmp_path), CAREWATCH_PYTHON=str(bare))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "has no carewatch_py" in r.stderr and "-m pip install -e" in r.stderr, r.stderr
    assert os.path.join(REPO, "tools") in r.stderr, r.stderr
    r = run_cli("import", "--help", cwd=str(tmp_path),
                CAREWATCH_PYTHON=str(tmp_path / "no-such-python"))
    assert r.returncode == 2 and "cannot run" in r.stderr and "CAREWATCH_PYTHON" in r.stderr
