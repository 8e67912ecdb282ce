"""Experiment results as rich tables for a terminal (`--json` prints the same dicts instead)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from reljudge.experiments.sampling import SamplingPlan


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f}%"


def render_plan(plan: SamplingPlan, console: Console) -> None:
    """Per stratum: queries N_h, share W_h, the SD Neyman used, and the draws n_h."""
    table = Table(title=f"sample of {int(plan.counts.sum())} queries")
    for column in ("stratum", "queries", "share", "sd", "drawn"):
        table.add_column(column, justify="left" if column == "stratum" else "right")
    for h, name in enumerate(plan.strata):
        sd = "-" if plan.sds is None else _num(float(plan.sds[h]))
        table.add_row(name, f"{plan.sizes[h]:,}", _num(float(plan.shares[h]), 3), sd, str(plan.counts[h]))
    console.print(table)


def render_effect(report: dict, console: Console) -> None:
    """The effect with its interval, p-value and MDEs, then the per-stratum effects."""
    confidence = round(100 * (1 - report["alpha"]))
    head = Table(title=f"{report.get('metric', 'metric')}@{report.get('k', '')}: treatment - control "
                       f"({report['method']}, {report['n_queries']} queries, {report['n_strata']} strata)")
    for column in ("", "value", f"{confidence}% interval"):
        head.add_column(column, justify="left" if not column else "right")
    head.add_row("control", _num(report["control"]), "")
    head.add_row("treatment", _num(report["treatment"]), "")
    head.add_row("effect", _num(report["effect"]), f"[{_num(report['ci_low'])}, {_num(report['ci_high'])}]")
    head.add_row("relative effect", _pct(report["relative_effect"]),
                 f"[{_pct(report['relative_ci_low'])}, {_pct(report['relative_ci_high'])}]")
    head.add_row("p-value", _num(report["p_value"]), "")
    head.add_row(f"MDE ({round(100 * report['power'])}% power)", _num(report["mde"]), _pct(report["mde_relative"]))
    head.add_row("MDE without strata", _num(report["mde_srs"]), "")
    if report.get("unjudged"):
        head.add_row("unlabelled shown pairs (gain 0)", str(report["unjudged"]), "")
    if report["method"] == "prediction-powered":
        head.add_row("queries labelled by people", f"{report['n_labelled']} of {report['n_queries']}", "")
        head.add_row("weight of the judge's effect (lambda)", _num(report["lambda"], 3), "")
        head.add_row("labelled queries people alone would need for this interval", _num(report["worth_labelled"], 1),
                     "")
        for name, key in (("human labels alone", "human_only"), ("judge labels alone (biased)", "judge_only")):
            got = report[key]
            head.add_row(name, _num(got["effect"]), f"[{_num(got['ci_low'])}, {_num(got['ci_high'])}]")
    console.print(head)
    strata = Table(title="per stratum (p adjusted by Benjamini-Hochberg)")
    for column in ("stratum", "n", "share", "control", "treatment", "effect", "interval", "p", "p adjusted"):
        strata.add_column(column, justify="left" if column == "stratum" else "right")
    for row in report["per_stratum"]:
        strata.add_row(row["stratum"], str(row["n"]), _num(row["share"], 3), _num(row["control"]),
                       _num(row["treatment"]), _num(row["effect"]), f"[{_num(row['ci_low'])}, {_num(row['ci_high'])}]",
                       _num(row["p_value"]), _num(row["p_adjusted"]))
    console.print(strata)


def render_validation(result: dict, console: Console) -> None:
    """Rank agreement of the per-query metric, then the two effects side by side."""
    verdict = "[green]passes[/]" if result["passes"] else "[red]fails[/]"
    console.print(f"{result['n_queries']} queries: Kendall's tau {_num(result['kendall_tau'], 3)}, Spearman's rho "
                  f"{_num(result['spearman_rho'], 3)} (per-query metric, both arms); on the differences tau "
                  f"{_num(result['tau_diff'], 3)}, rho {_num(result['rho_diff'], 3)}. Bars tau > 0.5, rho > 0.65: "
                  f"{verdict}", highlight=False)
    table = Table(title="effect from human labels and from judge labels")
    for column in ("labels", "control", "treatment", "effect", "interval", "p-value", "significant"):
        table.add_column(column, justify="left" if column == "labels" else "right")
    for name in ("human", "judge"):
        got = result[name]
        table.add_row(name, _num(got["control"]), _num(got["treatment"]), _num(got["effect"]),
                      f"[{_num(got['ci_low'])}, {_num(got['ci_high'])}]", _num(got["p_value"]),
                      "yes" if got["significant"] else "no")
    console.print(table)
    console.print(f"same sign: {'yes' if result['same_sign'] else 'no'}; same significance: "
                  f"{'yes' if result['same_significance'] else 'no'}", highlight=False)
