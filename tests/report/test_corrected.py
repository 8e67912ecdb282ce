"""The daily report's mean gain corrected by people's random sample (prediction-powered): the estimator covers the
truth by simulation whatever the judge's bias, and the report uses random queues' labels only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from reljudge.labels import get_scheme
from reljudge.records import Judgment, Pair, Product
from reljudge.report import ReportOptions, build_report
from reljudge.report.corrected import corrected_days, corrected_mean, pooled_window
from reljudge.store import Store

GAINS = np.array(get_scheme("esci").gains, float)
TRUE_MIX = (0.5, 0.25, 0.05, 0.2)


def optimistic_judge(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Right 70% of the time; else it calls the pair E (an optimistic judge, biased upwards)."""
    return np.where(rng.random(len(truth)) < 0.7, truth, 0)


def test_the_corrected_mean_covers_the_truth_where_the_judge_alone_is_biased() -> None:
    rng = np.random.default_rng(3)
    hits, human_widths, widths, errors, worths = 0, [], [], [], []
    draws = 300
    for _ in range(draws):
        truth = rng.choice(4, size=3000, p=TRUE_MIX)
        judged = optimistic_judge(truth, rng)
        sample = rng.choice(3000, size=150, replace=False)
        got = corrected_mean(np.bincount(judged, minlength=4), truth[sample], judged[sample], GAINS, 0.95)
        target = GAINS[truth].mean()
        low, high = got["interval"]
        hits += low <= target <= high
        errors.append(got["corrected"] - target)
        worths.append(got["worth"])
        widths.append(high - low)
        human_widths.append(got["human_interval"][1] - got["human_interval"][0])
        assert got["judge"] - target > 0.04  # the judge alone overstates the mean gain
    assert hits / draws >= 0.92
    assert abs(np.mean(errors)) < 0.004
    assert np.mean(widths) < 0.8 * np.mean(human_widths)  # the judge's labels are worth more sampled pairs
    assert np.mean(worths) > 1.4 * 150


def test_an_uninformative_judge_costs_nothing_and_shares_are_corrected_too() -> None:
    rng = np.random.default_rng(4)
    truth = rng.choice(4, size=2000, p=TRUE_MIX)
    judged = rng.choice(4, size=2000, p=(0.9, 0.05, 0.0, 0.05))  # independent of the truth
    sample = rng.choice(2000, size=200, replace=False)
    days = {date(2026, 1, 1): np.bincount(judged, minlength=4)}
    got_days = corrected_days(days, {date(2026, 1, 1): (truth[sample], judged[sample])}, list("ESCI"), GAINS, 0.95)
    got = {"days": got_days, "window": pooled_window(got_days, 2000, list("ESCI"), 0.95)}
    gain = got["days"][0]["mean_gain"]
    assert abs(gain["lam"]) < 0.3
    assert gain["interval"][1] - gain["interval"][0] < 1.1 * (gain["human_interval"][1] - gain["human_interval"][0])
    e_share = got["window"]["shares"]["E"]
    assert e_share["judge"] > 0.85 and e_share["interval"][0] <= (truth == 0).mean() <= e_share["interval"][1]


