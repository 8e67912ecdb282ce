"""The causal LM judge on SmolLM2-135M-Instruct: one pass with a cached prefix equals the plain forward pass,
labels that share first tokens are scored along their path, and the judge plugs into load_judge."""

from __future__ import annotations

import numpy as np

from reljudge.judges.causal.prompt import CausalPrompt
from reljudge.judges.causal.scoring import label_log_proba
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.prompts.templates import load_template, parse_template
from reljudge.records import Pair, Product

PAIRS = [
    Pair("electric kettle", Product("k1", "Acme 1.7L Electric Kettle, stainless steel", brand="Acme", color="silver")),
    Pair("electric kettle", Product("k2", "Descaler tablets for kettles and coffee machines, 24 pack")),
    Pair("running shoes men size 10", Product("s1", "Women's trail running shoe, size 7", brand="Trailco")),
    Pair("aa batteries", Product("b1", "Duracell AA alkaline batteries, 20 count", brand="Duracell",
                                 bullets="Long-lasting power for everyday devices")),
]


def _full_forward_scores(model, prompt, pair_ids):
    """Reference: each label's answer log-probability from plain forward passes over prefix + pair + answer."""
    import torch

    scores = np.zeros((len(pair_ids), len(prompt.labels.ids)))
    with torch.inference_mode():
        for i, ids in enumerate(pair_ids):
            for j, answer in enumerate(prompt.labels.ids):
                # count the tokens up to the one that decides the label (the rest are forced)
                decided = max(len(path) for path in prompt.labels.branches() if answer[: len(path)] == path) + 1
                full = torch.tensor([prompt.prefix_ids + list(ids) + list(answer[:decided])])
                log_p = torch.log_softmax(model(input_ids=full).logits[0].float(), dim=-1)
                start = len(prompt.prefix_ids) + len(ids) - 1
                scores[i, j] = sum(log_p[start + t, answer[t]].item() for t in range(decided))
    return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


def test_cached_prefix_pass_equals_plain_forward(smollm2_model, smollm2_tokenizer):
    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224)
    ids = prompt.pair_ids(PAIRS)
    got = label_log_proba(smollm2_model, prompt, ids, batch_size=3)
    np.testing.assert_allclose(got, _full_forward_scores(smollm2_model, prompt, ids), atol=2e-4)


def test_labels_sharing_a_first_token_are_scored_along_their_path(smollm2_model, smollm2_tokenizer):
    text = load_template("esci-causal").user
    template = parse_template("schemes: esci\nanswers: E=Exact, S=Exotic, C=Complement, I=Irrelevant\n[user]\n"
                              + text, "shared-first-token", 1)
    prompt = CausalPrompt(smollm2_tokenizer, template, get_scheme("esci"), max_length=224)
    assert len(prompt.labels.branches()) == 2  # the root, and after the shared first token of Exact / Exotic
    ids = prompt.pair_ids(PAIRS[:2])
    got = label_log_proba(smollm2_model, prompt, ids, batch_size=4)
    np.testing.assert_allclose(got, _full_forward_scores(smollm2_model, prompt, ids), atol=2e-4)


def test_probabilities_do_not_depend_on_the_batch(smollm2_model, smollm2_tokenizer):
    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224)
    ids = prompt.pair_ids(PAIRS)
    one = label_log_proba(smollm2_model, prompt, ids, batch_size=1)
    np.testing.assert_allclose(label_log_proba(smollm2_model, prompt, ids, batch_size=4), one, atol=2e-4)
    np.testing.assert_allclose(label_log_proba(smollm2_model, prompt, ids[::-1], batch_size=2)[::-1], one, atol=2e-4)


def test_a_bf16_model_orders_labels_by_an_fp32_head(smollm2_model, smollm2_tokenizer):
    """bf16 logits step by 1/16 at the magnitudes the labels' take, so label scores tie; the head runs in fp32."""
    import copy

    import torch

    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224)
    ids = prompt.pair_ids(PAIRS)
    bf16 = copy.deepcopy(smollm2_model).to(torch.bfloat16)
    exact = label_log_proba(smollm2_model, prompt, ids, batch_size=4)
    got = label_log_proba(bf16, prompt, ids, batch_size=4)
    bf16_logits = _full_forward_scores(bf16, prompt, ids)  # the model's own (bf16) head
    assert np.abs(got - exact).max() < np.abs(bf16_logits - exact).max()
    assert (np.argsort(got, axis=1) == np.argsort(exact, axis=1)).all()  # every pair's labels in the same order
    # the bf16 body's own rounding: within 0.12 of fp32 where the CPU emulates bf16 (AVX2), 0.1 where it has it
    np.testing.assert_allclose(got, exact, atol=0.15)


def test_zero_shot_base_through_load_judge(smollm2_base):
    judge = load_judge("causal:smollm2-135m-instruct", precision="fp32")
    proba = judge.predict_proba(PAIRS)
    assert proba.shape == (4, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert judge.spec.startswith("causal:smollm2-135m-instruct@")
    assert load_judge(judge.spec, precision="fp32").spec == judge.spec
    other = load_judge("causal:smollm2-135m-instruct", precision="fp32", template="esci-causal.v1")
    assert other.spec == judge.spec


def test_int8_precision_is_another_judge_close_to_fp32(smollm2_base):
    fp32 = load_judge("causal:smollm2", precision="fp32")
    int8 = load_judge("causal:smollm2", precision="int8")
    assert int8.spec != fp32.spec
    a, b = fp32.predict_proba(PAIRS), int8.predict_proba(PAIRS)
    assert np.abs(a - b).max() < 0.2


def test_shipped_adapter_is_the_causal_default(smollm2_base):
    judge = load_judge("causal")
    assert judge.config["training"]["n_pairs"] == 3392
    proba = judge.predict_proba(PAIRS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert judge.spec.startswith("causal@")


def test_an_adapter_is_merged_in_fp32_then_rounded_to_bf16_once(smollm2_base):
    """Regression: merged into bf16 weights, the shipped ESCI adapter's valid alpha fell from 0.045 to -0.0005."""
    import torch

    from reljudge.judges.causal.judge import SHIPPED
    from reljudge.judges.causal.model import load_causal_lm
    from reljudge.judges.model_dir import shipped_directory

    adapter = shipped_directory(SHIPPED)
    fp32 = load_causal_lm(smollm2_base.directory, "fp32", adapter).state_dict()
    bf16 = load_causal_lm(smollm2_base.directory, "bf16", adapter).state_dict()
    tuned = [name for name in fp32 if ".layers.29." in name and name.endswith("proj.weight")]
    assert tuned and all(bf16[name].dtype == torch.bfloat16 for name in tuned)
    for name in tuned:
        torch.testing.assert_close(bf16[name], fp32[name].to(torch.bfloat16), rtol=0, atol=0)
