"""Evaluate a judge against human labels: one JSON-ready dict of figures, overall, by segment and with CIs.

Computation only: `report.EvaluationReport` wraps the dict, `render` draws it as tables, `--json` dumps it as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.evaluation.bootstrap import bootstrap_metrics
from reljudge.evaluation.scalars import METRICS, Compared, percentile_ci
from reljudge.labels import LabelScheme
from reljudge.metrics.agreement import annotator_agreement
from reljudge.metrics.classification import confusion, per_class
from reljudge.metrics.within_query import expected_gain, per_query_auc, per_query_tau

MISSING_SEGMENT = "(missing)"
_REQUIRED = ("query_id", "human", "label")


def evaluate_frame(frame: pd.DataFrame, scheme: LabelScheme, *, by: list[str] | None = None,
                   bootstrap: int = 0, seed: int = 0, annotations: pd.DataFrame | None = None) -> dict:
    """Compare a judge's labels with human labels, one row per pair.

    A pair is compared when it has both a human label and a judge label; a pair the judge left unscored (label
    None/NaN) is counted in `n_unscored`, never scored as wrong, and a pair without a human label in
    `n_unlabelled`. Distributions count the compared pairs, so judge and human counts line up.

    Args:
        frame: columns query_id, human, label; optionally p_<label> for every scheme label (the judge's
            probabilities, in any order), pair_id (needed with `annotations`) and segment columns for `by`.
            Labels may be in any spelling the scheme accepts.
        scheme: the labels, their order and the level of measurement for alpha.
        by: segment columns; each value gets the same figures under report["by"][column][value]
            (a missing value is keyed "(missing)").
        bootstrap: B > 0 adds report["ci"] = {metric: [lo, hi]}, 95% percentile intervals over B resamples of
            queries with replacement (all pairs of a drawn query come along), for each figure of
            `scalars.METRICS` that declares one (ece and brier with probabilities); and a "ci" to each within_query
            figure.
        seed: seeds the bootstrap; the same seed gives the same intervals.
        annotations: long-form pair_id / annotator / label of the individual humans; adds report["humans"], their
            agreement among themselves on the frame's pairs (see `annotator_agreement`), the ceiling for the judge.

    Returns:
        {"scheme", "labels", "level", "n", "n_unscored", "n_unlabelled", each figure of `scalars.METRICS` by
        name (alpha, gain_r, worth, accuracy, macro_f1, cohen_kappa, ece, brier, optimistic_error_share; ece and
        brier None without probabilities), "per_class", "confusion" (rows human, columns judge), "human_distribution",
        "predicted_distribution", "within_query" ({"kendall_tau": {"mean", "n_queries"}, "top_label_auc": {"mean",
        "n_queries", "label"}}, see `_within_query`)}, plus "ci"/"bootstrap", "by" and "humans" when asked.
        Undefined figures are None, so `json.dumps(report, allow_nan=False)` works.

    Raises:
        ReljudgeError: a required or `by` column is missing, or only some p_<label> columns are present.
        SchemeError: a label is not in the scheme.
    """
    by = list(by or [])
    _require(frame, [*_REQUIRED, *by, *(["pair_id"] if annotations is not None else [])])
    proba_columns = _proba_columns(frame, scheme)
    pairs = frame.assign(human=_canonical(frame["human"], scheme), label=_canonical(frame["label"], scheme))
    report: dict = {"scheme": scheme.name, "labels": list(scheme.labels), "level": scheme.level,
                    **_figures(pairs, scheme, proba_columns)}
    if bootstrap > 0:
        _add_intervals(report, pairs, scheme, proba_columns, bootstrap, seed)
    if by:
        report["by"] = {
            column: {_segment_key(value): _figures(group, scheme, proba_columns)
                     for value, group in pairs.groupby(column, dropna=False, sort=True)}
            for column in by
        }
    if annotations is not None:
        ours = annotations[annotations["pair_id"].isin(frame["pair_id"])]
        report["humans"] = annotator_agreement(ours, scheme)
    return _jsonable(report)


def _figures(pairs: pd.DataFrame, scheme: LabelScheme, proba_columns: list[str] | None) -> dict:
    """Every figure of one set of pairs (the whole frame or one segment)."""
    labels = list(scheme.labels)
    compared = pairs[pairs["human"].notna() & pairs["label"].notna()]
    human, judge = compared["human"].tolist(), compared["label"].tolist()
    scores = _pair_scores(compared, scheme, proba_columns)
    proba, truth = (None, None) if proba_columns is None else _calibration_rows(compared, scheme, proba_columns)
    pairs_compared = Compared(scheme, human, judge, scores["expected_grade"], scores["human_grade"], proba, truth)
    return {
        "n": len(compared),
        "n_unscored": int(pairs["label"].isna().sum()),
        "n_unlabelled": int(pairs["human"].isna().sum()),
        **{metric.name: metric.of_pairs(pairs_compared) for metric in METRICS},
        "per_class": per_class(human, judge, labels),
        "confusion": confusion(human, judge, labels),
        "human_distribution": _distribution(human, labels),
        "predicted_distribution": _distribution(judge, labels),
        "within_query": _within_query(_query_values(compared, scores), scheme),
    }


def _add_intervals(report: dict, pairs: pd.DataFrame, scheme: LabelScheme, proba_columns: list[str] | None,
                   n_resamples: int, seed: int) -> None:
    """Add the query-bootstrap intervals: report["ci"], report["bootstrap"] and each within_query figure's "ci"."""
    compared = pairs[pairs["human"].notna() & pairs["label"].notna()]
    position = {label: i for i, label in enumerate(scheme.labels)}
    groups = compared["query_id"].to_numpy()
    report["ci"] = {}
    report["bootstrap"] = {"n_resamples": n_resamples, "seed": seed, "unit": "query_id", "confidence": 0.95,
                           "n_queries": int(pd.Series(groups).nunique())}
    if compared.empty:
        return
    scores = _pair_scores(compared, scheme, proba_columns)
    within = _query_values(compared, scores)
    samples = bootstrap_metrics(
        groups,
        compared["human"].map(position).to_numpy(dtype=int),
        compared["label"].map(position).to_numpy(dtype=int),
        scheme,
        n_resamples=n_resamples,
        seed=seed,
        proba=None if proba_columns is None else compared[proba_columns].to_numpy(dtype=float),
        expected_grades=scores["expected_grade"],
        query_values=within,
    )
    report["ci"] = {m.name: m.interval(samples[m.name]) for m in METRICS if m.name in samples}
    for name in within:
        report["within_query"][name]["ci"] = percentile_ci(samples[name])


