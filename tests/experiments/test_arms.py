from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.experiments.arms import measure_arms, shown_pairs
from reljudge.experiments.design import design_from_sample
from reljudge.experiments.labelling import judge_gains, label_gains
from reljudge.experiments.validate import rank_agreement, validate
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product

SAMPLE = pd.DataFrame({"query_id": ["q1", "q2"], "stratum": ["all", "all"], "weight": [1.0, 1.0],
                       "stratum_share": [1.0, 1.0], "inclusion_prob": [np.nan, np.nan]}, index=pd.Index([1, 2]))
CONTROL = {"q1": ["a", "b", "c"], "q2": ["x"]}
TREATMENT = {"q1": ["b", "a", "d"]}
GAINS = {("q1", "a"): 0.1, ("q1", "b"): 1.0, ("q1", "c"): 0.0, ("q2", "x"): 1.0}
SOURCES = ("sample.csv", "control.run", "treatment.run")


def test_shown_pairs_are_the_union_of_both_top_k_in_order():
    assert shown_pairs(["q1", "q2"], CONTROL, TREATMENT, 2) == [("q1", "a"), ("q1", "b"), ("q2", "x")]


def test_measure_arms_sdcg_by_hand():
    got, unjudged = measure_arms(SAMPLE, CONTROL, TREATMENT, GAINS, metric="sdcg", k=2, top_gain=1.0, min_gain=1.0,
                                 sources=SOURCES)
    norm = 1 + 1 / math.log2(3)
    # q1 control [0.1, 1] -> (0.1 + 0.6309) / norm; treatment [1, 0.1] -> (1 + 0.1 * 0.6309) / norm
    assert got["control"].tolist() == pytest.approx([(0.1 + 1 / math.log2(3)) / norm, 1 / norm])
    # q2: treatment shows nothing for it, so scores 0
    assert got["treatment"].tolist() == pytest.approx([(1 + 0.1 / math.log2(3)) / norm, 0.0])
    assert got["diff"].tolist() == pytest.approx((got["treatment"] - got["control"]).tolist())
    assert unjudged == 0


def test_unlabelled_pairs_gain_nothing_and_are_counted():
    _, unjudged = measure_arms(SAMPLE, CONTROL, TREATMENT, GAINS, metric="precision", k=3, top_gain=1.0,
                               min_gain=1.0, sources=SOURCES)
    assert unjudged == 1  # (q1, d) has no label


def test_ndcg_uses_the_pool_of_both_arms():
    got, _ = measure_arms(SAMPLE.iloc[:1], CONTROL, TREATMENT, GAINS, metric="ndcg", k=2, top_gain=1.0,
                          min_gain=1.0, sources=SOURCES)
    assert got["treatment"].iloc[0] == pytest.approx(1.0)  # treatment's [b, a] is the best order of {a, b}


def test_a_query_in_neither_run_names_the_sample_row():
    sample = pd.concat([SAMPLE, SAMPLE.iloc[:1].assign(query_id="q9").set_axis([3])])
    with pytest.raises(InputError, match=r"sample.csv, row 3, field 'query_id': query 'q9' is in neither run"):
        measure_arms(sample, CONTROL, TREATMENT, GAINS, metric="sdcg", k=2, top_gain=1.0, min_gain=1.0,
                     sources=SOURCES)


def test_label_gains_use_the_scheme():
    labels = pd.DataFrame({"query_id": ["q"], "product_id": ["p"], "label": ["S"]})
    assert label_gains(labels, get_scheme("esci")) == {("q", "p"): 0.1}


def _pair(query_id: str, product_id: str, title: str) -> Pair:
    return Pair(query="red running shoes", product=Product(product_id, title), query_id=query_id)


def test_judge_gains_judges_the_shown_pairs_and_refuses_unknown_ones():
    judge = load_judge("majority")
    pairs = [_pair("q1", "a", "red running shoes"), _pair("q1", "b", "blue sandals")]
    gains = judge_gains(pairs, [("q1", "a"), ("q1", "b")], judge, store=None, source="pairs.csv")
    assert gains == {("q1", "a"): 1.0, ("q1", "b"): 1.0}  # the majority judge says E everywhere
    expected = judge_gains(pairs, [("q1", "a")], judge, store=None, source="pairs.csv", expected=True)
    assert 0 < expected[("q1", "a")] < 1  # sum_l p_l g_l under its prior
    with pytest.raises(InputError, match="pairs.csv.*product 'z' for query 'q1'"):
        judge_gains(pairs, [("q1", "z")], judge, store=None, source="pairs.csv")


def test_rank_agreement_by_hand():
    # one discordant pair of 6 (the last two swapped): tau = (5 - 1) / 6; rho = 1 - 6 * 2 / (4 * 15) = 0.8
    got = rank_agreement(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 4.0, 3.0]))
    assert got == pytest.approx({"kendall_tau": 4 / 6, "spearman_rho": 0.8})
    assert rank_agreement(np.ones(3), np.arange(3.0)) == {"kendall_tau": None, "spearman_rho": None}


def test_validate_compares_levels_and_decisions():
    sample = pd.DataFrame({"query_id": list("abcd"), "stratum": "all", "weight": 1.0, "stratum_share": 1.0,
                           "inclusion_prob": np.nan})
    human = sample.assign(control=[0.1, 0.2, 0.3, 0.4], treatment=[0.3, 0.5, 0.4, 0.6])
    judged = sample.assign(control=[0.2, 0.1, 0.3, 0.5], treatment=[0.4, 0.4, 0.45, 0.7])
    result = validate(human.assign(diff=human.treatment - human.control),
                      judged.assign(diff=judged.treatment - judged.control), design_from_sample(sample))
    assert result["n_queries"] == 4
    assert result["same_sign"] and result["human"]["effect"] == pytest.approx(0.2)
    assert result["judge"]["effect"] == pytest.approx((0.2 + 0.3 + 0.15 + 0.2) / 4)
    assert result["passes"] == (result["kendall_tau"] > 0.5 and result["spearman_rho"] > 0.65)
