"""Ranking metrics of one query's ranked results, from the gains of the labels at each rank.

Gains are the label scheme's (ESCI 1.0 / 0.1 / 0.01 / 0), used linearly as trec_eval does, not as 2^g - 1.
A ranking shorter than K simply has nothing at the missing ranks: they add no gain, and the normaliser of sDCG and
precision still counts K positions, so returning fewer results is never rewarded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reljudge.errors import ReljudgeError

#: The per-query metrics an experiment can measure.
RANKING_METRICS: tuple[str, ...] = ("sdcg", "ndcg", "precision")


def check_metric(name: str) -> str:
    """The metric's name, if it is one of RANKING_METRICS.

    Raises:
        ReljudgeError: naming the metrics there are.
    """
    if name not in RANKING_METRICS:
        raise ReljudgeError(f"unknown metric {name!r}: use {', '.join(RANKING_METRICS)}")
    return name


def _top(gains: Sequence[float], k: int) -> np.ndarray:
    if k < 1:
        raise ValueError(f"K must be at least 1, not {k}")
    return np.asarray(gains, dtype=float)[:k]


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2))


def dcg(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of the first K results.

    DCG@K = sum_{r=1..min(K, n)} g_r / log2(r + 1): a result's gain counts less the lower it is shown, because
    fewer users look that far down.

    Args:
        gains: the gain of the result at each rank, best rank first.
        k: the cut-off K.
    """
    top = _top(gains, k)
    return float(top @ _discounts(len(top)))


def sdcg(gains: Sequence[float], k: int, top_gain: float) -> float:
    """Simplified (scaled) DCG: DCG@K over the DCG of K results that all have the scheme's top gain.

    sDCG@K = DCG@K / (top_gain * sum_{r=1..K} 1 / log2(r + 1)), in [0, 1].

    Unlike nDCG its normaliser does not depend on which products are known for the query, so it needs labels only
    for the results shown and two arms are always on the same scale (Pinterest's measure for search experiments).

    Args:
        gains: the gain of the result at each rank, best rank first (fewer than K: the rest gain nothing).
        k: the cut-off K.
        top_gain: the scheme's highest gain (1.0 for ESCI).
    """
    if top_gain <= 0:
        raise ValueError(f"the top gain must be positive, not {top_gain}")
    return dcg(gains, k) / (top_gain * float(_discounts(k).sum()))


def ndcg(gains: Sequence[float], k: int, pool: Sequence[float]) -> float:
    """Normalised DCG: DCG@K over the DCG@K of the best ordering of a pool of labelled results.

    nDCG@K = DCG@K(ranking) / DCG@K(pool sorted by gain, best first); 0 when the pool has no gain at all (as
    trec_eval does), so a query nothing relevant is known for adds no credit to either arm.

    Args:
        gains: the gain of the result at each rank, best rank first.
        k: the cut-off K.
        pool: the gains of every labelled result known for the query (it should include the ranking's own).
    """
    ideal = dcg(sorted(pool, reverse=True), k)
    return dcg(gains, k) / ideal if ideal > 0 else 0.0


def precision(gains: Sequence[float], k: int, min_gain: float) -> float:
    """Precision@K: the share of the K positions holding a relevant result, one with gain >= `min_gain`.

    P@K = #{r <= K : g_r >= min_gain} / K (missing results count as not relevant).
    """
    return float((_top(gains, k) >= min_gain).sum()) / k
