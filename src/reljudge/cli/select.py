"""`reljudge select`: LREF's data selection — the training pairs that teach most, and the human labels to doubt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reljudge.cli.options import Columns, Layout, MeanRuleOpt, PairReading, Products, Scheme, reports_errors


@reports_errors
def select(
    pairs: Annotated[Path, typer.Argument(
        help="Labelled pairs (with a split column, only the train split is selected).")],
    judge_name: Annotated[str, typer.Option(
        "--judge", help="The trainable family to select with: lexical, cross-encoder or causal.")] = "lexical",
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="SELECTED pairs file (.csv, .parquet, .jsonl) that `reljudge train --data` reads; "
                               "rows of other splits are kept unchanged.")] = Path("selected.csv"),
    suspects: Annotated[Path, typer.Option(
        "--suspects", help="Likely mislabels, most suspicious first (pair_id, human_label, judge_label, p_human "
                           "...).")] = Path("suspects.csv"),
    seed_share: Annotated[float, typer.Option(min=0.01, max=1.0, help="Share of the queries in the seed sample "
                                              "the initial judge is trained on.")] = 0.25,
    budget_share: Annotated[float, typer.Option(min=0.01, max=1.0, help="Share of the train pairs to keep "
                                                "(seed included).")] = 0.5,
    folds: Annotated[int, typer.Option(min=2, help="Query folds of the mislabel supervisor's cross-fitting.")] = 5,
    max_p_human: Annotated[float, typer.Option(min=0.0, max=1.0, help="A suspect's human label gets at most this "
                                               "probability ...")] = 0.1,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, help="... while the judge gives another label "
                                                  "at least this.")] = 0.5,
    drop_suspects: Annotated[bool, typer.Option("--drop-suspects", help="Leave the suspects out of SELECTED.")] = False,
    train_split: Annotated[str, typer.Option(help="Rows of this split are selected from.")] = "train",
    seed: Annotated[int, typer.Option(help="Random seed (seed sample, folds, training).")] = 0,
    scheme: Scheme = "esci",
    layout: Layout = "auto",
    columns: Columns = None,
    products: Products = None,
    mean_rule: MeanRuleOpt = "round",
) -> None:
    """Train an initial judge on a seed of queries; keep the pairs it gets wrong or is least sure of; flag labels
    that cross-fitted judges confidently contradict."""
    from rich.console import Console

    from reljudge.cli.inputs import load_pairs
    from reljudge.io.atomic import atomic_path
    from reljudge.io.pairs_out import write_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.select import SelectOptions, select_with_family

    the_scheme = get_scheme(scheme or "esci")
    read = load_pairs(pairs, the_scheme, PairReading(layout, columns, products, mean_rule=mean_rule),
                      require_labels=True)
    has_split = any("split" in p.segments for p in read.pairs)
    train = [p for p in read.pairs if not has_split or p.segments.get("split") == train_split]
    others = [p for p in read.pairs if has_split and p.segments.get("split") != train_split]
    options = SelectOptions(seed_share=seed_share, budget_share=budget_share, folds=folds, max_p_human=max_p_human,
                            min_confidence=min_confidence, drop_suspects=drop_suspects, seed=seed)
    selection = select_with_family(judge_name, train, the_scheme, options)
    write_pairs(output, selection.selected + others)
    with atomic_path(suspects) as tmp:
        selection.suspects.to_csv(tmp, index=False)
    s = selection.summary
    Console(stderr=True, highlight=False).print(
        f"selected {s['selected']} of {s['pairs']} train pairs ({s['seed_pairs']} from {s['seed_queries']} seed "
        f"queries, {s['picked']} hardest of the rest{', suspects dropped' if drop_suspects else ''}); "
        f"{s['suspects']} suspects\nwrote {output} (+{len(others)} rows of other splits) and {suspects}")
