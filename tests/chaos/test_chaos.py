"""Chaos: processes, Redis, upstreams and the disk fail at random points; nothing is lost or doubled.

`make chaos` runs the slow test (CHAOS_SEED, CHAOS_ROUNDS); the smoke round runs in the default suite.
Each round is described in `tests/chaos/round.py`; the invariants in `tests/chaos/invariants.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.report import summary_table
from tests.chaos.round import RoundResult, run_round


def assert_clean(results: list[RoundResult]) -> None:
    for result in results:
        found = result.findings
        assert found.lost == 0, found.problems
        assert found.duplicates == 0, found.problems
        assert found.foreign == 0, found.problems
        assert found.unsettled == 0, found.problems
        assert found.settled_twice == 0, found.problems
        assert found.ledger_mismatches == 0, found.problems
        assert found.summary_mismatches == 0, found.problems
        assert found.orphan_files == 0, found.problems
        assert found.unplanned_deaths == 0, found.problems
        assert not [p for p in found.problems if "still" in p or "failed" in p or "unexpected" in p], found.problems


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_chaos_rounds(tmp_path: Path) -> None:
    seed = os.environ.get("CHAOS_SEED", "1")
    rounds = int(os.environ.get("CHAOS_ROUNDS", "3"))
    results = [run_round(tmp_path / f"round-{n}", seed, n) for n in range(1, rounds + 1)]
    print("\n" + summary_table(results))
    assert_clean(results)
    assert sum(sum(r.faults.values()) for r in results) >= 5 * rounds, "the monkey must actually inject faults"


@pytest.mark.timeout(120)
def test_chaos_smoke(tmp_path: Path) -> None:
    results = [run_round(tmp_path / "smoke", os.environ.get("CHAOS_SEED", "smoke"), 0, smoke=True)]
    print("\n" + summary_table(results))
    assert_clean(results)
    assert sum(results[0].faults.values()) >= 3
