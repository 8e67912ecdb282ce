"""--engine ray: judge the chunks of a streamed input on a Ray Data actor pool, on one machine or a cluster.

The driver (the `reljudge judge` process) keeps everything that must happen once and in order: it reads and
validates the input, cuts it into chunks, asks the store which pairs are already judged, writes the shards and the
manifest, and saves new judgments to the store (a DuckDB file has one writer, and it is the driver). Only the
pairs left to judge travel to the cluster, through a bounded queue that a Ray Data read task drains; a
`map_batches` actor pool judges them, each actor rebuilding the driver's judge once from its recorded identity
(pinned spec and label-changing options, checked detail by detail) and its runtime options, and the driver
collects the results. Only the driver needs the input file, the store and the output directory; workers need
reljudge installed and the judge's model (the shipped ones come with the package).

A Ray Data pipeline is fed by one read task that pulls chunks from a queue (rather than ray.data.read_csv) so
that chunk boundaries, validation and row numbers are exactly those of the local engine: a job can be resumed
with either engine, and both write the same shards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from reljudge.errors import ReljudgeError
from reljudge.infer.batch import JudgeRun, Lookup, lookup, save
from reljudge.infer.groups import Chunk
from reljudge.infer.stream import Engine
from reljudge.judges.base import Judge, JudgeIdentity, judgments
from reljudge.judges.registry import rebuild_judge
from reljudge.records import Judgment, Pair, Product
from reljudge.store import Store

_END = "end"
_PRODUCT = ("product_id", "title", "description", "bullets", "brand", "color", "category", "locale")


def ray_engine(judge: Judge, *, store: Store | None, stack: contextlib.ExitStack, workers: int | None = None,
               address: str | None = None, batch_size: int = 64) -> Callable[[str | None], Engine]:
    """Connect to Ray (start a local one unless `address` is given) and make the engine for judge_to_shards.

    Args:
        judge: the judge as loaded on the driver: the actors rebuild it from its identity and runtime options.
        store: the store the driver reads and writes, or None.
        stack: Ray is shut down when this exits (a local Ray stops with it).
        workers: judge actors; None: one per CPU of the cluster.
        address: an existing cluster ("auto" on one of its nodes, or "HEAD:6379"); None starts a local Ray.
        batch_size: pairs per forward pass in each actor.

    Raises:
        ReljudgeError: Ray is not installed, or the cluster cannot be reached.
    """
    ray = _import_ray()
    if not ray.is_initialized():
        # the driver's own Ray logs (start-up notices, per-dataset INFO lines) would bury reljudge's progress bar
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if address:
                ray.init(address=address, **quiet)
            else:
                # "local": a Ray of our own even when another runs on this machine. As many CPUs as actors: the read
                # task that feeds them asks for none (it waits on a queue).
                ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            hint = (" (a cluster with token authentication, Ray's default, also needs RAY_AUTH_MODE=token here and "
                    "its token in ~/.ray/auth_token or $RAY_AUTH_TOKEN)" if address else "")
            raise ReljudgeError(f"cannot start or reach Ray{f' at {address}' if address else ''}: {exc}{hint}") from exc
        stack.callback(ray.shutdown)
    size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))

    def make(run_id: str | None) -> Engine:
        return _RayRun(judge, store, run_id, size, batch_size).run

    return make


def runtime_options(judge: Judge) -> dict[str, Any]:
    """The options the judge was loaded with that its identity leaves out (concurrency, rate limits, threads ...),
    as keyword arguments of rebuild_judge; not those a command sets itself (flag=False: a progress bar)."""
    options = getattr(judge, "options", None)
    if options is None:
        return {}
    return {name: value for name, value in options.model_dump().items()
            if options.is_runtime(name) and options.is_flag(name)}


class _RayRun:
    """One pass of chunks through the actor pool, at most `2 * workers` chunks in flight.

    Each chunk travels as one row (its pairs as Arrow IPC bytes), so Ray Data can neither split a chunk (a group
    judge needs whole query groups) nor hold rows back: a read task's output is otherwise buffered until it
    reaches the block size target (128 MiB), which a queue fed chunk by chunk would never reach.
    """

    def __init__(self, judge: Judge, store: Store | None, run_id: str | None, workers: int, batch_size: int):
        import ray.data
        from ray.util.queue import Queue

        self.judge, self.store, self.run_id = judge, store, run_id
        self.in_flight = 2 * workers
        self.inbox: Queue = Queue(maxsize=self.in_flight + 1, actor_options={"num_cpus": 0})
        self.results: queue.Queue = queue.Queue()
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        sealed, context.target_max_block_size = context.target_max_block_size, 1  # one block per row: see above
        try:
            self.dataset = ray.data.read_datasource(_queue_source(self.inbox), override_num_blocks=1, num_cpus=0)
            self.dataset = self.dataset.map_batches(
                _JudgeActor, fn_constructor_kwargs={"identity": judge.identity.to_dict(),
                                                    "runtime": runtime_options(judge), "batch_size": batch_size},
                batch_size=1, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
            )
        finally:
            context.target_max_block_size = sealed

    def run(self, chunks: Iterator[Chunk]) -> Iterator[tuple[Chunk, JudgeRun]]:
        """Send each chunk's uncached pairs to the pool; yield chunks with their judgments as they come back."""
        pending: dict[int, tuple[Chunk, Lookup, float]] = {}
        collector = threading.Thread(target=self._collect, name="reljudge-ray-results", daemon=True)
        collector.start()
        try:
            for chunk in chunks:
                found = lookup(self.judge, chunk.pairs, self.store)
                if not found.todo:
                    yield chunk, JudgeRun(found.judgments(), found.n_cached, 0, 0.0, self.run_id)
                    continue
                while len(pending) >= self.in_flight:
                    yield from self._receive(pending)
                pending[chunk.index] = (chunk, found, time.perf_counter())
                self.inbox.put(_pack({"chunk": [chunk.index]}, _pairs_table([chunk.pairs[i] for i in found.todo])))
        finally:
            self.inbox.put(_END)
        while pending:
            yield from self._receive(pending)
        collector.join()

    def _collect(self) -> None:
        # Runs beside the driver's loop: the dataset's iterator blocks, the driver must keep feeding the queue.
        try:
            for table in self.dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                self.results.put(table)
        except Exception as exc:  # handed to the driver's thread, which raises it
            self.results.put(exc)
        self.results.put(None)

    def _receive(self, pending: dict) -> Iterator[tuple[Chunk, JudgeRun]]:
        table = self.results.get()
        if isinstance(table, Exception):
            raise ReljudgeError(f"a Ray worker failed: {table}") from table
        if table is None:
            raise ReljudgeError(f"the Ray pipeline ended with {len(pending)} chunk(s) unanswered")
        for index, payload in zip(table.column("chunk").to_pylist(), table.column("payload").to_pylist()):
            chunk, found, started = pending.pop(index)
            rows = _unpack(payload).to_pydict()
            new = [Judgment(chunk.pairs[i].pair_hash, spec, label, tuple(proba) if proba is not None else None,
                            reason, raw)
                   for i, spec, label, proba, reason, raw in zip(found.todo, rows["judge"], rows["label"],
                                                                 rows["proba"], rows["reason"], rows["raw"])]
            save(found, found.todo, new, store=self.store, run_id=self.run_id, scheme=self.judge.scheme.name)
            yield chunk, JudgeRun(found.judgments(), found.n_cached, len(found.todo), time.perf_counter() - started,
                                  self.run_id)


