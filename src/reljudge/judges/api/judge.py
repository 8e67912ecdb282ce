"""The API judge: any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp, Ollama) as a zero- or few-shot judge.

`api:MODEL` asks MODEL, through `POST {base_url}/chat/completions`, to label each pair with a named, versioned
prompt template (prompts/templates/). Where the server returns log-probabilities, the judge's probabilities are
those of the label tokens among the first generated token's top alternatives, renormalised (the causal judges'
rule, served over HTTP); otherwise the reply's first line is parsed strictly and the label is one-hot. A reply
that is neither is *unscored*: stored with the reason and the raw reply, never turned into a label.

The spec is `api:MODEL@DIGEST`, the digest covering everything that changes an answer: base URL, model, the
template's name, version and text, the scheme, the few-shot examples, temperature, max_tokens, top_logprobs and
the product-text budget. So the store's judgments cache (keyed by pair hash and spec) serves a finished job again
without a request, resumes a killed one, and never mixes two models, prompts or servers. Concurrency, rate limits,
timeouts, retries, prices and the API key change no answer and stay out of it; the key is read from an
environment variable and is never logged, stored or put in a spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.api.client import ApiClient, ApiUnavailable, ClientConfig, Failure, Outcome, Reply, Usage
from reljudge.judges.api.options import ApiOptions
from reljudge.judges.base import JudgeBase
from reljudge.labels import LabelScheme, get_scheme
from reljudge.prompts.fields import fit_fields
from reljudge.prompts.templates import Template, default_template, load_template
from reljudge.records import Judgment, Pair

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
#: Words of product text in the prompt, and per few-shot example (examples are many; keep each short).
PRODUCT_WORDS, EXAMPLE_WORDS = 160, 48
#: Bumped when the way a prompt is built or a reply scored changes, so old cached labels are not reused.
SCORING_VERSION = 1

_WORD = re.compile(r"\S+")
_PREFIX = re.compile(r"^(answer|label|grade|score|rating)\s*[:=-]\s*", re.IGNORECASE)
_TRIM = " \t*_`'\".,;:!()[]"


class ApiJudge(JudgeBase):
    """An OpenAI-compatible chat model as a judge (see the module docstring).

    Args:
        model: the model name the server knows.
        scheme: the label scheme; the template must be written for it.
        template: the prompt template.
        examples: labelled pairs shown before each pair (a few-shot template), already chosen.
        client: where and how requests go.
        temperature, max_tokens, top_logprobs: request parameters (top_logprobs 0 asks for no log-probabilities).
        progress: show a bar with pairs/s, tokens and cost on a terminal.
        price_in, price_out: money per million prompt / completion tokens, for the cost shown.
    """

    uses_query_group = False

    def __init__(self, model: str, scheme: LabelScheme, template: Template, *, client: ClientConfig,
                 examples: Sequence[Pair] = (), temperature: float = 0.0, max_tokens: int = 8,
                 top_logprobs: int = 20, progress: bool = False, price_in: float | None = None,
                 price_out: float | None = None):
        if not template.accepts(scheme):
            raise JudgeError(f"prompt template {template.name} is written for {', '.join(template.schemes)}, "
                             f"not {scheme.name}")
        if template.few_shot != bool(examples):
            raise JudgeError(f"prompt template {template.name} is {'few' if template.few_shot else 'zero'}-shot: "
                             + ("give it labelled examples (--examples FILE --shots K)" if template.few_shot
                                else "examples need a few-shot template"))
        self.model, self.scheme, self.template = model, scheme, template
        self.examples = list(examples)
        self.request = {"temperature": temperature, "max_tokens": max_tokens, "top_logprobs": top_logprobs}
        self.base_url = client.base_url.rstrip("/")
        self.usage = Usage(price_in=price_in, price_out=price_out)
        self.client = ApiClient(client, self.usage)
        self.progress = progress
        #: Pairs a batch driver judges between two commits to the store: what a killed job can lose, kept to a few
        #: rounds of `concurrency` so that committing (milliseconds) never waits on a drained pipeline for long.
        self.commit_size = 16 * client.concurrency
        self._examples_text = "\n\n".join(
            template.render_example(p.query, render_product(p, EXAMPLE_WORDS), str(p.label)) for p in self.examples)
        digest = hashlib.sha256(json.dumps(self.identity_details(), sort_keys=True).encode()).hexdigest()[:12]
        self.spec = f"api:{model}@{digest}"

    def identity_details(self) -> dict:
        """Everything that changes an answer, as the spec's digest covers it (never the API key): recorded beside
        the spec to say which server, prompt and examples it stands for."""
        return {"base_url": self.base_url, "model": self.model, "template": self.template.ident,
                "scheme": self.scheme.name, "examples": [[p.pair_hash, p.label] for p in self.examples],
                "request": self.request, "words": [PRODUCT_WORDS, EXAMPLE_WORDS], "scoring": SCORING_VERSION}

    def messages(self, pair: Pair) -> list[dict[str, str]]:
        """The chat messages that ask for one pair's label."""
        return self.template.messages(self.scheme, pair.query, render_product(pair, PRODUCT_WORDS),
                                      self._examples_text)

    def payload(self, pair: Pair) -> dict:
        payload = {"model": self.model, "messages": self.messages(pair),
                   "temperature": self.request["temperature"], "max_tokens": self.request["max_tokens"]}
        if self.request["top_logprobs"]:
            payload |= {"logprobs": True, "top_logprobs": self.request["top_logprobs"]}
        return payload

    def judge_pairs(self, pairs: Sequence[Pair], batch_size: int = 64) -> list[Judgment]:
        """One Judgment per pair; an unscored one has label None, the reason and the raw reply.

        Raises:
            ApiUnavailable: the server cannot be used; its `judgments` holds those made before (None elsewhere),
                so the caller can keep them.
        """
        with _reply_bar(self.progress, len(pairs), self.usage) as tick:
            try:
                outcomes = self.client.complete([self.payload(p) for p in pairs], on_outcome=tick)
            except ApiUnavailable as exc:
                exc.judgments = [self._judgment(p, o) if o is not None else None for p, o in zip(pairs, exc.outcomes)]
                raise
        return [self._judgment(p, o) for p, o in zip(pairs, outcomes)]

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        """Probabilities over the scheme's labels; an unscored pair's row is NaN (batch_size is not used: the
        client keeps `concurrency` requests in flight instead)."""
        rows = [j.proba if j.proba is not None else [np.nan] * self.scheme.k for j in self.judge_pairs(pairs)]
        return np.asarray(rows, dtype=float).reshape(len(pairs), self.scheme.k)

    def _judgment(self, pair: Pair, outcome: Outcome) -> Judgment:
        if isinstance(outcome, Failure):
            return Judgment(pair.pair_hash, self.spec, None, None, reason=outcome.reason, raw=outcome.raw)
        label, proba, reason = score_reply(outcome, self.scheme)
        return Judgment(pair.pair_hash, self.spec, label, proba, reason=reason, raw=outcome.text)


