from __future__ import annotations

import hashlib
import json
import math
import random

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import InputError, JudgeError
from reljudge.judges.base import Judge
from reljudge.judges.features.lexical import (
    FEATURE_NAMES,
    bm25,
    category_share,
    contains_phrase,
    coverage,
    group_features,
    group_z,
    negated_mentions,
    only_after_for,
    pair_features,
    product_terms,
    split_negated,
    title_similarity,
    tokenize,
)
from reljudge.judges.lexical import LexicalJudge
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product
from reljudge.train.common import agreement_figures, prior_offsets
from reljudge.train.lexical import evaluate, fit_lexical, train_lexical

# Three queries, four labels each: enough signal for a tiny fit, small enough to run in milliseconds.
CATALOGUE = {
    "q1": ("red coffee mug", [
        ("Red Ceramic Coffee Mug 12 oz", "Kitchen > Mugs", "E"),
        ("Coffee Mug, Red Stoneware", "Kitchen > Mugs", "E"),
        ("Blue Coffee Mug 12 oz", "Kitchen > Mugs", "S"),
        ("Travel Coffee Tumbler", "Kitchen > Tumblers", "S"),
        ("Mug Rack Holder for Coffee Cups", "Kitchen > Racks", "C"),
        ("Garden Hose 50 ft", "Garden > Hoses", "I"),
    ]),
    "q2": ("usb c cable 6 ft", [
        ("USB C Cable 6 ft Braided", "Electronics > Cables", "E"),
        ("USB-C to USB-C Cable, 6ft", "Electronics > Cables", "E"),
        ("USB C Cable 3 ft", "Electronics > Cables", "S"),
        ("Micro USB Cable 6 ft", "Electronics > Cables", "S"),
        ("USB C Wall Charger", "Electronics > Chargers", "C"),
        ("Wool Socks for Men", "Clothing > Socks", "I"),
    ]),
    "q3": ("water bottle without straw", [
        ("Stainless Water Bottle with Screw Lid", "Sports > Bottles", "E"),
        ("Glass Water Bottle, Leak Proof Cap", "Sports > Bottles", "E"),
        ("Kids Water Bottle with Straw", "Sports > Bottles", "S"),
        ("Water Bottle Straw Lid Replacement", "Sports > Lids", "C"),
        ("Bottle Brush Cleaner", "Kitchen > Brushes", "C"),
        ("Desk Lamp LED", "Home > Lamps", "I"),
    ]),
}
GRADE = {"E": "3", "S": "2", "C": "1", "I": "1"}


def catalogue(grades: bool = False) -> list[Pair]:
    return [
        Pair(query, Product(f"{qid}-{i}", title, category=category), query_id=qid,
             label=GRADE[label] if grades else label)
        for qid, (query, products) in CATALOGUE.items()
        for i, (title, category, label) in enumerate(products)
    ]


@pytest.fixture(scope="module")
def judge() -> LexicalJudge:
    return fit_lexical(catalogue(), "esci", C=1.0)


# --- features -------------------------------------------------------------------------------------------------------

def test_tokenize_normalises_splits_and_strips_plurals():
    assert tokenize("Men's Kitchen TOWELS, 1/2-inch (Boxes)") == ["men", "kitchen", "towel", "1", "2", "inch", "box"]
    assert tokenize("ｇｌａｓｓ batteries af1") == ["glass", "battery", "af1"]


def test_bm25_matches_the_formula_on_a_two_document_group():
    # N = 2, avgdl = 3. idf(red) = ln(1 + 1.5/1.5) = ln 2 (df 1); idf(mug) = ln(1 + 0.5/2.5) = ln 1.2 (df 2).
    # d1 (length 2): length norm 1 - 0.75 + 0.75 * 2/3 = 0.75, each tf-1 term weighs 2.2 / (1 + 1.2 * 0.75).
    # d2 (length 4): norm 0.25 + 0.75 * 4/3 = 1.25, mug (tf 2) weighs 2 * 2.2 / (2 + 1.2 * 1.25).
    scores = bm25(["red", "mug", "red"], [["red", "mug"], ["mug", "mug", "big", "big"]])
    expected = [(math.log(2) + math.log(1.2)) * 2.2 / 1.9, math.log(1.2) * 4.4 / 3.5]
    np.testing.assert_allclose(scores, expected)


def test_bm25_of_an_empty_group_or_empty_documents_is_zero():
    assert bm25(["a"], []).shape == (0,)
    np.testing.assert_array_equal(bm25(["a"], [[], []]), [0.0, 0.0])


