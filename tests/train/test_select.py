"""LREF data selection: the challenge identifier's order, the mislabel supervisor's rule, and the command."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from reljudge.io import read_pairs
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product
from reljudge.train.select import (
    SelectOptions,
    challenge_order,
    cross_fitted_proba,
    find_suspects,
    judge_fitter,
    select_pairs,
)

ESCI = get_scheme("esci")
NOUNS = ["mug", "lamp", "kettle", "towel", "chair", "drill", "boot", "tent", "pillow", "blender", "scarf", "clock"]
COLOURS = ["red", "blue", "green", "black"]


def shop(n_queries: int = 12) -> list[Pair]:
    """Queries 'COLOUR NOUN' with an exact product, a substitute (other colour), a complement (an accessory of the
    noun) and irrelevant ones: lexical overlap tells them apart."""
    pairs = []
    for q in range(n_queries):
        noun, colour = NOUNS[q % len(NOUNS)], COLOURS[q % len(COLOURS)]
        other = COLOURS[(q + 1) % len(COLOURS)]
        titles = [(f"{colour} {noun} classic", "E"), (f"{colour} {noun} deluxe large", "E"),
                  (f"{other} {noun}", "S"), (f"{other} {noun} compact", "S"),
                  (f"cleaning kit for {noun}", "C"),
                  (f"garden hose {q}", "I"), (f"phone case {q}", "I"), (f"socks pack {q}", "I")]
        for i, (title, label) in enumerate(titles):
            pairs.append(Pair(f"{colour} {noun}", Product(f"q{q}p{i}", title), query_id=f"q{q}",
                              pair_id=f"q{q}-{i}", label=label, segments={"split": "train"}))
    return pairs


def test_challenge_order_puts_wrong_pairs_first_then_the_least_sure_round_robin_over_labels():
    pairs = [Pair("q", Product(str(i), "t"), query_id="q", pair_id=str(i), label=label)
             for i, label in enumerate(["E", "E", "S", "I", "E"])]
    proba = np.array([
        [0.9, 0.05, 0.03, 0.02],   # 0: E right, sure
        [0.4, 0.35, 0.15, 0.10],   # 1: E right, unsure (margin 0.05)
        [0.6, 0.3, 0.05, 0.05],    # 2: S wrong
        [0.1, 0.1, 0.1, 0.7],      # 3: I right
        [0.2, 0.6, 0.1, 0.1],      # 4: E wrong
    ])
    # E: 4 (wrong), 1 (margin .05), 0; S: 2; C: none; I: 3 -> round robin E, S, I, E, E
    assert challenge_order(pairs, proba, ESCI) == [4, 2, 3, 1, 0]


def test_a_suspect_is_a_label_the_judge_gives_little_while_confidently_preferring_another():
    pairs = [Pair("q", Product(str(i), "t"), query_id="q", pair_id=str(i), label=label)
             for i, label in enumerate(["E", "S", "I"])]
    proba = np.array([[0.05, 0.05, 0.0, 0.9],    # E given 0.05, I preferred at 0.9: suspect, suspicion 0.95
                      [0.6, 0.08, 0.02, 0.3],    # S given 0.08, E at 0.6: suspect, suspicion 0.92
                      [0.45, 0.0, 0.0, 0.55]])   # the human label I is the judge's top: not a suspect
    found = find_suspects(pairs, proba, ESCI, SelectOptions(max_p_human=0.1, min_confidence=0.5))
    assert list(found["pair_id"]) == ["0", "1"]
    assert list(found["judge_label"]) == ["I", "E"]
    assert found["suspicion"].tolist() == pytest.approx([0.95, 0.92])
    assert find_suspects(pairs, proba, ESCI, SelectOptions(max_p_human=0.06, min_confidence=0.5))["pair_id"].tolist() \
        == ["0"]


def test_cross_fitting_scores_every_pair_with_a_judge_that_never_saw_its_query(tmp_path):
    pairs = shop()
    seen: list[set[str]] = []

    def fit(train):
        seen.append({p.query_id for p in train})
        return judge_fitter("lexical", ESCI, tmp_path)(train)

    proba = cross_fitted_proba(fit, pairs, folds=4, seed=0)
    assert proba.shape == (len(pairs), 4) and not np.isnan(proba).any()
    assert len(seen) == 4 and all(len(s) == 9 for s in seen)  # 12 queries, 3 held out each time


def test_the_supervisor_flags_a_flipped_label_and_selection_keeps_the_seed_plus_the_hardest(tmp_path):
    pairs = shop()
    flipped = dataclasses.replace(pairs[0], label="I")  # an exact 'red mug classic' labelled Irrelevant
    noisy = [flipped, *pairs[1:]]
    fit = judge_fitter("lexical", ESCI, tmp_path)
    selection = select_pairs(noisy, ESCI, fit, SelectOptions(seed_share=0.25, budget_share=0.5, folds=4,
                                                               max_p_human=0.2, min_confidence=0.3))
    assert selection.suspects["pair_id"].iloc[0] == "q0-0"
    seed_queries = {p.query_id for p in selection.selected[: selection.summary["seed_pairs"]]}
    assert len(seed_queries) == 3
    assert len(selection.selected) == round(0.5 * len(noisy))
    dropped = select_pairs(noisy, ESCI, fit, SelectOptions(seed_share=0.25, budget_share=1.0, folds=4,
                                                             max_p_human=0.2, min_confidence=0.3, drop_suspects=True))
    assert "q0-0" not in {p.pair_id for p in dropped.selected}
    assert len(dropped.selected) == len(noisy) - len(dropped.suspects)


def run_cli(*args: str):
    from typer.testing import CliRunner

    from reljudge.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_select_command_writes_a_pairs_file_train_reads_and_the_suspects(tmp_path):
    pairs = shop()
    valid = [dataclasses.replace(p, segments={"split": "valid"}, pair_id=p.pair_id + "v") for p in shop(4)]
    from reljudge.io.pairs_out import write_pairs

    source = write_pairs(tmp_path / "pairs.csv", pairs + valid)
    result = run_cli("select", str(source), "--judge", "lexical", "--output", str(tmp_path / "selected.csv"),
                     "--suspects", str(tmp_path / "suspects.csv"), "--folds", "3", "--budget-share", "0.5")
    assert result.exit_code == 0, result.output
    selected = read_pairs(tmp_path / "selected.csv", scheme=ESCI).pairs
    assert sum(p.segments["split"] == "train" for p in selected) == len(pairs) // 2
    assert sum(p.segments["split"] == "valid" for p in selected) == len(valid)  # other splits kept unchanged
    suspects = pd.read_csv(tmp_path / "suspects.csv")
    assert list(suspects.columns[:6]) == ["pair_id", "query", "title", "human_label", "judge_label", "p_human"]
    trained = run_cli("train", "--judge", "lexical", "--data", str(tmp_path / "selected.csv"),
                      "--output", str(tmp_path / "model"))
    assert trained.exit_code == 0, trained.output
