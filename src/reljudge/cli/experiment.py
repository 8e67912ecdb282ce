"""`reljudge experiment`: sample queries by strata, measure an A/B experiment with labels, validate a judge."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from reljudge.cli.judge_options import JudgeChoice, judge_flags
from reljudge.cli.options import NoStore, Scheme, StorePath, reports_errors

if TYPE_CHECKING:
    import pandas as pd

    from reljudge.judges.base import Judge
    from reljudge.labels import LabelScheme

log = logging.getLogger(__name__)

#: Gives the gain of each (query_id, product_id) pair it is asked for (those it cannot label are left out).
GainSource = Callable[[Sequence[tuple[str, str]]], dict[tuple[str, str], float]]

experiment_app = typer.Typer(help="Measure search experiments with judge labels: sample, analyze, validate.",
                             no_args_is_help=True)

SampleOpt = Annotated[Path, typer.Option("--sample", help="The sampled queries (what `experiment sample` wrote).")]
ControlOpt = Annotated[Path, typer.Option("--control", help="Control's results: TREC run or table (query_id, "
                                                            "product_id, rank).")]
TreatmentOpt = Annotated[Path, typer.Option("--treatment", help="Treatment's results, as --control.")]
KOpt = Annotated[int, typer.Option("--k", min=1, help="Measure each arm's top K results.")]
MetricOpt = Annotated[str, typer.Option("--metric", help="Per-query metric: sdcg, ndcg or precision.")]
MinGainOpt = Annotated[Optional[float], typer.Option(
    "--min-gain", help="Precision counts results with at least this gain as relevant (default: the top gain).")]
ExpectedOpt = Annotated[bool, typer.Option(
    "--expected-gain", help="Judge labels: use the expected gain under the judge's probabilities, not its label's.")]
PairsOpt = Annotated[Optional[Path], typer.Option(
    "--pairs", help="Pairs file holding the query and product text the judge reads.")]
AlphaOpt = Annotated[float, typer.Option("--alpha", min=0.0001, max=0.5, help="Significance level.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")]


@experiment_app.command("sample")
@reports_errors
def sample(
    queries: Annotated[Path, typer.Option("--queries", help="One row per query: query_id, traffic, other columns.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Queries to sample (the labelling budget).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The sample: .csv, .tsv, .jsonl or .parquet.")],
    strata: Annotated[Optional[str], typer.Option(
        help="Stratum columns; COL:B cuts a numeric column into B equal-count bins, e.g. category,count:10.")] = None,
    allocation: Annotated[str, typer.Option(help="proportional or neyman.")] = "proportional",
    pilot: Annotated[Optional[Path], typer.Option(
        help="Neyman: per-stratum SDs (stratum, sd) or a previous --per-query file (stratum, diff).")] = None,
    traffic: Annotated[str, typer.Option(help="The column holding each query's traffic.")] = "count",
    by_traffic: Annotated[bool, typer.Option(
        "--by-traffic", help="Weight queries by traffic: the target and the draws (probability ∝ traffic).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the draw.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Draw a stratified sample of queries without replacement and write each with its stratum and weight."""
    import numpy as np
    from rich.console import Console

    from reljudge.errors import ReljudgeError
    from reljudge.experiments.render import render_plan
    from reljudge.experiments.sampling import parse_strata, pilot_sds, plan_sample, sample_frame, stratum_labels
    from reljudge.io.experiment import read_pilot, read_queries, write_table

    if pilot is not None and allocation != "neyman":
        raise ReljudgeError("--pilot is only used by --allocation neyman")
    spec = parse_strata(strata)
    numeric = [name for name, bins in spec if bins] + ([traffic] if by_traffic else [])
    table = read_queries(queries, numeric=numeric)
    labels = stratum_labels(table, spec)
    sds = None
    if pilot is not None:
        sds, filled = pilot_sds(read_pilot(pilot), sorted(set(labels)))
        if filled:
            log.warning("the pilot has no SD for %d strata (%s); they get the pooled SD", len(filled),
                        ", ".join(filled))
    plan = plan_sample(labels, n, allocation=allocation, sds=sds,
                       traffic=table[traffic].astype(float).to_numpy() if by_traffic else None)
    drawn = sample_frame(table, plan, plan.draw(np.random.default_rng(seed)))
    write_table(output, drawn)
    if as_json:
        typer.echo(json.dumps({"output": str(output), "n": int(len(drawn)), "strata": [
            {"stratum": name, "queries": int(plan.sizes[h]), "share": float(plan.shares[h]),
             "sd": None if plan.sds is None else float(plan.sds[h]), "drawn": int(plan.counts[h])}
            for h, name in enumerate(plan.strata)]}))
    else:
        console = Console(stderr=True)
        render_plan(plan, console)
        console.print(f"wrote {output}", highlight=False)


