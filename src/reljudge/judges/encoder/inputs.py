"""A pair as a cross-encoder reads it: the query and the product's fields, tokenized within a token budget.

Training, export and every inference backend build their inputs here, so the model always sees the same text
for the same pair. Only the `tokenizers` package is needed (not transformers), which keeps the fast judge light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reljudge.prompts.fields import fit_fields, fit_text, render_inline
from reljudge.records import Pair

TOKENIZER_FILE = "tokenizer.json"
#: [CLS] query [SEP] product [SEP]
SPECIAL_TOKENS = 3


@dataclass
class Batch:
    """Padded model inputs for a batch of pairs: int64 arrays of shape (n, longest pair in the batch)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray


class PairEncoder:
    """Turns pairs into token ids: at most `query_tokens` of the query, the product's fields in the rest.

    Args:
        tokenizer_path: a Hugging Face fast tokenizer file (tokenizer.json).
        max_length: tokens per pair, special tokens included.
        query_tokens: the query's share of `max_length`; queries are short, so what they leave goes to the product.
    """

    def __init__(self, tokenizer_path: str | Path, max_length: int, query_tokens: int):
        from tokenizers import Tokenizer

        if max_length <= query_tokens + SPECIAL_TOKENS:
            raise ValueError(f"max_length {max_length} leaves no room for the product after {query_tokens} query "
                             "tokens")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The file may carry the training-time padding and truncation; padding is done per batch here and the
        # budget is kept by cutting fields, so both are switched off (truncation stays as a last guard below).
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.max_length = max_length
        self.query_tokens = query_tokens
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def _spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [e.offsets for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def texts(self, pairs: Sequence[Pair]) -> list[tuple[str, str]]:
        """(query, product text) per pair, each cut to its share of the budget (what the model reads)."""
        budgets = [self.query_tokens] * len(pairs)
        queries = [text for text, _ in fit_text([p.query for p in pairs], budgets, self._spans)]
        query_lengths = [len(s) for s in self._spans(queries)]
        # Products get what each query left, so a short query buys more product text.
        by_budget: dict[int, list[int]] = {}
        for i, length in enumerate(query_lengths):
            by_budget.setdefault(self.max_length - SPECIAL_TOKENS - length, []).append(i)
        products = [""] * len(pairs)
        for budget, rows in by_budget.items():
            for i, fitted in zip(rows, fit_fields([pairs[i].product for i in rows], budget, self._spans)):
                products[i] = render_inline(fitted)
        return list(zip(queries, products))

    def encode(self, pairs: Sequence[Pair],
               texts: Sequence[tuple[str, str]] | None = None) -> list[tuple[list[int], list[int]]]:
        """(token ids, token type ids) per pair, unpadded; `texts`: `self.texts(pairs)`, when the caller has them."""
        encodings = self.tokenizer.encode_batch(list(self.texts(pairs) if texts is None else texts))
        return [(e.ids, e.type_ids) for e in encodings]

    def pad(self, encoded: Sequence[tuple[list[int], list[int]]]) -> Batch:
        """Pad a batch to its longest member (dynamic padding: a batch of short pairs costs little)."""
        width = max(len(ids) for ids, _ in encoded)
        input_ids = np.full((len(encoded), width), self.pad_id, dtype=np.int64)
        type_ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, (ids, types) in enumerate(encoded):
            input_ids[row, : len(ids)] = ids
            type_ids[row, : len(types)] = types
            mask[row, : len(ids)] = 1
        return Batch(input_ids, mask, type_ids)
