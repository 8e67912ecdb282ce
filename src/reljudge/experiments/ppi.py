"""The effect from judge labels on every sampled query, corrected by human labels on a random part of them:
prediction-powered inference (PPI++; Angelopoulos, Duchi and Zrnic, 2023) on the stratified designs of `effects`,
in the form survey sampling calls the two-phase difference estimator.

Why: a judge's labels see only a share of what a ranking change does (the default judge sees a quarter of people's
ideal-vs-random effect on ESCI, bench/README), so its effect alone is biased, and labelling every query by hand is
what the judge was meant to save. With human labels on m_h of a stratum's n_h sampled queries (a random part of
them, drawn within the stratum), d_i a query's difference from human labels and f_i from the judge's:

    theta(lam) = lam F + (D_m - lam F_m)

F the stratified mean of f over all sampled queries, D_m and F_m those of d and f over the labelled ones. Given the
sample, the labelled queries are a random subsample, so theta estimates what human labels on every sampled query
would give, whatever the judge's bias; and

    V(lam) = sum_h W_h^2 [ (m_h / n_h) v_h(d) + v'_h(d - lam f) ]

where v_h(d) is the stratum's variance term of `effects.stratified_mean` over the labelled queries (times m_h / n_h:
the human mean over all n_h queries) and v'_h the same for the residual with the labelled queries' inclusion
probability within the sample, m_h / n_h, as its finite-population correction. lam minimises V: the pooled
within-stratum regression slope of d on f (PPI++'s power tuning; it may exceed 1 when the judge understates
effects). lam = 0 gives the human labels alone; with every query labelled v' vanishes and theta is the human
estimate. The interval is Student's t with Satterthwaite's df over the 2H variance terms (m_h - 1 df each). The
slope is fitted on the residuals it leaves, so they lose a degree of freedom, shared among strata by size: each
stratum's residual term is scaled by (m_h - 1) / (m_h - 1 - m_h / m) and counts that many df (m the labelled
queries). Without it, 7 labelled queries of ESCI's 27 covered the truth 86-94% of the time; with it 88-96%
(bench/README).
"""

from __future__ import annotations

import numpy as np

from reljudge.errors import ReljudgeError
from reljudge.experiments.design import Design
from reljudge.experiments.effects import bh_adjust, mde, satterthwaite_df, stratified_mean, t_test


def prediction_powered_effect(human_control: np.ndarray, human_treatment: np.ndarray, judged_control: np.ndarray,
                              judged_treatment: np.ndarray, labelled: np.ndarray, design: Design, *,
                              alpha: float = 0.05, power: float = 0.8) -> dict:
    """Treatment minus control from judge labels on every query and human labels on the `labelled` ones.

    Args:
        human_control, human_treatment: each sampled query's metric from human labels (read where `labelled`).
        judged_control, judged_treatment: the same from the judge's labels, for every sampled query.
        labelled: which queries have human labels on every result either arm shows.
        design: how the queries were drawn.
        alpha, power: as in `effects.estimate_effect`.

    Returns:
        `effects.estimate_effect`'s keys (method "prediction-powered"; relative intervals and mde_srs None), plus
        lambda, n_labelled, worth_labelled (the labelled queries people alone would need for the same standard
        error: n_labelled x V(human alone) / V(corrected); None when nothing varies), and human_only /
        judge_only: {effect, se, ci_low, ci_high, p_value} of the human labels alone (lam = 0) and of the judge's
        alone (`effects.stratified_mean` over every query, biased).

    Raises:
        ReljudgeError: a stratum with no labelled query, or with one labelled query of several.
    """
    labelled = np.asarray(labelled, bool)
    phase1, phase2, fraction = _labelled_designs(design, labelled)
    human_d = np.asarray(human_treatment, float)[labelled] - np.asarray(human_control, float)[labelled]
    judged_d = np.asarray(judged_treatment, float) - np.asarray(judged_control, float)
    lam = _power_tuned(human_d, judged_d[labelled], phase2)

    def corrected(human: np.ndarray, judged: np.ndarray, lam: float, tuned: bool = True) -> _Corrected:
        return _Corrected(human, judged, labelled, lam, design, phase1, phase2, fraction, tuned=tuned)

    effect = corrected(human_d, judged_d, lam)
    arms = [corrected(np.asarray(h, float)[labelled], np.asarray(j, float), lam)
            for h, j in ((human_control, judged_control), (human_treatment, judged_treatment))]
    base, treated = (arm.estimate for arm in arms)
    low, high, p_value = t_test(effect.estimate, effect.variance, effect.df, alpha)
    se = float(np.sqrt(effect.variance))
    alone = corrected(human_d, judged_d, 0.0, tuned=False)
    judge_only = stratified_mean(judged_d, design)
    return {
        "n_queries": int(len(judged_d)), "n_strata": len(design.strata), "n_labelled": int(labelled.sum()),
        "control": base, "treatment": treated, "effect": effect.estimate,
        "relative_effect": effect.estimate / base if base != 0 else None, "alpha": alpha, "power": power,
        "method": "prediction-powered", "lambda": lam, "se": se, "df": effect.df if np.isfinite(effect.df) else None,
        "ci_low": low, "ci_high": high, "p_value": p_value, "relative_ci_low": None, "relative_ci_high": None,
        "mde": mde(se, alpha, power), "mde_relative": mde(se, alpha, power) / base if base != 0 else None,
        "mde_srs": None,
        "worth_labelled": _worth(int(labelled.sum()), alone.variance, effect.variance),
        "human_only": _summary(alone.estimate, alone.variance, alone.df, alpha),
        "judge_only": _summary(judge_only.estimate, judge_only.variance, judge_only.df, alpha),
        "per_stratum": _per_stratum(effect, arms, design, alpha),
    }


