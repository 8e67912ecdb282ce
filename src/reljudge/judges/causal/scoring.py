"""Label probabilities from a causal LM in one forward pass per pair, the shared instructions computed once.

Why not generate the label and parse it: generation runs the model once per answer token and can answer off the
scale; one forward pass over the prompt gives the next-token log-probabilities of every label's answer at once,
and probabilities instead of a single label (for calibration, thresholds, and a training signal).

The instructions (the prompt's prefix) are the same ids for every pair, so their keys and values are computed once
and shared by every row of a batch (prefix caching, as vLLM does on a GPU); a row then costs only its own tokens.
Rows are sorted by length and cut into batches of `batch_size`, which bounds the pairs in flight and the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reljudge.judges.causal.prompt import CausalPrompt, LabelTokens


def prefix_states(model: Any, prefix_ids: Sequence[int]) -> list[tuple[Any, Any]]:
    """Every layer's (keys, values) for the prefix, batch 1; differentiable when the model is training."""
    import torch

    device = next(model.parameters()).device
    output = model(input_ids=torch.tensor([list(prefix_ids)], device=device), use_cache=True)
    return [(layer.keys, layer.values) for layer in output.past_key_values.layers]


def logits_after_prefix(model: Any, prefix: list[tuple[Any, Any]] | None, rows: Sequence[Sequence[int]],
                        positions: Sequence[Sequence[int]], pad_id: int, fp32_head: bool = False) -> list[Any]:
    """Run rows (right-padded) after the cached prefix; return each row's logits at its `positions`.

    Positions index the row's own tokens (0 = its first). Only the asked positions go through the LM head.
    With `prefix` None the rows are whole sequences (for gradient checkpointing, which turns caching off).
    `fp32_head`: the LM head in float32 on the last hidden states (see `fp32_logits`), whatever the model's dtype.

    Returns:
        One (len(positions[i]), vocab) tensor per row.
    """
    import torch
    from transformers import DynamicCache

    device = next(model.parameters()).device
    n, width, start = len(rows), max(len(r) for r in rows), prefix[0][0].shape[-2] if prefix else 0
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, start + width), dtype=torch.long)
    mask[:, :start] = 1
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(list(row))
        mask[i, start : start + len(row)] = 1
    cache = DynamicCache(ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in prefix]) \
        if prefix else None
    keep = sorted({p for row_positions in positions for p in row_positions})
    column = {p: j for j, p in enumerate(keep)}
    inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device), "past_key_values": cache,
              "use_cache": cache is not None}
    if fp32_head:
        hidden = model.get_decoder()(**inputs).last_hidden_state[:, keep]
        logits = fp32_logits(model, hidden)
    else:
        logits = model(**inputs, logits_to_keep=torch.tensor(keep, device=device)).logits
    return [logits[i, [column[p] for p in row_positions]] for i, row_positions in enumerate(positions)]


def fp32_logits(model: Any, hidden: Any, chunk: int = 8192) -> Any:
    """The LM head's logits computed in float32 from (possibly bf16) hidden states, a slice of the vocabulary at a
    time (no float32 copy of the whole head is kept).

    Why: bf16 logits of magnitude 8-16 step by 1/16, so a bf16 judge's label scores take few distinct values and
    its labels hang on ties (on ESCI valid, the shipped adapter's 1,024 label scores of 256 pairs took 144 values;
    after DPO the top two labels tied exactly for half of the pairs, broken by float noise). The layers stay in the
    model's dtype; only the last product is exact enough to order the labels.
    """
    import torch

    head = model.get_output_embeddings()
    states = hidden.float()
    parts = [states @ weight.float().T for weight in head.weight.split(chunk)]
    logits = torch.cat(parts, dim=-1)
    return logits if getattr(head, "bias", None) is None else logits + head.bias.float()


def label_log_proba(model: Any, prompt: CausalPrompt, pair_ids: Sequence[Sequence[int]], batch_size: int = 16,
                    offsets: Sequence[float] | None = None) -> np.ndarray:
    """Log-probabilities over the labels, (n, k), each row normalised over the scheme's labels.

    A label's score is the log-probability of its answer's tokens at each branch of the label trie (one branch,
    the first token, when the answers' first tokens differ); `offsets` are added before normalising.
    """
    import torch

    labels = prompt.labels
    branches = labels.branches()
    rows = [(i, path) for i in range(len(pair_ids)) for path in branches]
    order = sorted(range(len(rows)), key=lambda r: len(pair_ids[rows[r][0]]) + len(rows[r][1]))
    next_token: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}
    pad = pad_id(prompt.tokenizer)
    fp32_head = next(model.parameters()).dtype != torch.float32
    with torch.inference_mode():
        prefix = prefix_states(model, prompt.prefix_ids)
        for start in range(0, len(order), batch_size):
            chosen = [rows[r] for r in order[start : start + batch_size]]
            inputs = [list(pair_ids[i]) + list(path) for i, path in chosen]
            logits = logits_after_prefix(model, prefix, inputs, [[len(x) - 1] for x in inputs], pad, fp32_head)
            for key, row_logits in zip(chosen, logits):
                next_token[key] = torch.log_softmax(row_logits[0].float(), dim=-1).cpu().numpy()
    scores = np.zeros((len(pair_ids), len(labels.ids)))
    for i in range(len(pair_ids)):
        scores[i] = _label_scores(labels, branches, {path: next_token[(i, path)] for path in branches})
    if offsets is not None:
        scores = scores + np.asarray(offsets)
    return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


def _label_scores(labels: LabelTokens, branches: Sequence[tuple[int, ...]],
                  log_next: dict[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """Each label's summed log-probability over the branches on its path."""
    out = np.zeros(len(labels.ids))
    for j, ids in enumerate(labels.ids):
        out[j] = sum(log_next[path][ids[len(path)]] for path in branches
                     if len(path) < len(ids) and ids[: len(path)] == path)
    return out


def pad_id(tokenizer: Any) -> int:
    """Padding only fills masked positions after a row's end, so any id does; the model's own where it has one."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0
