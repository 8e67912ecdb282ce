"""The causal LM judge's options (light: the CLI reads them without importing torch)."""

from __future__ import annotations

from typing import Literal, Optional

from reljudge.judges.options import JudgeOptions, option

Precision = Literal["auto", "fp32", "bf16", "int8"]
Backend = Literal["hf", "vllm"]


class CausalOptions(JudgeOptions):
    precision: Precision = option(
        "auto", "auto (bf16 where the hardware computes it natively, else fp32), fp32, bf16 or int8.")
    template: Optional[str] = option(
        None, "A prompt template (NAME, NAME.vN or a file) for a zero-shot causal:BASE (default esci-causal); an "
              "adapter keeps the one it was trained with.")
    backend: Backend = option(
        "hf", "hf (Hugging Face transformers) or vllm (vLLM's offline engine in this process: reljudge's vllm "
              "extra on a CPU, PyPI's vllm on a GPU); the same prompts and label scores.")
