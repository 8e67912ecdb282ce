"""A teacher's judgments as soft targets: the probabilities another judge gave pairs that people never labelled.

Why: a team can have a large judge (an API LLM, a six-layer encoder on a GPU) label 100k pairs once and train a CPU
student on them every day. The teacher's judgments come from a judgments file (`reljudge judge --output`) or from
the store (`run:ID`, the judgments of that run's judge); they are matched to the training file's pairs by pair_id,
else by pair hash, as `reljudge evaluate --judgments` matches them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Pair

logger = logging.getLogger(__name__)

RUN_PREFIX = "run:"


def read_teacher(source: str, scheme: LabelScheme, pairs: Sequence[Pair],
                 store_path: Path | None = None) -> pd.DataFrame:
    """The teacher's judgments as a table of pair_id and/or pair_hash, label and p_<label> columns.

    Args:
        source: a judgments file (parquet, csv, jsonl), or run:ID for the judgments of a stored run's judge.
        scheme: the scheme the judgments must be in (the student's).
        pairs: the pairs wanted: a stored run's judge is read for these only.
        store_path: the store of run:ID (None: the default store).

    Raises:
        InputError: a judgments file that does not read against the scheme (naming the row and field).
        ReljudgeError: no such run, or its judgments are in another scheme.
    """
    if not source.startswith(RUN_PREFIX):
        from reljudge.io import read_judgments

        return read_judgments(source, scheme=scheme)
    from reljudge.store import Store

    with Store(store_path) as store:
        rows = store.run_judgments(source[len(RUN_PREFIX):], [p.pair_hash for p in pairs])
    wrong = rows[rows["scheme"] != scheme.name]
    if len(wrong):
        raise ReljudgeError(f"teacher {source}: its judgments are in scheme {wrong['scheme'].iloc[0]!r}, "
                            f"not {scheme.name!r} (pass --scheme {wrong['scheme'].iloc[0]})")
    proba = [p if p is not None and len(p) == scheme.k else [np.nan] * scheme.k for p in rows["proba"]]
    table = np.array(proba, dtype=float).reshape(len(rows), scheme.k)
    return pd.DataFrame({"pair_hash": rows["pair_hash"], "label": rows["label"],
                         **{f"p_{label}": table[:, k] for k, label in enumerate(scheme.labels)}})


def teacher_targets(judgments: pd.DataFrame, pairs: Sequence[Pair], scheme: LabelScheme,
                    source: str) -> tuple[list[Pair], np.ndarray]:
    """The pairs the teacher judged, with its probabilities over the scheme's labels (one row per pair).

    A judgment without probabilities stands for certainty of its label; a pair the teacher did not judge, or left
    unscored, is left out (and counted in the log).

    Raises:
        ReljudgeError: the teacher judged none of the pairs.
    """
    columns = [f"p_{label}" for label in scheme.labels]
    frame = judgments.copy()
    for column in columns:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame[frame["label"].notna()]
    proba = frame[columns].to_numpy(dtype=float)
    certain = np.eye(scheme.k)[frame["label"].map(scheme.index).to_numpy(dtype=int)]
    proba = np.where(np.isnan(proba).any(axis=1, keepdims=True), certain, proba)
    proba = proba / proba.sum(axis=1, keepdims=True)
    rows = {}
    for key in ("pair_hash", "pair_id"):  # pair_id wins where both are given
        if key in frame.columns:
            rows.update({(key, value): i for i, value in enumerate(frame[key]) if isinstance(value, str) and value})
    found = [(p, rows.get(("pair_id", p.pair_id), rows.get(("pair_hash", p.pair_hash)))) for p in pairs]
    kept = [(p, i) for p, i in found if i is not None]
    if pairs and not kept:
        raise ReljudgeError(f"teacher {source}: none of its judgments is of a pair in the training data (matched by "
                            "pair_id, else pair hash)")
    logger.info("teacher %s: %d of %d unlabelled training pairs judged", source, len(kept), len(pairs))
    return [p for p, _ in kept], proba[[i for _, i in kept]].reshape(len(kept), scheme.k)
