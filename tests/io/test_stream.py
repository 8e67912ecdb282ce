"""Streaming reads: the same pairs, rejected rows and errors as read_pairs, whatever the chunk size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.io import read_pairs
from reljudge.io.sort import ROW_COLUMN, sort_by_query
from reljudge.io.stream import PairStream, TableStream
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")
GRADED = get_scheme("graded:1-3")


def pair_fields(pairs):
    return [(p.query, p.product, p.query_id, p.pair_id, p.label, p.segments) for p in pairs]


@pytest.fixture(params=["pairs.csv", "pairs.tsv", "pairs.jsonl", "parquet", "pairs_bad.csv", "homedepot.csv"])
def case(request: pytest.FixtureRequest, fixtures: Path, pairs_parquet: Path) -> tuple[Path, dict]:
    name = request.param
    if name == "parquet":
        return pairs_parquet, {"scheme": ESCI}
    if name == "homedepot.csv":
        return fixtures / name, {"scheme": GRADED}
    return fixtures / name, {"scheme": ESCI, "skip_invalid": name == "pairs_bad.csv"}


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_chunks_hold_the_pairs_and_rejected_rows_of_read_pairs(case, rows: int) -> None:
    path, options = case
    whole = read_pairs(path, **options)
    chunks = list(PairStream(path, rows=rows, **options))
    assert pair_fields(p for c in chunks for p in c.pairs) == pair_fields(whole.pairs)
    assert [r for c in chunks for r in c.rejected] == whole.rejected
    assert [row for c in chunks for row in c.rows] == whole.rows
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_frames_have_exactly_the_chunk_size_and_global_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"query": ["q"] * 10, "product_id": [f"{i:03d}" for i in range(10)],
                  "product_title": ["t"] * 10}).to_csv(path, index=False)
    frames = list(TableStream(path, 4).frames())
    assert [len(f) for f in frames] == [4, 4, 2]
    assert [list(f.index) for f in frames][-1] == [9, 10]
    assert frames[0]["product_id"].tolist()[:2] == ["000", "001"]  # text, zeros kept


def test_a_bad_row_in_a_later_chunk_is_named_by_its_row_in_the_file(fixtures: Path) -> None:
    with pytest.raises(InputError) as caught:
        list(PairStream(fixtures / "pairs_bad.csv", rows=1, scheme=ESCI))
    assert (caught.value.row, caught.value.field, caught.value.message) == (2, "query", "query is empty")


def test_jsonl_keys_that_appear_late_are_columns_of_every_chunk(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"query": "q", "product_id": "1", "product_title": "t"}\n'
                    '{"query": "q", "product_id": "2", "product_title": "t", "product_brand": "Acme"}\n')
    streamed = [p for c in PairStream(path, rows=1, scheme=ESCI) for p in c.pairs]
    assert pair_fields(streamed) == pair_fields(read_pairs(path, scheme=ESCI).pairs)
    assert [p.product.brand for p in streamed] == ["", "Acme"]


def test_latin1_csv_streams_as_read_table_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("query,product_id,product_title\nq,1,caf\xe9 table\n".encode("latin-1"))
    streamed = [p for c in PairStream(path, rows=1, scheme=ESCI) for p in c.pairs]
    assert [p.product.title for p in streamed] == ["café table"]


def test_a_split_no_chunk_holds_fails_once_the_file_is_read(fixtures: Path) -> None:
    with pytest.raises(InputError, match="no rows in split 'tset'"):
        list(PairStream(fixtures / "pairs.csv", rows=2, scheme=ESCI, split="tset"))


def test_sort_by_query_groups_queries_in_order_of_their_first_row(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"query": ["b", "a", "b", "c", "a"], "product_id": list("12345"),
                  "product_title": ["t"] * 5}).to_csv(path, index=False)
    sorted_copy = sort_by_query(path, tmp_path / "sorted.parquet", options={"scheme": ESCI}, rows=2)
    pairs = [p for c in PairStream(sorted_copy, rows=2, row_column=ROW_COLUMN, scheme=ESCI) for p in c.pairs]
    assert [p.product.product_id for p in pairs] == ["1", "3", "2", "5", "4"]
    assert [row for c in PairStream(sorted_copy, rows=2, row_column=ROW_COLUMN, scheme=ESCI)
            for row in c.rows] == [1, 3, 2, 5, 4]
    assert pair_fields(sorted(pairs, key=lambda p: p.product.product_id)) == pair_fields(
        read_pairs(path, scheme=ESCI).pairs)
