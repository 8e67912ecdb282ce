"""The official ESCI layout: examples joined with products on (product_id, product_locale)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.io import read_pairs
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


def test_examples_join_vespa_products(esci_examples: Path, fixtures: Path) -> None:
    read = read_pairs(esci_examples, scheme=ESCI, products=fixtures / "esci_products.jsonl")
    pairs = read.pairs
    assert [p.pair_id for p in pairs] == ["101", "102", "103", "104"]
    assert [p.query_id for p in pairs] == ["7", "7", "7", "8"]
    assert [p.label for p in pairs] == ["E", "S", "I", "E"]
    assert pairs[0].product.title == "VoltLink USB C to USB C Cable 6ft, 100W Fast Charging"
    assert pairs[0].product.bullets == "100W PD charging; 480Mbps data"
    # The same product id has Spanish text in the es locale.
    assert pairs[3].product.title == "VoltLink Cable USB C a USB C 2m, Carga Rapida 100W"
    assert (pairs[3].product.color, pairs[3].product.locale) == ("Negro", "es")
    assert pairs[1].product.description == "" and pairs[1].product.color == ""  # nulls
    assert pairs[2].product.title == "SnapGrip Phone Stand for Desk"  # id taken from the "put" document id
    assert pairs[0].segments == {"product_locale": "us", "small_version": "1", "large_version": "1",
                                 "split": "train"}


def test_small_version_and_split(esci_examples: Path, fixtures: Path) -> None:
    products = fixtures / "esci_products.jsonl"
    small = read_pairs(esci_examples, scheme=ESCI, products=products, small_version=True).pairs
    assert [p.pair_id for p in small] == ["101", "102", "104"]
    test = read_pairs(esci_examples, scheme=ESCI, products=products, split="test").pairs
    assert [p.pair_id for p in test] == ["103"]


def test_official_products_parquet_beside_the_examples(esci_examples: Path, fixtures: Path) -> None:
    records = [json.loads(line)["fields"] for line in (fixtures / "esci_products.jsonl").read_text().splitlines()]
    frame = pd.DataFrame([{"product_id": r.get("id", "B0FAKEC003"), "product_title": r["title"],
                           "product_description": r.get("description"), "product_bullet_point": r.get("bullets"),
                           "product_brand": r.get("brand"), "product_color": r.get("color"),
                           "product_locale": r["locale"]} for r in records])
    frame.to_parquet(esci_examples.with_name("shopping_queries_dataset_products.parquet"), index=False)
    pairs = read_pairs(esci_examples, scheme=ESCI, layout="esci-official").pairs
    assert [p.product.title[:20] for p in pairs] == ["VoltLink USB C to US", "VoltLink USB C to Li",
                                                     "SnapGrip Phone Stand", "VoltLink Cable USB C"]


def test_flat_jsonl_products(esci_examples: Path, tmp_path: Path) -> None:
    products = tmp_path / "products.jsonl"
    products.write_text("".join(json.dumps({"product_id": pid, "product_title": f"Title of {pid}",
                                            "product_locale": locale}) + "\n"
                                for pid, locale in [("B0FAKEC001", "us"), ("B0FAKEC002", "us"),
                                                    ("B0FAKEC003", "us"), ("B0FAKEC001", "es")]))
    pairs = read_pairs(esci_examples, scheme=ESCI, products=products).pairs
    assert [p.product.title for p in pairs][:2] == ["Title of B0FAKEC001", "Title of B0FAKEC002"]


def test_no_products_file(esci_examples: Path) -> None:
    with pytest.raises(InputError, match="--products PATH") as caught:
        read_pairs(esci_examples, scheme=ESCI)
    assert caught.value.file == str(esci_examples)


def test_example_without_product_is_a_row_error(esci_examples: Path, tmp_path: Path, fixtures: Path) -> None:
    products = tmp_path / "products.jsonl"
    lines = (fixtures / "esci_products.jsonl").read_text().splitlines()
    products.write_text("\n".join(line for line in lines if "B0FAKEC002" not in line) + "\n")
    with pytest.raises(InputError, match=r"product B0FAKEC002 \(locale us\) is not in the products file") as caught:
        read_pairs(esci_examples, scheme=ESCI, products=products)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(esci_examples), 2, "product_id")
    read = read_pairs(esci_examples, scheme=ESCI, products=products, skip_invalid=True)
    assert [p.pair_id for p in read.pairs] == ["101", "103", "104"]
    assert read.rejected[0].record["example_id"] == "102"
    assert "product_title" not in read.rejected[0].record  # the record is the examples row as read


def test_real_official_sample(shared_data_dir: Path) -> None:
    folder = shared_data_dir / "esci_official_sample"
    read = read_pairs(folder / "test-sample.parquet", scheme=ESCI, products=folder / "sample-products.jsonl",
                      require_labels=True)
    assert len(read.pairs) == 16 and read.rejected == []
    assert all(p.product.title and p.product.locale == "us" for p in read.pairs)
    assert {p.query_id for p in read.pairs} == {"535"}
    assert sorted(p.label for p in read.pairs) == sorted("SSIIESSEIISSIIEI")
    assert "__index_level_0__" not in read.pairs[0].segments
