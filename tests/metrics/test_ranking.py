from __future__ import annotations

import math

import pytest

from reljudge.metrics.ranking import dcg, ndcg, precision, sdcg

LOG3 = math.log2(3)  # the discount of rank 2 is 1 / log2(3) = 0.6309


def test_dcg_discounts_by_log2_of_rank_plus_one():
    # 1/log2(2) + 0.1/log2(3) + 0/log2(4) = 1 + 0.063093
    assert dcg([1.0, 0.1, 0.0, 1.0], 3) == pytest.approx(1 + 0.1 / LOG3)
    assert dcg([], 5) == 0.0


def test_sdcg_divides_by_k_results_all_at_the_top_gain():
    # (1 + 0.1/log2 3) / (1 + 1/log2 3 + 1/2) = 1.063093 / 2.130930
    assert sdcg([1.0, 0.1, 0.0, 1.0], 3, top_gain=1.0) == pytest.approx(1.063093 / 2.130930, abs=1e-6)
    assert sdcg([1.0] * 3, 3, top_gain=1.0) == pytest.approx(1.0)
    # the same gains on a 0..2 scale: the normaliser uses the top gain 2
    assert sdcg([2.0, 0.0], 2, top_gain=2.0) == pytest.approx(2 / (2 * (1 + 1 / LOG3)))


def test_sdcg_counts_missing_ranks_as_no_gain():
    # four results for K = 5: DCG = 1 + 0.1/log2 3 + 1/log2 5 = 1.493770; norm adds 1/log2 5 + 1/log2 6
    assert sdcg([1.0, 0.1, 0.0, 1.0], 5, top_gain=1.0) == pytest.approx(1.493770 / 2.948459, abs=1e-6)
    # returning fewer results never scores higher than returning good ones at the missing ranks
    assert sdcg([1.0], 3, top_gain=1.0) < sdcg([1.0, 0.1], 3, top_gain=1.0)


def test_ndcg_normalises_by_the_best_order_of_the_pool():
    # DCG [0.1, 1] = 0.1 + 1/log2 3 = 0.730930; ideal [1, 0.1] = 1 + 0.1/log2 3 = 1.063093
    assert ndcg([0.1, 1.0], 2, pool=[1.0, 0.1, 0.01]) == pytest.approx(0.730930 / 1.063093, abs=1e-6)
    assert ndcg([1.0, 0.1], 2, pool=[0.1, 1.0]) == pytest.approx(1.0)
    assert ndcg([0.0, 0.0], 2, pool=[0.0, 0.0]) == 0.0


def test_precision_counts_results_at_or_above_the_relevance_gain():
    assert precision([1.0, 0.1, 0.0, 1.0], 5, min_gain=1.0) == pytest.approx(2 / 5)
    assert precision([1.0, 0.1, 0.0, 1.0], 2, min_gain=0.1) == 1.0


def test_k_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        dcg([1.0], 0)


def test_ndcg_and_precision_match_trec_eval_conventions_of_ir_measures():
    ir_measures = pytest.importorskip("ir_measures")
    qrels = [ir_measures.Qrel("q", d, rel) for d, rel in (("a", 100), ("b", 10), ("c", 1), ("d", 0))]
    run = [ir_measures.ScoredDoc("q", d, score) for d, score in (("b", 3.0), ("d", 2.0), ("a", 1.0))]
    found = ir_measures.calc_aggregate([ir_measures.nDCG @ 3, ir_measures.P(rel=100) @ 3], qrels, run)
    gains = [0.1, 0.0, 1.0]  # the run's ranking, in ESCI gains (qrels hold them x100)
    assert ndcg(gains, 3, pool=[1.0, 0.1, 0.01, 0.0]) == pytest.approx(found[ir_measures.nDCG @ 3], abs=1e-4)
    assert precision(gains, 3, min_gain=1.0) == pytest.approx(found[ir_measures.P(rel=100) @ 3])
