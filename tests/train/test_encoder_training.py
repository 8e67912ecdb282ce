from __future__ import annotations

import json

import numpy as np
import pytest

from reljudge.errors import JudgeError
from reljudge.records import Pair, Product
from reljudge.train.encoder import choose_stack_C, class_weights, query_folds, train_cross_encoder


def pairs_of(queries: int, per_query: int = 2) -> list[Pair]:
    return [Pair(f"query {q}", Product(f"p{q}-{i}", f"title {i}"), query_id=f"q{q}", label="ES"[i % 2])
            for q in range(queries) for i in range(per_query)]


def test_folds_split_by_query_never_by_pair_and_are_seeded():
    pairs = pairs_of(7, 3)
    folds = query_folds(pairs, 3, seed=0)
    for q in {p.query_id for p in pairs}:
        assert len({folds[i] for i, p in enumerate(pairs) if p.query_id == q}) == 1
    assert sorted(np.bincount([folds[i] for i in range(0, 21, 3)]).tolist()) == [2, 2, 3]
    np.testing.assert_array_equal(folds, query_folds(pairs, 3, seed=0))
    with pytest.raises(JudgeError, match="at least as many queries"):
        query_folds(pairs_of(2), 3, seed=0)


def test_balanced_class_weights_follow_n_over_k_n_c_and_skip_absent_labels():
    y = np.array([0, 0, 0, 1, 3, 3])  # label 2 absent: k_present = 3
    np.testing.assert_allclose(class_weights(y, 4, "balanced"), [6 / 9, 6 / 3, 0, 6 / 6])
    np.testing.assert_allclose(class_weights(y, 4, "none"), [1, 1, 1, 1])
    with pytest.raises(JudgeError):
        class_weights(y, 4, "sqrt")


def test_stack_C_is_chosen_by_grouped_cross_validation():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2, 3], 30)
    features = rng.normal(size=(120, 3)) + y[:, None] * 2.0  # a signal every C can find
    folds = np.tile(np.arange(3), 40)
    from reljudge.labels import get_scheme

    C, cv = choose_stack_C(features, y, folds, get_scheme("esci"), (0.01, 1.0), seed=0)
    assert C in (0.01, 1.0) and set(cv["alpha_by_C"]) == {"0.01", "1.0"}
    assert cv["best"]["alpha"] == max(cv["alpha_by_C"].values()) > 0.5


def test_unknown_hyperparameters_are_refused(tiny_encoder_base, tmp_path):
    with pytest.raises(JudgeError, match="unknown cross-encoder hyperparameters"):
        train_cross_encoder(pairs_of(4), "esci", tmp_path, base=tiny_encoder_base, epoch=1)


def test_layers_keeps_the_lowest_layers_of_the_base_and_the_judge_runs_on_them(tiny_encoder_base, tmp_path):
    from reljudge.judges.encoder.judge import EncoderJudge

    pairs = pairs_of(4, 4)
    train_cross_encoder(pairs, "esci", tmp_path, base=tiny_encoder_base, layers=1, folds=2, epochs=1,
                        batch_size=8, stack_C=(0.1,))
    assert json.loads((tmp_path / "config.json").read_text())["num_hidden_layers"] == 1
    proba = EncoderJudge(tmp_path).predict_proba(pairs)
    assert proba.shape == (16, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_more_layers_than_the_base_has_are_refused(tiny_encoder_base, tmp_path):
    with pytest.raises(JudgeError, match="has 2 layers; keep 1 to 2"):
        train_cross_encoder(pairs_of(4), "esci", tmp_path, base=tiny_encoder_base, layers=3)
