"""A whole day on one store, with real parts: `reljudge serve` under uvicorn on 127.0.0.1, two annotators labelling
over HTTP, and the README's daily commands run in a subprocess against the same store at the same time; then a
`kill -9` of the service while people label, and a restart on the same store."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from reljudge.store import Store

ESCI = "ESCI"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reljudge(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "reljudge.cli.main", *args], capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, f"reljudge {' '.join(args)}: {done.stderr}"
    return done


def write_day(path: Path) -> list[dict]:
    """A day's 80 judged pairs: 10 queries, 8 products each."""
    rows = []
    for q in range(10):
        for d in range(8):
            rows.append({"query_id": f"q{q}", "query": f"steel water bottle {q}", "product_id": f"P{q}-{d}",
                         "product_title": f"{'steel water bottle' if d < 4 else 'garden hose'} {q} model {d}",
                         "product_brand": "Acme", "product_locale": "us"})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


class Server:
    """`reljudge serve` in a process of its own, as a team runs it."""

    def __init__(self, store: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reljudge.cli.main", "serve", "--judge", "lexical", "--store", str(store),
             "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.process.kill()
        raise AssertionError(f"the service did not become ready: {self.process.communicate()[1][-2000:]}")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        return self.process.communicate(timeout=60)[1]

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


class Annotator(threading.Thread):
    """Labels a queue over the labelling API until nothing is left, `pause` seconds a pair until `hurry` is set,
    keeping every label id the service acknowledged with 201 and when."""

    def __init__(self, url: str, token: str, queue: str, pause: float = 0.0):
        super().__init__(daemon=True)
        self.url, self.queue, self.pause = url, queue, pause
        self.hurry = threading.Event()  # set: no more pauses
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acknowledged: list[int] = []
        self.times: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=150) as client:
            while True:
                self.hurry.wait(self.pause)
                try:
                    shown = client.get(f"/v1/queues/{self.queue}/next")
                    if shown.status_code == 204:
                        return
                    if shown.status_code != 200:
                        self.failures.append(f"next: {shown.status_code} {shown.text}")
                        return
                    item = shown.json()
                    label = "E" if "bottle" in item["product"]["title"] else "I"
                    answered = client.post(f"/v1/queues/{self.queue}/answers",
                                           json={"item_id": item["item_id"], "label": label})
                except httpx.TransportError:
                    return  # the service was killed
                if answered.status_code != 201:
                    self.failures.append(f"answer: {answered.status_code} {answered.text}")
                    return
                self.acknowledged.append(answered.json()["label_id"])
                self.times.append(time.monotonic())


def stored_label_ids(store: Path) -> set[int]:
    """Read beside the running service, in a turn of the shared store."""
    with Store(store, shared=True) as shared, shared.turn():
        return {i for (i,) in shared.con.execute("SELECT label_id FROM annotator_labels").fetchall()}


def token_of(done: subprocess.CompletedProcess) -> str:
    return done.stdout.strip().split()[-1]


