"""The tables of a search experiment: the query population, a pilot, a drawn sample, per-query results.

- queries: one row per query, ``query_id`` plus its traffic and any descriptive columns (category, locale).
- pilot: per-stratum standard deviations for Neyman allocation, either ``stratum, sd`` or one row per query of a
  previous experiment, ``stratum, diff`` (what ``experiment analyze --per-query`` writes).
- sample: what ``experiment sample`` writes; ``query_id`` is required, and ``stratum``, ``weight``,
  ``stratum_share`` and ``stratum_size`` are read when present (see `read_sample`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reljudge.errors import InputError
from reljudge.io.atomic import atomic_path
from reljudge.io.tables import read_table, table_format
from reljudge.io.validate import RowErrors, blank

QUERY_ID = ("query_id", "qid")


def _query_ids(source: str, frame: pd.DataFrame, errors: RowErrors) -> str:
    column = next((c for c in QUERY_ID if c in frame.columns), None)
    if column is None:
        raise InputError(source, f"missing column 'query_id' (columns present: {', '.join(frame.columns)})",
                         field="query_id")
    ids = frame[column].str.strip()
    errors.add(blank(ids), column, "query id is empty")
    errors.add(ids.duplicated() & ~blank(ids), column, "query id " + ids.map(repr) + " appears twice")
    return column


def _numbers(source: str, frame: pd.DataFrame, column: str, errors: RowErrors, *, minimum: float,
             strict: bool = False, required: bool = True) -> pd.Series:
    """A column parsed as floats, each checked to be >= minimum (> minimum when strict)."""
    if column not in frame.columns:
        if required:
            raise InputError(source, f"missing column {column!r} (columns present: {', '.join(frame.columns)})",
                             field=column)
        return pd.Series(np.nan, index=frame.index)
    text = frame[column].str.strip()
    values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values) | ((values <= minimum) if strict else (values < minimum))
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    errors.add(bad, column, column + " " + text.map(repr) + f" is not a number {bound}")
    return values


def read_queries(path: str | Path, *, numeric: Sequence[str] = ()) -> pd.DataFrame:
    """Read the query population: one row per query.

    Args:
        path: a csv, tsv, JSONL or Parquet table with a query_id (or qid) column.
        numeric: columns that must hold non-negative numbers (the traffic column, columns to bin into strata).

    Returns:
        The table as text, so a sample drawn from it writes each value as the user wrote it, with ``query_id``
        (renamed from qid if need be); indexed by the row number the user sees. The `numeric` columns are known to
        parse as floats.

    Raises:
        InputError: a missing column, or the first row with an empty or repeated id or a bad number.
    """
    source = str(path)
    frame = read_table(path)
    errors = RowErrors(source)
    column = _query_ids(source, frame, errors)
    for name in numeric:
        _numbers(source, frame, name, errors, minimum=0)
    errors.raise_first()
    frame = frame.rename(columns={column: "query_id"})
    return frame.assign(query_id=frame["query_id"].str.strip())


def read_pilot(path: str | Path) -> pd.DataFrame:
    """Read a pilot: ``stratum, sd`` (one row per stratum) or ``stratum, diff`` (one row per query).

    Returns:
        A frame with str column stratum and a float column, sd or diff.

    Raises:
        InputError: no stratum column, neither an sd nor a diff column, or a bad number (naming the row).
    """
    source = str(path)
    frame = read_table(path)
    value = next((c for c in ("sd", "diff") if c in frame.columns), None)
    if "stratum" not in frame.columns or value is None:
        raise InputError(source, "a pilot needs a 'stratum' column and either 'sd' (one row per stratum) or 'diff' "
                                 f"(one row per query) (columns present: {', '.join(frame.columns)})",
                         field="stratum" if "stratum" not in frame.columns else "sd")
    errors = RowErrors(source)
    errors.add(blank(frame["stratum"]), "stratum", "stratum is empty")
    values = _numbers(source, frame, value, errors, minimum=0 if value == "sd" else -np.inf)
    errors.raise_first()
    return pd.DataFrame({"stratum": frame["stratum"].str.strip(), value: values}, index=frame.index)


def read_sample(path: str | Path) -> pd.DataFrame:
    """Read a sample of queries to measure, as `experiment sample` writes it (or a plain list of query ids).

    Columns read: query_id (required); stratum (default "all"); weight, the query's weight in its stratum's mean
    (default 1); stratum_share, the stratum's share W_h of the population (default: its share of the weights, the
    same for a sample drawn with equal probabilities); inclusion_prob, the query's probability pi_i of being drawn
    (default: unknown, so no finite-population correction). The share must be the same on every row of a stratum.

    Returns:
        A frame with query_id, stratum (str), weight, stratum_share, inclusion_prob (floats, NaN when absent),
        indexed by the row number the user sees.

    Raises:
        InputError: naming the file, row and field of the first bad row.
    """
    source = str(path)
    frame = read_table(path)
    errors = RowErrors(source)
    column = _query_ids(source, frame, errors)
    strata = frame["stratum"].str.strip() if "stratum" in frame.columns else pd.Series("all", index=frame.index)
    errors.add(blank(strata), "stratum", "stratum is empty")
    out = pd.DataFrame({
        "query_id": frame[column].str.strip(),
        "stratum": strata,
        "weight": _numbers(source, frame, "weight", errors, minimum=0, strict=True, required=False).fillna(1.0),
        "stratum_share": _numbers(source, frame, "stratum_share", errors, minimum=0, strict=True, required=False),
        "inclusion_prob": _numbers(source, frame, "inclusion_prob", errors, minimum=0, strict=True, required=False),
    }, index=frame.index)
    errors.add(out["inclusion_prob"] > 1, "inclusion_prob", "inclusion_prob is above 1")
    if "stratum_share" in frame.columns:
        errors.add(out["stratum_share"].ne(out.groupby("stratum")["stratum_share"].transform("first")),
                   "stratum_share", "stratum_share differs from the stratum's first row (one value per stratum)")
    errors.raise_first()
    return out


def write_table(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a frame as csv, tsv, JSONL or Parquet (from the suffix), atomically."""
    kind = table_format(path)
    with atomic_path(path) as temporary:
        if kind == "parquet":
            frame.to_parquet(temporary, index=False)
        elif kind == "jsonl":
            records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
            temporary.write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records),
                                 encoding="utf-8")
        else:
            frame.to_csv(temporary, index=False, sep="\t" if kind == "tsv" else ",")
    return Path(path)
