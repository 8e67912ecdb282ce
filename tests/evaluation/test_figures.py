from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from reljudge.errors import ReljudgeError, SchemeError
from reljudge.evaluation import evaluate_frame
from reljudge.labels import get_scheme

ESCI = get_scheme("esci")


@pytest.fixture
def frame() -> pd.DataFrame:
    # three queries; q3's last pair is unscored. Compared pairs (human, judge):
    # q1 (E,E) (E,S) | q2 (S,S) (C,C) | q3 (I,I) (I,E)
    return pd.DataFrame({
        "pair_id": ["a1", "a2", "b1", "b2", "c1", "c2", "c3"],
        "query_id": ["q1", "q1", "q2", "q2", "q3", "q3", "q3"],
        "human": ["E", "exact", "S", "C", "I", "I", "S"],
        "label": ["E", "S", "S", "C", "I", "E", None],
        "source": ["x", "x", "x", "x", "y", "y", "y"],
    })


def test_headline_figures_hand_computed(frame):
    report = evaluate_frame(frame, ESCI)
    assert (report["n"], report["n_unscored"], report["n_unlabelled"]) == (6, 1, 0)
    assert report["labels"] == ["E", "S", "C", "I"] and report["level"] == "nominal"
    assert report["accuracy"] == pytest.approx(4 / 6)
    # confusion C: rows human E,S,C,I; o = C + C^T has o_EE=2, o_SS=2, o_CC=2, o_II=2, o_ES=o_SE=1, o_EI=o_IE=1
    # n_E=4, n_S=3, n_C=2, n_I=3, n=12: alpha = 1 - 11 * 4 / (144 - 16 - 9 - 4 - 9) = 1 - 44/106 = 62/106
    assert report["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]]
    assert report["alpha"] == pytest.approx(62 / 106)
    # F1: E 1/2, S 2/3, C 1, I 2/3 -> 17/24; kappa (4/6 - 9/36) / (1 - 9/36) = 5/9
    assert report["macro_f1"] == pytest.approx(17 / 24)
    assert report["cohen_kappa"] == pytest.approx(5 / 9)
    assert report["per_class"]["S"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert report["human_distribution"] == {"E": 2, "S": 1, "C": 1, "I": 2}
    assert report["predicted_distribution"] == {"E": 2, "S": 2, "C": 1, "I": 1}
    assert report["ece"] is None and report["brier"] is None
    assert "ci" not in report and "by" not in report and "humans" not in report


def test_gain_r_and_worth_hand_computed():
    # graded 1-3 gains 0, 1, 2. Without probabilities the judge scores its label's gain: 0, 2, 1, 2 against the
    # human gains 0, 1, 2, 2. Both mean 5/4; deviations -5/4 3/4 -1/4 3/4 and -5/4 -1/4 3/4 3/4: sum of products
    # (25 - 3 - 3 + 9) / 16 = 28/16, sums of squares (25 + 9 + 1 + 9) / 16 = 44/16: r = 7/11, worth 121/72
    frame = pd.DataFrame({"query_id": ["q"] * 4, "human": ["1", "2", "3", "3"], "label": ["1", "3", "2", "3"]})
    report = evaluate_frame(frame, get_scheme("graded:1-3"))
    assert report["gain_r"] == pytest.approx(7 / 11) and report["worth"] == pytest.approx(121 / 72)
    assert list(report)[list(report).index("alpha"):][:3] == ["alpha", "gain_r", "worth"]


def test_gain_r_and_worth_by_segment(frame):
    segments = evaluate_frame(frame, ESCI, by=["source"])["by"]["source"]
    # x: (E,E) (E,S) (S,S) (C,C), judged grades 3, 2, 2, 1 against human grades 3, 3, 2, 1 (not the KDD gains)
    r = np.corrcoef([3, 2, 2, 1], [3, 3, 2, 1])[0, 1]
    assert segments["x"]["gain_r"] == pytest.approx(r) and segments["x"]["worth"] == pytest.approx(1 / (1 - r * r))
    # y: the humans say I of both compared pairs: no r, and no worth (not 1)
    assert segments["y"]["gain_r"] is None and segments["y"]["worth"] is None


def test_by_segment(frame):
    report = evaluate_frame(frame, ESCI, by=["source"])
    x, y = report["by"]["source"]["x"], report["by"]["source"]["y"]
    # x: (E,E) (E,S) (S,S) (C,C): accuracy 3/4; o_EE=2, o_ES=o_SE=1, o_SS=2, o_CC=2; n_E=3, n_S=3, n_C=2, n=8:
    # alpha = 1 - 7*2 / (64 - 9 - 9 - 4) = 2/3
    assert (x["n"], x["n_unscored"]) == (4, 0)
    assert x["accuracy"] == pytest.approx(0.75) and x["alpha"] == pytest.approx(2 / 3)
    # y: (I,I) (I,E) and one unscored: accuracy 1/2; o_II=2, o_IE=o_EI=1; n_I=3, n_E=1, n=4: 1 - 3*2/6 = 0
    assert (y["n"], y["n_unscored"]) == (2, 1)
    assert y["accuracy"] == pytest.approx(0.5) and y["alpha"] == pytest.approx(0.0)
    assert y["confusion"][3] == [1, 0, 0, 1]


def test_missing_segment_values_get_their_own_key(frame):
    frame.loc[0, "source"] = None
    assert set(evaluate_frame(frame, ESCI, by=["source"])["by"]["source"]) == {"x", "y", "(missing)"}


def test_probabilities_give_ece_and_brier(frame):
    # the judge is certain of its label: ECE = 1 - accuracy = 1/3, Brier = 2 per wrong pair = 2*2/6 = 2/3
    for label in ESCI.labels:
        frame[f"p_{label}"] = (frame["label"] == label).astype(float).where(frame["label"].notna())
    report = evaluate_frame(frame, ESCI)
    assert report["ece"] == pytest.approx(1 / 3)
    assert report["brier"] == pytest.approx(2 / 3)


def test_all_nan_probabilities_are_absent(frame):
    for label in ESCI.labels:
        frame[f"p_{label}"] = np.nan
    assert evaluate_frame(frame, ESCI)["ece"] is None


def test_bootstrap_resamples_queries_not_pairs():
    # q1: 10 pairs all right, q2: 10 pairs all wrong. Resampling 2 queries gives accuracy 0, 1/2 or 1 only,
    # with probability 1/4, 1/2, 1/4: the 95% interval is [0, 1]. Resampling the 20 pairs instead would give
    # roughly [0.28, 0.72].
    frame = pd.DataFrame({
        "query_id": ["q1"] * 10 + ["q2"] * 10,
        "human": ["E"] * 10 + ["I"] * 10,
        "label": ["E"] * 10 + ["E"] * 10,
    })
    report = evaluate_frame(frame, ESCI, bootstrap=500, seed=3)
    assert report["ci"]["accuracy"] == [0.0, 1.0]
    assert report["bootstrap"] == {"n_resamples": 500, "seed": 3, "unit": "query_id", "confidence": 0.95,
                                   "n_queries": 2}
    # all q1 (or all q2): one value only, alpha undefined; such resamples are left out of the interval
    assert list(report["ci"]) == ["alpha", "gain_r", "worth", "accuracy", "macro_f1", "optimistic_error_share"]
    # a judge of one label has no r in any resample
    assert report["ci"]["gain_r"] == report["ci"]["worth"] == [None, None]
    # every error (q2's I judged E) ranks above the human; all-q1 resamples have no error and are left out
    assert report["ci"]["optimistic_error_share"] == [1.0, 1.0]


def test_bootstrap_is_reproducible_and_has_width(frame):
    first = evaluate_frame(frame, ESCI, bootstrap=300, seed=11)
    again = evaluate_frame(frame, ESCI, bootstrap=300, seed=11)
    assert first["ci"] == again["ci"]
    for name in ("alpha", "accuracy", "macro_f1"):
        lo, hi = first["ci"][name]
        assert lo < hi


def test_bootstrap_with_probabilities_adds_calibration_intervals(frame):
    for label in ESCI.labels:
        frame[f"p_{label}"] = (frame["label"] == label).astype(float).where(frame["label"].notna())
    assert set(evaluate_frame(frame, ESCI, bootstrap=50)["ci"]) == {"alpha", "gain_r", "worth", "accuracy",
                                                                     "macro_f1", "optimistic_error_share", "ece",
                                                                     "brier"}


def test_bootstrap_of_a_realistic_size_is_fast():
    import time

    rng = np.random.default_rng(0)
    n = 1100
    human = rng.integers(0, 4, n)
    judge = np.where(rng.random(n) < 0.7, human, rng.integers(0, 4, n))
    proba = rng.dirichlet(np.ones(4), n)
    labels = np.array(ESCI.labels)
    frame = pd.DataFrame({"query_id": rng.integers(0, 27, n), "human": labels[human], "label": labels[judge],
                          **{f"p_{label}": proba[:, i] for i, label in enumerate(ESCI.labels)}})
    start = time.perf_counter()
    report = evaluate_frame(frame, ESCI, bootstrap=1000, seed=0)
    assert time.perf_counter() - start < 5
    lo, hi = report["ci"]["alpha"]
    assert lo < report["alpha"] < hi


def test_json_ready_with_undefined_figures(frame):
    # segment z: two pairs, E by humans and judge alike; with one value only alpha and kappa are undefined
    frame["one"] = ["z", "z", "w", "w", "w", "w", "w"]
    frame.loc[[0, 1], ["human", "label"]] = "E"
    report = evaluate_frame(frame, ESCI, by=["one"], bootstrap=20)
    z = report["by"]["one"]["z"]
    assert z["alpha"] is None and z["cohen_kappa"] is None and z["accuracy"] == 1.0
    json.dumps(report, allow_nan=False)


def test_nothing_to_compare_gives_none_not_a_crash():
    # regression: an empty comparison once crashed alpha, which took the label domain for numbers
    unscored = pd.DataFrame({"query_id": ["q", "q"], "human": ["E", "S"], "label": [None, None], "seg": [1, 2]})
    report = evaluate_frame(unscored, ESCI, by=["seg"], bootstrap=10)
    assert (report["n"], report["n_unscored"], report["ci"]) == (0, 2, {})
    assert report["alpha"] is None and report["accuracy"] is None and report["by"]["seg"]["1"]["n_unscored"] == 1
    assert report["confusion"] == [[0] * 4] * 4
    json.dumps(report, allow_nan=False)


def test_humans_agreement_on_the_frames_pairs(frame):
    annotations = pd.DataFrame({
        "pair_id": ["a1", "a1", "b1", "b1", "zz", "zz"],
        "annotator": ["u", "v", "u", "v", "u", "v"],
        "label": ["E", "E", "S", "C", "I", "E"],
    })
    humans = evaluate_frame(frame, ESCI, annotations=annotations)["humans"]
    # pair zz is not in the frame and is left out: a1 agrees, b1 does not -> percent agreement 1/2
    assert humans["n_pairs"] == 2 and humans["n_multi"] == 2 and humans["n_annotators"] == 2
    assert humans["percent_agreement"] == pytest.approx(0.5)
    # o_EE=2, o_SC=o_CS=1; n_E=2, n_S=1, n_C=1, n=4: 1 - 3*2 / (16 - 4 - 1 - 1) = 0.4
    assert humans["alpha"] == pytest.approx(0.4)


def test_bad_input_is_reported(frame):
    with pytest.raises(ReljudgeError, match="segment"):
        evaluate_frame(frame, ESCI, by=["segment"])
    with pytest.raises(ReljudgeError, match="p_S"):
        evaluate_frame(frame.assign(p_E=1.0), ESCI)
    with pytest.raises(ReljudgeError, match="pair_id"):
        evaluate_frame(frame.drop(columns="pair_id"), ESCI, annotations=pd.DataFrame())
    with pytest.raises(SchemeError, match="maybe"):
        evaluate_frame(frame.assign(label="maybe"), ESCI)


def test_graded_scheme_uses_its_level():
    frame = pd.DataFrame({"query_id": ["q"] * 3, "human": [1, 2, 3], "label": ["1", "3", "3"]})
    # see tests/metrics/test_agreement.py: ordinal 7/9 on this data
    report = evaluate_frame(frame, get_scheme("graded:1-3"))
    assert report["level"] == "ordinal" and report["alpha"] == pytest.approx(7 / 9)


def test_optimistic_error_share_of_the_frame(frame):
    # errors: q1 (E judged S) ranks below the human, q3 (I judged E) above: 1 of 2
    report = evaluate_frame(frame, ESCI, by=["source"])
    assert report["optimistic_error_share"] == pytest.approx(0.5)
    assert report["by"]["source"]["x"]["optimistic_error_share"] == 0.0
    assert report["by"]["source"]["y"]["optimistic_error_share"] == 1.0


@pytest.fixture
def ranked() -> pd.DataFrame:
    # q1: humans E, S, I; expected gains 0.6 + 0.02 = 0.62, 0.7 + 0.03 = 0.73, 0.1; p(E) 0.6, 0.7, 0.1
    # q2: humans E, E (nothing to order, no negative for the AUC)
    # q3: humans S, I; the first pair has no probabilities: it scores its label's gain 0.1 and p(E) 0
    proba = [[0.6, 0.2, 0.0, 0.2], [0.7, 0.3, 0.0, 0.0], [0.1, 0.0, 0.0, 0.9],
             [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0],
             [np.nan] * 4, [0.0, 0.0, 0.0, 1.0]]
    return pd.DataFrame({
        "query_id": ["q1", "q1", "q1", "q2", "q2", "q3", "q3"],
        "human": ["E", "S", "I", "E", "E", "S", "I"],
        "label": ["E", "E", "I", "E", "E", "S", "I"],
        **{f"p_{label}": [row[k] for row in proba] for k, label in enumerate(ESCI.labels)},
    })


def test_within_query_tau_and_auc_hand_computed(ranked):
    within = evaluate_frame(ranked, ESCI)["within_query"]
    # q1: (E,S) x 0.62 < 0.73 but y 1 > 0.1: discordant; (E,I) and (S,I) concordant: tau = (2 - 1) / 3
    # q3: 0.1 > 0 and 0.1 > 0: tau 1.  Mean over q1, q3 (q2 has one grade): (1/3 + 1) / 2 = 2/3
    assert within["kendall_tau"] == {"mean": pytest.approx(2 / 3), "n_queries": 2}
    # only q1 has both E and not-E pairs: p(E) 0.6 of the E pair beats 0.1 and loses to 0.7: AUC 1/2
    assert within["top_label_auc"] == {"mean": pytest.approx(0.5), "n_queries": 1, "label": "E"}


def test_gain_r_weighs_the_grades_by_the_probabilities(ranked):
    # the expected grades (E 3, S 2, C 1, I 0) of the fixture: 1.8 + 0.4, 2.1 + 0.6, 0.3, 3, 3, q3's first pair its
    # label's grade 2, and 0, against the human labels' grades
    expected, human = [2.2, 2.7, 0.3, 3.0, 3.0, 2.0, 0.0], [3, 2, 0, 3, 3, 2, 0]
    assert evaluate_frame(ranked, ESCI)["gain_r"] == pytest.approx(np.corrcoef(expected, human)[0, 1])


def test_within_query_without_probabilities_uses_the_label(frame):
    # q2 (S,S) (C,C) is the only query with two human grades; judged gains 0.1 > 0.01 order it right.
    # Only q1 has human E pairs, and nothing else: no query has an AUC.
    within = evaluate_frame(frame, ESCI)["within_query"]
    assert within["kendall_tau"] == {"mean": 1.0, "n_queries": 1}
    assert within["top_label_auc"] == {"mean": None, "n_queries": 0, "label": "E"}


def test_within_query_top_label_of_a_graded_scale_is_the_highest_grade():
    frame = pd.DataFrame({"query_id": ["q"] * 3, "human": ["3", "2", "1"], "label": ["3", "1", "2"]})
    within = evaluate_frame(frame, get_scheme("graded:1-3"))["within_query"]
    # gains 2, 0, 1 against 2, 1, 0: pairs (3,2) C, (3,1) C, (2,1) D: tau 1/3; the 3 pair scores above both: AUC 1
    assert within["kendall_tau"]["mean"] == pytest.approx(1 / 3)
    assert within["top_label_auc"] == {"mean": 1.0, "n_queries": 1, "label": "3"}


def test_within_query_intervals_resample_queries():
    # q1 ordered right (tau 1), q2 reversed (tau -1): two drawn queries average 1, 0 or -1, so the interval is
    # [-1, 1]; the same for the AUC (1 and 0)
    frame = pd.DataFrame({"query_id": ["q1", "q1", "q2", "q2"], "human": ["E", "I", "E", "I"],
                          "label": ["E", "I", "I", "E"]})
    report = evaluate_frame(frame, ESCI, bootstrap=500, seed=1)
    assert report["within_query"]["kendall_tau"]["ci"] == [-1.0, 1.0]
    assert report["within_query"]["top_label_auc"]["ci"] == [0.0, 1.0]
    assert "kendall_tau" not in report["ci"]
    # over all pairs r = 0 (worth 1: the judge adds nothing); two q1 give r = 1, two q2 r = -1, so |r| is 0 or 1
    # with probability 1/2 each, and worth's interval runs from 1 to no bound (None)
    assert (report["gain_r"], report["worth"]) == (pytest.approx(0.0), pytest.approx(1.0))
    assert report["ci"]["gain_r"] == [-1.0, 1.0] and report["ci"]["worth"] == [1.0, None]
    json.dumps(report, allow_nan=False)


def test_within_query_by_segment(ranked):
    ranked["half"] = ["a", "a", "a", "b", "b", "b", "b"]
    segments = evaluate_frame(ranked, ESCI, by=["half"])["by"]["half"]
    assert segments["a"]["within_query"]["kendall_tau"]["mean"] == pytest.approx(1 / 3)
    assert segments["b"]["within_query"]["kendall_tau"] == {"mean": 1.0, "n_queries": 1}
