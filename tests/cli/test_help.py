"""`reljudge --help` stays fast: the entry point imports typer and the light option models, nothing heavy."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

RELJUDGE = Path(sys.executable).with_name("reljudge")
HEAVY = ("torch", "transformers", "onnxruntime", "pandas", "numpy", "sklearn", "duckdb", "fastapi", "httpx")


def test_help_answers_in_under_half_a_second():
    """Best of five, in CPU seconds (user + system) of the command: on a machine shared with other jobs the wall
    clock also measures the wait for a core, which is not the command's doing. Python keeps the bytecode it
    compiles, as on a user's machine, even where the environment says not to (PYTHONDONTWRITEBYTECODE): compiling
    every module again is a cost of that setting, not of the command."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    cpu, wall = [], []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([str(RELJUDGE), "--help"], capture_output=True, text=True, timeout=60, env=env)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        assert done.returncode == 0 and "judge" in done.stdout and "evaluate" in done.stdout
    assert min(cpu) < 0.5, f"reljudge --help took {min(cpu):.2f} CPU seconds (wall clock {min(wall):.2f} s)"


def test_the_entry_point_imports_nothing_heavy():
    code = "import json, sys, reljudge.cli.main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & set(HEAVY), f"importing reljudge.cli.main imported {sorted(loaded & set(HEAVY))}"
