"""Measure both arms of an experiment on the sampled queries: one ranking metric per query and arm.

A query an arm returned nothing for scores 0 under that arm (an empty result page is a real outcome); a query in
neither arm is an error, since a run that lost it cannot be told apart from one that was never run on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from reljudge.errors import InputError
from reljudge.metrics.ranking import check_metric, ndcg, precision, sdcg

Runs = Mapping[str, Sequence[str]]


def shown_pairs(query_ids: Sequence[str], control: Runs, treatment: Runs, k: int) -> list[tuple[str, str]]:
    """The (query, product) pairs either arm shows in its top K for the sampled queries, each once, in order."""
    seen: dict[tuple[str, str], None] = {}
    for query in query_ids:
        for run in (control, treatment):
            for product in list(run.get(query, ()))[:k]:
                seen.setdefault((query, product), None)
    return list(seen)


def query_metric(metric: str, ranked: Sequence[float], k: int, *, pool: Sequence[float], top_gain: float,
                 min_gain: float) -> float:
    """One query's metric from the gains of its ranked results (see `reljudge.metrics.ranking`)."""
    if check_metric(metric) == "sdcg":
        return sdcg(ranked, k, top_gain)
    if metric == "ndcg":
        return ndcg(ranked, k, pool)
    return precision(ranked, k, min_gain)


def measure_arms(sample: pd.DataFrame, control: Runs, treatment: Runs, gains: Mapping[tuple[str, str], float], *,
                 metric: str, k: int, top_gain: float, min_gain: float, sources: tuple[str, str, str]
                 ) -> tuple[pd.DataFrame, int]:
    """Each sampled query's metric under control and treatment, and their difference.

    nDCG's ideal ranking is built from the results either arm showed for the query, so both arms are normalised
    by the same pool and no label beyond the two top-K lists is needed; a pair with no label (not in the qrels,
    or unscored by the judge) gains 0, as trec_eval counts unjudged results.

    Args:
        sample: the sampled queries (query_id, stratum, ...), indexed by the row number the user sees.
        control, treatment: each arm's ranked product ids per query.
        gains: the gain of each labelled (query, product) pair.
        metric: "sdcg", "ndcg" or "precision".
        k: the cut-off K.
        top_gain: the scheme's highest gain (sDCG's normaliser).
        min_gain: the smallest gain precision counts as relevant.
        sources: the sample, control and treatment file names, for error messages.

    Returns:
        The sample's rows with control, treatment, diff, shown (the pairs either arm shows in its top K) and
        unlabelled (those of them with no label) columns added, and the number of shown pairs that had no label.

    Raises:
        InputError: naming the sample's row of the first query that is in neither run.
        ReljudgeError: an unknown metric.
    """
    check_metric(metric)
    absent = ~sample["query_id"].isin(control.keys()) & ~sample["query_id"].isin(treatment.keys())
    if absent.any():
        row = absent.idxmax()
        raise InputError(sources[0], f"query {sample.at[row, 'query_id']!r} is in neither run ({sources[1]}, "
                                     f"{sources[2]}); {int(absent.sum())} sampled queries are missing in all",
                         row=int(row), field="query_id")
    scores: dict[str, list[float]] = {"control": [], "treatment": []}
    shown_counts, unlabelled = [], []
    for query in sample["query_id"]:
        shown = {name: [gains.get((query, p), 0.0) for p in list(run.get(query, ()))[:k]]
                 for name, run in (("control", control), ("treatment", treatment))}
        both = shown_pairs([query], control, treatment, k)
        pool = [gains.get(pair, 0.0) for pair in both]
        shown_counts.append(len(both))
        unlabelled.append(sum(pair not in gains for pair in both))
        for name, ranked in shown.items():
            scores[name].append(query_metric(metric, ranked, k, pool=pool, top_gain=top_gain, min_gain=min_gain))
    out = sample.assign(**scores)
    out = out.assign(diff=out["treatment"] - out["control"], shown=shown_counts, unlabelled=unlabelled)
    return out, sum(unlabelled)
