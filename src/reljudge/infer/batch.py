"""Judge a list of pairs through the store's cache, saving each chunk as soon as it is judged.

A chunk is committed to the store before the next one starts, so a crash or a kill loses at most the chunk in hand,
and running the same command again judges only what is missing. `lookup` and `save` are the two halves around the
judging itself, shared with the streaming and the Ray drivers (infer/stream.py, infer/distributed.py).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from reljudge.errors import JudgingStopped, ReljudgeError
from reljudge.infer.progress import Progress
from reljudge.judges.base import Judge, judgments
from reljudge.labels import LabelScheme
from reljudge.records import Judgment, Pair
from reljudge.store import Store
from reljudge.store import now as store_now


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


@dataclass
class Lookup:
    """What the store holds for a list of pairs, and which of them are left to judge.

    Attributes:
        keys: (pair hash, context) of each pair, the store's cache key.
        contexts: the context of each pair (see `contexts`).
        found: the judgments known so far, by key.
        todo: positions of the pairs to judge, one per distinct key; for a group judge, every pair of a query
            that has anything missing, so the judge sees whole candidate sets.
        n_cached: how many pairs (duplicates included) the store answered.
        since: when the store was asked, if it held none of the keys to judge (so saving them replaces only what
            other processes wrote since); None when judging them replaces stored judgments.
    """

    keys: list[tuple[str, str]]
    contexts: list[str]
    found: dict[tuple[str, str], Judgment]
    todo: list[int]
    n_cached: int
    since: datetime | None = None

    def judgments(self) -> list[Judgment]:
        """One judgment per pair, once every key has been found or judged."""
        return [self.found[key] for key in self.keys]


def contexts(judge: Judge, pairs: Sequence[Pair]) -> list[str]:
    """The cache context of each pair: empty for pointwise judges, the hash of the query's candidate set otherwise."""
    if not judge.uses_query_group:
        return [""] * len(pairs)
    members: dict[str, list[str]] = defaultdict(list)
    for p in pairs:
        members[p.query_id].append(p.pair_hash)
    digest = {q: hashlib.blake2b("|".join(sorted(hashes)).encode(), digest_size=8).hexdigest()
              for q, hashes in members.items()}
    return [digest[p.query_id] for p in pairs]


def lookup(judge: Judge, pairs: Sequence[Pair], store: Store | None, retry_unscored: bool = False) -> Lookup:
    """Find the store's judgments of `pairs` by this judge spec, and what is left to judge.

    An unscored judgment (an API reply that could not be parsed) is reused like any other, so a finished job sends
    no request again; `retry_unscored` judges those pairs anew instead.
    """
    ctx = contexts(judge, pairs)
    keys = [(p.pair_hash, c) for p, c in zip(pairs, ctx)]
    asked = store_now()
    stored = store.cached(judge.spec, keys) if store else {}
    cached = {key: j for key, j in stored.items() if j.label is not None} if retry_unscored else stored
    missing = [i for i, key in enumerate(keys) if key not in cached]
    if judge.uses_query_group:
        stale = {pairs[i].query_id for i in missing}
        missing = [i for i in range(len(pairs)) if pairs[i].query_id in stale]
    n_cached = sum(1 for key in keys if key in cached)
    todo = _first_per_key(keys, missing)
    replaces = any(keys[i] in stored for i in todo)
    return Lookup(keys, ctx, dict(cached), todo, n_cached, since=None if replaces else asked)


def save(found: Lookup, positions: Sequence[int], new: Sequence[Judgment], *, store: Store | None,
         run_id: str | None, scheme: str) -> None:
    """Record the judgments of the pairs at `positions`: in the lookup, and in the store (one transaction)."""
    if store:
        store.save_judgments(run_id, scheme, new, [found.contexts[i] for i in positions], replacing_since=found.since)
    for i, j in zip(positions, new):
        found.found[found.keys[i]] = j


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
    run_id: str | None = None,
    retry_unscored: bool = False,
) -> JudgeRun:
    """Judge every pair, reusing the store's judgments of the same judge spec (and context) where they exist.

    Args:
        pairs: the pairs, held in memory (for inputs of any size, see `reljudge.infer.stream.judge_to_shards`).
        judge: the judge; a group judge's chunks hold whole query groups.
        store: the store whose cache is read and written, or None.
        input_name: the input, as the store's run records it.
        batch_size: pairs per forward pass.
        chunk_size: pairs judged between two commits to the store (at most the judge's `commit_size`, if it has
            one: an API judge's replies cost money, so a kill should lose few of them).
        progress: show a progress bar on a terminal.
        run_id: record the judgments under this store run, which the caller started and will finish; None starts
            and finishes a run of its own, recording the judge's identity.
        retry_unscored: judge again the pairs the store holds as unscored.

    Raises:
        ReljudgeError: the judge failed for good (an API server that cannot be reached); what was judged before,
            including the part of the chunk in hand that the error hands back (`exc.judgments`), is saved first.
    """
    started = time.perf_counter()
    chunk_size = min(chunk_size, judge.commit_size or chunk_size)
    found = lookup(judge, pairs, store, retry_unscored)
    own_run = store is not None and run_id is None
    if own_run:
        run_id = store.start_run(judge.identity, input_name)
    with Progress(progress, len(found.todo)) as bar:
        for chunk in _chunks(judge, pairs, found.todo, chunk_size):
            try:
                new = judgments(judge, [pairs[i] for i in chunk], batch_size=batch_size)
            except ReljudgeError as exc:
                made = exc.judgments if isinstance(exc, JudgingStopped) else []
                kept = [(i, j) for i, j in zip(chunk, made) if j is not None]
                save(found, [i for i, _ in kept], [j for _, j in kept], store=store, run_id=run_id,
                     scheme=judge.scheme.name)
                if own_run:
                    store.finish_run(run_id, n_pairs=len(pairs), n_cached=found.n_cached, status="failed")
                raise
            save(found, chunk, new, store=store, run_id=run_id, scheme=judge.scheme.name)
            bar.advance(len(chunk))
    seconds = time.perf_counter() - started
    if own_run:
        store.finish_run(run_id, n_pairs=len(pairs), n_cached=found.n_cached)
    return JudgeRun(found.judgments(), found.n_cached, len(found.todo), seconds, run_id)


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
