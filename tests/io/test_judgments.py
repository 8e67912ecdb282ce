"""Judgment files: formats, round trips, TREC qrels through ir_measures, validation and atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import InputError
from reljudge.io import judgment_format, read_judgments, write_judgments
from reljudge.io.judgments import qrels_gains
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


def judgments_table() -> pd.DataFrame:
    return pd.DataFrame({
        "pair_id": ["101", "102", "103", "104"],
        "query_id": ["7", "7", "7", "8"],
        "query": ["usb c cable 6ft"] * 3 + ["cable usb c 2m"],
        "product_id": ["B0FAKEC001", "B0FAKEC002", "B0FAKEC003", "B0FAKEC001"],
        "label": ["E", "S", None, "I"],
        "p_E": [0.7, 1 / 3, np.nan, 0.05], "p_S": [0.2, 1 / 3, np.nan, 0.05],
        "p_C": [0.05, 1 / 6, np.nan, 0.1], "p_I": [0.05, 1 / 6, np.nan, 0.8],
        "judge": ["lexical"] * 4,
        "pair_hash": ["h1", "h2", "h3", "h4"],
        "reason": ["", "", "reply could not be parsed", ""],
    })


@pytest.mark.parametrize("name, fmt, expected", [
    ("j.parquet", None, "parquet"), ("j.CSV", None, "csv"), ("j.jsonl", None, "jsonl"), ("j.ndjson", None, "jsonl"),
    ("j.qrels", None, "trec-qrels"), ("j.trec", None, "trec-qrels"), ("j.txt", "trec-qrels", "trec-qrels"),
])
def test_judgment_format(name: str, fmt: str | None, expected: str) -> None:
    assert judgment_format(name, fmt) == expected


def test_judgment_format_errors() -> None:
    with pytest.raises(InputError, match="cannot tell the judgments format from the suffix '.txt'") as caught:
        judgment_format("out/j.txt")
    assert caught.value.file == "out/j.txt"
    with pytest.raises(InputError, match="unknown judgments format 'xlsx'"):
        judgment_format("j.csv", "xlsx")


@pytest.mark.parametrize("name", ["j.parquet", "j.csv", "j.jsonl"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    table = judgments_table()
    path = write_judgments(tmp_path / "deep" / "dir" / name, table, scheme=ESCI)
    back = read_judgments(path, scheme=ESCI)
    assert back["label"].tolist() == ["E", "S", None, "I"]
    for column in ("p_E", "p_S", "p_C", "p_I"):
        assert back[column].dtype == np.float64
        np.testing.assert_array_equal(back[column].to_numpy(), table[column].to_numpy())
    assert back["pair_id"].tolist() == table["pair_id"].tolist()
    assert back["reason"].tolist() == table["reason"].tolist()


def test_qrels_gains_are_integers() -> None:
    assert qrels_gains(ESCI) == {"E": 100, "S": 10, "C": 1, "I": 0}
    assert qrels_gains(get_scheme("graded:1-3")) == {"1": 0, "2": 1, "3": 2}
    assert qrels_gains(get_scheme("binary")) == {"0": 0, "1": 1}


def test_qrels_read_back_with_ir_measures(tmp_path: Path) -> None:
    ir_measures = pytest.importorskip("ir_measures")
    path = write_judgments(tmp_path / "judged.qrels", judgments_table(), scheme=ESCI)
    qrels = {(q.query_id, q.doc_id): q.relevance for q in ir_measures.read_trec_qrels(str(path))}
    # The unscored pair 103 is left out; ESCI gains are scaled by 100.
    assert qrels == {("7", "B0FAKEC001"): 100, ("7", "B0FAKEC002"): 10, ("8", "B0FAKEC001"): 0}


def test_graded_qrels(tmp_path: Path) -> None:
    ir_measures = pytest.importorskip("ir_measures")
    table = pd.DataFrame({"pair_id": ["a", "b"], "query_id": ["q1", "q1"], "product_id": ["p1", "p2"],
                          "label": ["3", "1"]})
    path = write_judgments(tmp_path / "judged.txt", table, scheme=get_scheme("graded:1-3"), fmt="trec-qrels")
    assert [(q.doc_id, q.relevance) for q in ir_measures.read_trec_qrels(str(path))] == [("p1", 2), ("p2", 0)]


def test_write_checks_the_table(tmp_path: Path) -> None:
    table = judgments_table()
    table.loc[1, "label"] = "Exact"
    with pytest.raises(InputError, match="label 'Exact' is not in scheme 'esci'") as caught:
        write_judgments(tmp_path / "j.csv", table, scheme=ESCI)
    assert (caught.value.row, caught.value.field) == (2, "label")
    with pytest.raises(InputError, match="no 'product_id' column"):
        write_judgments(tmp_path / "j.qrels", judgments_table().drop(columns="product_id"), scheme=ESCI)
    with pytest.raises(InputError, match="neither a 'pair_id' nor a 'pair_hash'"):
        write_judgments(tmp_path / "j.csv", judgments_table().drop(columns=["pair_id", "pair_hash"]), scheme=ESCI)
    table = judgments_table()
    table.loc[0, "product_id"] = "two words"
    with pytest.raises(InputError, match="cannot be a TREC qrels id") as caught:
        write_judgments(tmp_path / "j.qrels", table, scheme=ESCI)
    assert (caught.value.row, caught.value.field) == (1, "product_id")
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize("edit, row, field, message", [
    (lambda t: t.assign(label=["E", "S", "", "Q"]), 4, "label", "label 'Q' is not in scheme"),
    (lambda t: t.assign(p_E=["0.7", "high", "", "0.05"]), 2, "p_E", "probability high is not a number"),
])
def test_read_checks_rows(tmp_path: Path, edit, row: int, field: str, message: str) -> None:
    path = tmp_path / "j.csv"
    edit(judgments_table()).to_csv(path, index=False)
    with pytest.raises(InputError, match=message) as caught:
        read_judgments(path, scheme=ESCI)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), row, field)


def test_read_checks_columns(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    judgments_table().drop(columns="label").to_csv(path, index=False)
    with pytest.raises(InputError, match="missing column 'label'"):
        read_judgments(path, scheme=ESCI)
    judgments_table().drop(columns=["pair_id", "pair_hash"]).to_csv(path, index=False)
    with pytest.raises(InputError, match="missing column 'pair_id' or 'pair_hash'"):
        read_judgments(path, scheme=ESCI)
    write_judgments(path, judgments_table(), scheme=ESCI)
    with pytest.raises(InputError, match="'p_E' is for a label that is not in scheme 'graded:1-3'") as caught:
        read_judgments(path, scheme=get_scheme("graded:1-3"))
    assert caught.value.field == "p_E"
    with pytest.raises(InputError, match="TREC qrels keep only gains"):
        read_judgments(tmp_path / "j.qrels", scheme=ESCI)


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_judgments(tmp_path / "j.csv", judgments_table(), scheme=ESCI)
    before = path.read_bytes()

    def crash(self: pd.DataFrame, target: Path, **kwargs: object) -> None:
        Path(target).write_text("pair_id,label\n101,")  # half a file, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", crash)
    with pytest.raises(KeyboardInterrupt):
        write_judgments(path, judgments_table().iloc[:1], scheme=ESCI)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["j.csv"]  # no temporary file left behind