def test_coverage_phrase_and_negation():
    assert coverage(["red", "mug", "red"], ["mug", "cup"]) == 0.5
    assert coverage([], ["mug"]) == 0.0
    assert contains_phrase(["coffee", "mug"], ["red", "coffee", "mug", "set"])
    assert not contains_phrase(["mug", "coffee"], ["red", "coffee", "mug"])
    assert split_negated(tokenize("bottle for kids without glass straws")) == (["bottle", "kid"], ["glass", "straw"])


def test_a_negation_ends_at_a_connector_or_after_two_terms():
    assert split_negated(tokenize("lights without wiring with switch")) == (["light", "switch"], ["wiring"])
    assert split_negated(tokenize("drain without overflow solid brass")) == (["drain", "brass"], ["overflow", "solid"])


def test_a_product_that_negates_a_term_does_not_have_it():
    plain, negated = negated_mentions(tokenize("Swim Trunks, No Mesh Liner; Stemless, BPA free, with Handles"))
    assert negated == {"mesh", "liner", "stem", "bpa"}
    assert {"swim", "trunk", "handle"} <= plain and not plain & negated


def test_an_accessory_has_the_querys_product_terms_only_after_for():
    fitbit = product_terms(tokenize("fitbit charge 3"))
    assert only_after_for(fitbit, tokenize("Band Compatible with Fitbit Charge 3")) == 1.0
    assert only_after_for(fitbit, tokenize("Fitbit Charge 3 Tracker, for Women")) == 0.0
    # the query's own "for" ends its product terms: a case is asked for, and a case comes first
    case = product_terms(tokenize("case for iphone 12"))
    assert case == {"case"}
    assert only_after_for(case, tokenize("Case for iPhone 12 Pro")) == 0.0
    assert only_after_for(case, tokenize("Screen Protector for iPhone 12 Case")) == 1.0


def test_group_z_standardises_within_the_group():
    np.testing.assert_allclose(group_z(np.array([1.0, 3.0, 3.0, 1.0])), [-1, 1, 1, -1])
    assert not group_z(np.full(3, 2.0)).any()


def test_category_share_and_title_similarity():
    # Each "a > b" shares its category with one of its three rivals; an empty category shares nothing.
    np.testing.assert_allclose(category_share(["A > B", "a > b", "C", ""]), [1 / 3, 1 / 3, 0.0, 0.0])
    # "red" is in both titles (idf ln(1 + 0.5/2.5)), "mug" and "hose" in one each (idf ln 2):
    # cosine = r^2 / (r^2 + m^2).
    r, m = math.log(1.2), math.log(2)
    np.testing.assert_allclose(title_similarity([["red", "mug"], ["red", "hose"]]), [r * r / (r * r + m * m)] * 2)


def test_group_features_on_a_hand_made_group():
    query = "usb cable 6 ft without braid"
    pairs = [
        Pair(query, Product("a", "USB Cable 6 ft", brand="Anker", color="Black"), query_id="q"),
        Pair(query, Product("b", "USB Cable 3 ft, Nylon Braid"), query_id="q"),
    ]
    rows = pd.DataFrame(group_features(pairs), columns=FEATURE_NAMES)
    assert list(rows["cov_title"]) == [1.0, 0.75]  # wanted: usb, cable, 6, ft
    assert list(rows["phrase_title"]) == [1.0, 0.0]
    assert list(rows["num_missing"]) == [0.0, 1.0]  # "6" never appears in b
    assert list(rows["neg_hit_title"]) == [0.0, 1.0]  # b has the braid the query does not want
    assert list(rows["neg_echo_all"]) == [0.0, 0.0]
    np.testing.assert_allclose(rows["bm25_title_z"], [1.0, -1.0])


def test_a_product_without_what_the_query_negates_echoes_it_rather_than_hits_it():
    query = "paper bags without handles"
    pairs = [Pair(query, Product("a", "Paper Bags with Handles"), query_id="q"),
             Pair(query, Product("b", "Flat Paper Bags, No Handles"), query_id="q")]
    rows = pd.DataFrame(group_features(pairs), columns=FEATURE_NAMES)
    assert list(rows["neg_hit_title"]) == [1.0, 0.0] and list(rows["neg_echo_all"]) == [0.0, 1.0]