def score_reply(reply: Reply, scheme: LabelScheme) -> tuple[str | None, tuple[float, ...] | None, str]:
    """(label, probabilities, reason): from log-probabilities when they name a label, else the parsed reply."""
    proba = label_probabilities(reply.top_logprobs, scheme)
    if proba is None:
        label = parse_label(reply.text, scheme)
        if label is None:
            cut = " (cut at max_tokens)" if reply.finish_reason == "length" else ""
            return None, None, f"unparseable reply{cut}"
        proba = tuple(float(label == other) for other in scheme.labels)
    return scheme.labels[int(np.argmax(proba))], proba, ""


def label_probabilities(top: Sequence[tuple[str, float]], scheme: LabelScheme) -> tuple[float, ...] | None:
    """The first token's probability mass on each label (its spellings summed: "E", " E", "e"), renormalised;
    None when no alternative is a label."""
    mass = dict.fromkeys(scheme.labels, 0.0)
    for token, logprob in top:
        label = _as_label(token, scheme)
        if label is not None and np.isfinite(logprob):
            mass[label] += float(np.exp(logprob))
    total = sum(mass.values())
    return tuple(mass[label] / total for label in scheme.labels) if total > 0 else None


def parse_label(text: str, scheme: LabelScheme) -> str | None:
    """The label a reply's first line states, strictly: the line is a label or a label's word ("E", "Exact",
    "**E**", "Answer: E"), or a label with its word ("E (Exact)"). Anything else, "I think..." included, is None."""
    line = _PREFIX.sub("", text.strip().split("\n", 1)[0].strip())
    words = [w for w in re.split(r"[\s()\[\]:,.;\-]+", line.strip(_TRIM)) if w]
    if not 1 <= len(words) <= 2:
        return None
    labels = {_as_label(w, scheme) for w in words}
    return labels.pop() if len(labels) == 1 and None not in labels else None


