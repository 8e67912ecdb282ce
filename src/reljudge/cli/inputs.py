"""Reading pairs the way every command does: the shared options, rejected rows written beside the output."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from reljudge.cli.options import PairReading
from reljudge.io import PairsRead, read_pairs, write_rejected
from reljudge.labels import LabelScheme


def load_pairs(path: Path, scheme: LabelScheme, reading: PairReading | None = None, *,
               rejected_path: Path | None = None, require_labels: bool = False) -> PairsRead:
    """Read pairs as `reading` says (default: the flags' defaults); with --skip-invalid, write the rejected rows to
    `rejected_path` and say so on stderr."""
    options = (reading or PairReading()).read_options()
    read = read_pairs(path, scheme=scheme, require_labels=require_labels, **options)
    if read.rejected and rejected_path is not None:
        write_rejected(rejected_path, read.rejected)
        Console(stderr=True).print(
            f"[yellow]skipped {len(read.rejected)} invalid row(s)[/]; reasons in {rejected_path}", highlight=False
        )
    return read


def rejected_beside(output: Path) -> Path:
    """Rejected rows of OUT go to OUT's name + .rejected.csv, in the same directory."""
    return output.with_name(output.name + ".rejected.csv")
