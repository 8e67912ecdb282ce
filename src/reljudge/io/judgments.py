"""Judgment tables on disk: write them atomically as Parquet, csv, JSONL or TREC qrels, and read them back checked.

A judgments table has the columns pair_id, query_id, query, product_id, label, one p_<label> per scheme label,
judge and pair_hash (and reason where a pair is unscored). An unscored pair has an empty label.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from reljudge.errors import InputError, SchemeError
from reljudge.io.atomic import atomic_path
from reljudge.io.tables import read_table
from reljudge.io.validate import RowErrors, blank, parse_labels
from reljudge.labels import LabelScheme

JUDGMENT_FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl", "trec-qrels")

_SUFFIXES: dict[str, str] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".qrels": "trec-qrels",
    ".trec": "trec-qrels",
}


def judgment_format(path: str | Path, fmt: str | None = None) -> str:
    """The format to write or read judgments in: `fmt` when given, else from the file suffix.

    Returns:
        "parquet", "csv", "jsonl" or "trec-qrels" (suffixes .qrels and .trec).

    Raises:
        InputError: `fmt` is not one of these, or the suffix is unknown and no `fmt` was given.
    """
    if fmt is not None:
        if fmt not in JUDGMENT_FORMATS:
            raise InputError(str(path), f"unknown judgments format {fmt!r}: use {', '.join(JUDGMENT_FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise InputError(str(path), f"cannot tell the judgments format from the suffix {suffix or '(none)'!r}: "
                                    f"use {', '.join(_SUFFIXES)} or give the format ({', '.join(JUDGMENT_FORMATS)})")
    return _SUFFIXES[suffix]


def qrels_gains(scheme: LabelScheme) -> dict[str, int]:
    """Each label's gain as the integer relevance TREC tools require.

    The scheme's gains are multiplied by the smallest power of 10 that makes them all integers, which keeps their
    ratios: ESCI's 1.0 / 0.1 / 0.01 / 0 become 100 / 10 / 1 / 0, and a graded scale's gains (grade - lowest) stay
    as they are.
    """
    for power in range(10):
        scaled = [gain * 10**power for gain in scheme.gains]
        if all(abs(value - round(value)) < 1e-9 for value in scaled):
            return {label: int(round(value)) for label, value in zip(scheme.labels, scaled)}
    raise SchemeError(f"scheme {scheme.name!r}: gains {scheme.gains} cannot be written as integer qrels")


def write_judgments(path: str | Path, table: pd.DataFrame, *, scheme: LabelScheme, fmt: str | None = None) -> Path:
    """Write a judgments table atomically (a temporary file beside `path`, then one rename).

    Args:
        path: the output file; parent directories are created.
        table: the judgments, labels canonical in `scheme` or empty/None for unscored pairs.
        scheme: the label scheme of the labels.
        fmt: "parquet", "csv", "jsonl" or "trec-qrels"; None infers it from the suffix.
            TREC qrels lines are ``query_id 0 product_id gain`` with integer gains (see `qrels_gains`);
            unscored pairs are left out of them.

    Returns:
        The path written.

    Raises:
        InputError: the format is unknown, a required column is missing, or a label is not in the scheme.
    """
    kind = judgment_format(path, fmt)
    labels = _checked_labels(str(path), table, kind, scheme)
    with atomic_path(path) as temporary:
        if kind == "parquet":
            table.to_parquet(temporary, index=False)
        elif kind == "csv":
            table.to_csv(temporary, index=False)
        elif kind == "jsonl":
            _write_jsonl(temporary, table)
        else:
            temporary.write_text(_qrels(str(path), table, labels, scheme), encoding="utf-8")
    return Path(path)


def _write_jsonl(path: Path, table: pd.DataFrame) -> None:
    # json.dumps writes floats in full (pandas' to_json keeps at most 15 digits), so probabilities round-trip.
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records)


def _checked_labels(file: str, table: pd.DataFrame, kind: str, scheme: LabelScheme) -> pd.Series:
    """The table's labels as text ("" where unscored), once the columns the format needs are known to be there."""
    needed = ["label", "query_id", "product_id"] if kind == "trec-qrels" else ["label"]
    for column in needed:
        if column not in table.columns:
            raise InputError(file, f"the judgments table has no {column!r} column", field=column)
    if kind != "trec-qrels" and not {"pair_id", "pair_hash"} & set(table.columns):
        raise InputError(file, "the judgments table has neither a 'pair_id' nor a 'pair_hash' column",
                         field="pair_id")
    labels = _text(table["label"])
    unknown = (labels != "") & ~labels.isin(scheme.labels)
    if unknown.any():
        position = int(np.argmax(unknown.to_numpy()))
        raise InputError(file, f"label {labels.iloc[position]!r} is not in scheme {scheme.name!r} "
                               f"(accepted: {', '.join(scheme.labels)})", row=position + 1, field="label")
    return labels


