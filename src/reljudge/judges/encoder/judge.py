"""The cross-encoder judge: a fine-tuned transformer reads query and product together; a small stacked classifier
turns its logits and the lexical features into probabilities.

Why stacked: on ESCI's few queries a fine-tuned MiniLM alone either collapses to the majority label or, with class
weights, over-calls the rare ones; the group-relative lexical and semantic features (see `lexical_features` and
`token_vectors`) know what else the query retrieved, which the pointwise encoder cannot. A multinomial logistic
regression over all three, fitted on cross-fitted encoder logits and shifted by prior offsets (as the lexical judge
is), is the judge.

A model directory holds reljudge.json (scheme, token budget, the stacked classifier, how it was trained and its
valid figures), tokenizer.json, token_vectors.npy (see `token_vectors`), and either the Hugging Face model files
(the torch backend, for training and checks) or model.onnx (the fast backend: onnxruntime, int8, no torch). The
shipped default judge is the latter.

A pair's probabilities depend only on the pair and its query's candidate set: the lexical features are group
relative, and the encoder runs query group by query group in batches fixed by the group (int8 activations are
quantised per batch, so batch composition must not depend on how the caller cut the input).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.base import JudgeBase
from reljudge.judges.encoder.inputs import TOKENIZER_FILE, Batch, PairEncoder
from reljudge.judges.encoder.options import EncoderOptions
from reljudge.judges.features.category import CATEGORY_NAMES, CategoryFeatures, user_cache_folder
from reljudge.judges.features.lexical import FEATURE_NAMES, pair_features
from reljudge.judges.features.token_vectors import SEMANTIC_NAMES, VECTORS_FILE, SemanticFeatures
from reljudge.judges.model_dir import (
    CONFIG_FILE,
    files_digest,
    model_scheme,
    pinned_spec,
    read_model_config,
    shipped_model,
)
from reljudge.labels import LabelScheme
from reljudge.records import Pair, query_key

FORMAT = "reljudge-cross-encoder/2"
ONNX_FILE = "model.onnx"
#: A mean-pooled model's linear head, beside its encoder's Hugging Face files (see `heads`).
HEAD_FILE = "head.safetensors"
#: The files the torch backend reads (one weights file of the two; the head file with mean pooling).
TORCH_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", HEAD_FILE)
#: Pairs per forward pass within a query group; fixed, so results never depend on the caller's batch size.
GROUP_BATCH = 64
_MAKE_ONE = "make one with `reljudge train --judge cross-encoder --data PAIRS --output DIR`"


def stack_features(labels: Sequence[str], category: bool) -> list[str]:
    """The stacked classifier's features, in order: lexical, semantic, category (when `category`), then the
    encoder's logit per label."""
    return [*FEATURE_NAMES, *SEMANTIC_NAMES, *(CATEGORY_NAMES if category else ()),
            *(f"encoder_{label}" for label in labels)]


