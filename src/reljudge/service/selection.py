"""Which pairs people should label next, from a judge's probabilities: pure functions over arrays.

- uncertain: the pairs the judge is least sure of (active labelling: each label teaches the judge most);
- random: a uniform sample, the baseline active labelling must beat;
- disagreement: pairs whose human label the judge confidently contradicts, most confident first (likely
  mislabels, or the judge's blind spots: an audit).
"""

from __future__ import annotations

import numpy as np

SELECTIONS = ("uncertain", "random", "disagreement")
MEASURES = ("entropy", "margin")


def uncertainty(proba: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """How unsure the judge is of each row, higher meaning less sure; NaN rows (unscored) get NaN.

    entropy: -sum_k p_k log p_k. margin: 1 - (p_(1) - p_(2)), one minus the gap between the two likeliest labels.
    """
    p = np.asarray(proba, dtype=float)
    if measure == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        score = terms.sum(axis=1)
    elif measure == "margin":
        top = -np.sort(-p, axis=1)
        score = 1.0 - (top[:, 0] - top[:, 1])
    else:
        raise ValueError(f"unknown uncertainty measure {measure!r}: use {' or '.join(MEASURES)}")
    score[np.isnan(p).any(axis=1)] = np.nan
    return score


def select_uncertain(proba: np.ndarray, n: int, measure: str = "entropy") -> tuple[np.ndarray, np.ndarray]:
    """The `n` least certain rows, least certain first (ties in row order); unscored rows are never chosen.

    Returns:
        (row indices, their uncertainty).
    """
    score = uncertainty(proba, measure)
    rows = np.flatnonzero(~np.isnan(score))
    order = rows[np.argsort(-score[rows], kind="stable")][:n]
    return order, score[order]


def select_random(n_rows: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` rows drawn without replacement; the score is the draw's order (0 first)."""
    order = rng.permutation(n_rows)[:n]
    return order, np.arange(len(order), dtype=float)


def select_disagreement(proba: np.ndarray, human: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose human label (an index, -1 for none) is not the judge's argmax, most confident judge first.

    Returns:
        (row indices, the judge's probability of its own label on each).
    """
    p = np.asarray(proba, dtype=float)
    human = np.asarray(human)
    scored = ~np.isnan(p).any(axis=1) & (human >= 0)
    judged = np.where(scored[:, None], p, 0.0).argmax(axis=1)
    rows = np.flatnonzero(scored & (judged != human))
    confidence = p[rows, judged[rows]]
    order = np.argsort(-confidence, kind="stable")[:n]
    return rows[order], confidence[order]


def overlap_mask(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Which of `n` items go to two annotators: round(share * n) of them, spread at random over the queue."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"overlap must be a share between 0 and 1, not {share}")
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[: round(share * n)]] = True
    return mask
