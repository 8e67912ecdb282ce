from __future__ import annotations

import pandas as pd
from rich.console import Console

from reljudge.evaluation import evaluate_frame, render_report
from reljudge.labels import get_scheme


def _render(report: dict) -> str:
    console = Console(record=True, width=120)
    render_report(report, console)
    return console.export_text()


def test_render_writes_the_headline_tables_and_segments():
    frame = pd.DataFrame({
        "pair_id": ["a1", "a2", "b1", "b2", "c1", "c2", "c3"],
        "query_id": ["q1", "q1", "q2", "q2", "q3", "q3", "q3"],
        "human": ["E", "E", "S", "C", "I", "I", "S"],
        "label": ["E", "S", "S", "C", "I", "E", None],
        "source": ["x", "x", "x", "x", "y", "y", "y"],
    })
    annotations = pd.DataFrame({"pair_id": ["a1", "a1"], "annotator": ["u", "v"], "label": ["E", "S"]})
    report = evaluate_frame(frame, get_scheme("esci"), by=["source"], bootstrap=100, seed=0,
                            annotations=annotations)
    text = _render(report)
    # alpha 62/106, accuracy 4/6, macro-F1 17/24, kappa 5/9 (see test_report.py)
    for figure in ("0.585", "0.667", "0.708", "0.556"):
        assert figure in text
    lo, hi = report["ci"]["alpha"]
    assert f"[{lo:.3f}, {hi:.3f}]" in text
    assert "100 bootstrap resamples of 3 queries" in text
    for title in ("Per class", "Confusion", "By source", "By source: order", "humans' alpha (ceiling)",
                  "unscored by the judge",
                  "optimistic-error share", "Within query", "Kendall tau-b", "AUC, E vs the rest"):
        assert title in text
    # optimistic-error share 1/2 (q1's E judged S below, q3's I judged E above); tau 1 over the one query q2
    within = report["within_query"]["kendall_tau"]
    assert "0.500" in text and within == {"mean": 1.0, "n_queries": 1, "ci": [1.0, 1.0]}
    assert "│ Kendall tau-b, expected gain │ 1.000 │       1 │" in text
    assert "ECE" not in text  # no probabilities, no calibration rows
    assert f"│ worth, 1 / (1 - r²)            │ {report['worth']:.3f} │" in text


def test_render_shows_an_unbounded_upper_bound_of_worth_as_a_dash():
    # resamples of two q1 correlate perfectly (r = 1): worth's interval has no upper bound (see test_figures.py)
    frame = pd.DataFrame({"query_id": ["q1", "q1", "q2", "q2"], "human": ["E", "I", "E", "I"],
                          "label": ["E", "I", "I", "E"]})
    text = _render(evaluate_frame(frame, get_scheme("esci"), bootstrap=500, seed=1))
    row = next(line for line in text.splitlines() if "worth, 1 / (1 - r²)" in line)
    assert [cell.strip() for cell in row.split("│")[2:4]] == ["1.000", "[1.000, —]"]


def test_render_shows_undefined_figures_as_a_dash():
    frame = pd.DataFrame({"query_id": ["q", "q"], "human": ["E", "E"], "label": ["E", "E"],
                          "p_E": [0.9, 0.8], "p_S": [0.1, 0.2], "p_C": [0.0, 0.0], "p_I": [0.0, 0.0]})
    text = _render(evaluate_frame(frame, get_scheme("esci")))
    assert "—" in text  # alpha and kappa are undefined with one label only
    # both right; 0.9 in bin (.8,.9] and 0.8 in bin (.7,.8]: ECE = (0.1 + 0.2) / 2; Brier (0.02 + 0.08) / 2
    assert "ECE" in text and "0.150" in text and "0.050" in text
