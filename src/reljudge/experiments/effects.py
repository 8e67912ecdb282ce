"""The effect of a search experiment: a stratified mean of paired per-query differences, its interval and MDE.

Each sampled query i is measured under both arms, so its difference d_i = m_T(i) - m_C(i) removes the query's own
difficulty from the comparison (a paired design). With stratum h holding n_h sampled queries, weights w_i (the
inverse inclusion probability, times traffic for a traffic-weighted target) and population share W_h:

    ybar_h = sum_{i in h} w_i y_i / sum_{i in h} w_i                       (Hajek mean of the stratum)
    theta  = sum_h W_h ybar_h                                               (the stratified estimate)
    e_i    = w_i (y_i - ybar_h) / sum_{j in h} w_j                          (linearised residual)
    v_h    = n_h / (n_h - 1) sum_{i in h} (1 - pi_i) e_i^2                  (Var of ybar_h)
    V      = sum_h W_h^2 v_h

With equal weights v_h is the textbook (1 - n_h / N_h) s_h^2 / n_h; the factor (1 - pi_i) is the finite-population
correction (Hajek's approximation for unequal probabilities), so a stratum taken whole adds no variance. The
interval uses Student's t with Satterthwaite's degrees of freedom, df = V^2 / sum_h (W_h^2 v_h)^2 / (n_h - 1), which
keeps coverage near nominal when a few small strata carry most of the variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reljudge.errors import ReljudgeError
from reljudge.experiments.bootstrap import bootstrap_effect
from reljudge.experiments.design import Design


@dataclass(frozen=True)
class StratifiedMean:
    """A stratified estimate and what its variance is made of (see the module docstring for the formulas)."""

    estimate: float
    variance: float
    df: float
    means: np.ndarray
    variances: np.ndarray
    population_variance: float


def stratified_mean(values: np.ndarray, design: Design) -> StratifiedMean:
    """theta = sum_h W_h ybar_h with V = sum_h W_h^2 v_h and Satterthwaite's df.

    Also estimates the population variance of y, S^2 = sum_h W_h s_h^2 + sum_h W_h (ybar_h - theta)^2 (within
    strata plus between them, s_h^2 = n_h / (n_h - 1) sum_i (w_i / sum w) (y_i - ybar_h)^2), which is what simple
    random sampling would face.

    Raises:
        ReljudgeError: a stratum with a single query drawn from several (its variance cannot be estimated).
    """
    y, codes, w = np.asarray(values, float), design.codes, design.weights
    h_count, n_h = len(design.strata), design.counts
    w_sum = np.bincount(codes, w, h_count)
    means = np.bincount(codes, w * y, h_count) / w_sum
    resid = y - means[codes]
    e = w * resid / w_sum[codes]
    lonely = (n_h < 2) & (np.bincount(codes, design.probability < 1, h_count) > 0)
    if lonely.any():
        raise ReljudgeError(f"stratum {design.strata[int(np.argmax(lonely))]!r} holds a single query: its variance "
                            "cannot be estimated; sample at least 2 per stratum or merge strata")
    scale = np.divide(n_h, n_h - 1, out=np.zeros(h_count), where=n_h > 1)
    variances = scale * np.bincount(codes, (1 - design.probability) * e**2, h_count)
    within = scale * np.bincount(codes, w * resid**2, h_count) / w_sum
    parts = design.shares**2 * variances
    variance = float(parts.sum())
    denominator = float(np.sum(np.divide(parts**2, n_h - 1, out=np.zeros(h_count), where=n_h > 1)))
    estimate = float(design.shares @ means)
    return StratifiedMean(
        estimate=estimate,
        variance=variance,
        df=variance**2 / denominator if denominator > 0 else float("inf"),
        means=means,
        variances=variances,
        population_variance=float(design.shares @ within + design.shares @ (means - estimate) ** 2),
    )


def t_test(estimate: float, variance: float, df: float, alpha: float) -> tuple[float, float, float]:
    """(ci_low, ci_high, two-sided p) of estimate / sqrt(variance) against Student's t with df degrees of freedom.

    With no variance at all (every stratum taken whole) the estimate is exact: the interval is a point and p is
    0 for any non-zero estimate, 1 for zero.
    """
    from scipy.special import stdtr, stdtrit  # Student's t CDF and its inverse, as fast ufuncs

    if variance <= 0:
        return estimate, estimate, float(estimate == 0)
    se = float(np.sqrt(variance))
    quantile = float(stdtrit(df, 1 - alpha / 2))
    return estimate - quantile * se, estimate + quantile * se, float(2 * stdtr(df, -abs(estimate) / se))


def satterthwaite_df(parts: np.ndarray, df: np.ndarray) -> float:
    """Satterthwaite's df of a sum of variance terms, each with its own df (inf when nothing varies)."""
    denominator = float(np.sum(np.divide(parts**2, df, out=np.zeros(len(parts)), where=df > 0)))
    return float(parts.sum()) ** 2 / denominator if denominator > 0 else float("inf")


