"""Labels flow back: a queue's standing labels in the long form `evaluate --annotations` and `train` read."""

from __future__ import annotations

import pandas as pd

from reljudge.service import people_store
from reljudge.store import Store

LONG_FORM = ["pair_id", "annotator_id", "label"]


def queue_labels(store: Store, queue: str) -> pd.DataFrame:
    """One row per (pair_id, annotator_id, label) of the queue's standing labels, in the order they were given.

    Undone labels and "can't judge" answers are left out; `pair_id` is the id the pair had in the file the queue
    was made from, so the rows join that file. Several annotators of one pair stay separate rows: aggregating them
    is the reader's business (a majority vote, as `evaluate --annotations` does).

    Raises:
        UnknownName: no such queue.
    """
    people_store.queue_info(store, queue)
    labels = people_store.current_labels(store, queue)
    given = labels[~labels["cant_judge"].astype(bool)]
    return given[LONG_FORM].reset_index(drop=True)