def standardised(features: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(features - mean) / scale, with a missing feature (NaN: a product without a category) at its training mean."""
    return np.nan_to_num((features - mean) / scale, nan=0.0)


class EncoderJudge(JudgeBase):
    """A cross-encoder (onnxruntime or torch) and a stacked linear classifier over its logits and lexical features.

    Args:
        directory: the model directory (see the module docstring).
        location: how the spec names the directory; None for the shipped model.
        scheme: the scheme to report; must have the model's labels.
        threads: onnxruntime's intra-op threads (default: the CPUs this process may use).

    Raises:
        JudgeError: a file is missing or malformed, or `scheme` differs from the model's.
    """

    uses_query_group = True

    def __init__(self, directory: str | Path, *, location: str | None = None, scheme: LabelScheme | None = None,
                 threads: int | None = None):
        directory = Path(directory)
        self.config = _read_config(directory)
        self.location = location
        self.scheme = model_scheme(self.config, scheme, "cross-encoder", _MAKE_ONE)
        stack = self.config["stack"]
        try:
            self._mean = np.asarray(stack["mean"], dtype=float)
            self._scale = np.asarray(stack["scale"], dtype=float)
            self._coef = np.asarray(stack["coef"], dtype=float)
            self._bias = np.asarray(stack["intercept"], dtype=float) + np.asarray(stack["offsets"], dtype=float)
        except (KeyError, TypeError, ValueError) as exc:
            raise JudgeError(f"the cross-encoder's stacked classifier is malformed ({exc!r}); {_MAKE_ONE}") from exc
        category = CATEGORY_NAMES[0] in (stack.get("features") or [])
        expected = stack_features(self.scheme.labels, category)
        if stack.get("features") != expected or self._coef.shape != (self.scheme.k, len(expected)):
            raise JudgeError(f"the cross-encoder was stacked on another feature set; retrain it: {_MAKE_ONE}")
        if not (directory / TOKENIZER_FILE).exists():
            raise JudgeError(f"the cross-encoder at {directory} has no {TOKENIZER_FILE}; {_MAKE_ONE}")
        self.inputs = PairEncoder(directory / TOKENIZER_FILE, self.config["max_length"], self.config["query_tokens"])
        self.semantic = SemanticFeatures.load(self.inputs, directory)
        self.categories = CategoryFeatures(threads, disk=user_cache_folder()) if category else None
        if (directory / ONNX_FILE).exists():
            self.backend: OnnxBackend | TorchBackend = OnnxBackend(directory / ONNX_FILE, threads)
            model_files = [ONNX_FILE]
        else:
            model_files = [name for name in TORCH_FILES if (directory / name).exists()]
            if len(model_files) < 2:
                raise JudgeError(f"the cross-encoder at {directory} has neither {ONNX_FILE} nor a Hugging Face model "
                                 f"(config.json and weights); {_MAKE_ONE}")
            self.backend = TorchBackend.load(directory, self.config.get("pooling", "cls"))
        self._digest = files_digest(directory, [CONFIG_FILE, TOKENIZER_FILE, VECTORS_FILE, *model_files])

    @property
    def spec(self) -> str:
        """"cross-encoder@DIGEST" (shipped) or "cross-encoder:DIR@DIGEST"; DIGEST pins the files it loaded."""
        return pinned_spec("cross-encoder", self.location, self._digest)

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        """Probabilities over `scheme.labels`, shape (n, k), rows summing to 1.

        `batch_size` is accepted for the Judge protocol and ignored: the encoder runs in batches of at most
        `GROUP_BATCH` pairs cut from one query group, so a pair's row never depends on how the input was cut.
        """
        if not pairs:
            return np.zeros((0, self.scheme.k))
        texts = self.inputs.texts(pairs)  # cut to the budget once: the encoder and the semantic features read them
        return self.stack(self.group_features(pairs, texts), self.encoder_logits(pairs, texts))

    def group_features(self, pairs: Sequence[Pair], texts: Sequence[tuple[str, str]] | None = None) -> np.ndarray:
        """The lexical, semantic (and category) features of each pair, (n, d): the stack's inputs besides the logits.

        `texts`: `self.inputs.texts(pairs)`, when the caller has them already.
        """
        return stack_inputs(pairs, self.semantic, self.categories, texts)

    def stack(self, group_features: np.ndarray, encoder_logits: np.ndarray) -> np.ndarray:
        """The stacked classifier's probabilities from `group_features` and encoder logits (one row per pair).

        Public so that another runtime's logits for the same model (a benchmark's) get the same last step.
        """
        features = np.hstack([group_features, encoder_logits])
        logits = standardised(features, self._mean, self._scale) @ self._coef.T + self._bias
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def encoder_logits(self, pairs: Sequence[Pair], texts: Sequence[tuple[str, str]] | None = None) -> np.ndarray:
        """The encoder's raw logits, (n, k) (see `encoder_logits`)."""
        return encoder_logits(self.inputs, self.backend, pairs, texts)


def stack_inputs(pairs: Sequence[Pair], semantic: SemanticFeatures, categories: CategoryFeatures | None,
                 texts: Sequence[tuple[str, str]] | None = None) -> np.ndarray:
    """The stack's inputs besides the logits, as the judge and its trainer both compute them (no category
    features when `categories` is None)."""
    blocks = [pair_features(pairs), semantic(pairs, texts)]
    return np.hstack(blocks + ([categories(pairs)] if categories is not None else []))


