"""Kill the real `reljudge judge` with SIGKILL in the middle of a run, run it again: every pair exactly once.

The regression this guards: a shard directory that, after a kill -9 and a resume, misses pairs, holds some twice,
or holds judgments other than an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from reljudge.infer.batch import judge_pairs, to_frame
from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"


def grouped_input(path: Path, copies: int) -> Path:
    """The example pairs repeated with distinct query and product ids (every pair new), grouped by query."""
    base = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False)
    frames = []
    for copy in range(copies):
        frame = base.copy()
        frame["query_id"] = frame["query_id"] + f"-{copy}"
        frame["product_id"] = frame["product_id"] + f"-{copy}"
        frame["pair_id"] = [f"{copy}-{i}" for i in range(len(frame))]
        frames.append(frame)
    pd.concat(frames).sort_values(["query_id"], kind="stable").to_csv(path, index=False)
    return path


def command(pairs: Path, out: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "reljudge.cli.main", "judge", str(pairs), "--judge", "lexical", "--output", str(out),
            "--store", str(store), "--chunk-size", "100"]


def test_sigkill_mid_run_then_resume_holds_every_pair_once_with_the_uninterrupted_judgments(tmp_path):
    pairs = grouped_input(tmp_path / "pairs.csv", copies=150)  # 4,200 pairs, 42 chunks of 100 rows
    out, store = tmp_path / "out", tmp_path / "store.duckdb"
    manifest = out / "_manifest.json"
    run = subprocess.Popen(command(pairs, out, store), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        try:
            if len(json.loads(manifest.read_text())["shards"]) >= 5:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    assert run.poll() is None, f"the run ended before it could be killed:\n{run.stderr.read().decode()}"
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    run.stderr.close()
    done_before = len(json.loads(manifest.read_text())["shards"])
    assert 5 <= done_before < 43

    again = subprocess.run(command(pairs, out, store), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "from an earlier run" in again.stderr

    shards = pd.read_parquet(out)
    assert len(shards) == 4200 and shards["pair_id"].is_unique
    judge = load_judge("lexical")
    read = read_pairs(pairs, scheme=judge.scheme)
    expected = to_frame(read.pairs, judge_pairs(read.pairs, judge).judgments, judge.scheme)
    key = ["pair_id"]
    pd.testing.assert_frame_equal(shards.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True), check_dtype=False)
    assert json.loads(manifest.read_text())["status"] == "done"
    assert not list(out.glob(".*"))  # no temporary left behind


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch):
    monkeypatch.delenv("RELJUDGE_STORE", raising=False)
