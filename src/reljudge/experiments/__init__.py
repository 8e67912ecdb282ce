"""Search experiments measured with labels: stratified query sampling, per-query ranking metrics of two arms, the
effect with its interval and MDE, and whether a judge's labels lead to the same decision as human ones.

    sampling    strata, proportional / Neyman allocation, seeded draws (SRS or probability ∝ traffic)
    arms        each sampled query's metric (sDCG@K, nDCG@K, P@K) under control and treatment
    labelling   gains of the shown pairs from qrels, or from a judge through the store's cache
    effects     the stratified estimator, its variance, t interval, p-value, MDE, BH across strata
    bootstrap   the same effect bootstrapped within strata
    ppi         the judge's effect on every query corrected by human labels on some (prediction-powered)
    validate    Kendall's tau / Spearman's rho of judge vs human per-query metric, and the two effects
    simulation  coverage, variance and false-positive rate of a design on a population with a known effect
    plot        a forest plot of the per-stratum effects (altair, rendered by vl-convert)
"""

from __future__ import annotations

from reljudge.experiments.arms import measure_arms
from reljudge.experiments.design import Design, design_from_sample
from reljudge.experiments.effects import estimate_effect, stratified_mean
from reljudge.experiments.sampling import allocate, plan_sample, sample_frame, stratum_labels

__all__ = [
    "Design",
    "allocate",
    "design_from_sample",
    "estimate_effect",
    "measure_arms",
    "plan_sample",
    "sample_frame",
    "stratified_mean",
    "stratum_labels",
]
