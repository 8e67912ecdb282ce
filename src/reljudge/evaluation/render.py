"""Draw an evaluation report (the dict `evaluate_frame` returns) as rich tables. Display only: nothing is computed."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table

from reljudge.evaluation.scalars import METRICS, Metric

_NONE = "—"
_TEXT_WIDTH = 120


def report_renderable(report: dict) -> Group:
    """The headline, within-query, per-class, confusion and per-segment tables of `report`, as one renderable."""
    tables = [_headline(report), _within_query(report), _per_class(report), _confusion(report)]
    for column, segments in report.get("by", {}).items():
        tables.append(_segments(column, segments, [m for m in _shown(report) if m.table == "labels"]))
        tables.append(_segments_order(column, segments, [m for m in _shown(report) if m.table == "order"]))
    return Group(*tables)


def render_report(report: dict, console: Console) -> None:
    """Print every table of `report` to `console`."""
    console.print(report_renderable(report))


def render_text(report: dict) -> str:
    """Every table of `report` as plain text, 120 columns wide."""
    console = Console(file=io.StringIO(), width=_TEXT_WIDTH, record=True, color_system=None)
    console.print(report_renderable(report))
    return console.export_text()


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
    for metric in _shown(report):
        table.add_row(metric.heading(report["level"]), _num(report[metric.name]), _interval(ci.get(metric.name)))
    humans = report.get("humans")
    if humans:
        table.add_row("humans' alpha (ceiling)", _num(humans["alpha"]), "")
        table.add_row("humans' pairwise agreement", _num(humans["percent_agreement"]), "")
        notes.append(f"humans: {humans['n_annotators']} annotators, "
                     f"{humans['n_multi']} of {humans['n_pairs']} pairs with 2+ labels")
    notes.append("worth: one sampled label plus the judge, in human labels (PPI++)")
    notes.append("optimistic-error share: of the errors, those the judge ranks higher")
    table.caption = "\n".join(notes)
    return table


def _within_query(report: dict) -> Table:
    within = report["within_query"]
    bootstrapped = any("ci" in figure for figure in within.values())
    table = Table(title="Within query (each query counts once)")
    for name in ("metric", "mean", "queries", *(["95% CI (queries resampled)"] if bootstrapped else [])):
        table.add_column(name, justify="left" if name == "metric" else "right")
    tau, auc = within["kendall_tau"], within["top_label_auc"]
    for name, figure in (("Kendall tau-b, expected gain", tau), (f"AUC, {auc['label']} vs the rest", auc)):
        interval = [_interval(figure.get("ci"))] if bootstrapped else []
        table.add_row(name, _num(figure["mean"]), str(figure["n_queries"]), *interval)
    table.caption = "tau: queries with 2+ human grades (all tied: 0); AUC: queries with both"
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


def _segments(column: str, segments: dict, metrics: list[Metric]) -> Table:
    table = Table(title=f"By {column}")
    for name in ("value", "n", "unscored", *(m.short for m in metrics)):
        table.add_column(name, justify="left" if name == "value" else "right")
    for value, figures in segments.items():
        table.add_row(value, str(figures["n"]), str(figures["n_unscored"]),
                      *(_num(figures[m.name]) for m in metrics))
    return table


def _segments_order(column: str, segments: dict, metrics: list[Metric]) -> Table:
    """The segments' gain and ordering figures, apart so that each table fits 80 columns."""
    table = Table(title=f"By {column}: order")
    for name in ("value", *(m.short for m in metrics), "tau", "queries", "AUC", "queries"):
        table.add_column(name, justify="left" if name == "value" else "right")
    for value, figures in segments.items():
        tau, auc = figures["within_query"]["kendall_tau"], figures["within_query"]["top_label_auc"]
        table.add_row(value, *(_num(figures[m.name]) for m in metrics), _num(tau["mean"]), str(tau["n_queries"]),
                      _num(auc["mean"]), str(auc["n_queries"]))
    table.caption = "r, worth: over the segment's pairs; tau, AUC: means over its queries"
    return table


def _shown(report: dict) -> list[Metric]:
    """The declared figures the report has: calibration only where the judge gave probabilities."""
    with_probabilities = report.get("ece") is not None
    return [m for m in METRICS if m.reads != "probabilities" or with_probabilities]


def _num(value: float | None) -> str:
    return _NONE if value is None else f"{value:.3f}"


def _interval(bounds: list | None) -> str:
    if not bounds or bounds[0] is None:
        return ""
    return f"[{bounds[0]:.3f}, {_num(bounds[1])}]"  # worth's upper bound is None where it has none
