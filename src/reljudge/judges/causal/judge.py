"""The causal-LM judge: a decoder LM, fine-tuned with LoRA or zero-shot, scored on its label answers' tokens.

Specs:
- `causal`: the adapter shipped with reljudge (SmolLM2-135M-Instruct fine-tuned on the ESCI train split).
- `causal:DIR`: an adapter directory that `reljudge train --judge causal` wrote (reljudge.json names its base).
- `causal:BASE`: a base model zero-shot (a Hugging Face directory, or SmolLM2-135M-Instruct), with the `template`
  option's prompt (default esci-causal) and no offsets.

The `backend` option runs the model with Hugging Face transformers (hf, the default) or vLLM's offline engine
(vllm, `vllm_engine`): the same prompts, template and offsets.

The spec's digest covers the adapter's files (or the base's identity), the template's text, the precision and a
backend other than hf, so labels from another adapter, prompt, precision or engine are never served from the
store's cache under this spec.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.base import JudgeBase
from reljudge.judges.causal.model import choose_precision, device, load_causal_lm, merged_model, resolve_base
from reljudge.judges.causal.options import CausalOptions
from reljudge.judges.causal.prompt import CausalPrompt
from reljudge.judges.causal.scoring import label_log_proba
from reljudge.judges.model_dir import (
    CONFIG_FILE,
    files_digest,
    model_scheme,
    pinned_spec,
    read_model_config,
    shipped_model,
)
from reljudge.labels import LabelScheme, get_scheme
from reljudge.prompts.templates import load_template
from reljudge.records import Pair

FORMAT = "reljudge-causal/1"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
#: A zero-shot judge's token budget and query share when none is given (the trainer's defaults).
ZERO_SHOT = {"max_length": 224, "query_tokens": 16, "template": "esci-causal"}
_MAKE_ONE = "make one with `reljudge train --judge causal --data PAIRS --output DIR`"


class CausalJudge(JudgeBase):
    """Label probabilities from a causal LM's answer-token log-probabilities after the template's prompt.

    Args:
        source: an adapter directory (with reljudge.json), or a base model (directory or SmolLM2 name) zero-shot.
        location: how the spec names `source`; None for the shipped adapter.
        scheme: the scheme to report; an adapter's must match it.
        precision: auto, fp32, bf16 or int8 (see `causal_model`; vllm: fp32 or bf16).
        template: a zero-shot judge's template (an adapter keeps the one it was trained with).
        backend: hf or vllm (see the module docstring).

    Raises:
        JudgeError: a missing or malformed adapter, another scheme, ambiguous label answers.
    """

    uses_query_group = False

    def __init__(self, source: str | Path | None, *, location: str | None = None, scheme: LabelScheme | None = None,
                 precision: str = "auto", template: str | None = None, backend: str = "hf"):
        import transformers

        directory = Path(source) if source is not None else None
        self.location = location
        self.precision = choose_precision(precision, device())
        if directory is not None and (directory / CONFIG_FILE).exists():
            self.config = _read_config(directory)
            if template is not None and not self.config["template"].startswith(f"{template}."):
                raise JudgeError(f"the adapter at {directory} was trained with template {self.config['template']}; "
                                 "it cannot be asked with another")
            base = resolve_base(_base_location(self.config["base"]))
            if base.identity != self.config["base"]:
                raise JudgeError(f"the adapter at {directory} was trained on base {self.config['base']}, but that "
                                 f"name now loads {base.identity}")
            self.scheme = _scheme_of(self.config, scheme)
            template_text = load_template(self.config["template"].partition("#")[0])
            if template_text.ident != self.config["template"]:
                raise JudgeError(f"template {self.config['template']} has changed since the adapter was trained")
            adapter = directory
            content = files_digest(directory, [CONFIG_FILE, *ADAPTER_FILES], _MAKE_ONE)
        else:
            base = resolve_base(source)
            self.scheme = scheme or get_scheme("esci")
            template_text = load_template(template or ZERO_SHOT["template"])
            self.config = {"base": base.identity, "template": template_text.ident, "offsets": [0.0] * self.scheme.k,
                           "max_length": ZERO_SHOT["max_length"], "query_tokens": ZERO_SHOT["query_tokens"]}
            adapter = None
            content = json.dumps(self.config, sort_keys=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(base.directory), local_files_only=True)
        self.prompt = CausalPrompt(tokenizer, template_text, self.scheme, int(self.config["max_length"]),
                                   int(self.config["query_tokens"]))
        self.offsets = np.asarray(self.config["offsets"], dtype=float)
        self.backend = backend
        self._digest = _digest(content, template_text.ident, self.precision, backend)
        if backend == "vllm":
            from reljudge.judges.causal.vllm_engine import VllmScorer, check_servable

            check_servable(self.prompt, self.precision)  # refused, or vLLM found missing, before any merge or load
            served = merged_model(base, adapter, self._digest) if adapter is not None else base.directory
            self.model = None
            self.engine = VllmScorer(served, self.precision, self.prompt.max_length + 1)
        else:
            self.model = load_causal_lm(base.directory, self.precision, adapter)

    @property
    def spec(self) -> str:
        """"causal@DIGEST" (shipped) or "causal:SOURCE@DIGEST"."""
        return pinned_spec("causal", self.location, self._digest)

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 16) -> np.ndarray:
        """Probabilities over `scheme.labels`, (n, k); batch_size bounds the pairs in one forward pass."""
        if not pairs:
            return np.zeros((0, self.scheme.k))
        if self.backend == "vllm":  # the engine batches by itself
            return np.exp(self.engine.label_log_proba(self.prompt, self.prompt.pair_ids(pairs), self.offsets))
        log_proba = label_log_proba(self.model, self.prompt, self.prompt.pair_ids(pairs), batch_size, self.offsets)
        return np.exp(log_proba)


def adapter_spec(directory: Path, location: str | None, precision: str = "auto") -> str:
    """The spec CausalJudge(directory) reports, computed from the adapter's files without loading the model."""
    content = files_digest(directory, [CONFIG_FILE, *ADAPTER_FILES], _MAKE_ONE)
    template = _read_config(directory)["template"]
    return pinned_spec("causal", location, _digest(content, template, choose_precision(precision, device())))


