"""read_pairs: any supported pairs file -> validated Pair records, once, at the edge of the system.

The work is split in two so that a whole file and a file streamed in chunks (io/stream.py) go through the same
checks and give the same Pairs: `PairReader.open` settles everything the header decides (layout, column map,
required columns) and `PairReader.convert` validates and builds the rows of one frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError
from reljudge.io.columns import map_columns, require
from reljudge.io.esci_official import PRODUCT_COLUMNS, join_products
from reljudge.io.layouts import FIELD_ALIASES, REQUIRED, check_scheme, detect_layout, layout_columns
from reljudge.io.rejected import Rejected
from reljudge.io.tables import read_table
from reljudge.io.validate import RowErrors, blank, parse_labels
from reljudge.labels import LabelScheme, MeanRule, get_scheme
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
        rows: the input row of each pair (as errors name rows), for messages about a pair found later.
    """

    pairs: list[Pair]
    rejected: list[Rejected] = field(default_factory=list)
    source: str = ""
    rows: list[int] = field(default_factory=list)


def read_pairs(path: str | Path, *, scheme: LabelScheme | str, layout: str = "auto",
               columns: dict[str, str] | None = None, products: str | Path | None = None, split: str | None = None,
               small_version: bool = False, mean_rule: MeanRule = MeanRule(), require_labels: bool = False,
               skip_invalid: bool = False) -> PairsRead:
    """Read query-product pairs from a csv, tsv, JSONL or Parquet file and validate every row.

    Columns are read as text. Canonical fields come from the ESCI column names unless the layout or `columns` says
    otherwise; every other column is kept as a segment (Pair.segments) for slicing results later. The whole file is
    held in memory: for inputs of any size, `reljudge.io.stream.stream_pairs` reads the same way in chunks.

    Args:
        path: the pairs file (.csv, .tsv, .jsonl, .ndjson, .parquet).
        scheme: the label scheme labels must belong to (a LabelScheme, or its spec: "esci", "graded:1-3" ...).
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
    frame = read_table(path)
    reader = PairReader.open(path, list(frame.columns), scheme=get_scheme(scheme), layout=layout, columns=columns,
                             products=products, split=split, small_version=small_version, mean_rule=mean_rule,
                             require_labels=require_labels, skip_invalid=skip_invalid)
    read = reader.convert(frame)
    reader.finish()
    return read


@dataclass
class PairReader:
    """How the rows of one pairs file become Pairs: settled once from its columns, then applied frame by frame.

    Attributes:
        source: the file, as errors name it.
        layout: the concrete layout (never "auto").
        mapping: canonical field -> source column.
        record_columns: the file's own columns, kept in rejected rows.
        selected: rows kept by the split / small-version filters so far; splits_seen: split values met so far.
    """

    path: Path
    source: str
    layout: str
    mapping: dict[str, str]
    record_columns: list[str]
    scheme: LabelScheme
    mean_rule: MeanRule
    products: str | Path | None
    split: str | None
    small_version: bool
    require_labels: bool
    skip_invalid: bool
    selected: int = 0
    splits_seen: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, path: str | Path, record_columns: list[str], *, scheme: LabelScheme, layout: str = "auto",
             columns: dict[str, str] | None = None, products: str | Path | None = None, split: str | None = None,
             small_version: bool = False, mean_rule: MeanRule = MeanRule(), require_labels: bool = False,
             skip_invalid: bool = False) -> PairReader:
        """Check what the header alone decides; arguments as `read_pairs`, `record_columns` the file's columns.

        Raises:
            InputError: unknown layout, a scheme the layout cannot hold, a products file for another layout, a
                split or small-version filter without its column, or a required column missing.
        """
        source = str(path)
        layout = detect_layout(source, record_columns, layout)
        check_scheme(source, layout, scheme)
        if products is not None and layout != "esci-official":
            raise InputError(source, f"a products file joins only the esci-official layout, not {layout}")
        if split is not None and "split" not in record_columns:
            raise InputError(source, f"cannot keep split {split!r}: the file has no 'split' column", field="split")
        if small_version and "small_version" not in record_columns:
            raise InputError(source, "cannot keep the small version: no 'small_version' column "
                                     "(only the official ESCI examples file has one)", field="small_version")
        present = list(record_columns)
        if layout == "esci-official":
            present += [c for c in PRODUCT_COLUMNS if c not in present]
        defaults = layout_columns(layout)
        mapping = map_columns(source, present, defaults, columns, FIELD_ALIASES)
        require(source, mapping, REQUIRED, defaults, record_columns)
        if require_labels and "label" not in mapping:
            require(source, mapping, ["label"], defaults, record_columns)
        return cls(Path(path), source, layout, mapping, list(record_columns), scheme, mean_rule, products, split,
                   small_version, require_labels, skip_invalid)

    def convert(self, frame: pd.DataFrame) -> PairsRead:
        """Validate and build the pairs of one frame of the file (str columns, index = the rows the user sees).

        Repeated pair ids are found within the frame only: a streamed file is checked chunk by chunk.

        Raises:
            InputError: for the earliest bad row, unless ``skip_invalid``.
        """
        frame = self._select_rows(frame)
        errors = RowErrors(self.source)
        if self.layout == "esci-official" and frame.empty:
            # nothing to join (a chunk the split filter emptied): skip reading the products file for it
            frame = frame.reindex(columns=[*frame.columns, *(c for c in PRODUCT_COLUMNS if c not in frame.columns)])
        elif self.layout == "esci-official":
            frame, missing = join_products(frame, self.path, self.products)
            errors.add(missing != "", "product_id", missing)
        mapping = self.mapping
        for name in REQUIRED:
            errors.add(blank(frame[mapping[name]]), mapping[name], f"{name.replace('_', ' ')} is empty")
        labels = self._labels(frame, errors)
        if "pair_id" in mapping:
            _unique_ids(frame[mapping["pair_id"]], mapping["pair_id"], errors)
        rejected: list[Rejected] = []
        if errors:
            if not self.skip_invalid:
                errors.raise_first()
            rejected = errors.rejected(frame, self.record_columns)
            keep = ~frame.index.isin(errors.rows)
            frame, labels = frame[keep], labels[keep]
        return PairsRead(_build(frame, mapping, labels), rejected, self.source, frame.index.tolist())

    def finish(self) -> None:
        """Raise if a split filter kept no row of the whole file (checked once every frame has been converted)."""
        if self.split is not None and self.selected == 0:
            raise InputError(self.source, f"no rows in split {self.split!r} "
                                          f"(splits present: {', '.join(sorted(self.splits_seen))})", field="split")

    def _select_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.split is not None:
            self.splits_seen.update(frame["split"].unique())
            frame = frame[frame["split"] == self.split]
        if self.small_version:
            frame = frame[frame["small_version"].str.strip().isin(["1", "1.0", "true", "True"])]
        self.selected += len(frame)
        return frame

    def _labels(self, frame: pd.DataFrame, errors: RowErrors) -> pd.Series:
        if "label" not in self.mapping:
            return pd.Series("", index=frame.index, dtype=str)
        column = self.mapping["label"]
        labels, reasons = parse_labels(frame[column], self.scheme, self.mean_rule)
        if self.require_labels:
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
