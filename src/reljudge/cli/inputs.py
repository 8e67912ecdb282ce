"""Reading pairs the way every command does: the shared options, rejected rows written beside the output."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from reljudge.cli.options import parse_columns
from reljudge.io import PairsRead, read_pairs, write_rejected
from reljudge.labels import LabelScheme, MeanRule


def load_pairs(
    path: Path,
    scheme: LabelScheme,
    *,
    layout: str,
    columns: str | None,
    products: Path | None,
    split: str | None,
    small_version: bool,
    mean_rule: str,
    skip_invalid: bool,
    rejected_path: Path | None,
    require_labels: bool = False,
) -> PairsRead:
    """Read pairs; with --skip-invalid, write the rejected rows to `rejected_path` and say so on stderr."""
    read = read_pairs(
        path, scheme=scheme, layout=layout, columns=parse_columns(columns), products=products, split=split,
        small_version=small_version, mean_rule=MeanRule(mean_rule), require_labels=require_labels,
        skip_invalid=skip_invalid,
    )
    if read.rejected and rejected_path is not None:
        write_rejected(rejected_path, read.rejected)
        Console(stderr=True).print(
            f"[yellow]skipped {len(read.rejected)} invalid row(s)[/]; reasons in {rejected_path}", highlight=False
        )
    return read


def rejected_beside(output: Path) -> Path:
    """Rejected rows of OUT go to OUT's name + .rejected.csv, in the same directory."""
    return output.with_name(output.name + ".rejected.csv")