def mde(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect: the true effect a two-sided level-alpha test finds with probability `power`.

    MDE = (z_{1 - alpha/2} + z_{power}) * SE (2.80 SE at alpha 0.05 and 80% power): the estimate must clear
    z_{1-alpha/2} SE to be significant, and does so in `power` of the experiments when the true effect sits
    z_{power} SE further out.
    """
    from scipy.special import ndtri  # the standard normal quantile function

    return float((ndtri(1 - alpha / 2) + ndtri(power)) * se)


def srs_variance(values: StratifiedMean, design: Design) -> float:
    """The variance the same budget would give without strata: (1 - n / N) S^2 / n, with N = sum_i 1 / pi_i.

    Without inclusion probabilities N is unknown and the correction is left out.
    """
    n = len(design.codes)
    fpc = 1 - n / float(np.sum(1 / design.probability)) if (design.probability > 0).all() else 1.0
    return max(fpc, 0.0) * values.population_variance / n


def bh_adjust(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (SciPy's): p_(i) * m / i, made monotone from the top.

    Controls the false discovery rate across strata: among strata called significant at the adjusted level q,
    at most a share q are expected to have no true effect.
    """
    from scipy.stats import false_discovery_control

    return [float(p) for p in false_discovery_control(p_values, method="bh")] if p_values else []


def estimate_effect(control: np.ndarray, treatment: np.ndarray, design: Design, *, alpha: float = 0.05,
                    power: float = 0.8, bootstrap: int = 0, seed: int = 0) -> dict:
    """Treatment minus control, absolute and relative, with intervals, p-value, MDE and per-stratum effects.

    The relative effect r = D / C (D the effect, C the control mean) gets its variance by linearisation:
    Var(r) ~ Var(stratified mean of z_i) with z_i = (d_i - r c_i) / C (the delta method for a ratio of means).

    Args:
        control: each sampled query's metric under control, aligned with `design`.
        treatment: the same under treatment.
        design: how the queries were drawn.
        alpha: the test's level; intervals are 1 - alpha.
        power: the power the MDE is computed at.
        bootstrap: B > 0 replaces the t interval and p-value by a bootstrap over queries within strata
            (`bootstrap.bootstrap_effect`); the MDE then uses the bootstrap SE.
        seed: seeds the bootstrap.

    Returns:
        A JSON-ready dict: n_queries, control, treatment, effect, relative_effect, se, df, ci_low, ci_high,
        relative_ci_low, relative_ci_high, p_value, mde, mde_relative, mde_srs, alpha, power, method, and
        per_stratum (stratum, n, share, control, treatment, effect, ci_low, ci_high, p_value, p_adjusted with
        Benjamini-Hochberg's adjustment across strata).
    """
    c, t = np.asarray(control, float), np.asarray(treatment, float)
    d = t - c
    diff = stratified_mean(d, design)
    base = stratified_mean(c, design).estimate
    treated = stratified_mean(t, design).estimate
    effect = diff.estimate
    relative = effect / base if base != 0 else None
    out: dict = {"n_queries": int(len(d)), "n_strata": len(design.strata), "control": base, "treatment": treated,
                 "effect": effect, "relative_effect": relative, "alpha": alpha, "power": power}
    if bootstrap > 0:
        out |= bootstrap_effect(c, t, design, alpha=alpha, resamples=bootstrap, seed=seed)
    else:
        low, high, p_value = t_test(effect, diff.variance, diff.df, alpha)
        out |= {"method": "stratified", "se": float(np.sqrt(diff.variance)), "df": _finite(diff.df),
                "ci_low": low, "ci_high": high, "p_value": p_value, "relative_ci_low": None,
                "relative_ci_high": None}
        if relative is not None:
            ratio = stratified_mean((d - relative * c) / base, design)
            out["relative_ci_low"], out["relative_ci_high"], _ = t_test(relative, ratio.variance, ratio.df, alpha)
    out["mde"] = mde(out["se"], alpha, power)
    out["mde_relative"] = out["mde"] / base if base != 0 else None
    out["mde_srs"] = mde(float(np.sqrt(srs_variance(diff, design))), alpha, power)
    out["per_stratum"] = per_stratum(c, t, design, diff, alpha)
    return out


def per_stratum(control: np.ndarray, treatment: np.ndarray, design: Design, diff: StratifiedMean,
                alpha: float) -> list[dict]:
    """Each stratum's effect ybar_h(d) with a t interval on n_h - 1 df; p-values adjusted by Benjamini-Hochberg."""
    n_h, h_count = design.counts, len(design.strata)
    w_sum = np.bincount(design.codes, design.weights, h_count)
    rows, p_values = [], []
    for h, name in enumerate(design.strata):
        mask = design.codes == h
        low, high, p = t_test(float(diff.means[h]), float(diff.variances[h]), max(n_h[h] - 1, 1), alpha)
        p_values.append(p)
        arm = [float(design.weights[mask] @ values[mask] / w_sum[h]) for values in (control, treatment)]
        rows.append({"stratum": name, "n": int(n_h[h]), "share": float(design.shares[h]), "control": arm[0],
                     "treatment": arm[1], "effect": float(diff.means[h]), "ci_low": low, "ci_high": high,
                     "p_value": p})
    for row, adjusted in zip(rows, bh_adjust(p_values)):
        row["p_adjusted"] = adjusted
    return rows


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None
