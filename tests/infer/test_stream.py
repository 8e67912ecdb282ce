"""judge_to_shards: the same judgments as judging in memory, whole query groups, resume, cache, rejected rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.infer.batch import judge_pairs, to_frame
from reljudge.infer.stream import judge_to_shards, local_engine
from reljudge.io import read_pairs
from reljudge.judges.base import JudgeBase
from reljudge.labels import get_scheme
from reljudge.store import Store

BINARY = get_scheme("binary")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class CountingJudge(JudgeBase):
    """A real (if trivial) judge whose probabilities depend on the query's candidate set when it is a group judge."""

    spec = "counting@1"
    scheme = BINARY

    def __init__(self, uses_query_group: bool):
        self.uses_query_group = uses_query_group
        self.seen = 0

    def predict_proba(self, pairs, batch_size=64):
        self.seen += len(pairs)
        sizes: dict[str, int] = {}
        for p in pairs:
            sizes[p.query_id] = sizes.get(p.query_id, 0) + 1
        share = [1 / (1 + sizes[p.query_id]) if self.uses_query_group else len(p.product.title) % 7 / 7
                 for p in pairs]
        return np.array([[s, 1 - s] for s in share])


def write_pairs(path: Path, queries: list[str]) -> Path:
    pd.DataFrame({"query": queries, "product_id": [f"P{i}" for i in range(len(queries))],
                  "product_title": [f"title {'x' * i}" for i in range(len(queries))],
                  "pair_id": [str(i) for i in range(len(queries))]}).to_csv(path, index=False)
    return path


GROUPED = ["a"] * 3 + ["b"] * 5 + ["c"] + ["d"] * 4


def in_memory(path: Path, judge) -> pd.DataFrame:
    read = read_pairs(path, scheme=BINARY)
    return to_frame(read.pairs, judge_pairs(read.pairs, judge).judgments, BINARY)


@pytest.mark.parametrize("group", [True, False])
@pytest.mark.parametrize("chunk_size", [1, 2, 4, 100])
def test_shards_hold_the_in_memory_judgments_whatever_the_chunk_size(tmp_path, group, chunk_size):
    path = write_pairs(tmp_path / "p.csv", GROUPED)
    judge = CountingJudge(group)
    run = judge_to_shards(path, judge, tmp_path / "out", options={"scheme": BINARY}, chunk_size=chunk_size)
    shards = pd.read_parquet(tmp_path / "out")
    assert run.pairs == len(shards) == len(GROUPED)
    pd.testing.assert_frame_equal(shards.sort_values("pair_id").reset_index(drop=True),
                                  in_memory(path, CountingJudge(group)).sort_values("pair_id").reset_index(drop=True),
                                  check_dtype=False)


def test_a_query_that_comes_back_stops_a_group_judge_and_sort_by_query_fixes_it(tmp_path):
    path = write_pairs(tmp_path / "p.csv", ["a", "a", "b", "a"])
    with pytest.raises(InputError, match="--sort-by-query") as caught:
        judge_to_shards(path, CountingJudge(True), tmp_path / "out", options={"scheme": BINARY}, chunk_size=2)
    assert (caught.value.row, caught.value.field) == (4, "query")
    judge_to_shards(path, CountingJudge(True), tmp_path / "out", options={"scheme": BINARY}, chunk_size=2,
                    sort_by_query=True, overwrite=True)
    shards = pd.read_parquet(tmp_path / "out")
    pd.testing.assert_frame_equal(shards.sort_values("pair_id").reset_index(drop=True),
                                  in_memory(path, CountingJudge(True)).sort_values("pair_id").reset_index(drop=True),
                                  check_dtype=False)
    assert not (tmp_path / "out" / "_sorted-input.parquet").exists()  # removed once the job is done


def test_a_pointwise_judge_streams_an_ungrouped_input(tmp_path):
    path = write_pairs(tmp_path / "p.csv", ["a", "b", "a"])
    assert judge_to_shards(path, CountingJudge(False), tmp_path / "out", options={"scheme": BINARY},
                           chunk_size=1).pairs == 3


