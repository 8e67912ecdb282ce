from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import SchemeError
from reljudge.labels import get_scheme
from reljudge.metrics.agreement import (
    aggregate_labels,
    alpha,
    alpha_from_confusion,
    annotator_agreement,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from reljudge.metrics.classification import confusion

NAN = np.nan
ESCI = get_scheme("esci")

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units example with
# missing values (also the "C" data of R's irr::kripp.alpha and the krippendorff package's docstring).
# Published: nominal 0.743, ordinal 0.815, interval 0.849.
PAPER_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]

# The 3 coders x 15 units example of the krippendorff package's tests (Wikipedia's computational example):
# nominal 0.691, interval 0.811.
PACKAGE_EXAMPLE = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]


@pytest.mark.parametrize(("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_2011_worked_example(level, expected):
    assert round(krippendorff_alpha(PAPER_2011, level), 3) == expected


@pytest.mark.parametrize(("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_worked_example_as_string_labels_of_a_graded_scheme(level, expected):
    # the same data as labels "1".."5" with None for missing: mapped to their index in the domain, the spacing is
    # the same, so every level gives the published value
    labels = [[None if isinstance(v, float) and math.isnan(v) else str(int(v)) for v in row] for row in PAPER_2011]
    assert round(krippendorff_alpha(labels, level, ["1", "2", "3", "4", "5"]), 3) == expected


@pytest.mark.parametrize(("level", "expected"), [("nominal", 0.691), ("interval", 0.811)])
def test_krippendorff_package_example(level, expected):
    assert round(krippendorff_alpha(PACKAGE_EXAMPLE, level), 3) == expected


def test_judge_beside_human_hand_computed():
    # units (human, judge): (E,E) (E,S) (S,S) (I,I). Coincidences: o_EE=2, o_ES=o_SE=1, o_SS=2, o_II=2;
    # n_E=3, n_S=3, n_I=2, n=8. alpha = 1 - (n-1) sum_{c!=k} o_ck / sum_{c!=k} n_c n_k
    #                                  = 1 - 7*2 / (64 - 9 - 9 - 4) = 1 - 14/42 = 2/3
    assert alpha(list("EESI"), list("ESSI"), ESCI) == pytest.approx(2 / 3)


def test_constant_judge_against_varied_humans_is_negative():
    # human E,S,C,I; judge always E. o_EE=2 and one E-x coincidence each way for x in S,C,I: sum_{c!=k} o = 6;
    # n_E=5, n_S=n_C=n_I=1, n=8: sum_{c!=k} n_c n_k = 64 - 25 - 3 = 36. alpha = 1 - 7*6/36 = -1/6
    assert alpha(list("ESCI"), list("EEEE"), ESCI) == pytest.approx(-1 / 6)


def test_perfect_agreement_is_one():
    assert alpha(list("ESCIE"), list("ESCIE"), ESCI) == 1.0


def test_undefined_alpha_is_nan_not_an_error():
    assert math.isnan(alpha(list("EE"), list("EE"), ESCI))  # one value only: D_e = 0
    assert math.isnan(alpha(["E", "S"], [None, None], ESCI))  # no unit coded twice
    assert math.isnan(krippendorff_alpha([[1.0, NAN], [NAN, 2.0]], "nominal"))


def test_unscored_judge_pairs_drop_out():
    assert alpha(list("EESI") + ["C"], list("ESSI") + [None], ESCI) == pytest.approx(2 / 3)


@pytest.mark.parametrize(("level", "expected"), [
    # human 1,2,3 vs judge 1,3,3 on graded:1-3. o_11=2, o_23=o_32=1, o_33=2; n_1=2, n_2=1, n_3=3, n=6.
    # nominal: 1 - 5*2 / (36 - 4 - 1 - 9) = 1 - 10/22 = 12/22
    ("nominal", 12 / 22),
    # ordinal: d_12=(2+1-1.5)^2=2.25, d_13=(6-2.5)^2=12.25, d_23=(1+3-2)^2=4;
    # sum o d = 2*4 = 8; sum n_c n_k d = 2*(2*1*2.25 + 2*3*12.25 + 1*3*4) = 180; 1 - 5*8/180 = 7/9
    ("ordinal", 7 / 9),
    # interval: d = (c-k)^2; sum o d = 2; sum n_c n_k d = 2*(2*1*1 + 2*3*4 + 1*3*1) = 58; 1 - 5*2/58 = 48/58
    ("interval", 48 / 58),
])
def test_levels_on_a_graded_scale(level, expected):
    scheme = get_scheme("graded:1-3", level)
    assert alpha(["1", "2", "3"], ["1", "3", "3"], scheme) == pytest.approx(expected)


def test_label_order_matters_for_ordinal():
    # disagreements 1-2 and 2-3 are near misses on 1 < 2 < 3 but 1-2 is the widest gap on 1 < 3 < 2
    human, judge = ["1", "2", "3", "1"], ["2", "3", "3", "1"]
    natural = krippendorff_alpha([human, judge], "ordinal", ["1", "2", "3"])
    shuffled = krippendorff_alpha([human, judge], "ordinal", ["1", "3", "2"])
    assert natural > shuffled + 0.5
    assert krippendorff_alpha([human, judge], "nominal", ["1", "2", "3"]) == pytest.approx(
        krippendorff_alpha([human, judge], "nominal", ["1", "3", "2"]))


def test_strings_need_a_domain_at_ordered_levels_and_unknown_labels_fail():
    with pytest.raises(SchemeError):
        krippendorff_alpha([["1", "2"], ["1", "2"]], "ordinal")
    with pytest.raises(SchemeError, match="X"):
        alpha(["E", "X"], ["E", "S"], ESCI)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_from_confusion_matches_the_package(level):
    rng = np.random.default_rng(7)
    labels = ["0", "1", "2", "3"]
    human = rng.integers(0, 4, 200)
    judge = np.where(rng.random(200) < 0.6, human, rng.integers(0, 4, 200))
    h, j = [labels[i] for i in human], [labels[i] for i in judge]
    expected = krippendorff_alpha([h, j], level, labels)
    matrix = np.asarray(confusion(h, j, labels))
    assert alpha_from_confusion(matrix, level) == pytest.approx(expected)
    # batched: swapping the coders (transpose) changes nothing; a matrix holding one value only is undefined
    batched = alpha_from_confusion(np.stack([matrix, matrix.T, np.diag([5, 0, 0, 0])]), level)
    assert batched.shape == (3,)
    assert batched[:2] == pytest.approx([expected, expected]) and math.isnan(batched[2])


def test_cohen_kappa_hand_computed():
    # y_true E,E,S,C,I,I / y_pred E,S,S,C,I,E: p_o = 4/6; human counts E2 S1 C1 I2, judge E2 S2 C1 I1:
    # p_e = (2*2 + 1*2 + 1*1 + 2*1) / 36 = 9/36; kappa = (4/6 - 1/4) / (3/4) = 5/9
    assert cohen_kappa(list("EESCII"), list("ESSCIE"), ESCI.labels) == pytest.approx(5 / 9)
    assert math.isnan(cohen_kappa(list("EE"), list("EE"), ESCI.labels))
    assert math.isnan(cohen_kappa([], [], ESCI.labels))


def test_percent_agreement_skips_missing():
    assert percent_agreement(list("EESI"), ["E", "S", None, "I"]) == pytest.approx(2 / 3)
    assert math.isnan(percent_agreement(["E"], [None]))


ANNOTATIONS = pd.DataFrame({
    "pair_id": ["p1", "p1", "p1", "p2", "p2", "p3", "p4", "p4"],
    "annotator": ["a", "b", "c", "a", "b", "a", "a", "c"],
    "label": ["exact", "E", "S", "S", "S", "I", "I", "S"],
})


def test_annotator_agreement_hand_computed():
    result = annotator_agreement(ANNOTATIONS[ANNOTATIONS["pair_id"] != "p4"], ESCI)
    # p1 {E:2, S:1}, p2 {S:2}, p3 {I:1} (unpairable).
    # coincidences: p1 (m=3): o_EE = 2*1/2 = 1, o_ES = o_SE = 2*1/2 = 1; p2 (m=2): o_SS = 2*1/1 = 2.
    # n_E = 2, n_S = 3, n = 5: alpha = 1 - 4 * 2 / (2*2*3) = 1/3
    assert result["alpha"] == pytest.approx(1 / 3)
    # pairwise agreement: p1 (2*1 + 1*0) / (3*2) = 1/3, p2 (2*1)/(2*1) = 1; mean 2/3
    assert result["percent_agreement"] == pytest.approx(2 / 3)
    assert (result["n_pairs"], result["n_multi"], result["n_annotators"], result["level"]) == (3, 2, 3, "nominal")


def test_annotator_repeats_count_once():
    repeated = pd.concat([ANNOTATIONS, pd.DataFrame({"pair_id": ["p2"], "annotator": ["a"], "label": ["I"]})])
    assert annotator_agreement(repeated, ESCI) == annotator_agreement(ANNOTATIONS, ESCI)


def test_aggregate_labels_majority_and_ties_in_scheme_order():
    result = aggregate_labels(ANNOTATIONS, ESCI)
    assert list(result.columns) == ["pair_id", "label", "n_annotators"]
    # p1 E (2 votes to 1); p2 S; p3 I; p4 tie I/S -> S, the label listed first in E, S, C, I
    assert result["pair_id"].tolist() == ["p1", "p2", "p3", "p4"]
    assert result["label"].tolist() == ["E", "S", "I", "S"]
    assert result["n_annotators"].tolist() == [3, 2, 1, 2]
    # the same votes in another row order give the same labels
    shuffled = aggregate_labels(ANNOTATIONS.iloc[::-1], ESCI).set_index("pair_id").loc[["p1", "p2", "p3", "p4"]]
    assert shuffled["label"].tolist() == ["E", "S", "I", "S"]


def test_aggregate_graded_tie_goes_to_the_lower_grade():
    votes = pd.DataFrame({"pair_id": ["p", "p"], "annotator": ["a", "b"], "label": [3, 1]})
    assert aggregate_labels(votes, get_scheme("graded:1-3"))["label"].tolist() == ["1"]
