"""The library verbs as a user calls them: real shipped judges, the example pairs, a real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reljudge import (
    EvaluationReport,
    Store,
    compare,
    evaluate_judge,
    get_scheme,
    judge_pairs,
    load_judge,
    read_judgments,
    read_pairs,
    write_judgments,
)
from reljudge.errors import ReljudgeError
from reljudge.infer.batch import to_frame

EXAMPLE_PAIRS = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
ESCI = get_scheme("esci")


@pytest.fixture(scope="module")
def read():
    return read_pairs(EXAMPLE_PAIRS, scheme=ESCI)


def test_evaluate_judge_gives_the_figures_of_the_judged_pairs(read):
    report = evaluate_judge(load_judge("majority"), read, by="product_locale", bootstrap=50)
    assert isinstance(report, EvaluationReport)
    # a constant judge: all 28 pairs judged E, 6 of them are E
    assert report.n == 28 and report.accuracy == pytest.approx(6 / 28) and report.alpha < 0
    assert report.gain_r is None and report.worth is None  # the same expected gain for every pair: no r
    assert report.to_dict()["predicted_distribution"] == {"E": 28, "S": 0, "C": 0, "I": 0}
    # every error ranks the pair above its human label
    assert report.to_dict()["optimistic_error_share"] == 1.0
    # a judge that gives every pair of a query the same score orders nothing: tau 0, AUC 1/2, in every query
    within = report.to_dict()["within_query"]
    assert within["kendall_tau"]["mean"] == 0.0 and within["top_label_auc"]["mean"] == 0.5
    assert set(report.to_dict()["by"]["product_locale"]) == {"us"} and set(report.ci) >= {"alpha", "accuracy"}


def test_evaluate_judge_reports_what_the_judge_is_worth_in_human_labels(read):
    judge = load_judge("lexical")
    report = evaluate_judge(judge, read, by="product_locale", bootstrap=100, seed=2)
    # r of the judge's expected grade with the human label's grade (E 3, S 2, C 1, I 0), over the 28 pairs
    grades = dict(zip(ESCI.labels, ESCI.grades))
    expected = [float(np.dot(j.proba, ESCI.grades)) for j in judge_pairs(read.pairs, judge).judgments]
    r = np.corrcoef(expected, [grades[p.label] for p in read.pairs])[0, 1]
    assert report.gain_r == pytest.approx(r) and report.worth == pytest.approx(1 / (1 - r * r)) and report.worth > 1
    figures = report.to_dict()
    assert figures["by"]["product_locale"]["us"]["worth"] == pytest.approx(report.worth)  # the one locale
    low, high = report.ci["worth"]
    assert 1 <= low < high
    assert f"{report.worth:.3f}" in str(report) and f"[{low:.3f}, {high:.3f}]" in str(report)


def test_compare_of_judgments_from_a_file_equals_evaluate_judge(read, tmp_path):
    judge = load_judge("lexical")
    run = judge_pairs(read.pairs, judge)
    out = write_judgments(tmp_path / "judged.parquet", to_frame(read.pairs, run.judgments, ESCI), scheme=ESCI)
    direct = evaluate_judge(judge, read.pairs, bootstrap=30, seed=4)
    from_file = compare(read_judgments(out, scheme=ESCI), read, scheme="esci", bootstrap=30, seed=4)
    from_records = compare(run.judgments, read.pairs, scheme=ESCI, bootstrap=30, seed=4)
    assert from_file == direct and from_records == direct
    assert 0 < direct.alpha < 1 and direct.to_dict()["ece"] is not None


def test_evaluate_judge_goes_through_the_stores_cache(read, tmp_path):
    judge = load_judge("lexical")
    with Store(tmp_path / "s.duckdb") as store:
        first = evaluate_judge(judge, read, store=store, input_name="pairs.csv")
        again = evaluate_judge(judge, read, store=store)
        runs = store.runs()
        assert store.info().judgments == 28
    assert first == again
    assert [r.n_cached for r in runs] == [28, 0] and runs[-1].input == "pairs.csv"


def test_inputs_that_cannot_be_compared_are_refused_before_judging(read, tmp_path):
    judge = load_judge("lexical")
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(ReljudgeError, match=r"'nope' .*product_locale.*query_id"):
            evaluate_judge(judge, read, by=["nope"], store=store)
        unlabelled = [p for p in read.pairs if p.label is None]
        with pytest.raises(ReljudgeError, match="no human labels"):
            evaluate_judge(judge, unlabelled + [_without_label(p) for p in read.pairs[:3]], store=store)
        assert store.info().runs == 0 and store.info().judgments == 0


def test_annotations_stand_in_for_missing_labels(read):
    pairs = [_without_label(p) for p in read.pairs[:6]]
    votes = {pairs[0].pair_id: "EEE", pairs[1].pair_id: "EES", pairs[2].pair_id: "SSE"}
    annotations = pd.DataFrame([(pid, f"a{i}", label) for pid, labels in votes.items()
                                for i, label in enumerate(labels)], columns=["pair_id", "annotator", "label"])
    report = evaluate_judge(load_judge("majority"), pairs, annotations=annotations).to_dict()
    # three pairs have annotations: majority E, E, S; the other three are not compared
    assert report["n"] == 3 and report["human_distribution"] == {"E": 2, "S": 1, "C": 0, "I": 0}
    assert report["humans"]["n_multi"] == 3


def test_the_scheme_may_change_the_level_but_not_the_labels(read):
    judge = load_judge("lexical")
    assert evaluate_judge(judge, read, scheme=ESCI.with_level("ordinal")).to_dict()["level"] == "ordinal"
    with pytest.raises(ReljudgeError, match="labels of judge"):
        evaluate_judge(judge, read, scheme="binary")


def test_compare_is_the_verb_even_after_the_evaluation_modules_are_imported():
    # regression: the comparison frame once lived in a module reljudge.compare, which took the verb's name on
    # the package as soon as anything imported it
    import reljudge
    import reljudge.evaluation.align  # noqa: F401

    assert callable(reljudge.compare) and reljudge.compare.__module__ == "reljudge.evaluation.api"


def _without_label(pair):
    from dataclasses import replace

    return replace(pair, label=None)
