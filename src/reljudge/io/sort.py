"""Sort a pairs file by query, out of core, so that a judge that needs whole query groups can stream it.

The rows are read as text by the same streaming reader the judging uses, tagged with their row number and the
query id each pair will get (the query_id column, else the hash of the normalised query, exactly as read_pairs
makes it), and sorted by DuckDB, which spills to disk past its memory limit. Queries keep the order of their
first row and rows keep their order within a query, so an input already grouped by query comes out unchanged.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reljudge.io.atomic import atomic_path
from reljudge.io.pairs import PairReader
from reljudge.io.stream import TableStream
from reljudge.records import query_key

#: The column of the sorted file that holds each row's number in the original file (for error messages).
ROW_COLUMN = "__reljudge_row"
_KEY = "__reljudge_query"


def sort_by_query(path: str | Path, dest: str | Path, *, options: dict[str, Any], rows: int = 65536,
                  memory_limit: str = "1GB") -> Path:
    """Write `path`'s rows, grouped by query, to the Parquet file `dest` (atomically), all columns as text.

    Args:
        path: the pairs file.
        dest: the sorted copy; it has the input's columns plus ROW_COLUMN.
        options: the reading options of `read_pairs`; they decide which column is the query (id).
        rows: rows read at a time.
        memory_limit: DuckDB's memory limit; beyond it the sort spills to a work directory beside `dest`.

    Raises:
        InputError: the file cannot be read, or lacks the query column.
    """
    import duckdb

    dest = Path(dest)
    table = TableStream(path, rows)
    mapping = PairReader.open(path, table.columns, **options).mapping
    work = dest.with_name(f".{dest.name}.sort.tmp")
    work.mkdir(parents=True, exist_ok=True)
    try:
        unsorted = work / "rows.parquet"
        schema = pa.schema([*(pa.field(c, pa.string()) for c in table.columns), pa.field(ROW_COLUMN, pa.int64()),
                            pa.field(_KEY, pa.string())])
        with pq.ParquetWriter(unsorted, schema) as writer:
            for frame in table.frames():
                keys = _query_ids(frame, mapping)
                frame = frame.assign(**{ROW_COLUMN: frame.index.to_numpy(dtype="int64"), _KEY: keys})
                writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = {_text(memory_limit)}")
            con.execute(f"SET temp_directory = {_text(str(work / 'spill'))}")
            with atomic_path(dest) as temporary:
                con.execute(
                    f"COPY (SELECT * EXCLUDE ({_KEY}, first_row) FROM (SELECT *, min({ROW_COLUMN}) OVER "
                    f"(PARTITION BY {_KEY}) AS first_row FROM read_parquet({_text(str(unsorted))})) "
                    f"ORDER BY first_row, {ROW_COLUMN}) TO {_text(str(temporary))} (FORMAT parquet)")
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _query_ids(frame: Any, mapping: dict[str, str]) -> list[str]:
    """The query id each row's pair gets: its query_id cell, else the hash of its normalised query."""
    queries = frame[mapping["query"]].tolist()
    ids = frame[mapping["query_id"]].tolist() if "query_id" in mapping else [""] * len(queries)
    hashes = {q: query_key(q) for q in set(queries)}
    return [i or hashes[q] for i, q in zip(ids, queries)]


def _text(value: str) -> str:
    """A SQL string literal (DuckDB takes no parameters in COPY ... TO or SET)."""
    return "'" + value.replace("'", "''") + "'"
