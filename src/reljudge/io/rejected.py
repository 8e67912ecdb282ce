"""Rows left out of a read with ``skip_invalid=True``, and the csv that lets a user fix and re-feed them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reljudge.io.atomic import atomic_path

_HEAD = ("row", "field", "reason")


@dataclass
class Rejected:
    """A row left out by ``skip_invalid=True``.

    Attributes:
        row: the 1-based data row (the line number for JSONL) in the input file.
        field: the input column at fault.
        reason: what is wrong with it.
        record: the row as read, column -> text, so it can be fixed and fed back.
    """

    row: int
    field: str
    reason: str
    record: dict[str, str]


def write_rejected(path: str | Path, rejected: list[Rejected]) -> Path:
    """Write rejected rows as csv: row, field, reason, then the input columns of the records.

    An input column named like one of the first three is written as ``input_<name>`` so neither is lost.
    The file is replaced atomically and written even when nothing was rejected (a header only), so a stale
    file from an earlier run never survives.
    """
    rows = [{**dict(zip(_HEAD, (item.row, item.field, item.reason))),
             **{(f"input_{key}" if key in _HEAD else key): value for key, value in item.record.items()}}
            for item in rejected]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(_HEAD))
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False)
    return Path(path)
