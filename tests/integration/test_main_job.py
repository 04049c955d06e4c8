"""The README's main-job command, deploy/local/run, end to end on the local
stack (which tests/run has started, so the command leaves it running)."""

import os
import subprocess

from conftest import REPO

from carewatch_py import demo_day


def test_main_job_runs_and_shows_the_intake_flags():
    r = subprocess.run([os.path.join(REPO, "deploy", "local", "run")], cwd=REPO,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "fed 8 elders, 4 caregivers, 2 contracts, 5 orders, 10 visit events" in out
    flagged = [line.split() for line in out.splitlines() if line.startswith("  ")
               and len(line.split()) >= 6 and line.split()[2] == "order"]
    got = {(f[5], f[1]): f[0] for f in flagged}
    assert got == demo_day.EXPECTED_INTAKE_FLAGS, out
    assert "undecodable" not in out
