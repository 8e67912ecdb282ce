"""Reading any table file as text: ids keep their zeros, empty cells are "", and nothing raw escapes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.io.tables import read_table


@pytest.mark.parametrize("name", ["pairs.csv", "pairs.tsv", "pairs.jsonl"])
def test_text_formats_read_as_strings(fixtures: Path, name: str) -> None:
    frame = read_table(fixtures / name)
    assert len(frame) == 6
    assert frame["query_id"].tolist()[:3] == ["00123"] * 3
    assert frame.loc[frame.index[1], "product_description"] == ""
    assert all(isinstance(v, str) for column in frame.columns for v in frame[column])


def test_csv_rows_are_data_rows_even_with_line_breaks_in_cells(fixtures: Path) -> None:
    frame = read_table(fixtures / "pairs.csv")
    assert frame.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert frame.loc[1, "product_bullet_point"] == "2 batteries included\nLED work light"
    assert frame.loc[1, "product_title"] == 'DrillMaster 20V Cordless Drill/Driver Kit, 1/2" Chuck'


def test_jsonl_rows_are_line_numbers_and_missing_keys_are_empty(fixtures: Path) -> None:
    frame = read_table(fixtures / "pairs.jsonl")
    assert frame.index.tolist() == [1, 2, 3, 5, 6, 7]  # line 4 is blank
    assert frame.loc[3, "product_color"] == ""  # key absent
    assert frame.loc[2, "product_description"] == ""  # null


def test_parquet_values_become_text(tmp_path: Path) -> None:
    path = tmp_path / "t.PARQUET"
    pd.DataFrame({"id": [7, 8], "mean": [2.33, 3.0], "tags": [["a", "b"], []], "note": ["x", None],
                  "raw": [b"\xffab", b"ok"]}, index=[10, 11]).to_parquet(path)
    frame = read_table(path)
    assert list(frame.columns) == ["id", "mean", "tags", "note", "raw"]  # the pandas index column is not data
    assert frame.to_dict(orient="list") == {"id": ["7", "8"], "mean": ["2.33", "3"], "tags": ['["a", "b"]', "[]"],
                                            "note": ["x", ""], "raw": ["\ufffdab", "ok"]}


def test_latin1_csv_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("query,title\ncaf\xe9 table,Bistro Table\n".encode("latin-1"))
    assert read_table(path).loc[1, "query"] == "café table"


@pytest.mark.parametrize("name, content, message", [
    ("missing.csv", None, "file not found"),
    ("pairs.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
    ("empty.csv", b"", "empty file"),
    ("empty.jsonl", b"\n", "empty file"),
    ("ragged.csv", b"a,b\n1,2\n1,2,3,4\n", "cannot read as CSV"),
    ("garbage.parquet", b"this is not parquet at all", "cannot read as Parquet"),
    ("list.jsonl", b'{"a": 1}\n[1, 2]\n', "line 2 is not a JSON object"),
])
def test_unreadable_files_name_the_file(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        read_table(path)
    assert caught.value.file == str(path)


def test_directory_is_not_a_table(tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="not a file"):
        read_table(folder)


def test_truncated_parquet(tmp_path: Path, pairs_parquet: Path) -> None:
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(pairs_parquet.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated") as caught:
        read_table(cut)
    assert caught.value.file == str(cut)


def test_broken_jsonl_line_is_named(fixtures: Path) -> None:
    with pytest.raises(InputError, match="line 3 is not valid JSON") as caught:
        read_table(fixtures / "broken.jsonl")
    assert caught.value.row == 3
    assert str(fixtures / "broken.jsonl") in str(caught.value)
