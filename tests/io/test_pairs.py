"""read_pairs on the table layout: every format, column maps, filters, labels and ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from reljudge.errors import InputError
from reljudge.io import read_pairs
from reljudge.labels import MeanRule, get_scheme
from reljudge.records import Product, pair_hash, query_key

ESCI = get_scheme("esci")
GRADED = get_scheme("graded:1-3")


@pytest.fixture(params=["pairs.csv", "pairs.tsv", "pairs.jsonl", "parquet"])
def pairs_file(request: pytest.FixtureRequest, fixtures: Path, pairs_parquet: Path) -> Path:
    return pairs_parquet if request.param == "parquet" else fixtures / request.param


def test_every_format_reads_the_same_pairs(pairs_file: Path) -> None:
    read = read_pairs(pairs_file, scheme=ESCI)
    assert read.source == str(pairs_file) and read.rejected == []
    assert [p.label for p in read.pairs] == ["E", "S", "C", "E", "I", "C"]
    assert [p.query_id for p in read.pairs] == ["00123"] * 3 + ["00456"] * 3
    first = read.pairs[0]
    assert first.query == "cordless drill 20v"
    assert first.product.product_id == "B0FAKE0001"
    assert first.product.title == 'DrillMaster 20V Cordless Drill/Driver Kit, 1/2" Chuck'
    assert (first.product.brand, first.product.color, first.product.locale) == ("DrillMaster", "Yellow", "us")
    assert first.product.category == "['Tools', 'Power Tools']"
    assert first.segments == {"product_locale": "us", "query_source": "parse_pattern", "split": "train"}
    # No pair_id column: the pair hash stands in.
    assert first.pair_id == pair_hash(first.query, first.product)


def test_missing_query_id_is_a_hash_of_the_query(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("query,product_id,product_title,pair_id\nRed  Mug,m1,Red Mug,r1\nred mug,m2,Blue Mug,r2\n")
    pairs = read_pairs(path, scheme=ESCI).pairs
    assert pairs[0].query_id == pairs[1].query_id == query_key("red mug")
    assert [p.pair_id for p in pairs] == ["r1", "r2"]
    assert [p.label for p in pairs] == [None, None]


def test_column_map(fixtures: Path) -> None:
    columns = {"query_id": "qid", "query": "search_term", "product_id": "sku", "title": "title", "label": "relevance"}
    pairs = read_pairs(fixtures / "pairs_mapped.csv", scheme=GRADED, columns=columns).pairs
    assert [p.label for p in pairs] == ["3", "2", "3", "1"]
    assert pairs[2].query == "led bulb 60w" and pairs[2].query_id == "2"
    assert pairs[2].product == Product("P-2001", "BrightLite LED Bulb 60W Equivalent 4 Pack")
    assert pairs[0].segments == {"store": "north"}


def test_column_map_unknown_field(fixtures: Path) -> None:
    with pytest.raises(InputError, match="unknown field 'headline'") as caught:
        read_pairs(fixtures / "pairs_mapped.csv", scheme=GRADED, columns={"headline": "title"})
    assert caught.value.file == str(fixtures / "pairs_mapped.csv")
    assert caught.value.field == "headline"


def test_column_map_absent_column(fixtures: Path) -> None:
    with pytest.raises(InputError, match="column 'query_text' .*not in the file") as caught:
        read_pairs(fixtures / "pairs_mapped.csv", scheme=GRADED, columns={"query": "query_text"})
    assert caught.value.field == "query_text"
    assert "search_term" in caught.value.message  # lists the columns present


def test_split_keeps_one_split(fixtures: Path) -> None:
    pairs = read_pairs(fixtures / "pairs.csv", scheme=ESCI, split="valid").pairs
    assert [p.product.product_id for p in pairs] == ["B0FAKE0004", "B0FAKE0005", "B0FAKE0006"]


def test_split_needs_a_split_column(fixtures: Path) -> None:
    with pytest.raises(InputError, match="no 'split' column"):
        read_pairs(fixtures / "pairs_bad.csv", scheme=ESCI, split="train")
    with pytest.raises(InputError, match=r"no rows in split 'tset' \(splits present: train, valid\)"):
        read_pairs(fixtures / "pairs.csv", scheme=ESCI, split="tset")


def test_small_version_needs_its_column(fixtures: Path) -> None:
    with pytest.raises(InputError, match="small_version"):
        read_pairs(fixtures / "pairs.csv", scheme=ESCI, small_version=True)


def test_label_spellings_map_to_canonical_labels(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"query": "q", "product_id": "1", "product_title": "t", "label": "exact"}\n'
                    '{"query": "q", "product_id": "2", "product_title": "t", "label": "irrelevant"}\n')
    assert [p.label for p in read_pairs(path, scheme=ESCI).pairs] == ["E", "I"]


def test_graded_means_follow_the_mean_rule(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("query,product_id,product_title,label\n" + "".join(
        f"q,{i},t,{value}\n" for i, value in enumerate(["1", "1.67", "2.33", "2.5", "3.0"])))
    assert [p.label for p in read_pairs(path, scheme=GRADED).pairs] == ["1", "2", "2", "3", "3"]
    bins = MeanRule("bins:1.75,2.5")
    assert [p.label for p in read_pairs(path, scheme=GRADED, mean_rule=bins).pairs] == ["1", "1", "2", "3", "3"]


@pytest.mark.parametrize("scheme, value", [(GRADED, "3.5"), (GRADED, "nan"), (ESCI, "2.33"),
                                           (get_scheme("binary"), "0.5")])
def test_label_outside_the_scheme_is_a_row_error(tmp_path: Path, scheme, value: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"query,product_id,product_title,label\nq,1,t,{scheme.labels[0]}\nq,2,t,{value}\n")
    with pytest.raises(InputError) as caught:
        read_pairs(path, scheme=scheme)
    assert (caught.value.row, caught.value.field) == (2, "label")
    assert value in caught.value.message


def test_require_labels(fixtures: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column 'esci_label' or 'label'") as caught:
        read_pairs(fixtures / "pairs_mapped.csv", scheme=GRADED, require_labels=True,
                   columns={"query": "search_term", "product_id": "sku", "title": "title"})
    assert caught.value.field == "esci_label"
    path = tmp_path / "p.csv"
    path.write_text("query,product_id,product_title,esci_label\nq,1,t,E\nq,2,t,\n")
    assert [p.label for p in read_pairs(path, scheme=ESCI).pairs] == ["E", None]
    with pytest.raises(InputError, match="label is empty") as caught:
        read_pairs(path, scheme=ESCI, require_labels=True)
    assert (caught.value.row, caught.value.field) == (2, "esci_label")


def test_repeated_pair_id_is_a_row_error(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("pair_id,query,product_id,product_title\na,q,1,t\nb,q,2,t\na,q,3,t\n")
    with pytest.raises(InputError, match="pair_id 'a' repeats row 1") as caught:
        read_pairs(path, scheme=ESCI)
    assert (caught.value.row, caught.value.field) == (3, "pair_id")


def test_unknown_layout_and_stray_products(fixtures: Path) -> None:
    with pytest.raises(InputError, match="unknown layout 'trec'"):
        read_pairs(fixtures / "pairs.csv", scheme=ESCI, layout="trec")
    with pytest.raises(InputError, match="products file joins only the esci-official layout"):
        read_pairs(fixtures / "pairs.csv", scheme=ESCI, products=fixtures / "esci_products.jsonl")


def test_real_esci_dev_file(shared_data_dir: Path) -> None:
    read = read_pairs(shared_data_dir / "esci" / "esci_us_dev.csv", scheme=ESCI, require_labels=True)
    assert len(read.pairs) == 4524
    counts = {label: sum(p.label == label for p in read.pairs) for label in ESCI.labels}
    assert counts == {"E": 2276, "S": 1336, "C": 190, "I": 722}
    train = read_pairs(shared_data_dir / "esci" / "esci_us_dev.csv", scheme=ESCI, split="train").pairs
    assert len(train) == 3392 and {p.segments["split"] for p in train} == {"train"}
