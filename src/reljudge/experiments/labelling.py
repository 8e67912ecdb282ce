"""Gains for the pairs an experiment shows: from labels already made (qrels), or from a judge through the store.

Both arms are judged in one call, so a pair both arms show gets one label whichever arm is measured. A judge that
looks at the query's other candidates (`uses_query_group`, e.g. lexical) judges every candidate the pairs file
holds for a sampled query: that is the query's group as the input defines it, so its labels are the ones
`reljudge judge PAIRS` gives (and share its cache), and do not depend on which arms are compared. A pointwise judge
judges only the shown pairs. Going through `judge_pairs` puts every judgment in the store's cache: measuring the
same arms again judges nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reljudge.errors import InputError
from reljudge.judges.base import Judge
from reljudge.labels import LabelScheme
from reljudge.records import Pair
from reljudge.store import Store


def label_gains(labels: pd.DataFrame, scheme: LabelScheme) -> dict[tuple[str, str], float]:
    """(query_id, product_id) -> the scheme's gain of the pair's label, for a frame from `read_qrels`."""
    gain = dict(zip(scheme.labels, scheme.gains))
    return {(q, p): gain[label] for q, p, label in zip(labels["query_id"], labels["product_id"], labels["label"])}


def judge_gains(pairs: Sequence[Pair], wanted: Sequence[tuple[str, str]], judge: Judge, *, store: Store | None,
                source: str, expected: bool = False, input_name: str = "") -> dict[tuple[str, str], float]:
    """Judge the wanted (query, product) pairs and return their gains.

    Args:
        pairs: the pairs file's pairs, which hold the query and product text a judge reads.
        wanted: the (query_id, product_id) pairs the arms show.
        judge: the judge.
        store: the store whose cache is read and filled, and where the judged pairs are recorded (None: no cache).
        source: the pairs file's name, for error messages.
        expected: use the expected gain sum_l p_l g_l under the judge's probabilities instead of the gain of its
            most probable label (smoother, and it keeps the judge's uncertainty in the metric).
        input_name: recorded with the store's run.

    Returns:
        The gain of each wanted pair the judge scored (unscored pairs are left out, so they count as unjudged).

    Raises:
        InputError: a wanted pair is not in the pairs file (its text is needed to judge it).
    """
    by_key = {(p.query_id, p.product.product_id): p for p in pairs}
    missing = [key for key in wanted if key not in by_key]
    if missing:
        query, product = missing[0]
        raise InputError(source, f"a run shows product {product!r} for query {query!r}, but this file has no such "
                                 f"pair to judge ({len(missing)} shown pairs are missing)", field="product_id")
    from reljudge.infer.batch import judge_pairs

    if judge.uses_query_group:
        queries = {query for query, _ in wanted}
        chosen = [p for p in pairs if p.query_id in queries]
    else:
        chosen = [by_key[key] for key in wanted]
    if store is not None:
        store.add_pairs(chosen)
    run = judge_pairs(chosen, judge, store=store, input_name=input_name)
    gains = np.asarray(judge.scheme.gains)
    found = {(p.query_id, p.product.product_id): j for p, j in zip(chosen, run.judgments)}
    return {key: float(np.asarray(found[key].proba) @ gains) if expected else judge.scheme.gain(found[key].label)
            for key in wanted if found[key].label is not None}
