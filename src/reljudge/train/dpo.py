"""LREF's DPO stage: preference pairs from a fine-tuned causal judge's errors on the train split, and trl's
`DPOTrainer` on its LoRA adapter, so the judge prefers the human label over the answer it wrongly gave.

Why: LLM judges err optimistic (most of their errors call a pair more relevant than people do). DPO (Rafailov et al.
2023) raises the log-probability ratio of the human label's answer over the judge's wrong answer, measured against
the SFT adapter itself as reference; `dpo_beta` bounds how far the judge moves from it.

Preference pairs: the SFT judge (with its offsets, as it judges; with `dpo_raw_errors`, the model's own argmax)
scores the train pairs in a seeded random order, SCORE_CHUNK at a time, until it has made `dpo_pairs` errors (all
pairs when unset). Each error gives: prompt = the judge's own prompt ids, chosen = the human label's answer tokens,
rejected = the judge's answer tokens, i.e. its top wrong answer: the more optimistic one on an optimistic error.
They are saved once (OUTPUT/preferences.json), so a resumed run trains on the same pairs. The errors carry the
judge's bias, and DPO learns their label mix as well: a judge whose errors are mostly pessimistic is pushed towards
the higher labels (the offsets, fitted again, take that shift back out of its answers).

The policy is the SFT adapter, trainable; trl copies it into a frozen "ref" adapter for the reference
log-probabilities, so no second model is loaded. trl receives token ids, never text: re-tokenizing the prompt could
change the ids the judge reads. Offsets are fitted again on the valid inputs after each epoch, as SFT fits them, and
once more on the saved adapter as a judge loads it (`refit_offsets`).

The output is an adapter directory like SFT's (it loads as `causal:DIR`); its reljudge.json records the stage, the
SFT adapter it started from, the preference pairs' summary, the DPO settings in use and the valid figures.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.labels import LabelScheme, get_scheme
from reljudge.records import Pair
from reljudge.train.common import data_summary, label_indices
from reljudge.train.configs import CausalConfig, make_config

logger = logging.getLogger(__name__)

#: Train pairs the SFT judge scores at a time while it looks for errors.
SCORE_CHUNK = 256
PREFERENCES = "preferences.json"
#: The settings DPO uses; the others are the SFT adapter's (base, template, budgets, LoRA shape) or SFT's alone.
DPO_SETTINGS = ("dpo_beta", "dpo_pairs", "dpo_learning_rate", "dpo_epochs", "dpo_raw_errors", "batch_size",
                "warmup_ratio", "weight_decay", "precision", "gradient_checkpointing", "seed", "eval_batch_size",
                "save_steps")


def train_dpo(
    pairs: Sequence[Pair],
    scheme: str | LabelScheme,
    adapter: str | Path,
    output_dir: str | Path,
    config: CausalConfig | Mapping[str, Any] | None = None,
    *,
    valid_pairs: Sequence[Pair] | None = None,
    data_source: str = "",
    callbacks: Sequence[Any] = (),
    **overrides: Any,
) -> dict[str, Any]:
    """DPO on the SFT adapter at ADAPTER with preference pairs from its errors on `pairs`; the new adapter goes to
    OUTPUT_DIR. Re-running the same call after a kill resumes from the last checkpoint in OUTPUT_DIR/checkpoints.

    Args:
        pairs: the labelled train pairs the preference pairs come from.
        scheme: their label scheme (the adapter's).
        adapter: a directory `reljudge train --judge causal` wrote.
        output_dir: where the new adapter and its reljudge.json go (not ADAPTER itself).
        config: a `CausalConfig` or a mapping of its fields; DPO reads DPO_SETTINGS of it and refuses others set
            away from their defaults.
        valid_pairs: held-out pairs, scored after every epoch (offsets and figures), never trained on.
        data_source: the training file, recorded in reljudge.json.
        callbacks: extra transformers TrainerCallbacks.
        **overrides: fields of `CausalConfig` that replace the config's.

    Returns:
        {"spec", "path", "scheme", "preferences", "valid", "epochs", "resumed_from"}.
    """
    import transformers

    from reljudge.judges.causal.judge import CausalJudge, adapter_spec
    from reljudge.judges.causal.model import choose_precision, device

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scheme, config = get_scheme(scheme), dpo_config(config, overrides)
    adapter, output_dir = Path(adapter), Path(output_dir)
    if output_dir.resolve() == adapter.resolve():
        raise JudgeError(f"--output {output_dir} is the SFT adapter itself: write the DPO adapter elsewhere")
    output_dir.mkdir(parents=True, exist_ok=True)
    transformers.set_seed(config.seed)
    sft = CausalJudge(adapter, location=str(adapter), scheme=scheme, precision=config.precision)
    preferences = load_or_find_preferences(sft, pairs, config, output_dir)
    on = device()
    precision = choose_precision(config.precision, on)
    y = label_indices(pairs, scheme, "training data")
    target = np.bincount(y, minlength=scheme.k) / len(y)  # the label mix the offsets aim the judge at
    trainer, scorer, base = dpo_trainer(sft, pairs, preferences["pairs"], valid_pairs, target, config, output_dir,
                                        precision=precision, on=on, callbacks=callbacks)
    checkpoints = output_dir / "checkpoints"
    resume = transformers.trainer_utils.get_last_checkpoint(str(checkpoints)) if checkpoints.exists() else None
    if resume:
        from reljudge.train.causal import _saved_history

        logger.info("resuming from %s", resume)
        scorer.history.extend(_saved_history(output_dir))
    trainer.train(resume_from_checkpoint=resume)
    model_config = save_adapter(trainer.model, sft, output_dir, base, scorer.history, {
        "stage": "dpo", "from": {"spec": sft.spec, "training": sft.config.get("training")}, "data": data_source,
        **data_summary(pairs, scheme), "preferences": preferences["summary"],
        "hyperparameters": {name: getattr(config, name) for name in DPO_SETTINGS}, "precision": precision,
        "device": on})
    if valid_pairs:
        del trainer
        model_config = refit_offsets(output_dir, scheme, valid_pairs, target, config)
    return {"spec": adapter_spec(output_dir, str(output_dir)), "path": str(output_dir), "scheme": scheme.name,
            "preferences": preferences["summary"], "valid": model_config["valid"],
            "epochs": [{k: h[k] for k in ("epoch", "alpha", "macro_f1")} for h in scorer.history],
            "resumed_from": resume}


def dpo_config(config: CausalConfig | Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> CausalConfig:
    """The causal config, refusing settings DPO would ignore when they are set away from their defaults."""
    config = make_config("causal", config, overrides)
    ignored = [name for name, field in CausalConfig.model_fields.items()
               if name not in DPO_SETTINGS and getattr(config, name) != field.default]
    if ignored:
        raise JudgeError(f"DPO does not use {', '.join(ignored)}: the SFT adapter fixes the base, template, token "
                         "budgets and LoRA shape, and DPO has its own dpo_learning_rate and dpo_epochs")
    return config


def load_or_find_preferences(sft: Any, pairs: Sequence[Pair], config: CausalConfig,
                             output_dir: Path) -> dict[str, Any]:
    """The preference pairs saved in OUTPUT_DIR by an earlier run of the same job, else found and saved now.

    Raises:
        JudgeError: OUTPUT_DIR holds the preference pairs of another adapter or other data.
    """
    from reljudge.io.atomic import atomic_path

    path = output_dir / PREFERENCES
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        known = {p.pair_hash for p in pairs}
        asked = {"from": sft.spec, "limit": config.dpo_pairs, "seed": config.seed, "raw": config.dpo_raw_errors}
        if any(saved["summary"].get(key) != value for key, value in asked.items()) or \
                any(row["pair_hash"] not in known for row in saved["pairs"]):
            raise JudgeError(f"{path} holds the preference pairs of another adapter, data, dpo_pairs or seed; choose "
                             "another --output or remove it")
        return saved
    found = find_preferences(sft, pairs, config.dpo_pairs, config.seed, config.eval_batch_size,
                             raw=config.dpo_raw_errors)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    return found


def find_preferences(judge: Any, pairs: Sequence[Pair], limit: int | None, seed: int, batch_size: int = 32, *,
                     raw: bool = False) -> dict[str, Any]:
    """Preference pairs from the judge's errors: {"summary": {...}, "pairs": [{pair_hash, pair_id, chosen,
    rejected, optimistic}, ...]}, at most `limit` of them, from the pairs in a seeded random order; `raw`: the
    errors of the model's own argmax, without the judge's offsets."""
    scheme = judge.scheme
    human = label_indices(pairs, scheme, "training data")
    gains = np.asarray(scheme.gains)
    order = np.random.default_rng(seed).permutation(len(pairs))
    found: list[dict[str, Any]] = []
    scored = 0
    for start in range(0, len(order), SCORE_CHUNK):
        chunk = order[start : start + SCORE_CHUNK]
        log_proba = np.log(judge.predict_proba([pairs[i] for i in chunk], batch_size=batch_size))
        predicted = (log_proba - judge.offsets if raw else log_proba).argmax(axis=1)
        scored += len(chunk)
        for i, guess in zip(chunk, predicted):
            if guess != human[i]:
                found.append({"pair_hash": pairs[i].pair_hash, "pair_id": pairs[i].pair_id,
                              "chosen": scheme.labels[human[i]], "rejected": scheme.labels[guess],
                              "optimistic": bool(gains[guess] > gains[human[i]])})
        if limit is not None and len(found) >= limit:
            break
    errors = len(found)
    kept = found[:limit] if limit is not None else found
    summary = {"from": judge.spec, "limit": limit, "seed": seed, "raw": raw, "scored": scored, "errors": errors,
               "optimistic_errors": sum(row["optimistic"] for row in found), "pairs": len(kept),
               "rejected": {label: sum(row["rejected"] == label for row in kept) for label in scheme.labels}}
    logger.info("preference pairs: %s", summary)
    return {"summary": summary, "pairs": kept}


def dpo_trainer(sft: Any, pairs: Sequence[Pair], preferences: Sequence[dict[str, Any]],
                valid_pairs: Sequence[Pair] | None, target: np.ndarray, config: CausalConfig, output_dir: Path, *,
                precision: str, on: str, callbacks: Sequence[Any]) -> tuple[Any, Any, Any]:
    """(trainer, valid scorer, base) for DPO on the SFT adapter: the policy is the adapter made trainable, the
    data its prompt ids with the chosen and rejected answers' ids; `target` is the training labels' mix, which the
    scorer fits the offsets to."""
    import datasets
    import transformers
    from peft import PeftModel

    from reljudge.judges.causal.judge import _base_location
    from reljudge.judges.causal.model import load_causal_lm, resolve_base
    from reljudge.train.causal import _interactive, valid_scorer

    base = resolve_base(_base_location(sft.config["base"]))
    model = load_causal_lm(base.directory, "bf16" if precision == "bf16" else "fp32")
    model = PeftModel.from_pretrained(model, str(sft.location), is_trainable=True)
    # the adapter names its base by identity; peft looks the base up by this name when it saves
    model.peft_config["default"].base_model_name_or_path = str(base.directory)
    prompt, scheme = sft.prompt, sft.scheme
    by_hash = {p.pair_hash: p for p in pairs}
    chosen = [by_hash[row["pair_hash"]] for row in preferences]
    answers = dict(zip(scheme.labels, prompt.labels.ids))
    data = datasets.Dataset.from_list([
        {"prompt_ids": list(prompt.prefix_ids) + list(x), "chosen_ids": list(answers[row["chosen"]]),
         "rejected_ids": list(answers[row["rejected"]])} for x, row in zip(prompt.pair_ids(chosen), preferences)])
    scorer = valid_scorer(prompt, scheme, valid_pairs, target, config.eval_batch_size, output_dir)
    checkpointing = on == "cuda" if config.gradient_checkpointing == "auto" else config.gradient_checkpointing
    steps = int(np.ceil(len(data) / config.batch_size) * config.dpo_epochs)
    args = _dpo_arguments(config, output_dir / "checkpoints", bf16=precision == "bf16", cpu=on == "cpu",
                          checkpointing=checkpointing, warmup_steps=int(config.warmup_ratio * steps),
                          quiet=not _interactive())
    trainer = _tokenized_dpo_trainer()(model=model, args=args, train_dataset=data, processing_class=prompt.tokenizer,
                                       callbacks=[_log_steps(), scorer, *callbacks])
    trainer.remove_callback(transformers.PrinterCallback)
    return trainer, scorer, base


def _dpo_arguments(config: CausalConfig, checkpoints: Path, *, bf16: bool, cpu: bool, checkpointing: bool,
                   warmup_steps: int, quiet: bool) -> Any:
    from trl import DPOConfig

    return DPOConfig(
        output_dir=str(checkpoints), num_train_epochs=config.dpo_epochs, learning_rate=config.dpo_learning_rate,
        per_device_train_batch_size=config.batch_size, lr_scheduler_type="linear", warmup_steps=warmup_steps,
        weight_decay=config.weight_decay, beta=config.dpo_beta, max_length=None, save_strategy="steps",
        save_steps=config.save_steps, save_total_limit=1, logging_steps=5, report_to=[], seed=config.seed,
        data_seed=config.seed, bf16=bf16, use_cpu=cpu, gradient_checkpointing=checkpointing,
        dataloader_num_workers=0, disable_tqdm=quiet)


def _tokenized_dpo_trainer() -> type:
    """trl's DPOTrainer reading prompt_ids / chosen_ids / rejected_ids as given (it would tokenize text)."""
    from trl import DPOTrainer

    class TokenizedDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return dataset

    return TokenizedDPOTrainer


