"""Write pairs back out as a table `read_pairs` reads (ESCI column names), e.g. the pairs a selection stage keeps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from reljudge.io.atomic import atomic_path
from reljudge.io.tables import table_format
from reljudge.records import Pair


def pairs_frame(pairs: Sequence[Pair]) -> pd.DataFrame:
    """One row per pair: the ESCI columns, the human label as `esci_label`, and every segment column."""
    rows = []
    for p in pairs:
        product = p.product
        rows.append({"pair_id": p.pair_id, "query_id": p.query_id, "query": p.query, "product_id": product.product_id,
                     "product_title": product.title, "product_description": product.description,
                     "product_bullet_point": product.bullets, "product_brand": product.brand,
                     "product_color": product.color, "product_category": product.category,
                     "product_locale": product.locale, "esci_label": p.label, **p.segments})
    return pd.DataFrame(rows)


def write_pairs(path: str | Path, pairs: Sequence[Pair]) -> Path:
    """Write pairs to .csv, .tsv, .jsonl or .parquet (by suffix), atomically."""
    path = Path(path)
    fmt = table_format(path)
    frame = pairs_frame(pairs)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        elif fmt == "jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",")
    return path
