from __future__ import annotations

import json

import pandas as pd
import pytest
from rich.console import Console

from reljudge.evaluation import EvaluationReport, evaluate_frame
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


@pytest.fixture
def figures() -> dict:
    # compared pairs (human, judge): q1 (E,E) (E,S) | q2 (S,S) (C,C) | q3 (I,I) (I,E), segments x x x x y y
    frame = pd.DataFrame({
        "pair_id": ["a1", "a2", "b1", "b2", "c1", "c2"],
        "query_id": ["q1", "q1", "q2", "q2", "q3", "q3"],
        "human": ["E", "E", "S", "C", "I", "I"],
        "label": ["E", "S", "S", "C", "I", "E"],
        "source": ["x", "x", "x", "x", "y", "y"],
    })
    annotations = pd.DataFrame({"pair_id": ["a1", "a1"], "annotator": ["u", "v"], "label": ["E", "S"]})
    return evaluate_frame(frame, ESCI, by=["source"], bootstrap=50, annotations=annotations)


def test_to_dict_is_the_figures_and_a_copy(figures):
    report = EvaluationReport(figures)
    assert report.to_dict() == figures
    report.to_dict()["alpha"] = 2.0
    assert report.alpha == figures["alpha"] and report.n == 6
    assert report.gain_r == figures["gain_r"] and report.worth == pytest.approx(1 / (1 - report.gain_r ** 2))
    assert json.loads(report.to_json()) == figures


def test_to_dataframe_has_one_row_per_segment_and_metric(figures):
    frame = EvaluationReport(figures).to_dataframe()
    assert list(frame.columns) == ["by", "segment", "metric", "label", "value", "n", "ci_low", "ci_high"]
    alpha = frame[(frame["metric"] == "alpha") & frame["by"].isna()].iloc[0]
    assert alpha["value"] == pytest.approx(figures["alpha"]) and alpha["n"] == 6
    assert [alpha["ci_low"], alpha["ci_high"]] == pytest.approx(figures["ci"]["alpha"])
    recall_s = frame[(frame["metric"] == "recall") & (frame["label"] == "S") & frame["by"].isna()].iloc[0]
    assert recall_s["value"] == 1.0 and recall_s["n"] == 1
    tau = frame[(frame["metric"] == "kendall_tau") & frame["by"].isna()].iloc[0]
    assert tau["value"] == 1.0 and tau["n"] == 1  # only q2 has two human grades
    segment_y = frame[(frame["by"] == "source") & (frame["segment"] == "y")]
    assert segment_y.set_index("metric").loc["accuracy", "value"] == 0.5
    assert segment_y["ci_low"].isna().all()
    worth = frame[(frame["metric"] == "worth") & frame["by"].isna()].iloc[0]
    assert worth["value"] == pytest.approx(figures["worth"]) and worth["n"] == 6
    assert [worth["ci_low"], worth["ci_high"]] == pytest.approx(figures["ci"]["worth"])
    assert pd.isna(segment_y.set_index("metric").loc["worth", "value"])  # the humans say I of both: no r
    # 9 scalar metrics + 4 labels x 3 + 2 within-query = 23 per set of pairs; 3 sets; 2 rows of the humans
    assert len(frame) == 23 * 3 + 2
    assert set(frame.loc[frame["metric"].str.startswith("humans_"), "n"]) == {1}


def test_to_table_and_str_draw_the_tables(figures):
    report = EvaluationReport(figures)
    console = Console(record=True, width=120)
    console.print(report.to_table())
    drawn = console.export_text()
    for title in ("Judge vs human labels (esci)", "Within query", "Per class", "Confusion", "By source"):
        assert title in drawn and title in str(report)
    assert repr(report) == ("EvaluationReport(scheme='esci', n=6, alpha=0.585, accuracy=0.667, "
                            "macro_f1=0.708)")


def test_reports_of_the_same_figures_are_equal(figures):
    assert EvaluationReport(figures) == EvaluationReport(json.loads(json.dumps(figures)))
