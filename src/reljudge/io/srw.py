"""OpenSearch Search Relevance Workbench: judgment lists as its import API takes them.

`srw_judgments` builds the body of `PUT _plugins/_search_relevance/judgments` with type IMPORT_JUDGMENT:
`{"name", "description", "type", "judgmentRatings": [{"query", "ratings": [{"docId", "rating"}]}]}`, ratings as
text with three decimals as the workbench's own examples write them, on the numeric scale of io/interop.py.
`read_srw` reads such a body (or its bare `judgmentRatings` list) back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from reljudge.io.atomic import atomic_path
from reljudge.io.interop import label_at, rating_of, ratings_frame, read_json_list
from reljudge.labels import LabelScheme

#: The annotator of the ratings read from a judgment list, which names no one.
SRW_ANNOTATOR = "srw"


def srw_judgments(table: pd.DataFrame, *, scheme: LabelScheme, name: str, description: str = "") -> dict:
    """The import body for `table`'s labelled rows (query, product_id, label), queries in order of appearance."""
    labelled = table[table["label"].notna() & (table["label"].astype(str) != "")]
    ratings: dict[str, list[dict]] = {}
    for query, product_id, label in labelled[["query", "product_id", "label"]].itertuples(index=False):
        ratings.setdefault(str(query), []).append({"docId": str(product_id),
                                                   "rating": f"{rating_of(label, scheme):.3f}"})
    return {"name": name, "description": description, "type": "IMPORT_JUDGMENT",
            "judgmentRatings": [{"query": q, "ratings": r} for q, r in ratings.items()]}


def write_srw_judgments(path: str | Path, body: dict) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def read_srw(path: str | Path, *, scheme: LabelScheme) -> pd.DataFrame:
    """Ratings from a judgment-list body (or its `judgmentRatings` list), in the interop frame (annotator "srw").

    Raises:
        InputError: no judgmentRatings list, or a rating the scheme has no label for, naming the query's number.
    """
    source = str(path)
    entries = read_json_list(path, "judgmentRatings", "a judgment list", bare=True)
    rows = []
    for number, entry in enumerate(entries, start=1):
        for rating in entry.get("ratings") or []:
            label = label_at(rating.get("rating"), scheme, source, number, "ratings.rating")
            rows.append({"query": str(entry.get("query", "")).strip(), "product_id": str(rating.get("docId", "")),
                         "annotator": SRW_ANNOTATOR, "label": label})
    return ratings_frame(rows)
