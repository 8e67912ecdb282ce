"""Labelling over HTTP: tokens and CSRF guard every write, text is escaped, and 50 annotators at once lose nothing."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx

from reljudge.records import Pair, Product

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in_browser(url: str, token: str) -> httpx.Client:
    """A client that signed in through the page's form, as a browser does (cookies kept)."""
    client = httpx.Client(base_url=url)
    page = client.get("/signin")
    reply = client.post("/signin", data={"token": token, "csrf_token": CSRF.search(page.text).group(1)})
    assert reply.status_code == 303 and reply.headers["location"] == "/queues"
    return client


def test_no_token_gets_401_and_stores_nothing(tmp_path, start_server, make_queue, example_pairs):
    tokens = make_queue(tmp_path / "store.duckdb", example_pairs(), name="q", annotators=["ann"], n=5,
                        reviewers=("ann",))
    served = start_server()
    api = f"{served.url}/v1/queues/q"
    for headers in ({}, {"Authorization": "Bearer rjt_not-a-token"}, {"Authorization": tokens["ann"]}):
        assert httpx.get(f"{api}/next", headers=headers).status_code == 401
        reply = httpx.post(f"{api}/answers", json={"item_id": 0, "label": "E"}, headers=headers)
        assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
    form = httpx.post(f"{served.url}/queues/q/answer", data={"item_id": "0", "label": "E", "csrf_token": "x"})
    assert form.status_code == 401 and "Sign in" in form.text
    assert served.count("annotator_labels") == 0
    assert httpx.get(f"{api}/agreement").status_code == 401
    signed = {"Authorization": f"Bearer {tokens['ann']}"}
    shown = httpx.get(f"{api}/next", headers=signed).json()
    assert shown["guideline"] == "esci/v1" and shown["product"]["title"]
    assert httpx.post(f"{api}/answers", json={"item_id": shown["item_id"], "label": "S"}, headers=signed
                      ).status_code == 201
    again = httpx.post(f"{api}/answers", json={"item_id": shown["item_id"], "label": "E"}, headers=signed)
    assert again.status_code == 409 and "undo to change it" in again.json()["message"]
    wrong = httpx.post(f"{api}/answers", json={"item_id": 1, "label": "maybe"}, headers=signed)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "label"]
    figures = httpx.get(f"{api}/agreement", headers=signed).json()
    assert figures["annotators"] == [{"annotator": "ann", "labels": 1, "cant_judge": 0,
                                      "median_seconds": figures["annotators"][0]["median_seconds"]}]
    assert figures["among"]["n_shared"] == 0 and figures["judge"]["n"] == 1


def test_form_posts_need_the_pages_csrf_token(tmp_path, start_server, make_queue, example_pairs):
    tokens = make_queue(tmp_path / "store.duckdb", example_pairs(), name="q", annotators=["ann"], n=5)
    served = start_server()
    browser = signed_in_browser(served.url, tokens["ann"])
    page = browser.get("/queues/q")
    item = re.search(r'name="item_id" value="(\d+)"', page.text).group(1)
    for given in ({}, {"csrf_token": "forged"}):
        refused = browser.post("/queues/q/answer", data={"item_id": item, "label": "E", **given})
        assert refused.status_code == 403 and "CSRF token is missing or stale" in refused.text
        assert browser.post("/queues/q/undo", data=given).status_code == 403
    assert served.count("annotator_labels") == 0
    # another browser's token does not pass either (it is bound to that browser's nonce)
    other = httpx.Client(base_url=served.url)
    foreign = CSRF.search(other.get("/signin").text).group(1)
    assert browser.post("/queues/q/answer", data={"item_id": item, "label": "E", "csrf_token": foreign}
                        ).status_code == 403
    accepted = browser.post("/queues/q/answer", data={"item_id": item, "label": "E",
                                                      "csrf_token": CSRF.search(page.text).group(1)})
    assert accepted.status_code == 303
    assert served.query("SELECT annotator_id, label, guideline FROM annotator_labels") == [("ann", "E", "esci/v1")]


