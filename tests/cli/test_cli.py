"""The command line as a user runs it: the installed `reljudge` in a subprocess, real files, a real store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def reljudge(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"reljudge {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done


def test_help_lists_the_commands():
    out = reljudge("--help").stdout
    for command in ("judge", "evaluate", "train", "export", "store", "experiment"):
        assert command in out


def test_judge_writes_one_row_per_pair_with_probabilities_and_the_spec(tmp_path):
    out = tmp_path / "j.parquet"
    reljudge("judge", EXAMPLE_PAIRS, "--judge", "majority", "--output", out)
    frame = pd.read_parquet(out)
    assert len(frame) == 28
    assert {"pair_id", "query_id", "query", "product_id", "label", "p_E", "p_S", "p_C", "p_I", "judge"} <= set(frame)
    assert frame["judge"].str.startswith("majority@").all()


def test_second_run_of_the_same_judge_is_served_from_the_store(tmp_path):
    reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / "a.csv")
    again = reljudge("judge", EXAMPLE_PAIRS, "--output", tmp_path / "b.csv")
    assert "28 from the store, 0 judged" in again.stderr
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_qrels_carry_integer_gains_that_ir_measures_reads(tmp_path):
    ir_measures = pytest.importorskip("ir_measures")
    out = tmp_path / "judged.qrels"
    reljudge("judge", EXAMPLE_PAIRS, "--judge", "majority", "--output", out, "--format", "trec-qrels")
    qrels = list(ir_measures.read_trec_qrels(str(out)))
    assert len(qrels) == 28 and {q.relevance for q in qrels} == {100}


def test_bad_input_names_file_row_and_field_and_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("query,product_id,product_title,esci_label\nshoes,P1,Running shoe,E\n,P2,Sandal,S\n")
    done = reljudge("judge", bad, "--output", tmp_path / "out.csv", check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "bad.csv" in done.stderr and "row 2" in done.stderr and "'query'" in done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_skip_invalid_judges_the_rest_and_writes_rejected_rows_beside_the_output(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("query,product_id,product_title,esci_label\nshoes,P1,Running shoe,E\nshoes,P2,Sandal,X\n")
    out = tmp_path / "out.csv"
    reljudge("judge", bad, "--output", out, "--skip-invalid")
    assert len(pd.read_csv(out)) == 1
    rejected = pd.read_csv(tmp_path / "out.csv.rejected.csv")
    assert rejected.loc[0, "row"] == 2 and "not in scheme" in rejected.loc[0, "reason"]


def test_evaluate_json_has_the_headline_figures(tmp_path):
    done = reljudge("evaluate", EXAMPLE_PAIRS, "--judge", "majority", "--json", "--by", "product_locale",
                    "--bootstrap", "50")
    report = json.loads(done.stdout)
    for key in ("n", "labels", "alpha", "gain_r", "worth", "accuracy", "macro_f1", "per_class", "confusion", "ece",
                "brier", "ci"):
        assert key in report
    assert report["n"] == 28 and report["labels"] == ["E", "S", "C", "I"]
    # a constant judge: 6 of 28 pairs are E, and alpha is below zero, not zero
    assert report["accuracy"] == pytest.approx(6 / 28)
    assert report["alpha"] < 0
    # nor does it say anything about gains: the same expected gain for every pair has no r, and no worth
    assert report["worth"] is None and report["ci"]["worth"] == [None, None]
    assert set(report["by"]["product_locale"]) == {"us"}


def test_evaluate_an_existing_judgments_file_against_labels(tmp_path):
    out = tmp_path / "j.jsonl"
    reljudge("judge", EXAMPLE_PAIRS, "--judge", "majority", "--output", out)
    direct = json.loads(reljudge("evaluate", EXAMPLE_PAIRS, "--judge", "majority", "--json").stdout)
    from_file = json.loads(reljudge("evaluate", "--judgments", out, "--labels", EXAMPLE_PAIRS, "--json").stdout)
    assert from_file["alpha"] == pytest.approx(direct["alpha"])
    assert from_file["confusion"] == direct["confusion"]


def test_long_form_annotations_give_the_human_label_and_the_humans_own_agreement(tmp_path):
    frame = pd.read_csv(EXAMPLE_PAIRS, dtype=str, keep_default_na=False).head(6).drop(columns="esci_label")
    frame.insert(0, "pair_id", [f"p{i}" for i in range(6)])
    pairs = tmp_path / "unlabelled.csv"
    frame.to_csv(pairs, index=False)
    # three annotators; the majority of each pair's votes is E, E, S, C, I, S
    votes = {"p0": "EEE", "p1": "EES", "p2": "SSE", "p3": "CCI", "p4": "III", "p5": "SSS"}
    long_form = tmp_path / "labels_long.csv"
    long_form.write_text("pair_id,annotator_id,label\n" + "".join(
        f"{pid},ann{a},{label}\n" for pid, labels in votes.items() for a, label in enumerate(labels)))
    store = tmp_path / "s.duckdb"
    report = json.loads(reljudge("evaluate", pairs, "--judge", "majority", "--annotations", long_form, "--json",
                                 "--store", store).stdout)
    assert report["n"] == 6
    assert report["human_distribution"] == {"E": 2, "S": 2, "C": 1, "I": 1}
    assert report["humans"]["n_annotators"] == 3 and report["humans"]["n_multi"] == 6
    assert 0 < report["humans"]["alpha"] < 1
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT annotator) FROM human_labels").fetchall() == [(18, 3)]
    con.close()


def test_evaluate_by_an_unknown_column_lists_the_known_ones():
    done = reljudge("evaluate", EXAMPLE_PAIRS, "--by", "nope", check=False)
    assert done.returncode == 2 and "product_locale" in done.stderr


def test_train_then_judge_with_the_trained_model(tmp_path):
    data = tmp_path / "labelled.csv"
    frame = pd.read_csv(EXAMPLE_PAIRS, dtype=str, keep_default_na=False)
    frame["split"] = ["train" if q in ("q1", "q2", "q3") else "valid" for q in frame["query_id"]]
    frame.to_csv(data, index=False)
    for name in ("majority", "lexical"):
        model = tmp_path / name
        reljudge("train", "--judge", name, "--data", data, "--output", model)
        out = tmp_path / f"{name}.csv"
        reljudge("judge", data, "--judge", f"{name}:{model}", "--output", out)
        assert len(pd.read_csv(out)) == 28


def test_store_info_counts_what_was_judged(tmp_path):
    store = tmp_path / "s.duckdb"
    reljudge("judge", EXAMPLE_PAIRS, "--store", store, "--output", tmp_path / "j.csv")
    info = reljudge("store", "info", "--store", store).stdout
    assert "pairs" in info and "28" in info


@pytest.mark.shared_data
def test_lexical_beats_majority_on_the_esci_valid_split(esci_dev_csv: Path):
    figures = {
        judge: json.loads(reljudge("evaluate", esci_dev_csv, "--split", "valid", "--judge", judge, "--json",
                                   "--no-store").stdout)
        for judge in ("lexical", "majority")
    }
    assert figures["lexical"]["n"] == 1132
    assert figures["majority"]["alpha"] < 0 < figures["lexical"]["alpha"]
    assert figures["lexical"]["macro_f1"] > figures["majority"]["macro_f1"]
