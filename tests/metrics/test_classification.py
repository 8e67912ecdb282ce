from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from reljudge.metrics.classification import (
    accuracy,
    accuracy_from_confusion,
    confusion,
    macro_f1,
    macro_f1_from_confusion,
    optimistic_error_share,
    optimistic_error_share_from_confusion,
    per_class,
)

LABELS = ("E", "S", "C", "I")
HUMAN = list("EESCII")
JUDGE = list("ESSCIE")


def test_accuracy_hand_computed():
    # agreements at positions 0, 2, 3, 4: 4/6
    assert accuracy(HUMAN, JUDGE) == pytest.approx(4 / 6)
    assert math.isnan(accuracy([], []))


def test_confusion_rows_human_columns_judge():
    # human E -> judge E, S; S -> S; C -> C; I -> I, E
    assert confusion(HUMAN, JUDGE, LABELS) == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]]
    assert confusion([], [], LABELS) == [[0] * 4] * 4


def test_per_class_hand_computed():
    result = per_class(HUMAN, JUDGE, LABELS)
    # E: TP 1, judge said E twice, humans said E twice: P 1/2, R 1/2, F1 1/2
    assert result["E"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # S: TP 1, judge S twice, human S once: P 1/2, R 1, F1 2*(1/2)/(3/2) = 2/3
    assert result["S"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert result["C"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    # I: TP 1, judge I once, human I twice: P 1, R 1/2, F1 2/3
    assert result["I"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert list(result) == list(LABELS)
    assert per_class([], [], LABELS)["E"]["support"] == 0


def test_macro_f1_hand_computed():
    # (1/2 + 2/3 + 1 + 2/3) / 4 = 17/24
    assert macro_f1(HUMAN, JUDGE, LABELS) == pytest.approx(17 / 24)


def test_macro_f1_leaves_out_labels_nobody_used():
    # only E and S occur: F1_E = 2*1/(2*1 + 0 + 1) = 2/3, F1_S = 0; mean over 2 labels, not 4: 1/3
    assert macro_f1(["E", "E"], ["E", "S"], LABELS) == pytest.approx(1 / 3)
    assert macro_f1(["E", "E"], ["E", "S"], LABELS) == pytest.approx(
        f1_score(["E", "E"], ["E", "S"], average="macro", zero_division=0))


def test_from_confusion_matches_sklearn_and_batches():
    rng = np.random.default_rng(3)
    human = [LABELS[i] for i in rng.integers(0, 4, 300)]
    judge = [LABELS[i] for i in rng.integers(0, 4, 300)]
    matrix = np.asarray(confusion(human, judge, LABELS))
    expected_f1 = f1_score(human, judge, labels=list(LABELS), average="macro", zero_division=0)
    assert macro_f1_from_confusion(matrix) == pytest.approx(expected_f1)
    assert accuracy_from_confusion(matrix) == pytest.approx(accuracy(human, judge))
    empty = np.zeros((4, 4))
    assert np.isnan(accuracy_from_confusion(np.stack([matrix, empty]))).tolist() == [False, True]
    assert macro_f1_from_confusion(np.stack([matrix, matrix])) == pytest.approx([expected_f1, expected_f1])


def test_optimistic_error_share_hand_computed():
    # HUMAN E E S C I I vs JUDGE E S S C I E: errors (E->S) ranks below the human, (I->E) above: 1 of 2
    assert optimistic_error_share(HUMAN, JUDGE, LABELS, (1.0, 0.1, 0.01, 0.0)) == pytest.approx(0.5)
    # C -> S, I -> C, E -> I, S -> E: 3 of 4 errors rank above the human (ESCI: E > S > C > I)
    assert optimistic_error_share(list("CIES"), list("SCIE"), LABELS, (1.0, 0.1, 0.01, 0.0)) == pytest.approx(0.75)
    assert math.isnan(optimistic_error_share(list("ES"), list("ES"), LABELS, (1.0, 0.1, 0.01, 0.0)))


def test_optimistic_error_share_follows_the_gains_of_a_graded_scale():
    # graded 1-3: labels ascend, gains 0, 1, 2. 1 -> 3 above, 3 -> 2 below, 2 -> 3 above: 2/3
    assert optimistic_error_share(list("132"), list("323"), ("1", "2", "3"), (0.0, 1.0, 2.0)) == pytest.approx(2 / 3)


def test_optimistic_error_share_from_confusion_is_batched():
    gains = (1.0, 0.1, 0.01, 0.0)
    single = np.asarray(confusion(HUMAN, JUDGE, LABELS))
    no_errors = np.diag([1, 2, 0, 0])
    batch = optimistic_error_share_from_confusion(np.stack([single, no_errors]), gains)
    assert batch[0] == pytest.approx(0.5) and np.isnan(batch[1])
