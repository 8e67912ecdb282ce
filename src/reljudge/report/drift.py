"""Drift checks: did the last day's label mix move away from the reference window, did the judge's agreement
with people fall? Pure functions over counts and bootstrap resamples; the report feeds them from the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from reljudge.evaluation.scalars import percentile_ci

#: Shares are floored here before PSI takes their logarithm, so a label absent on one side counts as rare, not
#: infinitely surprising.
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class Alarm:
    """One alarm: what moved (kind), where (column = value; both "" for all pairs), on which day, and the figures."""

    kind: str
    day: date
    column: str
    value: str
    message: str
    figures: dict = field(default_factory=dict)

    @property
    def segment(self) -> str:
        return f"{self.column} = {self.value}" if self.column else "all pairs"

    def to_dict(self) -> dict:
        return {**asdict(self), "day": self.day.isoformat(), "segment": self.segment}


def psi(actual: np.ndarray, expected: np.ndarray) -> float:
    """Population stability index of the `actual` counts against the `expected` (reference) counts.

    PSI = sum_i (a_i - e_i) ln(a_i / e_i) over labels i, with a_i and e_i the two sides' shares, each floored at
    `PSI_FLOOR`. 0 when the mixes are equal; the usual reading is < 0.1 stable, 0.1-0.25 a shift worth a look,
    > 0.25 a major shift. NaN when either side is empty.
    """
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if a.sum() == 0 or e.sum() == 0:
        return float("nan")
    a, e = np.maximum(a / a.sum(), PSI_FLOOR), np.maximum(e / e.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def chi_square(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity of two count vectors (a 2 x k table; labels neither side used dropped).

    Returns:
        (statistic, p-value); (0.0, 1.0) when fewer than two labels were used, where the mixes cannot differ.
    """
    from scipy.stats import chi2_contingency

    table = np.vstack([actual, expected]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    statistic, p_value, _, _ = chi2_contingency(table, correction=False)
    return float(statistic), float(p_value)


def mix_check(actual: np.ndarray, expected: np.ndarray, gains: np.ndarray, *, chi2_p: float,
              psi_threshold: float) -> dict:
    """The figures of one label-mix check, and whether it alarms (a significant and a material shift)."""
    statistic, p_value = chi_square(actual, expected)
    index = psi(actual, expected)
    return {
        "n_day": int(np.sum(actual)), "n_reference": int(np.sum(expected)),
        "share_day": _shares(actual), "share_reference": _shares(expected),
        "mean_gain_day": _mean_gain(actual, gains), "mean_gain_reference": _mean_gain(expected, gains),
        "chi2": statistic, "p_value": p_value, "psi": index,
        "alarm": bool(p_value < chi2_p and index >= psi_threshold),
    }


def alpha_fall(day_alphas: np.ndarray, reference_alphas: np.ndarray, confidence: float) -> dict:
    """How far alpha fell from the reference window to the day, with the bootstrap interval of the fall.

    The two sides are resampled independently (by query); the fall's resamples are reference minus day, and
    the check alarms when its whole interval lies above zero: the fall is beyond what resampling explains.
    """
    fall = np.asarray(reference_alphas, dtype=float) - np.asarray(day_alphas, dtype=float)
    low, high = percentile_ci(fall, confidence)
    return {"fall_interval": [low, high], "alarm": low is not None and low > 0}


def _shares(counts: np.ndarray) -> list[float]:
    total = float(np.sum(counts))
    return [float(c) / total if total else float("nan") for c in counts]


def _mean_gain(counts: np.ndarray, gains: np.ndarray) -> float:
    total = float(np.sum(counts))
    return float(np.dot(counts, gains) / total) if total else float("nan")
