"""Rows left out of a read with ``skip_invalid=True``, and the csv that lets a user fix and re-feed them."""

from __future__ import annotations

import csv
import os
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


def append_rejected(path: str | Path, rejected: list[Rejected], columns: list[str]) -> int:
    """Append rejected rows to a csv laid out as `write_rejected`'s (the header first if the file is new or empty).

    The columns are fixed up front (row, field, reason, then the input's `columns`) because a streamed input's
    rows arrive chunk by chunk. The rows are flushed to disk before returning, so a caller can record the size.

    Returns:
        The file's size in bytes after the append.
    """
    path = Path(path)
    head = [*_HEAD, *(f"input_{c}" if c in _HEAD else c for c in columns)]
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if handle.tell() == 0:
            writer.writerow(head)
        writer.writerows([item.row, item.field, item.reason, *(item.record.get(c, "") for c in columns)]
                         for item in rejected)
        handle.flush()
        os.fsync(handle.fileno())
        return handle.tell()
