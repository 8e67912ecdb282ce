"""--engine ray for real: a local Ray started by reljudge finishes a job the local engine began, same shards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reljudge.infer.batch import judge_pairs, to_frame
from reljudge.infer.stream import judge_to_shards, local_engine
from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.store import Store

pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'reljudge[ray]'")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"


class Interrupted(Exception):
    pass


def first_chunks_only(judge, chunks):
    def make(run_id):
        def run(work):
            for n, done in enumerate(local_engine(judge, store=None, run_id=run_id)(work)):
                if n == chunks:
                    raise Interrupted
                yield done
        return run
    return make


@pytest.mark.slow
def test_ray_engine_resumes_a_local_run_and_writes_the_same_judgments(tmp_path):
    judge = load_judge("lexical")
    out = tmp_path / "out"
    with pytest.raises(Interrupted):
        judge_to_shards(EXAMPLES, judge, out, options={"scheme": judge.scheme}, chunk_size=6,
                        engine=first_chunks_only(judge, 2))
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", "judge", str(EXAMPLES), "--judge", "lexical",
                           "--output", str(out),
                           "--chunk-size", "6", "--engine", "ray", "--workers", "1", "--store",
                           str(tmp_path / "s.duckdb")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "2 shards from an earlier run" in done.stderr
    with Store(tmp_path / "s.duckdb") as store:
        [run] = store.runs()
    assert (run.status, run.identity) == ("done", judge.identity)  # the driver records the judge's identity
    shards = pd.read_parquet(out).sort_values("pair_id").reset_index(drop=True)
    read = read_pairs(EXAMPLES, scheme=judge.scheme)
    expected = to_frame(read.pairs, judge_pairs(read.pairs, judge).judgments, judge.scheme)
    pd.testing.assert_frame_equal(shards, expected.sort_values("pair_id").reset_index(drop=True), check_dtype=False)
