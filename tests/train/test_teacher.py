"""A teacher's judgments become soft targets: matched by pair_id, else pair hash; a label alone is certainty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import ReljudgeError
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product
from reljudge.train.teacher import teacher_targets

ESCI = get_scheme("esci")


def test_judgments_are_matched_by_pair_id_else_hash_and_a_bare_label_is_certain():
    pairs = [Pair("q", Product(f"p{i}", f"title {i}"), query_id="q", pair_id=f"id{i}") for i in range(4)]
    judged = pd.DataFrame({
        "pair_id": ["id0", "", "id3", "elsewhere"],
        "pair_hash": ["", pairs[1].pair_hash, "", "x"],
        "label": ["E", "I", None, "S"],  # id3 left unscored
        "p_E": [0.5, np.nan, np.nan, 0.1], "p_S": [0.3, np.nan, np.nan, 0.9],
        "p_C": [0.0, np.nan, np.nan, 0.0], "p_I": [0.2, np.nan, np.nan, 0.0],
    })
    kept, proba = teacher_targets(judged, pairs, ESCI, "t.csv")
    assert [p.pair_id for p in kept] == ["id0", "id1"]  # id2 never judged, id3 unscored
    assert proba.tolist() == [[0.5, 0.3, 0.0, 0.2], [0.0, 0.0, 0.0, 1.0]]


def test_a_teacher_of_none_of_the_pairs_is_refused_naming_it():
    pairs = [Pair("q", Product("p", "t"), query_id="q", pair_id="a")]
    judged = pd.DataFrame({"pair_id": ["b"], "label": ["E"]})
    with pytest.raises(ReljudgeError, match="teacher t.csv: none of its judgments"):
        teacher_targets(judged, pairs, ESCI, "t.csv")
