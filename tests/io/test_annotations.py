"""Human labels in long form: one or several annotators per pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from reljudge.errors import InputError
from reljudge.io import read_annotations
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


def test_several_annotators_per_pair(fixtures: Path) -> None:
    frame = read_annotations(fixtures / "annotations_many.csv", scheme=ESCI)
    assert list(frame.columns) == ["pair_id", "annotator", "label"]
    assert frame.values.tolist() == [["p1", "ann-a", "E"], ["p1", "ann-b", "E"], ["p1", "ann-c", "S"],
                                     ["p2", "ann-a", "I"], ["p2", "ann-b", "C"], ["p3", "ann-c", "E"]]


def test_one_annotator_without_an_annotator_column(fixtures: Path) -> None:
    frame = read_annotations(fixtures / "annotations_one.jsonl", scheme=ESCI)
    assert frame.values.tolist() == [["101", "human", "E"], ["102", "human", "S"], ["103", "human", "I"]]


def test_column_map_and_graded_means(tmp_path: Path) -> None:
    path = tmp_path / "ratings.tsv"
    path.write_text("item\trater\tscore\n7\tr1\t3\n7\tr2\t2.67\n8\tr1\t1.33\n")
    frame = read_annotations(path, scheme=get_scheme("graded:1-3"),
                             columns={"pair_id": "item", "annotator": "rater", "label": "score"})
    assert frame["label"].tolist() == ["3", "3", "1"]


@pytest.mark.parametrize("body, row, field, message", [
    ("p1,a,E\np1,b,Z\n", 2, "label", "label 'Z' is not in scheme 'esci'"),
    ("p1,a,E\np2,a,\n", 2, "label", "label is empty"),
    ("p1,a,E\n,b,S\n", 2, "pair_id", "pair id is empty"),
    ("p1,a,E\np1,,S\n", 2, "annotator_id", "annotator is empty"),
    ("p1,a,E\np2,a,S\np1,a,S\n", 3, "annotator_id", "pair 'p1' is labelled twice by the same annotator"),
])
def test_bad_rows(tmp_path: Path, body: str, row: int, field: str, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("pair_id,annotator_id,label\n" + body)
    with pytest.raises(InputError, match=message) as caught:
        read_annotations(path, scheme=ESCI)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), row, field)


def test_repeated_pair_without_annotator_column(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("pair_id,label\np1,E\np1,S\n")
    with pytest.raises(InputError, match="no annotator column") as caught:
        read_annotations(path, scheme=ESCI)
    assert (caught.value.row, caught.value.field) == (2, "pair_id")


def test_missing_label_column(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("pair_id,annotator\np1,a\n")
    with pytest.raises(InputError, match="missing column 'label' or 'esci_label'") as caught:
        read_annotations(path, scheme=ESCI)
    assert caught.value.field == "label"
