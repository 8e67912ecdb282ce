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
    optimistic_error_share,
    optimistic_error_share_from_confusion,
    per_class,
)
from reljudge.metrics.within_query import expected_gain, kendall_tau_b, per_query_auc, per_query_tau, rank_auc
from reljudge.metrics.worth import gain_correlation, worth

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
    "expected_gain",
    "gain_correlation",
    "kendall_tau_b",
    "krippendorff_alpha",
    "macro_f1",
    "macro_f1_from_confusion",
    "optimistic_error_share",
    "optimistic_error_share_from_confusion",
    "per_class",
    "per_query_auc",
    "per_query_tau",
    "percent_agreement",
    "rank_auc",
    "worth",
]
