"""The README's commands on the local stack (which tests/run has started, so
they leave it running): the main job, then the "Try it" block against the
services it kept running."""

import os
import re
import subprocess

from conftest import REPO

from carewatch_py import demo_day


def readme_block(heading):
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split(heading, 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def run(cmd, timeout):
    return subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_main_job_then_try_it():
    r = run("deploy/local/run --keep", 900)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout
        assert "fed 8 elders, 4 caregivers, 2 contracts, 5 orders, 10 visit events" in out
        flagged = [line.split() for line in out.splitlines() if line.startswith("  ")
                   and len(line.split()) >= 6 and line.split()[2] == "order"]
        assert {(f[5], f[1]): f[0] for f in flagged} == demo_day.EXPECTED_INTAKE_FLAGS, out
        assert "undecodable" not in out

        t = run(readme_block("### Try it"), 60)
        assert t.returncode == 0, t.stdout + t.stderr
        assert re.search(r'\{"status":"(accepted|duplicate)","id":"E100"\}', t.stdout), t.stdout
        assert 'carewatch_ingest_responses_total{route="elder",status="202"}' in t.stdout \
            or 'carewatch_ingest_responses_total{route="elder",status="200"}' in t.stdout, t.stdout
        assert re.search(r"^E100 \d+ bytes$", t.stdout, re.M), t.stdout
    finally:
        s = run("deploy/local/services stop", 60)
        assert s.returncode == 0, s.stdout + s.stderr
