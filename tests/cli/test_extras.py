"""The core install judges, evaluates and keeps the store; a command that needs an extra it lacks says which.

Each test runs the real CLI in a subprocess whose imports of the extras' modules fail as they do where the extra
is not installed: a finder ahead of the others raises ModuleNotFoundError naming the module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reljudge.extras import EXTRA_OF

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"


def without_extras(*args: str, blocked: tuple[str, ...] = tuple(EXTRA_OF)) -> subprocess.CompletedProcess:
    """`reljudge ARGS` with the extras' modules absent."""
    script = ("import sys\n"
              "class Absent:\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              f"        if name.split('.')[0] in {list(blocked)!r}:\n"
              "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
              "sys.meta_path.insert(0, Absent())\n"
              "from reljudge.cli.main import app\n"
              "sys.argv = ['reljudge', *sys.argv[1:]]\n"
              "app()\n")
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)


def test_the_core_judges_evaluates_and_keeps_the_store_without_any_extra(tmp_path):
    store = str(tmp_path / "s.duckdb")
    judged = without_extras("judge", str(EXAMPLE_PAIRS), "--output", str(tmp_path / "j.csv"), "--store", store)
    assert judged.returncode == 0, judged.stderr
    evaluated = without_extras("evaluate", str(EXAMPLE_PAIRS), "--store", store, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert '"alpha"' in evaluated.stdout
    info = without_extras("store", "info", "--store", store)
    assert info.returncode == 0 and "judgments" in info.stdout


def test_each_command_that_needs_an_extra_names_it_in_one_line(tmp_path):
    store = str(tmp_path / "s.duckdb")
    cases = {
        "serve": ("serve", "--store", store),
        "report": ("report", "--store", store, "--output", str(tmp_path / "r.html")),
        "train": ("train", "--judge", "cross-encoder", "--data", str(EXAMPLE_PAIRS), "--output", str(tmp_path / "m")),
    }
    for extra, args in cases.items():
        result = without_extras(*args)
        assert result.returncode == 2, (extra, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pip install 'reljudge[{extra}]'" in lines[0], (extra, result.stderr)