def _digest(content: str, template_ident: str, precision: str, backend: str = "hf") -> str:
    engine = "" if backend == "hf" else f"\0{backend}"  # hf keeps the digests it had before there was a choice
    return hashlib.sha256(f"{content}\0{template_ident}\0{precision}{engine}".encode()).hexdigest()


def _base_location(identity: str) -> str | None:
    """The base name to resolve: None for the GGUF-shipped SmolLM2 (identity NAME@sha), else the stored path."""
    from reljudge.judges.causal.model import SMOLLM2

    return None if identity.startswith(f"{SMOLLM2}@") else identity


def _read_config(directory: Path) -> dict[str, Any]:
    return read_model_config(directory / CONFIG_FILE, FORMAT,
                             ("base", "template", "scheme", "labels", "max_length", "query_tokens", "offsets"),
                             "causal-LM judge", _MAKE_ONE)


def _scheme_of(config: dict[str, Any], wanted: LabelScheme | None) -> LabelScheme:
    scheme = model_scheme(config, wanted, "adapter", _MAKE_ONE)
    if len(config["offsets"]) != scheme.k:
        raise JudgeError(f"the adapter's offsets do not match scheme {scheme.name!r}; {_MAKE_ONE}")
    return scheme


#: The adapter shipped with reljudge: SmolLM2-135M-Instruct + LoRA, fitted on the ESCI train split.
SHIPPED = "causal-esci"


def causal_judge(argument: str | None, scheme: LabelScheme | None, options: CausalOptions) -> CausalJudge:
    """Build the judge from its spec argument (see the module docstring)."""
    if argument is None:
        directory = shipped_model(SHIPPED, "causal adapter", _MAKE_ONE)
        return CausalJudge(directory, scheme=scheme, precision=options.precision, template=options.template,
                           backend=options.backend)
    return CausalJudge(argument, location=argument, scheme=scheme, precision=options.precision,
                       template=options.template, backend=options.backend)
