"""The seeded fault simulation: a fixed small set of seeds in CI, any seed by hand.

    SIM_SEED=1234 /work/main/.venv/bin/pytest -q -p no:logging tests/sim/test_fault_simulation.py
    SIM_STEPS=400 SIM_SEED=1234 …   (a longer history)

A failure message names the seed and the step; the same seed replays the same history exactly.
"""
import os

import pytest

from tests.sim.fake_stripe import FakeStripe
from tests.sim.simulation import Simulation

CI_SEEDS = [1, 2, 3]
SEEDS = [int(os.environ["SIM_SEED"])] if os.environ.get("SIM_SEED") else CI_SEEDS
STEPS = int(os.environ.get("SIM_STEPS", "60"))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seeded_history_of_faults_keeps_the_ledger_true_and_loses_nothing(app, monkeypatch, capsys, seed):
    stripe = FakeStripe().install(monkeypatch)
    tally = Simulation(app, seed, stripe, steps=STEPS).run()
    with capsys.disabled():
        print(f"\nsimulation SIM_SEED={seed}, {STEPS} steps: " +
              ", ".join(f"{name} {count}" for name, count in sorted(tally.counts.items())))
    assert tally.counts.get("event paid", 0) >= 1


def test_the_same_seed_replays_the_same_history(app, monkeypatch):
    first = Simulation(app, 7, FakeStripe().install(monkeypatch), steps=15).run().counts
    from tests.conftest import _clean_tables

    with app.app_context():
        _clean_tables()
    second = Simulation(app, 7, FakeStripe().install(monkeypatch), steps=15).run().counts
    assert first == second
