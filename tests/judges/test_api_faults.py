"""The API judge against a fault-injecting local server: no pair is lost, none is labelled from garbage."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from reljudge.errors import JudgeError, ReljudgeError
from reljudge.infer.batch import judge_pairs, to_frame
from reljudge.io import write_judgments
from reljudge.judges.api.client import ApiUnavailable, ClientConfig, RateLimiter
from reljudge.judges.api.judge import ApiJudge
from reljudge.judges.base import judgments
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.prompts.templates import load_template
from reljudge.records import Pair, Product
from reljudge.store import Store

ESCI = get_scheme("esci")
LABELS = "ESCI"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"


def make_pairs(n: int) -> list[Pair]:
    return [Pair(f"query {i:02d}", Product(f"P{i}", f"product number {i}", brand="Acme")) for i in range(n)]


def answers(pairs: list[Pair]) -> dict[str, str]:
    return {p.query: LABELS[i % 4] for i, p in enumerate(pairs)}


def make_judge(server, *, concurrency: int = 4, max_retries: int = 3, timeout: float = 0.5, rpm=None,
               **options) -> ApiJudge:
    """A judge with quick retries, so the faults cost milliseconds (a 429's Retry-After still waits its second)."""
    client = ClientConfig(server.base_url, concurrency=concurrency, timeout=timeout, max_retries=max_retries,
                          backoff=0.01, rpm=rpm)
    return ApiJudge("stub-model", ESCI, load_template("esci-zero-shot"), client=client, **options)


def test_transient_faults_are_retried_and_every_pair_gets_its_own_label(fault_server):
    pairs = make_pairs(24)
    faults = {pairs[0].query: ["500", "500"], pairs[1].query: ["503"], pairs[2].query: ["429"],
              pairs[3].query: ["timeout"], pairs[4].query: ["timeout", "500"], pairs[5].query: ["truncate"],
              pairs[6].query: ["truncate", "truncate"], pairs[7].query: ["notjson"]}
    server = fault_server(answers(pairs), faults)
    judge = make_judge(server)
    started = time.perf_counter()
    found = judge.judge_pairs(pairs)
    seconds = time.perf_counter() - started
    assert [j.label for j in found] == [LABELS[i % 4] for i in range(len(pairs))]
    assert all(j.reason == "" and j.raw == LABELS[i % 4] for i, j in enumerate(found))
    # log-probabilities renormalised over the labels: "The" is dropped, the answer and one other label remain
    e, s = np.exp(-0.1), np.exp(-2.5)
    np.testing.assert_allclose(found[0].proba, [e / (e + s), s / (e + s), 0, 0])
    assert judge.usage.retries == 11 and judge.usage.requests == server.requests == 35
    assert judge.usage.tokens_in == 24 * 100 and judge.usage.tokens_out == 24
    assert seconds >= 1.0  # the 429's Retry-After: 1 was honoured


def test_garbage_replies_are_unscored_with_the_raw_reply_and_cached(fault_server):
    pairs = make_pairs(20)
    garbage = {p.query: ["garbage"] for p in pairs[:5]}
    server = fault_server(answers(pairs), garbage)
    with Store() as store:
        run = judge_pairs(pairs, make_judge(server), store=store)
        unscored = [j for j in run.judgments if j.label is None]
        assert len(unscored) == 5 and run.n_judged == 20
        assert all(j.reason == "unparseable reply" and j.raw == "banana split" and j.proba is None for j in unscored)
        assert [j.label for j in run.judgments[5:]] == [LABELS[i % 4] for i in range(5, 20)]
        frame = to_frame(pairs, run.judgments, ESCI)
        assert frame["label"].isna().sum() == 5 and np.isnan(frame.loc[0, "p_E"])
        stored = store.con.execute("SELECT count(*), count(label) FROM judgments WHERE reason = 'unparseable reply'"
                                   " AND raw = 'banana split'").fetchall()[0]
        assert stored == (5, 0)
        requests = server.requests
        again = judge_pairs(pairs, make_judge(server), store=store)  # a fresh judge, the same spec
    assert server.requests == requests  # a finished job sends no request
    assert again.n_cached == 20 and again.n_judged == 0
    assert [j.reason for j in again.judgments] == [j.reason for j in run.judgments]


def test_a_body_that_is_never_a_completion_is_unscored_not_lost(fault_server):
    pairs = make_pairs(3)
    server = fault_server(answers(pairs), {pairs[1].query: ["notjson"] * 10})
    found = make_judge(server, max_retries=2).judge_pairs(pairs)
    assert [j.label for j in found] == ["E", None, "C"]
    assert found[1].reason.startswith("malformed response after 3 tries") and "bad gateway" in found[1].raw


def test_a_rejected_request_is_unscored_with_the_servers_message(fault_server):
    pairs = make_pairs(2)
    server = fault_server(answers(pairs), {pairs[0].query: ["400"]})
    found = make_judge(server).judge_pairs(pairs)
    assert found[0].label is None and found[0].reason == "request rejected (HTTP 400)"
    assert "planned fault" in found[0].raw and found[1].label == "S"


def test_predict_proba_gives_nan_rows_for_unscored_pairs(fault_server):
    pairs = make_pairs(3)
    server = fault_server(answers(pairs), {pairs[2].query: ["garbage"]})
    proba = make_judge(server).predict_proba(pairs)
    assert proba.shape == (3, 4) and np.isnan(proba[2]).all()
    np.testing.assert_allclose(proba[:2].sum(axis=1), 1.0)


def test_without_logprobs_the_parsed_reply_is_one_hot(fault_server):
    pairs = make_pairs(4)
    server = fault_server(answers(pairs), logprobs=False)
    found = judgments(make_judge(server), pairs)
    assert [j.proba for j in found] == [(1.0, 0, 0, 0), (0, 1.0, 0, 0), (0, 0, 1.0, 0), (0, 0, 0, 1.0)]


def test_a_server_that_cannot_be_reached_names_its_url(fault_server):
    server = fault_server({})
    server.__exit__()  # nothing listens on its port any more
    judge = make_judge(server, max_retries=1)
    with pytest.raises(ReljudgeError, match=f"server at {server.base_url} cannot be used") as caught:
        judge.judge_pairs(make_pairs(2))
    assert caught.value.judgments == [None, None]


def test_when_the_server_gives_out_the_judgments_made_before_are_handed_back(fault_server):
    pairs = make_pairs(6)
    server = fault_server(answers(pairs), {pairs[3].query: ["500"] * 5})
    with pytest.raises(ApiUnavailable, match="HTTP 500") as caught:
        make_judge(server, concurrency=1, max_retries=1).judge_pairs(pairs)
    kept = caught.value.judgments
    assert [j.label for j in kept[:3]] == ["E", "S", "C"] and kept[3:] == [None, None, None]


def test_a_refused_key_ends_the_run_at_once(fault_server, monkeypatch):
    pairs = make_pairs(3)
    server = fault_server(answers(pairs), {p.query: ["401"] for p in pairs})
    with pytest.raises(ApiUnavailable, match="refused the API key"):
        make_judge(server, concurrency=1).judge_pairs(pairs)
    assert server.requests == 1


def test_requests_in_flight_never_exceed_the_concurrency(fault_server):
    pairs = make_pairs(24)
    server = fault_server(answers(pairs), delay=0.05)
    make_judge(server, concurrency=4).judge_pairs(pairs)
    assert server.max_in_flight == 4


def test_requests_per_minute_are_paced():
    limiter = RateLimiter(rpm=600)  # one request per 0.1 s once the first minute's burst is spent
    limiter.requests.level = 0

    async def five() -> float:
        lock, started = asyncio.Lock(), time.perf_counter()
        for _ in range(5):
            await limiter.acquire(lock, tokens=10)
        return time.perf_counter() - started

    assert 0.45 <= asyncio.run(five()) < 2.0


def test_tokens_per_minute_are_charged_at_the_servers_count():
    limiter = RateLimiter(tpm=6000)
    asyncio.run(limiter.acquire(asyncio.Lock(), tokens=1000))
    limiter.settle(estimated=1000, actual=5500)  # the server counted more than the estimate: the debt is paid
    assert limiter.tokens.wait_for(1000) == pytest.approx(5.0, abs=0.1)  # 500 left, 500 more at 100/s


def test_the_api_key_is_sent_but_never_stored_logged_or_written(fault_server, monkeypatch, tmp_path, caplog):
    key = "sk-test-9f8e7d6c5b4a-never-store-me"
    monkeypatch.setenv("RELJUDGE_TEST_KEY", key)
    pairs = make_pairs(4)
    server = fault_server(answers(pairs), {pairs[0].query: ["500"], pairs[1].query: ["garbage"]})
    caplog.set_level(logging.DEBUG)
    judge = load_judge("api:stub-model", base_url=server.base_url, api_key_env="RELJUDGE_TEST_KEY", max_retries=2)
    with Store(tmp_path / "store.duckdb") as store:
        run = judge_pairs(pairs, judge, store=store)
    written = write_judgments(tmp_path / "out.csv", to_frame(pairs, run.judgments, ESCI), scheme=ESCI)
    assert server.authorization == {f"Bearer {key}"}
    for blob in [(tmp_path / "store.duckdb").read_bytes(), written.read_bytes(), caplog.text.encode(),
                 judge.spec.encode(), repr(judge.identity).encode(), repr(vars(judge)).encode(),
                 repr(judge.client.config).encode()]:
        assert key.encode() not in blob


def test_the_spec_pins_every_answer_changing_option_and_nothing_else(fault_server, monkeypatch):
    server = fault_server({})
    judge = load_judge("api:stub-model", base_url=server.base_url)
    assert judge.spec.startswith("api:stub-model@") and len(judge.spec) == len("api:stub-model@") + 12
    monkeypatch.setenv("OPENAI_API_KEY", "another-key")
    same = load_judge(judge.spec, base_url=server.base_url + "/", concurrency=1, rpm=60, timeout=5, price_in=1.0)
    assert same.spec == judge.spec
    for changed in [dict(temperature=0.7), dict(template="esci-zero-shot.v1", max_tokens=4),
                    dict(base_url="http://127.0.0.1:1/v1"), dict(scheme=get_scheme("graded:0-3"))]:
        with pytest.raises(JudgeError, match="pins a model that has changed"):
            load_judge(judge.spec, **{"base_url": server.base_url, **changed})
    assert load_judge("api:other-model", base_url=server.base_url).spec.split("@")[1] != judge.spec.split("@")[1]


def test_bad_options_are_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(JudgeError, match="needs a model"):
        load_judge("api")
    with pytest.raises(JudgeError, match=r"\$NO_SUCH_KEY_VAR is not set"):
        load_judge("api:m", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(JudgeError, match="both an examples file and a number of shots"):
        load_judge("api:m", shots=4)
    with pytest.raises(JudgeError, match="is zero-shot"):
        load_judge("api:m", template="esci-zero-shot", examples=EXAMPLES, shots=2)
    with pytest.raises(JudgeError, match="written for esci, not binary"):
        load_judge("api:m", template="esci-zero-shot", scheme=get_scheme("binary"))


def test_judging_from_async_code_runs_the_client_on_a_thread_of_its_own(fault_server):
    pairs = make_pairs(3)
    server = fault_server(answers(pairs))

    async def from_a_running_loop():  # a notebook or a web service calls the synchronous judge
        return make_judge(server).judge_pairs(pairs)

    assert [j.label for j in asyncio.run(from_a_running_loop())] == ["E", "S", "C"]
