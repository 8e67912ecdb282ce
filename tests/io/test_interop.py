"""Label Studio, Quepid and OpenSearch SRW files: read as each tool writes them (fixtures written by hand from the
tools' documentation), and written then read back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reljudge.errors import InputError, SchemeError
from reljudge.io.interop import label_of, match_pairs, rating_of
from reljudge.io.label_formats import read_labels, write_labels
from reljudge.io.label_studio import FROM_NAME, TO_NAME, label_config, label_studio_tasks, read_label_studio
from reljudge.io.quepid import read_quepid_book, read_quepid_ratings
from reljudge.io.srw import read_srw, srw_judgments
from reljudge.labels import get_scheme

INTEROP = Path(__file__).resolve().parents[1] / "fixtures" / "interop"
ESCI = get_scheme("esci")


def _triples(frame: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    return list(frame[["query", "product_id", "annotator", "label"]].itertuples(index=False, name=None))


def test_ratings_follow_the_scale_of_each_scheme() -> None:
    assert [rating_of(x, ESCI) for x in "ESCI"] == [3, 2, 1, 0]
    assert [label_of(r, ESCI) for r in ("3", 2.0, "1.000", 0)] == ["E", "S", "C", "I"]
    graded = get_scheme("graded:1-3")
    assert [rating_of(x, graded) for x in ("1", "2", "3")] == [1, 2, 3]
    assert label_of("3.000", graded) == "3"
    assert [rating_of(x, get_scheme("binary")) for x in ("0", "1")] == [0, 1]
    with pytest.raises(SchemeError, match="outside scheme 'esci'"):
        label_of(4, ESCI)
    with pytest.raises(SchemeError, match="not a whole number"):
        label_of("2.5", ESCI)


def test_label_studio_export_is_read_with_its_annotators() -> None:
    frame = read_label_studio(INTEROP / "label_studio_export.json", scheme=ESCI)
    assert _triples(frame) == [
        ("cordless drill 20v", "B0FAKE0001", "10", "E"),
        ("cordless drill 20v", "B0FAKE0001", "11", "S"),
        ("Cordless  Drill 20V", "B0FAKE0003", "ana@example.com", "C"),  # an older export's user object
        ("wool socks women", "B0FAKE0005", "10", "I"),  # the cancelled annotation and the empty task are left out
    ]


def test_quepid_ratings_csv_and_book_are_read() -> None:
    ratings = read_quepid_ratings(INTEROP / "quepid_ratings.csv", scheme=ESCI)
    assert _triples(ratings) == [
        ("cordless drill 20v", "B0FAKE0001", "quepid", "E"), ("cordless drill 20v", "B0FAKE0002", "quepid", "S"),
        ("cordless drill 20v", "B0FAKE0003", "quepid", "C"), ("wool socks women", "B0FAKE0004", "quepid", "E"),
        ("wool socks women", "B0FAKE0005", "quepid", "I"),
    ]  # the query without ratings is skipped
    book = read_quepid_book(INTEROP / "quepid_book.json", scheme=ESCI)
    assert _triples(book) == [
        ("cordless drill 20v", "B0FAKE0001", "ana@example.com", "E"),
        ("cordless drill 20v", "B0FAKE0001", "bo@example.com", "S"),
        ("cordless drill 20v", "B0FAKE0003", "ana@example.com", "C"),
    ]  # unrateable and judge-later judgements carry no label


def test_srw_judgment_list_is_read() -> None:
    frame = read_srw(INTEROP / "srw_judgments.json", scheme=ESCI)
    assert _triples(frame)[:3] == [("cordless drill 20v", "B0FAKE0001", "srw", "E"),
                                   ("cordless drill 20v", "B0FAKE0002", "srw", "S"),
                                   ("cordless drill 20v", "B0FAKE0003", "srw", "C")]
    assert len(frame) == 5


def test_a_rating_outside_the_scheme_names_file_row_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "ratings.csv"
    bad.write_text("query,docid,rating\ndrill,D1,3\ndrill,D2,7\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"ratings.csv, row 2, field 'rating': rating '7' is outside scheme 'esci'"):
        read_quepid_ratings(bad, scheme=ESCI)
    with pytest.raises(InputError, match="missing column 'docid'"):
        (tmp_path / "x.csv").write_text("query,doc,rating\na,b,1\n", encoding="utf-8")
        read_quepid_ratings(tmp_path / "x.csv", scheme=ESCI)
    (tmp_path / "ls.json").write_text(json.dumps([{"data": {"query": "q"}, "annotations": [
        {"completed_by": 1, "result": [{"type": "choices", "value": {"choices": ["Relevant-ish"]}}]}]}]))
    with pytest.raises(InputError, match=r"ls.json, row 1, field 'annotations.result.value.choices'"):
        read_label_studio(tmp_path / "ls.json", scheme=ESCI)


def _judged_table() -> pd.DataFrame:
    """What `labels export` hands the writers: a judged pairs table with product fields."""
    return pd.DataFrame({
        "pair_id": ["p1", "p2", "p3", "p4"], "pair_hash": ["h1", "h2", "h3", "h4"],
        "query_id": ["q1", "q1", "q2", "q2"], "query": ["drill 20v", "drill 20v", "wool socks", "wool socks"],
        "product_id": ["D1", "D2", "S1", "S2"], "title": ["Drill <b>20V</b>", "Bits", "Merino socks", "Rack"],
        "label": ["E", "C", "S", None],
        "p_E": [0.7, 0.1, 0.2, float("nan")], "p_S": [0.1, 0.2, 0.5, float("nan")],
        "p_C": [0.1, 0.6, 0.2, float("nan")], "p_I": [0.1, 0.1, 0.1, float("nan")],
        "judge": ["lexical@abc", "lexical@abc", "lexical@abc", "lexical@abc"],
    })


def test_label_studio_tasks_carry_the_judge_as_prediction_and_come_back_as_annotations() -> None:
    table = _judged_table()
    tasks = label_studio_tasks(table, ESCI)
    first = tasks[0]
    assert first["data"]["pair_id"] == "p1" and first["data"]["title"] == "Drill <b>20V</b>"
    assert first["predictions"] == [{"model_version": "lexical@abc", "score": 0.7, "result": [
        {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": ["E"]}}]}]
    assert "predictions" not in tasks[3]  # unscored: no pre-label
    config = label_config(ESCI)
    assert f'<Choices name="{FROM_NAME}" toName="{TO_NAME}"' in config and f'<Text name="{TO_NAME}"' in config
    # annotators in Label Studio label the tasks; its export keeps the task data and adds annotations
    for n, task in enumerate(tasks):
        task["id"] = n + 1
        task["annotations"] = [{"id": 100 + n, "completed_by": 7, "was_cancelled": False, "task": n + 1,
                                "result": [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                                            "value": {"choices": [["S", "C", "S", "I"][n]]}}]}]
    back = read_labels("label-studio", _write(tasks), scheme=ESCI)
    assert list(zip(back["pair_id"], back["annotator"], back["label"])) == [
        ("p1", "7", "S"), ("p2", "7", "C"), ("p3", "7", "S"), ("p4", "7", "I")]


def _write(payload: object) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "export.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["quepid", "srw", "qrels"])
@pytest.mark.parametrize("scheme_name", ["esci", "graded:0-3", "binary"])
def test_ratings_round_trip(tmp_path: Path, fmt: str, scheme_name: str) -> None:
    scheme = get_scheme(scheme_name)
    table = _judged_table()
    table["label"] = [scheme.labels[-1], scheme.labels[0], scheme.labels[-1], None]
    path = write_labels(fmt, tmp_path / f"out.{fmt}", table, scheme=scheme, name="daily")
    back = read_labels(fmt, path, scheme=scheme)
    key = "query_id" if fmt == "qrels" else "query"
    assert list(zip(back[key], back["product_id"], back["label"])) == list(
        zip(table[key][:3], table["product_id"][:3], table["label"][:3]))


def test_srw_body_is_the_import_request() -> None:
    body = srw_judgments(_judged_table(), scheme=ESCI, name="daily", description="lexical judge")
    assert body == {"name": "daily", "description": "lexical judge", "type": "IMPORT_JUDGMENT", "judgmentRatings": [
        {"query": "drill 20v", "ratings": [{"docId": "D1", "rating": "3.000"}, {"docId": "D2", "rating": "1.000"}]},
        {"query": "wool socks", "ratings": [{"docId": "S1", "rating": "2.000"}]}]}


def test_ratings_match_pairs_by_id_by_normalised_query_or_by_query_id() -> None:
    pairs = pd.DataFrame({"pair_id": ["a", "b"], "pair_hash": ["ha", "hb"], "query_id": ["q1", "q1"],
                          "query": ["cordless drill 20v", "cordless drill 20v"], "product_id": ["D1", "D2"]})
    ratings = pd.DataFrame({"pair_id": ["", "", "b"], "query_id": ["", "q1", ""],
                            "query": ["Cordless  DRILL 20v", "", ""], "product_id": ["D1", "D2", "zz"],
                            "annotator": ["x", "x", "x"], "label": ["E", "S", "C"]})
    matched = match_pairs(ratings, pairs, "r.csv")
    assert list(matched["pair_hash"]) == ["ha", "hb", "hb"]
    ratings.loc[1, "query_id"] = "q9"
    with pytest.raises(InputError, match=r"r.csv: 1 of 3 ratings match no known pair, e.g. \(query_id 'q9', "
                                         r"product 'D2'\)"):
        match_pairs(ratings, pairs, "r.csv")