def test_a_whole_day_runs_beside_the_service_and_loses_no_label(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    day = tmp_path / "day.csv"
    rows = write_day(day)
    server = Server(store)
    try:
        # the people section, beside the running service
        tokens = [token_of(reljudge("annotators", "add", name, "--store", str(store))) for name in ("alice", "bob")]
        reljudge("queue", "add", str(day), "--name", "audit-day", "--select", "random", "--n", "40",
                 "--judge", "lexical", "--store", str(store))
        annotators = [Annotator(server.url, token, "audit-day", pause=1.0) for token in tokens]
        for a in annotators:
            a.start()
        # the crontab's and people section's commands, at the same time, in a subprocess of their own
        ratings = tmp_path / "ratings.csv"
        ratings.write_text("query,docid,rating\n" + "".join(
            f"{r['query']},{r['product_id']},{3 if 'bottle' in r['product_title'] else 0}\n" for r in rows[:16]))
        script = tmp_path / "daily.sh"
        cli = f"{sys.executable} -m reljudge.cli.main"
        script.write_text("set -e\n" + "\n".join([
            f"{cli} judge {day} --judge lexical --output {tmp_path / 'judged.parquet'} --store {store}",
            f"{cli} queue add {day} --name uncertain-day --select uncertain --n 5 --judge lexical --store {store}",
            f"{cli} annotators add carol --store {store}",
            f"{cli} labels import {ratings} --format quepid --store {store}",
            f"{cli} labels export {day} --judge lexical --format quepid --output {tmp_path / 'export.csv'} "
            f"--store {store}",
            f"{cli} report --store {store} --output {tmp_path / 'midday.html'}",
            f"{cli} store info --store {store}",
            f"{cli} store runs --store {store}",
        ]) + "\n")
        started = time.monotonic()
        daily = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
        ended = time.monotonic()
        assert daily.returncode == 0, daily.stderr[-3000:]
        for a in annotators:
            assert any(started < t < ended for t in a.times)  # each labelled while the daily commands ran
            a.hurry.set()
        for a in annotators:
            a.join(timeout=300)
        assert not any(a.failures for a in annotators), [a.failures for a in annotators]
        acknowledged = [i for a in annotators for i in a.acknowledged]
        assert len(acknowledged) == 40 and len(set(acknowledged)) == 40  # every queued pair labelled once
        assert set(acknowledged) <= stored_label_ids(store)
        report = reljudge("report", "--store", str(store), "--json", "--output", str(tmp_path / "day.html"),
                          check=False)
    finally:
        stderr = server.stop()
    assert "Application shutdown complete" in stderr
    assert report.returncode in (0, 1), report.stderr  # 1: an alarm, which a first day cannot raise anyway
    figures = json.loads(report.stdout)
    assert sum(v["n"] for v in figures["volume"]) >= 80  # the day's judgments
    assert figures["people"]["window"]["n"] >= 40  # the people's labels, against the judge
    corrected = figures["corrected"]["window"]["mean_gain"]
    assert corrected["n"] == 40 and corrected["interval"][0] <= corrected["corrected"] <= corrected["interval"][1]
    with Store(store) as the_store:
        judged = the_store.con.execute("SELECT count(*), count(DISTINCT (pair_hash, judge, context))"
                                       " FROM judgments").fetchall()[0]
        imported = the_store.con.execute("SELECT count(*) FROM human_labels WHERE annotator <> 'input'"
                                         ).fetchall()[0][0]
        annotators_known = {a for (a,) in the_store.con.execute("SELECT annotator_id FROM annotators").fetchall()}
    assert judged[0] == judged[1]  # no judgment written twice
    assert imported == 16 and annotators_known == {"alice", "bob", "carol"}


def test_a_killed_service_loses_no_acknowledged_label(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    day = tmp_path / "day.csv"
    write_day(day)
    tokens = [token_of(reljudge("annotators", "add", name, "--store", str(store))) for name in ("alice", "bob")]
    reljudge("queue", "add", str(day), "--name", "audit-day", "--select", "random", "--n", "60", "--judge",
             "lexical", "--store", str(store))
    server = Server(store)
    annotators = [Annotator(server.url, token, "audit-day") for token in tokens]
    for a in annotators:
        a.start()
    deadline = time.monotonic() + 120
    while sum(len(a.acknowledged) for a in annotators) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-labelling: requests may be in flight
    for a in annotators:
        a.join(timeout=60)
    before = [i for a in annotators for i in a.acknowledged]
    assert 10 <= len(before) < 60 and not any(a.failures for a in annotators)
    restarted = Server(store)
    try:
        assert set(before) <= stored_label_ids(store)  # nothing acknowledged is lost
        after = [Annotator(restarted.url, token, "audit-day") for token in tokens]
        for a in after:
            a.start()
        for a in after:
            a.join(timeout=300)
        assert not any(a.failures for a in after)
    finally:
        restarted.stop()
    with Store(store) as the_store:
        standing = the_store.con.execute("SELECT count(DISTINCT item_id), count(*) FROM annotator_labels"
                                         " WHERE queue = 'audit-day' AND undoes IS NULL").fetchall()[0]
    assert standing == (60, 60)  # the queue was finished after the restart, each pair labelled once
    with Store(store) as the_store:
        served = sorted(r.status for r in the_store.runs() if r.input == "reljudge serve")
    assert served == ["done", "interrupted"]  # the killed service's run is marked as such by the next one
