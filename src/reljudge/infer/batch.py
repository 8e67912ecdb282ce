"""Judge a list of pairs through the store's cache, saving each chunk as soon as it is judged.

A chunk is committed to the store before the next one starts, so a crash or a kill loses at most the chunk in hand,
and running the same command again judges only what is missing.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

from reljudge.judges.base import Judge, judgments
from reljudge.labels import LabelScheme
from reljudge.records import Judgment, Pair
from reljudge.store import Store


@dataclass
class JudgeRun:
    """The judgments of a run, aligned with its input pairs, and where they came from."""

    judgments: list[Judgment]
    n_cached: int
    n_judged: int
    seconds: float
    run_id: str | None

    @property
    def pairs_per_second(self) -> float:
        return self.n_judged / self.seconds if self.seconds > 0 else float("nan")


def contexts(judge: Judge, pairs: Sequence[Pair]) -> list[str]:
    """The cache context of each pair: empty for pointwise judges, the hash of the query's candidate set otherwise."""
    if not judge.uses_query_group:
        return [""] * len(pairs)
    members: dict[str, list[str]] = defaultdict(list)
    for p in pairs:
        members[p.query_id].append(p.pair_hash)
    digest = {
        q: hashlib.blake2b("|".join(sorted(hashes)).encode(), digest_size=8).hexdigest() for q, hashes in members.items()
    }
    return [digest[p.query_id] for p in pairs]


def _chunks(judge: Judge, pairs: Sequence[Pair], indices: list[int], size: int) -> Iterator[list[int]]:
    """Cut the work into chunks of about `size` pairs; a group judge's chunks hold whole query groups."""
    if not judge.uses_query_group:
        for start in range(0, len(indices), size):
            yield indices[start : start + size]
        return
    groups: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        groups[pairs[i].query_id].append(i)
    chunk: list[int] = []
    for group in groups.values():
        chunk.extend(group)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _first_per_key(keys: Sequence[tuple[str, str]], indices: list[int]) -> list[int]:
    """A pair that appears twice in the input is judged once."""
    first: dict[tuple[str, str], int] = {}
    for i in indices:
        first.setdefault(keys[i], i)
    return sorted(first.values())


def judge_pairs(
    pairs: Sequence[Pair],
    judge: Judge,
    *,
    store: Store | None = None,
    input_name: str = "",
    batch_size: int = 64,
    chunk_size: int = 2048,
    progress: bool = False,
) -> JudgeRun:
    """Judge every pair, reusing the store's judgments of the same judge spec (and context) where they exist."""
    started = time.perf_counter()
    ctx = contexts(judge, pairs)
    keys = [(p.pair_hash, c) for p, c in zip(pairs, ctx)]
    cached = store.cached(judge.spec, keys) if store else {}
    found: dict[tuple[str, str], Judgment] = dict(cached)
    missing = [i for i, key in enumerate(keys) if key not in found]
    if judge.uses_query_group:
        # a group judge sees whole candidate sets: re-judge every pair of a query that has anything missing
        stale = {pairs[i].query_id for i in missing}
        missing = [i for i in range(len(pairs)) if pairs[i].query_id in stale]
    todo = _first_per_key(keys, missing)
    run_id = store.start_run(judge.spec, input_name) if store else None
    with _progress(progress, len(todo)) as advance:
        for chunk in _chunks(judge, pairs, todo, chunk_size):
            chunk_pairs = [pairs[i] for i in chunk]
            new = judgments(judge, chunk_pairs, batch_size=batch_size)
            if store:
                store.save_judgments(run_id, judge.scheme.name, new, [ctx[i] for i in chunk])
            for i, j in zip(chunk, new):
                found[keys[i]] = j
            advance(len(chunk))
    seconds = time.perf_counter() - started
    n_cached = sum(1 for key in keys if key in cached)
    if store:
        store.finish_run(run_id, n_pairs=len(pairs), n_cached=n_cached)
    return JudgeRun([found[key] for key in keys], n_cached, len(todo), seconds, run_id)


class _progress:
    """A rich progress bar with pairs/s and ETA on a terminal; silent otherwise."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and sys.stderr.isatty() and total > 0
        self.total = total

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("judging"), BarColumn(), MofNCompleteColumn(), _rate_column(), TimeRemainingColumn(),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("judging", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()


def _rate_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} pairs/s" if task.speed else "? pairs/s")

    return RateColumn()


def to_frame(pairs: Sequence[Pair], found: Sequence[Judgment], scheme: LabelScheme) -> pd.DataFrame:
    """One row per pair: ids, query, product_id, label, p_<label> per scheme label, judge spec, pair hash, reason."""
    columns: dict[str, list] = {
        "pair_id": [p.pair_id for p in pairs],
        "query_id": [p.query_id for p in pairs],
        "query": [p.query for p in pairs],
        "product_id": [p.product.product_id for p in pairs],
        "label": [j.label for j in found],
    }
    for k, label in enumerate(scheme.labels):
        columns[f"p_{label}"] = [j.proba[k] if j.proba is not None else float("nan") for j in found]
    columns["judge"] = [j.judge for j in found]
    columns["pair_hash"] = [j.pair_hash for j in found]
    columns["reason"] = [j.reason for j in found]
    return pd.DataFrame(columns)
