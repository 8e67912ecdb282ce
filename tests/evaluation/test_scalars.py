"""Each figure declared in `scalars.METRICS` reaches every view of an evaluation: the figures and --json, the
bootstrap's intervals, the tables (headline and per segment) and the tidy frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reljudge.evaluation import evaluate_frame
from reljudge.evaluation.report import EvaluationReport
from reljudge.evaluation.scalars import METRICS, NAMES
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


@pytest.fixture
def report() -> dict:
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({"query_id": [f"q{i % 6}" for i in range(n)],
                          "human": rng.choice(list(ESCI.labels), n), "label": rng.choice(list(ESCI.labels), n),
                          "source": ["a", "b"] * (n // 2)})
    proba = rng.dirichlet(np.ones(ESCI.k), n)
    for i, label in enumerate(ESCI.labels):
        frame[f"p_{label}"] = proba[:, i]
    return evaluate_frame(frame, ESCI, by=["source"], bootstrap=100, seed=0)


def test_every_declared_figure_is_computed_overall_and_by_segment(report):
    assert [name for name in report if name in NAMES] == list(NAMES)
    for segment in report["by"]["source"].values():
        assert all(segment[name] is not None for name in NAMES)


def test_every_figure_that_declares_resamples_has_an_interval(report):
    with_intervals = [m.name for m in METRICS if m.of_resamples is not None]
    assert list(report["ci"]) == with_intervals
    for name in with_intervals:
        low, high = report["ci"][name]
        assert low <= report[name] <= high or name == "worth" and low <= report[name]


def test_every_declared_figure_is_a_row_of_the_tables_and_of_the_frame(report):
    text = str(EvaluationReport(report))
    for metric in METRICS:
        assert metric.heading(report["level"]) in text
        assert metric.short in text  # a column of one of the per-segment tables
    frame = EvaluationReport(report).to_dataframe()
    overall = frame[frame["by"].isna() & frame["label"].isna()]
    assert list(overall["metric"][overall["metric"].isin(NAMES)]) == list(NAMES)
    assert set(frame[frame["by"] == "source"]["metric"]) >= set(NAMES)


def test_calibration_is_left_out_of_the_tables_without_probabilities():
    frame = pd.DataFrame({"query_id": ["q1", "q1", "q2", "q2"], "human": ["E", "S", "I", "E"],
                          "label": ["E", "E", "I", "S"]})
    figures = evaluate_frame(frame, ESCI, bootstrap=20)
    assert figures["ece"] is None and "ece" not in figures["ci"]
    assert "ECE" not in str(EvaluationReport(figures))