def _measure(sample_path: Path, control: Path, treatment: Path, sources: Sequence[GainSource], *, k: int,
             metric: str, scheme: LabelScheme, min_gain: float | None) -> list[tuple[pd.DataFrame, int]]:
    """Read the sample and both runs once; for each gain source, get the shown pairs' gains from
    `gains_of(wanted)` and measure each arm (the measured table and the count of unjudged shown pairs)."""
    from reljudge.experiments.arms import measure_arms, shown_pairs
    from reljudge.io.experiment import read_sample
    from reljudge.io.runs import ranked_lists, read_run
    from reljudge.metrics.ranking import check_metric

    check_metric(metric)
    the_sample = read_sample(sample_path)
    runs = [ranked_lists(read_run(path), k) for path in (control, treatment)]
    wanted = shown_pairs(list(the_sample["query_id"]), *runs, k)
    top = max(scheme.gains)
    return [measure_arms(the_sample, *runs, gains_of(wanted), metric=metric, k=k, top_gain=top,
                         min_gain=top if min_gain is None else min_gain,
                         sources=(str(sample_path), str(control), str(treatment)))
            for gains_of in sources]


def _qrels_source(qrels: Path, scheme: LabelScheme) -> GainSource:
    """Gains from a labels file, read once."""
    from reljudge.experiments.labelling import label_gains
    from reljudge.io.qrels import read_qrels

    gains = label_gains(read_qrels(qrels, scheme=scheme), scheme)
    return lambda wanted: gains


def _judge_source(judge: Judge, pairs: Path, scheme: LabelScheme, store: Path | None, no_store: bool,
                  expected: bool) -> GainSource:
    """Gains from the judge's labels of the pairs asked for, through the store unless --no-store."""
    from reljudge.experiments.labelling import judge_gains
    from reljudge.io import read_pairs
    from reljudge.store import Store

    read = read_pairs(pairs, scheme=scheme)

    def gains_of(wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        if no_store:
            return judge_gains(read.pairs, wanted, judge, store=None, source=str(pairs), expected=expected)
        with Store(store) as the_store:
            return judge_gains(read.pairs, wanted, judge, store=the_store, source=str(pairs), expected=expected,
                               input_name=f"experiment:{pairs}")

    return gains_of


def _prediction_powered(judged: pd.DataFrame, human: pd.DataFrame, design, *, alpha: float, power: float
                        ) -> tuple[dict, pd.DataFrame]:
    """The judge's per-query metrics corrected by the human ones of the queries people labelled on every shown
    result (see `experiments.ppi`), and the per-query table with labelled and human_diff columns."""
    from reljudge.experiments.ppi import prediction_powered_effect

    labelled = (human["unlabelled"] == 0).to_numpy()
    partial = int(((human["unlabelled"] > 0) & (human["unlabelled"] < human["shown"])).sum())
    if partial:
        log.warning("%d sampled queries have human labels on only some of their shown results: they count as "
                    "unlabelled", partial)
    report = prediction_powered_effect(human["control"].to_numpy(), human["treatment"].to_numpy(),
                                       judged["control"].to_numpy(), judged["treatment"].to_numpy(), labelled,
                                       design, alpha=alpha, power=power)
    return report, judged.assign(labelled=labelled, human_diff=human["diff"].where(labelled))


@experiment_app.command("analyze")
@reports_errors
@judge_flags(default=None, help="Label the shown pairs with this judge.")
def analyze(
    sample_path: SampleOpt,
    control: ControlOpt,
    treatment: TreatmentOpt,
    pairs: PairsOpt = None,
    qrels: Annotated[Optional[Path], typer.Option(
        help="Labels instead of a judge: TREC qrels or a table (query_id, product_id, label). With --judge: human "
             "labels on a random part of the queries, which correct the judge's effect (prediction-powered).")] = None,
    k: KOpt = 10,
    metric: MetricOpt = "sdcg",
    min_gain: MinGainOpt = None,
    expected_gain: ExpectedOpt = False,
    scheme: Scheme = None,
    alpha: AlphaOpt = 0.05,
    power: Annotated[float, typer.Option(min=0.01, max=0.99, help="Power the MDE is computed at.")] = 0.8,
    bootstrap: Annotated[int, typer.Option(min=0, help="B > 0: bootstrap queries within strata B times.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    per_query: Annotated[Optional[Path], typer.Option(
        "--per-query", help="Also write each query's metric per arm and their difference (a later pilot).")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="Plot the per-stratum effects: .html (or .png).")] = None,
    store: StorePath = None,
    no_store: NoStore = False,
    as_json: JsonOpt = False,
    *,
    choice: JudgeChoice,
) -> None:
    """Measure control and treatment on the sampled queries and estimate the effect with its interval and MDE.

    With both --judge and --qrels, the judge labels every query and the human labels of the queries they cover
    (every result either arm shows) correct its effect: prediction-powered inference (PPI++), unbiased whatever the
    judge's bias, and tighter than the human labels alone as far as the judge tracks them.
    """
    from rich.console import Console

    from reljudge.cli.session import open_judge
    from reljudge.errors import ReljudgeError
    from reljudge.experiments.design import design_from_sample
    from reljudge.experiments.effects import estimate_effect
    from reljudge.labels import get_scheme

    if choice.spec is None and qrels is None:
        raise ReljudgeError("give --judge SPEC (with --pairs), --qrels FILE, or both as the source of labels")
    if choice.spec is not None and pairs is None:
        raise ReljudgeError("--judge needs --pairs PAIRS: the file with the query and product text to judge")
    if choice.spec is not None and qrels is not None and bootstrap > 0:
        raise ReljudgeError("--bootstrap is not available with --judge and --qrels together (prediction-powered)")
    options = dict(k=k, metric=metric, min_gain=min_gain)
    if choice.spec is not None:
        judge, the_scheme = open_judge(choice, scheme, None, progress=not as_json)
        source, labels = _judge_source(judge, pairs, the_scheme, store, no_store, expected_gain), judge.spec
    else:
        the_scheme = get_scheme(scheme or "esci")
        source, labels = _qrels_source(qrels, the_scheme), f"qrels:{qrels}"
    sources = [source] + ([_qrels_source(qrels, the_scheme)] if choice.spec is not None and qrels is not None
                          else [])
    (measured, unjudged), *human_measured = _measure(sample_path, control, treatment, sources, scheme=the_scheme,
                                                     **options)
    design = design_from_sample(measured)
    if human_measured:
        human, _ = human_measured[0]
        report, measured = _prediction_powered(measured, human, design, alpha=alpha, power=power)
        labels = f"{labels} corrected by qrels:{qrels}"
    else:
        report = estimate_effect(measured["control"].to_numpy(), measured["treatment"].to_numpy(), design,
                                 alpha=alpha, power=power, bootstrap=bootstrap, seed=seed)
    report = {"metric": metric, "k": k, "labels": labels, "unjudged": unjudged, **report}
    if per_query is not None:
        from reljudge.io.experiment import write_table

        columns = ["query_id", "stratum", "weight", "control", "treatment", "diff", "labelled", "human_diff"]
        write_table(per_query, measured[[c for c in columns if c in measured]])
    if plot is not None:
        from reljudge.experiments.plot import effects_figure, write_figure

        write_figure(effects_figure(report, title=f"{metric}@{k}: {treatment.name} - {control.name}"), plot)
    if as_json:
        typer.echo(json.dumps(report, allow_nan=False))
    else:
        from reljudge.experiments.render import render_effect

        render_effect(report, Console())


