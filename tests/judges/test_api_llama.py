"""The API judge against a real OpenAI-compatible server: llama-cpp-python's, running SmolLM2-135M-Instruct.

The model is tiny and its labels are poor; what these tests hold is the plumbing: every pair comes back labelled
(from log-probabilities) or unscored with the raw reply, the prompts fit the context, and the cache works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reljudge.infer.batch import judge_pairs
from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
ESCI = get_scheme("esci")


def example_pairs():
    return read_pairs(EXAMPLES, scheme=ESCI).pairs


def check(found, scheme, *, from_logprobs: bool) -> None:
    """Each judgment is a label with probabilities summing to 1, or unscored with a reason and the raw reply."""
    for j in found:
        if j.label is None:
            assert j.reason.startswith("unparseable reply") and j.proba is None
        else:
            assert j.label in scheme.labels and np.isclose(sum(j.proba), 1.0) and j.reason == ""
    if from_logprobs:  # the server's log-probabilities named labels: probabilities, not one-hots
        assert any(j.proba is not None and max(j.proba) < 1.0 for j in found)


def test_zero_shot_esci_from_logprobs_then_served_from_the_store(llama_server):
    pairs = example_pairs()[:6]  # two queries: a CPU shared with other work evaluates ~20 prompt tokens/s
    judge = load_judge("api:smollm2", base_url=llama_server, concurrency=2, max_tokens=2)
    with Store() as store:
        run = judge_pairs(pairs, judge, store=store)
        check(run.judgments, ESCI, from_logprobs=True)
        assert run.n_judged == len(pairs) and judge.usage.requests == len(pairs)
        assert judge.usage.tokens_in > 100 * len(pairs)
        again = load_judge(judge.spec, base_url=llama_server, max_tokens=2)  # the stored spec, pinned, reloads it
        rerun = judge_pairs(pairs, again, store=store)
    assert again.usage.requests == 0 and rerun.n_cached == len(pairs)
    assert [j.label for j in rerun.judgments] == [j.label for j in run.judgments]


def test_few_shot_prompts_fit_a_small_context(llama_server):
    pairs = example_pairs()[:2]
    judge = load_judge("api:smollm2", base_url=llama_server, examples=EXAMPLES, shots=4, max_tokens=2)
    assert judge.template.name == "esci-few-shot"
    check(judge.judge_pairs(pairs), ESCI, from_logprobs=True)
    assert judge.usage.tokens_in > 2 * 400  # four examples in every prompt


def test_umbrela_grades_parsed_from_replies_without_logprobs(llama_server):
    graded = get_scheme("graded:0-3")
    pairs = example_pairs()[:2]
    judge = load_judge("api:smollm2", base_url=llama_server, scheme=graded, top_logprobs=0, max_tokens=4)
    found = judge.judge_pairs(pairs)
    assert judge.template.name == "umbrela-0-3"
    check(found, graded, from_logprobs=False)
    assert all(j.raw or j.label is None for j in found)
    assert all(j.proba is None or sorted(j.proba) == [0.0, 0.0, 0.0, 1.0] for j in found)
