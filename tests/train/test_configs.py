"""The training config models: one declaration per setting (default, description, group), merged and refused with
the key named; config files in YAML, TOML and JSON."""

from __future__ import annotations

import re

import pytest

from reljudge.errors import InputError, JudgeError, ReljudgeError
from reljudge.train.configs import (
    CONFIGS,
    GROUPS,
    CausalConfig,
    ConfigError,
    CrossEncoderConfig,
    LexicalConfig,
    load_config,
    make_config,
    read_config_file,
)


@pytest.mark.parametrize("judge", list(CONFIGS))
def test_every_setting_has_a_description_and_a_group(judge):
    model = CONFIGS[judge]
    assert model.model_config["extra"] == "forbid"
    for name, field in model.model_fields.items():
        assert field.description, f"{judge}.{name} has no description"
        assert model.group(name) in GROUPS


def test_defaults_are_the_recipes():
    assert LexicalConfig().C == 0.01
    assert CrossEncoderConfig().learning_rate == 5e-5 and CrossEncoderConfig().stack_C[0] == 0.003
    assert CausalConfig().lora_rank == 16 and CausalConfig().learning_rate == 3e-4
    assert CausalConfig().model_dump(mode="json")["gradient_checkpointing"] == "auto"


def test_overrides_update_a_config_and_a_mapping_is_validated():
    base = make_config("causal", {"lora_rank": 4, "epochs": "0.5"})
    assert (base.lora_rank, base.epochs) == (4, 0.5)
    assert make_config("causal", base) is base
    updated = make_config("causal", base, {"lora_rank": 8, "gradient_checkpointing": "true"})
    assert (updated.lora_rank, updated.epochs, updated.gradient_checkpointing) == (8, 0.5, True)
    assert make_config("cross-encoder", None, {"stack_C": [0.1, "0.3"]}).stack_C == (0.1, 0.3)


def test_unknown_and_bad_settings_are_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"unknown causal hyperparameters \['lora_r'\]") as caught:
        make_config("causal", {"lora_r": 4})
    assert list(caught.value.problems) == ["lora_r"]
    with pytest.raises(ConfigError, match="'lora_dropout': Input should be less than 1") as caught:
        make_config("causal", None, {"lora_dropout": 1.5, "epochs": 1})
    assert list(caught.value.problems) == ["lora_dropout"]
    with pytest.raises(ConfigError, match="'gradient_checkpointing': Input should be 'auto' or "):
        make_config("causal", None, {"gradient_checkpointing": "maybe"})
    with pytest.raises(JudgeError, match="configured by CausalConfig, not LexicalConfig"):
        make_config("causal", LexicalConfig())
    with pytest.raises(JudgeError, match="judge 'majority' takes no training settings"):
        make_config("majority", {})


@pytest.mark.parametrize("suffix, text", [
    (".yaml", "lora_rank: 4\nepochs: 0.5\nbase: /models/x\n"),
    (".yml", "lora_rank: 4\nepochs: 0.5\nbase: /models/x\n"),
    (".toml", 'lora_rank = 4\nepochs = 0.5\nbase = "/models/x"\n'),
    (".json", '{"lora_rank": 4, "epochs": 0.5, "base": "/models/x"}'),
])
def test_config_files_are_read_by_suffix(tmp_path, suffix, text):
    path = tmp_path / f"causal{suffix}"
    path.write_text(text)
    assert read_config_file(path) == {"lora_rank": 4, "epochs": 0.5, "base": "/models/x"}
    config = load_config("causal", path)
    assert (config.lora_rank, config.epochs, config.base, config.learning_rate) == (4, 0.5, "/models/x", 3e-4)


def test_a_bad_file_is_refused_naming_the_file_and_the_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lora_rank: 4\nlora_rnk: 8\n")
    where = re.escape(str(path))
    with pytest.raises(ConfigError, match=rf"^{where}: unknown causal hyperparameters \['lora_rnk'\]"):
        load_config("causal", path)
    path.write_text("lora_rank: many\n")
    with pytest.raises(ConfigError, match=rf"^{where}: bad causal hyperparameter 'lora_rank'.*got 'many'"):
        load_config("causal", path)
    path.write_text("")
    assert load_config("causal", path) == CausalConfig()
    path.write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="expected a mapping"):
        read_config_file(path)
    path.write_text("lora_rank: [4\n")
    with pytest.raises(InputError, match="not valid YAML"):
        read_config_file(path)
    (tmp_path / "c.ini").write_text("x=1")
    with pytest.raises(InputError, match=r"c.ini: cannot read settings from a .ini file"):
        read_config_file(tmp_path / "c.ini")
    with pytest.raises(InputError, match="cannot read the file"):
        read_config_file(tmp_path / "absent.json")


def test_train_judge_takes_a_config_updated_by_keyword_overrides(tmp_path):
    import json
    from pathlib import Path

    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.registry import train_judge

    scheme = get_scheme("esci")
    examples = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
    pairs = read_pairs(examples, scheme=scheme, require_labels=True).pairs
    summary = train_judge("lexical", pairs, scheme, tmp_path / "lex", {"C": 0.5, "seed": 1}, seed=2)
    assert summary["config"] == {"seed": 2, "C": 0.5, "max_iter": 1000}
    recorded = json.loads((tmp_path / "lex" / "model.json").read_text())["training"]
    assert recorded["hyperparameters"] == summary["config"] and recorded["seed"] == 2
    with pytest.raises(JudgeError, match=r"unknown lexical hyperparameters \['lora_rank'\]"):
        train_judge("lexical", pairs, scheme, tmp_path / "bad", lora_rank=4)
    with pytest.raises(ReljudgeError, match="judge 'majority' takes no training settings"):
        train_judge("majority", pairs, scheme, tmp_path / "maj", seed=1)