def _as_label(token: str, scheme: LabelScheme) -> str | None:
    word = token.strip(_TRIM)
    if not word:
        return None
    return word if word in scheme.labels else scheme.aliases.get(word.lower())


def _word_spans(texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """Whitespace words stand in for tokens: the server's tokenizer is not at hand, and a word budget is close."""
    return [[m.span() for m in _WORD.finditer(t)] for t in texts]


def render_product(pair: Pair, words: int) -> str:
    """The product's fields, one per line ("Title: ...", "Brand: ..."), cut to `words` words in all."""
    fitted = fit_fields([pair.product], words, _word_spans)[0]
    return "\n".join(f"{f.name.capitalize()}: {f.text}" for f in fitted)


def select_examples(pairs: Sequence[Pair], scheme: LabelScheme, shots: int, source: str = "examples") -> list[Pair]:
    """K labelled examples balanced by label: round-robin over the scheme's labels, each label's pairs in pair-hash
    order (a fixed order that does not follow the file's sorting, which often groups a query's pairs)."""
    by_label = {label: sorted((p for p in pairs if p.label == label), key=lambda p: p.pair_hash)
                for label in scheme.labels}
    available = sum(len(v) for v in by_label.values())
    if shots > available:
        raise JudgeError(f"{source}: asked for {shots} examples, but it has {available} labelled pairs")
    chosen: list[Pair] = []
    for round_ in range(shots):
        chosen.extend(v[round_] for v in by_label.values() if round_ < len(v))
    return chosen[:shots]


@contextlib.contextmanager
def _reply_bar(enabled: bool, total: int, usage: Usage) -> Iterator[Callable[[Outcome], None]]:
    """A bar ticked by each reply, with pairs/s and the cost so far; nothing when not on a terminal."""
    if not (enabled and total and sys.stderr.isatty()):
        yield lambda _: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    started = time.perf_counter()
    with Progress(TextColumn("api"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                  transient=True) as bar:
        task = bar.add_task("api", total=total, status="")

        def tick(_: Outcome) -> None:
            done = bar.tasks[0].completed + 1
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, status=f"{rate:,.1f} pairs/s  {usage.describe()}")

        yield tick


def api_factory(argument: str | None, scheme: LabelScheme | None, options: ApiOptions) -> ApiJudge:
    """`api:MODEL`, asked with the options of `ApiOptions` (the CLI's --base-url, --template, --examples ...).

    The base URL defaults to $OPENAI_BASE_URL, then OpenAI's; the key comes from $OPENAI_API_KEY or the variable
    `api_key_env` names (no key at all is fine for a local server).
    """
    if not argument:
        raise JudgeError("the api judge needs a model: api:MODEL (e.g. api:gpt-4o-mini, api:llama3.1:8b)")
    o = options
    scheme = scheme or get_scheme("esci")
    chosen: list[Pair] = []
    if o.examples is not None:
        from reljudge.io import read_pairs

        labelled = read_pairs(o.examples, scheme=scheme, require_labels=True).pairs
        chosen = select_examples(labelled, scheme, o.shots or 0, str(o.examples))
    elif o.shots is not None:
        raise JudgeError("few-shot prompting needs both an examples file and a number of shots (--examples --shots)")
    key_env = o.api_key_env or DEFAULT_KEY_ENV
    if o.api_key_env and not os.environ.get(o.api_key_env):
        raise JudgeError(f"${o.api_key_env} is not set: export the API key in it, or leave out --api-key-env")
    client = ClientConfig(o.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
                          api_key=os.environ.get(key_env) or None, concurrency=o.concurrency, rpm=o.rpm, tpm=o.tpm,
                          timeout=o.timeout, max_retries=o.max_retries)
    chosen_template = load_template(o.template or default_template(scheme, few_shot=bool(chosen)))
    return ApiJudge(argument, scheme, chosen_template, client=client, examples=chosen, temperature=o.temperature,
                    max_tokens=o.max_tokens, top_logprobs=o.top_logprobs, progress=o.progress, price_in=o.price_in,
                    price_out=o.price_out)
