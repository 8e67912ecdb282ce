"""The agreement view's figures, computed by hand: counts always, alpha only from 30 shared pairs."""

from __future__ import annotations

import pandas as pd
import pytest

from reljudge.labels import get_scheme
from reljudge.service.agreement import MIN_SHARED, queue_agreement

ESCI = get_scheme("esci")


def labels_frame(rows: list[tuple], judge: dict[int, tuple[str, float]]) -> pd.DataFrame:
    """rows: (item_id, annotator, label or None for can't judge); judge: item -> (label, its probability)."""
    return pd.DataFrame([{
        "item_id": item, "pair_id": f"p{item}", "annotator_id": who, "label": label, "cant_judge": label is None,
        "seconds": 3.0, "judge_label": judge[item][0],
        "judge_proba": [judge[item][1] if x == judge[item][0] else (1 - judge[item][1]) / 3 for x in "ESCI"],
        "query": f"query {item}", "title": f"title {item}",
    } for item, who, label in rows])


def test_few_shared_pairs_show_counts_and_exact_agreement_but_hide_alpha():
    rows = [(0, "ann", "E"), (0, "bob", "E"), (1, "ann", "E"), (1, "bob", "S"), (2, "ann", "S"), (2, "bob", "S"),
            (3, "ann", "I"), (4, "bob", None)]
    judge = {0: ("E", 0.9), 1: ("S", 0.8), 2: ("S", 0.6), 3: ("C", 0.7), 4: ("E", 0.5)}
    figures = queue_agreement(labels_frame(rows, judge), ESCI)
    among = figures["among"]
    assert among["n_shared"] == 3 and among["alpha"] is None
    assert among["exact"] == pytest.approx(2 / 3, abs=1e-4)
    assert among["confusion"] == [[2, 1, 0, 0], [1, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    # the people's majority: E, E (a tie goes to the label listed first), S, I; the judge: E, S, S, C
    judged = figures["judge"]
    assert judged["n"] == 4 and judged["alpha"] is None and judged["exact"] == 0.5
    assert judged["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]
    assert [row["item_id"] for row in figures["audit"]] == [1, 3]  # the judge at 0.8, then at 0.7
    assert figures["audit"][0]["people"] == {"ann": "E", "bob": "S"}
    assert figures["annotators"] == [
        {"annotator": "ann", "labels": 4, "cant_judge": 0, "median_seconds": 3.0},
        {"annotator": "bob", "labels": 3, "cant_judge": 1, "median_seconds": 3.0}]


def test_alpha_appears_from_thirty_shared_pairs():
    pattern = [("E", "E")] * 20 + [("S", "S")] * 6 + [("E", "S")] * 4
    rows = [(i, who, label) for i, pair in enumerate(pattern) for who, label in zip(("ann", "bob"), pair)]
    judge = {i: ("S" if pair == ("S", "S") else "E", 0.7) for i, pair in enumerate(pattern)}
    assert len(pattern) == MIN_SHARED
    figures = queue_agreement(labels_frame(rows, judge), ESCI)
    # coincidences: o_EE 40, o_SS 12, o_ES = o_SE 4; n_E 44, n_S 16, n 60
    # alpha = 1 - (n - 1) * (o_ES + o_SE) / (2 n_E n_S) = 1 - 59 * 8 / 1408
    assert figures["among"]["alpha"] == pytest.approx(1 - 59 * 8 / 1408, abs=1e-4)
    assert figures["among"]["exact"] == pytest.approx(26 / 30, abs=1e-4)
    assert figures["judge"]["alpha"] == 1.0  # the judge gives the majority label everywhere
