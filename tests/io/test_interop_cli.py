"""`reljudge labels export|import` as a user runs them: the installed command, real files, a real store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from reljudge.io import read_annotations
from reljudge.labels import get_scheme

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAIRS = FIXTURES / "pairs.csv"


def reljudge(*args: object, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", *map(str, args)], capture_output=True,
                          text=True)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_export_judges_the_pairs_once_and_writes_each_format(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    tasks_path = tmp_path / "tasks.json"
    reljudge("labels", "export", PAIRS, "--judge", "lexical", "--format", "label-studio", "--output", tasks_path,
             "--label-config", tmp_path / "view.xml", "--store", store)
    tasks = json.loads(tasks_path.read_text())
    assert len(tasks) == 6 and {t["predictions"][0]["model_version"] for t in tasks} == {
        duckdb.connect(str(store), read_only=True).execute("SELECT DISTINCT judge FROM judgments").fetchall()[0][0]}
    assert all(0 < t["predictions"][0]["score"] <= 1 for t in tasks)
    for fmt in ("quepid", "srw", "qrels"):
        done = reljudge("labels", "export", PAIRS, "--judge", "lexical", "--format", fmt, "--output",
                        tmp_path / f"out.{fmt}", "--store", store)
        assert "wrote 6 labelled pairs" in done.stderr
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM judgments").fetchall()[0][0] == 6  # the store's cache answered again
    assert (tmp_path / "out.quepid").read_text().splitlines()[0] == "query,docid,rating"
    human = reljudge("labels", "export", PAIRS, "--human", "--format", "quepid", "--output", tmp_path / "h.csv",
                     "--no-store")
    assert "people's labels" in human.stderr
    assert pd.read_csv(tmp_path / "h.csv")["rating"].tolist() == [3, 2, 1, 3, 0, 1]  # E S C E I C


def test_label_studio_import_goes_to_the_store_and_to_long_form(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    long_form = tmp_path / "labels.csv"
    done = reljudge("labels", "import", FIXTURES / "interop" / "label_studio_export.json", "--format",
                    "label-studio", "--pairs", PAIRS, "--output", long_form, "--store", store)
    assert "read 4 labels by 3 annotator(s) of 3 pairs" in done.stderr
    annotations = read_annotations(long_form, scheme=get_scheme("esci"))
    assert sorted(annotations["annotator"]) == ["10", "10", "11", "ana@example.com"]
    con = duckdb.connect(str(store), read_only=True)
    rows = con.execute("SELECT p.product_id, h.annotator, h.label FROM human_labels h JOIN pairs p USING (pair_hash)"
                       " WHERE h.source LIKE '%label_studio_export.json' ORDER BY 1, 2").fetchall()
    assert rows == [("B0FAKE0001", "10", "E"), ("B0FAKE0001", "11", "S"), ("B0FAKE0003", "ana@example.com", "C"),
                    ("B0FAKE0005", "10", "I")]


def test_import_matches_the_stores_pairs_and_refuses_unknown_ones(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    reljudge("judge", PAIRS, "--judge", "lexical", "--output", tmp_path / "j.csv", "--store", store)
    reljudge("labels", "import", FIXTURES / "interop" / "quepid_book.json", "--format", "quepid-book",
             "--store", store)
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM human_labels WHERE source LIKE '%quepid_book.json'").fetchall() == [(3,)]
    con.close()
    unknown = tmp_path / "ratings.csv"
    unknown.write_text("query,docid,rating\nhammer,H1,3\n", encoding="utf-8")
    done = reljudge("labels", "import", unknown, "--format", "quepid", "--store", store, check=False)
    assert done.returncode == 2
    assert "1 of 1 ratings match no known pair, e.g. (query 'hammer', product 'H1')" in done.stderr


def test_a_labelling_queue_exports_as_label_studio_tasks(tmp_path: Path) -> None:
    store, unlabelled = tmp_path / "store.duckdb", tmp_path / "unlabelled.csv"
    pd.read_csv(PAIRS, dtype=str, keep_default_na=False).drop(columns="esci_label").to_csv(unlabelled, index=False)
    reljudge("queue", "add", unlabelled, "--name", "week-1", "--select", "random", "--n", "4", "--judge", "lexical",
             "--store", store)
    tasks_path = tmp_path / "tasks.json"
    reljudge("labels", "export", "--queue", "week-1", "--format", "label-studio", "--output", tasks_path,
             "--store", store)
    tasks = json.loads(tasks_path.read_text())
    assert len(tasks) == 4
    assert all(t["predictions"][0]["model_version"].startswith("lexical@") for t in tasks)
    assert all(t["data"]["query"] in ("cordless drill 20v", "wool socks women") for t in tasks)
    missing = reljudge("labels", "export", "--queue", "nope", "--format", "srw", "--output", tmp_path / "x.json",
                       "--store", store, check=False)
    assert missing.returncode == 2 and "--queue nope: no such queue" in missing.stderr