def _store_with_queues(path: Path, n_days: int = 2, last_mix: tuple[float, ...] | None = None
                       ) -> tuple[Path, list[date], dict[str, float]]:
    """Two days of 600 pairs (400 of `organic` queries, 200 of `ads`) judged by an optimistic judge; each day people
    label a random queue of 120 pairs and an 'uncertain' queue of 60 truly irrelevant pairs (a selection, no
    sample). With `last_mix`, the last of `n_days` days draws its truth from that mix instead (relevance falls).
    Returns the true mean gain of all pairs ("") and of each query source."""
    rng = np.random.default_rng(11)
    days = [date(2026, 5, 1) + timedelta(days=i) for i in range(n_days)]
    labels = get_scheme("esci").labels
    all_truth, sources = [], []
    with Store(path) as store:
        con = store.con
        con.execute("INSERT INTO queues (name, scheme, selection) VALUES ('random-day', 'esci', 'random'),"
                    " ('unsure-day', 'esci', 'uncertain')")
        label_id = 0
        for i, day in enumerate(days):
            pairs = [Pair(query=f"query {q}", product=Product(product_id=f"P{i}-{q}-{d}", title=f"item {d}"),
                          query_id=f"d{i}q{q}", pair_id=f"d{i}q{q}-{d}",
                          segments={"query_source": "organic" if q < 40 else "ads"})
                     for q in range(60) for d in range(10)]
            mix = last_mix if last_mix is not None and i == n_days - 1 else TRUE_MIX
            truth = rng.choice(4, size=len(pairs), p=mix)
            all_truth.append(truth)
            sources += [p.segments["query_source"] for p in pairs]
            judged = optimistic_judge(truth, rng)
            store.add_pairs(pairs)
            run_id = store.start_run("lexical@0123456789ab", f"day-{day}.csv")
            store.save_judgments(run_id, "esci", [Judgment(p.pair_hash, "lexical@0123456789ab", labels[j], None)
                                                  for p, j in zip(pairs, judged)], [""] * len(pairs))
            store.finish_run(run_id, n_pairs=len(pairs), n_cached=0)
            noon = datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
            con.execute("UPDATE judgments SET created = ? WHERE run_id = ?", [noon, run_id])
            sampled = rng.choice(len(pairs), size=120, replace=False)
            unsure = [r for r in np.flatnonzero(truth == 3) if r not in set(sampled)][:60]
            for queue, rows in (("random-day", sampled), ("unsure-day", unsure)):
                for r in rows:
                    label_id += 1
                    con.execute("INSERT INTO queue_items (queue, item_id, pair_hash) VALUES (?, ?, ?)",
                                [queue, label_id, pairs[r].pair_hash])
                    con.execute("INSERT INTO annotator_labels (label_id, queue, item_id, pair_hash, annotator_id,"
                                " label, cant_judge) VALUES (?, ?, ?, ?, 'carol', ?, false)",
                                [label_id, queue, label_id, pairs[r].pair_hash, labels[truth[r]]])
    gain, sources = GAINS[np.concatenate(all_truth)], np.array(sources)
    return path, days, {"": float(gain.mean()), **{s: float(gain[sources == s].mean()) for s in ("organic", "ads")}}


@pytest.fixture(scope="module")
def queued_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[date], float]:
    return _store_with_queues(tmp_path_factory.mktemp("corrected") / "store.duckdb")


def test_the_report_corrects_with_random_queues_only(queued_store) -> None:
    path, days, true_gains = queued_store
    true_gain = true_gains[""]
    with Store(path) as store:
        report = build_report(store.con, ReportOptions(until=days[-1], by=("query_source",)), str(path))
    window = report.corrected["window"]["mean_gain"]
    assert [d["day"] for d in report.corrected["days"]] == days
    assert window["n"] == 240 and window["N"] == 1200 and report.corrected["window"]["judged_share"] == 1.0
    assert window["interval"][0] <= true_gain <= window["interval"][1]
    assert window["judge"] > window["interval"][1]  # the optimistic judge's own figure lies above it
    assert report.people_window["n"] == 360  # agreement still reads every label people gave
    segments = {s["value"]: s["mean_gain"] for s in report.corrected["segments"]}
    assert sorted(segments) == ["ads", "organic"] and sum(s["n"] for s in segments.values()) == 240
    assert [segments[v]["N"] for v in ("ads", "organic")] == [400, 800]
    for value, gain in segments.items():
        assert gain["interval"][0] <= true_gains[value] <= gain["interval"][1]
    page = report.to_dict()["corrected"]
    assert page["days"][0]["day"] == days[0].isoformat() and page["window"]["mean_gain"]["n"] == 240


def test_the_page_shows_the_corrected_gain(queued_store, tmp_path: Path) -> None:
    from reljudge.report.charts import report_charts
    from reljudge.report.html import render_html

    path, days, _ = queued_store
    with Store(path) as store:
        report = build_report(store.con, ReportOptions(until=days[-1], by=("query_source",)), str(path))
    charts = report_charts(report)
    assert "corrected-gain" in [c.name for c in charts]
    page = render_html(report, charts)
    assert "Mean gain corrected by people" in page and "window (2 days)" in page
    section = page.split('<section id="corrected">')[1].split("</section>")[0]
    assert "By segment, over the window" in section and "query_source = organic" in section
    assert f"{report.corrected['window']['mean_gain']['corrected']:.3f}" in page