def _pair_scores(compared: pd.DataFrame, scheme: LabelScheme, proba_columns: list[str] | None) -> dict:
    """The judge's scores of each compared pair beside the human label's, as arrays.

    "expected": the judge's expected gain; "top": its probability of the top label (the highest gain); "human":
    the gain of the human label; "human_top": whether the human label is the top one; "expected_grade" and
    "human_grade": the same expectation and the human label over the scheme's grades (E 3, S 2, C 1, I 0). A pair
    judged without probabilities scores as if certain of its label: the label's gain, and 1 or 0.
    """
    gains, grades = np.asarray(scheme.gains, dtype=float), np.asarray(scheme.grades, dtype=float)
    top = int(np.argmax(gains))
    position = {label: i for i, label in enumerate(scheme.labels)}
    judge = compared["label"].map(position).to_numpy(dtype=int)
    human = compared["human"].map(position).to_numpy(dtype=int)
    expected, expected_grade, top_score = gains[judge], grades[judge], (judge == top).astype(float)
    if proba_columns is not None:
        proba = compared[proba_columns].to_numpy(dtype=float)
        known = ~np.isnan(proba).any(axis=1)
        expected[known] = expected_gain(proba[known], gains)
        expected_grade[known] = expected_gain(proba[known], grades)
        top_score[known] = proba[known, top]
    return {"expected": expected, "top": top_score, "human": gains[human], "human_top": human == top,
            "expected_grade": expected_grade, "human_grade": grades[human]}


def _query_values(compared: pd.DataFrame, scores: dict) -> dict[str, pd.Series]:
    """Per-query tau-b of the judge's expected gain and AUC of its top-label probability (see `_pair_scores`
    and `metrics.within_query`)."""
    groups = compared["query_id"].to_numpy()
    return {"kendall_tau": per_query_tau(groups, scores["expected"], scores["human"]),
            "top_label_auc": per_query_auc(groups, scores["top"], scores["human_top"])}


def _within_query(values: dict[str, pd.Series], scheme: LabelScheme) -> dict:
    """The mean of each per-query figure over the queries it is defined for, and how many those are.

    kendall_tau: tau-b of the judge's expected gain against the human label's gain, over queries with at least
    two distinct human grades. top_label_auc: the AUC of the judge's probability of the top label (the highest
    gain: E for ESCI, the highest grade) for the human's top-label pairs against the rest, over queries with both.
    """
    figures = {name: {"mean": float(v.mean()) if len(v) else None, "n_queries": len(v)} for name, v in values.items()}
    figures["top_label_auc"]["label"] = scheme.labels[int(np.argmax(scheme.gains))]
    return figures


def _calibration_rows(compared: pd.DataFrame, scheme: LabelScheme,
                      proba_columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The compared pairs that carry probabilities: (n, k) probabilities and the human label indices."""
    proba = compared[proba_columns].to_numpy(dtype=float)
    keep = ~np.isnan(proba).any(axis=1)
    truth = compared["human"].map({label: i for i, label in enumerate(scheme.labels)}).to_numpy(dtype=int)
    return proba[keep], truth[keep]


def _proba_columns(frame: pd.DataFrame, scheme: LabelScheme) -> list[str] | None:
    """p_<label> columns in the scheme's order, or None when the judge gave no probabilities."""
    wanted = [f"p_{label}" for label in scheme.labels]
    present = [c for c in wanted if c in frame.columns]
    if not present:
        return None
    if len(present) < len(wanted):
        absent = ", ".join(c for c in wanted if c not in frame.columns)
        raise ReljudgeError(f"probability columns are incomplete: missing {absent}")
    return wanted if frame[wanted].notna().any().any() else None


def _canonical(values: pd.Series, scheme: LabelScheme) -> pd.Series:
    """Canonical labels, None where the value is missing."""
    mapping = {raw: scheme.parse(raw) for raw in values.dropna().unique()}
    return values.map(mapping).astype(object).where(values.notna(), None)


def _distribution(labels_seen: Sequence[str], labels: list[str]) -> dict[str, int]:
    counts = pd.Series(labels_seen, dtype=object).value_counts()
    return {label: int(counts.get(label, 0)) for label in labels}


def _require(frame: pd.DataFrame, columns: list[str]) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ReljudgeError(
            f"the evaluation frame lacks column(s) {', '.join(absent)} (it has {', '.join(map(str, frame.columns))})")


def _segment_key(value: object) -> str:
    return MISSING_SEGMENT if pd.isna(value) else str(value)


def _jsonable(value: object) -> object:
    """Plain Python types all the way down, with NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
