"""Query-level bootstrap of the headline metrics.

Pairs of the same query share the query's difficulty and usually its annotator, so they are not independent:
resampling pairs would understate the uncertainty. We resample queries with replacement and every pair of a drawn
query comes along. A resample is then the same pairs weighted by how often their query was drawn, so each metric
of B resamples is one weighted array operation (confusion matrices for alpha / accuracy / macro-F1 / optimistic-error
share, sample weights for the gain correlation and ECE / Brier, query weights for the means of per-query figures)
instead of B recomputations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reljudge.evaluation.scalars import Resampled, resampled_values
from reljudge.labels import LabelScheme

_CELLS_PER_CHUNK = 4_000_000  # resamples x pairs held in memory at once (32 MB of float64 weights)


def bootstrap_metrics(groups: np.ndarray, human: np.ndarray, judge: np.ndarray, scheme: LabelScheme, *,
                      n_resamples: int, seed: int = 0, proba: np.ndarray | None = None,
                      expected_grades: np.ndarray | None = None,
                      query_values: dict[str, pd.Series] | None = None) -> dict[str, np.ndarray]:
    """The metrics of `n_resamples` query-level bootstrap resamples.

    Args:
        groups: (n,) the query of each compared pair; the resampling unit.
        human: (n,) index of each pair's human label in `scheme.labels`.
        judge: (n,) index of each pair's judge label.
        scheme: gives k and the level of measurement for alpha.
        n_resamples: B, the number of resamples.
        seed: seeds numpy's default generator, so the same call gives the same resamples.
        proba: (n, k) judge probabilities; rows with a NaN are left out of ECE and Brier. None: no calibration.
        expected_grades: (n,) the judge's expected grade of each pair (`LabelScheme.grades`), for its correlation
            with the grade of the human label (`gain_r`). None: no gain_r.
        query_values: per-query figures (a Series indexed by query, over the queries where the figure is defined);
            each resample's value is their mean weighted by how often each query was drawn.

    Returns:
        each declared figure with an interval (`scalars.METRICS`: those reading grades only with `expected_grades`,
        calibration only with `proba`) and each of `query_values`, by name, an array of B values; a resample where
        a figure is undefined holds NaN.
    """
    codes, uniques = pd.factorize(np.asarray(groups))
    n_queries, k = len(uniques), scheme.k
    draws = np.random.default_rng(seed).multinomial(n_queries, np.full(n_queries, 1 / n_queries), size=n_resamples)
    cells = np.zeros((len(codes), k * k))
    cells[np.arange(len(codes)), np.asarray(human) * k + np.asarray(judge)] = 1
    calibrated = None if proba is None else ~np.isnan(proba).any(axis=1)
    human_grades = None if expected_grades is None else np.asarray(scheme.grades, dtype=float)[np.asarray(human)]
    rows = None if calibrated is None else proba[calibrated]
    truth = None if calibrated is None else np.asarray(human)[calibrated]
    parts: list[dict[str, np.ndarray]] = []
    step = max(1, _CELLS_PER_CHUNK // max(len(codes), 1))
    for start in range(0, n_resamples, step):
        weights = draws[start:start + step][:, codes].astype(float)
        parts.append(resampled_values(Resampled(
            scheme, (weights @ cells).reshape(-1, k, k), weights, expected_grades, human_grades, calibrated, rows,
            truth)))
    samples = {name: np.concatenate([np.atleast_1d(p[name]) for p in parts]) for name in parts[0]}
    for name, values in (query_values or {}).items():
        samples[name] = _resampled_means(draws, uniques, values)
    return samples


def _resampled_means(draws: np.ndarray, queries: object, values: pd.Series) -> np.ndarray:
    """mean_b = sum_q w_bq v_q / sum_q w_bq over the queries with a value, w_bq = times query q was drawn in b."""
    columns = pd.Index(queries).get_indexer(values.index)
    if (columns < 0).any():
        raise ValueError("per-query values name queries that are not among the resampled groups")
    weights = draws[:, columns].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (weights @ values.to_numpy(dtype=float)) / weights.sum(axis=1)
