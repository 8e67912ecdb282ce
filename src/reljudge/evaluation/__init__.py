"""Evaluation: how far a judge agrees with human labels, as an `EvaluationReport`.

`evaluate_judge` judges labelled pairs and compares; `compare` does the comparison for judgments already made;
`evaluate_frame` computes the figures of one aligned frame; `render` draws them.
"""

from __future__ import annotations

from reljudge.evaluation.api import compare, evaluate_judge
from reljudge.evaluation.figures import evaluate_frame
from reljudge.evaluation.render import render_report
from reljudge.evaluation.report import EvaluationReport

__all__ = ["EvaluationReport", "compare", "evaluate_frame", "evaluate_judge", "render_report"]
