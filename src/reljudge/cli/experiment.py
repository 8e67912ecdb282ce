"""`reljudge experiment`: sample queries by strata, measure an A/B experiment with labels, validate a judge."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reljudge.cli.judge_options import JudgeChoice, judge_flags
from reljudge.cli.options import NoStore, Scheme, StorePath, reports_errors

log = logging.getLogger(__name__)

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
    from reljudge.experiments.analysis import analyze_experiment
    from reljudge.labels import get_scheme

    if choice.spec is None and qrels is None:  # said in flags here; the library says it in its arguments
        raise ReljudgeError("give --judge SPEC (with --pairs), --qrels FILE, or both as the source of labels")
    if choice.spec is not None and pairs is None:
        raise ReljudgeError("--judge needs --pairs PAIRS: the file with the query and product text to judge")
    if choice.spec is not None and qrels is not None and bootstrap > 0:
        raise ReljudgeError("--bootstrap is not available with --judge and --qrels together (prediction-powered)")
    judge, the_scheme = (open_judge(choice, scheme, None, progress=not as_json) if choice.spec is not None
                         else (None, get_scheme(scheme or "esci")))
    with _optional_store(store, no_store or judge is None) as the_store:
        analysis = analyze_experiment(sample_path, control, treatment, judge=judge, pairs=pairs, qrels=qrels,
                                      store=the_store, k=k, metric=metric, min_gain=min_gain,
                                      expected_gain=expected_gain, scheme=the_scheme, alpha=alpha, power=power,
                                      bootstrap=bootstrap, seed=seed)
    report = analysis.report
    if per_query is not None:
        from reljudge.io.experiment import write_table

        write_table(per_query, analysis.per_query)
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
    from reljudge.experiments.analysis import validate_judge

    judge, _ = open_judge(choice, None, None, progress=not as_json)
    with _optional_store(store, no_store) as the_store:
        result = validate_judge(sample_path, control, treatment, judge=judge, pairs=pairs, qrels=qrels,
                                store=the_store, k=k, metric=metric, min_gain=min_gain, expected_gain=expected_gain,
                                alpha=alpha)
    if as_json:
        typer.echo(json.dumps(result, allow_nan=False))
    else:
        from reljudge.experiments.render import render_validation

        render_validation(result, Console())


@contextlib.contextmanager
def _optional_store(path: Path | None, none: bool) -> Iterator[Any]:
    """The store at `path` (the default store when None), or no store at all with --no-store."""
    if none:
        yield None
        return
    from reljudge.store import Store

    with Store(path) as the_store:
        yield the_store