@experiment_app.command("validate")
@reports_errors
@judge_flags(help="The judge to validate against the human labels.")
def validate(
    sample_path: SampleOpt,
    control: ControlOpt,
    treatment: TreatmentOpt,
    qrels: Annotated[Path, typer.Option(help="Human labels: TREC qrels or a table (query_id, product_id, label).")],
    pairs: Annotated[Path, typer.Option("--pairs", help="Pairs file holding the text the judge reads.")],
    k: KOpt = 10,
    metric: MetricOpt = "sdcg",
    min_gain: MinGainOpt = None,
    expected_gain: ExpectedOpt = False,
    alpha: AlphaOpt = 0.05,
    store: StorePath = None,
    no_store: NoStore = False,
    as_json: JsonOpt = False,
    *,
    choice: JudgeChoice,
) -> None:
    """Compare the per-query metric from human and judge labels (Kendall's tau, Spearman's rho) and their effects."""
    from rich.console import Console

    from reljudge.cli.session import open_judge
    from reljudge.experiments.design import design_from_sample
    from reljudge.experiments.validate import validate as compare

    judge, the_scheme = open_judge(choice, None, None, progress=not as_json)
    options = dict(k=k, metric=metric, scheme=the_scheme, min_gain=min_gain)
    judge_source = _judge_source(judge, pairs, the_scheme, store, no_store, expected_gain)
    (human, unjudged_human), (judged, unjudged_judge) = _measure(
        sample_path, control, treatment, [_qrels_source(qrels, the_scheme), judge_source], **options)
    result = {"metric": metric, "k": k, "judge": judge.spec, "unjudged_human": unjudged_human,
              "unjudged_judge": unjudged_judge, **compare(human, judged, design_from_sample(human), alpha=alpha)}
    if as_json:
        typer.echo(json.dumps(result, allow_nan=False))
    else:
        from reljudge.experiments.render import render_validation

        render_validation(result, Console())
