"""Run files: what one arm of an experiment showed for each query, in rank order.

Two layouts are read: the TREC run format (``qid Q0 docid rank score tag``, whitespace-separated, one result a
line; any suffix that is not a table's) and tables (.csv, .tsv, .jsonl, .parquet) with the columns query_id,
product_id and rank (qid / docid are accepted too). The rank field orders the results and a score is ignored:
re-sorting by score, as trec_eval does, would silently reorder an arm that wrote its ranks on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reljudge.errors import InputError
from reljudge.io.atomic import atomic_path
from reljudge.io.columns import canonical_table
from reljudge.io.tables import TABLE_SUFFIXES, read_fields
from reljudge.io.validate import RowErrors, blank

RUN_COLUMNS: dict[str, tuple[str, ...]] = {
    "query_id": ("query_id", "qid"),
    "product_id": ("product_id", "docid", "doc_id"),
    "rank": ("rank",),
}
_TREC_FORMAT = ("qid", "Q0", "docid", "rank", "score", "tag")
_TREC_FIELDS = ("query_id", "Q0", "product_id", "rank", "score", "tag")


def read_run(path: str | Path) -> pd.DataFrame:
    """Read a run, checked: every rank a positive integer, no product twice and no rank twice in a query.

    Args:
        path: a TREC run file, or a table with query_id, product_id, rank.

    Returns:
        A frame with str columns query_id, product_id and an int column rank, indexed by the row (line) number the
        user sees, sorted by query then rank.

    Raises:
        InputError: naming the file, the row (line) and the field of the first bad row.
    """
    source = str(path)
    path = Path(path)
    if path.suffix.lower() in TABLE_SUFFIXES:
        frame, fields = canonical_table(path, RUN_COLUMNS)
    else:
        frame = _read_trec(path)
        fields = {c: c for c in RUN_COLUMNS}
    if frame.empty:
        raise InputError(source, "the run holds no results")

    errors = RowErrors(source)
    for column in ("query_id", "product_id"):
        errors.add(blank(frame[column]), fields[column], f"{column.replace('_', ' ')} is empty")
    rank = pd.to_numeric(frame["rank"].str.strip(), errors="coerce")
    whole = rank.notna() & (rank == rank.round()) & (rank >= 1)
    errors.add(~whole, fields["rank"], "rank " + frame["rank"].map(repr) + " is not a positive integer")
    keys = frame["query_id"].str.strip()
    errors.add((keys + "\x1f" + frame["product_id"].str.strip()).duplicated() & whole, fields["product_id"],
               "product " + frame["product_id"].map(repr) + " appears twice for query " + keys.map(repr))
    errors.add((keys + "\x1f" + rank.astype(str)).duplicated() & whole, fields["rank"],
               "rank " + frame["rank"].str.strip() + " appears twice for query " + keys.map(repr))
    errors.raise_first()
    out = pd.DataFrame({"query_id": keys, "product_id": frame["product_id"].str.strip(), "rank": rank.astype(int)},
                       index=frame.index)
    return out.sort_values(["query_id", "rank"], kind="stable")


def _read_trec(path: Path) -> pd.DataFrame:
    frame = read_fields(path, _TREC_FORMAT)
    frame.columns = list(_TREC_FIELDS)
    return frame


def ranked_lists(run: pd.DataFrame, k: int | None = None) -> dict[str, list[str]]:
    """Each query's products in rank order, cut to the first `k` (all when None)."""
    return {query: products[:k] if k else products
            for query, products in run.groupby("query_id", sort=False)["product_id"].agg(list).items()}


def write_run(path: str | Path, run: pd.DataFrame, *, tag: str = "reljudge") -> Path:
    """Write a run in the TREC run format, atomically; the score column is -rank when the frame has no score.

    Args:
        path: the output file.
        run: query_id, product_id, rank (and optionally score) columns.
        tag: the run tag, the format's sixth field.
    """
    for column in RUN_COLUMNS:
        if column not in run.columns:
            raise InputError(str(path), f"the run has no {column!r} column", field=column)
    ordered = run.sort_values(["query_id", "rank"], kind="stable")
    scores = ordered["score"] if "score" in ordered.columns else -ordered["rank"]
    lines = [f"{q} Q0 {p} {int(r)} {float(s):.6g} {tag}\n"
             for q, p, r, s in zip(ordered["query_id"], ordered["product_id"], ordered["rank"], scores)]
    with atomic_path(path) as temporary:
        temporary.write_text("".join(lines), encoding="utf-8")
    return Path(path)