def test_brand_and_colour_features():
    pairs = [
        Pair("anker black usb cable", Product("a", "USB Cable", brand="Anker", color="Black"), query_id="q"),
        Pair("anker black usb cable", Product("b", "USB Cable", brand="Ugreen", color="White"), query_id="q"),
    ]
    rows = pd.DataFrame(group_features(pairs), columns=FEATURE_NAMES)
    assert list(rows["brand_in_query"]) == [1.0, 0.0]
    assert list(rows["other_brand_in_query"]) == [0.0, 1.0]  # the query asks for a rival's brand
    assert list(rows["color_match"]) == [1.0, 0.0]
    assert list(rows["color_mismatch"]) == [0.0, 1.0]


# --- the judge ------------------------------------------------------------------------------------------------------

def test_probabilities_have_one_row_per_pair_summing_to_one(judge):
    pairs = catalogue()
    proba = judge.predict_proba(pairs)
    assert proba.shape == (len(pairs), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert judge.predict_proba([]).shape == (0, 4)
    assert judge.uses_query_group and isinstance(judge, Judge)


def test_output_does_not_depend_on_order_batch_size_or_other_queries(judge):
    pairs = catalogue()
    reference = judge.predict_proba(pairs, batch_size=64)
    order = list(range(len(pairs)))
    random.Random(0).shuffle(order)
    shuffled = judge.predict_proba([pairs[i] for i in order], batch_size=1)
    np.testing.assert_array_equal(shuffled, reference[order])
    alone = judge.predict_proba(pairs[:6], batch_size=2)  # query q1 without the other queries
    np.testing.assert_array_equal(alone, reference[:6])
    repeated = judge.predict_proba(pairs[:6] + pairs[:1])  # a duplicate does not change its group's statistics
    np.testing.assert_array_equal(repeated[:6], reference[:6])


def test_pairs_without_query_id_are_grouped_by_query():
    pairs = catalogue()
    anonymous = [Pair(p.query, p.product) for p in pairs]
    np.testing.assert_array_equal(pair_features(anonymous), pair_features(pairs))


def test_save_load_round_trip_keeps_probabilities_and_spec(judge, tmp_path):
    pairs = catalogue()
    path = judge.save(tmp_path / "model")
    loaded = LexicalJudge.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(pairs), judge.predict_proba(pairs))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert loaded.spec == judge.spec == f"lexical:{tmp_path / 'model'}@{digest}"
    assert load_judge(f"lexical:{tmp_path / 'model'}").spec == loaded.spec


def test_spec_changes_when_the_model_changes(judge):
    other = fit_lexical(catalogue(), "esci", C=0.5)
    assert other.spec.split("@")[1] != judge.spec.split("@")[1]


def test_a_stored_spec_reloads_the_same_model_and_refuses_a_changed_one(judge, tmp_path):
    judge.save(tmp_path)
    assert load_judge(judge.spec).spec == judge.spec
    with pytest.raises(JudgeError, match="has changed"):
        load_judge(f"lexical:{tmp_path}@000000000000")


@pytest.mark.parametrize("content", ["{not json", "[]", '{"format": "other"}'])
def test_corrupt_model_says_which_command_makes_one(tmp_path, content):
    (tmp_path / "model.json").write_text(content)
    with pytest.raises(JudgeError, match="reljudge train --judge lexical"):
        LexicalJudge.load(tmp_path)


def test_missing_model_and_wrong_shapes_are_judge_errors(judge, tmp_path):
    with pytest.raises(JudgeError, match="reljudge train --judge lexical"):
        load_judge(f"lexical:{tmp_path / 'nowhere'}")
    with pytest.raises(JudgeError, match="do not fit"):
        LexicalJudge({**judge.model, "offsets": [0.0]})
    with pytest.raises(JudgeError, match="non-finite"):
        LexicalJudge({**judge.model, "offsets": [0.0, float("nan"), 0.0, 0.0]})


def test_scheme_option_must_match_and_unknown_options_are_refused_by_name(judge, tmp_path):
    judge.save(tmp_path)
    assert load_judge(f"lexical:{tmp_path}", scheme="esci").scheme.name == "esci"
    assert load_judge(f"lexical:{tmp_path}", scheme=get_scheme("esci", "ordinal")).scheme.level == "ordinal"
    with pytest.raises(JudgeError, match="not 'graded:1-3'"):
        load_judge(f"lexical:{tmp_path}", scheme="graded:1-3")
    with pytest.raises(JudgeError, match="judge 'lexical' takes no option 'device'"):
        load_judge(f"lexical:{tmp_path}", device="cpu")


def test_shipped_model_loads_through_the_registry():
    from reljudge.judges.registry import load_judge

    judge = load_judge("lexical")
    assert judge.spec.startswith("lexical@") and len(judge.spec) == len("lexical@") + 12
    assert judge.scheme.name == "esci"
    assert judge.predict_proba(catalogue()).shape == (18, 4)


