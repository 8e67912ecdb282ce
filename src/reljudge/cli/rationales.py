"""`reljudge rationales`: LREF's multi-CoT stage — rationales of several styles from a teacher, kept where they end
at the human label, for `reljudge train --judge causal --rationales FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reljudge.cli.judge_options import JudgeChoice, judge_flags
from reljudge.cli.options import (
    Columns,
    Layout,
    MeanRuleOpt,
    NoStore,
    PairReading,
    Products,
    Scheme,
    StorePath,
    reports_errors,
)

_STYLES = "evidence,attributes,decision-tree"


@reports_errors
@judge_flags(flag="--teacher", help="The teacher, an API judge: api:MODEL (with --base-url for a local llama.cpp or "
                                    "vLLM server, or a hosted model and its key).")
def rationales(
    pairs: Annotated[Path, typer.Argument(help="Labelled pairs (with a split column, only the train split is asked).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="RATIONALES.jsonl: one kept rationale per line (pair_id, pair_hash, style, label, "
                               "rationale, teacher).")],
    styles: Annotated[str, typer.Option(
        help="Comma-separated rationale styles: evidence (the product's fields that decide), attributes (type, "
             "brand, size, colour ... compared with the query), decision-tree (the guideline's questions).")] = _STYLES,
    train_split: Annotated[str, typer.Option(help="Rows of this split get rationales (every row without a split "
                                                  "column).")] = "train",
    scheme: Scheme = "esci",
    layout: Layout = "auto",
    columns: Columns = None,
    products: Products = None,
    mean_rule: MeanRuleOpt = "round",
    store: StorePath = None,
    no_store: NoStore = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-style counts as JSON on stdout.")] = False,
    *,
    choice: JudgeChoice,
) -> None:
    """Ask a teacher model for each labelled pair's rationale in several styles; keep those whose final label is the
    human one. Replies are cached in the store: a killed run resumes, a finished one sends no request again."""
    import json

    from rich.console import Console

    from reljudge.cli.inputs import load_pairs
    from reljudge.cli.session import record_inputs
    from reljudge.labels import get_scheme
    from reljudge.train.rationales import collect_rationales, write_rationales

    the_scheme = get_scheme(scheme or "esci")
    read = load_pairs(pairs, the_scheme, PairReading(layout, columns, products, mean_rule=mean_rule),
                      require_labels=True)
    has_split = any("split" in p.segments for p in read.pairs)
    asked = [p for p in read.pairs if not has_split or p.segments.get("split") == train_split]
    chosen_styles = [s.strip() for s in styles.split(",") if s.strip()]
    with record_inputs(read, the_scheme, store, no_store) as the_store:
        found = collect_rationales(asked, choice.spec, the_scheme, styles=chosen_styles,
                                   options=choice.load_options(), store=the_store, input_name=str(pairs),
                                   progress=True)
    write_rationales(output, found.rows)
    if as_json:
        typer.echo(json.dumps({"output": str(output), "rationales": len(found.rows), "styles": found.styles}))
    console = Console(stderr=True, highlight=False)
    for s in found.styles:
        console.print(f"{s['style']}: kept {s['kept']} of {s['pairs']} (wrong label {s['wrong_label']}, no rationale "
                      f"{s['no_rationale']}, unscored {s['unscored']}); {s['from_store']} from the store, "
                      f"{s['requests']} requests; teacher {s['teacher']}")
    console.print(f"wrote {len(found.rows)} rationales for {len({r['pair_hash'] for r in found.rows})} pairs to "
                  f"{output}; train with --rationales {output}")
