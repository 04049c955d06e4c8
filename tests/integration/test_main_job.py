"""The README's commands on the local stack (which tests/run has started, so
they leave it running): the main job, then the "Try it" block against the
services it kept running."""

import json
import os
import re
import subprocess

from conftest import REPO, allocate_day

from carewatch_py.demo_day import (EXPECTED, EXPECTED_EVIDENCE, EXPECTED_FINAL_AFTER_LAST, Day,
                                   VISITS_PER_MONTH)


def readme_block(heading):
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split(heading, 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def run(cmd, timeout, env=None):
    return subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


def test_main_job_then_try_it(ids):
    # The services of the main job read the shared broker from the
    # beginning: its day must be later than the days other tests posted.
    day = allocate_day()
    # The simulated district runs from two to four weeks after the day.
    allocate_day()
    allocate_day()
    # Its own providers and contracts too: other tests' days fall in the same
    # months, and no order of theirs may land on its statements.
    r = run("deploy/local/run --keep", 900, env={"CW_DEMO_DATE": day, "CW_DEMO_PREFIX": ids})
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        # Compared without the prefix, against the scripted day's tables.
        out = r.stdout.replace(ids, "")
        assert "fed 12 elders, 18 caregivers, 2 contracts, 29 orders, 47 visit events" in out
        flagged = [line.split() for line in out.splitlines() if line.startswith("  ")
                   and len(line.split()) >= 6 and line.split()[2] == "order"]
        got = {(f[5], f[1]): f[0] for f in flagged}
        # The local stack allows 2 minutes of lateness (the tests allow a
        # day): the back-filled visit comes after its no-show timer fired,
        # and its check-out may come after its no-checkout timer fired (when
        # its caregiver's partition holds a caregiver whose day ended later,
        # that partition's clock is past the timer when the check-in comes).
        # The day's month is judged (UNDER_SERVED) once the month-closing
        # visits are in: every elder of the day but elder 1 falls short.
        months = {k: v for k, v in Day("", day).expected_month().items() if v != "PASS"}
        assert len(months) == 12 - len(VISITS_PER_MONTH)
        expected = {**EXPECTED, **EXPECTED_EVIDENCE, **months}
        assert set(got) - set(expected) <= {("O-LATE", "NO_SHOW"),
                                            ("O-LATE-in", "NO_CHECKOUT")}, out
        assert {k: v for k, v in got.items() if k in expected} == expected, out
        assert re.search(r"^  CG11 +SCHEDULE_OVERLAP on order O-SCHED-B$", out, re.M), out
        assert re.search(r"^  CG12 +UNCERTIFIED on order O-NOCERT$", out, re.M), out
        assert re.search(r"^  CG14 +ELDER_UNAVAILABLE on order O-HOSP-VISIT$", out, re.M), out
        assert re.search(r"^  CG16 +CROSS_PROVIDER_OVERLAP on order O-XPROV-B$", out, re.M), out
        assert re.search(r"^  CG18 +CROSS_PROVIDER_OVERLAP on order O-XVISIT-B$", out, re.M), out
        assert "undecodable" not in out

        # Every order of the day finalized as the scripted day says, each one
        # ledger entry, and the ledger verifies.
        finals = {}
        for line in out.splitlines():
            if line.startswith("  final "):
                fields = line.split()
                finals[fields[2]] = fields[1]
        assert finals == EXPECTED_FINAL_AFTER_LAST, out
        # (The stack is the tests' own: its ledger also holds their orders.)
        assert re.search(r"^  OK: carewatch\.ledger/carewatch-local/sm3: \d+ entries", out,
                         re.M), out
        # The day's T+3 statements count every finalized order of the day.
        assert re.search(r"statement K-P01-2024-\d\d:\S+ +valid +7 invalid +8 gross +280\.00 "
                         r"deduction +1440\.00", out), out
        assert re.search(r"statement K-P02-2024-\d\d:\S+ +valid +0 invalid +13 gross +0\.00 "
                         r"deduction +2340\.00", out), out
        assert re.search(r"instruction PREPAY +K-P01-2024-\d\d:PREPAY +36000\.00 yuan", out), out
        # Alerts reached the street offices and the command.
        assert re.search(r"^  S01 +\d+ +\d+ +[1-9]\d*$", out, re.M), out
        assert "to the district command: " in out

        # The simulated district: every injected fraud caught, no honest
        # visit flagged, every order final.
        quality = re.findall(r"^  (\w+) +\S+(?: \S+)*? +(\d+) +(\d+|-) +(\d+|-) +(\d+) +(\d+|-)$",
                             out, re.M)
        assert len(quality) >= 17, out
        rows = {q[0]: q for q in quality}
        for fraud, injected, caught, missed, not_final, false_alarms in quality:
            assert not_final == "0", (fraud, out)
            if fraud == "honest":
                assert int(injected) > 0 and false_alarms == "0", out
            elif fraud == "phantom":  # no rule sees it: VALID until a call-back
                assert int(injected) > 0 and caught == "-" and false_alarms == "0", out
            elif fraud == "callback":  # the phantoms drawn for a call-back, corrected
                assert caught == injected and missed == "0", (fraud, out)
            else:
                assert int(injected) > 0 and caught == injected and missed == "0", (fraud, out)
        assert "callback" in rows, out
        assert re.search(r"^  call-backs: \d+ orders drawn of \d+ valid; \d+ of \d+ phantom "
                         r"visits drawn and denied", out, re.M), out

        # A street office worked its cases at the desk; a denied call-back
        # became a correcting ledger entry.
        assert "supervision desk (http://127.0.0.1:8081), street office S01:" in out, out
        assert re.search(r"^  O-SCHED-B: acknowledge -> 200 ACKNOWLEDGED, resolve CONFIRMED -> "
                         r"200 RESOLVED$", out, re.M), out
        assert re.search(r"^  O-VOICE: acknowledge -> 200 ACKNOWLEDGED, resolve FALSE_ALARM -> "
                         r"200 RESOLVED$", out, re.M), out
        assert re.search(r"^    \S+ +DENIED +-> 201$", out, re.M), out
        assert re.search(r"^    ledger: \S+ corrected to INVALID by entry #\d+ \(corrects #\d+\)",
                         out, re.M), out
        assert re.search(r"^  district command: \d+ red or escalated cases of the day \(S01 \d+, "
                         r"S02 \d+\)$", out, re.M), out

        # The README's desk commands, on the day's case of O-AWAY.
        block = readme_block("## The supervision desk").replace("O-AWAY", ids + "O-AWAY")
        block = block.replace("2024-05-20", day)
        d = run('eval "$(deploy/local/keys)"\n' + block, 60)
        assert d.returncode == 0, d.stdout + d.stderr
        answers, text, decoder = [], d.stdout.strip(), json.JSONDecoder()
        while text:  # curl prints each answer without a newline after it
            value, end = decoder.raw_decode(text)
            answers.append(value)
            text = text[end:].lstrip()
        assert len(answers) == 4, d.stdout
        assert all(c["street_id"] == "S01" and c["status"] == "ESCALATED"
                   for c in answers[0]["cases"]), answers[0]
        assert answers[1]["status"] == "ACKNOWLEDGED" and answers[1]["case_id"] == ids + "O-AWAY"
        assert answers[2]["status"] == "RESOLVED" and answers[2]["resolution"] == "CONFIRMED"
        assert answers[3]["street_id"] == "S01" and answers[3]["day"] == day

        t = run(readme_block("### Try it"), 60)
        assert t.returncode == 0, t.stdout + t.stderr
        assert re.search(r'\{"status":"(accepted|duplicate)","id":"E100"\}', t.stdout), t.stdout
        assert 'carewatch_ingest_responses_total{route="elder",status="202"}' in t.stdout \
            or 'carewatch_ingest_responses_total{route="elder",status="200"}' in t.stdout, t.stdout
        assert re.search(r"^E100 \d+ bytes$", t.stdout, re.M), t.stdout
    finally:
        s = run("deploy/local/services stop", 60)
        assert s.returncode == 0, s.stdout + s.stderr
