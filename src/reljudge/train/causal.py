"""Fine-tune a causal LM judge with LoRA: the loss on the label's answer tokens only, the valid split scored each
epoch, checkpoints to resume from after a kill.

The recipe, and why (chosen for a 2-core CPU, where a step over 16 pairs costs seconds, and kept for a GPU):
- LoRA (peft) on every linear layer of the top `lora_layers` transformer layers only. Backward then stops there, so
  a step costs little more than a forward pass, and the bottom layers' general knowledge stays as it was.
- The instructions are a prefix every pair shares: each step computes them once and every row attends to that
  cache (see `judges.causal_scoring`), so a pair costs its own ~60-90 tokens, not the ~130 of the instructions too
  (except with gradient checkpointing, which turns transformers' cache off: then each row carries the prefix).
- Loss: cross-entropy on the answer tokens after the prompt (the prompt is never a target), each pair weighted by
  its label's balanced class weight, n / (k n_c): on ESCI's few queries plain cross-entropy learns to answer Exact.
  With `rationales` (LREF's multi-CoT stage, `train.rationales`) a teacher's rationales follow the answer as an
  auxiliary target; the judge still reads the answer's tokens only.
- Prior offsets: balanced weights make the model over-call the rare labels; per-label offsets, added to the label
  log-probabilities, make the predicted label distribution on the valid pairs' inputs (never their labels) match
  the training labels' distribution, as the lexical judge's offsets do on train.
- Gradient checkpointing is on where it saves scarce GPU memory, off on a CPU (where memory is plentiful and it
  would cost a third more compute); bf16 where the hardware computes it natively.

The output directory is a peft adapter (adapter_config.json, adapter_model.safetensors) and reljudge.json: base,
template, scheme, token budgets, offsets, data digest, seed, hyperparameters and the valid figures per epoch.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.judges.causal.judge import CONFIG_FILE, FORMAT, adapter_spec
from reljudge.judges.causal.model import choose_precision, device, load_causal_lm, resolve_base
from reljudge.judges.causal.prompt import CausalPrompt
from reljudge.judges.causal.scoring import label_log_proba, logits_after_prefix, pad_id, prefix_states
from reljudge.labels import LabelScheme, get_scheme
from reljudge.prompts.templates import load_template
from reljudge.records import Pair
from reljudge.train.common import agreement_figures, class_weights, data_summary, label_indices, prior_offsets
from reljudge.train.configs import CausalConfig, make_config

logger = logging.getLogger(__name__)


def train_causal(
    pairs: Sequence[Pair],
    scheme: str | LabelScheme,
    output_dir: str | Path,
    config: CausalConfig | Mapping[str, Any] | None = None,
    *,
    valid_pairs: Sequence[Pair] | None = None,
    data_source: str = "",
    callbacks: Sequence[Any] = (),
    **overrides: Any,
) -> dict[str, Any]:
    """Fine-tune the config's base with LoRA on `pairs`, save the adapter to OUTPUT_DIR, report on `valid_pairs`
    each epoch.

    Re-running the same command after a kill resumes from the last checkpoint in OUTPUT_DIR/checkpoints.

    Args:
        pairs: labelled training pairs.
        scheme: their label scheme; the template must be written for it.
        output_dir: where the adapter and reljudge.json are written.
        config: a `CausalConfig` (base, template, seed, hyperparameters) or a mapping of its fields; None: its
            defaults. Its base is a local Hugging Face causal-LM directory, or unset / "SmolLM2-135M-Instruct" (see
            `resolve_base`).
        valid_pairs: held-out pairs, scored after every epoch and never trained on.
        data_source: the training file, recorded in reljudge.json.
        callbacks: extra transformers TrainerCallbacks (progress reporting, early stopping ...).
        **overrides: fields of `CausalConfig` that replace the config's.

    Returns:
        {"spec", "path", "scheme", "n_pairs", "valid", "epochs", "resumed_from"}.
    """
    import transformers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scheme = get_scheme(scheme)
    config = make_config("causal", config, overrides)
    y = label_indices(pairs, scheme, "training data")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    transformers.set_seed(config.seed)

    resolved = resolve_base(config.base)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(resolved.directory), local_files_only=True)
    template = load_template(config.template)
    prompt = CausalPrompt(tokenizer, template, scheme, config.max_length, config.query_tokens)
    on = device()
    precision = choose_precision(config.precision, on)
    model = lora_model(resolved.directory, precision, config)
    checkpointing = on == "cuda" if config.gradient_checkpointing == "auto" else config.gradient_checkpointing

    weights = class_weights(np.bincount(y, minlength=scheme.k), config.class_weight)
    rows, distilled = training_rows(prompt, pairs, y, weights, config)
    target = np.bincount(y, minlength=scheme.k) / len(y)
    scorer = valid_scorer(prompt, scheme, valid_pairs, target, config.eval_batch_size, output_dir)
    checkpoints = output_dir / "checkpoints"
    trainer = label_loss_trainer(model, prompt, rows, config, checkpoints, precision=precision, on=on,
                                 checkpointing=checkpointing, callbacks=[scorer, *callbacks])
    resume = transformers.trainer_utils.get_last_checkpoint(str(checkpoints)) if checkpoints.exists() else None
    if resume:
        logger.info("resuming from %s", resume)
        scorer.history.extend(_saved_history(output_dir))
    trainer.train(resume_from_checkpoint=resume)
    model.save_pretrained(str(output_dir))
    (output_dir / "README.md").unlink(missing_ok=True)  # peft's empty model card
    _name_base(output_dir / "adapter_config.json", resolved.identity)

    history = scorer.history
    model_config = adapter_config(scheme, config, resolved.identity, template.ident, history, {
        "data": data_source, **data_summary(pairs, scheme), "seed": config.seed,
        "hyperparameters": config.model_dump(mode="json"), "precision": precision,
        "trainable_weights": sum(p.numel() for p in model.parameters() if p.requires_grad), "device": on,
        "transformers": transformers.__version__, "history": history,
        **({"rationales": distilled} if distilled else {})})
    (output_dir / CONFIG_FILE).write_text(json.dumps(model_config, indent=1) + "\n", encoding="utf-8")
    (output_dir / _HISTORY).unlink(missing_ok=True)
    return {"spec": adapter_spec(output_dir, str(output_dir)), "path": str(output_dir), "scheme": scheme.name,
            "n_pairs": len(pairs), "valid": model_config["valid"],
            "epochs": [{k: h[k] for k in ("epoch", "alpha", "macro_f1")} for h in history], "resumed_from": resume}


def training_rows(prompt: CausalPrompt, pairs: Sequence[Pair], y: np.ndarray, weights: np.ndarray,
                  config: CausalConfig) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One row per pair (its prompt and answer ids, its label's weight); with `config.rationales`, one per rationale
    of the pair after the answer (`train.rationales.rationale_rows`), and their summary for reljudge.json."""
    rows = [{"ids": list(x) + list(prompt.labels.ids[label]), "prompt_length": len(x), "weight": float(weights[label])}
            for x, label in zip(prompt.pair_ids(pairs), y)]
    if not config.rationales:
        return rows, None
    from reljudge.train.rationales import rationale_rows

    return rationale_rows(rows, pairs, config.rationales, prompt.tokenizer, config.rationale_tokens)


