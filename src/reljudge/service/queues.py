"""Make a labelling queue: judge the candidate pairs (through the store's cache), choose which ones people label,
and record the queue with the judge's label of each pair at the time it was chosen."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reljudge.errors import ReljudgeError
from reljudge.infer.batch import judge_pairs
from reljudge.judges.base import Judge
from reljudge.records import Pair
from reljudge.service import people_store
from reljudge.service.people_store import QueueInfo, QueueItem
from reljudge.service.selection import (
    MEASURES,
    SELECTIONS,
    overlap_mask,
    select_disagreement,
    select_random,
    select_uncertain,
)
from reljudge.store import Store


@dataclass(frozen=True)
class QueueMade:
    """The queue as recorded, and what it was chosen from."""

    queue: QueueInfo
    candidates: int
    pool: int


def add_queue(store: Store, judge: Judge, pairs: Sequence[Pair], *, name: str, select: str, n: int,
              overlap: float = 0.0, measure: str = "entropy", seed: int = 0, source: str = "") -> QueueMade:
    """Choose up to `n` of `pairs` for people to label and record them as queue `name`.

    Args:
        store: the store; the pairs are recorded in it and judged through its cache.
        judge: the judge whose probabilities choose the pairs; its identity is recorded with the queue.
        pairs: the candidates; a human label on a pair (its `label`, or one the store holds) counts as labelled.
        select: "uncertain" (unlabelled pairs the judge is least sure of, by `measure`), "random" (unlabelled
            pairs at random) or "disagreement" (labelled pairs whose label the judge confidently contradicts).
        n: the most pairs to queue.
        overlap: the share of the queue that goes to two annotators, so agreement can be measured.
        measure: "entropy" or "margin" for `uncertain`.
        seed: seeds the random choice and which items overlap.
        source: what the pairs were read from, as the queue records it.

    Raises:
        ReljudgeError: an unknown selection, measure or overlap, n < 1, a name taken, or no pair to choose from.
    """
    if select not in SELECTIONS:
        raise ReljudgeError(f"--select {select!r}: use one of {', '.join(SELECTIONS)}")
    if measure not in MEASURES:
        raise ReljudgeError(f"--uncertainty {measure!r}: use one of {', '.join(MEASURES)}")
    if not 0.0 <= overlap <= 1.0:
        raise ReljudgeError(f"--overlap {overlap}: give the share of the queue labelled twice, between 0 and 1")
    if n < 1:
        raise ReljudgeError(f"--n {n}: queue at least one pair")
    people_store.ensure_new_queue(store, name)
    store.add_pairs(pairs)
    run = judge_pairs(pairs, judge, store=store, input_name=f"queue {name} from {source or 'pairs'}")
    index: dict[str, int] = {}
    for i, pair in enumerate(pairs):
        index.setdefault(pair.pair_hash, i)
    first = list(index.values())
    labels = people_store.human_labels(store, [pairs[i].pair_hash for i in first])
    for i in first:
        if pairs[i].label is not None:
            labels.setdefault(pairs[i].pair_hash, []).append(pairs[i].label)
    pool = _pool(pairs, first, labels, people_store.queued_pairs(store), select)
    if not pool:
        raise ReljudgeError(_empty_pool(select, len(first)))
    proba = np.array([run.judgments[i].proba or [np.nan] * judge.scheme.k for i in pool], dtype=float)
    rng = np.random.default_rng(seed)
    if select == "uncertain":
        rows, scores = select_uncertain(proba, n, measure)
    elif select == "random":
        rows, scores = select_random(len(pool), n, rng)
    else:
        human = np.array([_majority(labels[pairs[i].pair_hash], judge.scheme.labels) for i in pool])
        rows, scores = select_disagreement(proba, human, n)
    if len(rows) == 0:
        raise ReljudgeError(_empty_pool(select, len(first)))
    twice = overlap_mask(len(rows), overlap, rng)
    items = []
    for row, score, double in zip(rows, scores, twice):
        judged = run.judgments[pool[row]]
        items.append(QueueItem(judged.pair_hash, pairs[pool[row]].pair_id, 2 if double else 1, float(score),
                               judged.label, judged.proba))
    people_store.create_queue(store, name, scheme=judge.scheme, judge=judge.identity,
                              selection=select if select != "uncertain" else f"uncertain:{measure}",
                              overlap=overlap, source=source, items=items)
    return QueueMade(people_store.queue_info(store, name), len(first), len(pool))


def _pool(pairs: Sequence[Pair], first: list[int], labels: dict[str, list[str]], queued: set[str],
          select: str) -> list[int]:
    """Positions the selection may choose from: unlabelled pairs in no queue yet, or (for an audit) labelled ones."""
    if select == "disagreement":
        return [i for i in first if pairs[i].pair_hash in labels]
    return [i for i in first if pairs[i].pair_hash not in labels and pairs[i].pair_hash not in queued]


def _majority(given: list[str], scheme_labels: Sequence[str]) -> int:
    """The index of the label most humans gave; -1 when they are split evenly (no clear label to audit)."""
    ranked = Counter(given).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return -1
    return scheme_labels.index(ranked[0][0]) if ranked[0][0] in scheme_labels else -1


def _empty_pool(select: str, candidates: int) -> str:
    if select == "disagreement":
        return (f"no pair to audit among {candidates}: none has a human label the judge contradicts (labels come "
                "from the pairs file's label column or earlier queues)")
    return (f"no pair to choose among {candidates}: every one has a human label or is in a queue already "
            "(--select disagreement audits labelled pairs)")
