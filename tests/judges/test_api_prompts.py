"""The API judge's prompts and scoring: templates, strict reply parsing, log-probabilities, few-shot examples."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reljudge.errors import JudgeError
from reljudge.io import read_pairs
from reljudge.judges.api.client import ClientConfig, Reply, _Malformed, parse_completion
from reljudge.judges.api.judge import (
    ApiJudge,
    label_probabilities,
    parse_label,
    render_product,
    score_reply,
    select_examples,
)
from reljudge.labels import get_scheme
from reljudge.prompts.templates import available_templates, default_template, load_template, parse_template
from reljudge.records import Pair, Product

ESCI, GRADED, BINARY = get_scheme("esci"), get_scheme("graded:0-3"), get_scheme("binary")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"


@pytest.mark.parametrize("text, expected", [
    ("E", "E"), (" e\n", "E"), ("Exact", "E"), ("**S**", "S"), ("Answer: C", "C"), ("I.", "I"),
    ("E (Exact)", "E"), ("Complement\nbecause it is a case", "C"),
    ("E (Substitute)", None), ("I think it is E", None), ("The answer is E", None), ("", None), ("Ex", None),
    ("banana split", None), ("E S", None),
])
def test_replies_are_parsed_strictly(text, expected):
    assert parse_label(text, ESCI) == expected


def test_graded_and_binary_replies_parse_their_own_words():
    assert [parse_label(t, GRADED) for t in ["3", "0\n", "Score: 2", "4", "2.5", "three"]] == ["3", "0", "2", None,
                                                                                           None, None]
    assert [parse_label(t, BINARY) for t in ["1", "yes", "No.", "maybe"]] == ["1", "1", "0", None]


def test_label_tokens_are_summed_and_renormalised():
    proba = label_probabilities([(" E", -0.5), ("E", -1.5), ("S", -1.0), ("The", -0.2), ("C", float("-inf"))], ESCI)
    e, s = 2.718281828 ** -0.5 + 2.718281828 ** -1.5, 2.718281828 ** -1.0
    assert proba == pytest.approx((e / (e + s), s / (e + s), 0.0, 0.0))
    assert label_probabilities([("The", -0.1), ("A", -2.0)], ESCI) is None


def test_a_reply_without_label_logprobs_falls_back_to_parsing_and_says_why_when_it_cannot():
    assert score_reply(Reply("S", "stop", (("The", -0.1),), 1, 1), ESCI) == ("S", (0.0, 1.0, 0.0, 0.0), "")
    cut = score_reply(Reply("Well,", "length", (), 1, 1), ESCI)
    assert cut == (None, None, "unparseable reply (cut at max_tokens)")
    assert score_reply(Reply("???", "stop", (), 1, 1), ESCI)[2] == "unparseable reply"


def test_a_body_that_is_not_a_chat_completion_is_malformed():
    for body in ["<html>", '{"choices": []}', '{"choices": [{"text": "E"}]}', '{"id": "x"']:
        with pytest.raises(_Malformed):
            parse_completion(body)
    reply = parse_completion('{"choices": [{"message": {"content": null}, "finish_reason": "stop"}]}')
    assert reply.text == "" and reply.top_logprobs == () and reply.tokens_in == 0


def test_shipped_templates_load_with_a_version_and_a_text_hash():
    assert {"esci-zero-shot.v1", "esci-few-shot.v1", "umbrela-0-3.v1", "graded-zero-shot.v1",
            "graded-few-shot.v1", "binary-zero-shot.v1"} <= set(available_templates())
    for name in available_templates():
        template = load_template(name)
        assert template.ident.startswith(name + "#") and len(template.sha) == 12
    assert load_template("esci-zero-shot") == load_template("esci-zero-shot.v1")
    assert [default_template(s, few) for s, few in [(ESCI, False), (ESCI, True), (GRADED, False),
                                                    (get_scheme("graded:1-5"), False), (GRADED, True)]] == [
        "esci-zero-shot", "esci-few-shot", "umbrela-0-3", "graded-zero-shot", "graded-few-shot"]
    with pytest.raises(JudgeError, match="unknown prompt template 'esci-zero-shot.v9'"):
        load_template("esci-zero-shot.v9")


def test_a_users_template_file_is_checked(tmp_path):
    path = tmp_path / "mine.v2.txt"
    path.write_text("schemes: esci\n[user]\nQ: {query}\n{product}\nOne of {labels}.\n")
    template = load_template(str(path))
    assert (template.name, template.version, template.few_shot) == ("mine", 2, False)
    assert template.messages(ESCI, "q", "p") == [{"role": "user", "content": "Q: q\np\nOne of E, S, C or I."}]
    with pytest.raises(JudgeError, match="unknown field"):
        parse_template("schemes: esci\n[user]\n{query} {price}\n", "bad", 1)
    with pytest.raises(JudgeError, match="both"):
        parse_template("schemes: esci\n[user]\n{query} {examples}\n", "bad", 1)
    with pytest.raises(JudgeError, match="schemes"):
        parse_template("[user]\n{query}\n", "bad", 1)


def test_graded_templates_name_the_scale():
    scale = get_scheme("graded:1-5")
    user = load_template("graded-zero-shot").messages(scale, "q", "p")[-1]["content"]
    assert "from 1 to 5" in user and "1, 2, 3, 4 or 5" in user


def test_product_text_is_cut_to_a_word_budget():
    long = Product("P1", "Acme Kettle", brand="Acme", color="red", bullets=" ".join(["word"] * 500),
                   description="never shown when bullets exist")
    text = render_product(Pair("kettle", long), 40)
    assert text.startswith("Title: Acme Kettle\nBrand: Acme\nColor: red\nBullets: word")
    assert len(text.split()) <= 40 and "never shown" not in text


def test_examples_are_balanced_by_label_and_fixed():
    pairs = read_pairs(EXAMPLES, scheme=ESCI, require_labels=True).pairs
    chosen = select_examples(pairs, ESCI, 8)
    assert Counter(p.label for p in chosen) == {"E": 2, "S": 2, "C": 2, "I": 2}
    assert [p.label for p in chosen[:4]] == ["E", "S", "C", "I"]
    assert select_examples(list(reversed(pairs)), ESCI, 8) == chosen
    with pytest.raises(JudgeError, match="has 28 labelled pairs"):
        select_examples(pairs, ESCI, 29)


def test_few_shot_prompts_hold_the_examples_and_the_spec_follows_them():
    pairs = read_pairs(EXAMPLES, scheme=ESCI, require_labels=True).pairs
    client = ClientConfig("http://127.0.0.1:9/v1")
    few = ApiJudge("m", ESCI, load_template("esci-few-shot"), client=client, examples=select_examples(pairs, ESCI, 4))
    content = few.messages(pairs[0])[-1]["content"]
    assert content.count("Answer: ") == 4 and content.index("Examples rated") < content.index("Now rate")
    other = ApiJudge("m", ESCI, load_template("esci-few-shot"), client=client, examples=select_examples(pairs, ESCI, 3))
    assert few.spec != other.spec
    payload = few.payload(pairs[0])
    assert payload["logprobs"] is True and payload["top_logprobs"] == 20 and payload["max_tokens"] == 8
