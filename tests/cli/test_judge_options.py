"""One declaration of the judge flags, derived from the families' option models, for every command that opens a
judge; and how the given flags become one JudgeChoice."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import typer

from reljudge.cli.judge_options import JudgeChoice, declared_flags
from reljudge.cli.main import app
from reljudge.errors import ReljudgeError
from reljudge.judges.registry import builtin_judges, options_model

JUDGE_COMMANDS = (("judge",), ("evaluate",), ("experiment", "analyze"), ("experiment", "validate"))


def command_options(path: tuple[str, ...]) -> list[str]:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return [opt for param in command.params for opt in param.opts]


def test_every_option_field_of_every_family_is_a_flag_of_every_command_that_opens_a_judge():
    wanted = {"--judge", "--option"}
    for family in builtin_judges():
        model = options_model(family)
        wanted |= {"--" + name.replace("_", "-") for name in model.model_fields if model.is_flag(name)}
    assert {"--base-url", "--template", "--precision", "--threads", "--max-retries"} <= wanted
    for path in JUDGE_COMMANDS:
        options = command_options(path)
        assert wanted <= set(options), f"{' '.join(path)} lacks {sorted(wanted - set(options))}"
        assert "--progress" not in options  # set by the command itself (flag=False)
        assert not [opt for opt, n in Counter(options).items() if n > 1], f"{' '.join(path)} repeats a flag"


def test_a_field_two_families_declare_is_one_flag_in_the_panel_of_both():
    [template] = [flag for flag in declared_flags() if flag.name == "template"]
    assert template.families == ("api", "causal")
    assert template.panel == "API and causal LM judges (--judge api:MODEL, causal[:DIR])"
    assert "Causal LM judges: " in template.help and "API judges: " in template.help
    [precision] = [flag for flag in declared_flags() if flag.name == "precision"]
    assert precision.kind is str and precision.panel == "Causal LM judge (--judge causal[:DIR])"
    assert {flag.name: flag.kind for flag in declared_flags()}["shots"] is int


def test_only_given_options_are_collected_and_the_command_adds_only_what_the_judge_declares():
    choice = JudgeChoice.from_command_line("api:m", {"base_url": "http://h/v1", "shots": None}, ["max-tokens=4"])
    assert choice.options == {"base_url": "http://h/v1", "max_tokens": "4"}
    assert choice.given_as == {"base_url": "--base-url", "max_tokens": "--option max-tokens"}
    assert choice.load_options(progress=True) == {"base_url": "http://h/v1", "max_tokens": "4", "progress": True}
    assert JudgeChoice.from_command_line("lexical", {}, None).load_options(progress=True) == {}


@pytest.mark.parametrize(("spec", "flags", "generic", "message"), [
    ("api:m", {"temperature": 0.1}, ["temperature=0.2"], "--option temperature: given twice (also as --temperature)"),
    ("api:m", {}, ["temperature"], "--option 'temperature': expected NAME=VALUE"),
    (None, {"base_url": "http://h/v1"}, None, "--base-url: a judge's options, but no --judge was given"),
])
def test_what_cannot_be_collected_is_refused(spec, flags, generic, message):
    with pytest.raises(ReljudgeError, match="^" + re.escape(message)):
        JudgeChoice.from_command_line(spec, flags, generic)


def test_a_flag_the_chosen_judge_does_not_declare_is_refused_naming_the_judges_that_do():
    choice = JudgeChoice.from_command_line("lexical", {"template": "x", "threads": 2}, None)
    with pytest.raises(ReljudgeError) as refused:
        choice.load_options()
    assert str(refused.value) == ("--template: only for API judges (--judge api:MODEL) or causal LM judges "
                                  "(--judge causal[:DIR]); --threads: only for cross-encoder judges "
                                  "(--judge cross-encoder[:DIR]), not 'lexical'")
    with pytest.raises(ReljudgeError, match="--option progress: set by the command"):
        JudgeChoice.from_command_line("api:m", {}, ["progress=false"]).load_options()


FLAGS_IN_A_FRESH_PROCESS = """
import json, sys
from reljudge.cli.flag_cache import cache_file
from reljudge.cli.judge_options import declared_flags
flags = [[f.name, f.kind.__name__, f.described] for f in declared_flags()]
print(json.dumps({"flags": flags, "pydantic": "pydantic" in sys.modules, "cache": str(cache_file("judge-flags"))}))
"""


def flags_in_a_fresh_process() -> dict:
    done = subprocess.run([sys.executable, "-c", FLAGS_IN_A_FRESH_PROCESS], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_flags_come_from_a_cache_file_until_the_judges_package_changes():
    built = flags_in_a_fresh_process()
    cache = Path(built["cache"])
    assert built["pydantic"] and cache.exists()  # built from the models once
    cached = flags_in_a_fresh_process()
    assert cached["flags"] == built["flags"] and not cached["pydantic"]
    assert cached["flags"] == [[f.name, f.kind.__name__, [list(d) for d in f.described]] for f in declared_flags()]
    stale = json.loads(cache.read_text())
    stale["key"][0], stale["rows"] = "0.0.0", []  # written by another version: never read
    cache.write_text(json.dumps(stale))
    rebuilt = flags_in_a_fresh_process()
    assert rebuilt["flags"] == built["flags"] and rebuilt["pydantic"]
