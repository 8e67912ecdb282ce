"""The Kaggle 2016 Home Depot layout: means of 1-3 ratings on a graded scheme."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reljudge.errors import InputError
from reljudge.io import read_pairs
from reljudge.labels import MeanRule, get_scheme
from reljudge.records import query_key

GRADED = get_scheme("graded:1-3")


def test_layout_is_detected_and_means_become_grades(fixtures: Path) -> None:
    pairs = read_pairs(fixtures / "homedepot.csv", scheme=GRADED).pairs
    assert [p.pair_id for p in pairs] == ["11", "12", "15", "18", "21", "24", "27"]
    assert [p.label for p in pairs] == ["3", "2", "3", "2", "1", "3", "1"]
    assert pairs[1].query == "l bracket" and pairs[1].product.product_id == "200001"
    assert pairs[1].query_id == query_key("l bracket")  # Home Depot has no query ids
    assert pairs[0].segments == {}


def test_mean_rule_bins(fixtures: Path) -> None:
    pairs = read_pairs(fixtures / "homedepot.csv", scheme=GRADED, mean_rule=MeanRule("bins:1.5,2.5")).pairs
    assert [p.label for p in pairs] == ["3", "2", "3", "2", "1", "3", "1"]
    pairs = read_pairs(fixtures / "homedepot.csv", scheme=GRADED, mean_rule=MeanRule("bins:2,3")).pairs
    assert [p.label for p in pairs] == ["3", "2", "2", "1", "1", "2", "1"]


@pytest.mark.parametrize("scheme", ["esci", "binary"])
def test_needs_a_graded_scheme(fixtures: Path, scheme: str) -> None:
    with pytest.raises(InputError, match="use --scheme graded:1-3") as caught:
        read_pairs(fixtures / "homedepot.csv", scheme=get_scheme(scheme))
    assert caught.value.file == str(fixtures / "homedepot.csv")


def test_real_train_file_loads_in_seconds(shared_data_dir: Path) -> None:
    start = time.perf_counter()
    read = read_pairs(shared_data_dir / "homedepot" / "train.csv", scheme=GRADED, require_labels=True)
    seconds = time.perf_counter() - start
    assert len(read.pairs) == 74067 and read.rejected == []
    assert len({p.query for p in read.pairs}) == 11795
    assert len({p.product.product_id for p in read.pairs}) == 54667
    assert {p.label for p in read.pairs} == {"1", "2", "3"}
    assert seconds < 10, f"74k pairs took {seconds:.1f} s"
