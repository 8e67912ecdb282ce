"""The cross-encoder's options (light: the CLI reads them without loading onnxruntime)."""

from __future__ import annotations

from typing import Optional

from reljudge.judges.options import JudgeOptions, runtime


class EncoderOptions(JudgeOptions):
    threads: Optional[int] = runtime(None, "onnxruntime threads per judge (default: the CPUs this process may use).",
                                     ge=1)
