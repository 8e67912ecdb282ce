from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import ReljudgeError
from reljudge.experiments.bootstrap import resampled_means
from reljudge.experiments.design import Design, design_from_sample
from reljudge.experiments.effects import (
    bh_adjust,
    estimate_effect,
    mde,
    srs_variance,
    stratified_mean,
    t_test,
)

# Two strata: A has N = 10 queries and 3 drawn (d = 1, 2, 3), B has N = 5 and 2 drawn (d = 4, 8).
# W = 10/15, 5/15; weights N_h / n_h; pi = n_h / N_h.
D = np.array([1.0, 2.0, 3.0, 4.0, 8.0])
SAMPLE = pd.DataFrame({
    "query_id": list("abcde"),
    "stratum": ["A", "A", "A", "B", "B"],
    "weight": [10 / 3] * 3 + [5 / 2] * 2,
    "stratum_share": [2 / 3] * 3 + [1 / 3] * 2,
    "inclusion_prob": [0.3] * 3 + [0.4] * 2,
})


def test_stratified_mean_and_variance_by_hand():
    got = stratified_mean(D, design_from_sample(SAMPLE))
    # ybar_A = 2, ybar_B = 6: theta = 2/3 * 2 + 1/3 * 6 = 10/3
    assert got.estimate == pytest.approx(10 / 3)
    # s_A^2 = 1, s_B^2 = 8; v_A = (1 - 3/10) 1/3 = 7/30, v_B = (1 - 2/5) 8/2 = 2.4
    assert got.variances == pytest.approx([7 / 30, 2.4])
    # V = (4/9)(7/30) + (1/9)(2.4) = 14/135 + 36/135 = 10/27
    assert got.variance == pytest.approx(10 / 27)
    # Satterthwaite: V^2 / ((14/135)^2 / 2 + (36/135)^2 / 1) = 2500 / 1394
    assert got.df == pytest.approx(2500 / 1394)
    # S^2 = 2/3 * 1 + 1/3 * 8 + 2/3 (2 - 10/3)^2 + 1/3 (6 - 10/3)^2 = 186/27
    assert got.population_variance == pytest.approx(186 / 27)


def test_shares_default_to_the_weights_and_fpc_to_none():
    bare = SAMPLE.assign(stratum_share=np.nan, inclusion_prob=np.nan)
    got = stratified_mean(D, design_from_sample(bare))
    assert got.estimate == pytest.approx(10 / 3)  # sum of weights: 10 and 5
    assert got.variances == pytest.approx([1 / 3, 4.0])  # s_h^2 / n_h without the correction


def test_unequal_weights_give_the_hajek_mean_and_its_linearised_variance():
    design = Design(("A",), np.zeros(3, int), np.array([1.0, 1.0, 2.0]), np.array([1.0]), np.zeros(3))
    got = stratified_mean(np.array([0.0, 3.0, 6.0]), design)
    # ybar = (0 + 3 + 12) / 4 = 3.75; e = (1(-3.75), 1(-0.75), 2(2.25)) / 4; v = 3/2 * sum e^2
    assert got.estimate == pytest.approx(3.75)
    assert got.variance == pytest.approx(1.5 * (3.75**2 + 0.75**2 + 4.5**2) / 16)


def test_a_stratum_of_one_query_cannot_give_a_variance_unless_taken_whole():
    design = Design(("A", "B"), np.array([0, 0, 1]), np.ones(3), np.array([0.5, 0.5]), np.zeros(3))
    with pytest.raises(ReljudgeError, match="'B' holds a single query"):
        stratified_mean(np.array([1.0, 2.0, 3.0]), design)
    whole = Design(("A", "B"), np.array([0, 0, 1]), np.ones(3), np.array([0.5, 0.5]), np.array([0.0, 0.0, 1.0]))
    assert stratified_mean(np.array([1.0, 2.0, 3.0]), whole).variances[1] == 0


def test_t_interval_and_p_value():
    low, high, p = t_test(10 / 3, 10 / 27, 2500 / 1394, 0.05)
    from scipy import stats

    half = stats.t.ppf(0.975, 2500 / 1394) * (10 / 27) ** 0.5
    assert (low, high) == pytest.approx((10 / 3 - half, 10 / 3 + half))
    assert p == pytest.approx(2 * stats.t.sf((10 / 3) / (10 / 27) ** 0.5, 2500 / 1394))
    assert t_test(0.2, 0.0, float("inf"), 0.05) == (0.2, 0.2, 0.0)


def test_mde_is_2_8_standard_errors_at_80_percent_power():
    # z_0.975 + z_0.8 = 1.959964 + 0.841621
    assert mde(0.01) == pytest.approx(0.02801585, abs=1e-7)


def test_srs_variance_uses_the_population_variance_and_the_overall_fpc():
    design = design_from_sample(SAMPLE)
    # (1 - 5/15) * (186/27) / 5 = 372/405; N = sum 1/pi = 3/0.3 + 2/0.4 = 15
    assert srs_variance(stratified_mean(D, design), design) == pytest.approx(372 / 405)


def test_benjamini_hochberg_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.5 -> x 4/rank = 0.04, 0.06, 0.0533, 0.5 -> running minimum from the top
    assert bh_adjust([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_estimate_effect_reports_absolute_relative_and_per_stratum():
    control = np.array([1.0, 1.0, 1.0, 2.0, 2.0])
    report = estimate_effect(control, control + D, design_from_sample(SAMPLE))
    assert report["effect"] == pytest.approx(10 / 3)
    assert report["control"] == pytest.approx(2 / 3 * 1 + 1 / 3 * 2)
    assert report["relative_effect"] == pytest.approx((10 / 3) / (4 / 3))
    assert report["relative_ci_low"] < report["relative_effect"] < report["relative_ci_high"]
    assert report["se"] == pytest.approx((10 / 27) ** 0.5)
    assert report["mde"] == pytest.approx(mde((10 / 27) ** 0.5))
    assert report["mde_srs"] == pytest.approx(mde((372 / 405) ** 0.5))
    a, b = report["per_stratum"]
    assert (a["stratum"], a["n"], a["effect"], a["control"]) == ("A", 3, pytest.approx(2.0), pytest.approx(1.0))
    assert b["p_adjusted"] >= b["p_value"] and a["p_adjusted"] >= a["p_value"]


def test_bootstrap_variance_matches_the_analytic_one():
    rng = np.random.default_rng(0)
    design = design_from_sample(SAMPLE)
    draws = resampled_means(D, design, 40_000, rng)[:, 0]
    # m_h = n_h - 1 draws and sqrt(1 - f_h) rescaling make the bootstrap variance the analytic V = 10/27
    assert draws.var() == pytest.approx(10 / 27, rel=0.05)
    report = estimate_effect(np.zeros(5), D, design, bootstrap=2000, seed=1)
    assert report["method"] == "bootstrap" and report["ci_low"] < 10 / 3 < report["ci_high"]
    assert report["se"] == pytest.approx((10 / 27) ** 0.5, rel=0.1)
