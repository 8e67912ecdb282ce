"""The causal LM's prompt: shared prefix, per-pair part within the token budget, label answers told apart."""

from __future__ import annotations

import pytest

from reljudge.errors import JudgeError
from reljudge.judges.causal.prompt import CausalPrompt, LabelTokens, label_tokens
from reljudge.labels import get_scheme
from reljudge.prompts.templates import load_template, parse_template
from reljudge.records import Pair, Product

CUE = "<|im_end|>\n<|im_start|>assistant\n"
LONG = Product("p1", "Acme stainless steel kettle " * 30, description="boils water fast " * 200,
               bullets="1.7 litres; auto shut-off; " * 100, brand="Acme", color="silver", category="Kitchen")


def test_branches_of_distinct_first_tokens_is_the_root_only():
    assert LabelTokens(("a", "b"), ((1, 2), (3,))).branches() == [()]


def test_branches_follow_shared_paths():
    tokens = LabelTokens(("a", "b", "c"), ((1, 2, 5), (1, 2, 6), (1, 3)))
    assert tokens.branches() == [(), (1,), (1, 2)]


def test_shipped_answers_have_distinct_first_tokens(smollm2_tokenizer):
    tokens = label_tokens(smollm2_tokenizer, CUE, ["Exact", "Substitute", "Complement", "Irrelevant"], "ESCI")
    assert len({ids[0] for ids in tokens.ids}) == 4
    assert tokens.branches() == [()]


def test_identical_answers_fail_at_load(smollm2_tokenizer):
    with pytest.raises(JudgeError, match="'E' and 'S' are ambiguous"):
        label_tokens(smollm2_tokenizer, CUE, ["Exact", "Exact", "Complement", "Irrelevant"], "ESCI")


def test_an_answer_that_starts_another_fails_at_load(smollm2_tokenizer):
    with pytest.raises(JudgeError, match="starts the same way"):
        label_tokens(smollm2_tokenizer, CUE, ["Exact", "Exactness", "Complement", "Irrelevant"], "ESCI")


def test_prompt_fits_max_length_and_shows_every_field(smollm2_tokenizer):
    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224)
    short = Product("p2", "Red kettle", brand="Acme", color="red", category="Kitchen", bullets="1 litre")
    ids = prompt.pair_ids([Pair("electric kettle " * 20, LONG), Pair("kettle", short)])
    for row in ids:
        assert len(prompt.prefix_ids) + len(row) + prompt.labels.longest <= 224
    text = smollm2_tokenizer.decode(ids[1])
    for line in ("query: kettle", "title: Red kettle", "brand: Acme", "color: red", "category: Kitchen",
                 "bullets: 1 litre"):
        assert line in text
    assert text.endswith("<|im_start|>assistant\n")


def test_every_pair_shares_the_instructions(smollm2_tokenizer):
    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224)
    prefix = smollm2_tokenizer.decode(prompt.prefix_ids)
    assert "Substitute: not exactly what was asked for" in prefix
    assert "query:" not in prefix


def test_too_small_max_length_is_refused(smollm2_tokenizer):
    with pytest.raises(JudgeError, match="raise --max-length"):
        CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=150)


def test_template_for_another_scheme_is_refused(smollm2_tokenizer):
    with pytest.raises(JudgeError, match="not scheme 'binary'"):
        CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("binary"), max_length=224)


def test_answers_line_is_parsed_and_checked():
    template = parse_template("schemes: esci\nanswers: E=Exact, S=Sub\n[user]\n{query} {product}", "t", 1)
    assert template.answer("E") == "Exact" and template.answer("C") == "C"
    with pytest.raises(JudgeError, match="LABEL=WORD"):
        parse_template("schemes: esci\nanswers: E\n[user]\n{query} {product}", "t", 1)
