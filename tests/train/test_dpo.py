"""LREF's DPO stage on a tiny SmolLM2 adapter: preference pairs from its errors, a DPO step that changes the adapter
and keeps it loadable as causal:DIR, a run killed after its first step resumed by the command line, and the
settings DPO would ignore refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reljudge.cli.main import app
from reljudge.errors import JudgeError
from reljudge.io import read_pairs
from reljudge.labels import get_scheme
from reljudge.train.registry import split_pairs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
ESCI = get_scheme("esci")
TINY = dict(epochs=1.0, batch_size=8, lora_layers=1, lora_rank=4, eval_batch_size=16, precision="fp32")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def split_csv(tmp_path_factory) -> Path:
    """The example pairs with a split column: the first three queries train, the rest are valid."""
    frame = pd.read_csv(EXAMPLES)
    queries = list(dict.fromkeys(frame["query_id"]))
    frame["split"] = ["train" if q in queries[:3] else "valid" for q in frame["query_id"]]
    path = tmp_path_factory.mktemp("dpo-data") / "pairs.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def sft(smollm2_base, split_csv, tmp_path_factory) -> Path:
    from reljudge.train.causal import train_causal

    train, valid = split_pairs(read_pairs(split_csv, scheme=ESCI, require_labels=True).pairs, "train", "valid")
    directory = tmp_path_factory.mktemp("sft") / "adapter"
    train_causal(train, "esci", directory, valid_pairs=valid, **{**TINY, "epochs": 0.5})  # one step is enough
    return directory


def lora_weights(directory: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(directory / "adapter_model.safetensors"))


def test_a_killed_dpo_run_resumes_from_the_command_line_and_the_adapter_loads(sft, split_csv, tmp_path):
    import transformers

    from reljudge.judges.registry import load_judge
    from reljudge.train.dpo import train_dpo

    class Interrupt(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:  # after step 1's checkpoint, before step 2's
                raise KeyboardInterrupt

    train, valid = split_pairs(read_pairs(split_csv, scheme=ESCI, require_labels=True).pairs, "train", "valid")
    out = tmp_path / "dpo"
    settings = dict(dpo_pairs=4, batch_size=2, save_steps=1, precision="fp32", dpo_learning_rate=1e-3)
    with pytest.raises(KeyboardInterrupt):
        train_dpo(train, "esci", sft, out, valid_pairs=valid, callbacks=[Interrupt()], **settings)
    assert (out / "checkpoints" / "checkpoint-1").exists()

    flags = [f"--{name.replace('_', '-')}={value}" for name, value in settings.items()]
    result = CliRunner().invoke(app, ["train", "--judge", "causal", "--dpo", "--from", str(sft), "--data",
                                      str(split_csv), "--output", str(out), *flags])
    assert result.exit_code == 0, result.output
    assert "resuming from" in result.output and "checkpoint-1" in result.output

    preferences = json.loads((out / "preferences.json").read_text())
    human = {p.pair_hash: p.label for p in train}
    assert preferences["summary"]["pairs"] == len(preferences["pairs"]) == 4
    assert all(row["chosen"] == human[row["pair_hash"]] != row["rejected"] for row in preferences["pairs"])
    gains = dict(zip(ESCI.labels, ESCI.gains))
    assert all(row["optimistic"] == (gains[row["rejected"]] > gains[row["chosen"]]) for row in preferences["pairs"])

    before, after = lora_weights(sft), lora_weights(out)
    assert before.keys() == after.keys()  # the adapter itself, not trl's frozen reference copy beside it
    assert max(np.abs(before[k] - after[k]).max() for k in before) > 0
    config = json.loads((out / "reljudge.json").read_text())
    training = config["training"]
    assert training["stage"] == "dpo" and training["from"]["spec"].startswith(f"causal:{sft}@")
    assert training["hyperparameters"]["dpo_pairs"] == 4 and training["hyperparameters"]["dpo_beta"] == 0.1
    assert config["valid"]["n_pairs"] == len(valid) and len(config["offsets"]) == 4
    assert config["valid"]["judged_as"] == "the saved adapter, merged, fp32"  # offsets fitted on what users load
    judge = load_judge(f"causal:{out}", precision="fp32")
    proba = judge.predict_proba(valid[:3])
    assert proba.shape == (3, 4) and np.allclose(proba.sum(axis=1), 1.0)


def test_preference_pairs_are_the_judges_errors_as_it_answers_or_by_the_models_own_argmax(sft, split_csv):
    from reljudge.judges.causal.judge import CausalJudge
    from reljudge.train.dpo import find_preferences

    train, _ = split_pairs(read_pairs(split_csv, scheme=ESCI, require_labels=True).pairs, "train", "valid")
    judge = CausalJudge(sft, location=str(sft), precision="fp32")
    log_proba = np.log(judge.predict_proba(train))
    for raw, logits in ((False, log_proba), (True, log_proba - judge.offsets)):
        found = find_preferences(judge, train, None, seed=3, raw=raw)
        guesses = [ESCI.labels[i] for i in logits.argmax(axis=1)]
        errors = {p.pair_hash: guess for p, guess in zip(train, guesses) if guess != p.label}
        assert {row["pair_hash"]: row["rejected"] for row in found["pairs"]} == errors
        assert found["summary"]["scored"] == len(train) and found["summary"]["raw"] is raw


def test_settings_dpo_would_ignore_are_refused(split_csv, tmp_path):
    from reljudge.train.dpo import train_dpo

    with pytest.raises(JudgeError, match="DPO does not use learning_rate, lora_rank"):
        train_dpo([], "esci", tmp_path / "sft", tmp_path / "out", lora_rank=4, learning_rate=1e-3)
    runner = CliRunner()
    alone = runner.invoke(app, ["train", "--judge", "causal", "--dpo", "--data", str(split_csv), "-o", str(tmp_path)])
    assert alone.exit_code == 2 and "--from ADAPTER_DIR go together" in alone.output
    lexical = runner.invoke(app, ["train", "--judge", "lexical", "--dpo", "--from", str(tmp_path), "--data",
                                  str(split_csv), "-o", str(tmp_path)])
    assert lexical.exit_code == 2
