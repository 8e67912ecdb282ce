"""`reljudge judge` / `evaluate` with an API judge, as a user runs them, against the fault-injecting local stub."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.store import Store

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
PAIRS = read_pairs(EXAMPLE_PAIRS, scheme=get_scheme("esci")).pairs
KEY = "sk-cli-test-0a1b2c3d-never-store-me"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def reljudge(*args: object, expect: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == expect, done.stderr
    return done


def first_answers() -> dict[str, str]:
    """The stub answers a query's first pair's human label for every pair of that query."""
    answers: dict[str, str] = {}
    for p in PAIRS:
        answers.setdefault(p.query, p.label)
    return answers


def test_judge_keeps_garbage_unscored_reuses_the_store_and_retries_only_when_asked(fault_server, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("RELJUDGE_CLI_KEY", KEY)
    queries = sorted({p.query for p in PAIRS})
    server = fault_server(first_answers(), {queries[0]: ["garbage"], queries[1]: ["500", "garbage"]})
    out = tmp_path / "j.csv"
    api = ["--judge", "api:stub", "--base-url", server.base_url, "--api-key-env", "RELJUDGE_CLI_KEY",
           "--concurrency", "4", "--price-in", "0.15", "--price-out", "0.6"]
    first = reljudge("judge", EXAMPLE_PAIRS, "--output", out, *api)
    frame = pd.read_csv(out)
    assert len(frame) == 28 and frame["label"].isna().sum() == 2
    assert set(frame.loc[frame["label"].isna(), "reason"]) == {"unparseable reply"}
    assert "unscored: 2" in first.stderr and "29 requests (1 retries)" in first.stderr and "cost 0.0004" in first.stderr
    sent = server.requests

    again = reljudge("judge", EXAMPLE_PAIRS, "--output", out, *api)
    assert server.requests == sent and "28 from the store, 0 judged" in again.stderr and "unscored: 2" in again.stderr

    retried = reljudge("judge", EXAMPLE_PAIRS, "--output", out, *api, "--retry-unscored")
    assert server.requests == sent + 2 and "unscored" not in retried.stderr
    assert pd.read_csv(out)["label"].notna().all()
    store_bytes = Path(Store().path).read_bytes()
    for text in (first.stderr, again.stderr, retried.stderr, out.read_text(), store_bytes.decode("latin-1")):
        assert KEY not in text


def test_evaluate_with_an_api_judge(fault_server, tmp_path):
    rows = pd.read_csv(EXAMPLE_PAIRS)
    rows["query"] = [f"{q} #{k}" for k, q in enumerate(rows["query"])]  # one pair per query: the stub's key
    rows.to_csv(tmp_path / "pairs.csv", index=False)
    server = fault_server(dict(zip(rows["query"], rows["esci_label"])), {rows["query"][0]: ["garbage"]})
    done = reljudge("evaluate", tmp_path / "pairs.csv", "--judge", "api:stub", "--base-url", server.base_url, "--json")
    report = json.loads(done.stdout)
    assert report["n_unscored"] == 1 and report["accuracy"] == 1.0 and report["alpha"] == 1.0


def test_a_server_that_gives_out_exits_2_naming_it_and_keeps_what_was_judged(fault_server, tmp_path):
    last = PAIRS[-1].query
    server = fault_server(first_answers(), {last: ["500"] * 10})
    done = reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / "j.csv", "--judge", "api:stub", "--base-url",
                    server.base_url, "--concurrency", "1", "--max-retries", "1", expect=2)
    assert f"server at {server.base_url}" in done.stderr and "HTTP 500" in done.stderr
    with Store() as store:
        kept = store.con.execute("SELECT count(*) FROM judgments WHERE judge LIKE 'api:stub@%'").fetchall()[0][0]
    assert kept == [p.query for p in PAIRS].index(last) > 0  # every pair before the failing one, in input order


def test_api_flags_are_refused_for_other_judges(tmp_path):
    done = reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / "j.csv", "--judge", "lexical", "--base-url",
                    "http://127.0.0.1:9/v1", "--concurrency", "2", expect=2)
    assert "--base-url, --concurrency: only for API judges (--judge api:MODEL), not 'lexical'" in done.stderr
    done = reljudge("evaluate", EXAMPLE_PAIRS, "--judge", "api:stub", "--precision", "fp32", expect=2)
    assert "--precision: only for causal LM judges (--judge causal[:DIR]), not 'api:stub'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_an_unknown_or_ill_typed_option_is_refused_naming_option_and_judge(tmp_path):
    out = tmp_path / "j.csv"
    done = reljudge("judge", EXAMPLE_PAIRS, "--output", out, "--judge", "lexical", "--option", "window=3", expect=2)
    assert "judge 'lexical' takes no option 'window'" in done.stderr
    done = reljudge("judge", EXAMPLE_PAIRS, "--output", out, "--judge", "api:stub", "--option", "temperature=warm",
                    expect=2)
    assert "judge 'api', option 'temperature': Input should be a valid number" in done.stderr
    done = reljudge("judge", EXAMPLE_PAIRS, "--output", out, "--judge", "api:stub", "--option", "temperature=0.5",
                    "--temperature", "0.5", expect=2)
    assert "--option temperature: given twice (also as --temperature)" in done.stderr
    assert not out.exists()


def test_a_generic_option_reaches_the_judge_as_its_flag_does(fault_server, tmp_path):
    server = fault_server(first_answers())
    api = ["--judge", "api:stub", "--base-url", server.base_url, "--no-store"]
    specs = {}
    for name, given in {"flag": ["--temperature", "0.3"], "option": ["--option", "temperature=0.3"],
                        "neither": []}.items():
        reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / f"{name}.csv", *api, *given)
        specs[name] = set(pd.read_csv(tmp_path / f"{name}.csv")["judge"])
    assert specs["flag"] == specs["option"] != specs["neither"]  # the spec's digest covers the temperature


def test_a_killed_job_resumes_without_asking_again_what_was_committed(fault_server, tmp_path):
    rows = pd.read_csv(EXAMPLE_PAIRS)
    rows["query"] = [f"{q} #{k}" for k, q in enumerate(rows["query"])]
    rows.to_csv(tmp_path / "pairs.csv", index=False)
    server = fault_server(dict(zip(rows["query"], rows["esci_label"])), delay=0.2)
    args = [sys.executable, "-m", "reljudge.cli.main", "judge", tmp_path / "pairs.csv", "--output", tmp_path / "j.csv",
            "--judge", "api:stub", "--base-url", server.base_url, "--concurrency", "1"]  # commits every 16 pairs
    job = subprocess.Popen(list(map(str, args)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while server.requests < 20 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
    job.kill()
    job.wait(timeout=10)
    assert server.requests >= 20, "the job ended before it could be killed"
    sent = server.requests
    resumed = reljudge(*args[3:])
    assert "16 from the store, 12 judged" in resumed.stderr and server.requests == sent + 12


@pytest.mark.slow
def test_ray_workers_load_the_judge_with_the_flags_the_driver_was_given(fault_server, tmp_path):
    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'reljudge[ray]'")
    server = fault_server(first_answers())
    api = ["--judge", "api:stub", "--base-url", server.base_url, "--template", "esci-few-shot",
           "--examples", EXAMPLE_PAIRS, "--shots", "4", "--temperature", "0.3", "--max-tokens", "4"]
    local = reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / "local.csv", "--no-store", *api)
    reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / "ray", "--no-store", "--engine", "ray", "--workers",
             "1", *api, expect=0)
    on_ray = pd.read_parquet(tmp_path / "ray").sort_values("pair_id").reset_index(drop=True)
    expected = pd.read_csv(tmp_path / "local.csv").sort_values("pair_id").reset_index(drop=True)
    assert "judged 28 pairs" in local.stderr
    assert list(on_ray["judge"].unique()) == list(expected["judge"].unique())
    assert list(on_ray["label"]) == list(expected["label"])


def test_experiment_analyze_labels_with_an_api_judge_on_the_server_given(llama_server, tmp_path):
    sample, control, treatment = tmp_path / "sample.csv", tmp_path / "control.csv", tmp_path / "treatment.csv"
    sample.write_text("query_id\nq1\nq2\n")
    control.write_text("query_id,product_id,rank\nq1,P1005,1\nq2,P2002,1\n")
    treatment.write_text("query_id,product_id,rank\nq1,P1001,1\nq2,P2001,1\n")  # four pairs: SmolLM2 on a CPU
    done = reljudge("experiment", "analyze", "--sample", sample, "--control", control, "--treatment", treatment,
                    "--k", "1", "--pairs", EXAMPLE_PAIRS, "--judge", "api:smollm2", "--base-url", llama_server,
                    "--max-tokens", "2", "--concurrency", "2", "--no-store", "--json")
    report = json.loads(done.stdout)
    # the spec's digest covers the server and the request: the judge was built with the flags given
    expected = load_judge("api:smollm2", base_url=llama_server, max_tokens=2).spec
    assert report["labels"] == expected and report["n_queries"] == 2
    assert {"effect", "ci_low", "ci_high", "mde"} <= set(report)