def lora_model(directory: Path, precision: str, config: CausalConfig) -> Any:
    """The base loaded at `precision` with fresh LoRA weights on every linear layer of its top `lora_layers`."""
    from peft import LoraConfig, get_peft_model

    model = load_causal_lm(directory, "bf16" if precision == "bf16" else "fp32")
    layers = model.config.num_hidden_layers
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=linear_names(model),
                      layers_to_transform=list(range(max(0, layers - config.lora_layers), layers)),
                      task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    logger.info("LoRA: %d trainable weights of %d (%.2f%%)", trainable, total, 100 * trainable / total)
    return model


def valid_scorer(prompt: CausalPrompt, scheme: LabelScheme, valid_pairs: Sequence[Pair] | None, target: np.ndarray,
                 batch_size: int, output_dir: Path) -> Any:
    """A TrainerCallback that scores the valid pairs after each epoch into its `history`, and keeps the history
    beside the checkpoints so a resumed run has the epochs before the kill."""
    import transformers

    valid_ids = prompt.pair_ids(valid_pairs) if valid_pairs else []

    class EvaluateEachEpoch(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.history: list[dict[str, Any]] = []

        def on_epoch_end(self, args, state, control, model=None, **kwargs):
            if not valid_pairs:
                return
            model.eval()
            raw = label_log_proba(model, prompt, valid_ids, batch_size)
            model.train()
            self.history.append(valid_report(scheme, valid_pairs, raw, target, round(state.epoch or 0, 2)))
            logger.info("epoch %.2f valid: %s", self.history[-1]["epoch"],
                        {k: self.history[-1][k] for k in ("alpha", "macro_f1", "raw_alpha")})

        def on_save(self, args, state, control, **kwargs):
            (output_dir / _HISTORY).write_text(json.dumps(self.history), encoding="utf-8")

    return EvaluateEachEpoch()


def label_loss_trainer(model: Any, prompt: CausalPrompt, rows: list[dict[str, Any]], config: CausalConfig,
                       checkpoints: Path, *, precision: str, on: str, checkpointing: bool,
                       callbacks: Sequence[Any]) -> Any:
    """A transformers Trainer whose loss is `answer_loss` (the shared prefix computed once per batch, unless
    gradient checkpointing turns the cache off), checkpointing every `save_steps` into `checkpoints`."""
    import transformers

    pad = pad_id(prompt.tokenizer)

    class LabelLossTrainer(transformers.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = answer_loss(model, prompt.prefix_ids, inputs["rows"], pad, share_prefix=not checkpointing,
                               rationale_weight=config.rationale_weight)
            return (loss, None) if return_outputs else loss

    class LogSteps(transformers.TrainerCallback):
        """The loss through the logger where no progress bar shows it (transformers would print it to stdout)."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if args.disable_tqdm:
                logger.info("step %d/%d %s", state.global_step, state.max_steps, logs)

    steps_per_epoch = int(np.ceil(len(rows) / config.batch_size))
    args = transformers.TrainingArguments(
        output_dir=str(checkpoints), num_train_epochs=config.epochs, learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size, lr_scheduler_type="linear",
        warmup_steps=int(config.warmup_ratio * steps_per_epoch * config.epochs),
        weight_decay=config.weight_decay, save_strategy="steps", save_steps=config.save_steps,
        save_total_limit=1, logging_steps=10, report_to=[], seed=config.seed, data_seed=config.seed,
        bf16=precision == "bf16", use_cpu=on == "cpu", gradient_checkpointing=checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None, dataloader_num_workers=0,
        remove_unused_columns=False, disable_tqdm=not _interactive(),
    )
    trainer = LabelLossTrainer(model=model, args=args, train_dataset=rows, data_collator=lambda batch: {"rows": batch},
                               callbacks=[LogSteps(), *callbacks])
    trainer.remove_callback(transformers.PrinterCallback)
    return trainer


def adapter_config(scheme: LabelScheme, config: CausalConfig, base: str, template: str,
                   history: list[dict[str, Any]], training: dict[str, Any]) -> dict[str, Any]:
    """reljudge.json of an adapter: what the judge reads (base, template, scheme, budgets, the last epoch's
    offsets), how it was trained, and the last epoch's valid figures."""
    final = history[-1] if history else None
    return {
        "format": FORMAT,
        "base": base,
        "template": template,
        "scheme": scheme.name,
        "level": scheme.level,
        "labels": list(scheme.labels),
        "max_length": config.max_length,
        "query_tokens": config.query_tokens,
        "offsets": final["offsets"] if final else [0.0] * scheme.k,
        "training": training,
        "valid": {k: v for k, v in final.items() if k != "offsets"} if final else None,
    }


def answer_loss(model: Any, prefix_ids: Sequence[int], rows: Sequence[dict[str, Any]], pad: int,
                share_prefix: bool = True, rationale_weight: float = 1.0) -> Any:
    """Class-weighted cross-entropy over the answer tokens only, the shared prefix computed once for the batch.

    Each row is {"ids": pair ids + answer ids, "prompt_length": len(pair ids), "weight": w}:
    loss = sum_i w_i * sum_t CE(answer token t of row i) / sum_i w_i * len(answer_i). Prompt tokens are never
    targets: only the logits at the positions before each answer token reach the LM head. Without
    `share_prefix` (gradient checkpointing turns the cache off) each row carries the prefix itself.

    A row whose "answer_length" is shorter than its answer carries a rationale after the label's tokens
    (`train.rationales`): rationale_weight x the mean cross-entropy of all rationale tokens in the batch is added.
    """
    import torch

    head = [] if share_prefix else list(prefix_ids)
    prefix = prefix_states(model, prefix_ids) if share_prefix else None
    starts = [len(head) + r["prompt_length"] for r in rows]
    inputs = [head + list(r["ids"]) for r in rows]
    answers = [x[s:] for x, s in zip(inputs, starts)]
    positions = [list(range(s - 1, s - 1 + len(a))) for s, a in zip(starts, answers)]
    logits = logits_after_prefix(model, prefix, [x[:-1] for x in inputs], positions, pad)
    token_losses = [torch.nn.functional.cross_entropy(out.float(), torch.tensor(a, device=out.device),
                                                      reduction="none") for out, a in zip(logits, answers)]
    label_lengths = [r.get("answer_length", len(a)) for r, a in zip(rows, answers)]
    losses = torch.stack([t[:n].sum() for t, n in zip(token_losses, label_lengths)])
    weights = torch.tensor([r["weight"] for r in rows], device=losses.device)
    tokens = torch.tensor(label_lengths, device=losses.device, dtype=losses.dtype)
    loss = (weights * losses).sum() / (weights * tokens).sum()
    rationale = torch.cat([t[n:] for t, n in zip(token_losses, label_lengths)])
    return loss + rationale_weight * rationale.mean() if rationale.numel() else loss


def linear_names(model: Any) -> list[str]:
    """The names of the transformer layers' linear modules (q_proj, up_proj ...), the output head left out."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.rpartition(".")[2] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear) and module is not head})


def valid_report(scheme: LabelScheme, valid_pairs: Sequence[Pair], raw: np.ndarray, target: np.ndarray,
                 epoch: float) -> dict[str, Any]:
    """Figures on the valid pairs, with the prior offsets fitted on their predictions (not their labels)."""
    offsets = prior_offsets(raw, target)
    truth = [p.label for p in valid_pairs]
    shifted = agreement_figures(scheme, truth, [scheme.labels[i] for i in (raw + offsets).argmax(axis=1)])
    unshifted = agreement_figures(scheme, truth, [scheme.labels[i] for i in raw.argmax(axis=1)])
    return {"epoch": epoch, **shifted, "offsets": offsets.round(6).tolist(), "raw_alpha": unshifted["alpha"],
            "raw_macro_f1": unshifted["macro_f1"], "raw_predicted_distribution": unshifted["predicted_distribution"]}


_HISTORY = "history.json"


def _name_base(adapter_config: Path, identity: str) -> None:
    """Name the base by its identity in peft's adapter config, not by a path into this machine's cache."""
    config = json.loads(adapter_config.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = identity
    adapter_config.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _saved_history(directory: Path) -> list[dict[str, Any]]:
    path = directory / _HISTORY
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _interactive() -> bool:
    import sys

    return sys.stderr.isatty()
