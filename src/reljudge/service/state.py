"""What every request of the service shares: the store, the judge once loaded, the queues' state and the metrics.

The store is one DuckDB connection, which is not safe to use from two threads at once; so every piece of work that
touches it runs on one worker thread that owns it (`run`; a judge batch's lookup and save after the people's
requests waiting, `run_later`: service/worker.py), and the event loop stays free to
accept requests and answer health checks meanwhile. (Threads taking turns at a lock did the same work slower: 50
of them waking for each release.) The judge computes on a thread of its own (`judging`), between a batch's lookup
and its save on the store's thread (service/batching.py), so a label is taken while a batch is being judged.

Each piece of work is also one turn of the store (store.py). Between turns the service keeps the file open, and
closes it within YIELD_CHECK when another process asks for it: so the daily jobs (`reljudge judge`, `queue add`,
`annotators add`, `report` ...) open the same store between two requests, a request waits up to STORE_WAIT for a
job's turn to end (then 503: retry), and an idle service's requests pay no open and checkpoint each.

The judge loads in a thread of its own when the service opens: /v2/health/live answers at once, /v2/health/ready
once the judge is loaded (KServe's convention), so an orchestrator can tell "starting" from "stuck".
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reljudge.judges import DEFAULT_JUDGE
from reljudge.judges.base import Judge
from reljudge.records import Pair
from reljudge.service.batching import Batcher, Judged, Pending, judge_pending, look_up, record
from reljudge.service.errors import NotReady, TooLarge
from reljudge.service.labelling import Labelling
from reljudge.service.metrics import Metrics
from reljudge.service.worker import LATER, PriorityWorker
from reljudge.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
#: The most pairs of waiting requests judged in one batch (more wait for the next one).
COALESCE_PAIRS = 512
#: Seconds a request waits for another process's turn of the store (a year's report reads for about a minute).
STORE_WAIT = 120.0
#: The input a service's run records.
SERVE_RUN = "reljudge serve"
#: Seconds between two looks for another process waiting for the store the service keeps open between requests.
YIELD_CHECK = 0.1


@dataclass(frozen=True)
class ServiceConfig:
    """How `reljudge serve` was started.

    Attributes:
        judge: the judge spec; judge_options: its family's options (validated when it loads); scheme: a scheme
            to judge in other than the judge's own, or None.
        store: the store file (None: the default store).
        max_batch: the most pairs (or rerank documents) one request may hold; more is refused with 413.
        batch_size: pairs per forward pass of the judge.
        open: judging needs no client token (a service on one's own machine); else `reljudge clients add`'s.
        max_body: the most bytes of one request's body; more is refused with 413.
    """

    judge: str = DEFAULT_JUDGE
    judge_options: dict[str, Any] = field(default_factory=dict)
    scheme: str | None = None
    store: Path | None = None
    max_batch: int = 256
    batch_size: int = 64
    open: bool = False
    max_body: int = 4 * 2**20


def form_secret(store: Path) -> bytes:
    """The key the page's CSRF tokens are signed with: `STORE.form-key` (made on first use, readable by its owner
    only), so a form a page showed before a restart is still taken after it."""
    path = store.with_name(store.name + ".form-key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) >= 32:
            return secret
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)  # a start killed while writing it: write it again
    with os.fdopen(fd, "wb") as f:
        secret = secrets.token_bytes(32)
        f.write(secret)
    return secret


class Service:
    """The shared state of one app: made by `create_app`, opened and closed by its lifespan."""

    def __init__(self, config: ServiceConfig, *, on_load_failure: Callable[[BaseException], None] | None = None):
        self.config = config
        self.metrics = Metrics()
        self.worker = PriorityWorker("reljudge-store")
        #: the judge computes here, touching no store, so people's requests go on meanwhile on the store's thread
        self.judging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reljudge-judge")
        self.csrf_secret = b""  # read in open(): kept beside the store, so open pages' forms survive a restart
        self.store: Store | None = None
        self.labelling: Labelling | None = None
        self.judge: Judge | None = None
        self.load_error: str | None = None
        self.run_id: str | None = None
        self.served = {"pairs": 0, "cached": 0}
        #: (token sha256, role) -> (name, when last found valid), for the tokens seen valid (auth.annotator_of)
        self.signed_in: dict[tuple[str, str], tuple[str, float]] = {}
        self._on_load_failure = on_load_failure
        self._loader: threading.Thread | None = None
        self._yielder: threading.Thread | None = None
        self._closing = threading.Event()
        self.batcher: Batcher | None = None

    def open(self) -> None:
        """Open the store and start loading the judge."""
        self.store = self.call(Store, self.config.store, shared=True, linger=True, wait=STORE_WAIT)
        self.csrf_secret = form_secret(self.store.path)
        self._yielder = threading.Thread(target=self._yield_when_asked, name="reljudge-store-yield", daemon=True)
        self._yielder.start()
        self.labelling = Labelling(self.store)
        self._loader = threading.Thread(target=self._load, name="reljudge-judge-loader", daemon=True)
        self._loader.start()

    def _yield_when_asked(self) -> None:
        """Every YIELD_CHECK seconds, have the store's thread close the file if another process waits for it."""
        while not self._closing.wait(YIELD_CHECK):
            store = self.store
            if store is not None:
                self.worker.submit(store.yield_if_asked)

    def _load(self) -> None:
        from reljudge.judges.registry import load_judge

        try:
            options = dict(self.config.judge_options)
            if self.config.scheme:
                options["scheme"] = self.config.scheme
            judge = load_judge(self.config.judge, **options)
            self.call(self.store.interrupt_runs, SERVE_RUN)  # an earlier service killed on this store
            self.run_id = self.call(self.store.start_run, judge.identity, SERVE_RUN)
        except Exception as exc:
            # any failure must reach /v2/health/ready and the log, not end the thread silently
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("the judge %s could not be loaded: %s", self.config.judge, self.load_error)
            if self._on_load_failure is not None:
                self._on_load_failure(exc)
            return
        self.judge = judge
        self.metrics.ready.set(1)
        log.info("judge %s loaded; ready", judge.spec)

    def close(self) -> None:
        """Record the run's totals and close the store (waiting for a judge still loading)."""
        self._closing.set()
        if self._loader is not None:
            self._loader.join()
        if self.store is not None:
            if self.run_id is not None:
                self.call(self.store.finish_run, self.run_id, n_pairs=self.served["pairs"],
                          n_cached=self.served["cached"])
            self.call(self.store.close)
            self.store = None
        self.worker.shutdown()
        self.judging.shutdown()

    def require_judge(self) -> Judge:
        if self.judge is None:
            raise NotReady(f"the judge could not be loaded ({self.load_error})" if self.load_error
                           else "the judge is loading; retry when /v2/health/ready answers 200")
        return self.judge

    def check_batch(self, n: int, what: str) -> None:
        if n > self.config.max_batch:
            raise TooLarge(f"{n} {what} in one request; this server takes at most {self.config.max_batch} "
                           "(reljudge serve --max-batch)")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `fn` in one turn of the store on the worker thread that owns the store, and wait for it without
        blocking."""
        return await asyncio.wrap_future(self.worker.submit(self._in_turn, fn, *args, **kwargs))

    async def run_later(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`run`, after the people's requests waiting: for a judge batch's lookup and save."""
        return await asyncio.wrap_future(self.worker.submit(self._in_turn, fn, *args, priority=LATER, **kwargs))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`run` for a caller outside the event loop (the judge loader, shutdown, tests): blocks until done."""
        return self.worker.submit(self._in_turn, fn, *args, **kwargs).result()

    def _in_turn(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.store is None:
            return fn(*args, **kwargs)
        with self.store.turn():
            return fn(*args, **kwargs)

    def _record(self, pending: Pending) -> list[Judged]:
        """A batch's save, and the run's counts so far, in one turn of the store."""
        results = record(self.store, pending, run_id=self.run_id, scheme=self.judge.scheme.name)
        self.served["pairs"] += sum(r.n_cached + r.n_judged for r in results)
        self.served["cached"] += sum(r.n_cached for r in results)
        if self.run_id is not None:
            self.store.count_run(self.run_id, n_pairs=self.served["pairs"], n_cached=self.served["cached"])
        return results

    async def judge_pairs(self, pairs: Sequence[Pair]) -> Judged:
        """A request's judgments, judged with whatever other requests are waiting (see batching.py)."""
        self.require_judge()
        if self.batcher is None:
            self.batcher = Batcher(self._judge_batch, max(COALESCE_PAIRS, self.config.max_batch))
        return await self.batcher.judge(pairs)

    async def _judge_batch(self, requests: list[Sequence[Pair]]) -> list[Judged]:
        pending = await self.run_later(look_up, self.judge, self.store, requests)
        pending = await asyncio.get_running_loop().run_in_executor(
            self.judging, functools.partial(judge_pending, self.judge, pending, self.config.batch_size))
        results = await self.run_later(self._record, pending)
        seconds = pending.seconds
        cached = sum(r.n_cached for r in results)
        judged = sum(r.n_judged for r in results)
        self.metrics.pairs.labels(source="cache").inc(cached)
        self.metrics.pairs.labels(source="judge").inc(judged)
        self.metrics.batch_requests.observe(len(requests))
        if judged:
            self.metrics.judge_seconds.observe(seconds)
        return results
