"""Metrics: small pure functions on in-memory labels and probabilities, no I/O and no printing."""

from __future__ import annotations

from reljudge.metrics.agreement import (
    aggregate_labels,
    alpha,
    alpha_from_confusion,
    annotator_agreement,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from reljudge.metrics.calibration import brier, ece
from reljudge.metrics.classification import (
    accuracy,
    accuracy_from_confusion,
    confusion,
    macro_f1,
    macro_f1_from_confusion,
    per_class,
)

__all__ = [
    "accuracy",
    "accuracy_from_confusion",
    "aggregate_labels",
    "alpha",
    "alpha_from_confusion",
    "annotator_agreement",
    "brier",
    "cohen_kappa",
    "confusion",
    "ece",
    "krippendorff_alpha",
    "macro_f1",
    "macro_f1_from_confusion",
    "per_class",
    "percent_agreement",
]