# --- training -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme, grades", [("esci", False), ("graded:1-3", True)])
def test_fit_on_a_tiny_labelled_set(scheme, grades):
    pairs = catalogue(grades)
    judge = fit_lexical(pairs, scheme, C=1.0)
    assert judge.scheme.name == scheme
    assert judge.model["training"]["n_pairs"] == 18
    figures = evaluate(judge, pairs)
    assert figures["accuracy"] > 0.5  # in-sample: the features must separate these easy cases


def test_fit_binary_and_labels_absent_from_training():
    pairs = catalogue()
    binary = [Pair(p.query, p.product, p.query_id, label="1" if p.label == "E" else "0") for p in pairs]
    assert fit_lexical(binary, "binary").predict_proba(binary).shape == (18, 2)
    no_complements = [p for p in pairs if p.label != "C"]
    proba = fit_lexical(no_complements, "esci").predict_proba(pairs)
    assert proba[:, get_scheme("esci").index("C")].max() < 1e-12


def test_fit_refuses_unlabelled_pairs_and_unknown_hyperparameters():
    pairs = catalogue()
    with pytest.raises(InputError, match="row 2"):
        fit_lexical([pairs[0], Pair("q", Product("x", "t")), *pairs[1:]], "esci")
    with pytest.raises(JudgeError, match="unknown lexical hyperparameters"):
        fit_lexical(pairs, "esci", depth=3)


def test_training_digest_ignores_order_and_seed_is_recorded():
    pairs = catalogue()
    a = fit_lexical(pairs, "esci", seed=3)
    b = fit_lexical(pairs[::-1], "esci", seed=3)
    assert a.model["training"]["data_sha256"] == b.model["training"]["data_sha256"]
    assert a.model["training"]["seed"] == 3


def test_train_lexical_records_valid_figures_in_the_model(tmp_path):
    pairs = catalogue()
    summary = train_lexical(pairs[:12], "esci", tmp_path, valid_pairs=pairs[12:])
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["valid"] == summary["valid"]
    assert set(model["valid"]) >= {"alpha", "accuracy", "macro_f1", "recall", "predicted_distribution"}
    assert summary["spec"] == LexicalJudge.load(tmp_path).spec


def test_prior_offsets_match_the_target_distribution():
    log_proba = np.log(np.tile([0.6, 0.3, 0.1], (100, 1)) + np.linspace(0, 0.2, 100)[:, None] * [0, 1, 0])
    offsets = prior_offsets(log_proba, np.array([0.5, 0.5, 0.0]))
    shares = np.bincount((log_proba + offsets).argmax(axis=1), minlength=3) / 100
    assert abs(shares[0] - 0.5) <= 0.02 and shares[2] == 0


def test_agreement_figures_by_hand():
    scheme = get_scheme("esci")
    figures = agreement_figures(scheme, ["E", "E", "S", "I"], ["E", "S", "S", "I"])
    assert figures["accuracy"] == 0.75
    assert figures["recall"] == {"E": 0.5, "S": 1.0, "C": None, "I": 1.0}
    assert figures["predicted_distribution"] == {"E": 0.25, "S": 0.5, "C": 0.0, "I": 0.25}
    # Nominal alpha with 8 values (E 3, S 3, I 2): D_o = 2 * 1 / 8 (one mismatch, counted both ways, over n = 8),
    # D_e = (8 * 8 - 3 * 3 - 3 * 3 - 2 * 2) / (8 * 7) = 42 / 56; alpha = 1 - 0.25 / 0.75.
    assert figures["alpha"] == pytest.approx(1 - 0.25 / 0.75, abs=1e-4)
    assert agreement_figures(scheme, ["E", "E"], ["E", "E"])["alpha"] is None  # undefined, and strict JSON


@pytest.mark.shared_data
def test_shipped_model_agrees_with_esci_valid_labels(esci_dev_csv):
    frame = pd.read_csv(esci_dev_csv, dtype=str, keep_default_na=False)
    frame = frame[frame["split"] == "valid"]
    pairs = [
        Pair(r.query, Product(r.product_id, r.product_title, r.product_description, r.product_bullet_point,
                              r.product_brand, r.product_color, r.product_category), r.query_id, label=r.esci_label)
        for r in frame.itertuples(index=False)
    ]
    figures = evaluate(load_judge("lexical"), pairs)
    assert figures["alpha"] > 0.05
    assert figures["predicted_distribution"]["E"] < 0.7  # the prior offsets keep it from collapsing onto E
