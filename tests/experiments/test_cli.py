"""`reljudge experiment` end to end through its typer sub-app, on real files and a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reljudge.cli.experiment import experiment_app
from reljudge.store import Store

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
GAIN = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}


def run(*args: object, code: int = 0):
    result = CliRunner().invoke(experiment_app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Queries in two strata, control in file order, treatment by human gain (an oracle), top 3 of each."""
    pairs = pd.read_csv(EXAMPLE_PAIRS, dtype=str, keep_default_na=False)
    queries = pd.DataFrame({"query_id": ["q1", "q2", "q3", "q4", "q5"], "source": ["a", "a", "a", "b", "b"],
                            "count": [50, 10, 5, 40, 1]})
    paths = {"queries": tmp_path / "queries.csv", "control": tmp_path / "control.csv",
             "treatment": tmp_path / "treatment.run", "sample": tmp_path / "sample.csv"}
    queries.to_csv(paths["queries"], index=False)
    control = pairs.groupby("query_id").head(3).assign(rank=lambda f: f.groupby("query_id").cumcount() + 1)
    control[["query_id", "product_id", "rank"]].to_csv(paths["control"], index=False)
    ordered = pairs.assign(gain=pairs["esci_label"].map(GAIN))
    ordered = ordered.sort_values(["query_id", "gain"], ascending=[True, False], kind="stable")
    best = ordered.groupby("query_id").head(3)
    best = best.assign(rank=best.groupby("query_id").cumcount() + 1)
    paths["treatment"].write_text("".join(f"{q} Q0 {p} {r} {-r} oracle\n"
                                          for q, p, r in zip(best.query_id, best.product_id, best["rank"])))
    return paths


def test_sample_writes_each_query_with_stratum_and_weight(files):
    result = run("sample", "--queries", files["queries"], "--strata", "source", "--n", 4, "--seed", 1,
                 "--output", files["sample"], "--json")
    summary = json.loads(result.stdout)
    assert [s["drawn"] for s in summary["strata"]] == [2, 2]
    sample = pd.read_csv(files["sample"])
    assert len(sample) == 4 and set(sample["stratum"]) == {"source=a", "source=b"}
    a = sample[sample["stratum"] == "source=a"].iloc[0]
    assert a["inclusion_prob"] == pytest.approx(2 / 3) and a["weight"] == pytest.approx(1.5)
    assert a["stratum_share"] == pytest.approx(0.6) and a["stratum_size"] == 3


def test_neyman_sample_reads_a_pilot_and_traffic_binning(files, tmp_path):
    pilot = tmp_path / "pilot.csv"
    pilot.write_text("stratum,sd\nsource=a,0.01\nsource=b,0.5\n")
    run("sample", "--queries", files["queries"], "--strata", "source", "--n", 4, "--allocation", "neyman",
        "--pilot", pilot, "--by-traffic", "--output", files["sample"])
    assert len(pd.read_csv(files["sample"])) == 4
    run("sample", "--queries", files["queries"], "--strata", "count:2", "--n", 4, "--output", files["sample"])
    assert set(pd.read_csv(files["sample"])["stratum"]) == {"count=q1", "count=q2"}
    refused = run("sample", "--queries", files["queries"], "--strata", "source", "--n", 4, "--allocation", "neyman",
                  "--output", files["sample"], code=2)
    assert "give a pilot" in refused.output


def test_analyze_with_human_labels_finds_the_oracle_better(files, tmp_path):
    run("sample", "--queries", files["queries"], "--strata", "source", "--n", 5, "--output", files["sample"])
    result = run("analyze", "--sample", files["sample"], "--control", files["control"], "--treatment",
                 files["treatment"], "--qrels", EXAMPLE_PAIRS, "--k", 3, "--json", "--per-query",
                 tmp_path / "pq.csv", "--plot", tmp_path / "effects.html")
    report = json.loads(result.stdout)
    assert report["n_queries"] == 5 and report["effect"] > 0 and report["labels"] == f"qrels:{EXAMPLE_PAIRS}"
    # every query taken: the finite-population correction leaves no variance
    assert report["ci_low"] == report["ci_high"] == report["effect"]
    assert {"mde", "mde_srs", "relative_effect", "p_value"} <= set(report)
    assert [s["stratum"] for s in report["per_stratum"]] == ["source=a", "source=b"]
    per_query = pd.read_csv(tmp_path / "pq.csv")
    assert list(per_query.columns) == ["query_id", "stratum", "weight", "control", "treatment", "diff"]
    page = (tmp_path / "effects.html").read_text()
    assert "vega" in page.lower() and "source=a (n=" in page and "<script src=" not in page  # offline: Vega inline


