"""`reljudge queue`: choose pairs for people to label on the page (active labelling, random, or an audit)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from reljudge.cli.judge_options import JudgeChoice, judge_flags
from reljudge.cli.options import Level, PairReading, Scheme, StorePath, reading_flags, reports_errors
from reljudge.judges import DEFAULT_JUDGE

queue_app = typer.Typer(help="Labelling queues: pairs chosen for people to label on the page.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")]


@queue_app.command("add")
@reports_errors
@judge_flags(default=DEFAULT_JUDGE, help="The judge whose probabilities choose the pairs (its labels are audited).")
@reading_flags
def add(
    pairs: Annotated[Path, typer.Argument(help="Candidate pairs: .csv, .tsv, .jsonl or .parquet.")],
    name: Annotated[str, typer.Option("--name", help="The queue's name (letters, digits, _ . @ -).")],
    select: Annotated[str, typer.Option(
        "--select", help="uncertain: unlabelled pairs the judge is least sure of (each label teaches it most); "
                         "random: unlabelled pairs at random; disagreement: labelled pairs whose human label the "
                         "judge confidently contradicts, most confident first (an audit).")],
    n: Annotated[int, typer.Option("--n", min=1, help="The most pairs to queue.")],
    overlap: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="The share of the queue that goes to two annotators, so agreement can be measured "
                               "(e.g. 0.2).")] = 0.0,
    uncertainty: Annotated[str, typer.Option(
        help="--select uncertain: 'entropy' of the judge's probabilities, or 'margin' between its top two.")
    ] = "entropy",
    seed: Annotated[int, typer.Option(help="Seeds --select random and which pairs overlap.")] = 0,
    scheme: Scheme = None,
    level: Level = None,
    store: StorePath = None,
    *,
    reading: PairReading,
    choice: JudgeChoice,
) -> None:
    """Judge PAIRS (through the store's cache), choose up to N of them, and queue them for the labelling page.

    A pair counts as labelled when the file gives it a label or the store holds one (from a label file or an
    earlier queue); uncertain and random choose among unlabelled pairs in no queue yet.
    """
    from reljudge.cli.inputs import load_pairs, rejected_beside
    from reljudge.cli.session import open_judge, record_inputs
    from reljudge.service.queues import add_queue

    the_judge, the_scheme = open_judge(choice, scheme, level)
    read = load_pairs(pairs, the_scheme, reading, rejected_path=rejected_beside(pairs))
    with record_inputs(read, the_scheme, store, no_store=False) as the_store:
        made = add_queue(the_store, the_judge, read.pairs, name=name, select=select, n=n, overlap=overlap,
                         measure=uncertainty, seed=seed, source=str(pairs))
    queue = made.queue
    typer.echo(f"queue {queue.name}: {queue.n_items} pairs chosen by {queue.selection} with {queue.judge} from "
               f"{made.pool} of {made.candidates} candidates; {queue.n_overlap} go to two annotators", err=True)


@queue_app.command("list")
@reports_errors
def list_(store: StorePath = None, as_json: AsJson = False) -> None:
    """List the queues with their progress: pairs, labels given, pairs that have all the labels they want."""
    from dataclasses import asdict

    from reljudge.service.people_store import list_queues
    from reljudge.store import Store

    with Store(store) as the_store:
        found = list_queues(the_store)
    if as_json:
        for queue in found:
            typer.echo(json.dumps(asdict(queue), default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("queue", "scheme", "chosen by", "judge", "pairs", "to label twice", "labels", "done")
    for q in found:
        table.add_row(q.name, q.scheme, q.selection, q.judge, str(q.n_items), str(q.n_overlap), str(q.n_labels),
                      f"{q.n_done}/{q.n_items}")
    Console().print(table)
