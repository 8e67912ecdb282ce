from __future__ import annotations

import math

import numpy as np
import pytest

from reljudge.metrics.calibration import brier, ece

PROBA = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.65, 0.35]])
Y = np.array([0, 1, 1, 1])


def test_ece_hand_computed_with_right_closed_bins():
    # conf .9 right -> bin (.8,.9]: gap +0.1
    # conf .6 wrong -> bin (.5,.6]: gap -0.6
    # conf .7 right and conf .65 wrong -> both in bin (.6,.7]: gaps +0.3 and -0.65 sum to -0.35
    # ECE = (|0.1| + |-0.6| + |-0.35|) / 4 = 1.05 / 4 = 0.2625
    # (were 0.7 put in (.7,.8], the answer would be (0.1 + 0.6 + 0.3 + 0.65) / 4 = 0.4125)
    assert ece(PROBA, Y, n_bins=10) == pytest.approx(0.2625)


def test_ece_of_a_certain_judge_is_its_error_rate():
    proba = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    # all confidence 1 in the last bin; accuracy 2/3: ECE = |2/3 - 1| = 1/3
    assert ece(proba, np.array([0, 1, 1])) == pytest.approx(1 / 3)


def test_brier_hand_computed():
    # (.1^2 + .1^2) + (.6^2 + .6^2) + (.3^2 + .3^2) + (.65^2 + .65^2) = .02 + .72 + .18 + .845 = 1.765; / 4
    assert brier(PROBA, Y) == pytest.approx(1.765 / 4)


def test_weights_equal_repeated_rows_and_batch():
    weights = np.array([2.0, 0.0, 1.0, 1.0])
    repeated = PROBA[[0, 0, 2, 3]], Y[[0, 0, 2, 3]]
    assert ece(PROBA, Y, sample_weight=weights) == pytest.approx(ece(*repeated))
    assert brier(PROBA, Y, sample_weight=weights) == pytest.approx(brier(*repeated))
    batch = np.stack([np.ones(4), weights])
    assert ece(PROBA, Y, sample_weight=batch) == pytest.approx([ece(PROBA, Y), ece(*repeated)])
    assert brier(PROBA, Y, sample_weight=batch) == pytest.approx([brier(PROBA, Y), brier(*repeated)])


def test_empty_is_nan():
    assert math.isnan(ece(np.zeros((0, 3)), np.zeros(0, dtype=int)))
    assert math.isnan(brier(np.zeros((0, 3)), np.zeros(0, dtype=int)))
