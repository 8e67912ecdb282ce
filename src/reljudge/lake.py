"""The store's tables as Parquet files, judgments and pairs partitioned by day: the layout for when one machine is
outgrown.

    DIR/judgments/day=2026-12-06/*.parquet   (by the day each judgment was made)
    DIR/pairs/day=2026-12-06/*.parquet       (by the day each pair was first seen)
    DIR/runs.parquet, DIR/human_labels.parquet, DIR/queues.parquet, DIR/queue_items.parquet,
    DIR/annotator_labels.parquet

DuckDB, Spark and Trino read the day folders where they lie (Hive partitioning), and `reljudge report --lake DIR`
reads them through views named as the store's tables, so the report's SQL is the same over both. Annotators are
left out: their hashed tokens are no one else's business. An export with `since` rewrites only the days from then
on, so a nightly export costs a day's rows, not the year's.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from reljudge.errors import ReljudgeError

#: The big tables and the timestamp that sorts their rows into days.
BY_DAY = {"judgments": "created", "pairs": "first_seen"}
WHOLE = ("runs", "human_labels", "queues", "queue_items", "annotator_labels")


def export_lake(con: Any, directory: Path, since: date | None = None) -> dict[str, int]:
    """Write the store's tables under `directory` (the days from `since` on, or all); returns rows per table."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for table, column in BY_DAY.items():
        root = directory / table
        days = [d for (d,) in con.execute(f"SELECT DISTINCT CAST({column} AS DATE) AS d FROM {table}"
                                          + (f" WHERE {column} >= ?" if since else "") + " ORDER BY d",
                                          [since] if since else []).fetchall()]
        for day_folder in root.glob("day=*") if root.exists() else []:
            if since is None or date.fromisoformat(day_folder.name[4:]) >= since:
                shutil.rmtree(day_folder)
        written[table] = 0
        for day in days:  # a day at a time: a partitioned COPY holds a buffer per day, over the memory limit
            folder = root / f"day={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            rows = con.execute(f"COPY (SELECT * FROM {table} WHERE {column} >= ? AND {column} < ? + INTERVAL 1 DAY)"
                               f" TO '{folder / f'part-{uuid.uuid4().hex}.parquet'}' (FORMAT parquet)",
                               [day, day]).fetchall()
            written[table] += int(rows[0][0])
    for table in WHOLE:
        target = directory / f"{table}.parquet"
        partial = target.with_suffix(".parquet.partial")
        written[table] = int(con.execute(f"COPY {table} TO '{partial}' (FORMAT parquet)").fetchall()[0][0])
        partial.replace(target)
    return written


def open_lake(directory: Path, memory_limit: str) -> Any:
    """An in-memory DuckDB connection whose views, named as the store's tables, read the Parquet under `directory`.

    Raises:
        ReljudgeError: naming the table whose files are missing.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    for table in BY_DAY:
        if not list((directory / table).glob("day=*/*.parquet")):
            raise ReljudgeError(f"{directory / table}: no Parquet files (write them with: reljudge store export "
                                f"{directory})")
        con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (day) FROM read_parquet("
                    f"'{directory / table}/day=*/*.parquet', hive_partitioning = true)")
    for table in WHOLE:
        path = directory / f"{table}.parquet"
        if not path.exists():
            raise ReljudgeError(f"{path} is missing (write it with: reljudge store export {directory})")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    return con
