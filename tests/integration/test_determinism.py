"""The determinism suite (docs/determinism.md), small size: one simulated
district fed through the whole pipeline at full speed, paced, with the
ledger-writer paused, with the broker, Redis and every service killed and
restarted, and with two instances in each checker group; every verdict,
OrderFinalized, statement, payment instruction and freeze must be the same
in every scenario, every order finalized exactly once and the ledger
verified.

Each scenario runs on a stack of its own (Kafka 19092, controller 19093,
Redis 16379, ingest 18080, admin ports from 19101; data under
var/determinism-test): the shared stack of tests/run (9092/6379) is not
used, so this module overrides conftest's check that it runs."""

import os
import re
import shlex
import sys

import pytest

from carewatch_py import determinism
from carewatch_py.district import FRAUD_RULES, PARTNER

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

BUILD_DIR = os.environ.get("CW_BUILD_DIR", os.path.join(REPO, "build"))
WORKDIR = os.path.join(REPO, "var", "determinism-test")


@pytest.fixture(scope="session", autouse=True)
def kafka_up():
    """Overrides conftest's: this module needs nothing of the shared stack."""
    yield


# ---- the plan and the comparison, no stack needed ------------------------------------


def test_plan_is_deterministic_and_has_everything_the_suite_needs():
    plan = determinism.Plan("small")
    again = determinism.Plan("small")
    assert plan.records == again.records
    counts = plan.district.counts()
    for fraud in list(FRAUD_RULES) + [PARTNER]:
        assert counts.get(fraud, 0) >= 1, (fraud, counts)
    assert plan.evidence_in_time and plan.late_evidence and plan.evidence_reused
    kinds = {u["kind"] for u in plan.unfreezes}
    assert kinds == {"visit_overlap", "schedule_overlap"}
    position = {}
    for i, r in enumerate(plan.records):
        key = r.get("event_id") or (r["type"], r.get("order_id") or r.get("caregiver_id"))
        position[key] = i
    for u in plan.unfreezes:
        unfreeze = position[("unfreeze", u["caregiver_id"])]
        # Every event of the frozen pair before the unfreeze, the extra
        # order and its visit after it.
        for oid in (u["partner"], u["overlap"]):
            for suffix in ("-in", "-out"):
                if oid + suffix in position:
                    assert position[oid + suffix] < unfreeze, (u, suffix)
        assert unfreeze < position[("order", u["extra"])] < position[u["extra"] + "-in"] \
            < position[u["extra"] + "-out"]
    assert set(plan.order_ids) >= {t["order_id"] for t in plan.truth}
    assert len(set(plan.order_ids)) == len(plan.order_ids)


def _outcome(verdicts, finals):
    o = determinism.Outcome()
    o.verdicts = set(verdicts)
    o.finals = dict(finals)
    return o


def test_comparison_names_what_differs():
    plan = determinism.Plan("small")
    a, b = determinism.Run("full"), determinism.Run("kills")
    a.outcome = _outcome({("O1-in:GEO_DISTANCE", "GEO_DISTANCE", "PASS")},
                         {"O1": ("VALID", (), "2024-05-27T09:00:00.000+08:00", "K1", 4000),
                          "O2": ("VALID", (), "2024-05-27T10:00:00.000+08:00", "K1", 4000)})
    b.outcome = _outcome({("O1-in:GEO_DISTANCE", "GEO_DISTANCE", "YELLOW")},
                         {"O1": ("INVALID", ("EVIDENCE_EXPIRED", "GEO_DISTANCE"),
                                 "2024-05-30T09:00:00.000+08:00", "K1", 4000),
                          "O2": ("VALID", (), "2024-05-27T10:00:00.000+08:00", "-", 0)})
    result = determinism.SuiteResult(plan, [a, b])
    assert not result.identical and not result.ok
    report = result.report()
    assert "kills: DIFFERS from full in verdicts (1), finals (2)" in report
    assert "O1-in:GEO_DISTANCE: full PASS, kills YELLOW" in report
    assert "INVALID [EVIDENCE_EXPIRED,GEO_DISTANCE]" in report
    # The contract an order is paid under is ledger content too.
    assert "contract - at 0" in report and "contract K1 at 4000" in report


def test_normalise_reports_checks_and_orders_decided_two_ways():
    fin = {"order_id": "O1", "status": "VALID", "reasons": [], "finalized_at": 1,
           "ledger_index": 0, "contract_id": "K1", "unit_price_cents": 4000}
    records = [
        ("visit.checks", "O1", "CheckResult",
         {"check_id": "O1-in:FACE_MISMATCH", "rule": "FACE_MISMATCH", "outcome": "PASS"}),
        ("visit.checks", "O1", "CheckResult",
         {"check_id": "O1-in:FACE_MISMATCH", "rule": "FACE_MISMATCH", "outcome": "ORANGE"}),
        ("orders.finalized", "O1", "OrderFinalized", fin),
        ("orders.finalized", "O1", "OrderFinalized", dict(fin)),  # a republished copy
        ("orders.finalized", "O2", "OrderFinalized", dict(fin, order_id="O2", ledger_index=2)),
    ]
    out = determinism.normalise(records)
    assert out.final_records == 3 and len(out.finals) == 2
    text = "\n".join(out.problems)
    assert "check O1-in:FACE_MISMATCH decided two ways" in text
    assert "ledger indexes of the 2 orders are not 0..1: missing [1], beyond [2]" in text


def test_a_checkpoint_that_promised_too_much_is_a_problem():
    cp = {"tree_size": 2, "finalized_through": 2000}
    fin = {"status": "VALID", "reasons": [], "contract_id": None, "unit_price_cents": 0}
    records = [
        ("orders.finalized", "O1", "OrderFinalized",
         dict(fin, order_id="O1", finalized_at=1000, ledger_index=0)),
        ("orders.finalized", "O2", "OrderFinalized",
         dict(fin, order_id="O2", finalized_at=3000, ledger_index=1)),
        ("ledger.checkpoints", None, "LedgerCheckpoint", cp),
        ("orders.finalized", "O3", "OrderFinalized",
         dict(fin, order_id="O3", finalized_at=2000, ledger_index=2)),
    ]
    out = determinism.normalise(records)
    (problem,) = out.problems
    assert "checkpoint of 2 entries" in problem and "1 such orders" in problem
    assert "first: O3, index 2" in problem
    # Kept when the order it waited for is inside the tree.
    records[3] = ("orders.finalized", "O3", "OrderFinalized",
                  dict(fin, order_id="O3", finalized_at=2001, ledger_index=2))
    assert determinism.normalise(records).problems == []


def test_documented_commands_are_the_ones_that_run():
    with open(os.path.join(REPO, "docs", "determinism.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
    (test_cmd,) = [b for b in blocks if "pytest" in b]
    assert "tests/integration/test_determinism.py" in test_cmd
    (month_cmd,) = [b for b in blocks if "carewatch_py.determinism" in b]
    argv = shlex.split(month_cmd)
    args = determinism.parse_args(argv[argv.index("carewatch_py.determinism") + 1:])
    assert args.size == "month" and args.scenarios == list(determinism.SCENARIOS)
    assert os.path.isdir(os.path.join(REPO, args.build)) or args.build == "build"


# ---- the suite on real stacks ------------------------------------------------------------


def test_every_scenario_gives_identical_results():
    result = determinism.run_suite(BUILD_DIR, "small", determinism.SCENARIOS, workdir=WORKDIR,
                                   out=sys.stdout)
    report = result.report()
    print(report)
    assert result.ok, report
