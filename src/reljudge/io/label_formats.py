"""One entry point per direction for the labelling tools' formats: `read_labels` and `write_labels` by name."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError
from reljudge.io.atomic import atomic_path
from reljudge.io.interop import ratings_frame
from reljudge.io.judgments import write_judgments
from reljudge.io.label_studio import label_studio_tasks, read_label_studio
from reljudge.io.qrels import read_qrels
from reljudge.io.quepid import read_quepid_book, read_quepid_ratings, write_quepid_ratings
from reljudge.io.srw import read_srw, srw_judgments, write_srw_judgments
from reljudge.labels import LabelScheme

#: Formats `reljudge labels export` writes, and those `reljudge labels import` reads.
EXPORT_FORMATS = ("label-studio", "quepid", "srw", "qrels")
IMPORT_FORMATS = ("label-studio", "quepid", "quepid-book", "srw", "qrels")

#: The annotator of labels read from TREC qrels, which name no one.
QRELS_ANNOTATOR = "qrels"


def _check(fmt: str, known: tuple[str, ...], path: Path) -> None:
    if fmt not in known:
        raise InputError(str(path), f"unknown format {fmt!r}: use {', '.join(known)}")


def read_labels(fmt: str, path: str | Path, *, scheme: LabelScheme) -> pd.DataFrame:
    """People's labels from a tool's file, as io/interop.py's frame (pair_id, query_id, query, product_id,
    annotator, label)."""
    path = Path(path)
    _check(fmt, IMPORT_FORMATS, path)
    if fmt == "label-studio":
        return read_label_studio(path, scheme=scheme)
    if fmt == "quepid":
        return read_quepid_ratings(path, scheme=scheme)
    if fmt == "quepid-book":
        return read_quepid_book(path, scheme=scheme)
    if fmt == "srw":
        return read_srw(path, scheme=scheme)
    qrels = read_qrels(path, scheme=scheme)
    return ratings_frame([{"query_id": q, "product_id": d, "annotator": QRELS_ANNOTATOR, "label": x}
                          for q, d, x in qrels.itertuples(index=False)])


def write_labels(fmt: str, path: str | Path, table: pd.DataFrame, *, scheme: LabelScheme, name: str = "") -> Path:
    """Write a table of labelled pairs (query_id, query, product_id, label; for Label Studio also pair_id, the
    product's fields, p_<label> and judge) in a tool's format.

    Args:
        name: the judgment list's name (SRW).
    """
    path = Path(path)
    _check(fmt, EXPORT_FORMATS, path)
    if fmt == "label-studio":
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps(label_studio_tasks(table, scheme), indent=1, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
        return path
    if fmt == "quepid":
        return write_quepid_ratings(path, table, scheme=scheme)
    if fmt == "srw":
        return write_srw_judgments(path, srw_judgments(table, scheme=scheme, name=name or path.stem))
    return write_judgments(path, table, scheme=scheme, fmt="trec-qrels")
