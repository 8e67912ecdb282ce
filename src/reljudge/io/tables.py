"""Read any supported table file into a frame of strings.

Everything is read as text so that ids like ``00123`` keep their zeros and labels like ``2.33`` stay as written;
the readers above this module decide what each column means. Every failure to read becomes an InputError that
names the file (and the line, for JSONL), never a raw parser traceback.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reljudge.errors import InputError

log = logging.getLogger(__name__)

#: File suffixes (lower case) and the table format each one means.
TABLE_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
TABLE_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl", "parquet")

#: The frame index holds the row number the user sees: the 1-based data row, or the line number in JSONL.
ROW = "row"


def table_format(path: str | Path, fmt: str | None = None) -> str:
    """The table format of a file: `fmt` when given, else from the suffix (case-insensitive)."""
    if fmt is not None:
        if fmt not in TABLE_FORMATS:
            raise InputError(str(path), f"unknown table format {fmt!r}: use {', '.join(TABLE_FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    found = TABLE_SUFFIXES.get(suffix)
    if found is None:
        raise InputError(str(path), f"unsupported file type {suffix or '(no suffix)'!r}: "
                                    f"use {', '.join(TABLE_SUFFIXES)}")
    return found


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a csv, tsv, JSONL or Parquet file with every column as text and empty cells as "".

    Args:
        path: the file.
        fmt: the table format; None infers it from the suffix.

    Returns:
        A frame of str columns whose index (named "row") is the row number the user sees, so errors found later,
        even after filtering, point at the right place.

    Raises:
        InputError: the file is missing, of an unknown type, or cannot be parsed.
    """
    path = Path(path)
    kind = table_format(path, fmt)
    check_file(path)
    if kind == "parquet":
        return arrow_to_frame(read_parquet(path))
    if kind == "jsonl":
        frame = records_to_frame(iter_jsonl(path))
        if frame.columns.empty:
            raise InputError(str(path), "empty file: no JSON lines")
        return frame
    return _read_delimited(path, "\t" if kind == "tsv" else ",")


def check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(str(path), "file not found")
    if not path.is_file():
        raise InputError(str(path), "not a file")


def read_fields(path: Path, fields: Sequence[str]) -> pd.DataFrame:
    """A whitespace-separated text file (TREC runs and qrels) as str columns `fields`, indexed by line number
    (`ROW`); blank lines are skipped, and a line with another number of fields is an error naming it."""
    check_file(path)
    rows, numbers = [], []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != len(fields):
                    raise InputError(str(path), f"expected {len(fields)} fields '{' '.join(fields)}', found "
                                                f"{len(parts)}", row=number)
                rows.append(parts)
                numbers.append(number)
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    frame = pd.DataFrame(rows, columns=list(fields), dtype=str)
    frame.index = pd.Index(numbers, name=ROW, dtype="int64")
    return frame


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    name = "TSV" if sep == "\t" else "CSV"
    try:
        try:
            frame = pd.read_csv(path, sep=sep, dtype=str, na_filter=False)
        except UnicodeDecodeError:
            # The Kaggle Home Depot files are Latin-1; every byte is valid Latin-1, so this always decodes.
            log.warning("%s is not UTF-8; reading it as Latin-1", path)
            frame = pd.read_csv(path, sep=sep, dtype=str, na_filter=False, encoding="latin-1")
    except pd.errors.EmptyDataError:
        raise InputError(str(path), f"empty file: expected a {name} header line") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(str(path), f"cannot read as {name}: {exc}") from None
    frame.index = pd.RangeIndex(1, len(frame) + 1, name=ROW)
    return frame


def read_parquet(path: Path, columns: list[str] | None = None, filters: list | None = None) -> pa.Table:
    """Open a Parquet file, dropping the index columns pandas stores in it (they are not data).

    Args:
        path: the file.
        columns: read only these columns (None: all).
        filters: pyarrow row filters, pushed down so a large products file is never read whole.
    """
    try:
        table = pq.read_table(path, columns=columns, filters=filters)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(str(path), f"cannot read as Parquet (truncated or not a Parquet file?): {exc}") from None
    index_columns = [c for c in (table.schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)]
    return table.drop_columns([c for c in index_columns if c in table.column_names])


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a frame of str columns (nulls as "")."""
    data = {}
    for name, column in zip(table.column_names, table.columns):
        try:
            text = pc.cast(column, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            # Lists, structs and non-UTF-8 binaries have no cast to string: write them as JSON text.
            text = pa.array([to_text(v) for v in column.to_pylist()], pa.string())
        data[name] = pc.fill_null(text, "").to_pandas()
    frame = pd.DataFrame(data, columns=table.column_names)
    frame.index = pd.RangeIndex(1, table.num_rows + 1, name=ROW)
    return frame


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line of a JSONL file.

    Raises:
        InputError: naming the line of the first line that is not a JSON object.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(str(path), f"line {number} is not valid JSON ({exc.msg}, column {exc.colno})",
                                     row=number) from None
                if not isinstance(record, dict):
                    raise InputError(str(path), f"line {number} is not a JSON object", row=number)
                yield number, record
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None


def records_to_frame(records: Iterator[tuple[int, dict]]) -> pd.DataFrame:
    """Numbered records as a frame of str columns; keys missing from a record read as ""."""
    rows, texts = [], []
    for number, record in records:
        rows.append(number)
        texts.append({key: to_text(value) for key, value in record.items()})
    frame = pd.DataFrame.from_records(texts) if texts else pd.DataFrame()
    frame = frame.fillna("").astype(str) if len(frame.columns) else frame
    frame.index = pd.Index(rows, name=ROW, dtype="int64")
    return frame


def to_text(value: object) -> str:
    """A JSON or Arrow value as the text a csv cell would hold: null/NaN -> "", numbers and lists as JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(value, ensure_ascii=False, default=str)
