"""Line up a judge's labels with the human labels of the same pairs, ready for `evaluate_frame`.

Here rather than in a top-level `reljudge.compare` module: that name is the `compare` verb of the public API.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Pair


def comparison_frame(
    pairs: Sequence[Pair], judged: pd.DataFrame, scheme: LabelScheme, *, human: dict[str, str] | None = None
) -> pd.DataFrame:
    """One row per labelled pair: query_id, pair_id, human, the judge's label and p_ columns, and the segments.

    Args:
        pairs: the labelled pairs (their `label` is the human label).
        judged: a judgments table (pair_id and/or pair_hash, label, p_<label> ...).
        human: labels by pair_id that take the place of missing pair labels (aggregated annotations).
    """
    human = human or {}
    rows = []
    for p in pairs:
        label = p.label if p.label is not None else human.get(p.pair_id)
        if label is not None:
            rows.append({"pair_id": p.pair_id, "pair_hash": p.pair_hash, "query_id": p.query_id, "human": label,
                         **p.segments})
    if not rows:
        raise ReljudgeError("no human labels to compare with: the labels file has no label column or no labelled rows")
    truth = pd.DataFrame(rows)
    by_id = "pair_id" in judged.columns and judged["pair_id"].astype(str).isin(truth["pair_id"]).any()
    key = "pair_id" if by_id or "pair_hash" not in judged.columns else "pair_hash"
    keep = [key, "label", *[f"p_{label}" for label in scheme.labels if f"p_{label}" in judged.columns]]
    merged = truth.merge(judged[keep].drop_duplicates(key).astype({key: str}), on=key, how="left")
    if merged["label"].isna().all():
        raise ReljudgeError(f"no judged pair matches a labelled pair (joined on {key})")
    return merged
