from __future__ import annotations

import json

import numpy as np
import pytest

from reljudge.errors import JudgeError
from reljudge.records import Pair, Product
from reljudge.train.common import class_weights
from reljudge.train.encoder import choose_stack_C, query_folds, train_cross_encoder


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
    np.testing.assert_allclose(class_weights(np.bincount(y, minlength=4), "balanced"), [6 / 9, 6 / 3, 0, 6 / 6])
    np.testing.assert_allclose(class_weights(np.bincount(y, minlength=4), "none"), [1, 1, 1, 1])
    with pytest.raises(JudgeError):
        class_weights(np.bincount(y, minlength=4), "sqrt")


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


def test_a_killed_training_run_resumes_its_kept_folds_and_last_checkpoint(tiny_encoder_base, tmp_path):
    """kill -9 part-way through the second fold (perhaps while a checkpoint is written); the same command again
    keeps fold 1's logits and resumes fold 2 from its last whole checkpoint."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
    model = tmp_path / "ce"
    command = [sys.executable, "-m", "reljudge.cli.main", "train", "--judge", "cross-encoder", "--base",
               str(tiny_encoder_base), "--data", str(examples), "--output", str(model), "--epochs", "40",
               "--batch-size", "4", "--folds", "2", "--save-steps", "2", "--stack-C", "0.1"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = model / "checkpoints"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None:
        if (work / "fold-0" / "logits.npy").exists() and list((work / "fold-1").glob("checkpoint-*/rng_state.pth")):
            break
        time.sleep(0.02)
    assert first.poll() is None, "training ended before it could be killed"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    log = " ".join(again.stderr.split())
    assert "fold 1/2: logits kept from an earlier run" in log and "resuming from" in log
    assert (model / "reljudge.json").exists() and not work.exists()


def test_checkpoints_of_another_run_are_not_resumed(tmp_path):
    from reljudge.train.encoder import Checkpoints

    Checkpoints(tmp_path / "c", {"data": "a"}).stage("fold-0").mkdir()
    assert (tmp_path / "c" / "fold-0").exists()
    assert Checkpoints(tmp_path / "c", {"data": "a"}).stage("fold-0").exists()
    assert not Checkpoints(tmp_path / "c", {"data": "b"}).stage("fold-0").exists()


def test_a_student_learns_the_teachers_probabilities_for_pairs_people_did_not_label(tiny_encoder_base, tmp_path):
    from reljudge.judges.encoder.judge import EncoderJudge
    from reljudge.train.encoder import train_cross_encoder

    people = pairs_of(4, 4)
    taught = [Pair(f"query {q}", Product(f"t{q}-{i}", f"other {i}"), query_id=f"q{q}") for q in range(4)
              for i in range(4)]
    proba = np.tile([[0.1, 0.1, 0.1, 0.7], [0.6, 0.2, 0.1, 0.1]], (8, 1))
    summary = train_cross_encoder(people, "esci", tmp_path, base=tiny_encoder_base, folds=2, epochs=1, batch_size=8,
                                  stack_C=(0.1,), teacher=(taught + people[:2], np.vstack([proba, proba[:2]])))
    assert summary["n_pairs"] == 16 and summary["n_teacher_pairs"] == 16  # people's two pairs keep their labels
    config = json.loads((tmp_path / "reljudge.json").read_text())
    assert config["training"]["teacher_pairs"] == 16 and config["pooling"] == "mean"
    assert EncoderJudge(tmp_path).predict_proba(taught).shape == (16, 4)
    with pytest.raises(JudgeError, match="one row per pair"):
        train_cross_encoder(people, "esci", tmp_path, base=tiny_encoder_base, teacher=(taught, proba[:3]))


def test_the_category_features_are_a_choice_the_judge_reads_back(tiny_encoder_base, tmp_path):
    from reljudge.judges.encoder.judge import EncoderJudge
    from reljudge.judges.features.category import CATEGORY_NAMES
    from reljudge.train.encoder import train_cross_encoder

    people = pairs_of(4, 4)
    for category in (False, True):
        model = tmp_path / f"category-{category}"
        train_cross_encoder(people, "esci", model, base=tiny_encoder_base, folds=2, epochs=1, batch_size=8,
                            stack_C=(0.1,), category_features=category)
        features = json.loads((model / "reljudge.json").read_text())["stack"]["features"]
        assert set(CATEGORY_NAMES) <= set(features) if category else not set(CATEGORY_NAMES) & set(features)
        judge = EncoderJudge(model)
        assert (judge.categories is not None) == category  # no e5 model loaded for a stack that does not read it
        assert judge.predict_proba(people).shape == (16, 4)


def test_a_held_out_stack_costs_one_fine_tune_and_learns_on_the_fold_its_encoder_never_saw(tiny_encoder_base,
                                                                                          tmp_path, caplog):
    import logging

    from reljudge.judges.encoder.judge import EncoderJudge

    people = pairs_of(8, 4)
    with caplog.at_level(logging.INFO, logger="reljudge.train.encoder"):
        summary = train_cross_encoder(people, "esci", tmp_path, base=tiny_encoder_base, folds=2, epochs=1,
                                      batch_size=8, stack_C=(0.1,), stack_fit="held-out")
    held = query_folds(people, 2, 0) == 0
    assert summary["cv"]["best"]["n_pairs"] == held.sum() == 16  # the stack's CV runs over the held-out fold only
    assert "fine-tuning on 16 pairs; the stack learns on the 16 held out" in caplog.text
    assert "fold 1/2" not in caplog.text  # no cross-fitting
    assert EncoderJudge(tmp_path).predict_proba(people).shape == (32, 4)


def test_the_gain_order_folds_into_the_stack_and_raises_the_expected_grade_where_the_score_is_high():
    from reljudge.labels import get_scheme
    from reljudge.train.common import fit_linear, on_grade_scale, with_gain_order
    from reljudge.train.encoder import stacked_logits

    rng = np.random.default_rng(0)
    esci = get_scheme("esci")
    features = rng.normal(size=(200, 5))
    y = rng.integers(0, 4, 200)
    stack = fit_linear(features, y, 4, C=0.1, max_iter=500, seed=0)
    other_x = rng.normal(size=(300, 3))
    other_gain = 3 * (other_x[:, 0] > 0)  # the other shop's gain follows the first feature alone
    ordered = with_gain_order(stack, features, y, esci.grades, (other_x, other_gain), share=4, weight=1.0)
    assert np.asarray(ordered["coef"])[:, 3:].tolist() == np.asarray(stack["coef"])[:, 3:].tolist()
    grades = np.asarray(esci.grades, dtype=float)

    def expected(linear, rows):
        e = np.exp(stacked_logits(linear, rows))
        return (e / e.sum(axis=1, keepdims=True)) @ grades

    high, low = features.copy(), features.copy()
    high[:, 0], low[:, 0] = 2.0, -2.0
    assert (expected(ordered, high) - expected(ordered, low)).mean() > (expected(stack, high)
                                                                        - expected(stack, low)).mean() + 0.5
    predicted = stacked_logits(ordered, features).argmax(axis=1)
    assert np.abs(np.bincount(predicted, minlength=4) - np.bincount(y, minlength=4)).max() <= 3  # the mix kept
    graded = get_scheme("graded:1-3")
    assert on_grade_scale(graded, ["1", "2", "3"], esci).tolist() == [0.0, 1.5, 3.0]


def test_another_shops_graded_pairs_shape_the_stack(tiny_encoder_base, tmp_path):
    import pandas as pd

    from reljudge.judges.encoder.judge import EncoderJudge

    other = tmp_path / "other.csv"
    pd.DataFrame({"id": range(40), "product_uid": [f"u{i}" for i in range(40)],
                  "product_title": [f"title {i % 3}" for i in range(40)],
                  "search_term": [f"query {i % 5}" for i in range(40)],
                  "relevance": [1 + (i % 3) for i in range(40)]}).to_csv(other, index=False)
    people = pairs_of(4, 4)
    plain, ordered = tmp_path / "plain", tmp_path / "ordered"
    train_cross_encoder(people, "esci", plain, base=tiny_encoder_base, folds=2, epochs=1, batch_size=8,
                        stack_C=(0.1,))
    summary = train_cross_encoder(people, "esci", ordered, base=tiny_encoder_base, folds=2, epochs=1, batch_size=8,
                                  stack_C=(0.1,), order_data=other, order_layout="homedepot")
    written = json.loads((ordered / "reljudge.json").read_text())
    assert written["training"]["order_pairs"] == 40 and written["training"]["hyperparameters"]["order_share"] == 4
    assert written["stack"]["coef"] != json.loads((plain / "reljudge.json").read_text())["stack"]["coef"]
    assert EncoderJudge(ordered).predict_proba(people).shape == (16, 4) and summary["n_pairs"] == 16
