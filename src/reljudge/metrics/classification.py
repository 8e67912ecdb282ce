"""Classification figures of a judge against human labels: accuracy, macro-F1, per-class P/R/F1, confusion, and
the optimistic-error share of an ordered scheme.

All take aligned lists of canonical labels with no missing values (leave unscored pairs out first) and the
scheme's label order; classes with no support and no prediction score zero rather than warn (zero_division=0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """accuracy = (1/n) sum_i 1[y_true_i == y_pred_i]; NaN when n = 0."""
    if len(y_true) == 0:
        return float("nan")
    return float(np.mean(np.asarray(y_true, dtype=object) == np.asarray(y_pred, dtype=object)))


def confusion(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> list[list[int]]:
    """Confusion counts C[i][j] = #{pairs with human label i and judge label j}: rows human, columns judge."""
    if len(y_true) == 0:
        return [[0] * len(labels) for _ in labels]
    return confusion_matrix(list(y_true), list(y_pred), labels=list(labels)).tolist()


def per_class(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every label, in the scheme's order.

    precision_c = TP_c / (TP_c + FP_c), recall_c = TP_c / (TP_c + FN_c), F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c),
    support_c = TP_c + FN_c (the pairs humans gave label c); 0 where a denominator is 0.
    """
    if len(y_true) == 0:
        return {label: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0} for label in labels}
    p, r, f, s = precision_recall_fscore_support(list(y_true), list(y_pred), labels=list(labels), zero_division=0)
    return {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, label in enumerate(labels)
    }


def macro_f1(y_true: Sequence, y_pred: Sequence, labels: Sequence[str] | None = None) -> float:
    """Unweighted mean of F1_c over the labels that occur on either side (see `macro_f1_from_confusion`).

    Args:
        labels: the label order; by default the sorted labels seen. Labels neither humans nor judge used are left
            out of the mean, so a segment without any C pairs is not marked down for an F1 that is undefined.
    """
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    return macro_f1_from_confusion(np.asarray(confusion(y_true, y_pred, labels)))


def accuracy_from_confusion(confusion: np.ndarray) -> np.ndarray | float:
    """accuracy = trace(C) / sum(C), batched over leading axes; NaN for an empty matrix."""
    c = np.asarray(confusion, dtype=float)
    total = c.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.trace(c, axis1=-2, axis2=-1) / total
    return float(result) if result.ndim == 0 else result


def macro_f1_from_confusion(confusion: np.ndarray) -> np.ndarray | float:
    """macro-F1 = mean over present labels c of 2 C_cc / (row_c + col_c), batched over leading axes.

    2 TP_c / (2 TP_c + FP_c + FN_c) equals 2 C_cc / (row_c + col_c), with row_c = TP_c + FN_c (human count) and
    col_c = TP_c + FP_c (judge count); a label is present when row_c + col_c > 0. NaN when none is present.
    """
    c = np.asarray(confusion, dtype=float)
    denominator = c.sum(axis=-1) + c.sum(axis=-2)
    present = denominator > 0
    f1 = np.divide(2 * np.diagonal(c, axis1=-2, axis2=-1), denominator, out=np.zeros_like(denominator), where=present)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = f1.sum(axis=-1) / present.sum(axis=-1)
    return float(result) if result.ndim == 0 else result


def optimistic_error_share(y_true: Sequence, y_pred: Sequence, labels: Sequence[str],
                           gains: Sequence[float]) -> float:
    """Of the pairs where judge and human disagree, the share the judge rated above the human.

    OES = #{i : g(pred_i) > g(true_i)} / #{i : pred_i != true_i}, ranking labels by the scheme's gains (ESCI's
    E > S > C > I, higher grades above lower). 0.5 means the judge errs both ways alike; near 1 it inflates
    relevance, which flatters whatever ranking it is asked to grade. NaN when there is no disagreement.
    """
    return optimistic_error_share_from_confusion(np.asarray(confusion(y_true, y_pred, labels)), gains)


def optimistic_error_share_from_confusion(confusion: np.ndarray, gains: Sequence[float]) -> np.ndarray | float:
    """`optimistic_error_share` from confusion matrices (rows human, columns judge), batched over leading axes.

    sum over cells with g_judge > g_human of C / sum over off-diagonal cells of C; NaN where that sum is 0.
    """
    c = np.asarray(confusion, dtype=float)
    g = np.asarray(gains, dtype=float)
    above = (g[None, :] > g[:, None]).astype(float)
    errors = c.sum(axis=(-2, -1)) - np.trace(c, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(errors > 0, (c * above).sum(axis=(-2, -1)) / np.where(errors > 0, errors, 1), np.nan)
    return float(result) if result.ndim == 0 else result
