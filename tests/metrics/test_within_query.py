from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.metrics import roc_auc_score

from reljudge.metrics.within_query import expected_gain, kendall_tau_b, per_query_auc, per_query_tau, rank_auc

ESCI_GAINS = (1.0, 0.1, 0.01, 0.0)


def test_expected_gain_weights_the_gains_by_the_probabilities():
    # 0.5 * 1 + 0.5 * 0.1 = 0.55; certain of I: 0
    proba = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    assert expected_gain(proba, ESCI_GAINS) == pytest.approx([0.55, 0.0])


def test_kendall_tau_b_hand_computed_with_ties():
    # items a b c d with x = 3, 2, 2, 1 and y = 2, 2, 1, 1; the 6 pairs:
    # ab: x 3>2, y 2=2 -> tied in y;  ac: x >, y > -> C;  ad: >, > -> C;  bc: x 2=2 -> tied in x, y >;
    # bd: >, > -> C;  cd: x >, y = -> tied in y.  C = 3, D = 0, n0 = 6, n1 (x ties) = 1, n2 (y ties) = 2
    # tau_b = 3 / sqrt(5 * 4) = 0.670820
    x, y = [3, 2, 2, 1], [2, 2, 1, 1]
    assert kendall_tau_b(x, y) == pytest.approx(3 / math.sqrt(20))
    assert kendall_tau_b(x, y) == pytest.approx(kendalltau(x, y, variant="b").statistic)


def test_kendall_tau_b_signs_and_undefined_cases():
    assert kendall_tau_b([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert kendall_tau_b([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert math.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))  # constant judge: undefined
    assert math.isnan(kendall_tau_b([1], [2]))


def test_kendall_tau_b_matches_scipy_on_random_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 4, 15), rng.integers(0, 3, 15)
        assert kendall_tau_b(x, y) == pytest.approx(kendalltau(x, y, variant="b").statistic)


def test_rank_auc_counts_ties_one_half():
    # positives 0.9, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4) (0.9>0.1) (0.4=0.4 -> 1/2) (0.4>0.1) = 3.5 / 4
    assert rank_auc([0.9, 0.4, 0.4, 0.1], [True, True, False, False]) == pytest.approx(3.5 / 4)
    assert rank_auc([0.9, 0.4, 0.4, 0.1], [True, True, False, False]) == pytest.approx(
        roc_auc_score([1, 1, 0, 0], [0.9, 0.4, 0.4, 0.1]))
    assert math.isnan(rank_auc([0.3, 0.2], [True, True]))


def test_per_query_tau_keeps_queries_with_two_human_grades_and_scores_a_tied_judge_zero():
    groups = ["a", "a", "a", "b", "b", "c", "c"]
    # a: scores 0.9, 0.5, 0.1 against grades 1, 0.1, 0 -> perfectly ordered, tau 1
    # b: both pairs graded 1: nothing to order, left out
    # c: grades 1 and 0 but the judge scores both 0.3: it orders nothing, tau 0 (not left out)
    scores = [0.9, 0.5, 0.1, 0.2, 0.8, 0.3, 0.3]
    grades = [1.0, 0.1, 0.0, 1.0, 1.0, 1.0, 0.0]
    taus = per_query_tau(groups, scores, grades)
    assert taus.to_dict() == {"a": pytest.approx(1.0), "c": 0.0}


def test_per_query_auc_keeps_queries_with_both_classes():
    groups = ["a", "a", "a", "b", "b"]
    # a: positive 0.2 below negatives 0.5 and 0.1 -> 1/2; b: no negative, left out
    auc = per_query_auc(groups, [0.2, 0.5, 0.1, 0.9, 0.8], [True, False, False, True, True])
    assert auc.to_dict() == {"a": pytest.approx(0.5)}
    assert per_query_auc([], [], []).empty
