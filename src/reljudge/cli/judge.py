"""`reljudge judge`: label every pair of a file and write the judgments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reljudge.cli.options import (
    BatchSize, Columns, Layout, Level, MeanRuleOpt, NoStore, Products, Scheme, SkipInvalid, SmallVersion, Split,
    StorePath, reports_errors,
)
from reljudge.judges import DEFAULT_JUDGE


@reports_errors
def judge(
    pairs: Annotated[Path, typer.Argument(help="Pairs to judge: .csv, .tsv, .jsonl or .parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Judgments file: .parquet, .csv, .jsonl (or qrels).")],
    judge_spec: Annotated[str, typer.Option("--judge", help="Judge spec, e.g. lexical, majority, lexical:DIR.")] = DEFAULT_JUDGE,
    fmt: Annotated[
        Optional[str], typer.Option("--format", help="parquet, csv, jsonl or trec-qrels (default: from OUT's suffix).")
    ] = None,
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
) -> None:
    """Label every query-product pair of PAIRS and write one judgment per pair to OUT."""
    from rich.console import Console

    from reljudge.cli.inputs import load_pairs, rejected_beside
    from reljudge.cli.session import open_judge, record_inputs
    from reljudge.infer.batch import judge_pairs, to_frame
    from reljudge.io import judgment_format, write_judgments

    fmt = judgment_format(output, fmt)
    the_judge, the_scheme = open_judge(judge_spec, scheme, level)
    read = load_pairs(
        pairs, the_scheme, layout=layout, columns=columns, products=products, split=split,
        small_version=small_version, mean_rule=mean_rule, skip_invalid=skip_invalid,
        rejected_path=rejected_beside(output),
    )
    with record_inputs(read, the_scheme, store, no_store) as the_store:
        run = judge_pairs(read.pairs, the_judge, store=the_store, input_name=str(pairs), batch_size=batch_size,
                          progress=True)
    frame = to_frame(read.pairs, run.judgments, the_scheme)
    written = write_judgments(output, frame, scheme=the_scheme, fmt=fmt)
    counts = frame["label"].value_counts()
    spread = "  ".join(f"{label} {int(counts.get(label, 0))}" for label in the_scheme.labels)
    Console(stderr=True).print(
        f"judged {len(frame)} pairs with {the_judge.spec} ({run.n_cached} from the store, {run.n_judged} judged, "
        f"{run.seconds:.1f}s)\nlabels: {spread}\nwrote {written}",
        highlight=False,
    )