def test_a_script_in_a_title_is_shown_as_text(tmp_path, start_server, make_queue, evil_title):
    pair = Pair("kettle", Product("X1", evil_title, bullets="<b>bold?</b>", brand="<img src=x onerror=alert(1)>"),
                query_id="qx", pair_id="evil")
    tokens = make_queue(tmp_path / "store.duckdb", [pair], name="xss", annotators=["ann"])
    served = start_server()
    page = signed_in_browser(served.url, tokens["ann"]).get("/queues/xss").text
    assert "<script>window.__reljudge_xss" not in page and "<img src=x" not in page and "<b>bold?</b>" not in page
    assert "&lt;script&gt;window.__reljudge_xss = 1&lt;/script&gt; Evil &amp; &#34;quoted&#34; kettle" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_fifty_annotators_at_once_label_a_thousand_pairs_each_exactly_once(tmp_path, ram_dir, start_server,
                                                                             make_queue, synthetic_pairs):
    pairs = synthetic_pairs(50, 20)
    names = [f"a{i:02d}" for i in range(50)]
    # on tmpfs where there is one: each label is a commit, and what is checked here is that none is lost or
    # doubled, not how fast this machine's disk syncs
    store = (ram_dir if ram_dir is not None else tmp_path) / "store.duckdb"
    tokens = make_queue(store, pairs, name="big", annotators=names)
    served = start_server(store)

    async def annotate(name: str) -> list[int]:
        """One annotator: their own client (one connection), at most as many turns as there are pairs."""
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        done = []
        async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=60) as client:
            for _ in range(len(pairs)):
                shown = await client.get("/v1/queues/big/next")
                if shown.status_code == 204:
                    return done
                item = shown.json()["item_id"]
                answered = await client.post("/v1/queues/big/answers", json={"item_id": item,
                                                                              "label": "ESCI"[item % 4]})
                assert answered.status_code == 201, answered.text
                done.append(item)
        raise AssertionError(f"{name} was still being served pairs after {len(pairs)} turns")

    async def crowd() -> list[list[int]]:
        return await asyncio.wait_for(asyncio.gather(*(annotate(name) for name in names)), timeout=120)

    started = time.perf_counter()
    done = asyncio.run(crowd())
    seconds = time.perf_counter() - started
    claimed = [item for items in done for item in items]
    assert sorted(claimed) == list(range(len(pairs)))  # every pair answered once, by whoever it was shown to
    assert sum(1 for items in done if items) > 1  # the work was shared
    rows = served.query("SELECT item_id, count(*), any_value(label) FROM annotator_labels GROUP BY item_id")
    assert len(rows) == len(pairs) and all(n == 1 for _, n, _ in rows)
    assert all(label == "ESCI"[item % 4] for item, _, label in rows)
    assert served.count("annotator_labels") == len(pairs)
    assert 'reljudge_annotator_answers_total{kind="label"} 1000.0' in httpx.get(f"{served.url}/metrics").text
    print(f"\n50 annotators labelled {len(pairs)} pairs in {seconds:.1f} s ({2 * len(pairs) / seconds:.0f} requests/s)")


def test_an_annotator_revoked_by_another_process_is_refused_while_the_service_runs(tmp_path, start_server,
                                                                                    make_queue, example_pairs,
                                                                                    monkeypatch):
    import subprocess
    import sys

    from reljudge.service import auth

    monkeypatch.setattr(auth, "TOKEN_RECHECK", 0.0)
    store = tmp_path / "store.duckdb"
    tokens = make_queue(store, example_pairs(), name="q", annotators=["ann"])
    served = start_server(store)
    headers = {"Authorization": f"Bearer {tokens['ann']}"}
    assert httpx.get(f"{served.url}/v1/queues", headers=headers).status_code == 200
    revoked = subprocess.run([sys.executable, "-m", "reljudge.cli.main", "annotators", "revoke", "ann", "--store",
                              str(store)], capture_output=True, text=True, timeout=120)
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{served.url}/v1/queues", headers=headers).status_code == 401


def test_double_labelling_is_blind_until_a_reviewer_looks(tmp_path, start_server, make_queue, example_pairs):
    tokens = make_queue(tmp_path / "store.duckdb", example_pairs()[:4], name="q", annotators=["ann", "bob", "rev"],
                        overlap=1.0, reviewers=("rev",))
    served = start_server()
    api = f"{served.url}/v1/queues/q"
    signed = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}
    shown = httpx.get(f"{api}/next", headers=signed["ann"]).json()
    assert httpx.post(f"{api}/answers", json={"item_id": shown["item_id"], "label": "C"},
                      headers=signed["ann"]).status_code == 201
    for who in ("ann", "bob"):  # neither sees the other's label, before or after answering
        refused = httpx.get(f"{api}/agreement", headers=signed[who])
        assert refused.status_code == 403 and "reljudge annotators add NAME --reviewer" in refused.json()["message"]
        page = signed_in_browser(served.url, tokens[who])
        assert page.get("/queues/q/agreement").status_code == 403
        assert "agreement-link" not in page.get("/queues/q").text
    to_bob = httpx.get(f"{api}/next", headers=signed["bob"]).json()
    assert to_bob["item_id"] == shown["item_id"] and "C" not in json.dumps(to_bob.get("labels", []))
    assert set(to_bob) == {"item_id", "pair_id", "query", "product", "guideline"}  # the pair, no one's label
    figures = httpx.get(f"{api}/agreement", headers=signed["rev"])
    assert figures.status_code == 200 and figures.json()["annotators"][0]["annotator"] == "ann"
    assert "agreement-link" in signed_in_browser(served.url, tokens["rev"]).get("/queues/q").text


