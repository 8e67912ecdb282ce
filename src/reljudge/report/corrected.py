"""The day's relevance from the judge's labels on every pair, corrected by people's labels on a random sample of
them: prediction-powered inference (PPI++; Angelopoulos, Duchi and Zrnic, 2023) of a mean.

Why: the judge's label mix is biased (the default ESCI judge over-calls some labels and under-calls others), so
its mean gain tracks change from day to day but not the level people would see. People label a uniform random
sample of the day's pairs (`reljudge queue add --select random`); with N pairs judged, n of them labelled,
f a pair's value under the judge's label (its gain, or 1 for one label's share) and h under people's:

    theta = lam * mean_N(f) + mean_n(h - lam * f)
    V     = lam^2 * var_N(f) / N + var_n(h - lam * f) / n

unbiased for the mean people would give all N pairs, whatever the judge's bias, and with lam = cov_n(h, f) /
((1 + n / N) var_N(f)) (PPI++'s power tuning) never much wider than people's own mean (lam = 0). The interval is
Student's t on n - 2 df (the slope costs one). A window pools its days as strata (each day's labels are drawn
from that day's pairs), over the days with enough sampled pairs (the report's `min_labelled`).

Only random samples count here (random queues, label files imported with `--random-sample`): pairs chosen
because the judge was unsure of them, or disagreed with people, are not a sample of the day, and would bias the
correction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reljudge.experiments.effects import satterthwaite_df, t_test

#: The fewest randomly sampled, labelled pairs a day's correction can use at all (the slope and the residual's
#: variance); the report asks for its `min_labelled` (30), as a handful of pairs can agree by chance.
MIN_SAMPLED = 3


def corrected_mean(counts: np.ndarray, human: np.ndarray, judged: np.ndarray, values: np.ndarray,
                   confidence: float) -> dict:
    """One day's corrected mean of `values` (one per label) and people's mean alone.

    Args:
        counts: how many of the day's N judged pairs the judge gave each label.
        human, judged: label indices of the n sampled pairs, by people and by the judge.
        values: each label's value (its gain, or an indicator for one label's share).

    Returns:
        judge (the judge's mean over all N), corrected, se, interval, lam, human (people's mean alone),
        human_interval, worth (the sampled pairs people alone would need for the same standard error); N and n.
    """
    counts, values = np.asarray(counts, float), np.asarray(values, float)
    big_n, n = counts.sum(), len(human)
    judge_mean = float(counts @ values / big_n)
    judge_var = float(counts @ (values - judge_mean) ** 2 / max(big_n - 1, 1))
    h, f = values[np.asarray(human, int)], values[np.asarray(judged, int)]
    lam = _tuned_lambda(h, f, judge_var, n / big_n)
    residual = h - lam * f
    estimate = float(lam * judge_mean + residual.mean())
    variance = lam**2 * judge_var / big_n + float(residual.var(ddof=1)) / n
    human_var = float(h.var(ddof=1)) / n
    return {"N": int(big_n), "n": int(n), "judge": judge_mean, "corrected": estimate, "se": float(np.sqrt(variance)),
            "interval": _t_interval(estimate, variance, n - 2, confidence), "lam": lam, "human": float(h.mean()),
            "human_interval": _t_interval(float(h.mean()), human_var, n - 1, confidence),
            "worth": n * human_var / variance if variance > 0 else None}


def pooled_days(days: Sequence[dict], confidence: float) -> dict:
    """Days' `corrected_mean`s as strata weighted by their judged pairs, with Satterthwaite's df."""
    big_n = np.array([d["N"] for d in days], float)
    weights = big_n / big_n.sum()
    variances = np.array([d["se"] ** 2 for d in days])
    df = np.array([d["n"] - 2 for d in days], float)
    estimate = float(weights @ np.array([d["corrected"] for d in days]))
    parts = weights**2 * variances
    pooled_df = satterthwaite_df(parts, df)
    return {"N": int(big_n.sum()), "n": int(sum(d["n"] for d in days)), "days": len(days),
            "judge": float(weights @ np.array([d["judge"] for d in days])), "corrected": estimate,
            "se": float(np.sqrt(parts.sum())), "df": pooled_df if np.isfinite(pooled_df) else None,
            "interval": _t_interval(estimate, float(parts.sum()), pooled_df, confidence)}


def gain_fall(day: dict, reference: dict, confidence: float) -> dict:
    """How far the corrected mean gain fell from the reference days (pooled) to the day, with a t interval of the
    fall (variances added, Satterthwaite's df); it alarms when the whole interval lies above zero."""
    fall = reference["corrected"] - day["corrected"]
    parts = np.array([reference["se"] ** 2, day["se"] ** 2])
    df = satterthwaite_df(parts, np.array([reference["df"] or np.inf, day["n"] - 2.0]))
    low, high = _t_interval(fall, float(parts.sum()), df, confidence)
    return {"fall": fall, "fall_interval": [low, high], "alarm": low is not None and low > 0}


def _tuned_lambda(h: np.ndarray, f: np.ndarray, judge_var: float, ratio: float) -> float:
    """PPI++'s variance-minimising weight of the judge's mean; 0 when the judge's values do not vary."""
    if judge_var <= 0 or len(h) < 2:
        return 0.0
    covariance = float(np.cov(h, f, ddof=1)[0, 1])
    return float(covariance / ((1 + ratio) * judge_var))


def _t_interval(estimate: float, variance: float, df: float, confidence: float) -> list[float | None]:
    """`effects.t_test`'s interval at `confidence`; none where df < 1."""
    if not np.isfinite(variance) or df < 1:
        return [None, None]
    low, high, _ = t_test(estimate, variance, df, 1 - confidence)
    return [low, high]


def corrected_days(counts_by_day: dict, sampled: dict, labels: Sequence[str], gains: Sequence[float],
                   confidence: float, *, min_sampled: int = MIN_SAMPLED) -> list[dict]:
    """Each day's corrected mean gain and label shares, for the days with at least `min_sampled` sampled pairs.

    Args:
        counts_by_day: day -> the judge's label counts over the day's judged pairs.
        sampled: day -> (people's label indices, the judge's) of the day's randomly sampled, labelled pairs.
        labels, gains: the scheme's labels, in index order, and each one's gain.

    Returns:
        One row per day, in day order: day, mean_gain and shares (label -> figures), as `corrected_mean` gives them.
    """
    gains = np.asarray(gains, float)
    indicators = np.eye(len(gains))
    days = []
    for day in sorted(counts_by_day):
        human, judged = sampled.get(day, ((), ()))
        if len(human) < max(min_sampled, MIN_SAMPLED) or counts_by_day[day].sum() == 0:
            continue
        counts = counts_by_day[day]
        days.append({"day": day, "mean_gain": corrected_mean(counts, human, judged, gains, confidence),
                     "shares": {label: corrected_mean(counts, human, judged, indicators[c], confidence)
                                for c, label in enumerate(labels)}})
    return days


def pooled_window(days: Sequence[dict], judged: float, labels: Sequence[str], confidence: float) -> dict | None:
    """`corrected_days`' rows pooled (`pooled_days`), with the share of the window's `judged` pairs they hold;
    None without a day."""
    if not days:
        return None
    window = {"mean_gain": pooled_days([d["mean_gain"] for d in days], confidence),
              "shares": {label: pooled_days([d["shares"][label] for d in days], confidence) for label in labels}}
    window["judged_share"] = window["mean_gain"]["N"] / judged
    return window
