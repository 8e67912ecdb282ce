"""The service under uvicorn on 127.0.0.1 (a free port, in a thread of the test process), called over HTTP.

Annotators and queues are made in the store before the server opens it, as a user does with the CLI (a user may
also make them while it runs: test_whole_day.py). Checks on what the store holds run on the server's own store
thread, in its turn of the store.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.records import Pair, Product
from reljudge.service import people_store
from reljudge.service.app import create_app
from reljudge.service.queues import add_queue
from reljudge.service.state import Service, ServiceConfig
from reljudge.store import Store

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PAIRS = REPO / "examples" / "pairs.csv"
EVIL_TITLE = '<script>window.__reljudge_xss = 1</script> Evil & "quoted" kettle'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    service: Service
    server: object
    thread: threading.Thread
    #: an API client's bearer token, as /v1/judge and /v1/rerank want it
    headers: dict[str, str]

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        """Read the server's store on the thread that owns it."""
        return self.service.call(lambda: self.service.store.con.execute(sql, params or []).fetchall())

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        """POST as the judging client."""
        return httpx.post(f"{self.url}{path}", headers=self.headers, **kwargs)

    def count(self, table: str) -> int:
        return self.query(f"SELECT count(*) FROM {table}")[0][0]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def serve(store: Path, **config: object) -> Served:
    """Start the app under uvicorn and wait until the judge is loaded."""
    import uvicorn

    with Store(store) as the_store:  # a judging client, as `reljudge clients add` makes one
        token = people_store.add_annotator(the_store, f"client-{secrets.token_hex(4)}", people_store.CLIENT)
    app = create_app(ServiceConfig(judge="lexical", store=store, **config))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return Served(url, app.state.service, server, thread, {"Authorization": f"Bearer {token}"})
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.should_exit = True
    raise RuntimeError(f"the service did not get ready at {url}")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(store: Path | None = None, **config: object) -> Served:
        served = serve(store or tmp_path / "store.duckdb", **config)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def example_pairs(*, labelled: bool = False) -> list[Pair]:
    pairs = read_pairs(EXAMPLE_PAIRS, scheme=get_scheme("esci")).pairs
    return pairs if labelled else [replace(p, label=None) for p in pairs]


def synthetic_pairs(n_queries: int, per_query: int) -> list[Pair]:
    """Distinct unlabelled pairs, `per_query` candidates for each of `n_queries` queries."""
    colours = ["red", "blue", "green", "black", "white", "grey", "pink", "steel"]
    pairs = []
    for q in range(n_queries):
        query = f"{colours[q % len(colours)]} travel mug {q}"
        for i in range(per_query):
            title = f"{colours[(q + i) % len(colours)]} {'travel mug' if i % 3 else 'kettle'} model {q}-{i}"
            pairs.append(Pair(query, Product(f"P{q}-{i}", title, brand=f"Brand{i % 5}"), query_id=f"q{q}",
                              pair_id=f"{q}-{i}"))
    return pairs


def make_queue(store_path: Path, pairs: list[Pair], *, name: str, annotators: list[str], select: str = "random",
               n: int | None = None, overlap: float = 0.0, reviewers: tuple[str, ...] = ()) -> dict[str, str]:
    """A queue of `pairs` and annotators (those in `reviewers` reviewers) in a store file; returns each annotator's
    token."""
    with Store(store_path) as store:
        add_queue(store, load_judge("lexical"), pairs, name=name, select=select, n=n or len(pairs), overlap=overlap,
                  source="test")
        return {who: people_store.add_annotator(store, who, people_store.REVIEWER if who in reviewers
                                                else people_store.ANNOTATOR) for who in annotators}


@pytest.fixture(name="example_pairs")
def example_pairs_fixture() -> Callable[..., list[Pair]]:
    return example_pairs


@pytest.fixture(name="synthetic_pairs")
def synthetic_pairs_fixture() -> Callable[[int, int], list[Pair]]:
    return synthetic_pairs


@pytest.fixture(name="make_queue")
def make_queue_fixture() -> Callable[..., dict[str, str]]:
    return make_queue


@pytest.fixture
def evil_title() -> str:
    return EVIL_TITLE


@pytest.fixture
def example_csv() -> Path:
    """examples/pairs.csv: 28 labelled pairs of 5 queries, shipped with reljudge."""
    return EXAMPLE_PAIRS


@pytest.fixture
def ram_dir() -> Iterator[Path | None]:
    """A directory on tmpfs (/dev/shm) removed afterwards, or None where the machine has none."""
    import shutil
    import tempfile

    if not Path("/dev/shm").is_dir():
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="reljudge-test-", dir="/dev/shm"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)
