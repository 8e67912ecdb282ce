"""`reljudge evaluate`: how well a judge agrees with the human labels (alpha and worth first, then the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from reljudge.cli.judge_options import JudgeChoice, RetryUnscored, judge_flags
from reljudge.cli.options import (
    BatchSize,
    Level,
    NoStore,
    PairReading,
    Scheme,
    StorePath,
    reading_flags,
    reports_errors,
)
from reljudge.judges import DEFAULT_JUDGE

if TYPE_CHECKING:
    from reljudge.evaluation import EvaluationReport


@reports_errors
@judge_flags(default=DEFAULT_JUDGE, help="Judge spec when judging PAIRS.")
@reading_flags
def evaluate(
    pairs: Annotated[Optional[Path], typer.Argument(help="Labelled pairs to judge and compare.")] = None,
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
    store: StorePath = None,
    no_store: NoStore = False,
    batch_size: BatchSize = 64,
    retry_unscored: RetryUnscored = False,
    *,
    reading: PairReading,
    choice: JudgeChoice,
) -> None:
    """Judge PAIRS (or read --judgments) and compare with the human labels: alpha, worth, accuracy, macro-F1 ..."""
    from reljudge.cli.inputs import load_pairs
    from reljudge.cli.session import open_judge, record_inputs
    from reljudge.errors import ReljudgeError
    from reljudge.evaluation import evaluate_judge
    from reljudge.io import read_annotations

    if (pairs is None) == (judgments is None):
        raise ReljudgeError("give either PAIRS (to judge and compare) or --judgments OUT --labels PAIRS")
    if judgments is not None and labels is None:
        raise ReljudgeError("--judgments needs --labels PAIRS: the file with the human labels")
    asked = dict(by=by, bootstrap=bootstrap, seed=seed)
    if judgments is not None:
        report = _compare_file(judgments, labels, annotations, scheme, level, reading, asked)
    else:
        the_judge, the_scheme = open_judge(choice, scheme, level, progress=not as_json)
        read = load_pairs(pairs, the_scheme, reading)
        long_form = read_annotations(annotations, scheme=the_scheme) if annotations else None
        with record_inputs(read, the_scheme, store, no_store, annotations=long_form,
                           annotations_source=str(annotations)) as the_store:
            report = evaluate_judge(the_judge, read, scheme=the_scheme, annotations=long_form, store=the_store,
                                    input_name=str(pairs), batch_size=batch_size, progress=not as_json,
                                    retry_unscored=retry_unscored, **asked)
    _show(report, as_json)


def _compare_file(judgments: Path, labels: Path, annotations: Optional[Path], scheme: Optional[str],
                  level: Optional[str], reading: PairReading, asked: dict) -> EvaluationReport:
    """--judgments OUT --labels PAIRS: judgments already made, against the labels of the same pairs."""
    from reljudge.cli.inputs import load_pairs
    from reljudge.evaluation import compare
    from reljudge.io import read_annotations, read_judgments
    from reljudge.labels import get_scheme

    the_scheme = get_scheme(scheme or "esci", level)
    read = load_pairs(labels, the_scheme, reading)
    long_form = read_annotations(annotations, scheme=the_scheme) if annotations else None
    return compare(read_judgments(judgments, scheme=the_scheme), read, scheme=the_scheme, annotations=long_form,
                   **asked)


def _show(report: EvaluationReport, as_json: bool) -> None:
    """One JSON object on stdout, or the tables."""
    if as_json:
        typer.echo(report.to_json())
        return
    from rich.console import Console

    Console().print(report.to_table())
