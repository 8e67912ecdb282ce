"""Bad input: every error names the file, the row and the field; skip_invalid sets bad rows aside instead."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reljudge.errors import InputError
from reljudge.io import Rejected, read_pairs, write_rejected
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


def test_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("search,product_id,product_title\nq,1,t\n")
    with pytest.raises(InputError) as caught:
        read_pairs(path, scheme=ESCI)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(path), None, "query")
    assert "missing column 'query' (columns present: search, product_id, product_title)" in str(error)
    assert "--columns query=NAME" in str(error)


def test_first_bad_row_raises(fixtures: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_pairs(fixtures / "pairs_bad.csv", scheme=ESCI)
    error = caught.value
    assert (error.row, error.field, error.message) == (2, "query", "query is empty")
    assert str(error).startswith(f"{fixtures / 'pairs_bad.csv'}, row 2, field 'query': ")


@pytest.mark.parametrize("row, field, reason", [
    (3, "esci_label", "label 'X' is not in scheme 'esci'"),
    (4, "product_title", "product title is empty"),
])
def test_each_bad_row_is_located(fixtures: Path, tmp_path: Path, row: int, field: str, reason: str) -> None:
    # Keep only the header, the good first row and the bad row, so that row is the first bad one.
    lines = (fixtures / "pairs_bad.csv").read_text().splitlines()
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([lines[0], lines[1], lines[row]]) + "\n")
    with pytest.raises(InputError, match=reason) as caught:
        read_pairs(path, scheme=ESCI)
    assert (caught.value.row, caught.value.field) == (2, field)


def test_label_not_in_scheme_names_the_source_column(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_text("query\tproduct_id\tproduct_title\tesci_label\nq\t1\tt\tE\nq\t2\tt\tmaybe\n")
    with pytest.raises(InputError) as caught:
        read_pairs(path, scheme=ESCI)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), 2, "esci_label")
    assert "label 'maybe' is not in scheme 'esci' (accepted: E, S, C, I)" in caught.value.message


def test_skip_invalid_returns_good_rows_and_rejected_ones(fixtures: Path) -> None:
    read = read_pairs(fixtures / "pairs_bad.csv", scheme=ESCI, skip_invalid=True)
    assert [p.product.product_id for p in read.pairs] == ["B0BAD00001", "B0BAD00005"]
    assert [(r.row, r.field) for r in read.rejected] == [(2, "query"), (3, "esci_label"), (4, "product_title")]
    assert read.rejected[1].record == {"query": "usb hub", "product_id": "B0BAD00003",
                                       "product_title": "PortMax USB Extension Cable", "esci_label": "X"}


def test_jsonl_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"query": "q", "product_id": "1", "product_title": "t"}\n\n'
                    '{"query": "q", "product_id": "2", "product_title": ""}\n')
    with pytest.raises(InputError) as caught:
        read_pairs(path, scheme=ESCI)
    assert (caught.value.row, caught.value.field) == (3, "product_title")


def test_broken_jsonl_line(fixtures: Path) -> None:
    with pytest.raises(InputError, match="line 3 is not valid JSON") as caught:
        read_pairs(fixtures / "broken.jsonl", scheme=ESCI)
    assert caught.value.file == str(fixtures / "broken.jsonl")


def test_unreadable_files(tmp_path: Path, pairs_parquet: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_pairs(tmp_path / "absent.csv", scheme=ESCI)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(pairs_parquet.read_bytes()[: len(pairs_parquet.read_bytes()) // 2])
    with pytest.raises(InputError, match="cannot read as Parquet") as caught:
        read_pairs(cut, scheme=ESCI)
    assert caught.value.file == str(cut)
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError) as caught:
        read_pairs(binary, scheme=ESCI)
    assert caught.value.file == str(binary)


def test_write_rejected(fixtures: Path, tmp_path: Path) -> None:
    rejected = read_pairs(fixtures / "pairs_bad.csv", scheme=ESCI, skip_invalid=True).rejected
    rejected.append(Rejected(9, "reason", "a clash of names", {"reason": "kept", "query": "x"}))
    path = write_rejected(tmp_path / "out" / "rejected.csv", rejected)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["row", "field", "reason", "query", "product_id", "product_title", "esci_label",
                             "input_reason"]
    assert rows[0]["row"] == "2" and rows[0]["reason"] == "query is empty" and rows[0]["query"] == ""
    assert rows[3]["input_reason"] == "kept"


def test_write_rejected_with_nothing_rejected(tmp_path: Path) -> None:
    path = write_rejected(tmp_path / "rejected.csv", [])
    assert path.read_text().strip() == "row,field,reason"
