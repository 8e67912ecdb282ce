"""Read a pairs file of any size in chunks of a fixed number of rows, with the checks and errors of read_pairs.

Chunk boundaries depend only on the file and the chunk size (rows [k*rows, (k+1)*rows) are chunk k, whatever the
format), so a run that was killed and started again cuts the file exactly as before: that is what lets a sharded
output resume. Only one chunk (plus the reader's read-ahead) is in memory at a time. CSV/TSV go through
pyarrow.csv.open_csv with every column as text, Parquet through ParquetFile.iter_batches, JSONL line by line.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reljudge.errors import InputError
from reljudge.io.pairs import PairReader
from reljudge.io.rejected import Rejected
from reljudge.io.tables import ROW, arrow_to_frame, check_file, iter_jsonl, records_to_frame, table_format
from reljudge.records import Pair

log = logging.getLogger(__name__)

_BLOCK = 1 << 20


@dataclass
class PairsChunk:
    """The valid pairs (and the input row of each) and the rejected rows of rows [index*rows, (index+1)*rows)."""

    index: int
    pairs: list[Pair]
    rejected: list[Rejected]
    rows: list[int]


class PairStream:
    """A pairs file read chunk by chunk: iterate it for PairsChunks.

    Args:
        path: the pairs file (.csv, .tsv, .jsonl, .ndjson, .parquet).
        rows: rows per chunk.
        row_column: a column holding each row's number in the file the user gave (a sorted copy has one).
        **options: the reading options of `read_pairs` (scheme, layout, columns, split, skip_invalid, ...).

    Raises:
        InputError: as read_pairs, for the header at once and for rows as their chunk is read. Pair ids repeated
            across two chunks are not detected (that would keep every id in memory).
    """

    def __init__(self, path: str | Path, *, rows: int, row_column: str | None = None, **options: Any):
        self.table = TableStream(path, rows, row_column=row_column)
        self.reader = PairReader.open(path, self.table.columns, **options)

    def __iter__(self) -> Iterator[PairsChunk]:
        for index, frame in enumerate(self.table.frames()):
            read = self.reader.convert(frame)
            yield PairsChunk(index, read.pairs, read.rejected, read.rows)
        self.reader.finish()


class TableStream:
    """A table file as frames of exactly `rows` rows (the last one shorter), all columns text.

    Each frame's index is the row number the user sees (1-based data row; the line number for JSONL), counted over
    the whole file. `total` and `position` are in `unit` ("bytes" for csv/tsv, "rows" otherwise) for a progress
    bar. With `row_column`, row numbers come from that column (dropped from the frames) instead.
    """

    def __init__(self, path: str | Path, rows: int, fmt: str | None = None, row_column: str | None = None):
        if rows < 1:
            raise ValueError(f"rows per chunk must be at least 1, not {rows}")
        self.path = Path(path)
        self.rows = rows
        self.kind = table_format(self.path, fmt)
        check_file(self.path)
        self.unit = "bytes" if self.kind in ("csv", "tsv") else "rows"
        self._handle: BinaryIO | None = None
        self._done_rows = 0
        self._row_column = row_column
        if self.kind == "parquet":
            self._parquet = _open_parquet(self.path)
            index_columns = {c for c in (self._parquet.schema_arrow.pandas_metadata or {}).get("index_columns", [])
                             if isinstance(c, str)}
            self._read_columns = [c for c in self._parquet.schema_arrow.names if c not in index_columns]
            self.columns = [c for c in self._read_columns if c != row_column]
            self.total = self._parquet.metadata.num_rows
        elif self.kind == "jsonl":
            # JSONL records may add keys at any line: one pass collects them, so every chunk has the same columns.
            keys: dict[str, None] = {}
            self.total = 0
            for _, record in iter_jsonl(self.path):
                keys.update(dict.fromkeys(record))
                self.total += 1
            if not self.total:
                raise InputError(str(self.path), "empty file: no JSON lines")
            self.columns = list(keys)
        else:
            self._encoding = _encoding(self.path)
            self._sep = "\t" if self.kind == "tsv" else ","
            header = self._csv_reader(None)  # the column names; every column is then read as text
            self.columns = header.schema.names
            header.close()
            self.total = self.path.stat().st_size

    @property
    def position(self) -> int:
        """How far the frames read so far reach, in `unit`."""
        if self.unit == "bytes":
            return self._handle.tell() if self._handle is not None and not self._handle.closed else self.total
        return self._done_rows

    def frames(self) -> Iterator[pd.DataFrame]:
        """Yield the file as frames of `rows` rows with global row numbers as their index."""
        if self.kind == "jsonl":
            yield from self._jsonl_frames()
            return
        start = 1
        for table in _exact(self._batches(), self.rows):
            frame = arrow_to_frame(table)
            if self._row_column:
                frame.index = pd.Index(frame.pop(self._row_column).astype("int64"), name=ROW)
            else:
                frame.index = pd.RangeIndex(start, start + len(frame), name=ROW)
            start += len(frame)
            self._done_rows += len(frame)
            yield frame

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if self.kind == "parquet":
            try:
                yield from self._parquet.iter_batches(batch_size=self.rows, columns=self._read_columns)
            except (pa.ArrowException, OSError) as exc:
                raise InputError(str(self.path), f"cannot read as Parquet: {exc}") from None
            return
        with self.path.open("rb") as handle:
            self._handle = handle
            reader = self._csv_reader(handle)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise InputError(str(self.path), f"cannot read as {self.kind.upper()}: {exc}") from None
                yield batch

    def _csv_reader(self, handle: BinaryIO | None) -> pacsv.CSVStreamingReader:
        name = self.kind.upper()
        read = pacsv.ReadOptions(encoding=self._encoding, block_size=_BLOCK)
        parse = pacsv.ParseOptions(delimiter=self._sep, newlines_in_values=True)
        try:
            if handle is None:
                return pacsv.open_csv(self.path, read_options=read, parse_options=parse)
            convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in self.columns},
                                           strings_can_be_null=False)
            return pacsv.open_csv(handle, read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise InputError(str(self.path), f"empty file: expected a {name} header line") from None
            raise InputError(str(self.path), f"cannot read as {name}: {exc}") from None

    def _jsonl_frames(self) -> Iterator[pd.DataFrame]:
        records: list[tuple[int, dict]] = []
        for item in iter_jsonl(self.path):
            records.append(item)
            if len(records) == self.rows:
                yield self._jsonl_frame(records)
                records = []
        if records:
            yield self._jsonl_frame(records)

    def _jsonl_frame(self, records: list[tuple[int, dict]]) -> pd.DataFrame:
        self._done_rows += len(records)
        return records_to_frame(iter(records)).reindex(columns=self.columns, fill_value="")


def _open_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(str(path), f"cannot read as Parquet (truncated or not a Parquet file?): {exc}") from None


def _encoding(path: Path) -> str:
    """utf8, or latin-1 when any byte is not UTF-8 (the Kaggle Home Depot files), as read_table decides."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while block := handle.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            log.warning("%s is not UTF-8; reading it as Latin-1", path)
            return "latin-1"
    return "utf8"


def _exact(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Re-cut record batches of any sizes into tables of exactly `rows` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            pending = table.slice(rows).to_batches()
            held -= rows
    if held:
        yield pa.Table.from_batches(pending)
