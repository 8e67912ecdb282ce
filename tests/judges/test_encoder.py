"""The cross-encoder judge: tiny real models trained in fixtures (tests/conftest.py), and the shipped default."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reljudge.errors import JudgeError
from reljudge.io import read_pairs
from reljudge.judges.base import predict
from reljudge.judges.encoder.inputs import PairEncoder
from reljudge.judges.encoder.judge import SHIPPED, EncoderJudge, group_batches
from reljudge.judges.model_dir import shipped_directory
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"


@pytest.fixture(scope="module")
def pairs():
    return read_pairs(EXAMPLE_PAIRS, scheme=get_scheme("esci"), require_labels=True).pairs


def test_inputs_stay_within_the_token_budget(pairs):
    encoder = PairEncoder(shipped_directory(SHIPPED) / "tokenizer.json", max_length=24, query_tokens=4)
    encoded = encoder.encode(pairs)
    assert max(len(ids) for ids, _ in encoded) <= 24
    query, product = encoder.texts(pairs[:1])[0]
    assert query == "wireless earbuds noise cancelling"[: len(query)] and len(query) < 33
    batch = encoder.pad(encoded[:3])
    assert batch.input_ids.shape == batch.attention_mask.shape == batch.token_type_ids.shape
    assert batch.attention_mask.sum(axis=1).tolist() == [len(ids) for ids, _ in encoded[:3]]


def test_batches_never_mix_query_groups_and_depend_only_on_the_group():
    items = [(("q2", "b"), 5), (("q1", "z"), 3), (("q1", "a"), 3), (("q1", "m"), 1), (("q2", "a"), 9)]
    batches = group_batches(items, size=2)
    assert batches == [[("q1", "m"), ("q1", "a")], [("q1", "z")], [("q2", "b"), ("q2", "a")]]
    assert group_batches(list(reversed(items)), size=2) == batches


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_trained_judge_gives_a_distribution_per_pair(backend, pairs, tiny_cross_encoder, request):
    directory = tiny_cross_encoder if backend == "torch" else request.getfixturevalue("tiny_cross_encoder_onnx")
    judge = load_judge(f"cross-encoder:{directory}")
    proba = judge.predict_proba(pairs)
    assert proba.shape == (len(pairs), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert judge.uses_query_group and judge.scheme.labels == ("E", "S", "C", "I")
    assert judge.spec.startswith(f"cross-encoder:{directory}@")
    assert load_judge(judge.spec).spec == judge.spec  # the pinned spec loads the same model


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_labels_do_not_depend_on_input_order_batch_size_or_chunking(backend, pairs, tiny_cross_encoder, request):
    directory = tiny_cross_encoder if backend == "torch" else request.getfixturevalue("tiny_cross_encoder_onnx")
    judge = load_judge(f"cross-encoder:{directory}")
    reference = judge.predict_proba(pairs, batch_size=64)
    order = list(range(len(pairs)))
    random.Random(1).shuffle(order)
    shuffled = [pairs[i] for i in order]
    groups = [[p for p in pairs if p.query_id == q] for q in dict.fromkeys(p.query_id for p in pairs)]
    # the encoder's logits are bit-identical (int8 activations are quantised per batch, and batches are per group)
    logits = judge.encoder_logits(pairs)
    np.testing.assert_array_equal(judge.encoder_logits(shuffled), logits[order])
    np.testing.assert_array_equal(np.vstack([judge.encoder_logits(g) for g in groups]), logits)
    # the stack's float arithmetic may differ in the last bit with the number of rows, never more
    np.testing.assert_allclose(judge.predict_proba(shuffled, batch_size=3), reference[order], rtol=0, atol=1e-12)
    by_group = np.vstack([judge.predict_proba(g, batch_size=1) for g in groups])
    np.testing.assert_allclose(by_group, reference, rtol=0, atol=1e-12)
    # the texts cut once and shared by the encoder and the semantic features give what each cutting its own gives
    np.testing.assert_array_equal(judge.stack(judge.group_features(pairs), logits), reference)


def test_training_config_is_saved_beside_the_model(tiny_cross_encoder):
    config = json.loads((tiny_cross_encoder / "reljudge.json").read_text())
    training = config["training"]
    assert {"base", "data", "data_sha256", "seed", "hyperparameters", "cv", "label_distribution"} <= set(training)
    assert training["hyperparameters"]["folds"] == 2 and training["n_pairs"] == 28
    assert {"alpha", "accuracy", "macro_f1", "predicted_distribution", "encoder_alone"} <= set(config["valid"])
    assert (tiny_cross_encoder / "model.safetensors").exists() and (tiny_cross_encoder / "tokenizer.json").exists()


def test_a_changed_model_no_longer_matches_its_pinned_spec(tiny_cross_encoder, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_cross_encoder, copy)
    spec = load_judge(f"cross-encoder:{copy}").spec
    config = json.loads((copy / "reljudge.json").read_text())
    config["stack"]["offsets"][0] += 0.5
    (copy / "reljudge.json").write_text(json.dumps(config))
    with pytest.raises(JudgeError, match="has changed"):
        load_judge(spec)


def test_a_directory_without_a_model_says_how_to_make_one(tmp_path):
    with pytest.raises(JudgeError, match="reljudge train --judge cross-encoder"):
        load_judge(f"cross-encoder:{tmp_path}")


def test_a_model_of_another_scheme_is_refused(tiny_cross_encoder):
    with pytest.raises(JudgeError, match="predicts scheme 'esci'"):
        EncoderJudge(tiny_cross_encoder, scheme=get_scheme("binary"))


# --- the shipped default judge --------------------------------------------------------------------------------------

def test_the_shipped_cross_encoder_judges_the_examples(pairs):
    judge = load_judge("cross-encoder")
    assert judge.spec.startswith("cross-encoder@") and len(judge.spec) == len("cross-encoder@") + 12
    labels = predict(judge, pairs)
    assert len(labels) == 28 and set(labels) <= {"E", "S", "C", "I"}
    accuracy = np.mean([label == p.label for label, p in zip(labels, pairs)])
    assert accuracy > 0.4  # the made-up examples are easy; the real figures are in bench/


def test_the_shipped_judge_is_small_and_runs_without_torch():
    size = sum(f.stat().st_size for f in shipped_directory(SHIPPED).iterdir())
    assert size < 26 * 2**20
    script = (
        "import sys; from reljudge.judges.registry import load_judge; from reljudge.io import read_pairs; "
        "from reljudge.labels import get_scheme; "
        f"pairs = read_pairs({str(EXAMPLE_PAIRS)!r}, scheme=get_scheme('esci')).pairs; "
        "load_judge('cross-encoder').predict_proba(pairs); "
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
