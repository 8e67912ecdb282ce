"""The official Shopping Queries (ESCI) layout: an examples file joined with a products file.

The examples parquet (example_id, query, query_id, product_id, product_locale, esci_label, small_version,
large_version, split) holds no product text; it comes from the products file, joined on (product_id,
product_locale) because one product id can carry different text in each locale. The products file is the official
parquet or a JSONL file, flat or as Vespa feed lines ({"put": ..., "fields": {"id", "title", ...}}).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from reljudge.errors import InputError
from reljudge.io.tables import (
    arrow_to_frame,
    check_file,
    iter_jsonl,
    read_parquet,
    read_table,
    records_to_frame,
    table_format,
)

#: The official products file, looked for beside the examples file when no products file is given.
PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"

PRODUCT_COLUMNS: tuple[str, ...] = ("product_id", "product_title", "product_description", "product_bullet_point",
                                    "product_brand", "product_color", "product_locale")

#: Vespa feed field -> official column.
VESPA_FIELDS: dict[str, str] = {
    "id": "product_id",
    "title": "product_title",
    "description": "product_description",
    "bullets": "product_bullet_point",
    "brand": "product_brand",
    "color": "product_color",
    "locale": "product_locale",
}


def products_path(examples: str | Path, products: str | Path | None) -> Path:
    """The products file: the one given, else the official file name beside the examples file."""
    if products is not None:
        return Path(products)
    path = Path(examples).with_name(PRODUCTS_FILE)
    if not path.exists():
        raise InputError(str(examples), f"no products file: {PRODUCTS_FILE} is not beside it; "
                                        "pass the products file with --products PATH")
    return path


def join_products(examples: pd.DataFrame, examples_file: str | Path,
                  products: str | Path | None) -> tuple[pd.DataFrame, pd.Series]:
    """Add the product text columns to the examples.

    Args:
        examples: the examples frame as read (str columns, index = row numbers).
        examples_file: its path, to find the products file beside it.
        products: the products file, or None for the official one beside the examples.

    Returns:
        (joined, missing): the examples with the product columns added (index kept), and per row the reason its
        product is missing from the products file ("" where it was found).
    """
    path = products_path(examples_file, products)
    if "product_id" not in examples.columns:
        raise InputError(str(examples_file), f"missing column 'product_id' (columns present: "
                                             f"{', '.join(examples.columns)})", field="product_id")
    catalogue = read_products(path, set(examples["product_id"]))
    keys = ["product_id"]
    if "product_locale" in examples.columns and (catalogue["product_locale"] != "").any():
        keys.append("product_locale")
    text_columns = [c for c in PRODUCT_COLUMNS if c not in keys and c not in examples.columns]
    catalogue = catalogue.drop_duplicates(keys, keep="first").set_index(keys)[text_columns]
    wanted = pd.MultiIndex.from_frame(examples[keys])
    found = wanted.isin(pd.MultiIndex.from_frame(catalogue.index.to_frame()))
    joined = examples.join(catalogue, on=keys, how="left")
    joined[text_columns] = joined[text_columns].fillna("")
    missing = pd.Series("", index=examples.index, dtype=str)
    where = " (locale " + examples["product_locale"] + ")" if "product_locale" in keys else ""
    missing[~found] = ("product " + examples["product_id"] + where + f" is not in the products file {path}")[~found]
    return joined, missing


def read_products(path: Path, ids: set[str]) -> pd.DataFrame:
    """The products whose id is in `ids`, with every official product column (absent ones as "")."""
    kind = table_format(path)
    check_file(path)
    if kind == "parquet":
        frame = _read_products_parquet(path, ids)
    elif kind == "jsonl":
        frame = records_to_frame((number, _flatten(record)) for number, record in iter_jsonl(path))
    else:
        frame = read_table(path)
    for column in ("product_id", "product_title"):
        if column not in frame.columns:
            raise InputError(str(path), f"missing column {column!r} in the products file "
                                        f"(columns present: {', '.join(frame.columns)})", field=column)
    frame = frame[frame["product_id"].isin(ids)]
    return frame.reindex(columns=list(PRODUCT_COLUMNS), fill_value="")


def _read_products_parquet(path: Path, ids: set[str]) -> pd.DataFrame:
    # The official products file is over a million rows of long text: read only the wanted rows and columns.
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(str(path), f"cannot read as Parquet (truncated or not a Parquet file?): {exc}") from None
    columns = [c for c in PRODUCT_COLUMNS if c in schema.names]
    string_ids = "product_id" in schema.names and str(schema.field("product_id").type) in ("string", "large_string")
    filters = [("product_id", "in", sorted(ids))] if string_ids and ids else None
    return arrow_to_frame(read_parquet(path, columns=columns or None, filters=filters))


def _flatten(record: dict) -> dict:
    """A Vespa feed line as official product columns; a flat record unchanged."""
    fields = record.get("fields")
    if not isinstance(fields, dict):
        return record
    flat = {VESPA_FIELDS.get(key, key): value for key, value in fields.items()}
    put = record.get("put") or record.get("id") or ""
    if "product_id" not in flat and isinstance(put, str) and "::" in put:
        flat["product_id"] = put.rsplit("::", 1)[1]
    return flat
