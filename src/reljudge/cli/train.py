"""`reljudge train`: fit a judge on the train split of labelled pairs, report it on the valid split.

The training settings are flags generated from the config models (`cli.settings_flags`), and can come from
`--config FILE`; precedence is defaults < file < flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reljudge.cli.options import (
    Columns,
    Layout,
    MeanRuleOpt,
    PairReading,
    Products,
    Scheme,
    SkipInvalid,
    StorePath,
    reports_errors,
)
from reljudge.cli.settings_flags import training_config, with_setting_flags


@reports_errors
def _train(
    judge_name: Annotated[str, typer.Option(
        "--judge", help="What to train: lexical, majority, cross-encoder or causal.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled pairs (with a split column to hold out valid).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the model to.")],
    config: Annotated[Optional[Path], typer.Option(
        "--config", help="Training settings in a YAML, TOML or JSON file (by suffix), keyed by the names of the flags "
                         "below with underscores (lora_rank: 8); flags override it.")] = None,
    train_split: Annotated[str, typer.Option(help="Rows of this split are trained on.")] = "train",
    valid_split: Annotated[str, typer.Option(
        help="Rows of this split are only evaluated, never trained on.")] = "valid",
    dpo: Annotated[bool, typer.Option(
        "--dpo", help="Causal only: DPO on the adapter given by --from, with preference pairs from its errors on the "
                      "train split (the human label's answer over its own); the settings under DPO apply.")] = False,
    from_adapter: Annotated[Optional[Path], typer.Option(
        "--from", help="With --dpo: the causal adapter directory to start from.")] = None,
    teacher: Annotated[Optional[str], typer.Option(
        "--teacher", help="Cross-encoder only: another judge's judgments (a judgments file, or run:ID of the store) "
                          "whose probabilities are soft targets for the train split's pairs that have no human "
                          "label (matched by pair_id, else pair hash); labelled pairs keep their label.")] = None,
    store: StorePath = None,
    scheme: Scheme = "esci",
    layout: Layout = "auto",
    columns: Columns = None,
    products: Products = None,
    mean_rule: MeanRuleOpt = "round",
    skip_invalid: SkipInvalid = False,
    **settings: Any,
) -> None:
    """Fit a judge on PAIRS' train split and write it to DIR; use it as --judge NAME:DIR."""
    import json

    from rich.console import Console

    from reljudge.cli.inputs import load_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.registry import train_judge

    if (dpo or from_adapter) and not (dpo and from_adapter and judge_name == "causal"):
        raise typer.BadParameter("--dpo and --from ADAPTER_DIR go together, with --judge causal",
                                 param_hint="--dpo, --from")
    resolved = training_config(judge_name, config, settings)
    the_scheme = get_scheme(scheme or "esci")
    reading = PairReading(layout, columns, products, mean_rule=mean_rule, skip_invalid=skip_invalid)
    read = load_pairs(data, the_scheme, reading, rejected_path=output / "rejected.csv",
                      require_labels=teacher is None)
    pairs, taught = read.pairs, None
    if teacher is not None:
        pairs, taught = _taught(teacher, read.pairs, the_scheme, store, train_split)
    if dpo:
        from reljudge.train.dpo import train_dpo
        from reljudge.train.registry import split_pairs

        train_pairs, valid_pairs = split_pairs(pairs, train_split, valid_split)
        summary = train_dpo(train_pairs, the_scheme, from_adapter, output, resolved, valid_pairs=valid_pairs or None,
                            data_source=str(data.resolve()))
    else:
        summary = train_judge(judge_name, pairs, the_scheme, output, resolved, train_split=train_split,
                              valid_split=valid_split, data_source=str(data.resolve()), teacher=taught)
    Console(stderr=True).print(json.dumps(summary, indent=2), highlight=False)
    Console(stderr=True).print(f"wrote {output}; judge with --judge {judge_name}:{output}", highlight=False)


def _taught(teacher: str, pairs: list, scheme: Any, store: Optional[Path], train_split: str) -> tuple[list, Any]:
    """(the labelled pairs, the teacher's (pairs, probabilities) for the train split's unlabelled ones)."""
    from reljudge.train.teacher import read_teacher, teacher_targets

    split = any("split" in p.segments for p in pairs)
    unlabelled = [p for p in pairs if p.label is None and (not split or p.segments.get("split") == train_split)]
    return ([p for p in pairs if p.label is not None],
            teacher_targets(read_teacher(teacher, scheme, unlabelled, store), unlabelled, scheme, teacher))


train = with_setting_flags(_train)
train.__name__ = "train"
