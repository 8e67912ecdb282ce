"""Requests judged together get the labels they get alone; waiting requests are coalesced, failures reach them all."""

from __future__ import annotations

import asyncio

import numpy as np

from reljudge.errors import ReljudgeError
from reljudge.judges.registry import load_judge
from reljudge.service.batching import Batcher, Judged, judge_requests
from reljudge.store import Store


def test_a_request_judged_with_others_gets_its_own_labels(tmp_path, example_pairs):
    pairs = example_pairs()
    earbuds = [p for p in pairs if p.query_id == "q1"]
    # two requests for the same query with different candidates: a group judge must not mix them
    first, second = earbuds[:3], earbuds[2:]
    judge = load_judge("lexical")
    alone = {}
    for name, request in (("first", first), ("second", second)):
        with Store(tmp_path / f"{name}.duckdb") as store:
            (result,), _ = judge_requests(judge, store, [request], run_id=None, batch_size=64)
            alone[name] = [j.proba for j in result.judgments]
    with Store(tmp_path / "together.duckdb") as store:
        results, seconds = judge_requests(judge, store, [first, second, first], run_id=None, batch_size=64)
        # the same probabilities as alone, to the last bits a matrix product of another shape may round otherwise
        assert np.allclose([j.proba for j in results[0].judgments], alone["first"], rtol=1e-12, atol=0)
        assert np.allclose([j.proba for j in results[1].judgments], alone["second"], rtol=1e-12, atol=0)
        assert alone["first"][2] != alone["second"][0]  # the shared pair's label depends on its company
        assert [(r.n_cached, r.n_judged) for r in results] == [(0, 3), (0, len(second)), (0, 3)]
        assert seconds > 0
        again, _ = judge_requests(judge, store, [second], run_id=None, batch_size=64)
        assert (again[0].n_cached, again[0].n_judged) == (len(second), 0)
        recorded = store.con.execute("SELECT query_id FROM pairs").fetchall()
        assert {q for (q,) in recorded} == {"q1"}  # the pairs as sent, not as batched


def test_waiting_requests_are_coalesced_and_share_a_failure():
    seen: list[list[int]] = []

    async def work(requests):
        seen.append([len(r) for r in requests])
        await asyncio.sleep(0.05)
        if any(len(r) == 7 for r in requests):
            raise ReljudgeError("the judge's server is down")
        return [Judged([], 0, len(r)) for r in requests]

    async def scenario():
        batcher = Batcher(work, max_pairs=10)
        first = asyncio.ensure_future(batcher.judge([None] * 2))
        await asyncio.sleep(0.01)  # the first batch is being judged; the next requests wait together
        waiting = [asyncio.ensure_future(batcher.judge([None] * n)) for n in (3, 4, 5)]
        done = await asyncio.gather(first, *waiting)
        failing = [asyncio.ensure_future(batcher.judge([None] * n)) for n in (1, 7)]
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        await batcher.close()
        return done, outcomes

    done, outcomes = asyncio.run(scenario())
    assert [r.n_judged for r in done] == [2, 3, 4, 5]
    assert seen[:3] == [[2], [3, 4], [5]]  # 3 + 4 + 5 > 10 pairs: the third waits for the next batch
    assert seen[3] == [1, 7]  # judged together, so both get the failure
    assert all(isinstance(o, ReljudgeError) and "server is down" in str(o) for o in outcomes)