def _log_steps() -> Any:
    """A callback that logs the DPO loss and reward margins where no progress bar shows them (transformers would
    print them to stdout)."""
    import transformers

    class LogSteps(transformers.TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if args.disable_tqdm:
                logger.info("DPO step %d/%d %s", state.global_step, state.max_steps, logs)

    return LogSteps()


def save_adapter(model: Any, sft: Any, output_dir: Path, base: Any, history: list[dict[str, Any]],
                 training: dict[str, Any]) -> dict[str, Any]:
    """Write the trained adapter (not trl's frozen reference copy) and its reljudge.json: the SFT adapter's config
    with the new offsets, training record and valid figures."""
    import transformers

    from reljudge.judges.causal.judge import CONFIG_FILE
    from reljudge.train.causal import _HISTORY, _name_base

    model.save_pretrained(str(output_dir), selected_adapters=["default"])
    (output_dir / "README.md").unlink(missing_ok=True)  # peft's empty model card
    _name_base(output_dir / "adapter_config.json", base.identity)
    final = history[-1] if history else None
    model_config = {**sft.config, "offsets": final["offsets"] if final else sft.config["offsets"],
                    "training": {**training, "transformers": transformers.__version__, "history": history},
                    "valid": {k: v for k, v in final.items() if k != "offsets"} if final else None}
    (output_dir / CONFIG_FILE).write_text(json.dumps(model_config, indent=1) + "\n", encoding="utf-8")
    (output_dir / _HISTORY).unlink(missing_ok=True)
    return model_config


def refit_offsets(directory: Path, scheme: LabelScheme, valid_pairs: Sequence[Pair], target: np.ndarray,
                  config: CausalConfig) -> dict[str, Any]:
    """Fit the offsets again (to `target`, the training labels' mix), and record the valid figures, with the saved
    adapter as a judge loads it (merged, at the config's precision); return the updated reljudge.json.

    Why: the epochs' offsets come from the training model (LoRA beside the base weights, unmerged), and the merged
    judge's label log-probabilities differ a little. After DPO the offsets are large (the preference pairs move the
    label prior by nats) and labels hang on small margins, so a little is a lot: on ESCI valid, offsets fitted in
    training gave the loaded judge alpha 0.012 where training had measured 0.052 (both with the LM head in bf16,
    before `scoring.fp32_logits`).
    """
    from reljudge.judges.causal.judge import CONFIG_FILE, CausalJudge
    from reljudge.train.causal import valid_report

    judge = CausalJudge(directory, location=str(directory), scheme=scheme, precision=config.precision)
    raw = np.log(judge.predict_proba(valid_pairs, batch_size=config.eval_batch_size)) - judge.offsets
    model_config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    epoch = model_config["valid"]["epoch"] if model_config.get("valid") else config.dpo_epochs
    report = valid_report(scheme, valid_pairs, raw, target, epoch)
    model_config["offsets"] = report.pop("offsets")
    model_config["valid"] = {**report, "judged_as": f"the saved adapter, merged, {judge.precision}"}
    (directory / CONFIG_FILE).write_text(json.dumps(model_config, indent=1) + "\n", encoding="utf-8")
    return model_config
