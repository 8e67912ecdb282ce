"""read_pairs: any supported pairs file -> validated Pair records, once, at the edge of the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError
from reljudge.io.columns import map_columns, require
from reljudge.io.esci_official import join_products
from reljudge.io.layouts import FIELD_ALIASES, REQUIRED, check_scheme, detect_layout, layout_columns
from reljudge.io.rejected import Rejected
from reljudge.io.tables import read_table
from reljudge.io.validate import RowErrors, blank, parse_labels
from reljudge.labels import LabelScheme, MeanRule
from reljudge.records import Pair, Product, pair_hash, query_key

#: Product attribute -> canonical field it is read from, in Product's field order (Products are built positionally).
_PRODUCT_FIELDS: dict[str, str] = {"product_id": "product_id", **FIELD_ALIASES}


@dataclass
class PairsRead:
    """What read_pairs returns.

    Attributes:
        pairs: the valid pairs, in file order.
        rejected: the rows left out (only with ``skip_invalid=True``; otherwise the first one raises).
        source: the file the pairs were read from.
    """

    pairs: list[Pair]
    rejected: list[Rejected] = field(default_factory=list)
    source: str = ""


def read_pairs(path: str | Path, *, scheme: LabelScheme, layout: str = "auto", columns: dict[str, str] | None = None,
               products: str | Path | None = None, split: str | None = None, small_version: bool = False,
               mean_rule: MeanRule = MeanRule(), require_labels: bool = False,
               skip_invalid: bool = False) -> PairsRead:
    """Read query-product pairs from a csv, tsv, JSONL or Parquet file and validate every row.

    Columns are read as text. Canonical fields come from the ESCI column names unless the layout or `columns` says
    otherwise; every other column is kept as a segment (Pair.segments) for slicing results later.

    Args:
        path: the pairs file (.csv, .tsv, .jsonl, .ndjson, .parquet).
        scheme: the label scheme labels must belong to.
        layout: "table" (ESCI column names), "esci-official" (examples + products files), "homedepot" (Kaggle
            2016) or "auto" to recognise the layout from the columns.
        columns: canonical field -> source column, e.g. {"query": "search_term", "title": "product_title"}.
        products: the products file of the esci-official layout (default: the official one beside `path`).
        split: keep only the rows whose split column equals this.
        small_version: keep only the rows of the official small version (small_version == 1).
        mean_rule: how a mean of graded ratings (2.33) becomes a grade; ignored for ESCI and binary schemes.
        require_labels: a missing label column, or an empty label, is an error rather than an unlabelled pair.
        skip_invalid: put bad rows in ``rejected`` instead of raising on the first one.

    Returns:
        The pairs, the rejected rows and the source file.

    Raises:
        InputError: naming the file, and the row and field when one row is at fault.
    """
    source = str(path)
    frame = read_table(path)
    layout = detect_layout(source, frame.columns, layout)
    check_scheme(source, layout, scheme)
    if products is not None and layout != "esci-official":
        raise InputError(source, f"a products file joins only the esci-official layout, not {layout}")
    record_columns = list(frame.columns)
    frame = _select_rows(source, frame, split, small_version)

    errors = RowErrors(source)
    if layout == "esci-official":
        frame, missing = join_products(frame, path, products)
        errors.add(missing != "", "product_id", missing)

    defaults = layout_columns(layout)
    mapping = map_columns(source, frame.columns, defaults, columns, FIELD_ALIASES)
    require(source, mapping, REQUIRED, defaults, record_columns)
    if require_labels and "label" not in mapping:
        require(source, mapping, ["label"], defaults, record_columns)

    for name in REQUIRED:
        errors.add(blank(frame[mapping[name]]), mapping[name], f"{name.replace('_', ' ')} is empty")
    labels = _labels(frame, mapping, scheme, mean_rule, require_labels, errors)
    if "pair_id" in mapping:
        _unique_ids(frame[mapping["pair_id"]], mapping["pair_id"], errors)

    rejected: list[Rejected] = []
    if errors:
        if not skip_invalid:
            errors.raise_first()
        rejected = errors.rejected(frame, record_columns)
        keep = ~frame.index.isin(errors.rows)
        frame, labels = frame[keep], labels[keep]
    return PairsRead(_build(frame, mapping, labels), rejected, source)


def _select_rows(source: str, frame: pd.DataFrame, split: str | None, small_version: bool) -> pd.DataFrame:
    if split is not None:
        if "split" not in frame.columns:
            raise InputError(source, f"cannot keep split {split!r}: the file has no 'split' column", field="split")
        present = sorted(set(frame["split"]))
        frame = frame[frame["split"] == split]
        if frame.empty:
            raise InputError(source, f"no rows in split {split!r} (splits present: {', '.join(present)})",
                             field="split")
    if small_version:
        if "small_version" not in frame.columns:
            raise InputError(source, "cannot keep the small version: no 'small_version' column "
                                     "(only the official ESCI examples file has one)", field="small_version")
        frame = frame[frame["small_version"].str.strip().isin(["1", "1.0", "true", "True"])]
    return frame


def _labels(frame: pd.DataFrame, mapping: dict[str, str], scheme: LabelScheme, mean_rule: MeanRule,
            require_labels: bool, errors: RowErrors) -> pd.Series:
    if "label" not in mapping:
        return pd.Series("", index=frame.index, dtype=str)
    column = mapping["label"]
    labels, reasons = parse_labels(frame[column], scheme, mean_rule)
    if require_labels:
        errors.add(blank(frame[column]), column, "label is empty")
    errors.add(reasons != "", column, reasons)
    return labels


def _unique_ids(ids: pd.Series, column: str, errors: RowErrors) -> None:
    # A repeated id would make two pairs indistinguishable in judgments and the store.
    repeat = ids.duplicated(keep="first") & ~blank(ids)
    if repeat.any():
        first_row = pd.Series(ids.index, index=ids.to_numpy()).groupby(level=0).min()
        reasons = ids[repeat].map(lambda value: f"{column} {value!r} repeats row {first_row[value]}")
        errors.add(repeat, column, reasons)


def _build(frame: pd.DataFrame, mapping: dict[str, str], labels: pd.Series) -> list[Pair]:
    n = len(frame)

    def values(name: str) -> list[str]:
        return frame[mapping[name]].tolist() if name in mapping else [""] * n

    product_values = [values(name) for name in _PRODUCT_FIELDS.values()]
    queries, query_ids, pair_ids = values("query"), values("query_id"), values("pair_id")
    used = set(mapping.values()) - {mapping.get("product_locale")}
    segment_names = [c for c in frame.columns if c not in used]
    segment_values = [frame[c].tolist() for c in segment_names]
    keys: dict[str, str] = {}
    pairs = []
    segment_rows = zip(*segment_values) if segment_values else [()] * n
    rows = zip(queries, query_ids, pair_ids, labels.tolist(), zip(*product_values), segment_rows)
    for query, query_id, pair_id, label, product_fields, segments in rows:
        product = Product(*product_fields)
        pairs.append(Pair(query=query, product=product,
                          query_id=query_id or keys.get(query) or keys.setdefault(query, query_key(query)),
                          pair_id=pair_id or pair_hash(query, product), label=label or None,
                          segments=dict(zip(segment_names, segments))))
    return pairs