def _qrels(file: str, table: pd.DataFrame, labels: pd.Series, scheme: LabelScheme) -> str:
    gains = qrels_gains(scheme)
    lines = []
    for position, (query_id, product_id, label) in enumerate(zip(_text(table["query_id"]),
                                                                 _text(table["product_id"]), labels)):
        if not label:
            continue
        for field, value in (("query_id", query_id), ("product_id", product_id)):
            if not value or len(value.split()) != 1:
                raise InputError(file, f"{field} {value!r} cannot be a TREC qrels id "
                                      "(empty or has spaces)", row=position + 1, field=field)
        lines.append(f"{query_id} 0 {product_id} {gains[label]}\n")
    return "".join(lines)


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str)


def read_judgments(path: str | Path, *, scheme: LabelScheme, fmt: str | None = None) -> pd.DataFrame:
    """Read a judgments table written by `write_judgments` (or by hand) and check it against `scheme`.

    Args:
        path: a Parquet, csv or JSONL judgments file.
        scheme: the label scheme the labels and p_<label> columns must belong to.
        fmt: the format; None infers it from the suffix.

    Returns:
        The table, with label a canonical label or None (unscored), p_<label> columns as floats (NaN where empty)
        and every other column as text.

    Raises:
        InputError: naming the file, and the row and field, for a missing column, a label not in the scheme, a
            p_ column for a label outside the scheme, or a probability that is not a number.
    """
    source = str(path)
    kind = judgment_format(path, fmt)
    if kind == "trec-qrels":
        raise InputError(source, "TREC qrels keep only gains, not pair ids, labels or probabilities: "
                                 "read judgments from parquet, csv or jsonl")
    frame = read_table(path, kind)
    if "label" not in frame.columns:
        raise InputError(source, f"missing column 'label' (columns present: {', '.join(frame.columns)})",
                         field="label")
    if not {"pair_id", "pair_hash"} & set(frame.columns):
        raise InputError(source, f"missing column 'pair_id' or 'pair_hash' (columns present: "
                                 f"{', '.join(frame.columns)})", field="pair_id")
    errors = RowErrors(source)
    labels, reasons = parse_labels(frame["label"], scheme)
    errors.add(reasons != "", "label", reasons)
    probabilities = {}
    for column in (c for c in frame.columns if c.startswith("p_")):
        if column[2:] not in scheme.labels:
            raise InputError(source, f"column {column!r} is for a label that is not in scheme {scheme.name!r} "
                                     f"(accepted: {', '.join(scheme.labels)})", field=column)
        text = frame[column].str.strip()
        values = pd.to_numeric(text, errors="coerce").astype(float)
        errors.add(values.isna() & ~blank(text) & (text.str.lower() != "nan"), column,
                   "probability " + text + " is not a number")
        probabilities[column] = values
    errors.raise_first()
    canonical = pd.Series([label or None for label in labels], index=frame.index, dtype=object)
    frame = frame.assign(label=canonical, **probabilities)
    return frame.reset_index(drop=True)
