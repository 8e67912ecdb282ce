"""A BERT-style sequence classifier's forward pass that computes the last layer at [CLS] alone: what export traces.

The classifier reads one vector, the last layer's output at [CLS]. Every other position of that layer is computed
and thrown away: its query projection, attention output, feed-forward block and layer norms. In the last layer
only the keys and values are needed at every position, so for MiniLM (hidden 384, feed-forward 1536) that layer
costs 2 of its 12 multiply-adds per token, and a two-layer encoder does 0.59x of the work per pair. The weights and
the function are the model's own; `cls_only` checks the rewritten forward against the Hugging Face one before
export traces it.

Only the post-norm BERT layout (BERT, MiniLM, RoBERTa, XLM-R: `attention.self.query/key/value`, `attention.output`,
`intermediate`, `output`) is known here; any other model is exported whole (`cls_only` is None).
"""

from __future__ import annotations

import logging
import math
import operator
from typing import Any

import torch

logger = logging.getLogger(__name__)

#: The largest |logit difference| from the Hugging Face forward that the rewritten one may show (float32 noise).
TOLERANCE = 1e-4
#: What each layer must have (the BERT layout); a pre-norm model may have them too, and fails the check instead.
LAYER_PARTS = ("attention.self.query", "attention.self.key", "attention.self.value",
               "attention.self.num_attention_heads", "attention.self.attention_head_size", "attention.output.dense",
               "attention.output.LayerNorm", "intermediate", "output.dense", "output.LayerNorm")


def cls_only(model: Any) -> ClsOnlyClassifier | None:
    """`model` with the last layer computed at [CLS] only; None when its layout is not one this module knows, or
    the rewritten forward does not reproduce the model's logits on a padded sample batch."""
    try:
        module = ClsOnlyClassifier(model)
    except AttributeError as exc:
        logger.info("%s is exported whole: %s", type(model).__name__, exc)
        return None
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, model.config.vocab_size, (3, 12), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    attention_mask[2, 4:] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 5:] = 1 if model.config.type_vocab_size > 1 else 0
    with torch.inference_mode():
        expected = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
        try:
            got = module(input_ids, attention_mask, token_type_ids)
        except (RuntimeError, TypeError, ValueError) as exc:  # e.g. a model that projects its embeddings
            logger.info("%s is exported whole: the [CLS]-only forward fails (%s)", type(model).__name__, exc)
            return None
    difference = float((expected - got).abs().max())
    if difference > TOLERANCE:
        logger.info("%s is exported whole: the [CLS]-only forward differs by %.2g", type(model).__name__, difference)
        return None
    return module


class ClsOnlyClassifier(torch.nn.Module):
    """A loaded `*ForSequenceClassification` model whose forward(input_ids, attention_mask, token_type_ids)
    returns its logits with the last layer computed at [CLS] only. Build it through `cls_only`, which checks it.

    Raises:
        AttributeError: the model is not laid out as this module expects.
    """

    def __init__(self, model: Any):
        super().__init__()
        self.model = model.eval()  # registers the head's weights, which `self.head` reaches only through a closure
        self.base = model.base_model
        self.layers = _layers(self.base)
        self.head = _head(model)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.base.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        # Additive mask over the keys: 0 where attended, the float minimum at padding.
        bias = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.layers[:-1]:
            hidden = _layer(layer, hidden, hidden, bias)
        return self.head(_layer(self.layers[-1], hidden, hidden[:, :1], bias))


def _layers(base: Any) -> Any:
    """The base's layers, each checked to have every part `_layer` reads."""
    layers = base.encoder.layer
    for layer in layers:
        for part in LAYER_PARTS:
            operator.attrgetter(part)(layer)
    return layers


def _head(model: Any) -> Any:
    """What turns the last layer's [CLS] state, (batch, 1, hidden), into logits: BERT's pooler and linear
    classifier, or a head that reads position 0 itself (RoBERTa's)."""
    pooler = getattr(model.base_model, "pooler", None)
    classifier = model.classifier
    if pooler is not None and isinstance(classifier, torch.nn.Linear):
        return lambda state: classifier(pooler(state))
    if pooler is None and not isinstance(classifier, torch.nn.Linear):
        return classifier
    raise AttributeError(f"unknown head: pooler {type(pooler).__name__}, classifier {type(classifier).__name__}")


def _layer(layer: Any, keys_from: Any, rows: Any, bias: Any) -> Any:
    """One post-norm transformer layer's output at `rows` (a subset of positions of `keys_from`, or all of them),
    attending over every position of `keys_from`; inference only (no dropout)."""
    attention = layer.attention.self
    heads, size = attention.num_attention_heads, attention.attention_head_size

    def split(x: Any) -> Any:
        return x.reshape(x.shape[0], x.shape[1], heads, size).transpose(1, 2)

    query, key, value = split(attention.query(rows)), split(attention.key(keys_from)), split(attention.value(keys_from))
    scores = query @ key.transpose(-1, -2) / math.sqrt(size) + bias
    context = (scores.softmax(dim=-1) @ value).transpose(1, 2)
    context = context.reshape(context.shape[0], context.shape[1], heads * size)
    attended = layer.attention.output.LayerNorm(layer.attention.output.dense(context) + rows)
    return layer.output.LayerNorm(layer.output.dense(layer.intermediate(attended)) + attended)
