"""A third-party judge package, built here and installed with pip, is found through its `reljudge.judges` entry
point by the commands and by `load_judge`, with no import by hand."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"

PLUGIN = '''
import numpy as np

from reljudge.judges.base import JudgeBase
from reljudge.judges.options import JudgeOptions, option
from reljudge.judges.registry import JudgePlugin
from reljudge.labels import get_scheme


class TitleMatchOptions(JudgeOptions):
    min_overlap: float = option(0.5, "Share of the query's words the title must hold to be Exact.", ge=0, le=1)


class TitleMatchJudge(JudgeBase):
    def __init__(self, options):
        self.scheme, self.spec, self.min_overlap = get_scheme("esci"), "title-match", options.min_overlap

    def predict_proba(self, pairs, batch_size=64):
        out = np.zeros((len(pairs), len(self.scheme.labels)))
        for row, pair in enumerate(pairs):
            words = set(pair.query.lower().split())
            held = len(words & set(pair.product.title.lower().split())) / max(len(words), 1)
            out[row, 0 if held >= self.min_overlap else 3] = 1.0
        return out


def title_match(argument, scheme, options):
    return TitleMatchJudge(options)


plugin = JudgePlugin(options=TitleMatchOptions, factory=title_match)
'''

PYPROJECT = '''
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "reljudge-title-match"
version = "0.1.0"

[project.entry-points."reljudge.judges"]
title-match = "reljudge_title_match:plugin"
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The plugin package installed by pip into a folder; the environment that puts it on the path."""
    root = tmp_path_factory.mktemp("plugin")
    package = root / "src"
    (package / "reljudge_title_match").mkdir(parents=True)
    (package / "reljudge_title_match" / "__init__.py").write_text(PLUGIN)
    (package / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(target), str(package)], check=True, capture_output=True, timeout=300)
    assert list(target.glob("reljudge_title_match-0.1.0.dist-info/entry_points.txt"))
    return {"PYTHONPATH": str(target)}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_the_commands_find_an_installed_plugin_judge(installed, tmp_path):
    cli = ("-c", "from reljudge.cli.main import app; import sys; sys.argv[0] = 'reljudge'; app()")
    judged = run(installed, *cli, "judge", str(EXAMPLE_PAIRS), "--judge", "title-match", "--option",
                 "min_overlap=0.9", "--output", str(tmp_path / "j.csv"), "--store", str(tmp_path / "s.duckdb"))
    assert judged.returncode == 0, judged.stderr
    judgments = pd.read_csv(tmp_path / "j.csv")
    assert set(judgments["label"]) == {"E", "I"} and (judgments["judge"] == "title-match").all()
    evaluated = run(installed, *cli, "evaluate", str(EXAMPLE_PAIRS), "--judge", "title-match", "--json",
                    "--no-store")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == len(judgments)


def test_load_judge_finds_it_and_validates_its_options(installed):
    script = ("from reljudge import load_judge\n"
              "from reljudge.errors import JudgeError\n"
              "from reljudge.judges.registry import available_judges\n"
              "assert 'title-match' in available_judges()\n"
              "assert load_judge('title-match', min_overlap=0.6).min_overlap == 0.6\n"
              "try:\n"
              "    load_judge('title-match', min_overlap=2)\n"
              "except JudgeError as exc:\n"
              "    print(exc)\n")
    result = run(installed, "-c", script)
    assert result.returncode == 0, result.stderr
    assert "judge 'title-match', option 'min_overlap'" in result.stdout


def test_without_the_package_the_name_is_unknown():
    result = run({}, "-c", "from reljudge import load_judge; load_judge('title-match')")
    assert result.returncode != 0 and "unknown judge 'title-match'" in result.stderr


def test_a_judge_registered_in_process_is_loaded_by_its_name():
    from reljudge import load_judge
    from reljudge.judges.lexical import LexicalJudge, lexical_judge
    from reljudge.judges.registry import _REGISTRY, available_judges, register

    register("lexical-again")(lexical_judge)
    try:
        assert "lexical-again" in available_judges()
        assert isinstance(load_judge("lexical-again"), LexicalJudge)
    finally:
        del _REGISTRY["lexical-again"]
