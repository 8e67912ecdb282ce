"""A pair as a causal LM reads it: the instructions every pair shares, the pair's own part, then the label's tokens.

The prompt is the template's chat (the tokenizer's chat template, or plain paragraphs for a base model without one)
cut where the pair's first line begins: the part before is the same token ids for every pair (a prefix a model
computes once and caches), the part after holds the query and the product's fields, each cut to a token budget
so that prefix + pair + answer fit `max_length`. Training and scoring both build their ids here, so the model is
scored on exactly the text it was trained on.

Each label's answer tokens are what the tokenizer makes of the answer word right after the prompt. Labels whose
answers share first tokens are scored along the shared path (see `LabelTokens.branches`); answers that tokenize
alike, or one being the start of another, cannot be told apart and fail at load time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reljudge.errors import JudgeError
from reljudge.labels import LabelScheme
from reljudge.prompts.fields import PROMPT_FIELDS, fit_fields, fit_text, render_lines
from reljudge.prompts.templates import Template
from reljudge.records import Pair

_QUERY = "<<reljudge-query>>"
_PRODUCT = "<<reljudge-product>>"
#: Tokens held back from the product's budget: fields joined by newlines may tokenize a little differently from
#: how they were counted one by one.
SLACK = 4
#: Fewer product tokens than this and the prompt says too little about the product to judge it.
MIN_PRODUCT_TOKENS = 16


@dataclass(frozen=True)
class LabelTokens:
    """Each label's answer token ids, in scheme order."""

    labels: tuple[str, ...]
    ids: tuple[tuple[int, ...], ...]

    @property
    def longest(self) -> int:
        return max(len(ids) for ids in self.ids)

    def branches(self) -> list[tuple[int, ...]]:
        """The token paths after which the next token decides between labels: () always, and any longer path two
        or more labels share. A label's probability is the product of its next token's probability at each
        branch on its path (the tokens after its last branch are forced once it is the only label left)."""
        paths = {()}
        for i, a in enumerate(self.ids):
            for b in self.ids[i + 1:]:
                shared = 0
                while shared < min(len(a), len(b)) and a[shared] == b[shared]:
                    shared += 1
                paths.update(a[:depth] for depth in range(1, shared + 1))
        return sorted(paths, key=lambda p: (len(p), p))


def label_tokens(tokenizer: Any, cue: str, answers: Sequence[str], labels: Sequence[str]) -> LabelTokens:
    """The ids each answer adds after `cue` (the prompt's end), checked to be distinguishable.

    Raises:
        JudgeError: the tokenizer merges an answer into the cue, or two answers cannot be told apart.
    """
    base = tokenizer(cue, add_special_tokens=False)["input_ids"]
    ids = []
    for label, answer in zip(labels, answers):
        full = tokenizer(cue + answer, add_special_tokens=False)["input_ids"]
        if full[: len(base)] != base or len(full) == len(base):
            raise JudgeError(f"label {label!r}: the tokenizer merges its answer {answer!r} into the prompt's end "
                             f"{cue[-20:]!r}; end the template's prompt with a newline or a space")
        ids.append(tuple(full[len(base):]))
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            if i != j and b[: len(a)] == a:
                raise JudgeError(
                    f"labels {labels[i]!r} and {labels[j]!r} are ambiguous for this tokenizer: answer "
                    f"{answers[i]!r} is {list(a)} and {answers[j]!r} is {list(b)}, which "
                    f"{'is the same' if a == b else 'starts the same way'}; give them other words in the "
                    "template's 'answers:' line")
    return LabelTokens(tuple(labels), tuple(ids))


class CausalPrompt:
    """Builds a template's prompt ids for pairs with one tokenizer.

    Args:
        tokenizer: a Hugging Face fast tokenizer.
        template: the prompt template (its `answers:` line gives the label words).
        scheme: the label scheme; the template must accept it.
        max_length: tokens for prefix + pair + the longest answer.
        query_tokens: at most this many of the query's tokens.

    Raises:
        JudgeError: the template does not fit the scheme, the answers are ambiguous, or max_length leaves the
            product less than MIN_PRODUCT_TOKENS.
    """

    def __init__(self, tokenizer: Any, template: Template, scheme: LabelScheme, max_length: int,
                 query_tokens: int = 24):
        if not template.accepts(scheme):
            raise JudgeError(f"template {template.ident} is written for {', '.join(template.schemes)}, "
                             f"not scheme {scheme.name!r}")
        self.tokenizer = tokenizer
        self.template = template
        self.scheme = scheme
        self.max_length = max_length
        self.query_tokens = query_tokens
        messages = template.messages(scheme, _QUERY, _PRODUCT)
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            space = ""
        else:  # a base model: plain paragraphs, the answer after "Answer:"
            text = "\n\n".join(m["content"] for m in messages) + "\n\nAnswer:"
            space = " "
        first = min(text.index(mark) for mark in (_QUERY, _PRODUCT))
        cut = text.rfind("\n", 0, first) + 1
        self.prefix_ids: list[int] = tokenizer(text[:cut], add_special_tokens=False)["input_ids"]
        self._pair_text = text[cut:]
        cue = self._pair_text[max(self._pair_text.rindex(mark) + len(mark) for mark in (_QUERY, _PRODUCT)):]
        self.labels = label_tokens(tokenizer, cue, [space + template.answer(label) for label in scheme.labels],
                                   scheme.labels)
        skeleton = len(self._encode([self._pair_text.replace(_QUERY, "").replace(_PRODUCT, "")])[0])
        self.product_tokens = (max_length - len(self.prefix_ids) - skeleton - query_tokens - self.labels.longest
                               - SLACK)
        if self.product_tokens < MIN_PRODUCT_TOKENS:
            raise JudgeError(f"max_length {max_length} leaves the product {self.product_tokens} tokens after the "
                             f"{len(self.prefix_ids) + skeleton}-token prompt; raise --max-length")

    def pair_ids(self, pairs: Sequence[Pair]) -> list[list[int]]:
        """Each pair's ids after the shared prefix (query, product fields, the answer cue)."""
        queries = [text for text, _ in fit_text([p.query for p in pairs], [self.query_tokens] * len(pairs),
                                                 self._spans)]
        products = fit_fields([p.product for p in pairs], self.product_tokens, self._spans, PROMPT_FIELDS)
        texts = [self._pair_text.replace(_QUERY, query).replace(_PRODUCT, render_lines(fitted))
                 for query, fitted in zip(queries, products)]
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def _spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        if not texts:
            return []
        return self.tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
