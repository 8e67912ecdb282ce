"""Semantic group features from static token vectors: the table, the features' meaning and their invariances."""

from __future__ import annotations

import numpy as np
import pytest

from reljudge.errors import JudgeError
from reljudge.judges.encoder.inputs import PairEncoder
from reljudge.judges.encoder.judge import SHIPPED
from reljudge.judges.features.token_vectors import SEMANTIC_NAMES, SemanticFeatures, principal_table
from reljudge.judges.model_dir import shipped_directory
from reljudge.records import Pair, Product

TOKENIZER = shipped_directory(SHIPPED) / "tokenizer.json"


def test_principal_table_keeps_the_geometry_of_a_low_rank_table():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 20)) + rng.normal(size=20)
    projected = principal_table(table, dimensions=4)
    assert projected.shape == (50, 4) and projected.dtype == np.float16
    centred = table - table.mean(axis=0)
    distances = np.linalg.norm(centred[:, None] - centred[None], axis=2)
    kept = np.linalg.norm(projected[:, None].astype(float) - projected[None].astype(float), axis=2)
    np.testing.assert_allclose(kept, distances, atol=0.02 * distances.max())


def pair(query: str, title: str, product_id: str, query_id: str = "q1") -> Pair:
    return Pair(query=query, product=Product(product_id=product_id, title=title), query_id=query_id)


@pytest.fixture(scope="module")
def features():
    """A table where "sofa" and "couch" share a vector and "lamp" points elsewhere; other tokens are zero."""
    inputs = PairEncoder(TOKENIZER, max_length=32, query_tokens=8)
    table = np.zeros((inputs.tokenizer.get_vocab_size(), 3), dtype=np.float16)
    for word, vector in {"sofa": (1, 0, 0), "couch": (1, 0, 0), "lamp": (0, 1, 0), "table": (0.6, 0.8, 0)}.items():
        table[inputs.tokenizer.token_to_id(word)] = vector
    return SemanticFeatures(inputs, table)


def test_a_synonym_is_as_close_to_the_query_as_the_exact_word(features):
    group = [pair("sofa", "couch", "p1"), pair("sofa", "lamp", "p2"), pair("sofa", "sofa", "p3"),
             pair("sofa", "table", "p4")]
    rows = dict(zip(["couch", "lamp", "sofa", "table"], features(group)))
    column = {name: i for i, name in enumerate(SEMANTIC_NAMES)}
    gap, z = column["sem_query_title_gap"], column["sem_query_title_z"]
    assert rows["couch"][gap] == pytest.approx(0.0, abs=1e-6) and rows["sofa"][gap] == pytest.approx(0.0, abs=1e-6)
    assert rows["lamp"][gap] == pytest.approx(-1.0, abs=1e-3)
    assert rows["couch"][z] > rows["table"][z] > rows["lamp"][z]
    typical = column["sem_title_typicality"]
    assert rows["couch"][typical] > rows["lamp"][typical]  # two of its three neighbours share its vector


def test_rows_depend_only_on_the_pair_and_its_group(features):
    group = [pair("sofa", "couch", "p1"), pair("sofa", "lamp", "p2"), pair("sofa", "table", "p3"),
             pair("lamp", "lamp", "p4", query_id="q2"), pair("lamp", "sofa", "p5", query_id="q2")]
    rows = features(group)
    assert rows.shape == (5, len(SEMANTIC_NAMES))
    shuffled = [group[i] for i in (4, 2, 0, 3, 1, 2)]
    np.testing.assert_allclose(features(shuffled), rows[[4, 2, 0, 3, 1, 2]])
    np.testing.assert_allclose(features(group[:3]), rows[:3])  # another query's candidates change nothing


def test_a_single_candidate_or_an_empty_title_gives_finite_features(features):
    rows = features([pair("sofa", "", "p1")])
    assert np.isfinite(rows).all() and rows.tolist() == [[0.0] * len(SEMANTIC_NAMES)]


def test_a_table_smaller_than_the_vocabulary_or_a_missing_file_is_refused(tmp_path):
    inputs = PairEncoder(TOKENIZER, max_length=32, query_tokens=8)
    with pytest.raises(JudgeError, match="do not cover"):
        SemanticFeatures(inputs, np.zeros((10, 4)))
    with pytest.raises(JudgeError, match="token_vectors.npy"):
        SemanticFeatures.load(inputs, tmp_path)


def test_the_shipped_vectors_know_related_words():
    inputs = PairEncoder(TOKENIZER, max_length=32, query_tokens=8)
    shipped = SemanticFeatures.load(inputs, shipped_directory(SHIPPED))
    couch, sofa, lamp, earbuds = shipped.vectors(["couch", "sofa", "lamp", "headphones"])
    assert couch @ sofa > couch @ lamp and couch @ sofa > couch @ earbuds
