from __future__ import annotations

import math

import numpy as np
import pytest

from reljudge.metrics.worth import gain_correlation, worth


def test_gain_correlation_hand_computed():
    # expected gains 0, 1, 2, 3 against human gains 0, 2, 1, 3: both mean 3/2, deviations -3/2 -1/2 1/2 3/2 and
    # -3/2 1/2 -1/2 3/2; sum of products 9/4 - 1/4 - 1/4 + 9/4 = 4, sums of squares 5 and 5: r = 4 / 5
    assert gain_correlation([0, 1, 2, 3], [0, 2, 1, 3]) == pytest.approx(0.8)
    assert gain_correlation([0, 1, 2, 3], [3, 1, 2, 0]) == pytest.approx(-0.8)


def test_weights_count_a_pair_as_often_as_it_was_drawn():
    x, y = np.array([0.0, 1, 2, 3]), np.array([0.0, 2, 1, 3])
    weights = np.array([[1, 1, 1, 1], [2, 0, 1, 3], [0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    got = gain_correlation(x, y, sample_weight=weights)
    drawn = np.repeat(np.arange(4), weights[1])
    assert got[:2] == pytest.approx([0.8, np.corrcoef(x[drawn], y[drawn])[0, 1]])
    # pairs 1 and 2 only: gains 1, 2 against 2, 1, r = -1; one pair or none: undefined
    assert got[2] == pytest.approx(-1.0)
    assert np.isnan(got[3:]).all()


def test_gain_correlation_is_undefined_when_either_side_is_constant():
    # exactly constant, though the mean of 0.1, 0.1, 0.1 is not exactly 0.1: no spurious r of 0
    assert math.isnan(gain_correlation([0.1, 0.1, 0.1], [0, 1, 2]))
    assert math.isnan(gain_correlation([0, 1, 2], [1, 1, 1]))
    assert math.isnan(gain_correlation([0.5], [1.0]))
    assert math.isnan(gain_correlation([], []))


def test_worth_is_one_over_one_minus_r_squared():
    assert worth(0.8) == pytest.approx(1 / 0.36) and worth(-0.8) == pytest.approx(1 / 0.36)
    assert worth(0.0) == 1.0
    assert worth(1.0) == math.inf and math.isnan(worth(math.nan))
    assert worth(np.array([0.0, 0.5])) == pytest.approx([1.0, 4 / 3])


def test_worth_is_the_variance_ratio_of_ppi_with_the_optimal_weight():
    # n sampled human labels y with the judge's f known on a population large enough that its mean is known (0):
    # theta = mean(y - lam f) with lam = cov(y, f) / var(f) fitted on the sample. Its variance against mean(y)'s is
    # what worth says, less the 1 / n a fitted lam costs
    rng = np.random.default_rng(0)
    r, n, repeats = 0.6, 200, 4000
    f = rng.standard_normal((repeats, n))
    y = r * f + math.sqrt(1 - r * r) * rng.standard_normal((repeats, n))
    fc, yc = f - f.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    lam = (fc * yc).sum(axis=1) / (fc * fc).sum(axis=1)
    corrected = (y - lam[:, None] * f).mean(axis=1)
    assert y.mean(axis=1).var() / corrected.var() == pytest.approx(worth(r), rel=0.08)
