from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import ReljudgeError
from reljudge.experiments.sampling import (
    allocate,
    parse_strata,
    pilot_sds,
    plan_sample,
    pps_probabilities,
    sample_frame,
    stratum_labels,
    systematic_pps,
)


def test_parse_strata_reads_columns_and_binned_columns():
    assert parse_strata("query_source, count:10") == [("query_source", None), ("count", 10)]
    assert parse_strata(None) == []
    with pytest.raises(ReljudgeError, match="at least 2"):
        parse_strata("count:1")


def test_stratum_labels_combine_columns_and_equal_count_bins():
    queries = pd.DataFrame({"source": ["a", "a", "b", "b"], "count": ["5", "100", "7", "7"]})
    labels = stratum_labels(queries, parse_strata("source,count:2"))
    # ranks of count (ties by order): 5 -> 1, 100 -> 4, 7 -> 2, 7 -> 3; two bins of two
    assert labels.tolist() == ["source=a|count=q1", "source=a|count=q2", "source=b|count=q1", "source=b|count=q2"]
    assert stratum_labels(queries, []).tolist() == ["all"] * 4
    with pytest.raises(ReljudgeError, match="not in the query table"):
        stratum_labels(queries, [("locale", None)])


def test_proportional_allocation_follows_the_shares():
    assert allocate(100, np.array([0.6, 0.4]), np.array([600, 400])).tolist() == [60, 40]
    # 10/3 each: floors 3, 3, 3 and the one left over goes to the first largest remainder
    assert allocate(10, np.full(3, 1 / 3), np.array([10, 10, 10])).tolist() == [4, 3, 3]


def test_neyman_allocation_by_hand():
    # W S = 0.6 * 1, 0.4 * 4 = 0.6, 1.6: n_h = 100 * 0.6 / 2.2 = 27.3 and 72.7
    assert allocate(100, np.array([0.6, 0.4]), np.array([600, 400]), sds=np.array([1.0, 4.0])).tolist() == [27, 73]


def test_allocation_caps_at_the_stratum_size_and_keeps_two_per_stratum():
    # target 33.3 for a stratum of 30: take it whole, the other 70 go to the first stratum
    shares = np.array([600, 30]) / 630
    assert allocate(100, shares, np.array([600, 30]), sds=np.array([1.0, 10.0])).tolist() == [70, 30]
    # an SD of 0 would give a stratum nothing; it still gets two so its variance can be estimated
    assert allocate(100, np.array([0.9, 0.1]), np.array([1000, 100]), sds=np.array([1.0, 0.0])).tolist() == [98, 2]
    with pytest.raises(ReljudgeError, match="only 10"):
        allocate(11, np.array([0.5, 0.5]), np.array([5, 5]))
    with pytest.raises(ReljudgeError, match="each needs 2"):
        allocate(3, np.full(2, 0.5), np.array([5, 5]))


def test_pps_probabilities_cap_big_queries_at_one():
    # 2 * t / 10 = 0.2, 0.2, 0.4, 1.2: the last is certain, one draw left for traffic 4: 0.25, 0.25, 0.5
    assert pps_probabilities(np.array([1.0, 1.0, 2.0, 6.0]), 2) == pytest.approx([0.25, 0.25, 0.5, 1.0])


def test_systematic_pps_draws_each_unit_with_its_probability():
    pi = np.array([0.25, 0.25, 0.5, 1.0])
    rng = np.random.default_rng(0)
    counts = np.zeros(4)
    for _ in range(4000):
        drawn = systematic_pps(pi, rng)
        assert len(drawn) == 2 == len(set(drawn))
        counts[drawn] += 1
    assert counts / 4000 == pytest.approx(pi, abs=0.03)


def test_plan_and_draw_a_stratified_sample_without_replacement():
    strata = pd.Series(["a"] * 60 + ["b"] * 40)
    plan = plan_sample(strata, 10)
    assert plan.strata == ("a", "b") and plan.counts.tolist() == [6, 4]
    positions = plan.draw(np.random.default_rng(1))
    assert len(set(positions)) == 10
    assert (strata.iloc[positions] == "a").sum() == 6
    frame = sample_frame(pd.DataFrame({"query_id": [f"q{i}" for i in range(100)]}), plan, positions)
    a = frame[frame["stratum"] == "a"].iloc[0]
    assert (a["stratum_size"], a["stratum_share"], a["inclusion_prob"], a["weight"]) == (60, 0.6, 0.1, 10.0)
    assert np.array_equal(plan.draw(np.random.default_rng(1)), positions)  # seeded


def test_a_traffic_weighted_plan_shares_and_weighs_by_traffic():
    strata = pd.Series(["a", "a", "a", "b", "b", "b"])
    traffic = np.array([1.0, 1.0, 2.0, 4.0, 4.0, 0.0])
    plan = plan_sample(strata, 4, traffic=traffic)
    # traffic shares 4/12 and 8/12; the query without traffic is left out of the frame
    assert plan.shares == pytest.approx([1 / 3, 2 / 3])
    assert plan.sizes.tolist() == [3, 2]
    frame = sample_frame(pd.DataFrame({"query_id": list("uvwxyz")}), plan, plan.draw(np.random.default_rng(0)))
    # weight = t / pi = T_h / n_h for every query not taken for certain: 4 / 2 in a, 8 / 2 in b
    assert sorted(frame["weight"]) == pytest.approx([2.0, 2.0, 4.0, 4.0])


def test_neyman_needs_a_pilot_and_a_known_allocation():
    with pytest.raises(ReljudgeError, match="pilot"):
        plan_sample(pd.Series(["a", "b"] * 5), 4, allocation="neyman")
    with pytest.raises(ReljudgeError, match="unknown allocation"):
        plan_sample(pd.Series(["a", "b"] * 5), 4, allocation="optimal")


def test_pilot_sds_from_sds_or_per_query_diffs_with_pooled_fill():
    sds, filled = pilot_sds(pd.DataFrame({"stratum": ["a", "b"], "sd": [3.0, 4.0]}), ["a", "b", "c"])
    # c is missing: the root mean square of 3 and 4 is sqrt(12.5)
    assert sds == pytest.approx({"a": 3.0, "b": 4.0, "c": 12.5**0.5}) and filled == ["c"]
    diffs = pd.DataFrame({"stratum": ["a", "a", "a", "b"], "diff": [1.0, 2.0, 3.0, 5.0]})
    sds, filled = pilot_sds(diffs, ["a", "b"])
    assert sds["a"] == pytest.approx(1.0) and sds["b"] == pytest.approx(1.0) and filled == ["b"]
