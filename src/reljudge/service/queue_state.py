"""Who gets which pair of a queue next, decided in memory from the queue's items, standing labels and assignments.

The rules:
- an annotator's own unanswered pair comes first (a reload shows the same pair; an undone pair comes back);
- then pairs that someone started and that want more annotators, so overlap pairs get their second label, and
  agreement can be measured, early; then queue order;
- a pair is never shown to more annotators at once than it wants labels, and never twice to one annotator;
- a shown pair nobody answered for `LEASE` goes back to the pool, so one who walks away holds nothing for long.

Answers are changed here only after the store has recorded them (see labelling.py), so the state never says more
than the store holds. Who holds which pair lives only here: after a restart, a page still showing a pair can
answer it as long as the pair still wants a label from that annotator.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from reljudge.records import Product
from reljudge.service.errors import Conflict, UnknownName

LEASE = timedelta(minutes=20)


@dataclass(frozen=True)
class Item:
    """A queued pair as annotators see it."""

    item_id: int
    pair_hash: str
    pair_id: str
    wanted: int
    query: str
    product: Product


@dataclass(frozen=True)
class Answer:
    """A standing answer: a label, or None when the annotator could not judge the pair."""

    label_id: int
    item_id: int
    annotator: str
    label: str | None
    created: datetime


class QueueState:
    """The queue in memory, with running counts so that choosing the next pair costs little however long the queue:
    labels per pair, the pairs that still want labels (in queue order), those of them some have started, and the
    shown pairs not yet answered."""

    def __init__(self, name: str, scheme: str, level: str, items: list[Item], answers: list[Answer]):
        self.name, self.scheme, self.level = name, scheme, level
        self.items = {item.item_id: item for item in items}
        self.answers: dict[int, dict[str, Answer]] = {}
        self.count = dict.fromkeys(self.items, 0)
        #: (item, annotator) -> when the pair was (last) shown to them; `pending`: those not answered yet
        self.shown: dict[tuple[int, str], datetime] = {}
        self.pending: dict[tuple[int, str], datetime] = {}
        for answer in answers:
            self.answers.setdefault(answer.item_id, {})[answer.annotator] = answer
            self.count[answer.item_id] += answer.label is not None
        self.wanting = sorted(i for i in self.items if self.count[i] < self.items[i].wanted)
        self.started = {i for i in self.wanting if self.count[i] > 0}

    def item(self, item_id: int) -> Item:
        if item_id not in self.items:
            raise UnknownName(f"queue {self.name!r} has no item {item_id}")
        return self.items[item_id]

    def labels(self, item_id: int) -> int:
        """Labels the pair has (a "can't judge" is an answer, not a label: the pair still wants one)."""
        return self.count[item_id]

    def open_for(self, annotator: str) -> list[int]:
        """The pairs shown to `annotator` that they have not answered."""
        return [i for (i, who) in self.pending if who == annotator]

    def next_for(self, annotator: str, now: datetime) -> tuple[int | None, bool]:
        """The item to show `annotator` and whether it is newly assigned to them (the caller records it then)."""
        mine = [i for i in self.open_for(annotator) if self.count[i] < self.items[i].wanted]
        if mine:
            return max(mine, key=lambda i: self.shown[(i, annotator)]), False
        held = self._held(annotator, now)

        def free(i: int) -> bool:
            return ((i, annotator) not in self.shown and annotator not in self.answers.get(i, {})
                    and self.count[i] + held.get(i, 0) < self.items[i].wanted)

        started = sorted(i for i in self.started | set(held) if free(i))
        if started:
            return started[0], True
        fresh = next((i for i in self.wanting if i not in held and free(i)), None)
        return fresh, fresh is not None

    def _held(self, annotator: str, now: datetime) -> dict[int, int]:
        """Per item, how many other annotators hold it unanswered within the lease."""
        held: dict[int, int] = {}
        for (i, who), when in self.pending.items():
            if who != annotator and now - when < LEASE:
                held[i] = held.get(i, 0) + 1
        return held

    def check_answer(self, item_id: int, annotator: str, now: datetime) -> datetime | None:
        """When the pair was shown to `annotator`, who may now answer it (None: not shown by this process, but it is
        the pair they would be shown now, as a page open across a restart shows it).

        Raises:
            UnknownName: no such item. Conflict: answered by them already, or never shown to them (an annotator
                answers the pairs they are given, not ones they pick by id).
        """
        self.item(item_id)
        if annotator in self.answers.get(item_id, {}):
            raise Conflict(f"{annotator!r} has answered item {item_id} of queue {self.name!r} already (undo to "
                           "change it)")
        if (item_id, annotator) in self.shown:
            return self.shown[(item_id, annotator)]
        if self.next_for(annotator, now)[0] != item_id:
            raise Conflict(f"item {item_id} of queue {self.name!r} was not shown to {annotator!r}: ask for the next "
                           "pair")
        return None

    def last_answer(self, annotator: str) -> Answer:
        """The annotator's latest standing answer, the one an undo voids.

        Raises:
            Conflict: they have nothing left to undo.
        """
        mine = [a for answers in self.answers.values() for a in answers.values() if a.annotator == annotator]
        if not mine:
            raise Conflict(f"{annotator!r} has no label to undo in queue {self.name!r}")
        return max(mine, key=lambda a: a.label_id)

    def assign(self, item_id: int, annotator: str, now: datetime) -> None:
        self.shown[(item_id, annotator)] = self.pending[(item_id, annotator)] = now

    def answer(self, answer: Answer) -> None:
        i = answer.item_id
        self.answers.setdefault(i, {})[answer.annotator] = answer
        self.pending.pop((i, answer.annotator), None)
        if answer.label is not None:
            self._recount(i, +1)

    def undo(self, undone: Answer, now: datetime) -> None:
        """Void `undone` and hand its pair back to its annotator now; their other unanswered pairs go back to the
        pool."""
        del self.answers[undone.item_id][undone.annotator]
        if undone.label is not None:
            self._recount(undone.item_id, -1)
        for i in self.open_for(undone.annotator):
            del self.shown[(i, undone.annotator)], self.pending[(i, undone.annotator)]
        self.assign(undone.item_id, undone.annotator, now)

    def _recount(self, i: int, change: int) -> None:
        was_wanting = self.count[i] < self.items[i].wanted
        self.count[i] += change
        wanting = self.count[i] < self.items[i].wanted
        if was_wanting and not wanting:
            del self.wanting[bisect.bisect_left(self.wanting, i)]
        elif wanting and not was_wanting:
            bisect.insort(self.wanting, i)
        if wanting and self.count[i] > 0:
            self.started.add(i)
        else:
            self.started.discard(i)

    def progress(self, annotator: str) -> dict[str, int]:
        """What the page shows: answers by this annotator, the pairs still wanting a label that they have not
        answered (an overlap pair they labelled waits for someone else, not for them), and all the pairs."""
        return {"answered": sum(annotator in a for a in self.answers.values()),
                "remaining": sum(annotator not in self.answers.get(i, {}) for i in self.wanting),
                "total": len(self.items)}
