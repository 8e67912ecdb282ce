"""`reljudge train`'s settings: flags generated from the config models, `--config FILE` in YAML, TOML or JSON,
precedence defaults < file < flags, the resolved config recorded in the model, bad settings refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reljudge.cli.main import app
from reljudge.cli.settings_flags import flag_name
from reljudge.train.configs import CONFIGS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"

CONFIG_FILES = {
    ".yaml": "C: 0.5\nmax_iter: 200\n",
    ".toml": "C = 0.5\nmax_iter = 200\n",
    ".json": '{"C": 0.5, "max_iter": 200}',
}


def train(*args: object):
    return CliRunner().invoke(app, ["train", "--data", str(EXAMPLES), *map(str, args)], env={"COLUMNS": "200"})


def hyperparameters(model: Path, file: str = "model.json") -> dict:
    return json.loads((model / file).read_text())["training"]["hyperparameters"]


@pytest.mark.parametrize("suffix", list(CONFIG_FILES))
def test_a_flag_beats_the_file_which_beats_the_default(tmp_path, suffix):
    config = tmp_path / f"lexical{suffix}"
    config.write_text(CONFIG_FILES[suffix])
    done = train("--judge", "lexical", "--output", tmp_path / "file", "--config", config)
    assert done.exit_code == 0, done.output
    assert hyperparameters(tmp_path / "file") == {"seed": 0, "C": 0.5, "max_iter": 200}
    done = train("--judge", "lexical", "--output", tmp_path / "flag", "--config", config, "--C", "0.2", "--seed", 3)
    assert done.exit_code == 0, done.output
    assert hyperparameters(tmp_path / "flag") == {"seed": 3, "C": 0.2, "max_iter": 200}
    assert json.loads(done.output[done.output.index("{"):done.output.rindex("}") + 1])["config"]["C"] == 0.2


def test_without_file_or_flags_the_defaults_are_recorded(tmp_path):
    assert train("--judge", "lexical", "--output", tmp_path).exit_code == 0
    assert hyperparameters(tmp_path) == CONFIGS["lexical"]().model_dump(mode="json")


def test_an_unknown_key_or_a_bad_value_in_the_file_is_refused_naming_file_and_key(tmp_path):
    config = tmp_path / "lexical.yaml"
    config.write_text("C: 0.5\nlora_rnk: 4\n")
    done = train("--judge", "lexical", "--output", tmp_path / "m", "--config", config)
    assert done.exit_code == 2
    assert f"{config}: unknown lexical hyperparameters ['lora_rnk']" in done.output
    config.write_text("C: strong\n")
    done = train("--judge", "lexical", "--output", tmp_path / "m", "--config", config)
    assert done.exit_code == 2 and f"{config}: bad lexical hyperparameter 'C'" in done.output
    assert not (tmp_path / "m").exists()


def test_a_bad_flag_is_a_usage_error_naming_the_flag(tmp_path):
    done = train("--judge", "lexical", "--output", tmp_path, "--lora-rank", 4)
    assert done.exit_code == 2 and "--lora-rank" in done.output and "not a setting of judge 'lexical'" in done.output
    done = train("--judge", "lexical", "--output", tmp_path, "--C", "-1")
    assert done.exit_code == 2 and "--C" in done.output and "greater than 0" in done.output
    done = train("--judge", "majority", "--output", tmp_path, "--seed", 1)
    assert done.exit_code == 2 and "judge 'majority' takes no training settings" in done.output
    done = train("--judge", "cross-encoder", "--output", tmp_path, "--stack-C", "0.1,x")
    assert done.exit_code == 2 and "--stack-C" in done.output and "got 'x'" in done.output


def test_every_setting_of_every_config_model_is_a_flag():
    import typer.main

    command = typer.main.get_command(app).commands["train"]
    flags = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    for model in CONFIGS.values():
        for name in model.model_fields:
            assert flag_name(name) in flags
    assert {"--config", "--lora-rank", "--freeze-layers", "--class-weight", "--no-freeze-embeddings"} <= flags


def test_freeze_layers_and_the_stack_grid_reach_the_cross_encoder_trainer(tiny_encoder_base, tmp_path):
    from safetensors.numpy import load_file

    config = tmp_path / "ce.toml"
    config.write_text("folds = 2\nepochs = 1\nbatch_size = 8\nfreeze_layers = 0\n")
    model = tmp_path / "ce"
    done = train("--judge", "cross-encoder", "--output", model, "--config", config, "--base", tiny_encoder_base,
                 "--freeze-layers", 1, "--stack-C", "0.1", "--max-length", 32)
    assert done.exit_code == 0, done.output
    recorded = hyperparameters(model, "reljudge.json")
    assert (recorded["freeze_layers"], recorded["folds"], recorded["stack_C"], recorded["max_length"]) == (1, 2,
                                                                                                          [0.1], 32)
    assert recorded["base"] == str(tiny_encoder_base)
    base = load_file(str(tiny_encoder_base / "model.safetensors"))
    tuned = load_file(str(model / "model.safetensors"))
    layer = "encoder.layer.{}.attention.self.query.weight"
    # mean-pooled: the encoder's own files, its keys as the base's
    assert (tuned[layer.format(0)] == base[layer.format(0)]).all()  # frozen: the lowest layer as it was
    assert not (tuned[layer.format(1)] == base[layer.format(1)]).all()


def test_the_flags_come_from_a_cache_while_the_config_models_are_unchanged(tmp_path, monkeypatch):
    """Building the flags imports pydantic (the config models); `reljudge --help` reads them from a cache instead."""
    import subprocess
    import sys

    from reljudge.cli.settings_flags import declared_settings, settings_from_models

    monkeypatch.setenv("RELJUDGE_CACHE", str(tmp_path))
    built = declared_settings.__wrapped__()
    assert built == settings_from_models() and (tmp_path / "cli" / "train-settings.json").exists()
    assert declared_settings.__wrapped__() == built  # read back from the file
    check = ("import sys, reljudge.cli.main; "
             "print('reljudge.train.configs' in sys.modules, 'reljudge.cli.settings_flags' in sys.modules)")
    fresh = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert fresh.stdout.split() == ["False", "True"], fresh.stderr


def test_a_student_trains_on_a_teachers_judgments_file_or_stored_run(tiny_encoder_base, tmp_path):
    import pandas as pd

    from reljudge.store import Store

    # the examples' 28 labelled pairs, and the same products under new queries that no one labelled
    labelled = pd.read_csv(EXAMPLES, dtype=str)
    unlabelled = labelled.assign(query_id="u" + labelled["query_id"], query=labelled["query"] + " deals",
                                 esci_label="")
    data = tmp_path / "pairs.csv"
    pd.concat([labelled, unlabelled]).to_csv(data, index=False)
    store, judged = tmp_path / "s.duckdb", tmp_path / "teacher.csv"
    runner = CliRunner()
    done = runner.invoke(app, ["judge", str(data), "--judge", "lexical", "--output", str(judged),
                               "--store", str(store)])
    assert done.exit_code == 0, done.output
    with Store(store) as s:
        run_id = s.runs()[0].run_id
    for teacher in (str(judged), f"run:{run_id}"):
        model = tmp_path / teacher.replace(":", "-").replace("/", "_")
        done = runner.invoke(app, ["train", "--data", str(data), "--judge", "cross-encoder", "--output", str(model),
                                   "--base", str(tiny_encoder_base), "--folds", "2", "--epochs", "1",
                                   "--batch-size", "8", "--stack-C", "0.1", "--teacher", teacher,
                                   "--store", str(store)])
        assert done.exit_code == 0, done.output
        training = json.loads((model / "reljudge.json").read_text())["training"]
        # every unlabelled pair learnt from the teacher; the labelled ones from people
        assert (training["n_pairs"], training["teacher_pairs"]) == (28, 28), training
    # a teacher of another judge family is refused before any training
    done = runner.invoke(app, ["train", "--data", str(data), "--judge", "lexical", "--output", str(tmp_path / "x"),
                               "--teacher", str(judged)])
    assert done.exit_code != 0 and "cross-encoder only" in done.output
