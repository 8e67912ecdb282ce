"""What the labelling-tool formats share: a numeric rating scale for a scheme's labels, and matching a tool's
(query, document) ratings to reljudge's pairs.

Quepid and OpenSearch's Search Relevance Workbench keep ratings as numbers. A graded scheme's rating is its grade
("0".."3" -> 0..3); another scheme's labels are numbered from the least relevant by gain, so ESCI becomes Quepid's
usual 0-3 scale (I 0, C 1, S 2, E 3) and binary 0/1.

Every reader returns the same frame, `RATING_COLUMNS`: pair_id and query_id where the file carries them ("" where
not), query, product_id, annotator, label (canonical).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError, SchemeError
from reljudge.labels import LabelScheme
from reljudge.records import normalise

RATING_COLUMNS = ["pair_id", "query_id", "query", "product_id", "annotator", "label"]


def _ascending(scheme: LabelScheme) -> list[str]:
    return [label for _, label in sorted(zip(scheme.gains, scheme.labels), key=lambda pair: pair[0])]


def _graded(scheme: LabelScheme) -> bool:
    return scheme.name.startswith("graded:")


def rating_of(label: str, scheme: LabelScheme) -> int:
    """A label as a numeric rating: the grade of a graded scheme, else its rank from the least relevant (0)."""
    return int(label) if _graded(scheme) else _ascending(scheme).index(label)


def label_of(rating: object, scheme: LabelScheme) -> str:
    """A numeric rating (int, float or text) back to the scheme's label; the inverse of `rating_of`.

    Raises:
        SchemeError: the rating is not a number, or no label of the scheme has it.
    """
    try:
        value = float(str(rating).strip())
    except ValueError:
        raise SchemeError(f"rating {rating!r} is not a number") from None
    if math.isnan(value) or not value.is_integer():
        raise SchemeError(f"rating {rating!r} is not a whole number of scheme {scheme.name!r}")
    if _graded(scheme):
        return scheme.parse(str(int(value)))
    ascending = _ascending(scheme)
    if not 0 <= value < len(ascending):
        raise SchemeError(f"rating {rating!r} is outside scheme {scheme.name!r}'s 0-{len(ascending) - 1} "
                          f"({', '.join(f'{i} {x}' for i, x in enumerate(ascending))})")
    return ascending[int(value)]


def label_at(rating: object, scheme: LabelScheme, source: str, row: int, field: str) -> str:
    """`label_of`, its refusal an InputError naming the file, the row and the field."""
    try:
        return label_of(rating, scheme)
    except SchemeError as exc:
        raise InputError(source, str(exc), row=row, field=field) from None


def read_json_list(path: str | Path, key: str, expected: str, *, bare: bool = False) -> list:
    """The list under `key` of a JSON object file (`bare`: or the file's own top-level list), or an InputError
    naming the file, the key and `expected` ("a Quepid book export")."""
    document = read_json(path)
    found = document.get(key) if isinstance(document, dict) else document if bare else None
    if not isinstance(found, list):
        raise InputError(str(path), f"expected {expected}: an object with a {key!r} list", field=key)
    return found


def read_json(path: str | Path) -> object:
    """A JSON file, or an InputError naming it and where the JSON breaks."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def ratings_frame(rows: list[dict]) -> pd.DataFrame:
    """Reader rows -> a `RATING_COLUMNS` frame of text (missing ids as "")."""
    frame = pd.DataFrame(rows, columns=RATING_COLUMNS, dtype=object).fillna("")
    return frame.astype(str).reset_index(drop=True)


def match_pairs(ratings: pd.DataFrame, pairs: pd.DataFrame, source: str) -> pd.DataFrame:
    """Give each rating the pair it rates: by pair_id where the file carries one, else by (query, product_id),
    queries compared normalised (NFKC, case and spaces), else by (query_id, product_id).

    Args:
        ratings: a `RATING_COLUMNS` frame.
        pairs: the known pairs: pair_id, pair_hash, query_id, query, product_id.
        source: the ratings' file, for the error.

    Returns:
        `ratings` with the matched pair's pair_id and pair_hash.

    Raises:
        InputError: ratings that match no pair, naming the first few.
    """
    by_id = dict(zip(pairs["pair_id"], pairs["pair_hash"]))
    by_query = {(normalise(q), d): (i, h) for q, d, i, h in pairs[["query", "product_id", "pair_id", "pair_hash"]]
                .itertuples(index=False)}
    by_query_id = {(q, d): (i, h) for q, d, i, h in pairs[["query_id", "product_id", "pair_id", "pair_hash"]]
                   .itertuples(index=False)}
    found = []
    for r in ratings.itertuples(index=False):
        if r.pair_id and r.pair_id in by_id:
            found.append((r.pair_id, by_id[r.pair_id]))
        else:
            found.append(by_query.get((normalise(r.query), r.product_id)) if r.query
                         else by_query_id.get((r.query_id, r.product_id)))
    missing = [i for i, hit in enumerate(found) if hit is None]
    if missing:
        shown = ", ".join(f"({_describe(ratings.iloc[i])})" for i in missing[:3])
        raise InputError(source, f"{len(missing)} of {len(ratings)} ratings match no known pair, e.g. {shown}: "
                                 "give the pairs they rate with --pairs, or record those pairs in the store first")
    return ratings.assign(pair_id=[f[0] for f in found], pair_hash=[f[1] for f in found])


def _describe(row: pd.Series) -> str:
    query = f"query {row['query']!r}" if row["query"] else f"query_id {row['query_id']!r}"
    return f"{query}, product {row['product_id']!r}"