def test_analyze_with_a_judge_shares_labels_through_the_store(files, tmp_path):
    run("sample", "--queries", files["queries"], "--n", 4, "--output", files["sample"])
    store = tmp_path / "store.duckdb"
    args = ("analyze", "--sample", files["sample"], "--control", files["control"], "--treatment", files["treatment"],
            "--judge", "lexical", "--pairs", EXAMPLE_PAIRS, "--k", 3, "--store", store, "--bootstrap", 200, "--json")
    first = json.loads(run(*args).stdout)
    with Store(store) as the_store:
        judged = the_store.info().judgments
    second = json.loads(run(*args).stdout)
    with Store(store) as the_store:
        assert the_store.info().judgments == judged  # nothing judged again
    assert first == second and first["labels"].startswith("lexical@") and first["method"] == "bootstrap"
    rendered = run(*args[:-1]).output
    assert "treatment - control" in rendered and "per stratum" in rendered


def test_analyze_with_a_judge_and_some_human_labels_corrects_the_judges_effect(files, tmp_path):
    """Human labels on 4 of 5 sampled queries (all of stratum b, 2 of 3 in a) correct the judge's effect."""
    run("sample", "--queries", files["queries"], "--strata", "source", "--n", 5, "--output", files["sample"])
    pairs = pd.read_csv(EXAMPLE_PAIRS, dtype=str, keep_default_na=False)
    some = tmp_path / "some_labels.csv"
    pairs[pairs["query_id"] != "q3"][["query_id", "product_id", "esci_label"]].rename(
        columns={"esci_label": "label"}).to_csv(some, index=False)
    args = ("analyze", "--sample", files["sample"], "--control", files["control"], "--treatment", files["treatment"],
            "--judge", "lexical", "--pairs", EXAMPLE_PAIRS, "--qrels", some, "--k", 3, "--no-store")
    report = json.loads(run(*args, "--json", "--per-query", tmp_path / "pq.csv").stdout)
    assert report["method"] == "prediction-powered" and report["n_labelled"] == 4 and report["n_queries"] == 5
    assert report["labels"].startswith("lexical@") and report["labels"].endswith(f"corrected by qrels:{some}")
    assert {"lambda", "human_only", "judge_only"} <= set(report)
    assert [s["n_labelled"] for s in report["per_stratum"]] == [2, 2]
    assert report["effect"] > 0 and report["ci_low"] <= report["effect"] <= report["ci_high"]
    per_query = pd.read_csv(tmp_path / "pq.csv")
    assert per_query.set_index("query_id")["labelled"].to_dict() == {
        "q1": True, "q2": True, "q3": False, "q4": True, "q5": True}
    assert "queries labelled by people" in run(*args).output
    few = tmp_path / "few_labels.csv"
    pairs[pairs["query_id"].isin(["q1", "q4", "q5"])][["query_id", "product_id", "esci_label"]].rename(
        columns={"esci_label": "label"}).to_csv(few, index=False)
    refused = run(*args[:-5], "--qrels", few, "--k", 3, "--no-store", code=2).output
    assert "stratum 'source=a' has 1 of its 3 sampled queries labelled" in " ".join(refused.split())


