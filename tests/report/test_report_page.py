"""The report page as a reader opens it: self-contained, every chart titled with labelled axes, values escaped,
and in headless Chromium (Debian's package, driven by playwright) it loads nothing from anywhere else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reljudge.report import ReportOptions, build_report
from reljudge.report.charts import chart_titles, report_charts
from reljudge.report.html import render_html
from reljudge.store import Store
from tests.report.conftest import SHIFTED_DAY

CHROMIUM = Path("/usr/bin/chromium")
PAIRS = Path(__file__).resolve().parents[1] / "fixtures" / "pairs.csv"


@pytest.fixture(scope="module")
def page(drift_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    with Store(drift_store) as store:
        report = build_report(store.con, ReportOptions(until=SHIFTED_DAY, by=("query_source",)), str(drift_store))
    charts = report_charts(report)
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(render_html(report, charts), encoding="utf-8")
    return path, charts


def test_every_chart_has_a_title_and_axis_titles(page) -> None:
    _, charts = page
    assert [c.name for c in charts] == ["volume", "label-mix", "mean-gain", "mean-gain-by-query_source", "alpha",
                                        "confusion"]
    for chart in charts:
        title, axes = chart_titles(chart.spec)
        assert title, chart.name
        assert len(axes) >= 2 and all(axes), chart.name


def test_the_page_is_self_contained(page) -> None:
    html = page[0].read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    # the only URLs are SVG's XML namespaces, which nothing fetches
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {"http://www.w3.org/2000/svg",
                                                              "http://www.w3.org/1999/xlink"}
    for anchor in ("alarms", "volume", "mix", "drift", "people", "notes"):
        assert f'<section id="{anchor}"' in html
    assert html.index('id="alarms"') < html.index('id="volume"')  # alarms come first


def test_values_from_the_store_are_escaped(tmp_path: Path) -> None:
    pairs = pd.read_csv(PAIRS, dtype=str, keep_default_na=False)
    pairs["query_source"] = "<script>alert(1)</script>"
    source = tmp_path / "pairs.csv"
    pairs.to_csv(source, index=False)
    store, output = tmp_path / "store.duckdb", tmp_path / "report.html"
    run = [sys.executable, "-m", "reljudge.cli.main"]
    subprocess.run([*run, "judge", source, "--judge", "lexical", "--output", tmp_path / "j.csv", "--store", store],
                   check=True, capture_output=True)
    done = subprocess.run([*run, "report", "--store", store, "--by", "query_source", "--output", output],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # one day: nothing to compare, so no alarm
    html = output.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_page_in_headless_chromium(page, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to open the page")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package drives the browser")
    path, charts = page
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            tab = browser.new_page(viewport={"width": 1366, "height": 900})
            requests: list[str] = []
            tab.on("request", lambda request: requests.append(request.url))
            tab.goto(path.as_uri())
            tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            figures = tab.eval_on_selector_all("figure.chart", """figures => figures.map(f => ({
                id: f.id,
                title: [...f.querySelectorAll('.role-title-text')].map(t => t.textContent),
                axes: [...f.querySelectorAll('.role-axis-title')].map(t => t.textContent)}))""")
            alarms = tab.inner_text("#alarms h2")
        finally:
            browser.close()
    assert requests == [path.as_uri()]
    assert [f["id"] for f in figures] == [f"chart-{c.name}" for c in charts]
    for figure in figures:
        assert figure["title"] and figure["title"][0], figure["id"]
        assert len(figure["axes"]) >= 2 and all(figure["axes"]), figure["id"]
    assert f"alarms on {SHIFTED_DAY}" in alarms
    assert (tmp_path / "report.png").stat().st_size > 50_000
