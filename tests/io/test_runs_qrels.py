"""Readers of the experiment's files: runs, qrels, query tables, pilots and samples, and their error messages."""

from __future__ import annotations

import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.io.experiment import read_pilot, read_queries, read_sample, write_table
from reljudge.io.qrels import read_qrels
from reljudge.io.runs import ranked_lists, read_run, write_run
from reljudge.labels import get_scheme


def test_trec_run_is_read_in_rank_order(tmp_path):
    path = tmp_path / "arm.run"
    path.write_text("q1 Q0 b 2 0.5 t\nq1 Q0 a 1 0.9 t\n\nq2 Q0 c 1 0.1 t\n")
    run = read_run(path)
    assert ranked_lists(run) == {"q1": ["a", "b"], "q2": ["c"]}
    assert ranked_lists(run, k=1) == {"q1": ["a"], "q2": ["c"]}


def test_run_table_with_qid_docid_columns_round_trips_through_write_run(tmp_path):
    table = tmp_path / "arm.csv"
    pd.DataFrame({"qid": ["q1", "q1"], "docid": ["p2", "p1"], "rank": [2, 1]}).to_csv(table, index=False)
    run = read_run(table)
    write_run(tmp_path / "again.run", run)
    assert ranked_lists(read_run(tmp_path / "again.run")) == ranked_lists(run) == {"q1": ["p1", "p2"]}


@pytest.mark.parametrize(("text", "message"), [
    ("q1 Q0 a 1 0.9 t\nq1 Q0 b two 0.5 t\n", r"row 2, field 'rank': rank 'two' is not a positive integer"),
    ("q1 Q0 a 1.5 0.9 t\n", r"row 1, field 'rank': rank '1.5' is not a positive integer"),
    ("q1 Q0 a 1 0.9 t\nq1 Q0 a 2 0.5 t\n", r"row 2, field 'product_id': product 'a' appears twice for query 'q1'"),
    ("q1 Q0 a 1 0.9 t\nq1 Q0 b 1 0.5 t\n", r"row 2, field 'rank': rank 1 appears twice for query 'q1'"),
    ("q1 Q0 a 1 0.9\n", r"row 1: expected 6 fields"),
    ("", "no results"),
])
def test_bad_run_rows_are_named(tmp_path, text, message):
    path = tmp_path / "arm.run"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_run(path)


def test_run_table_missing_rank_column(tmp_path):
    path = tmp_path / "arm.csv"
    path.write_text("query_id,product_id\nq1,a\n")
    with pytest.raises(InputError, match="missing column 'rank'"):
        read_run(path)


def test_qrels_as_trec_gains_or_a_labelled_table(tmp_path):
    scheme = get_scheme("esci")
    trec = tmp_path / "h.qrels"
    trec.write_text("q1 0 a 100\nq1 0 b 10\nq1 0 c 1\nq1 0 d 0\n")
    assert read_qrels(trec, scheme=scheme)["label"].tolist() == ["E", "S", "C", "I"]
    table = tmp_path / "h.csv"
    table.write_text("query_id,product_id,esci_label,extra\nq1,a,E,x\nq1,b,substitute,y\n")
    assert read_qrels(table, scheme=scheme)["label"].tolist() == ["E", "S"]


def test_bad_qrels_are_named(tmp_path):
    scheme = get_scheme("esci")
    trec = tmp_path / "h.qrels"
    trec.write_text("q1 0 a 100\nq1 0 b 50\n")
    with pytest.raises(InputError, match=r"row 2, field 'relevance': relevance '50' is no gain"):
        read_qrels(trec, scheme=scheme)
    table = tmp_path / "h.csv"
    table.write_text("query_id,product_id,label\nq1,a,E\nq1,a,S\n")
    with pytest.raises(InputError, match=r"row 2, field 'product_id': pair \(q1, a\) is labelled twice"):
        read_qrels(table, scheme=scheme)


def test_query_table_checks_ids_and_numbers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("qid,count,source\nq1,10,a\nq2,007,b\n")
    queries = read_queries(path, numeric=["count"])
    assert queries["query_id"].tolist() == ["q1", "q2"] and queries["count"].tolist() == ["10", "007"]
    path.write_text("query_id,count\nq1,10\nq2,lots\n")
    with pytest.raises(InputError, match=r"row 2, field 'count': count 'lots' is not a number >= 0"):
        read_queries(path, numeric=["count"])
    path.write_text("query_id,count\nq1,10\nq1,3\n")
    with pytest.raises(InputError, match=r"row 2, field 'query_id': query id 'q1' appears twice"):
        read_queries(path)


def test_pilot_needs_a_stratum_and_sd_or_diff(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("stratum,diff\na,0.1\nb,-0.2\n")
    assert read_pilot(path)["diff"].tolist() == [0.1, -0.2]
    path.write_text("stratum,value\na,1\n")
    with pytest.raises(InputError, match="'sd'.*or 'diff'"):
        read_pilot(path)
    path.write_text("stratum,sd\na,-1\n")
    with pytest.raises(InputError, match=r"row 1, field 'sd'"):
        read_pilot(path)


def test_sample_defaults_and_checks(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("query_id\nq1\nq2\n")
    sample = read_sample(path)
    assert sample["stratum"].tolist() == ["all", "all"] and sample["weight"].tolist() == [1.0, 1.0]
    write_table(tmp_path / "s.parquet", sample[["query_id"]].assign(weight=[2.0, 0.0]))
    with pytest.raises(InputError, match=r"row 2, field 'weight': weight '0' is not a number > 0"):
        read_sample(tmp_path / "s.parquet")
    path.write_text("query_id,stratum,stratum_share\nq1,a,0.5\nq2,a,0.4\n")
    with pytest.raises(InputError, match=r"row 2, field 'stratum_share': stratum_share differs"):
        read_sample(path)


@pytest.mark.parametrize(("text", "message"), [
    ("q1 0 a 100\n\nq1 0 b 7\n", r"row 3, field 'relevance': relevance '7' is no gain of scheme 'esci'"),
    ("q1 0 a\n", r"row 1: expected 4 fields 'qid iteration docid relevance', found 3"),
    (b"q1 0 a 100\n\xff\n", r"not UTF-8 text"),
])
def test_bad_qrels_lines_are_named(tmp_path, text, message):
    path = tmp_path / "h.qrels"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError, match=message):
        read_qrels(path, scheme=get_scheme("esci"))
