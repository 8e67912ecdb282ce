"""The labelling page in a real browser: Debian's chromium driven by playwright (never a downloaded browser).

One annotator signs in, labels five pairs with the keyboard and undoes one; a second labels the overlap; the
agreement view follows. Screenshots go under the test's tmp path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reljudge.records import Pair, Product

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def sign_in(browser, url: str, token: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{url}/queues")
    assert page.url.endswith("/signin?next=%2Fqueues")
    page.fill("#token", token)
    page.click("#signin")
    page.wait_for_url(f"{url}/queues")
    return page


def press(page, key: str) -> None:
    """Press a key that posts a form, and wait for the page the redirect brings."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_label_undo_overlap_and_agreement_in_a_browser(tmp_path, browser, start_server, make_queue, example_pairs,
                                                       evil_title):
    store = tmp_path / "store.duckdb"
    tokens = make_queue(store, example_pairs()[:6], name="first", annotators=["ann", "bob"], overlap=1.0,
                        reviewers=("ann",))
    evil = Pair("kettle", Product("X1", evil_title), query_id="qx", pair_id="evil")
    make_queue(store, [evil], name="evil", annotators=[])
    served = start_server(store)
    ann = sign_in(browser, served.url, tokens["ann"])
    ann.goto(f"{served.url}/queues/first")
    ann.screenshot(path=tmp_path / "1-labelling-page.png", full_page=True)
    assert ann.inner_text("#guideline").startswith("Guideline esci/v1")

    seen = []
    for key in "escie":
        seen.append(ann.get_attribute("#pair", "data-item"))
        press(ann, key)
    assert ann.inner_text("#answered") == "5"
    press(ann, "u")
    assert ann.inner_text("#answered") == "4"
    assert ann.get_attribute("#pair", "data-item") == seen[-1]  # the undone pair is back
    ann.screenshot(path=tmp_path / "2-after-undo.png", full_page=True)
    rows = served.query("SELECT item_id, label FROM annotator_labels WHERE undoes IS NULL ORDER BY label_id")
    assert [label for _, label in rows] == ["E", "S", "C", "I", "E"]  # the undone label stays in the log
    assert served.count("annotator_labels") == 6

    ann.click("#agreement-link")
    assert ann.inner_text("#n-shared") == "0"

    bob = sign_in(browser, served.url, tokens["bob"])
    bob.goto(f"{served.url}/queues/first")
    for key in "eesc":  # the four pairs ann labelled come to bob first: the overlap
        assert bob.get_attribute("#pair", "data-item") in seen[:4]
        press(bob, key)
    bob.screenshot(path=tmp_path / "3-second-annotator.png", full_page=True)

    ann.reload()
    assert ann.inner_text("#n-shared") == "4"
    assert ann.inner_text("#alpha-among").startswith("hidden below 30")
    assert ann.inner_text("#exact-among") == "0.250"  # ann E S C I, bob E E S C: one pair of four agrees
    assert ann.locator("#audit tbody tr").count() >= 1
    ann.screenshot(path=tmp_path / "4-agreement.png", full_page=True)

    ann.goto(f"{served.url}/queues/evil")
    assert ann.inner_text("#title") == evil_title
    assert ann.evaluate("typeof window.__reljudge_xss") == "undefined"
    assert all((tmp_path / name).stat().st_size > 10_000 for name in
               ("1-labelling-page.png", "2-after-undo.png", "3-second-annotator.png", "4-agreement.png"))
