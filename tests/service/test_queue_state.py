"""Who gets which pair next: own pair first, overlap pairs finished early, never over-assigned, leases expire."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from reljudge.records import Product
from reljudge.service.errors import Conflict, UnknownName
from reljudge.service.queue_state import LEASE, Answer, Item, QueueState

T0 = datetime(2026, 1, 1, 9, 0, 0)
LABEL_IDS = itertools.count(1)


def state(wanted: list[int]) -> QueueState:
    items = [Item(i, f"h{i}", f"p{i}", w, "q", Product(f"P{i}", f"title {i}")) for i, w in enumerate(wanted)]
    return QueueState("q", "esci", "nominal", items, [])


def take(s: QueueState, who: str, at: datetime) -> int | None:
    item, new = s.next_for(who, at)
    if new:
        s.assign(item, who, at)
    return item


def label(s: QueueState, who: str, item: int, at: datetime, value: str | None = "E") -> None:
    s.check_answer(item, who, at)
    s.answer(Answer(next(LABEL_IDS), item, who, value, at))


def test_a_shown_pair_stays_with_its_annotator_until_answered():
    s = state([1, 1, 1])
    assert take(s, "ann", T0) == 0
    assert take(s, "ann", T0 + timedelta(seconds=5)) == 0  # a reload shows the same pair
    assert take(s, "bob", T0) == 1  # held by ann, so bob gets the next one
    label(s, "ann", 0, T0)
    assert take(s, "ann", T0) == 2
    assert take(s, "cid", T0) is None  # everything is labelled or held


def test_overlap_pairs_get_their_second_label_before_fresh_pairs():
    s = state([1, 2, 1, 2])
    for _ in range(2):
        label(s, "ann", take(s, "ann", T0), T0)
    # ann labelled 0 and 1; item 1 wants a second annotator: bob gets it before the fresh item 2
    assert s.progress("ann")["remaining"] == 2 and s.progress("bob")["remaining"] == 3  # 1 waits for bob, not ann
    assert take(s, "bob", T0) == 1
    label(s, "bob", 1, T0)
    assert take(s, "bob", T0) == 2
    label(s, "bob", 2, T0)
    assert take(s, "bob", T0) == 3
    label(s, "bob", 3, T0)
    assert take(s, "ann", T0) == 3  # ann is the second annotator of item 3, never of her own item 1 again
    label(s, "ann", 3, T0)
    assert take(s, "ann", T0) is None and take(s, "bob", T0) is None
    assert s.progress("ann") == {"answered": 3, "remaining": 0, "total": 4}


def test_a_pair_held_past_the_lease_goes_back_to_the_pool():
    s = state([1])
    assert take(s, "ann", T0) == 0
    assert take(s, "bob", T0 + LEASE - timedelta(seconds=1)) is None
    assert take(s, "bob", T0 + LEASE) == 0


def test_cant_judge_is_an_answer_but_not_a_label():
    s = state([1])
    take(s, "ann", T0)
    label(s, "ann", 0, T0, value=None)
    assert s.labels(0) == 0
    assert take(s, "ann", T0) is None  # she answered it
    assert take(s, "bob", T0) == 0  # it still wants a label


def test_answers_are_refused_when_given_twice_or_the_pair_is_anothers():
    s = state([1, 1, 1])
    assert take(s, "ann", T0) == 0
    with pytest.raises(Conflict, match="was not shown to 'bob': ask for the next pair"):
        s.check_answer(0, "bob", T0)  # ann holds it
    # a pair not shown by this process may be answered if it is the one they would be shown now (a page open
    # across a restart), not another picked by id
    assert s.check_answer(1, "bob", T0) is None
    with pytest.raises(Conflict, match="was not shown to 'bob'"):
        s.check_answer(2, "bob", T0)
    label(s, "ann", 0, T0)
    with pytest.raises(Conflict, match="has answered item 0 .* already"):
        s.check_answer(0, "ann", T0)
    with pytest.raises(Conflict, match="was not shown to 'bob'"):
        s.check_answer(0, "bob", T0)
    with pytest.raises(UnknownName, match="no item 9"):
        s.check_answer(9, "ann", T0)
    with pytest.raises(Conflict, match="no label to undo"):
        s.last_answer("bob")


def test_undo_gives_the_pair_back_and_releases_the_next_one():
    s = state([1, 1, 1])
    take(s, "ann", T0)
    label(s, "ann", 0, T0)
    assert take(s, "ann", T0) == 1  # shown, not answered
    undone = s.last_answer("ann")
    assert undone.item_id == 0
    s.undo(undone, T0 + timedelta(seconds=9))
    assert s.labels(0) == 0
    assert take(s, "ann", T0) == 0  # the undone pair is hers again
    assert take(s, "bob", T0) == 1  # the pair she had not answered went back to the pool
