"""Prediction-powered effects: unbiased whatever the judge's bias, as tight as the judge allows, checked by
simulation on a population with a known effect."""

from __future__ import annotations

import numpy as np
import pytest

from reljudge.errors import ReljudgeError
from reljudge.experiments.design import Design
from reljudge.experiments.effects import estimate_effect
from reljudge.experiments.ppi import prediction_powered_effect

POPULATION = np.array([3000, 1000])
MEANS = np.array([0.10, 0.30])
SHARES = POPULATION / POPULATION.sum()
DRAWN = np.array([150, 60])


def draw(rng: np.random.Generator, judge_scale: float, judge_noise: float, labelled_share: float):
    """One stratified sample: human differences, a judge that sees `judge_scale` of them plus noise and an offset,
    and a random `labelled_share` of each stratum labelled by people."""
    codes = np.repeat([0, 1], DRAWN)
    human = rng.normal(MEANS[codes], 1.0)
    judged = judge_scale * human + rng.normal(0.05, judge_noise, len(human))
    design = Design(("a", "b"), codes, np.ones(len(human)), SHARES, (DRAWN / POPULATION)[codes])
    labelled = np.zeros(len(human), bool)
    for h in (0, 1):
        members = np.flatnonzero(codes == h)
        labelled[rng.choice(members, int(labelled_share * len(members)), replace=False)] = True
    return human, judged, labelled, design


def effect(human, judged, labelled, design):
    control = np.full(len(human), 0.5)
    return prediction_powered_effect(control, control + human, control, control + judged, labelled, design)


def test_a_biased_judge_corrected_by_a_third_of_human_labels_covers_the_truth_and_beats_them_alone():
    rng = np.random.default_rng(0)
    truth = SHARES @ MEANS
    covered, alone_covered, widths, alone_widths, judge_only, worth = 0, 0, [], [], [], []
    for _ in range(300):
        got = effect(*draw(rng, judge_scale=0.25, judge_noise=0.2, labelled_share=0.3))
        worth.append(got["worth_labelled"] / got["n_labelled"])
        assert got["worth_labelled"] == pytest.approx(
            got["n_labelled"] * got["human_only"]["se"] ** 2 / got["se"] ** 2)
        covered += got["ci_low"] <= truth <= got["ci_high"]
        alone = got["human_only"]
        alone_covered += alone["ci_low"] <= truth <= alone["ci_high"]
        widths.append(got["ci_high"] - got["ci_low"])
        alone_widths.append(alone["ci_high"] - alone["ci_low"])
        judge_only.append(got["judge_only"]["effect"])
    assert covered / 300 >= 0.91 and alone_covered / 300 >= 0.91
    assert np.mean(widths) < 0.85 * np.mean(alone_widths)  # the judge's labels are worth more human labels
    assert np.mean(judge_only) < 0.7 * truth  # what the judge alone would have said
    assert np.mean(worth) > 1.3  # each labelled query counts for more than one


def test_a_judge_that_tracks_nothing_gets_no_weight_and_costs_little():
    rng = np.random.default_rng(1)
    human, judged, labelled, design = draw(rng, judge_scale=0.0, judge_noise=1.0, labelled_share=0.5)
    got = effect(human, judged, labelled, design)
    assert abs(got["lambda"]) < 0.2
    assert got["ci_high"] - got["ci_low"] < 1.05 * (got["human_only"]["ci_high"] - got["human_only"]["ci_low"])


def test_with_every_query_labelled_it_is_the_human_estimate():
    rng = np.random.default_rng(2)
    human, judged, _, design = draw(rng, judge_scale=0.5, judge_noise=0.3, labelled_share=1.0)
    got = effect(human, judged, np.ones(len(human), bool), design)
    control = np.full(len(human), 0.5)
    plain = estimate_effect(control, control + human, design)
    assert got["effect"] == pytest.approx(plain["effect"])
    assert got["se"] == pytest.approx(plain["se"])
    assert got["human_only"]["effect"] == pytest.approx(plain["effect"])
    assert got["n_labelled"] == len(human) and [s["n_labelled"] for s in got["per_stratum"]] == list(DRAWN)


def test_a_stratum_without_two_labelled_queries_is_refused_by_name():
    rng = np.random.default_rng(3)
    human, judged, labelled, design = draw(rng, judge_scale=0.5, judge_noise=0.3, labelled_share=0.3)
    labelled[design.codes == 1] = False
    labelled[np.flatnonzero(design.codes == 1)[0]] = True
    with pytest.raises(ReljudgeError, match="stratum 'b' has 1 of its 60 sampled queries labelled"):
        effect(human, judged, labelled, design)
