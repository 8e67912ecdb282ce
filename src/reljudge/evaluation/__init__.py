"""Evaluation: compare a judge with human labels (`evaluate_frame`) and draw the result (`render_report`)."""

from __future__ import annotations

from reljudge.evaluation.render import render_report
from reljudge.evaluation.report import evaluate_frame

__all__ = ["evaluate_frame", "render_report"]
