"""Labelling: what the page and the labelling API do, over the store and the queues' in-memory state.

Every change is written to the store first and applied to the in-memory `QueueState` only once written, so a
failed write leaves both as they were. Callers make the calls one at a time (the service, on the one thread that
owns the store).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reljudge.errors import SchemeError
from reljudge.labels import LabelScheme, get_scheme
from reljudge.service import people_store
from reljudge.service.agreement import queue_agreement
from reljudge.service.errors import InvalidField
from reljudge.service.guideline import Guideline, guideline_for
from reljudge.service.queue_state import Answer, Item, QueueState
from reljudge.store import Store
from reljudge.store import now as store_clock

MAX_NOTE = 2000


class Labelling:
    def __init__(self, store: Store):
        self.store = store
        self._queues: dict[str, QueueState] = {}

    def queue(self, name: str) -> QueueState:
        """The queue's state, read from the store the first time it is asked for."""
        if name not in self._queues:
            self._queues[name] = people_store.load_queue(self.store, name)
        return self._queues[name]

    def scheme(self, name: str) -> LabelScheme:
        state = self.queue(name)
        return get_scheme(state.scheme, state.level)

    def guideline(self, name: str) -> Guideline:
        return guideline_for(self.scheme(name))

    def next_pair(self, queue: str, annotator: str, now: datetime | None = None) -> Item | None:
        """The pair to show `annotator` now (held for them until they answer), or None when none is left."""
        now = now or store_clock()
        state = self.queue(queue)
        item_id, new = state.next_for(annotator, now)
        if item_id is None:
            return None
        if new:
            state.assign(item_id, annotator, now)
        return state.item(item_id)

    def answer(self, queue: str, annotator: str, item_id: int, *, label: str | None = None, cant_judge: bool = False,
               note: str = "", now: datetime | None = None) -> int:
        """Record `annotator`'s label of a pair shown to them, or that they cannot judge it (with a note).

        Returns:
            the label's id in the store's append-only log.

        Raises:
            InvalidField: a label outside the queue's scheme, both or neither of a label and "can't judge", or a
                note over MAX_NOTE characters.
            UnknownName, Conflict: see `QueueState.check_answer`.
        """
        now = now or store_clock()
        state = self.queue(queue)
        scheme = self.scheme(queue)
        if cant_judge == (label is not None and label != ""):
            raise InvalidField("label", "give a label or cant_judge, not both or neither")
        if len(note) > MAX_NOTE:
            raise InvalidField("note", f"at most {MAX_NOTE} characters, got {len(note)}")
        canonical = None
        if not cant_judge:
            try:
                canonical = scheme.parse(label)
            except SchemeError as exc:
                raise InvalidField("label", str(exc)) from None
        shown = state.check_answer(item_id, annotator, now)
        item = state.item(item_id)
        label_id = people_store.insert_label(
            self.store, queue, item, annotator, label=canonical, note=note,
            guideline=guideline_for(scheme).version, seconds=(now - shown).total_seconds() if shown else None, now=now)
        state.answer(Answer(label_id, item_id, annotator, canonical, now))
        return label_id

    def undo(self, queue: str, annotator: str, now: datetime | None = None) -> int:
        """Void the annotator's latest answer in `queue`; that pair is theirs to answer again. Returns its item id."""
        now = now or store_clock()
        state = self.queue(queue)
        undone = state.last_answer(annotator)
        people_store.insert_undo(self.store, queue, undone, state.item(undone.item_id), now=now)
        state.undo(undone, now)
        return undone.item_id

    def agreement(self, queue: str) -> dict[str, Any]:
        return queue_agreement(people_store.current_labels(self.store, queue), self.scheme(queue))
