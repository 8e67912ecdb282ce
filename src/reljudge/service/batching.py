"""Requests that wait for the judge together are judged together: one store lookup, one judge call and one commit
for all of them, instead of one each.

Each store round trip costs milliseconds whatever its size (a lookup is a join, a save a transaction), and a judge
runs a batch of 100 pairs nearly as fast as one of 10; so under load, coalescing requests is what keeps throughput
up, as dynamic batching does in model servers. While a batch is being judged the next requests queue, and the
next batch takes all of them (up to `max_pairs`), so a lone request never waits for company.

A request still gets exactly the labels it would get alone, and that `reljudge judge` gives: its query groups are
kept apart from other requests' (a judge that compares a query's candidates sees this request's candidates only),
and the cache keys are the ones `reljudge.infer.batch` uses, through its `lookup` and `save` (the two halves of
`judge_pairs`, which the streaming and Ray drivers share too). The service runs the store's halves (`look_up`,
`record`) on its store thread and the judge's (`judge_pending`) on a thread of its own, so people's requests are
answered while a batch is being judged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from reljudge.errors import JudgingStopped, ReljudgeError
from reljudge.infer.batch import Lookup, lookup, save
from reljudge.judges.base import Judge, judgments
from reljudge.records import Judgment, Pair
from reljudge.store import Store


@dataclass(frozen=True)
class Judged:
    """One request's judgments (aligned with its pairs) and how many of its pairs the store already held."""

    judgments: list[Judgment]
    n_cached: int
    n_judged: int


@dataclass
class Pending:
    """A batch of requests between its lookup and its save: their pairs (query groups kept apart), what the store
    held, and the judgments of what it did not, once judged."""

    requests: Sequence[Sequence[Pair]]
    merged: list[Pair]
    found: Lookup
    held: set
    new: list[Judgment] = field(default_factory=list)
    seconds: float = 0.0
    error: ReljudgeError | None = None


def look_up(judge: Judge, store: Store, requests: Sequence[Sequence[Pair]]) -> Pending:
    """The store's half before judging: which of the requests' pairs it holds (on the thread that owns it)."""
    merged = [dataclasses.replace(p, query_id=f"{r}\x1f{p.query_id}")
              for r, pairs in enumerate(requests) for p in pairs]
    found = lookup(judge, merged, store)
    return Pending(requests, merged, found, set(found.found))


def judge_pending(judge: Judge, pending: Pending, batch_size: int) -> Pending:
    """The judge's half, which touches no store: so it runs on a thread of its own while people's requests use the
    store. A failure keeps what was judged before it, for `record` to save."""
    todo = [pending.merged[i] for i in pending.found.todo]
    started = time.perf_counter()
    try:
        pending.new = judgments(judge, todo, batch_size=batch_size) if todo else []
    except ReljudgeError as exc:
        pending.error = exc
        pending.new = list(exc.judgments) if isinstance(exc, JudgingStopped) else []
    pending.seconds = time.perf_counter() - started
    return pending


def record(store: Store, pending: Pending, *, run_id: str | None, scheme: str) -> list[Judged]:
    """The store's half after judging: save the judgments, then the pairs of requests that needed judging (a
    request the store answered whole writes nothing); each request's result, or the judge's error raised after
    saving what it judged."""
    found = pending.found
    if pending.error is not None:
        kept = [(i, j) for i, j in zip(found.todo, pending.new) if j is not None]
        save(found, [i for i, _ in kept], [j for _, j in kept], store=store, run_id=run_id, scheme=scheme)
        raise pending.error
    save(found, found.todo, pending.new, store=store, run_id=run_id, scheme=scheme)
    results, judged, start = [], [], 0
    for pairs in pending.requests:
        keys = found.keys[start:start + len(pairs)]
        n_cached = sum(key in pending.held for key in keys)
        if n_cached < len(pairs):
            judged.extend(pairs)
        results.append(Judged([found.found[key] for key in keys], n_cached, len(pairs) - n_cached))
        start += len(pairs)
    if judged:
        store.add_pairs(judged)
    return results


def judge_requests(judge: Judge, store: Store, requests: Sequence[Sequence[Pair]], *, run_id: str | None,
                   batch_size: int) -> tuple[list[Judged], float]:
    """Judge several requests' pairs in one pass through the store, the three halves in a row; returns each
    request's result and the seconds spent in the judge. If the judge fails, what it judged before failing is
    saved, as `judge_pairs` does, and the error is raised for every request of the batch."""
    pending = judge_pending(judge, look_up(judge, store, requests), batch_size)
    return record(store, pending, run_id=run_id, scheme=judge.scheme.name), pending.seconds


Work = Callable[[list[Sequence[Pair]]], Awaitable[list[Judged]]]


class Batcher:
    """Coalesces concurrent requests into batches for `work` (which judges a list of requests' pairs)."""

    def __init__(self, work: Work, max_pairs: int):
        self.work = work
        self.max_pairs = max_pairs
        self.queue: asyncio.Queue[tuple[Sequence[Pair], asyncio.Future]] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def judge(self, pairs: Sequence[Pair]) -> Judged:
        """This request's result, once a batch holding it has been judged."""
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._serve(), name="reljudge-batcher")
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((pairs, future))
        return await future

    async def _serve(self) -> None:
        carried = None
        while True:
            batch = [carried or await self.queue.get()]
            carried = None
            size = len(batch[0][0])
            while not self.queue.empty():
                waiting = self.queue.get_nowait()
                if size + len(waiting[0]) > self.max_pairs:
                    carried = waiting
                    break
                batch.append(waiting)
                size += len(waiting[0])
            await self._judge(batch)

    async def _judge(self, batch: list[tuple[Sequence[Pair], asyncio.Future]]) -> None:
        try:
            results = await self.work([pairs for pairs, _ in batch])
        except Exception as exc:  # each waiting request must get the failure, or it would wait forever
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
