"""Relevance labels keyed by (query, product), for measuring runs: TREC qrels or any labelled table.

TREC qrels (``qid iteration docid relevance``, any suffix that is not a table's) hold integer gains, as
`write_judgments` writes them; each is mapped back to the scheme's label through `qrels_gains`. Tables (.csv, .tsv,
.jsonl, .parquet) need query_id, product_id and a label column (label or esci_label), so an ESCI pairs file is a
qrels file as it is.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reljudge.errors import InputError
from reljudge.io.columns import canonical_table
from reljudge.io.judgments import qrels_gains
from reljudge.io.tables import TABLE_SUFFIXES, read_fields
from reljudge.io.validate import RowErrors, blank, parse_labels
from reljudge.labels import LabelScheme

QRELS_COLUMNS: dict[str, tuple[str, ...]] = {
    "query_id": ("query_id", "qid"),
    "product_id": ("product_id", "docid", "doc_id"),
    "label": ("label", "esci_label", "relevance"),
}


def read_qrels(path: str | Path, *, scheme: LabelScheme) -> pd.DataFrame:
    """Read labels for (query, product) pairs and check them against `scheme`.

    Args:
        path: TREC qrels, or a table with query_id, product_id and label (or esci_label) columns.
        scheme: the scheme the labels (or, in TREC qrels, the integer gains) belong to.

    Returns:
        A frame with str columns query_id, product_id, label (canonical), one row per pair.

    Raises:
        InputError: naming the file, row and field of the first empty id, unknown label or gain, or pair labelled
            twice (aggregate several annotators' labels first).
    """
    source = str(path)
    path = Path(path)
    if path.suffix.lower() in TABLE_SUFFIXES:
        frame, fields = canonical_table(path, QRELS_COLUMNS)
    else:
        frame = _read_trec_qrels(path, scheme)
        fields = {"query_id": "query_id", "product_id": "product_id", "label": "relevance"}
    errors = RowErrors(source)
    for column in ("query_id", "product_id", "label"):
        errors.add(blank(frame[column]), fields[column], f"{column.replace('_', ' ')} is empty")
    labels, reasons = parse_labels(frame["label"], scheme)
    errors.add(reasons != "", fields["label"], reasons)
    keys = frame["query_id"].str.strip() + "\x1f" + frame["product_id"].str.strip()
    errors.add(keys.duplicated(), fields["product_id"],
               "pair (" + frame["query_id"] + ", " + frame["product_id"] + ") is labelled twice")
    errors.raise_first()
    return pd.DataFrame({"query_id": frame["query_id"].str.strip(), "product_id": frame["product_id"].str.strip(),
                         "label": labels}).reset_index(drop=True)


def _read_trec_qrels(path: Path, scheme: LabelScheme) -> pd.DataFrame:
    label_of = {str(gain): label for label, gain in qrels_gains(scheme).items()}
    frame = read_fields(path, ("qid", "iteration", "docid", "relevance"))
    unknown = ~frame["relevance"].isin(list(label_of))
    if unknown.any():
        row = frame.index[unknown.argmax()]
        raise InputError(str(path), f"relevance {frame.loc[row, 'relevance']!r} is no gain of scheme {scheme.name!r} "
                                    f"(accepted: {', '.join(label_of)})", row=int(row), field="relevance")
    return pd.DataFrame({"query_id": frame["qid"], "product_id": frame["docid"],
                         "label": frame["relevance"].map(label_of)}, index=frame.index, dtype=str)
