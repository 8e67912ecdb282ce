"""Judge a pairs file of any size into a directory of shards: streamed, resumable, exactly-once, cached.

The driver reads the input chunk by chunk (io/stream.py), cuts it into work chunks (whole query groups for a
group judge, infer/groups.py), skips the chunks the output's manifest already lists, and hands the rest to an
engine: in this process (`local_engine`), or a Ray Data actor pool (infer/distributed.py). Each judged chunk is
written as its own shard and committed to the manifest (infer/shards.py). Memory holds a few chunks, never the
input: no list of all pairs or judgments is kept, and the store is asked about one chunk at a time.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from reljudge.infer.batch import JudgeRun, judge_pairs, to_frame
from reljudge.infer.groups import Chunk, work_chunks
from reljudge.infer.progress import Progress
from reljudge.infer.shards import SORTED, Identity, ShardDir, fingerprint
from reljudge.io.pairs import read_pairs
from reljudge.io.stream import PairStream
from reljudge.judges.base import Judge
from reljudge.labels import LabelScheme
from reljudge.records import Pair
from reljudge.store import Store

#: Pairs per chunk (= per shard) unless told otherwise: small enough to lose little to a kill, large enough that
#: a day's 70 million pairs make thousands of shards, not millions.
DEFAULT_CHUNK_SIZE = 8192

#: An engine judges work chunks and yields each with its judgments, in any order, as they are done.
Engine = Callable[[Iterator[Chunk]], Iterator[tuple[Chunk, JudgeRun]]]


@dataclass
class ShardRun:
    """What a run into a shard directory did.

    Attributes:
        out: the directory. pairs / rejected: rows in all its shards / in rejected.csv.
        resumed: shards an earlier run had written, skipped. judged_shards: shards written by this run.
        n_cached / n_judged: pairs of this run served by the store / judged.
        labels: label -> pairs, over every shard. seconds: this run's wall time.
    """

    out: Path
    pairs: int
    rejected: int
    resumed: int
    judged_shards: int
    n_cached: int
    n_judged: int
    seconds: float
    labels: Counter = field(default_factory=Counter)

    @property
    def pairs_per_second(self) -> float:
        return (self.n_judged + self.n_cached) / self.seconds if self.seconds > 0 else float("nan")


def local_engine(judge: Judge, *, store: Store | None, run_id: str | None, batch_size: int = 64,
                 commit_size: int = 2048, retry_unscored: bool = False) -> Engine:
    """Judge chunks one after the other in this process, committing to the store every `commit_size` pairs."""

    def run(chunks: Iterator[Chunk]) -> Iterator[tuple[Chunk, JudgeRun]]:
        for chunk in chunks:
            yield chunk, judge_pairs(chunk.pairs, judge, store=store, run_id=run_id, batch_size=batch_size,
                                     chunk_size=commit_size, retry_unscored=retry_unscored)

    return run


def judge_to_shards(path: str | Path, judge: Judge, out: str | Path, *, options: dict[str, Any],
                    store: Store | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, batch_size: int = 64,
                    overwrite: bool = False, progress: bool = False,
                    engine: Callable[[str | None], Engine] | None = None, sort_by_query: bool = False,
                    retry_unscored: bool = False) -> ShardRun:
    """Judge every pair of `path` into shards under `out`, resuming what an earlier run of the same job left.

    Args:
        path: the pairs file, of any size.
        judge: the judge; a group judge (uses_query_group) needs the input grouped by query.
        out: the output directory (see infer/shards.py for its layout).
        options: how to read the pairs, as the keyword arguments of `read_pairs` (scheme, layout, columns, split,
            skip_invalid, ...); they are part of the output's identity.
        store: the store whose cache is read and written, or None.
        chunk_size: input rows per chunk and shard; part of the output's identity.
        batch_size: pairs per forward pass.
        overwrite: start over when `out` holds another job's shards.
        progress: show a progress bar on a terminal.
        engine: ``engine(run_id) -> Engine``; None judges in this process (`local_engine`).
        sort_by_query: first sort the input by query out of core (io/sort.py) into `out`, for a group judge
            whose input is not grouped by query; the sorted copy is kept until the job is done.
        retry_unscored: judge again the pairs the store holds as unscored (the local engine; with `overwrite`,
            since finished shards are not judged again).

    Returns:
        What was done, with label counts over all shards.

    Raises:
        InputError: bad input (at the chunk where it is found; shards before it stay done).
        ReljudgeError: `out` holds another job (different input, options, judge or chunk size).
    """
    started = time.perf_counter()
    scheme: LabelScheme = options["scheme"]
    read_options = _identity_options(options) | ({"sort_by_query": True} if sort_by_query else {})
    shards = ShardDir(out, Identity(fingerprint(path), read_options, judge.spec, scheme.name, chunk_size),
                      overwrite=overwrite, judge_identity=judge.identity.to_dict())
    resumed = shards.shards
    if shards.complete:
        return _result(shards, resumed, 0, 0, 0, time.perf_counter() - started)
    stream = _open_stream(path, shards, options, chunk_size, sort_by_query)
    run_id = store.start_run(judge.identity, str(path)) if store else None
    engine_run = engine(run_id) if engine else local_engine(judge, store=store, run_id=run_id, batch_size=batch_size,
                                                            retry_unscored=retry_unscored)
    counts = _Counts()
    try:
        _judge_stream(stream, shards, engine_run, counts, by_query=judge.uses_query_group, store=store,
                      source=str(path), scheme=scheme, progress=progress)
    except BaseException:
        if store:
            store.finish_run(run_id, n_pairs=shards.pairs, n_cached=counts.n_cached, status="failed")
        raise
    seconds = time.perf_counter() - started
    shards.finish({"n_cached": counts.n_cached, "n_judged": counts.n_judged, "seconds": round(seconds, 3)})
    if store:
        store.finish_run(run_id, n_pairs=shards.pairs, n_cached=counts.n_cached)
    return _result(shards, resumed, counts.written, counts.n_cached, counts.n_judged, seconds)


@dataclass
class _Counts:
    """Pairs served by the store and judged, and shards written, by this run so far."""

    n_cached: int = 0
    n_judged: int = 0
    written: int = 0


def _open_stream(path: str | Path, shards: ShardDir, options: dict[str, Any], chunk_size: int,
                 sort_by_query: bool) -> PairStream:
    """The input in chunks; sorted by query first (into the output directory, kept until the job is done) if asked."""
    if not sort_by_query:
        return PairStream(path, rows=chunk_size, **options)
    from reljudge.io.sort import ROW_COLUMN
    from reljudge.io.sort import sort_by_query as sort

    copy = shards.root / SORTED
    if not copy.exists():
        sort(path, copy, options=options)
    return PairStream(copy, rows=chunk_size, row_column=ROW_COLUMN, **options)


def _judge_stream(stream: PairStream, shards: ShardDir, engine_run: Engine, counts: _Counts, *, by_query: bool,
                  store: Store | None, source: str, scheme: LabelScheme, progress: bool) -> None:
    """Cut the stream into work chunks, hand the ones not done to the engine, and write each judged chunk's shard
    (adding to `counts` as it goes, so a run that fails midway still knows what it did)."""
    mapping = stream.reader.mapping
    chunks = work_chunks(iter(stream), by_query=by_query, source=source,
                         field_name=mapping.get("query_id", mapping["query"]))
    with Progress(progress, stream.table.total, stream.table.unit) as bar:

        def todo() -> Iterator[Chunk]:
            for chunk in chunks:
                shards.add_rejected(chunk.index, chunk.rejected, stream.reader.record_columns)
                if shards.done(chunk.index):
                    bar.to(stream.table.position, 0)
                    continue
                if store:
                    record_pairs(store, chunk.pairs, source=source, scheme=scheme.name)
                yield chunk

        for chunk, run in engine_run(todo()):
            shards.write(chunk.index, to_frame(chunk.pairs, run.judgments, scheme))
            counts.n_cached, counts.n_judged = counts.n_cached + run.n_cached, counts.n_judged + run.n_judged
            counts.written += 1
            bar.to(stream.table.position, len(chunk.pairs))


def record_pairs(store: Store, pairs: list[Pair], *, source: str, scheme: str) -> None:
    """Record pairs and the labels they carry in the store, as every command records its inputs."""
    store.add_pairs(pairs)
    store.add_human_labels(((p.pair_hash, "input", p.label) for p in pairs if p.label is not None),
                           source=source, scheme=scheme)


def _identity_options(options: dict[str, Any]) -> dict[str, Any]:
    """The reading options as JSON for the manifest, defaults filled in: what decides which pairs the shards hold."""
    defaults = {name: p.default for name, p in inspect.signature(read_pairs).parameters.items()
                if p.default is not inspect.Parameter.empty}
    plain = {}
    for key, value in sorted((defaults | options).items()):
        if key == "scheme":
            value = value.name
        elif key == "mean_rule":
            value = value.spec
        elif isinstance(value, Path):
            value = str(value.resolve())
        plain[key] = value
    return plain


def _result(shards: ShardDir, resumed: int, written: int, n_cached: int, n_judged: int, seconds: float) -> ShardRun:
    labels: Counter = Counter()
    for shard in shards.manifest["shards"]:
        column = pq.read_table(shards.root / shard["file"], columns=["label"]).column("label")
        labels.update(label for label in column.to_pylist() if label is not None)
    return ShardRun(shards.root, shards.pairs, shards.manifest["rejected"]["rows"], resumed, written, n_cached,
                    n_judged, seconds, labels)
