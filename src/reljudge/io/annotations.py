"""read_annotations: human labels in long form, one row per (pair, annotator), for agreement and aggregation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reljudge.io.columns import map_columns, require
from reljudge.io.tables import read_table
from reljudge.io.validate import RowErrors, blank, parse_labels
from reljudge.labels import LabelScheme, MeanRule

ANNOTATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "pair_id": ("pair_id", "example_id", "id"),
    "annotator": ("annotator_id", "annotator"),
    "label": ("label", "esci_label"),
}

#: The annotator name given to every row of a file without an annotator column (one label per pair).
SINGLE_ANNOTATOR = "human"


def read_annotations(path: str | Path, *, scheme: LabelScheme, columns: dict[str, str] | None = None,
                     mean_rule: MeanRule = MeanRule()) -> pd.DataFrame:
    """Read human labels, one row per (pair_id, annotator, label).

    A pair may have one annotator or many. Without an annotator column each pair may appear once, labelled by
    the annotator "human". Labels are mapped to the scheme's canonical labels (for graded schemes a mean rating
    becomes a grade through `mean_rule`).

    Args:
        path: a csv, tsv, JSONL or Parquet file.
        scheme: the label scheme the labels must belong to.
        columns: canonical field (pair_id, annotator, label) -> source column, to override the defaults.
        mean_rule: how a mean of graded ratings becomes one grade.

    Returns:
        A frame with str columns pair_id, annotator, label, in file order.

    Raises:
        InputError: a missing column, or the first row with an empty id, an empty or unknown label, or an annotator
            labelling the same pair twice, naming the file, row and field.
    """
    source = str(path)
    frame = read_table(path)
    mapping = map_columns(source, frame.columns, ANNOTATION_COLUMNS, columns)
    require(source, mapping, ["pair_id", "label"], ANNOTATION_COLUMNS, frame.columns)
    pair_ids, raw = frame[mapping["pair_id"]], frame[mapping["label"]]
    annotators = frame[mapping["annotator"]] if "annotator" in mapping else pd.Series(
        SINGLE_ANNOTATOR, index=frame.index, dtype=str)

    errors = RowErrors(source)
    errors.add(blank(pair_ids), mapping["pair_id"], "pair id is empty")
    if "annotator" in mapping:
        errors.add(blank(annotators), mapping["annotator"], "annotator is empty")
    errors.add(blank(raw), mapping["label"], "label is empty")
    labels, reasons = parse_labels(raw, scheme, mean_rule)
    errors.add(reasons != "", mapping["label"], reasons)
    twice = pd.DataFrame({"p": pair_ids, "a": annotators}).duplicated(keep="first")
    if "annotator" in mapping:
        errors.add(twice, mapping["annotator"], pair_ids[twice].map(lambda p: f"pair {p!r} is labelled twice by "
                                                                               "the same annotator"))
    else:
        errors.add(twice, mapping["pair_id"], pair_ids[twice].map(lambda p: f"pair {p!r} appears twice but the file "
                                                                             "has no annotator column"))
    errors.raise_first()
    return pd.DataFrame({"pair_id": pair_ids.str.strip(), "annotator": annotators.str.strip(),
                         "label": labels}).reset_index(drop=True)
