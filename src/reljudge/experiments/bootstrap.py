"""A bootstrap of the stratified effect: queries resampled with replacement within their strata.

Drawing n_h queries back from a stratum's n_h understates its variance by (n_h - 1) / n_h, which matters for the
small strata stratification creates; drawing m_h = n_h - 1 instead (McCarthy and Snowden, 1985) makes the
bootstrap variance of a stratum mean s_h^2 / n_h exactly. Each resampled stratum mean is then pulled towards the
sample's by sqrt(1 - f_h), f_h the stratum's mean inclusion probability, which applies the finite-population
correction (Rao and Wu's rescaling). A stratum of one query taken whole is kept as it is.
"""

from __future__ import annotations

import numpy as np

from reljudge.experiments.design import Design


def resampled_means(values: np.ndarray, design: Design, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(B, columns) stratified means sum_h W_h ybar*_h of each column of `values` (n, columns) over B resamples."""
    values = np.asarray(values, float).reshape(len(design.codes), -1)
    total = np.zeros((resamples, values.shape[1]))
    for h, share in enumerate(design.shares):
        members = np.flatnonzero(design.codes == h)
        w, y = design.weights[members], values[members]
        mean = w @ y / w.sum()
        if len(members) > 1:
            picks = rng.integers(0, len(members), size=(resamples, len(members) - 1))
            drawn = np.einsum("bj,bjc->bc", w[picks], y[picks]) / w[picks].sum(axis=1, keepdims=True)
            mean = mean + np.sqrt(1 - design.probability[members].mean()) * (drawn - mean)
        total += share * mean
    return total


def bootstrap_effect(control: np.ndarray, treatment: np.ndarray, design: Design, *, alpha: float, resamples: int,
                     seed: int) -> dict:
    """Percentile intervals of the effect and relative effect, the bootstrap SE, and the bootstrap p-value.

    p = min(1, 2 min(P*(D* <= 0), P*(D* >= 0))): the smallest alpha at which the percentile interval excludes 0,
    so interval and test always agree (its resolution is 1 / B).
    """
    means = resampled_means(np.column_stack([control, treatment]), design, resamples, np.random.default_rng(seed))
    effect = means[:, 1] - means[:, 0]
    tails = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    low, high = np.percentile(effect, tails)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = effect / means[:, 0]
    relative = relative[np.isfinite(relative)]
    rel_low, rel_high = np.percentile(relative, tails) if relative.size else (None, None)
    p_value = min(1.0, 2 * min(float(np.mean(effect <= 0)), float(np.mean(effect >= 0))))
    return {"method": "bootstrap", "bootstrap": resamples, "se": float(effect.std(ddof=1)), "df": None,
            "ci_low": float(low), "ci_high": float(high), "p_value": p_value,
            "relative_ci_low": None if rel_low is None else float(rel_low),
            "relative_ci_high": None if rel_high is None else float(rel_high)}