def encoder_logits(inputs: PairEncoder, backend: Callable[[Batch], np.ndarray], pairs: Sequence[Pair],
                   texts: Sequence[tuple[str, str]] | None = None) -> np.ndarray:
    """A backend's logits for each pair, (n, k), computed query group by query group (see `group_batches`).

    Each distinct pair (by query group and pair hash) is run once; duplicates share its row. `texts`:
    `inputs.texts(pairs)`, when the caller has them already.
    """
    keys = [(p.query_id or query_key(p.query), p.pair_hash) for p in pairs]
    first: dict[tuple[str, str], int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    unique = list(first.values())
    encoded = dict(zip(unique, inputs.encode([pairs[i] for i in unique],
                                             None if texts is None else [texts[i] for i in unique])))
    logits_of: dict[tuple[str, str], np.ndarray] = {}
    for batch in group_batches([(keys[i], len(encoded[i][0])) for i in unique]):
        logits = backend(inputs.pad([encoded[first[key]] for key in batch]))
        logits_of.update(zip(batch, logits))
    return np.stack([logits_of[key] for key in keys])


def group_batches(items: Sequence[tuple[tuple[str, str], int]], size: int = GROUP_BATCH) -> list[list[tuple[str, str]]]:
    """Cut distinct ((group, pair hash), length) items into batches that never mix query groups.

    Within a group, pairs are sorted by (length, hash) so padding is small and the cut is a function of the
    group's candidate set alone.
    """
    groups: dict[str, list[tuple[int, str]]] = {}
    for (group, digest), length in items:
        groups.setdefault(group, []).append((length, digest))
    batches = []
    for group in sorted(groups):
        members = sorted(groups[group])
        for start in range(0, len(members), size):
            batches.append([(group, digest) for _, digest in members[start : start + size]])
    return batches


class OnnxBackend:
    """An ONNX encoder run by onnxruntime on the CPU: the fast path, with no torch."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _usable_cpus()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}

    def __call__(self, batch: Batch) -> np.ndarray:
        feed = {name: getattr(batch, name) for name in ("input_ids", "attention_mask", "token_type_ids")
                if name in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float64)


class TorchBackend:
    """A Hugging Face sequence-classification model in fp32 with torch: what training makes and export checks."""

    def __init__(self, model: Any):
        import torch

        self.torch = torch
        self.model = model.eval()

    @classmethod
    def load(cls, directory: Path, pooling: str = "cls") -> TorchBackend:
        """The model in `directory`: a Hugging Face sequence classifier ("cls") or a mean-pooled encoder."""
        try:
            import transformers  # noqa: F401

            from reljudge.judges.encoder.heads import load_classifier
        except ImportError as exc:
            raise JudgeError(
                f"the cross-encoder at {directory} is a torch model and needs torch and transformers "
                f"(pip install 'reljudge[train]'), or export it: `reljudge export {directory} --onnx --int8`"
            ) from exc
        return cls(load_classifier(directory, pooling))

    def __call__(self, batch: Batch) -> np.ndarray:
        tensors = {name: self.torch.from_numpy(getattr(batch, name))
                   for name in ("input_ids", "attention_mask", "token_type_ids")}
        with self.torch.inference_mode():
            return self.model(**tensors).logits.double().numpy()


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _read_config(directory: Path) -> dict[str, Any]:
    return read_model_config(directory / CONFIG_FILE, FORMAT, ("max_length", "query_tokens", "stack"),
                             "cross-encoder", _MAKE_ONE)


#: Where the shipped default judge lives (fitted on the ESCI train split, ONNX int8).
SHIPPED = "cross-encoder-esci"


def cross_encoder_judge(argument: str | None, scheme: LabelScheme | None, options: EncoderOptions) -> EncoderJudge:
    """Build the judge from its spec argument: None (the shipped model) or a model directory."""
    if argument is None:
        return EncoderJudge(shipped_model(SHIPPED, "cross-encoder", _MAKE_ONE), scheme=scheme, threads=options.threads)
    return EncoderJudge(argument, location=argument, scheme=scheme, threads=options.threads)
