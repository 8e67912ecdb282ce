"""Draw an evaluation report (the dict `evaluate_frame` returns) as rich tables. Display only: nothing is computed."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

_NONE = "—"


def render_report(report: dict, console: Console) -> None:
    """Print the headline, per-class, confusion and per-segment tables of `report` to `console`."""
    console.print(_headline(report))
    console.print(_per_class(report))
    console.print(_confusion(report))
    for column, segments in report.get("by", {}).items():
        console.print(_segments(column, segments, with_calibration=report.get("ece") is not None))


def _headline(report: dict) -> Table:
    ci = report.get("ci", {})
    table = Table(title=f"Judge vs human labels ({report['scheme']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI" + (" (queries resampled)" if ci else ""), justify="right")
    notes = []
    if ci:
        run = report["bootstrap"]
        notes.append(f"CI: {run['n_resamples']} bootstrap resamples of {run['n_queries']} queries, seed {run['seed']}")
    table.add_row("pairs compared", str(report["n"]), "")
    table.add_row("unscored by the judge", str(report["n_unscored"]), "")
    if report.get("n_unlabelled"):
        table.add_row("without a human label", str(report["n_unlabelled"]), "")
    rows = [("alpha", f"Krippendorff's alpha ({report['level']})"), ("accuracy", "accuracy"),
            ("macro_f1", "macro-F1"), ("cohen_kappa", "Cohen's kappa")]
    if report.get("ece") is not None:
        rows += [("ece", "ECE"), ("brier", "Brier")]
    for key, name in rows:
        table.add_row(name, _num(report[key]), _interval(ci.get(key)))
    humans = report.get("humans")
    if humans:
        table.add_row("humans' alpha (ceiling)", _num(humans["alpha"]), "")
        table.add_row("humans' pairwise agreement", _num(humans["percent_agreement"]), "")
        notes.append(f"humans: {humans['n_annotators']} annotators, "
                     f"{humans['n_multi']} of {humans['n_pairs']} pairs with 2+ labels")
    table.caption = "\n".join(notes) or None
    return table


def _per_class(report: dict) -> Table:
    table = Table(title="Per class")
    for name in ("label", "precision", "recall", "F1", "support", "judge count", "human count"):
        table.add_column(name, justify="left" if name == "label" else "right")
    for label in report["labels"]:
        row = report["per_class"][label]
        table.add_row(label, _num(row["precision"]), _num(row["recall"]), _num(row["f1"]), str(row["support"]),
                      str(report["predicted_distribution"][label]), str(report["human_distribution"][label]))
    return table


def _confusion(report: dict) -> Table:
    table = Table(title="Confusion")
    table.add_column("human \\ judge")
    for label in report["labels"]:
        table.add_column(label, justify="right")
    for label, counts in zip(report["labels"], report["confusion"]):
        table.add_row(label, *(str(c) for c in counts))
    return table


def _segments(column: str, segments: dict, *, with_calibration: bool) -> Table:
    table = Table(title=f"By {column}")
    names = ["value", "n", "unscored", "alpha", "accuracy", "macro-F1", "kappa"] + (["ECE"] if with_calibration else [])
    for name in names:
        table.add_column(name, justify="left" if name == "value" else "right")
    for value, figures in segments.items():
        cells = [value, str(figures["n"]), str(figures["n_unscored"]), _num(figures["alpha"]),
                 _num(figures["accuracy"]), _num(figures["macro_f1"]), _num(figures["cohen_kappa"])]
        table.add_row(*cells, *([_num(figures["ece"])] if with_calibration else []))
    return table


def _num(value: float | None) -> str:
    return _NONE if value is None else f"{value:.3f}"


def _interval(bounds: list | None) -> str:
    if not bounds or bounds[0] is None:
        return ""
    return f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"