def test_validate_reports_tau_rho_and_agreement(files):
    run("sample", "--queries", files["queries"], "--n", 5, "--output", files["sample"])
    args = ("validate", "--sample", files["sample"], "--control", files["control"], "--treatment", files["treatment"],
            "--qrels", EXAMPLE_PAIRS, "--judge", "lexical", "--pairs", EXAMPLE_PAIRS, "--k", 3)
    got = json.loads(run(*args, "--json").stdout)
    assert got["n_queries"] == 5 and -1 <= got["kendall_tau"] <= 1 and -1 <= got["spearman_rho"] <= 1
    assert {"same_sign", "same_significance", "passes", "human", "judge"} <= set(got)
    assert got["human"]["effect"] > 0
    assert "Kendall" in run(*args).output


def test_bad_inputs_exit_2_naming_file_row_and_field(files, tmp_path):
    run("sample", "--queries", files["queries"], "--n", 5, "--output", files["sample"])
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 P1001 1 1 x\nq1 Q0 P1002 second 1 x\n")
    common = ("--sample", files["sample"], "--qrels", EXAMPLE_PAIRS)
    result = run("analyze", *common, "--control", bad, "--treatment", files["treatment"], code=2)
    assert f"{bad}, row 2, field 'rank': rank 'second' is not a positive integer" in " ".join(result.output.split())
    partial = tmp_path / "partial.run"
    partial.write_text("q1 Q0 P1001 1 1 x\n")
    result = run("analyze", *common, "--control", partial, "--treatment", partial, code=2)
    assert "is in neither run" in result.output
    assert "--qrels FILE, or both" in run("analyze", "--sample", files["sample"], "--control", partial,
                                          "--treatment", partial, code=2).output
    assert "unknown metric 'map'" in run("analyze", *common, "--control", partial, "--treatment", partial, "--metric",
                                         "map", code=2).output


def test_validate_hands_the_judge_flags_to_the_judge(files):
    """--precision reaches the causal judge, whose options model refuses the value (before any model loads)."""
    run("sample", "--queries", files["queries"], "--n", 5, "--output", files["sample"])
    args = ("validate", "--sample", files["sample"], "--control", files["control"], "--treatment", files["treatment"],
            "--qrels", EXAMPLE_PAIRS, "--pairs", EXAMPLE_PAIRS, "--k", 3)
    refused = run(*args, "--judge", "causal", "--precision", "fp64", code=2).output
    assert "judge 'causal', option 'precision': Input should be 'auto', 'fp32', 'bf16' or 'int8'" in refused
    refused = run(*args, "--judge", "lexical", "--precision", "fp32", code=2).output
    assert "--precision: only for causal LM judges (--judge causal[:DIR]), not 'lexical'" in refused


def test_analyze_refuses_judge_options_without_a_judge(files):
    run("sample", "--queries", files["queries"], "--n", 5, "--output", files["sample"])
    refused = run("analyze", "--sample", files["sample"], "--control", files["control"], "--treatment",
                  files["treatment"], "--qrels", EXAMPLE_PAIRS, "--base-url", "http://127.0.0.1:9/v1", code=2).output
    assert "--base-url: a judge's options, but no --judge was given" in " ".join(refused.split())


def test_the_library_verb_gives_the_report_the_command_prints(files, tmp_path):
    import reljudge

    run("sample", "--queries", files["queries"], "--n", 5, "--output", files["sample"])
    arms = ("--sample", files["sample"], "--control", files["control"], "--treatment", files["treatment"], "--k", 3)
    printed = json.loads(run("analyze", *arms, "--judge", "lexical", "--pairs", EXAMPLE_PAIRS, "--qrels",
                             EXAMPLE_PAIRS, "--store", tmp_path / "s.duckdb", "--json").stdout)
    with Store(tmp_path / "s.duckdb") as store:
        analysis = reljudge.analyze_experiment(files["sample"], files["control"], files["treatment"],
                                               judge=reljudge.load_judge("lexical"), pairs=EXAMPLE_PAIRS,
                                               qrels=EXAMPLE_PAIRS, store=store, k=3)
    assert analysis.report == printed and analysis.report["labels"].endswith(f"corrected by qrels:{EXAMPLE_PAIRS}")
    assert {"labelled", "human_diff"} <= set(analysis.per_query.columns) and len(analysis.per_query) == 5