def _labelled_designs(design: Design, labelled: np.ndarray) -> tuple[Design, Design, np.ndarray]:
    """The labelled queries' design as drawn (phase 1) and as drawn from the sample (phase 2), and m_h / n_h."""
    n_h = design.counts
    m_h = np.bincount(design.codes[labelled], minlength=len(design.strata))
    for h, name in enumerate(design.strata):
        if m_h[h] == 0 or (m_h[h] == 1 and n_h[h] > 1):
            raise ReljudgeError(f"stratum {name!r} has {m_h[h]} of its {n_h[h]} sampled queries labelled by people "
                                "on every shown result; label at least 2 of each stratum's queries (or all of them)")
    fraction = m_h / n_h
    codes = design.codes[labelled]

    def subset(probability: np.ndarray) -> Design:
        return Design(design.strata, codes, design.weights[labelled], design.shares, probability)

    return subset(design.probability[labelled]), subset(fraction[codes]), fraction


def _power_tuned(human: np.ndarray, judged: np.ndarray, phase2: Design) -> float:
    """The lam minimising sum_h W_h^2 v'_h(d - lam f): Cov'(d, f) / Var'(f), pooled over strata."""
    def pooled(values: np.ndarray) -> float:
        return float(phase2.shares**2 @ stratified_mean(values, phase2).variances)

    var_f = pooled(judged)
    if var_f <= 0:
        return 0.0
    return (pooled(human + judged) - pooled(human) - var_f) / (2 * var_f)


class _Corrected:
    """theta(lam) and V(lam) of one quantity (see the module docstring), overall and per stratum."""

    def __init__(self, human: np.ndarray, judged: np.ndarray, labelled: np.ndarray, lam: float, design: Design,
                 phase1: Design, phase2: Design, fraction: np.ndarray, *, tuned: bool):
        m_h = phase1.counts
        df_sampling = m_h - 1.0
        df_residual = df_sampling - (m_h / m_h.sum() if tuned else 0.0)  # the fitted slope's degree of freedom
        everyone = stratified_mean(judged, design).means
        on_labelled = stratified_mean(human - lam * judged[labelled], phase1)
        residual = stratified_mean(human - lam * judged[labelled], phase2).variances
        residual = residual * np.divide(df_sampling, df_residual, out=np.ones(len(m_h)), where=df_residual > 0)
        sampling = fraction * stratified_mean(human, phase1).variances
        self.means = lam * everyone + on_labelled.means
        self.variances = sampling + residual
        self.estimate = float(design.shares @ self.means)
        parts = np.tile(design.shares**2, 2) * np.concatenate([sampling, residual])
        self.variance = float(parts.sum())
        self.df = satterthwaite_df(parts, np.concatenate([df_sampling, df_residual]))
        self.stratum_df = np.array([satterthwaite_df(np.array([a, b]), np.array([c, d])) for a, b, c, d in
                                    zip(sampling, residual, df_sampling, df_residual)])
        self.labelled_counts = m_h


def _worth(n: int, human_variance: float, variance: float) -> float | None:
    """How many labelled units people alone would need for the corrected estimate's standard error."""
    return n * human_variance / variance if variance > 0 else None


def _summary(estimate: float, variance: float, df: float, alpha: float) -> dict:
    low, high, p_value = t_test(estimate, variance, df, alpha)
    return {"effect": estimate, "se": float(np.sqrt(variance)), "ci_low": low, "ci_high": high, "p_value": p_value}


def _per_stratum(effect: _Corrected, arms: list[_Corrected], design: Design, alpha: float) -> list[dict]:
    """Each stratum's corrected levels and effect, with a t interval on the stratum's Satterthwaite df; p-values
    adjusted by Benjamini-Hochberg."""
    rows, p_values = [], []
    for h, name in enumerate(design.strata):
        low, high, p = t_test(float(effect.means[h]), float(effect.variances[h]), float(effect.stratum_df[h]), alpha)
        p_values.append(p)
        rows.append({"stratum": name, "n": int(design.counts[h]), "n_labelled": int(effect.labelled_counts[h]),
                     "share": float(design.shares[h]), "control": float(arms[0].means[h]),
                     "treatment": float(arms[1].means[h]), "effect": float(effect.means[h]), "ci_low": low,
                     "ci_high": high, "p_value": p})
    for row, adjusted in zip(rows, bh_adjust(p_values)):
        row["p_adjusted"] = adjusted
    return rows
