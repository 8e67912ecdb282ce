"""Judge versus people on the pairs people labelled: alpha with its query-bootstrap interval, exact agreement,
within one grade, the optimistic-error share and the confusion matrix, for any subset of the compared pairs; and
people among themselves on the pairs two or more labelled, the ceiling the judge's alpha is read against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reljudge.evaluation.scalars import percentile_ci
from reljudge.labels import LabelScheme
from reljudge.metrics.agreement import aggregate_labels, alpha_from_confusion, annotator_agreement
from reljudge.metrics.classification import optimistic_error_share_from_confusion

_DRAWS_PER_SLICE = 1_000_000  # resamples x queries drawn at once (8 MB of counts)


def compared_units(rows: pd.DataFrame, scheme: LabelScheme) -> pd.DataFrame:
    """One row per judged unit people labelled: its annotators' labels aggregated by majority vote
    (`metrics.agreement.aggregate_labels`).

    Args:
        rows: `query.labelled`'s rows, one per judgment and annotator.

    Returns:
        The rows' unit-level columns (day, unit, query_id, judge_label, segments) with `human` and `n_annotators`.
    """
    if rows.empty:
        return rows.drop(columns=["annotator", "human_label"]).assign(human=pd.Series(dtype=str), n_annotators=0)
    votes = rows[["unit", "annotator", "human_label"]].rename(columns={"unit": "pair_id", "human_label": "label"})
    people = aggregate_labels(votes, scheme).rename(columns={"pair_id": "unit", "label": "human"})
    units = rows.drop_duplicates("unit").drop(columns=["annotator", "human_label"])
    return units.merge(people, on="unit", how="inner").reset_index(drop=True)


def agreement(units: pd.DataFrame, scheme: LabelScheme, *, min_labelled: int, n_resamples: int, seed: int,
              confidence: float) -> tuple[dict, np.ndarray | None]:
    """Agreement figures of a set of compared units, and alpha's bootstrap resamples (None when hidden).

    Figures are hidden (None) below `min_labelled` units, as agreement on a handful of pairs says nothing; n and
    n_queries are always given. Within one grade is given for schemes of more than two labels, ranking labels
    by their gains (ESCI's E > S > C > I, graded scales by grade).
    """
    n, n_queries = len(units), int(units["query_id"].nunique()) if len(units) else 0
    figures: dict = {"n": n, "n_queries": n_queries, "alpha": None, "alpha_interval": [None, None], "exact": None,
                     "within_one": None, "optimistic_share": None, "confusion": None}
    if n < min_labelled:
        return figures, None
    human, judge, confusion = _confusion(units, scheme)
    samples = alpha_resamples(units["query_id"].to_numpy(), human, judge, scheme, n_resamples=n_resamples,
                              seed=seed)
    figures.update(
        alpha=_number(alpha_from_confusion(confusion, scheme.level)),
        alpha_interval=percentile_ci(samples, confidence),
        exact=float(np.trace(confusion) / n),
        within_one=_within_one(confusion, scheme),
        optimistic_share=_number(optimistic_error_share_from_confusion(confusion, scheme.gains)),
        confusion=confusion.astype(int).tolist(),
    )
    return figures, samples


def among_people(rows: pd.DataFrame, units: pd.DataFrame, scheme: LabelScheme, *, min_labelled: int) -> dict:
    """People's alpha among themselves on the units two or more of them labelled, and the judge's alpha against
    their majority on the same units (like for like: a judge near people's own alpha is as good as another person).

    Args:
        rows: `query.labelled`'s rows (one per judgment and annotator); units: `compared_units` of the pairs to
            count (the window's).

    Returns:
        n (units with 2+ annotators), n_annotators, alpha, percent_agreement and judge_alpha; the figures None
        below `min_labelled` units.
    """
    shared = units[units["n_annotators"] >= 2]
    figures: dict = {"n": int(len(shared)), "n_annotators": 0, "alpha": None, "percent_agreement": None,
                     "judge_alpha": None}
    if len(shared) < min_labelled:
        return figures
    votes = rows[rows["unit"].isin(shared["unit"])]
    among = annotator_agreement(votes[["unit", "annotator", "human_label"]].rename(
        columns={"unit": "pair_id", "human_label": "label"}), scheme)
    confusion = _confusion(shared, scheme)[2]
    figures.update(n_annotators=among["n_annotators"], alpha=_number(among["alpha"]),
                   percent_agreement=_number(among["percent_agreement"]),
                   judge_alpha=_number(alpha_from_confusion(confusion, scheme.level)))
    return figures


def _confusion(units: pd.DataFrame, scheme: LabelScheme) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The units' people and judge label indices, and their confusion matrix (rows people, columns the judge)."""
    human = units["human"].map(scheme.index).to_numpy()
    judge = units["judge_label"].map(scheme.index).to_numpy()
    confusion = np.zeros((scheme.k, scheme.k))
    np.add.at(confusion, (human, judge), 1)
    return human, judge, confusion


def alpha_resamples(groups: np.ndarray, human: np.ndarray, judge: np.ndarray, scheme: LabelScheme, *,
                    n_resamples: int, seed: int) -> np.ndarray:
    """Alpha of `n_resamples` query-bootstrap resamples: queries drawn with replacement, each bringing its pairs.

    The pairs are first summed into one confusion matrix per query, so a resample is its queries' draw counts
    times those matrices; resamples are drawn a slice at a time, so memory stays at a few MB however many
    queries people labelled (a window of 20,000 labelled queries would otherwise hold B x 20,000 counts at once).
    """
    codes, uniques = pd.factorize(np.asarray(groups))
    n_queries, k = len(uniques), scheme.k
    per_query = np.zeros((n_queries, k * k))
    np.add.at(per_query, (codes, np.asarray(human) * k + np.asarray(judge)), 1)
    rng = np.random.default_rng(seed)
    step = max(1, _DRAWS_PER_SLICE // n_queries)
    out = []
    for start in range(0, n_resamples, step):
        draws = rng.multinomial(n_queries, np.full(n_queries, 1 / n_queries), size=min(step, n_resamples - start))
        out.append(np.atleast_1d(alpha_from_confusion((draws @ per_query).reshape(-1, k, k), scheme.level)))
    return np.concatenate(out)


def _within_one(confusion: np.ndarray, scheme: LabelScheme) -> float | None:
    """The share of units whose judge label is at most one grade from the people's, grades ranked by gain."""
    if scheme.k <= 2:
        return None
    rank = np.argsort(np.argsort(-np.asarray(scheme.gains), kind="stable"), kind="stable")
    near = np.abs(rank[:, None] - rank[None, :]) <= 1
    return float(confusion[near].sum() / confusion.sum())


def _number(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)
