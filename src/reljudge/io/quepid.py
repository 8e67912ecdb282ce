"""Quepid: ratings CSV (`query,docid,rating`, read and written) and a book's JSON export (read).

The ratings CSV is what Quepid's case export writes and its ratings import reads; a query without ratings is a
row with the query alone, skipped here. A book's export holds `query_doc_pairs`, each with `query_text` and
`doc_id` and its `judgements` (`rating`, `user_email`, `unrateable`, `judge_later`); older books say `query` and
`user_id`. Unrateable and judge-later judgements carry no label and are left out. Ratings map to labels as in
io/interop.py (ESCI on Quepid's 0-3 scale: I 0, C 1, S 2, E 3).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError
from reljudge.io.atomic import atomic_path
from reljudge.io.interop import label_at, rating_of, ratings_frame, read_json_list
from reljudge.io.tables import read_table
from reljudge.labels import LabelScheme

RATINGS_HEADER = ["query", "docid", "rating"]

#: The annotator of a ratings CSV's rows: the file names no user.
CSV_ANNOTATOR = "quepid"


def write_quepid_ratings(path: str | Path, table: pd.DataFrame, *, scheme: LabelScheme) -> Path:
    """Write `table`'s labelled rows (query, product_id, label) as a Quepid ratings CSV; unlabelled rows are
    left out."""
    labelled = table[table["label"].notna() & (table["label"].astype(str) != "")]
    with atomic_path(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(RATINGS_HEADER)
        for query, product_id, label in labelled[["query", "product_id", "label"]].itertuples(index=False):
            writer.writerow([query, product_id, rating_of(label, scheme)])
    return Path(path)


def read_quepid_ratings(path: str | Path, *, scheme: LabelScheme) -> pd.DataFrame:
    """People's labels from a Quepid ratings CSV, in the interop frame (annotator "quepid").

    Raises:
        InputError: a missing column, or a rating the scheme has no label for, naming the file, row and field.
    """
    source = str(path)
    frame = read_table(path, "csv")
    absent = [c for c in RATINGS_HEADER if c not in frame.columns]
    if absent:
        raise InputError(source, f"missing column {absent[0]!r}: a Quepid ratings CSV has the header "
                                 f"{','.join(RATINGS_HEADER)}", field=absent[0])
    rows = []
    for number, (query, docid, rating) in zip(frame.index, frame[RATINGS_HEADER].itertuples(index=False)):
        if not str(docid or "").strip():
            continue
        rows.append({"query": str(query).strip(), "product_id": str(docid).strip(), "annotator": CSV_ANNOTATOR,
                     "label": label_at(rating, scheme, source, int(number), "rating")})
    return ratings_frame(rows)


def read_quepid_book(path: str | Path, *, scheme: LabelScheme) -> pd.DataFrame:
    """People's labels from a Quepid book's JSON export, one row per judgement, in the interop frame.

    Raises:
        InputError: no `query_doc_pairs` list, or a rating the scheme has no label for, naming the pair's number.
    """
    source = str(path)
    pairs = read_json_list(path, "query_doc_pairs", "a Quepid book export")
    rows = []
    for number, pair in enumerate(pairs, start=1):
        query = str(pair.get("query_text") or pair.get("query") or "").strip()
        for judgement in pair.get("judgements") or []:
            if judgement.get("unrateable") or judgement.get("judge_later") or judgement.get("rating") is None:
                continue
            user = judgement.get("user_email") or judgement.get("user_id") or "quepid"
            rows.append({"query": query, "product_id": str(pair.get("doc_id", "")).strip(), "annotator": str(user),
                         "label": label_at(judgement["rating"], scheme, source, number, "judgements.rating")})
    return ratings_frame(rows)
