"""Calibration of a judge's label probabilities against human labels: top-label ECE and the multi-class Brier score.

A judge whose 0.9-confidence labels are right 90% of the time can be thresholded and its probabilities averaged;
accuracy alone does not say so. Both metrics take optional sample weights, one row per pair or a (B, n) batch of
rows: a bootstrap resample is the same pairs weighted by how often each was drawn.
"""

from __future__ import annotations

import numpy as np


def ece(proba: np.ndarray, y_idx: np.ndarray, n_bins: int = 10,
        sample_weight: np.ndarray | None = None) -> np.ndarray | float:
    """Top-label expected calibration error with equal-width confidence bins.

    conf_i = max_k p_ik, correct_i = 1[argmax_k p_ik == y_i] (ties go to the first label), bin b holds the pairs
    with conf_i in (b / n_bins, (b + 1) / n_bins] (the first bin also holds 0), and with weights w_i (1 by default)

        ECE = sum_b (W_b / W) |acc_b - conf_b| = (1 / W) sum_b |sum_{i in b} w_i (correct_i - conf_i)|.

    Args:
        proba: (n, k) probabilities, columns in the scheme's label order.
        y_idx: (n,) index of each pair's human label.
        n_bins: number of equal-width bins on [0, 1].
        sample_weight: (n,) or (B, n) non-negative weights.

    Returns:
        ECE in [0, 1]; an array of B values for (B, n) weights; NaN when the total weight is 0.
    """
    p = np.asarray(proba, dtype=float)
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == np.asarray(y_idx)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], confidence, side="left")
    gaps = np.zeros((len(p), n_bins))
    gaps[np.arange(len(p)), bins] = correct - confidence
    w = np.ones(len(p)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.abs(w @ gaps).sum(axis=-1) / w.sum(axis=-1)
    return float(result) if result.ndim == 0 else result


def brier(proba: np.ndarray, y_idx: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray | float:
    """Multi-class Brier score: the weighted mean over pairs of sum_k (p_ik - 1[y_i = k])^2.

    0 for certain and right, 2 for certain and wrong; a uniform guess over k labels scores 1 - 1/k.

    Args:
        proba: (n, k) probabilities, columns in the scheme's label order.
        y_idx: (n,) index of each pair's human label.
        sample_weight: (n,) or (B, n) non-negative weights.

    Returns:
        The score; an array of B values for (B, n) weights; NaN when the total weight is 0.
    """
    p = np.asarray(proba, dtype=float)
    onehot = np.eye(p.shape[1])[np.asarray(y_idx, dtype=int)] if len(p) else np.zeros_like(p)
    per_pair = ((p - onehot) ** 2).sum(axis=1)
    w = np.ones(len(p)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = (w @ per_pair) / w.sum(axis=-1)
    return float(result) if result.ndim == 0 else result
