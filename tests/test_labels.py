import pytest

from reljudge.errors import SchemeError
from reljudge.labels import MeanRule, get_scheme


def test_esci_has_kdd_cup_gains_and_is_nominal():
    s = get_scheme("esci")
    assert s.labels == ("E", "S", "C", "I")
    assert s.gains == (1.0, 0.1, 0.01, 0.0)
    assert s.level == "nominal"


@pytest.mark.parametrize("raw, label", [("E", "E"), ("exact", "E"), ("Substitute", "S"), (" c ", "C"), ("i", "I")])
def test_esci_accepts_words_and_letters(raw, label):
    assert get_scheme("esci").parse(raw) == label


def test_label_outside_scheme_names_the_accepted_labels():
    with pytest.raises(SchemeError, match=r"'X' is not in scheme 'esci' \(accepted: E, S, C, I\)"):
        get_scheme("esci").parse("X")


@pytest.mark.parametrize("spec, labels, gains", [
    ("graded:1-3", ("1", "2", "3"), (0.0, 1.0, 2.0)),
    ("graded:0-3", ("0", "1", "2", "3"), (0.0, 1.0, 2.0, 3.0)),
    ("graded:1-5", ("1", "2", "3", "4", "5"), (0.0, 1.0, 2.0, 3.0, 4.0)),
])
def test_graded_scales_ascend_with_gain_above_the_lowest_grade(spec, labels, gains):
    s = get_scheme(spec)
    assert (s.labels, s.gains, s.level) == (labels, gains, "ordinal")


def test_graded_parses_integral_floats_and_level_flag_overrides():
    s = get_scheme("graded:1-3", level="interval")
    assert s.parse("3.0") == "3" and s.parse(2) == "2"
    assert s.level == "interval"


def test_binary_accepts_words():
    s = get_scheme("binary")
    assert [s.parse(v) for v in ("relevant", "no", "1", "TRUE")] == ["1", "0", "1", "1"]


@pytest.mark.parametrize("bad", ["graded:3-1", "ternary", "graded:a-b"])
def test_unknown_schemes_fail_clearly(bad):
    with pytest.raises(SchemeError):
        get_scheme(bad)


@pytest.mark.parametrize("mean, grade", [(1.0, "1"), (1.33, "1"), (1.67, "2"), (2.33, "2"), (2.5, "3"), (2.67, "3")])
def test_round_rule_takes_the_nearest_grade_halves_up(mean, grade):
    assert MeanRule("round").apply(mean, get_scheme("graded:1-3")) == grade


@pytest.mark.parametrize("mean, grade", [(1.67, "1"), (1.75, "2"), (2.33, "2"), (2.5, "3")])
def test_bins_rule_uses_explicit_thresholds(mean, grade):
    assert MeanRule("bins:1.75,2.5").apply(mean, get_scheme("graded:1-3")) == grade


def test_bins_rule_needs_one_threshold_fewer_than_grades():
    with pytest.raises(SchemeError, match="need 2 ascending thresholds"):
        MeanRule("bins:2").apply(2.0, get_scheme("graded:1-3"))


def test_grades_rank_the_labels_by_gain_from_zero():
    # ESCI's steep KDD gains become the even steps people read: E 3, S 2, C 1, I 0; a graded scale keeps its gains
    assert get_scheme("esci").grades == (3, 2, 1, 0)
    assert get_scheme("graded:1-5").grades == (0, 1, 2, 3, 4)
    assert get_scheme("binary").grades == tuple(int(g) for g in get_scheme("binary").gains)