class _JudgeActor:
    """A Ray Data actor: rebuilds the judge once, then judges one whole chunk per row of its batches."""

    def __init__(self, identity: dict[str, Any], runtime: dict[str, Any], batch_size: int):
        self.judge = rebuild_judge(JudgeIdentity.from_dict(identity), **runtime)
        self.batch_size = batch_size

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        payloads = []
        for payload in batch.column("payload").to_pylist():
            rows = _unpack(payload).to_pydict()
            pairs = [Pair(query, Product(*fields), query_id=query_id, pair_id=pair_id)
                     for query, query_id, pair_id, *fields
                     in zip(rows["query"], rows["query_id"], rows["pair_id"], *(rows[f] for f in _PRODUCT))]
            judged = judgments(self.judge, pairs, batch_size=self.batch_size)
            payloads.append(_serialise(pa.table({
                "judge": [j.judge for j in judged], "label": pa.array([j.label for j in judged], pa.string()),
                "proba": pa.array([list(j.proba) if j.proba is not None else None for j in judged],
                                  pa.list_(pa.float64())),
                "reason": [j.reason for j in judged], "raw": [j.raw for j in judged],
            })))
        return pa.table({"chunk": batch.column("chunk"), "payload": pa.array(payloads, pa.binary())})


def _pairs_table(pairs: list[Pair]) -> Any:
    """Pairs as an Arrow table (no labels or segments: judges see the query and the product only)."""
    import pyarrow as pa

    columns: dict[str, list] = {"query": [p.query for p in pairs], "query_id": [p.query_id for p in pairs],
                                "pair_id": [p.pair_id for p in pairs]}
    for name in _PRODUCT:
        columns[name] = [getattr(p.product, name) for p in pairs]
    return pa.table(columns)


def _pack(columns: dict[str, list], table: Any) -> Any:
    """One row: `columns` plus the table as Arrow IPC bytes in "payload"."""
    import pyarrow as pa

    return pa.table({**columns, "payload": pa.array([_serialise(table)], pa.binary())})


def _serialise(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _unpack(payload: bytes) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all()


def _queue_source(inbox: Any) -> Any:
    """A Ray Data datasource with one read task that yields the tables put in `inbox` until the end mark."""
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class QueueDatasource(Datasource):
        def estimate_inmemory_data_size(self) -> None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list:
            def read() -> Iterator[Any]:
                while not isinstance(item := inbox.get(), str):
                    yield item

            metadata = BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None)
            return [ReadTask(read, metadata)]

    return QueueDatasource()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ReljudgeError("--engine ray needs Ray Data: pip install 'reljudge[ray]'") from None
    return ray
