"""What a judge is worth in human labels: the correlation r of its expected gain with the human label's gain.

Why r: under prediction-powered inference (PPI++; Angelopoulos, Duchi and Zrnic, 2023) with the optimal weight and a
judged population much larger than the labelled sample, the mean gain estimated from n randomly sampled human labels
plus the judge on every pair has variance Var(Y) (1 - r^2) / n, against Var(Y) / n from the n labels alone. So one
sampled human label plus the judge counts for worth = 1 / (1 - r^2) human labels: 1 for a judge uncorrelated with
the humans, without bound as |r| nears 1. Like ECE and Brier, r takes optional sample weights, one row per pair or
a (B, n) batch of rows: a bootstrap resample is the same pairs weighted by how often each was drawn.
"""

from __future__ import annotations

import numpy as np


def gain_correlation(expected: np.ndarray, human: np.ndarray,
                     sample_weight: np.ndarray | None = None) -> np.ndarray | float:
    """Pearson's r over pairs of the judge's expected gain x with the gain y of the human label.

    With weights w_i (1 by default) and weighted means x_bar, y_bar:

        r = sum_i w_i (x_i - x_bar) (y_i - y_bar) / sqrt(sum_i w_i (x_i - x_bar)^2 * sum_i w_i (y_i - y_bar)^2).

    Args:
        expected: (n,) the judge's expected gain of each pair (`within_query.expected_gain`).
        human: (n,) the gain of each pair's human label.
        sample_weight: (n,) or (B, n) non-negative weights.

    Returns:
        r in [-1, 1]; an array of B values for (B, n) weights; NaN where undefined: x or y is constant over the pairs
        of positive weight (or no pair has any).
    """
    x, y = _centred(expected), _centred(human)
    w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    total = w.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x, mean_y = (w @ x) / total, (w @ y) / total
        cov = (w @ (x * y)) / total - mean_x * mean_y
        var_x, var_y = (w @ (x * x)) / total - mean_x ** 2, (w @ (y * y)) / total - mean_y ** 2
        r = np.clip(cov / np.sqrt(var_x * var_y), -1.0, 1.0)
    # exact constancy, not a variance near 0 by rounding: a constant judge has no r, not a spurious one
    result = np.where(_varies(x, w) & _varies(y, w), r, np.nan)
    return float(result) if result.ndim == 0 else result


def worth(r: np.ndarray | float) -> np.ndarray | float:
    """How many human labels one randomly sampled human label plus the judge is worth: 1 / (1 - r^2).

    PPI++ with the optimal weight over a judged population much larger than the labelled sample (see the module
    docstring); r is `gain_correlation`.

    Returns:
        worth >= 1 (1 at r = 0); inf at |r| = 1; NaN where r is NaN. An array for an array of r.
    """
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore"):
        result = 1.0 / (1.0 - r ** 2)
    return float(result) if result.ndim == 0 else result


def _centred(values: np.ndarray) -> np.ndarray:
    """The values less their plain mean, so the one-pass sums of `gain_correlation` lose little to rounding."""
    v = np.asarray(values, dtype=float)
    return v - v.mean() if len(v) else v


def _varies(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Whether `values` take two or more distinct values over the pairs of positive weight (per row of `w`)."""
    drawn = w > 0
    low = np.where(drawn, values, np.inf).min(axis=-1, initial=np.inf)
    return low < np.where(drawn, values, -np.inf).max(axis=-1, initial=-np.inf)
