"""The evaluation's one-number figures, each declared once: its name, how tables read it, how it is computed on a
set of pairs and on the query-bootstrap's resamples, and the table it belongs to.

`figures.evaluate_frame` computes every declared figure (and `bootstrap.bootstrap_metrics` its resamples),
`render` draws the rows and columns from this list, and `EvaluationReport.to_dataframe` and `--json` carry them by
name. Adding a figure is one `Metric` here, plus its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reljudge.labels import LabelScheme
from reljudge.metrics.agreement import alpha, alpha_from_confusion, cohen_kappa
from reljudge.metrics.calibration import brier, ece
from reljudge.metrics.classification import (
    accuracy,
    accuracy_from_confusion,
    macro_f1,
    macro_f1_from_confusion,
    optimistic_error_share,
    optimistic_error_share_from_confusion,
)
from reljudge.metrics.worth import gain_correlation, worth


@dataclass(frozen=True)
class Compared:
    """One set of compared pairs, as every figure reads it.

    Attributes:
        human, judge: the canonical labels, aligned.
        expected_grade, human_grade: the judge's expected grade (E 3, S 2, C 1, I 0) of each pair and the human
            label's grade (see `figures._pair_scores`).
        proba, truth: the rows that carry probabilities and their human label indices; None without probabilities.
    """

    scheme: LabelScheme
    human: list[str]
    judge: list[str]
    expected_grade: np.ndarray
    human_grade: np.ndarray
    proba: np.ndarray | None = None
    truth: np.ndarray | None = None


@dataclass(frozen=True)
class Resampled:
    """A chunk of query-bootstrap resamples: each is the compared pairs weighted by how often their query was drawn.

    Attributes:
        confusion: (B, k, k) weighted confusion matrices, rows human.
        weights: (B, n) each pair's weight in each resample.
        expected_grade, human_grade: as in `Compared`, over all n pairs.
        calibrated: (n,) which pairs carry probabilities; `proba`, `truth` are those rows, or None.
    """

    scheme: LabelScheme
    confusion: np.ndarray
    weights: np.ndarray
    expected_grade: np.ndarray | None
    human_grade: np.ndarray | None
    calibrated: np.ndarray | None
    proba: np.ndarray | None
    truth: np.ndarray | None


@dataclass(frozen=True)
class Metric:
    """One figure of an evaluation.

    Attributes:
        name: its key in the figures, `--json`, `to_dataframe` and the intervals.
        title: how the headline table reads it ("{level}" is the scheme's level of measurement).
        short: its column in the per-segment tables.
        table: "labels" (agreement of the labels) or "order" (the expected grade against the human's), the
            per-segment table it is a column of.
        of_pairs: the figure of one set of pairs; None where undefined (ECE without probabilities).
        reads: what it needs beyond the labels: "grades" (the expected grade, which every judge has unless the
            bootstrap is given none) or "probabilities" (shown only where the judge gave them).
        of_resamples: its value on each resample, NaN where undefined; None: no interval.
        interval: the interval from those values (default: their percentile interval).
    """

    name: str
    title: str
    short: str
    table: Literal["labels", "order"]
    of_pairs: Callable[[Compared], float | None]
    reads: Literal["labels", "grades", "probabilities"] = "labels"
    of_resamples: Callable[[Resampled], np.ndarray] | None = None
    interval: Callable[[np.ndarray], list[float | None]] = lambda values: percentile_ci(values)

    def heading(self, scheme_level: str) -> str:
        return self.title.format(level=scheme_level)


def _gain_r(c: Compared) -> float:
    return gain_correlation(c.expected_grade, c.human_grade)


def _gain_r_resampled(r: Resampled) -> np.ndarray:
    return gain_correlation(r.expected_grade, r.human_grade, sample_weight=r.weights)


def _worth_interval(worths: np.ndarray) -> list[float | None]:
    """worth rises with |r|: |r|'s percentile interval mapped through `worth`, which a resample with |r| = 1 (worth
    without bound) cannot upset as it would the interpolation between percentiles."""
    with np.errstate(divide="ignore"):
        low, high = percentile_ci(np.sqrt(1 - 1 / np.asarray(worths, dtype=float)))
    return [None, None] if low is None else [worth(low), worth(high)]


def _calibrated(figure: Callable) -> Callable[[Compared], float | None]:
    return lambda c: None if c.proba is None or not len(c.proba) else figure(c.proba, c.truth)


def _calibrated_resampled(figure: Callable) -> Callable[[Resampled], np.ndarray]:
    return lambda r: figure(r.proba, r.truth, sample_weight=r.weights[:, r.calibrated])


METRICS: tuple[Metric, ...] = (
    Metric("alpha", "Krippendorff's alpha ({level})", "alpha", "labels",
           lambda c: alpha(c.human, c.judge, c.scheme),
           of_resamples=lambda r: alpha_from_confusion(r.confusion, r.scheme.level)),
    Metric("gain_r", "r, expected vs human grade", "r", "order", _gain_r, "grades", _gain_r_resampled),
    Metric("worth", "worth, 1 / (1 - r²)", "worth", "order", lambda c: worth(_gain_r(c)), "grades",
           lambda r: worth(_gain_r_resampled(r)), _worth_interval),
    Metric("accuracy", "accuracy", "accuracy", "labels", lambda c: accuracy(c.human, c.judge),
           of_resamples=lambda r: accuracy_from_confusion(r.confusion)),
    Metric("macro_f1", "macro-F1", "macro-F1", "labels", lambda c: macro_f1(c.human, c.judge, list(c.scheme.labels)),
           of_resamples=lambda r: macro_f1_from_confusion(r.confusion)),
    Metric("cohen_kappa", "Cohen's kappa", "kappa", "labels",
           lambda c: cohen_kappa(c.human, c.judge, list(c.scheme.labels))),
    Metric("ece", "ECE", "ECE", "labels", _calibrated(ece), "probabilities", _calibrated_resampled(ece)),
    Metric("brier", "Brier", "Brier", "labels", _calibrated(brier), "probabilities", _calibrated_resampled(brier)),
    Metric("optimistic_error_share", "optimistic-error share", "opt. err.", "order",
           lambda c: optimistic_error_share(c.human, c.judge, list(c.scheme.labels), c.scheme.gains),
           of_resamples=lambda r: optimistic_error_share_from_confusion(r.confusion, r.scheme.gains)),
)

#: Every declared figure's name, in the order tables show them.
NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)


def resampled_values(chunk: Resampled) -> dict[str, np.ndarray]:
    """Every figure with an interval that `chunk` can give: those reading grades where it has them, calibration
    where pairs carry probabilities."""
    can = {"labels": True, "grades": chunk.expected_grade is not None,
           "probabilities": chunk.calibrated is not None and bool(chunk.calibrated.any())}
    return {m.name: m.of_resamples(chunk) for m in METRICS if m.of_resamples is not None and can[m.reads]}


def percentile_ci(values: np.ndarray, confidence: float = 0.95) -> list[float | None]:
    """The percentile interval [q_{(1-c)/2}, q_{(1+c)/2}] of the defined resample values; [None, None] if none is."""
    finite = np.asarray(values, dtype=float)
    finite = finite[~np.isnan(finite)]
    if finite.size == 0:
        return [None, None]
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return [float(lo), float(hi)]
