"""Which pairs a queue chooses: uncertainty by hand, ranking, audits of confident disagreements, overlap shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reljudge.service.selection import (
    overlap_mask,
    select_disagreement,
    select_random,
    select_uncertain,
    uncertainty,
)

NAN = float("nan")
PROBA = np.array([
    [0.97, 0.01, 0.01, 0.01],  # sure
    [0.25, 0.25, 0.25, 0.25],  # as unsure as can be
    [0.5, 0.5, 0.0, 0.0],      # a coin between two labels
    [NAN, NAN, NAN, NAN],      # unscored
    [0.6, 0.3, 0.1, 0.0],
])


def test_entropy_and_margin_by_hand():
    entropy = uncertainty(PROBA, "entropy")
    assert entropy[1] == pytest.approx(math.log(4))
    assert entropy[2] == pytest.approx(math.log(2))
    assert entropy[4] == pytest.approx(-(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1)))
    assert math.isnan(entropy[3])
    margin = uncertainty(PROBA, "margin")
    assert margin[[0, 1, 2, 4]] == pytest.approx([1 - 0.96, 1.0, 1.0, 1 - 0.3])
    with pytest.raises(ValueError, match="unknown uncertainty measure 'gini'"):
        uncertainty(PROBA, "gini")


def test_uncertain_ranks_least_sure_first_and_never_chooses_unscored():
    rows, scores = select_uncertain(PROBA, 10)
    assert rows.tolist() == [1, 4, 2, 0]  # 0.898 nats for row 4 beat the coin's log 2 = 0.693
    assert scores[0] == pytest.approx(math.log(4))
    # margin ties (rows 1 and 2 both 1.0) keep row order
    assert select_uncertain(PROBA, 2, "margin")[0].tolist() == [1, 2]


def test_disagreement_takes_confident_contradictions_first():
    human = np.array([3, 0, 1, 0, 1])  # row 0: judge E at 0.97 vs I; row 4: judge E at 0.6 vs S; row 1: tie -> E
    rows, confidence = select_disagreement(PROBA, human, 10)
    assert rows.tolist() == [0, 4, 2]  # row 2's argmax is E (first of the tie), the human said S
    assert confidence.tolist() == pytest.approx([0.97, 0.6, 0.5])
    no_label = np.array([-1, -1, -1, -1, -1])
    assert select_disagreement(PROBA, no_label, 10)[0].size == 0


def test_random_and_overlap_are_seeded_and_sized():
    first = select_random(100, 30, np.random.default_rng(7))[0]
    assert len(set(first.tolist())) == 30
    assert first.tolist() == select_random(100, 30, np.random.default_rng(7))[0].tolist()
    mask = overlap_mask(50, 0.2, np.random.default_rng(0))
    assert mask.sum() == 10
    assert overlap_mask(7, 0.0, np.random.default_rng(0)).sum() == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        overlap_mask(5, 1.5, np.random.default_rng(0))
