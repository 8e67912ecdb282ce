"""What the command line's log handler shows: reljudge's status at INFO, -v adds DEBUG, -q keeps warnings alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def reljudge(*args: object) -> subprocess.CompletedProcess:
    """The installed command in its own process, stderr a pipe (not a terminal: plain log lines)."""
    return subprocess.run([sys.executable, "-m", "reljudge.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def judge_sorted(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    """A judging run that logs one status line at INFO (the out-of-core sort) before its result."""
    done = reljudge(*flags, "judge", EXAMPLE_PAIRS, "--judge", "lexical", "--output", tmp_path / "judged",
                    "--sort-by-query", "--no-store")
    assert done.returncode == 0, done.stderr
    assert "judged 28 pairs" in done.stderr  # the command's result is never a log line
    return done


def test_status_is_shown_at_info_by_default_without_debug_lines(tmp_path):
    done = judge_sorted(tmp_path)
    assert " INFO reljudge.cli.judge: sorting " in done.stderr
    assert " DEBUG " not in done.stderr


def test_verbose_adds_debug_lines(tmp_path):
    done = judge_sorted(tmp_path, "-v")
    assert " DEBUG reljudge.cli.logs: reljudge " in done.stderr
    assert " INFO reljudge.cli.judge: sorting " in done.stderr


def test_quiet_hides_info_but_keeps_warnings(tmp_path):
    assert " INFO " not in judge_sorted(tmp_path, "--quiet").stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes(EXAMPLE_PAIRS.read_text(encoding="utf-8").replace("black", "café").encode("latin-1"))
    done = reljudge("-q", "judge", latin, "--judge", "lexical", "--output", tmp_path / "latin.parquet", "--no-store")
    assert done.returncode == 0, done.stderr
    assert " WARNING reljudge.io." in done.stderr and "reading it as Latin-1" in done.stderr


def test_verbose_and_quiet_together_are_refused():
    done = reljudge("-v", "-q", "store", "info")
    assert done.returncode == 2
    assert "choose one of --verbose and --quiet" in done.stderr


def test_training_progress_reaches_the_user_on_stderr_and_nothing_is_printed_to_stdout(tiny_encoder_base, tmp_path):
    done = reljudge("train", "--judge", "cross-encoder", "--data", EXAMPLE_PAIRS, "--base", tiny_encoder_base,
                    "--folds", 2, "--epochs", 1, "--batch-size", 8, "--output", tmp_path / "model")
    assert done.returncode == 0, done.stderr
    assert " INFO reljudge.train.encoder: fold 1/2: fine-tuning on " in done.stderr
    assert " INFO reljudge.train.encoder: step 1/" in done.stderr and "'loss':" in done.stderr
    assert "{'loss'" not in done.stdout  # transformers' own printer is off: progress is a log line, not output
