"""`reljudge evaluate`: how well a judge agrees with the human labels (alpha first, then the rest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from reljudge.cli.api_options import (
    ApiKeyEnv, BaseUrl, Concurrency, Examples, MaxRetries, MaxTokens, PriceIn, PriceOut, RetryUnscored, Rpm, Shots,
    Precision, Temperature, Template, Timeout, TopLogprobs, Tpm, model_judge_options,
)
from reljudge.cli.options import (
    BatchSize, Columns, Layout, Level, MeanRuleOpt, NoStore, Products, Scheme, SkipInvalid, SmallVersion, Split,
    StorePath, reports_errors,
)
from reljudge.judges import DEFAULT_JUDGE


@reports_errors
def evaluate(
    pairs: Annotated[Optional[Path], typer.Argument(help="Labelled pairs to judge and compare.")] = None,
    judge_spec: Annotated[str, typer.Option("--judge", help="Judge spec when judging PAIRS.")] = DEFAULT_JUDGE,
    judgments: Annotated[
        Optional[Path], typer.Option("--judgments", help="An existing judgments file to compare (with --labels).")
    ] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="The labelled pairs for --judgments.")] = None,
    annotations: Annotated[
        Optional[Path],
        typer.Option(help="Human labels in long form (pair_id, annotator_id, label): adds agreement among humans."),
    ] = None,
    by: Annotated[Optional[list[str]], typer.Option("--by", help="Also report per value of this column.")] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Resample queries N times for 95% intervals.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")] = False,
    scheme: Scheme = None,
    level: Level = None,
    layout: Layout = "auto",
    columns: Columns = None,
    products: Products = None,
    split: Split = None,
    small_version: SmallVersion = False,
    mean_rule: MeanRuleOpt = "round",
    skip_invalid: SkipInvalid = False,
    store: StorePath = None,
    no_store: NoStore = False,
    batch_size: BatchSize = 64,
    base_url: BaseUrl = None,
    api_key_env: ApiKeyEnv = None,
    template: Template = None,
    examples: Examples = None,
    shots: Shots = None,
    concurrency: Concurrency = 8,
    rpm: Rpm = None,
    tpm: Tpm = None,
    timeout: Timeout = 60.0,
    max_retries: MaxRetries = 5,
    temperature: Temperature = 0.0,
    max_tokens: MaxTokens = 8,
    top_logprobs: TopLogprobs = 20,
    price_in: PriceIn = None,
    price_out: PriceOut = None,
    retry_unscored: RetryUnscored = False,
    precision: Precision = None,
) -> None:
    """Judge PAIRS (or read --judgments) and compare with the human labels: alpha, accuracy, macro-F1, confusion."""
    from rich.console import Console

    from reljudge.cli.inputs import load_pairs
    from reljudge.cli.session import open_judge, record_inputs
    from reljudge.compare import comparison_frame
    from reljudge.errors import ReljudgeError
    from reljudge.evaluation import evaluate_frame, render_report
    from reljudge.io import read_annotations, read_judgments
    from reljudge.labels import get_scheme
    from reljudge.metrics.agreement import aggregate_labels

    if (pairs is None) == (judgments is None):
        raise ReljudgeError("give either PAIRS (to judge and compare) or --judgments OUT --labels PAIRS")
    if judgments is not None and labels is None:
        raise ReljudgeError("--judgments needs --labels PAIRS: the file with the human labels")
    read_options = dict(layout=layout, columns=columns, products=products, split=split, small_version=small_version,
                        mean_rule=mean_rule, skip_invalid=skip_invalid, rejected_path=None)
    if judgments is not None:
        the_scheme = get_scheme(scheme or "esci", level)
        read = load_pairs(labels, the_scheme, **read_options)
        long_form = read_annotations(annotations, scheme=the_scheme) if annotations else None
        judged = read_judgments(judgments, scheme=the_scheme)
    else:
        from reljudge.infer.batch import judge_pairs, to_frame

        judge_options = model_judge_options(
            judge_spec, progress=not as_json, base_url=base_url, api_key_env=api_key_env, template=template,
            examples=examples, shots=shots, concurrency=concurrency, rpm=rpm, tpm=tpm, timeout=timeout,
            max_retries=max_retries, temperature=temperature, max_tokens=max_tokens, top_logprobs=top_logprobs,
            price_in=price_in, price_out=price_out, precision=precision)
        the_judge, the_scheme = open_judge(judge_spec, scheme, level, **judge_options)
        read = load_pairs(pairs, the_scheme, **read_options)
        long_form = read_annotations(annotations, scheme=the_scheme) if annotations else None
        with record_inputs(read, the_scheme, store, no_store, annotations=long_form,
                           annotations_source=str(annotations)) as the_store:
            run = judge_pairs(read.pairs, the_judge, store=the_store, input_name=str(pairs), batch_size=batch_size,
                              progress=not as_json, retry_unscored=retry_unscored)
        judged = to_frame(read.pairs, run.judgments, the_scheme)

    human = None
    if long_form is not None:
        human = dict(zip(*aggregate_labels(long_form, the_scheme)[["pair_id", "label"]].T.values))
    frame = comparison_frame(read.pairs, judged, the_scheme, human=human)
    missing = [col for col in by or [] if col not in frame.columns]
    if missing:
        known = sorted(set(frame.columns) - {"pair_id", "pair_hash", "human", "label"} - {c for c in frame if c.startswith("p_")})
        raise ReljudgeError(f"--by {missing[0]!r}: no such column (columns to slice by: {', '.join(known)})")
    report = evaluate_frame(frame, the_scheme, by=by, bootstrap=bootstrap, seed=seed, annotations=long_form)
    if as_json:
        typer.echo(json.dumps(report, allow_nan=False))
    else:
        render_report(report, Console())