def test_the_command_prints_the_corrected_gain(queued_store, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    path, days, true_gains = queued_store
    true_gain = true_gains[""]
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", "report", "--store", str(path), "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    window = json.loads(done.stdout)["corrected"]["window"]["mean_gain"]
    assert window["interval"][0] <= true_gain <= window["interval"][1]
    page = subprocess.run([sys.executable, "-m", "reljudge.cli.main", "report", "--store", str(path), "--output",
                           str(tmp_path / "report.html")], capture_output=True, text=True)
    assert page.returncode == 0, page.stderr
    assert f"corrected by 240 randomly sampled pairs people labelled {window['corrected']:.3f}" in page.stderr


def test_a_label_file_imported_as_a_random_sample_counts_and_others_do_not(tmp_path: Path) -> None:
    import subprocess
    import sys

    path, days, _ = _store_with_queues(tmp_path / "store.duckdb")
    with Store(path) as store:
        rows = store.con.execute(
            "SELECT p.query_id, p.product_id FROM judgments j JOIN pairs p ON p.pair_hash = j.pair_hash"
            " WHERE CAST(j.created AS DATE) = ? AND NOT EXISTS (SELECT 1 FROM queue_items q"
            " WHERE q.pair_hash = j.pair_hash) ORDER BY p.pair_hash LIMIT 80", [days[-1]]).fetchall()
    for name, chosen in (("audit.qrels", rows[:50]), ("other.qrels", rows[50:])):
        (tmp_path / name).write_text("".join(f"{q} 0 {p} 10\n" for q, p in chosen))
    for name, flags in (("audit.qrels", ["--random-sample"]), ("other.qrels", [])):
        done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", "labels", "import", str(tmp_path / name),
                               "--format", "qrels", "--store", str(path), *flags], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    with Store(path) as store:
        report = build_report(store.con, ReportOptions(until=days[-1]), str(path))
    by_day = {d["day"]: d["mean_gain"]["n"] for d in report.corrected["days"]}
    assert by_day == {days[0]: 120, days[1]: 120 + 50}
    assert report.people_window["n"] == 360 + 80  # agreement reads every label


def test_a_fall_in_relevance_people_see_raises_the_gain_alarm(tmp_path: Path) -> None:
    """On the last of eight days the true mix loses half its exact pairs to irrelevant ones; the optimistic judge
    sees part of it. The corrected mean gain's fall alarms on that day, and not as of the day before."""
    path, days, _ = _store_with_queues(tmp_path / "store.duckdb", n_days=8, last_mix=(0.25, 0.25, 0.05, 0.45))
    with Store(path) as store:
        fell = build_report(store.con, ReportOptions(until=days[-1]), str(path))
        calm = build_report(store.con, ReportOptions(until=days[-2]), str(path))
    check = fell.corrected["check"]
    assert check["tested"] and check["alarm"] and check["n_day"] == 120 and check["n_reference"] == 7 * 120
    assert check["fall_interval"][0] > 0.1
    assert "gain_fall" in [a.kind for a in fell.alarms]
    assert calm.corrected["check"]["tested"] and not calm.corrected["check"]["alarm"]
    assert "gain_fall" not in [a.kind for a in calm.alarms]


def test_days_with_fewer_sampled_pairs_than_min_labelled_are_not_corrected(queued_store) -> None:
    path, days, _ = queued_store
    with Store(path) as store:
        enough = build_report(store.con, ReportOptions(until=days[-1], min_labelled=120), str(path))
        short = build_report(store.con, ReportOptions(until=days[-1], min_labelled=121), str(path))
    assert len(enough.corrected["days"]) == 2
    assert short.corrected["days"] == [] and short.corrected["window"] is None
    assert not short.corrected["check"]["tested"]
