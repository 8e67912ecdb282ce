"""Within-query agreement: does the judge order each query's candidates as the humans do?

Accuracy and alpha pool every pair, so a judge can score well by getting easy queries right while ordering the
candidates of each query no better than chance, which is what a ranker trained or tuned on its labels would see.
These figures are computed per query and then averaged, each query counting once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def expected_gain(proba: np.ndarray, gains: Sequence[float]) -> np.ndarray:
    """The judge's expected gain of each pair, E[g] = sum_k p_k g_k: its probabilities as one ranking score.

    Args:
        proba: (n, k) probabilities, columns in the scheme's label order.
        gains: the scheme's k gains, in the same order.
    """
    return np.asarray(proba, dtype=float) @ np.asarray(gains, dtype=float)


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b between two scorings of the same items, ties allowed on either side.

    Over the n0 = n (n - 1) / 2 pairs of items, with C concordant and D discordant pairs, n1 pairs tied in x and
    n2 tied in y:  tau_b = (C - D) / sqrt((n0 - n1) (n0 - n2)).

    Returns:
        tau_b in [-1, 1]; NaN when x or y is constant (or fewer than two items), where it is undefined.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    sa = np.sign(a[:, None] - a[None, :])
    sb = np.sign(b[:, None] - b[None, :])
    untied_a, untied_b = np.count_nonzero(sa) / 2, np.count_nonzero(sb) / 2
    if untied_a == 0 or untied_b == 0:
        return float("nan")
    return float((sa * sb).sum() / 2 / np.sqrt(untied_a * untied_b))


def rank_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """The probability that a random positive item scores above a random negative one, ties counting one half.

    AUC = (#{(i, j): s_i > s_j} + 0.5 #{(i, j): s_i = s_j}) / (n_pos n_neg), over positives i and negatives j
    (the Mann-Whitney form of the area under the ROC curve).

    Returns:
        AUC in [0, 1]; NaN without at least one positive and one negative.
    """
    s, is_pos = np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool)
    pos, neg = s[is_pos], s[~is_pos]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def per_query_tau(groups: Sequence, scores: Sequence[float], grades: Sequence[float]) -> pd.Series:
    """Kendall's tau-b of the judge's scores against the human grades, per query.

    A query takes part when its pairs hold at least two distinct human grades (else there is nothing to order).
    A judge that gives all of such a query's pairs the same score orders nothing: its tau counts as 0, chance,
    as tied scores count one half in `rank_auc`, rather than the query dropping out and flattering the judge.

    Args:
        groups: (n,) the query of each pair.
        scores: (n,) the judge's score of each pair (its expected gain).
        grades: (n,) the gain of each pair's human label.

    Returns:
        tau_b by query, for the queries that take part, in order of first appearance.
    """
    def one(x: np.ndarray, y: np.ndarray) -> float:
        if np.ptp(y) == 0:
            return float("nan")
        tau = kendall_tau_b(x, y)
        return 0.0 if np.isnan(tau) else tau

    return _per_query(groups, scores, grades, one)


def per_query_auc(groups: Sequence, scores: Sequence[float], positive: Sequence[bool]) -> pd.Series:
    """`rank_auc` of the judge's scores for the human's positive pairs against the rest, per query.

    Args:
        groups: (n,) the query of each pair.
        scores: (n,) the judge's score of each pair (its probability of the positive label).
        positive: (n,) whether the humans gave the pair the positive (top) label.

    Returns:
        AUC by query, for the queries that have both positive and negative pairs, in order of first appearance.
    """
    return _per_query(groups, scores, positive, rank_auc)


def _per_query(groups: Sequence, x: Sequence, y: Sequence,
               statistic: Callable[[np.ndarray, np.ndarray], float]) -> pd.Series:
    """statistic(x, y) of each query's pairs, NaN results dropped; arrays cut by query rather than a groupby,
    which costs a frame per query (a hundred times slower for thousands of small queries)."""
    codes, queries = pd.factorize(np.asarray(groups, dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    xs, ys = np.split(np.asarray(x)[order], bounds), np.split(np.asarray(y)[order], bounds)
    values = [statistic(a, b) for a, b in zip(xs, ys)] if len(codes) else []
    return pd.Series(values, index=queries, dtype=float).dropna()
