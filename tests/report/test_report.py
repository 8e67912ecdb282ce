"""The daily report on a store of eight days with one bad day: alarms there and only there, hand-checked drift and
agreement figures, the command's exit status and JSON, and PNG charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from reljudge.errors import ReljudgeError
from reljudge.labels import get_scheme
from reljudge.report import ReportOptions, build_report
from reljudge.report.drift import chi_square, mix_check, psi
from reljudge.report.people import agreement
from reljudge.store import Store
from tests.report.conftest import DAYS, JUDGE, SHIFTED_DAY, build_store


def reljudge(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reljudge.cli.main", *map(str, args)], capture_output=True,
                          text=True)


def _report(store: Path, **options):
    with Store(store) as the_store:
        return build_report(the_store.con, ReportOptions(**options), str(store))


def test_alarms_fire_on_the_shifted_day_and_only_there(drift_store: Path) -> None:
    for day in DAYS[1:]:
        report = _report(drift_store, until=day, by=("query_source",))
        if day != SHIFTED_DAY:
            assert report.alarms == [], (day, [a.message for a in report.alarms])
            continue
        found = {(a.kind, a.segment) for a in report.alarms}
        assert {("label_mix", "all pairs"), ("label_mix", "query_source = organic"),
                ("label_mix", "query_source = ads"), ("alpha_fall", "all pairs")} <= found
        mix = next(a for a in report.alarms if a.kind == "label_mix" and not a.column)
        assert mix.figures["psi"] >= 0.1 and mix.figures["p_value"] < 0.001
        assert mix.figures["mean_gain_day"] < mix.figures["mean_gain_reference"] - 0.1
        assert "PSI" in mix.message and "mean gain" in mix.message
        fall = next(a for a in report.alarms if a.kind == "alpha_fall" and not a.column)
        assert fall.figures["fall_interval"][0] > 0 and fall.figures["alpha_day"] < 0.5


def test_the_last_days_figures_match_the_store_counted_by_hand(drift_store: Path) -> None:
    report = _report(drift_store, until=SHIFTED_DAY, reference_days=3)
    con = duckdb.connect(str(drift_store), read_only=True)
    counts = dict(con.execute("SELECT label, count(*) FROM judgments WHERE CAST(created AS DATE) = ? GROUP BY label",
                              [SHIFTED_DAY]).fetchall())
    reference = dict(con.execute("SELECT label, count(*) FROM judgments WHERE CAST(created AS DATE) BETWEEN ? AND ?"
                                 " GROUP BY label", list(report.window.reference)).fetchall())
    check = next(c for c in report.mix_checks if not c["column"])
    day = np.array([counts.get(x, 0) for x in "ESCI"])
    ref = np.array([reference.get(x, 0) for x in "ESCI"])
    assert check["n_day"] == 400 and check["n_reference"] == 3 * 400
    shares_day, shares_ref = day / day.sum(), ref / ref.sum()
    assert check["psi"] == pytest.approx(np.sum((shares_day - shares_ref) * np.log(shares_day / shares_ref)))
    assert check["mean_gain_day"] == pytest.approx(day @ np.array([1, 0.1, 0.01, 0]) / 400)
    volume = report.volume
    assert set(volume["judge"]) == {JUDGE} and volume["n"].tolist() == [400] * 6


def test_psi_and_chi_square_by_hand() -> None:
    # shares (.5, .5) against (.25, .75): .25 ln 2 + (-.25) ln(2/3)
    assert psi(np.array([50, 50]), np.array([25, 75])) == pytest.approx(0.25 * np.log(2) - 0.25 * np.log(2 / 3))
    assert psi(np.array([10, 30]), np.array([20, 60])) == pytest.approx(0.0)
    # 2 x 2 table [[50, 50], [25, 75]]: expected 37.5 / 62.5 per row, chi2 = 2 (12.5^2/37.5 + 12.5^2/62.5)
    statistic, p_value = chi_square(np.array([50, 50]), np.array([25, 75]))
    assert statistic == pytest.approx(2 * (12.5**2 / 37.5 + 12.5**2 / 62.5))
    assert p_value == pytest.approx(0.000260, abs=2e-6)
    assert chi_square(np.array([5, 0]), np.array([9, 0])) == (0.0, 1.0)
    quiet = mix_check(np.array([50, 50]), np.array([25, 75]), np.array([1.0, 0.0]), chi2_p=0.001, psi_threshold=0.1)
    assert quiet["alarm"] and quiet["mean_gain_day"] == 0.5 and quiet["mean_gain_reference"] == 0.25
    assert not mix_check(np.array([50, 50]), np.array([25, 75]), np.array([1.0, 0.0]), chi2_p=0.0001,
                         psi_threshold=0.1)["alarm"]


def test_agreement_figures_by_hand() -> None:
    scheme = get_scheme("graded:1-3")
    # human, judge: exact on 3 of 5; (1, 3) is two grades apart; optimistic: judge above human in 1 of 2 errors
    units = pd.DataFrame({"query_id": ["a", "a", "b", "b", "c"], "human": ["1", "2", "3", "1", "2"],
                          "judge_label": ["1", "2", "3", "3", "1"]})
    figures, samples = agreement(units, scheme, min_labelled=5, n_resamples=200, seed=0, confidence=0.95)
    assert figures["n"] == 5 and figures["n_queries"] == 3
    assert figures["exact"] == pytest.approx(3 / 5) and figures["within_one"] == pytest.approx(4 / 5)
    assert figures["optimistic_share"] == pytest.approx(1 / 2)
    assert figures["confusion"] == [[1, 0, 1], [1, 1, 0], [0, 0, 1]]
    assert len(samples) == 200
    hidden, none = agreement(units, scheme, min_labelled=6, n_resamples=200, seed=0, confidence=0.95)
    assert none is None and hidden["alpha"] is None and hidden["n"] == 5


def test_report_refuses_what_it_cannot_report(drift_store: Path, tmp_path: Path) -> None:
    with pytest.raises(ReljudgeError, match="--by popularity: no pair .* segments: query_source"):
        _report(drift_store, by=("popularity",))
    with pytest.raises(ReljudgeError, match="no judgments of judge nobody .judges in the store: lexical@"):
        _report(drift_store, judge="nobody")
    with pytest.raises(ReljudgeError, match="--judge nobody: no judgments from 2026-02-05 to 2026-03-06"):
        _report(drift_store, judge="nobody", until=SHIFTED_DAY)
    with pytest.raises(ReljudgeError, match="holds no judgments"):
        _report(tmp_path / "empty.duckdb")


def test_command_exits_1_on_an_alarm_and_prints_json(drift_store: Path, tmp_path: Path) -> None:
    bad = reljudge("report", "--store", drift_store, "--until", SHIFTED_DAY, "--by", "query_source", "--json",
                   "--png", tmp_path / "png")
    assert bad.returncode == 1, bad.stderr
    figures = json.loads(bad.stdout)
    assert {a["segment"] for a in figures["alarms"]} >= {"all pairs", "query_source = ads"}
    assert figures["window"]["until"] == SHIFTED_DAY.isoformat() and figures["people"]["window"]["n"] > 0
    pngs = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert pngs == ["alpha.png", "confusion.png", "label-mix.png", "mean-gain-by-query_source.png", "mean-gain.png",
                    "volume.png"]
    assert all((tmp_path / "png" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in pngs)
    calm = reljudge("report", "--store", drift_store, "--until", DAYS[-1], "--output", tmp_path / "r.html")
    assert calm.returncode == 0, calm.stderr
    assert "no alarm" in calm.stderr and (tmp_path / "r.html").stat().st_size > 10_000


def test_labels_from_the_labelling_page_count_as_peoples(tmp_path: Path) -> None:
    store = build_store(tmp_path / "store.duckdb")
    last = DAYS[-1]
    with Store(store) as the_store:
        con = the_store.con
        unlabelled = [h for (h,) in con.execute(
            "SELECT pair_hash FROM judgments j WHERE CAST(created AS DATE) = ? AND NOT EXISTS"
            " (SELECT 1 FROM human_labels h WHERE h.pair_hash = j.pair_hash) ORDER BY pair_hash LIMIT 42",
            [last]).fetchall()]
        con.execute("INSERT INTO queues (name, scheme) VALUES ('week-1', 'esci'), ('graded', 'graded:1-3')")
        rows = [(1 + i, "week-1", i, h, "carol", "E", False, None) for i, h in enumerate(unlabelled[:40])]
        rows += [(41, "week-1", 40, unlabelled[40], "carol", "S", False, None),  # given, then undone
                 (42, "week-1", 40, unlabelled[40], "carol", None, False, 41),
                 (43, "week-1", 41, unlabelled[41], "carol", None, True, None),  # "can't judge"
                 (44, "graded", 0, unlabelled[41], "dan", "3", False, None)]  # another scheme
        con.executemany("INSERT INTO annotator_labels (label_id, queue, item_id, pair_hash, annotator_id, label,"
                        " cant_judge, undoes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        report = build_report(con, ReportOptions(until=last), str(store))
    assert report.people_days[-1]["day"] == last.isoformat() and report.people_days[-1]["n"] == 200 + 40


def test_alpha_resamples_agree_with_the_evaluation_bootstrap() -> None:
    from reljudge.evaluation.bootstrap import bootstrap_metrics
    from reljudge.report.people import alpha_resamples

    rng = np.random.default_rng(3)
    scheme = get_scheme("esci")
    groups = rng.integers(0, 60, size=600)
    human = rng.integers(0, 4, size=600)
    judge = np.where(rng.random(600) < 0.7, human, rng.integers(0, 4, size=600))
    mine = alpha_resamples(groups, human, judge, scheme, n_resamples=2000, seed=1)
    theirs = bootstrap_metrics(groups, human, judge, scheme, n_resamples=2000, seed=1)["alpha"]
    assert len(mine) == 2000
    # the same resampling scheme: the same distribution of alpha, to Monte Carlo error
    assert np.mean(mine) == pytest.approx(np.mean(theirs), abs=0.01)
    assert np.std(mine) == pytest.approx(np.std(theirs), rel=0.1)


def test_people_among_themselves_beside_the_judge_on_the_same_pairs(drift_store: Path) -> None:
    """Every labelled pair of the drift store has two annotators who give the same (true) label: people's alpha is
    1; the judge's on those pairs is its agreement with the truth, as counted by hand."""
    report = _report(drift_store, until=DAYS[-1])
    among = report.people_among
    assert among["n"] == report.people_window["n"] == 8 * 200 and among["n_annotators"] == 2
    assert among["alpha"] == pytest.approx(1.0) and among["percent_agreement"] == pytest.approx(1.0)
    assert among["judge_alpha"] == pytest.approx(report.people_window["alpha"])
    assert report.to_dict()["people"]["among"] == among


