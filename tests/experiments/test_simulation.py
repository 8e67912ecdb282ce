"""The estimator's promises, checked by simulation on a population whose true effect is known.

A few hundred replications with fixed seeds (seconds); bench/experiment_simulation.py runs 1,000 and prints the
figures. The bands are wide enough for 300 replications (a coverage's standard error is 1.3 points) and the
seeds fixed, so the test is not flaky.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reljudge.experiments.sampling import plan_sample
from reljudge.experiments.simulation import simulate, synthetic_population

# Strata of different sizes and spreads whose means differ, so the strata explain part of the variance.
SIZES, EFFECTS, SDS = (6000, 2500, 1000, 500), (0.0, 0.04, 0.10, 0.20), (0.02, 0.05, 0.10, 0.25)
REPLICATIONS, BUDGET = 300, 200


def designs(population):
    d = population.treatment - population.control
    sds = {s: float(d[(population.strata == s).to_numpy()].std(ddof=1)) for s in population.strata.unique()}
    return {
        "srs": plan_sample(pd.Series("all", index=population.strata.index), BUDGET),
        "proportional": plan_sample(population.strata, BUDGET),
        "neyman": plan_sample(population.strata, BUDGET, allocation="neyman", sds=sds),
    }


@pytest.fixture(scope="module")
def with_effect():
    population = synthetic_population(SIZES, EFFECTS, SDS, seed=1)
    return population, simulate(population, designs(population), replications=REPLICATIONS, seed=2)


def test_the_95_percent_interval_covers_the_true_effect(with_effect):
    population, results = with_effect
    assert population.effect == pytest.approx(0.03, abs=0.003)
    for name in ("proportional", "neyman"):
        assert 0.92 <= results[name]["coverage"] <= 0.98, (name, results[name])
        assert abs(results[name]["bias"]) < 0.002


def test_stratification_lowers_the_variance_and_neyman_lowers_it_more(with_effect):
    _, results = with_effect
    srs, proportional, neyman = (results[name]["variance"] for name in ("srs", "proportional", "neyman"))
    # theory: S^2 / n = 3.7e-5, sum W S_h^2 / n = 2.5e-5, (sum W S_h)^2 / n = 1.1e-5
    assert proportional < 0.85 * srs
    assert neyman < 0.7 * proportional
    assert results["neyman"]["mde"] < results["proportional"]["mde"] < results["srs"]["mde"]
    # the estimated variance is unbiased: its mean is near the variance across replications
    assert results["neyman"]["mean_variance"] == pytest.approx(neyman, rel=0.2)


def test_with_no_true_effect_about_5_percent_of_tests_reject():
    population = synthetic_population(SIZES, EFFECTS, SDS, null=True, seed=3)
    assert population.effect == pytest.approx(0.0, abs=1e-12)
    plans = designs(population)
    results = simulate(population, {k: plans[k] for k in ("proportional", "neyman")}, replications=REPLICATIONS,
                       seed=4)
    for name, got in results.items():
        assert 0.02 <= got["rejection"] <= 0.08, (name, got)


def test_a_traffic_weighted_sample_estimates_the_traffic_weighted_effect():
    population = synthetic_population(SIZES, EFFECTS, SDS, traffic=True, seed=5)
    plan = plan_sample(population.strata, BUDGET, traffic=population.traffic)
    got = simulate(population, {"pps": plan}, replications=150, seed=6)["pps"]
    assert abs(got["bias"]) < 3 * np.sqrt(got["variance"] / 150) + 1e-4
    assert 0.88 <= got["coverage"] <= 1.0
