"""The commands of the human loop: annotators, queues, labels out, and `reljudge serve` as a process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pandas as pd
from typer.testing import CliRunner

from reljudge.cli.main import app as cli
from reljudge.io import read_annotations
from reljudge.labels import get_scheme
from reljudge.service import people_store
from reljudge.service.labelling import Labelling
from reljudge.store import Store


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_annotators_get_a_token_once_and_can_be_listed_and_revoked(tmp_path):
    store = str(tmp_path / "s.duckdb")
    added = run("annotators", "add", "ann", "--store", store)
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert token.startswith("rjt_") and "shown only now" in added.stderr
    with Store(store) as the_store:
        assert people_store.annotator_for_token(the_store, token) == "ann"
    again = run("annotators", "add", "ann", "--store", store)
    assert again.exit_code == 2 and "annotator 'ann' exists already" in again.stderr
    listed = run("annotators", "list", "--store", store, "--json")
    assert '"annotator": "ann"' in listed.stdout and token not in listed.stdout
    assert run("annotators", "revoke", "ann", "--store", store).exit_code == 0
    with Store(store) as the_store:
        assert people_store.annotator_for_token(the_store, token) is None


def test_queue_add_then_labels_export_in_the_long_form(tmp_path, example_csv):
    store = str(tmp_path / "s.duckdb")
    frame = pd.read_csv(example_csv, dtype=str, keep_default_na=False)
    frame.insert(0, "pair_id", [f"row{i}" for i in range(len(frame))])
    frame.drop(columns=["esci_label"]).to_csv(tmp_path / "unlabelled.csv", index=False)
    made = run("queue", "add", str(tmp_path / "unlabelled.csv"), "--name", "week1", "--select", "uncertain",
               "--n", "6", "--overlap", "0.5", "--judge", "lexical", "--store", store)
    assert made.exit_code == 0, made.output
    assert "queue week1: 6 pairs chosen by uncertain:entropy" in made.stderr and "3 go to two annotators" in made.stderr
    bad = run("queue", "add", str(example_csv), "--name", "x", "--select", "nearest", "--n", "3", "--judge", "lexical",
              "--store", store)
    assert bad.exit_code == 2 and "--select 'nearest': use one of uncertain, random, disagreement" in bad.stderr
    audit = run("queue", "add", str(example_csv), "--name", "audit", "--select", "disagreement", "--n", "3",
                "--judge", "lexical", "--store", store)
    assert audit.exit_code == 0, audit.output
    listed = run("queue", "list", "--store", store, "--json")
    assert [line.count('"name"') for line in listed.stdout.splitlines()] == [1, 1]

    with Store(store) as the_store:
        labelling = Labelling(the_store)
        for who, label in (("ann", "E"), ("ann", "S"), ("bob", "I")):
            labelling.answer("week1", who, labelling.next_pair("week1", who).item_id, label=label)
    exported = run("labels", "export", "--queue", "week1", "--output", str(tmp_path / "labels.csv"), "--store", store)
    assert exported.exit_code == 0, exported.output
    assert "wrote 3 labels of queue week1" in exported.stderr
    long_form = read_annotations(tmp_path / "labels.csv", scheme=get_scheme("esci"))
    assert long_form["annotator"].tolist() == ["ann", "ann", "bob"]
    assert set(long_form["pair_id"]) <= set(frame["pair_id"])  # the ids of the file the queue was made from
    evaluated = run("evaluate", str(example_csv), "--judge", "lexical", "--no-store", "--annotations",
                    str(tmp_path / "labels.csv"))
    assert evaluated.exit_code == 0, evaluated.output
    missing = run("labels", "export", "--queue", "nope", "--output", str(tmp_path / "x.csv"), "--store", store)
    assert missing.exit_code == 2 and "no queue 'nope'" in missing.stderr


def test_serve_runs_until_interrupted_and_records_its_run(tmp_path):
    import socket

    store = tmp_path / "s.duckdb"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "reljudge.cli.main", "serve", "--judge", "lexical",
                                "--store", str(store), "--port", str(port), "--open"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        reply = httpx.post(f"{url}/v1/judge", json={"pairs": [{"query": "mug", "product": {"title": "a mug"}}]})
        assert reply.status_code == 200 and reply.json()["results"][0]["label"] in "ESCI"
        beside = run("annotators", "add", "carl", "--store", str(store))  # the server holds the store only per request
        assert beside.exit_code == 0, beside.output
        token = beside.stdout.strip().split()[-1]
        queues = httpx.get(f"{url}/v1/queues", headers={"Authorization": f"Bearer {token}"})
        assert queues.status_code == 200, queues.text  # the running server knows the annotator added beside it
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "labelling page: http://127.0.0.1:" in stderr and "Application shutdown complete" in stderr
    assert "WARNING: --open: /v1/judge and /v1/rerank answer anyone" in stderr
    with Store(store) as the_store:
        runs = the_store.runs()
    assert [(r.input, r.status, r.n_pairs) for r in runs] == [("reljudge serve", "done", 1)]
    assert runs[0].identity is not None and runs[0].identity.spec.startswith("lexical@")


def test_clients_are_accounts_of_their_own(tmp_path):
    store = str(tmp_path / "s.duckdb")
    client = run("clients", "add", "search-ci", "--store", store)
    assert client.exit_code == 0 and "Authorization: Bearer" in client.stderr
    assert run("annotators", "add", "ann", "--store", store).exit_code == 0
    assert [json.loads(line)["client"] for line in
            run("clients", "list", "--json", "--store", store).stdout.splitlines()] == ["search-ci"]
    assert [json.loads(line)["annotator"] for line in
            run("annotators", "list", "--json", "--store", store).stdout.splitlines()] == ["ann"]
    with Store(store) as the_store:
        assert people_store.annotator_for_token(the_store, client.stdout.strip(), people_store.CLIENT) == "search-ci"
        assert people_store.annotator_for_token(the_store, client.stdout.strip()) is None  # no annotator's token
    assert run("annotators", "revoke", "search-ci", "--store", store).exit_code == 2  # not an annotator
    assert run("clients", "revoke", "search-ci", "--store", store).exit_code == 0