def test_people_among_themselves_counts_only_pairs_two_people_labelled() -> None:
    from reljudge.metrics.agreement import annotator_agreement
    from reljudge.report.people import among_people, compared_units

    scheme = get_scheme("esci")
    rng = np.random.default_rng(5)
    rows = []
    for u in range(60):
        truth, judge = rng.choice(list("ESCI")), rng.choice(list("ESCI"))
        people = ["ann", "bob"] if u % 3 else ["ann"]  # a third of the pairs has one annotator only
        for who in people:
            label = truth if rng.random() < 0.8 else rng.choice(list("ESCI"))
            rows.append({"day": DAYS[0], "unit": f"u{u}", "query_id": f"q{u // 6}", "judge_label": judge,
                         "annotator": who, "human_label": label, "sampled": False})
    rows = pd.DataFrame(rows)
    units = compared_units(rows, scheme)
    got = among_people(rows, units, scheme, min_labelled=30)
    shared = rows[rows["unit"].isin([f"u{u}" for u in range(60) if u % 3])]
    expected = annotator_agreement(shared[["unit", "annotator", "human_label"]].rename(
        columns={"unit": "pair_id", "human_label": "label"}), scheme)
    assert got["n"] == 40 and got["alpha"] == pytest.approx(expected["alpha"]) and got["alpha"] < 0.9
    assert among_people(rows, units, scheme, min_labelled=41)["alpha"] is None


def test_every_report_option_is_a_flag_with_the_models_default(drift_store: Path) -> None:
    from reljudge.cli.settings_flags import report_flags_from_model

    assert [flag.name for flag in report_flags_from_model()] == list(ReportOptions.model_fields)
    done = reljudge("report", "--store", drift_store, "--until", DAYS[-1], "--json", "--by", "query_source",
                    "--min-labelled", "5", "--min-queries", "3", "--confidence", "0.9", "--alarm-confidence", "0.95",
                    "--seed", "7", "--reference-days", "5")
    assert done.returncode in (0, 1), done.stderr
    given = json.loads(done.stdout)["options"]
    assert given == ReportOptions(until=DAYS[-1], by=("query_source",), min_labelled=5, min_queries=3,
                                  confidence=0.9, alarm_confidence=0.95, seed=7,
                                  reference_days=5).model_dump(mode="json")
    bad = reljudge("report", "--store", drift_store, "--json", "--confidence", "1.5")
    assert bad.returncode == 2 and "--confidence" in bad.stderr and "less than 1" in bad.stderr, bad.stderr
