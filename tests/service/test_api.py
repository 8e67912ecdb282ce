"""The judging service over HTTP: the same labels as `reljudge judge`, the store's cache, Cohere's rerank shape,
errors that name the field or the limit with nothing stored, health, metrics and the OpenAPI page."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from reljudge.cli.main import app as cli

PRODUCT_FIELDS = {"product_id": "id", "product_title": "title", "product_description": "description",
                  "product_bullet_point": "bullets", "product_brand": "brand", "product_color": "color",
                  "product_locale": "locale"}


def judge_body(frame: pd.DataFrame, ids: list[str]) -> dict:
    """The pairs of a table as /v1/judge takes them."""
    pairs = []
    for row, pair_id in zip(frame.to_dict("records"), ids):
        product = {field: row[column] for column, field in PRODUCT_FIELDS.items() if row.get(column)}
        pairs.append({"id": pair_id, "query": row["query"], "query_id": row["query_id"], "product": product})
    return {"pairs": pairs}


def test_judge_gives_reljudge_judges_labels_then_answers_from_the_store(tmp_path, example_csv, start_server):
    result = CliRunner().invoke(cli, ["judge", str(example_csv), "--judge", "lexical", "--no-store",
                                      "--output", str(tmp_path / "cli.csv")])
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(tmp_path / "cli.csv", dtype={"pair_id": str})
    frame = pd.read_csv(example_csv, dtype=str, keep_default_na=False)
    body = judge_body(frame, expected["pair_id"].tolist())
    served = start_server()

    first = served.post("/v1/judge", json=body).json()
    assert first["judge"]["spec"] == expected["judge"].iloc[0]
    assert first["judge"]["scheme"] == "esci" and first["labels"] == ["E", "S", "C", "I"]
    assert (first["cached"], first["judged"]) == (0, len(frame))
    got = pd.DataFrame([{"pair_id": r["id"], "label": r["label"], **{f"p_{k}": v for k, v in
                                                                        r["probabilities"].items()}}
                        for r in first["results"]])
    assert got["label"].tolist() == expected["label"].tolist()
    for label in "ESCI":
        assert got[f"p_{label}"].to_numpy() == pytest.approx(expected[f"p_{label}"].to_numpy(), abs=1e-9)
    assert served.count("judgments") == len(frame) and served.count("pairs") == len(frame)

    again = served.post("/v1/judge", json=body).json()
    assert (again["cached"], again["judged"]) == (len(frame), 0)
    assert again["results"] == first["results"]
    assert served.count("judgments") == len(frame)


def test_bad_requests_name_the_field_or_the_limit_and_store_nothing(start_server):
    served = start_server(max_batch=3)
    pair = {"query": "usb c charger", "product": {"title": "65W USB C charger"}}
    before = (served.count("pairs"), served.count("judgments"))

    missing = served.post("/v1/judge", json={"pairs": [pair, {"query": "mug", "product": {"titel": "x"}}]})
    assert missing.status_code == 422
    assert "body.pairs.1.product.title: Field required" in missing.json()["message"]
    assert "body.pairs.1.product.titel: Extra inputs are not permitted" in missing.json()["message"]

    twice = served.post("/v1/judge", json={"pairs": [pair | {"id": "a"}, pair | {"id": "a"}]})
    assert twice.status_code == 422 and twice.json()["detail"][0]["loc"] == ["body", "pairs", "1", "id"]

    too_many = served.post("/v1/judge", json={"pairs": [pair] * 4})
    assert too_many.status_code == 413
    assert too_many.json()["message"] == ("4 pairs in one request; this server takes at most 3 "
                                          "(reljudge serve --max-batch)")
    documents = served.post("/v1/rerank", json={"query": "mug", "documents": ["a", "b", "c", "d"]})
    assert documents.status_code == 413
    assert (served.count("pairs"), served.count("judgments")) == before


def test_rerank_speaks_cohere_and_scores_the_expected_gain(start_server):
    served = start_server()
    body = {"model": "ignored", "query": "stainless steel travel mug 16 oz",
            "documents": ["Ceramic dinner plate set, 12 pieces",
                          {"text": "Stainless steel travel mug, 16 oz, leak-proof lid"},
                          {"title": "Travel mug lid replacement", "brand": "LidCo"}],
            "top_n": 2, "return_documents": True, "max_tokens_per_doc": 512}
    reply = served.post("/v1/rerank", json=body)
    assert reply.status_code == 200
    ranked = reply.json()
    assert [set(r) for r in ranked["results"]] == [{"index", "relevance_score", "document"}] * 2
    scores = [r["relevance_score"] for r in ranked["results"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 2
    assert ranked["results"][0]["index"] == 1
    assert ranked["results"][0]["document"] == {"text": "Stainless steel travel mug, 16 oz, leak-proof lid"}

    # the score is sum_k p_k * gain_k with ESCI's gains, from the same pairs' probabilities
    pairs = [{"id": str(i), "query": body["query"], "product": {"title": title}}
             for i, title in enumerate(["Ceramic dinner plate set, 12 pieces",
                                        "Stainless steel travel mug, 16 oz, leak-proof lid",
                                        "Travel mug lid replacement"])]
    pairs[2]["product"]["brand"] = "LidCo"
    judged = served.post("/v1/judge", json={"pairs": pairs}).json()
    assert judged["cached"] == 3  # the rerank's judgments, from the store
    gains = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}
    expected = {int(r["id"]): sum(p * gains[k] for k, p in r["probabilities"].items()) for r in judged["results"]}
    for result in ranked["results"]:
        assert result["relevance_score"] == pytest.approx(expected[result["index"]])

    plain = served.post("/v1/rerank", json={"query": "mug", "documents": ["a mug", "a plate"]}).json()
    assert all("document" not in r for r in plain["results"]) and len(plain["results"]) == 2
    empty = served.post("/v1/rerank", json={"query": "mug", "documents": [{"brand": "x"}]})
    assert empty.status_code == 422 and "needs a non-empty 'text' or 'title'" in empty.json()["message"]


def test_health_metrics_and_openapi(start_server):
    served = start_server()
    assert httpx.get(f"{served.url}/v2/health/live").json() == {"live": True}
    ready = httpx.get(f"{served.url}/v2/health/ready").json()
    assert ready["ready"] is True and ready["judge"].startswith("lexical@")
    served.post("/v1/judge", json={"pairs": [{"query": "mug", "product": {"title": "a mug"}}]})
    served.post("/v1/judge", json={"pairs": []})
    text = httpx.get(f"{served.url}/metrics").text
    assert 'reljudge_http_requests_total{method="POST",route="/v1/judge",status="200"} 1.0' in text
    assert 'reljudge_http_requests_total{method="POST",route="/v1/judge",status="422"} 1.0' in text
    assert 'reljudge_pairs_total{source="judge"} 1.0' in text
    assert "reljudge_http_request_duration_seconds_bucket" in text and "reljudge_judge_ready 1.0" in text
    assert "reljudge_judge_duration_seconds_count 1.0" in text
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert all(name.startswith("reljudge_") for name in names)
    schema = httpx.get(f"{served.url}/openapi.json").json()
    assert {"/v1/judge", "/v1/rerank", "/v2/health/live", "/v2/health/ready", "/v1/queues/{queue}/next"} <= set(
        schema["paths"])
    assert "/signin" not in schema["paths"]
    assert "swagger" in httpx.get(f"{served.url}/docs").text.lower()


def test_judging_needs_a_client_token_and_a_refused_request_stores_nothing(start_server, tmp_path):
    from reljudge.service import people_store
    from reljudge.store import Store

    store = tmp_path / "store.duckdb"
    with Store(store) as the_store:
        annotator = people_store.add_annotator(the_store, "ann")
    served = start_server(store)
    body = {"pairs": [{"query": "mug", "product": {"title": "a mug"}}]}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {annotator}"}):
        refused = httpx.post(f"{served.url}/v1/judge", headers=headers, json=body)
        assert refused.status_code == 401 and "client" in refused.json()["message"], refused.text
        assert httpx.post(f"{served.url}/v1/rerank", headers=headers,
                          json={"query": "mug", "documents": ["a mug"]}).status_code == 401
    assert served.count("judgments") == 0 and served.count("pairs") == 0
    assert served.post("/v1/judge", json=body).status_code == 200
    client_on_the_page = httpx.get(f"{served.url}/v1/queues", headers=served.headers)
    assert client_on_the_page.status_code == 401  # a client's token is no annotator's


def test_an_open_service_judges_without_a_token(start_server):
    served = start_server(open=True)
    reply = httpx.post(f"{served.url}/v1/judge", json={"pairs": [{"query": "mug", "product": {"title": "a mug"}}]})
    assert reply.status_code == 200


def test_a_body_over_the_limit_gets_413_and_a_long_field_is_cut_to_what_the_judge_reads(start_server):
    from reljudge.service.schemas import MAX_FIELD

    served = start_server(max_body=20_000)
    big = {"pairs": [{"query": "mug", "product": {"title": "mug " * 10_000}}]}
    declared = served.post("/v1/judge", json=big)
    assert declared.status_code == 413 and "20,000 bytes" in declared.json()["message"]

    def chunks():  # no Content-Length: the limit holds as the body streams in
        yield b'{"pairs": [{"query": "mug", "product": {"title": "'
        for _ in range(30):
            yield b"mug " * 250
        yield b'"}}]}'

    streamed = httpx.post(f"{served.url}/v1/judge", headers={**served.headers, "Content-Type": "application/json"},
                          content=chunks())
    assert streamed.status_code == 413
    assert served.count("pairs") == 0
    long = {"pairs": [{"query": "mug", "product": {"title": "a" + "g" * 15_000}}]}
    assert served.post("/v1/judge", json=long).status_code == 200
    assert served.query("SELECT length(title) FROM pairs") == [(MAX_FIELD,)]


def test_cohere_clients_v1_and_v2_rerank_against_the_running_service(start_server):
    import cohere

    served = start_server()
    token = served.headers["Authorization"].split()[1]  # Cohere's clients send their key as a bearer token
    documents = ["a red ceramic coffee mug", "a garden hose", "a travel mug, steel"]
    v1 = cohere.Client(api_key=token, base_url=served.url).rerank(query="coffee mug", documents=documents, top_n=2)
    v2 = cohere.ClientV2(api_key=token, base_url=served.url).rerank(model="reljudge", query="coffee mug",
                                                                    documents=documents)
    assert [r.index for r in v1.results] == [r.index for r in v2.results][:2]
    assert v2.results[0].index != 1 and len(v2.results) == 3  # the hose is not the best match
    assert all(r.relevance_score is not None for r in v2.results)
    with pytest.raises(cohere.core.ApiError) as refused:
        cohere.ClientV2(api_key="rjt_wrong", base_url=served.url).rerank(model="m", query="mug", documents=["a"])
    assert refused.value.status_code == 401


def test_a_service_counts_its_run_as_it_serves(start_server):
    served = start_server()
    for title in ("a mug", "a plate"):
        served.post("/v1/judge", json={"pairs": [{"query": "mug", "product": {"title": title}}]})
    assert served.query("SELECT n_pairs, status FROM runs WHERE input = 'reljudge serve'") == [(2, "running")]
