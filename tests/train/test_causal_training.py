"""LoRA fine-tuning of the causal judge on SmolLM2-135M-Instruct: a few steps on the example pairs, the adapter
and its config written, resumed after an interruption, and used through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reljudge.cli.main import app
from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
TINY = dict(epochs=1.0, batch_size=8, lora_layers=1, lora_rank=4, eval_batch_size=16)


@pytest.fixture(scope="module")
def example_pairs():
    return read_pairs(EXAMPLES, scheme=get_scheme("esci"), require_labels=True).pairs


@pytest.fixture(scope="module")
def trained(smollm2_base, example_pairs, tmp_path_factory):
    from reljudge.train.causal import train_causal

    directory = tmp_path_factory.mktemp("causal") / "adapter"
    summary = train_causal(example_pairs[:16], "esci", directory, valid_pairs=example_pairs[16:], **TINY)
    return directory, summary


def test_adapter_and_config_are_written(trained):
    directory, summary = trained
    assert (directory / "adapter_model.safetensors").exists()
    config = json.loads((directory / "reljudge.json").read_text())
    assert config["base"].startswith("SmolLM2-135M-Instruct@")
    assert json.loads((directory / "adapter_config.json").read_text())["base_model_name_or_path"] == config["base"]
    assert config["template"].startswith("esci-causal.v1#")
    assert config["training"]["n_pairs"] == 16 and config["training"]["hyperparameters"]["lora_rank"] == 4
    assert len(config["training"]["history"]) == 1 and config["valid"]["n_pairs"] == 12
    assert len(config["offsets"]) == 4
    assert summary["spec"].startswith(f"causal:{directory}@")


def test_only_lora_weights_of_the_top_layers_train(trained):
    from safetensors.numpy import load_file

    directory, _ = trained
    names = list(load_file(str(directory / "adapter_model.safetensors")))
    assert names and all("lora_" in name for name in names)
    assert all(".layers.29." in name for name in names)  # lora_layers=1: the top one of 30


def test_adapter_changes_the_model(trained, example_pairs, smollm2_base):
    directory, summary = trained
    assert load_judge(summary["spec"]).spec == summary["spec"]  # the spec training printed pins the adapter it wrote
    # fp32: two steps move the weights by ~1e-5, below bf16's resolution (auto picks bf16 on an AVX-512 BF16 CPU)
    tuned = load_judge(f"causal:{directory}", precision="fp32")
    base = load_judge("causal:smollm2", precision="fp32")
    pairs = example_pairs[16:20]
    offsets = tuned.offsets
    tuned_log = np.log(tuned.predict_proba(pairs)) - offsets
    base_log = np.log(base.predict_proba(pairs))
    differences = (tuned_log - tuned_log.max(axis=1, keepdims=True)) - (base_log - base_log.max(axis=1, keepdims=True))
    assert np.abs(differences).max() > 1e-3


def test_loss_is_on_the_answer_tokens_only(smollm2_model, smollm2_tokenizer, example_pairs):
    """The training loss is the weighted cross-entropy of the answer tokens alone, as a plain forward pass over
    prefix + pair + answer gives it; the prompt's own tokens are never targets."""
    import torch

    from reljudge.judges.causal.prompt import CausalPrompt
    from reljudge.prompts.templates import load_template
    from reljudge.train.causal import answer_loss

    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224)
    ids = prompt.pair_ids(example_pairs[:3])
    answers = [prompt.labels.ids[i] for i in (0, 3, 1)]
    weights = [1.0, 2.0, 0.5]
    rows = [{"ids": list(x) + list(a), "prompt_length": len(x), "weight": w} for x, a, w in zip(ids, answers, weights)]
    with torch.inference_mode():
        got = answer_loss(smollm2_model, prompt.prefix_ids, rows, smollm2_tokenizer.pad_token_id).item()
        total = tokens = 0.0
        for x, a, w in zip(ids, answers, weights):
            full = torch.tensor([prompt.prefix_ids + list(x) + list(a)])
            log_p = torch.log_softmax(smollm2_model(input_ids=full).logits[0], dim=-1)
            start = len(prompt.prefix_ids) + len(x) - 1
            total += w * -sum(log_p[start + t, a[t]].item() for t in range(len(a)))
            tokens += w * len(a)
    assert got == pytest.approx(total / tokens, rel=1e-4)
    unshared = answer_loss(smollm2_model, prompt.prefix_ids, rows, smollm2_tokenizer.pad_token_id, share_prefix=False)
    assert unshared.item() == pytest.approx(got, rel=1e-4)


def test_gradient_checkpointing_trains_without_the_shared_prefix(smollm2_base, example_pairs, tmp_path):
    from reljudge.train.causal import train_causal

    summary = train_causal(example_pairs[:8], "esci", tmp_path / "gc", gradient_checkpointing=True, **TINY)
    config = json.loads((tmp_path / "gc" / "reljudge.json").read_text())
    assert config["training"]["hyperparameters"]["gradient_checkpointing"] is True
    assert summary["spec"].startswith("causal:")


def test_training_resumes_from_its_last_checkpoint(smollm2_base, example_pairs, tmp_path):
    import transformers

    from reljudge.train.causal import train_causal

    class Interrupt(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                raise KeyboardInterrupt

    options = dict(TINY, batch_size=4, save_steps=1)
    with pytest.raises(KeyboardInterrupt):
        train_causal(example_pairs[:16], "esci", tmp_path / "run", callbacks=[Interrupt()], **options)
    assert (tmp_path / "run" / "checkpoints" / "checkpoint-1").exists()
    summary = train_causal(example_pairs[:16], "esci", tmp_path / "run", **options)
    assert summary["resumed_from"].endswith("checkpoint-1")
    state = json.loads((tmp_path / "run" / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4


def test_cli_trains_then_judges(smollm2_base, tmp_path):
    """LoRA's rank, alpha and layers, unreachable from the command line before, reach the adapter from the config
    file and the flags (a flag beats the file)."""
    runner = CliRunner()
    adapter = tmp_path / "adapter"
    config = tmp_path / "causal.yaml"
    config.write_text("lora_rank: 2\nlora_alpha: 8\nlora_layers: 1\nbatch_size: 8\n")
    result = runner.invoke(app, ["train", "--judge", "causal", "--data", str(EXAMPLES), "--output", str(adapter),
                                 "--config", str(config), "--epochs", "0.3", "--lora-rank", "4"])
    assert result.exit_code == 0, result.output
    lora = json.loads((adapter / "adapter_config.json").read_text())
    assert (lora["r"], lora["lora_alpha"], lora["layers_to_transform"]) == (4, 8, [29])
    recorded = json.loads((adapter / "reljudge.json").read_text())["training"]["hyperparameters"]
    assert (recorded["lora_rank"], recorded["lora_alpha"], recorded["batch_size"], recorded["epochs"]) == (4, 8, 8, 0.3)
    out = tmp_path / "judged.csv"
    result = runner.invoke(app, ["judge", str(EXAMPLES), "--judge", f"causal:{adapter}", "--output", str(out),
                                 "--precision", "fp32", "--no-store"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    frame = pd.read_csv(out)
    assert len(frame) == 28 and set(frame["label"]) <= {"E", "S", "C", "I"}


def test_unknown_hyperparameter_is_refused(smollm2_base, example_pairs, tmp_path):
    from reljudge.errors import JudgeError
    from reljudge.train.causal import train_causal

    with pytest.raises(JudgeError, match=r"unknown causal hyperparameters \['lora_r'\]"):
        train_causal(example_pairs[:8], "esci", tmp_path, lora_r=8)
