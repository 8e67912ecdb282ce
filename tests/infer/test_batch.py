import numpy as np

from reljudge.infer.batch import judge_pairs, to_frame
from reljudge.judges.base import JudgeBase
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product
from reljudge.store import Store


class CountingJudge(JudgeBase):
    """A real (if trivial) judge that counts how many pairs it was asked about."""

    spec = "counting@1"
    scheme = get_scheme("binary")

    def __init__(self, uses_query_group=False):
        self.uses_query_group = uses_query_group
        self.seen = 0

    def predict_proba(self, pairs, batch_size=64):
        self.seen += len(pairs)
        group = {}
        for p in pairs:
            group[p.query_id] = group.get(p.query_id, 0) + 1
        # the probability depends on the size of the query's candidate set, as a group judge's may
        return np.array([[1 / (1 + group[p.query_id]), 1 - 1 / (1 + group[p.query_id])] for p in pairs])


def make_pairs(n, query="q1"):
    return [Pair(query, Product(f"P{i}", f"title {i}"), query_id=query, pair_id=str(i)) for i in range(n)]


def test_second_run_with_the_same_judge_reuses_the_store(tmp_path):
    judge = CountingJudge()
    with Store(tmp_path / "s.duckdb") as store:
        first = judge_pairs(make_pairs(5), judge, store=store, chunk_size=2)
        second = judge_pairs(make_pairs(5), judge, store=store, chunk_size=2)
        runs = store.info().runs
    assert (first.n_judged, first.n_cached) == (5, 0)
    assert (second.n_judged, second.n_cached) == (0, 5)
    assert judge.seen == 5 and runs == 2
    assert [j.proba for j in first.judgments] == [j.proba for j in second.judgments]


def test_duplicate_pairs_in_one_input_are_judged_once(tmp_path):
    judge = CountingJudge()
    pairs = make_pairs(3) + make_pairs(3)
    run = judge_pairs(pairs, judge)
    assert judge.seen == 3 and len(run.judgments) == 6
    assert run.judgments[0] == run.judgments[3]


def test_group_judge_rejudges_a_query_whose_candidate_set_changed(tmp_path):
    judge = CountingJudge(uses_query_group=True)
    with Store(tmp_path / "s.duckdb") as store:
        judge_pairs(make_pairs(3), judge, store=store)
        again = judge_pairs(make_pairs(3), judge, store=store)
        grown = judge_pairs(make_pairs(4), judge, store=store)
    assert again.n_cached == 3 and again.n_judged == 0
    assert grown.n_judged == 4
    assert grown.judgments[0].proba != again.judgments[0].proba


def test_group_chunks_hold_whole_queries_so_batches_do_not_change_labels():
    judge = CountingJudge(uses_query_group=True)
    pairs = make_pairs(5, "a") + make_pairs(5, "b")
    small = judge_pairs(pairs, judge, chunk_size=1)
    large = judge_pairs(pairs, judge, chunk_size=100)
    assert [j.proba for j in small.judgments] == [j.proba for j in large.judgments]


def test_frame_has_one_probability_column_per_label_and_the_spec():
    pairs = make_pairs(2)
    run = judge_pairs(pairs, CountingJudge())
    frame = to_frame(pairs, run.judgments, get_scheme("binary"))
    assert list(frame.columns) == ["pair_id", "query_id", "query", "product_id", "label", "p_0", "p_1", "judge",
                                   "pair_hash", "reason"]
    assert set(frame["judge"]) == {"counting@1"}
