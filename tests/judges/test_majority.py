import numpy as np
import pytest

from reljudge.errors import JudgeError
from reljudge.judges.base import predict
from reljudge.judges.majority import fit_majority
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product


def labelled(labels):
    return [Pair("q", Product(f"P{i}", "t"), label=label) for i, label in enumerate(labels)]


def test_shipped_majority_judge_says_exact_with_the_training_prior():
    judge = load_judge("majority")
    proba = judge.predict_proba(labelled(["S", "I"]))
    assert judge.spec.startswith("majority@")
    assert proba.shape == (2, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert predict(judge, labelled(["S"])) == ["E"]


def test_refit_majority_round_trips_through_its_directory(tmp_path):
    fit_majority(labelled(["1", "3", "3"]), get_scheme("graded:1-3")).save(tmp_path)
    judge = load_judge(f"majority:{tmp_path}")
    np.testing.assert_allclose(judge.predict_proba(labelled(["1"]))[0], [1 / 3, 0, 2 / 3])
    assert judge.spec.startswith(f"majority:{tmp_path}@")


def test_missing_model_says_which_command_makes_one(tmp_path):
    with pytest.raises(JudgeError, match="reljudge train --judge majority"):
        load_judge(f"majority:{tmp_path / 'nope'}")


def test_scheme_mismatch_is_refused():
    with pytest.raises(JudgeError, match="not 'binary'"):
        load_judge("majority", scheme=get_scheme("binary"))


def test_unknown_judge_lists_the_known_ones():
    with pytest.raises(JudgeError, match="known judges: .*majority"):
        load_judge("oracle")


def test_the_spec_stored_with_a_judgment_reloads_the_same_shipped_model():
    spec = load_judge("majority").spec
    assert load_judge(spec).spec == spec
    with pytest.raises(JudgeError, match="pins a model that has changed"):
        load_judge("majority@000000000000")
