"""The causal judge on vLLM's offline engine gives the Hugging Face backend's labels, under a spec of its own.

These run where vLLM is installed (its own virtual environment, `pytest -m vllm` there; see .ci/run) and skip,
saying so, elsewhere. One engine is loaded per module: a load takes about a minute on two cores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reljudge.errors import JudgeError
from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.metrics import alpha

pytestmark = pytest.mark.vllm

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PAIRS = ROOT / "examples" / "pairs.csv"
ESCI = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"


def pairs_to_judge() -> list:
    """The example pairs, and ESCI's first 100 valid pairs where ../shared/data is beside the checkout."""
    pairs = read_pairs(EXAMPLE_PAIRS, scheme="esci").pairs
    if ESCI.exists():
        pairs += [p for p in read_pairs(ESCI, scheme="esci").pairs if p.segments["split"] == "valid"][:100]
    return pairs


@pytest.fixture(scope="module")
def both():
    pytest.importorskip("vllm", reason="vLLM is not installed here (pip install 'reljudge[vllm]' in its own venv)")
    return load_judge("causal", precision="fp32"), load_judge("causal", precision="fp32", backend="vllm")


def test_the_vllm_backend_gives_the_hf_backends_labels(both):
    hf, vllm = both
    pairs = pairs_to_judge()
    p_hf, p_vllm = hf.predict_proba(pairs), vllm.predict_proba(pairs)
    same = (p_hf.argmax(axis=1) == p_vllm.argmax(axis=1)).mean()
    assert same >= 0.98, same
    assert np.abs(p_hf - p_vllm).max() < 1e-3
    truth = [p.label for p in pairs]
    labels = [[hf.scheme.labels[i] for i in p.argmax(axis=1)] for p in (p_hf, p_vllm)]
    assert abs(alpha(truth, labels[0], hf.scheme) - alpha(truth, labels[1], hf.scheme)) <= 0.005


def test_its_spec_and_identity_say_which_engine(both):
    hf, vllm = both
    assert vllm.spec != hf.spec and vllm.spec.startswith("causal@")
    assert vllm.identity.options["backend"] == "vllm" and hf.identity.options["backend"] == "hf"


def test_what_it_cannot_run_is_refused_before_any_load():
    with pytest.raises(JudgeError, match="fp32 or bf16, not int8"):
        load_judge("causal", precision="int8", backend="vllm")


def test_the_api_judge_against_vllms_own_server_then_the_server_killed(vllm_server, tmp_path):
    from reljudge.errors import JudgingStopped
    from reljudge.infer.batch import judge_pairs
    from reljudge.store import Store

    base_url, kill = vllm_server
    pairs = read_pairs(EXAMPLE_PAIRS, scheme="esci").pairs
    judge = load_judge("api:smollm2", base_url=base_url, concurrency=4, max_tokens=2, max_retries=0)
    with Store(tmp_path / "s.duckdb") as store:
        run = judge_pairs(pairs[:8], judge, store=store)
        assert all(j.label in judge.scheme.labels for j in run.judgments)  # labelled from log-probabilities
        assert any(max(j.proba) < 1.0 for j in run.judgments)
        kill()  # the server and its engine core, as a crash would
        with pytest.raises(JudgingStopped):
            judge_pairs(pairs[8:12], judge, store=store)
        assert store.info().judgments == 8  # what was judged before stays


class Interrupted(Exception):
    pass


def test_ray_runs_one_engine_per_actor_and_finishes_a_job_the_local_engine_began(both, tmp_path):
    """`reljudge judge --engine ray --backend vllm`: the actor rebuilds the judge (and its engine) from the driver's
    identity; the shards it adds to a killed local run's are the ones the judge gives in this process."""
    import subprocess
    import sys

    import pandas as pd

    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'reljudge[ray]'")
    from reljudge.infer.batch import judge_pairs, to_frame
    from reljudge.infer.stream import judge_to_shards, local_engine

    _, judge = both
    out = tmp_path / "out"

    def first_two_chunks(run_id):
        def run(work):
            for n, done in enumerate(local_engine(judge, store=None, run_id=run_id)(work)):
                if n == 2:
                    raise Interrupted
                yield done
        return run

    with pytest.raises(Interrupted):
        judge_to_shards(EXAMPLE_PAIRS, judge, out, options={"scheme": judge.scheme}, chunk_size=6,
                        engine=first_two_chunks)
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", "judge", str(EXAMPLE_PAIRS), "--judge",
                           "causal", "--precision", "fp32", "--backend", "vllm", "--output", str(out),
                           "--chunk-size", "6", "--engine", "ray", "--workers", "1", "--no-store"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 shards from an earlier run" in done.stderr
    shards = pd.read_parquet(out).sort_values("pair_id").reset_index(drop=True)
    read = read_pairs(EXAMPLE_PAIRS, scheme=judge.scheme)
    expected = to_frame(read.pairs, judge_pairs(read.pairs, judge).judgments, judge.scheme)
    expected = expected.sort_values("pair_id").reset_index(drop=True)
    assert list(shards["label"]) == list(expected["label"]) and (shards["judge"] == judge.spec).all()