def test_pages_forbid_framing_and_foreign_scripts_and_errors_show_no_file_path(tmp_path, start_server, make_queue,
                                                                                example_pairs):
    store = tmp_path / "store.duckdb"
    tokens = make_queue(store, example_pairs()[:3], name="q", annotators=["ann"])
    served = start_server(store)
    page = signed_in_browser(served.url, tokens["ann"]).get("/queues/q")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    missing = httpx.get(f"{served.url}/v1/queues/nope/next", headers={"Authorization": f"Bearer {tokens['ann']}"})
    assert missing.status_code == 404 and "no queue 'nope' in the store" in missing.json()["message"]
    assert str(tmp_path) not in missing.text
    missing_page = signed_in_browser(served.url, tokens["ann"]).get("/queues/nope")
    assert missing_page.status_code == 404 and str(tmp_path) not in missing_page.text


def test_signing_in_comes_back_to_the_queue_asked_for_and_nowhere_else(tmp_path, start_server, make_queue,
                                                                       example_pairs):
    tokens = make_queue(tmp_path / "store.duckdb", example_pairs()[:3], name="q", annotators=["ann"])
    served = start_server()
    with httpx.Client(base_url=served.url) as client:
        asked = client.get("/queues/q")
        assert asked.status_code == 303 and asked.headers["location"] == "/signin?next=%2Fqueues%2Fq"
        page = client.get(asked.headers["location"])
        csrf = CSRF.search(page.text).group(1)
        assert 'name="next" value="/queues/q"' in page.text
        back = client.post("/signin", data={"token": tokens["ann"], "csrf_token": csrf, "next": "/queues/q"})
        assert back.status_code == 303 and back.headers["location"] == "/queues/q"
        away = client.post("/signin", data={"token": tokens["ann"], "csrf_token": csrf,
                                             "next": "//evil.example/queues"})
        assert away.headers["location"] == "/queues"  # no open redirect


def test_a_page_open_across_a_restart_still_takes_its_answer(tmp_path, start_server, make_queue, example_pairs):
    store = tmp_path / "store.duckdb"
    tokens = make_queue(store, example_pairs()[:3], name="q", annotators=["ann"])
    served = start_server(store)
    browser = signed_in_browser(served.url, tokens["ann"])
    page = browser.get("/queues/q")
    item = re.search(r'name="item_id" value="(\d+)"', page.text).group(1)
    served.stop()
    again = start_server(store)  # the form key is kept beside the store: the page's CSRF token still holds
    browser.base_url = httpx.URL(again.url)
    answered = browser.post("/queues/q/answer", data={"item_id": item, "label": "S",
                                                     "csrf_token": CSRF.search(page.text).group(1)})
    assert answered.status_code == 303, answered.text
    assert again.query("SELECT item_id, label FROM annotator_labels") == [(int(item), "S")]


def test_the_page_cookie_is_a_session_that_signing_out_ends(tmp_path, start_server, make_queue, example_pairs):
    tokens = make_queue(tmp_path / "store.duckdb", example_pairs()[:3], name="q", annotators=["ann"])
    served = start_server()
    browser = signed_in_browser(served.url, tokens["ann"])
    cookie = browser.cookies["reljudge_session"]
    assert cookie != tokens["ann"] and tokens["ann"] not in str(served.query("SELECT * FROM sessions"))
    copy = httpx.Client(base_url=served.url, cookies={"reljudge_session": cookie})
    assert copy.get("/queues/q").status_code == 200  # the session signs in whoever holds its cookie ...
    page = browser.get("/queues/q")
    out = browser.post("/signout", data={"csrf_token": CSRF.search(page.text).group(1)})
    assert out.status_code == 303
    assert copy.get("/queues/q").status_code == 303  # ... until signing out ends it, in every copy
    assert served.query("SELECT count(*) FROM sessions WHERE ended IS NOT NULL") == [(1,)]
