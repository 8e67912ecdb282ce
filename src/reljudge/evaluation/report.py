"""`EvaluationReport`: the figures of one evaluation as a value, with the ways to read them out.

The figures are computed once (`figures.evaluate_frame`); the report only hands them out: as the JSON-ready dict
`reljudge evaluate --json` prints, as rich tables (`render`), or as a tidy pandas frame.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

_FRAME_COLUMNS = ["by", "segment", "metric", "label", "value", "n", "ci_low", "ci_high"]


@dataclass(frozen=True)
class EvaluationReport:
    """How far a judge agrees with the human labels: overall, per segment and per query, with intervals if asked.

    Attributes:
        figures: the JSON-ready dict of every figure (see `evaluate_frame` for its keys). Treat it as read-only;
            `to_dict()` gives a copy to change.
    """

    figures: dict[str, Any]

    @property
    def n(self) -> int:
        """Pairs compared (both a human and a judge label)."""
        return self.figures["n"]

    @property
    def alpha(self) -> float | None:
        """Krippendorff's alpha of judge and humans at the scheme's level; None when undefined."""
        return self.figures["alpha"]

    @property
    def gain_r(self) -> float | None:
        """Pearson's r of the judge's expected grade with the human label's grade; None when either is constant."""
        return self.figures["gain_r"]

    @property
    def worth(self) -> float | None:
        """1 / (1 - gain_r^2): the human labels one sampled human label plus the judge counts for under PPI++.

        None when gain_r is undefined, or is 1 or -1 (no bound).
        """
        return self.figures["worth"]

    @property
    def accuracy(self) -> float | None:
        return self.figures["accuracy"]

    @property
    def macro_f1(self) -> float | None:
        return self.figures["macro_f1"]

    @property
    def ci(self) -> dict[str, list[float | None]]:
        """95% query-bootstrap intervals by metric; empty without a bootstrap."""
        return self.figures.get("ci", {})

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain JSON types (undefined ones None): what `reljudge evaluate --json` prints."""
        return copy.deepcopy(self.figures)

    def to_json(self, **kwargs: Any) -> str:
        """`to_dict()` as JSON text; `kwargs` go to `json.dumps` (indent=2 ...)."""
        return json.dumps(self.figures, allow_nan=False, **kwargs)

    def to_table(self) -> RenderableType:
        """The tables `reljudge evaluate` prints, as one rich renderable (`rich.print(report.to_table())`)."""
        from reljudge.evaluation.render import report_renderable

        return report_renderable(self.figures)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per segment and metric: by, segment, metric, label, value, n, ci_low, ci_high.

        The whole set has by = segment = None; per-segment rows follow for each `by` column. `label` names the
        class of per-class rows (precision, recall, f1) and the top label of top_label_auc; `n` counts the pairs a
        figure is over (the label's support for per-class rows), or the queries for within-query figures and the
        pairs with 2+ labels for the humans' own agreement. Intervals are there for the whole set when bootstrapped.
        """
        import pandas as pd

        rows = _rows(self.figures, None, None, self.figures.get("ci", {}))
        for column, segments in self.figures.get("by", {}).items():
            for value, figures in segments.items():
                rows += _rows(figures, column, value, {})
        humans = self.figures.get("humans")
        if humans:
            rows += [_row(None, None, "humans_alpha", None, humans["alpha"], humans["n_multi"], None),
                     _row(None, None, "humans_percent_agreement", None, humans["percent_agreement"],
                          humans["n_multi"], None)]
        return pd.DataFrame(rows, columns=_FRAME_COLUMNS)

    def __str__(self) -> str:
        from reljudge.evaluation.render import render_text

        return render_text(self.figures)

    def __repr__(self) -> str:
        return (f"EvaluationReport(scheme={self.figures['scheme']!r}, n={self.n}, alpha={_short(self.alpha)}, "
                f"accuracy={_short(self.accuracy)}, macro_f1={_short(self.macro_f1)})")


def _rows(figures: dict, by: str | None, segment: str | None, ci: dict) -> list[dict]:
    """The rows of one set of pairs: scalar metrics, per-class figures, within-query figures."""
    from reljudge.evaluation.scalars import NAMES

    rows = [_row(by, segment, name, None, figures[name], figures["n"], ci.get(name)) for name in NAMES]
    for label, per in figures["per_class"].items():
        rows += [_row(by, segment, name, label, per[name], per["support"], None)
                 for name in ("precision", "recall", "f1")]
    for name, within in figures["within_query"].items():
        rows.append(_row(by, segment, name, within.get("label"), within["mean"], within["n_queries"],
                         within.get("ci")))
    return rows


def _row(by: str | None, segment: str | None, metric: str, label: str | None, value: float | None, n: int,
         ci: list | None) -> dict:
    low, high = ci if ci else (None, None)
    return {"by": by, "segment": segment, "metric": metric, "label": label, "value": value, "n": n,
            "ci_low": low, "ci_high": high}


def _short(value: float | None) -> str:
    return "None" if value is None else f"{value:.3f}"