class Interrupted(Exception):
    pass


def stops_after(chunks: int, judge):
    """An engine that judges `chunks` chunks in this process, then fails like a killed run."""

    def make(run_id):
        def run(work):
            for n, (chunk, result) in enumerate(local_engine(judge, store=None, run_id=run_id)(work)):
                if n == chunks:
                    raise Interrupted
                yield chunk, result
        return run
    return make


def test_a_resumed_run_judges_only_the_chunks_not_yet_done(tmp_path):
    path = write_pairs(tmp_path / "p.csv", GROUPED)
    out = tmp_path / "out"
    first = CountingJudge(True)
    with pytest.raises(Interrupted):
        judge_to_shards(path, first, out, options={"scheme": BINARY}, chunk_size=4, engine=stops_after(2, first))
    assert json.loads((out / "_manifest.json").read_text())["status"] == "running"
    second = CountingJudge(True)
    run = judge_to_shards(path, second, out, options={"scheme": BINARY}, chunk_size=4)
    # work chunks of 4 rows cut at query boundaries: [a a a] [] [b b b b b c] [] [d d d d]; two were done
    assert run.resumed == 2 and second.seen == run.n_judged == len(GROUPED) - 3
    assert pd.read_parquet(out)["pair_id"].is_unique and run.pairs == len(GROUPED)


def test_pairs_the_store_holds_are_not_judged_again(tmp_path):
    path = write_pairs(tmp_path / "p.csv", GROUPED)
    with Store(tmp_path / "s.duckdb") as store:
        judge_to_shards(path, CountingJudge(True), tmp_path / "a", options={"scheme": BINARY}, store=store,
                        chunk_size=4)
        judge = CountingJudge(True)
        run = judge_to_shards(path, judge, tmp_path / "b", options={"scheme": BINARY}, store=store, chunk_size=4)
    assert judge.seen == 0 and run.n_cached == len(GROUPED)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a"), pd.read_parquet(tmp_path / "b"))


def test_a_run_that_fails_midway_is_recorded_failed_with_its_judges_identity(tmp_path):
    path = write_pairs(tmp_path / "p.csv", GROUPED)
    judge = CountingJudge(True)
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(Interrupted):
            judge_to_shards(path, judge, tmp_path / "out", options={"scheme": BINARY}, store=store, chunk_size=4,
                            engine=stops_after(2, judge))
        [failed] = store.runs()
        done = judge_to_shards(path, judge, tmp_path / "out", options={"scheme": BINARY}, store=store, chunk_size=4)
        finished = {run.run_id: run for run in store.runs()}
    assert (failed.status, failed.identity, failed.input) == ("failed", judge.identity, str(path))
    assert failed.finished is not None and failed.n_pairs == 3  # the shards it wrote: [a a a] and an empty one
    resumed = next(run for run in finished.values() if run.run_id != failed.run_id)
    assert (resumed.status, resumed.identity, resumed.n_pairs) == ("done", judge.identity, done.pairs)


def test_rejected_rows_are_written_once_across_a_resume(tmp_path):
    out = tmp_path / "out"
    options = {"scheme": get_scheme("esci"), "skip_invalid": True}
    judge = CountingJudge(False)
    judge.scheme = get_scheme("esci")
    judge.predict_proba = lambda pairs, batch_size=64: np.full((len(pairs), 4), 0.25)
    with pytest.raises(Interrupted):
        judge_to_shards(FIXTURES / "pairs_bad.csv", judge, out, options=options, chunk_size=2,
                        engine=stops_after(1, judge))
    run = judge_to_shards(FIXTURES / "pairs_bad.csv", judge, out, options=options, chunk_size=2)
    rejected = pd.read_csv(out / "_rejected.csv", dtype=str)
    assert rejected["row"].tolist() == ["2", "3", "4"] and run.rejected == 3
    assert rejected.columns.tolist()[:4] == ["row", "field", "reason", "query"]
    assert run.pairs == 2
