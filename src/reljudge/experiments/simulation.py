"""Check a sampling design by simulation: draw many samples from a population whose true effect is known.

Over R replications a sound design's 1 - alpha interval covers the true effect in about 1 - alpha of them, and
with no true effect its test rejects in about alpha of them; the spread of the estimates across replications is
the design's real variance, so designs can be compared at the same budget (SRS vs proportional vs Neyman).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reljudge.experiments.effects import estimate_effect
from reljudge.experiments.sampling import SamplingPlan


@dataclass(frozen=True)
class Population:
    """Every query of a population with its metric under both arms, and optionally its traffic."""

    strata: pd.Series
    control: np.ndarray
    treatment: np.ndarray
    traffic: np.ndarray | None = None

    @property
    def effect(self) -> float:
        """The true effect: the mean per-query difference, traffic-weighted when the population has traffic."""
        return float(np.average(self.treatment - self.control, weights=self.traffic))


def synthetic_population(sizes: Sequence[int], effects: Sequence[float], sds: Sequence[float], *,
                         null: bool = False, traffic: bool = False, seed: int = 0) -> Population:
    """A population of strata h with N_h queries whose per-query change is d_i ~ Normal(effects_h, sds_h).

    Control metrics are Uniform(0.2, 0.8) and treatment = control + d. With `null`, d is shifted so the true
    effect is exactly 0 (strata still differ, so only the overall effect is null). With `traffic`, each query has
    a Pareto-tailed traffic (heavy head, long tail), as query logs do.
    """
    rng = np.random.default_rng(seed)
    strata = pd.Series(np.repeat([f"s{h + 1}" for h in range(len(sizes))], sizes))
    d = np.concatenate([rng.normal(mu, sd, n) for n, mu, sd in zip(sizes, effects, sds)])
    weights = rng.pareto(1.5, len(d)) + 1 if traffic else None
    if null:
        d -= np.average(d, weights=weights)
    control = rng.uniform(0.2, 0.8, len(d))
    return Population(strata, control, control + d, weights)


def simulate(population: Population, plans: Mapping[str, SamplingPlan], *, replications: int, alpha: float = 0.05,
             seed: int = 0) -> dict[str, dict[str, float]]:
    """Draw `replications` samples with each plan and summarise how its estimates behave.

    Returns:
        For each plan name: coverage (share of intervals holding the true effect), rejection (share with
        p < alpha: the false-positive rate when the true effect is 0, the power otherwise), variance (of the
        estimates across replications), mean_variance (the mean estimated variance, se^2; close to variance when
        the variance estimator is unbiased), bias (mean estimate minus the truth) and mde (mean MDE).
    """
    rng = np.random.default_rng(seed)
    truth = population.effect
    out = {}
    for name, plan in plans.items():
        rows = []
        for _ in range(replications):
            positions = plan.draw(rng)
            design = plan.design(positions)
            got = estimate_effect(population.control[positions], population.treatment[positions], design,
                                  alpha=alpha)
            rows.append((got["effect"], got["se"] ** 2, got["ci_low"] <= truth <= got["ci_high"],
                         got["p_value"] < alpha, got["mde"]))
        effect, variance, covered, rejected, mde = map(np.asarray, zip(*rows))
        out[name] = {"coverage": float(covered.mean()), "rejection": float(rejected.mean()),
                     "variance": float(effect.var(ddof=1)), "mean_variance": float(variance.mean()),
                     "bias": float(effect.mean() - truth), "mde": float(mde.mean())}
    return out
