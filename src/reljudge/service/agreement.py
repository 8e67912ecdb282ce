"""The agreement view of a queue: how far its annotators agree, how far the judge agrees with them, and the audit
list of pairs where the judge and a person differ. Pure functions over the queue's standing labels.

Alpha is shown only from `MIN_SHARED` pairs up (Quepid's rule): on a handful of pairs it swings from one extreme
to the other and would be read as a finding. The count is always shown, so people see how far there is to go.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from reljudge.labels import LabelScheme
from reljudge.metrics.agreement import aggregate_labels, alpha, annotator_agreement

MIN_SHARED = 30


def queue_agreement(labels: pd.DataFrame, scheme: LabelScheme, *, audit_limit: int = 100) -> dict[str, Any]:
    """Agreement figures of a queue's standing labels (`people_store.current_labels`).

    Returns:
        {"annotators": per-annotator counts, "among": agreement among annotators on pairs two or more labelled,
        "judge": the judge against the people's majority label, "audit": the pairs where the judge's label differs
        from a person's, the judge's most confident first, "min_shared": MIN_SHARED, "labels": scheme labels}.
        Alphas are None below MIN_SHARED pairs (or when undefined), with the count beside them.
    """
    given = labels[~labels["cant_judge"].astype(bool)]
    long = pd.DataFrame({"pair_id": given["item_id"].astype(str), "annotator": given["annotator_id"],
                         "label": given["label"]})
    return {
        "labels": list(scheme.labels),
        "min_shared": MIN_SHARED,
        "annotators": _per_annotator(labels),
        "among": _among(long, scheme),
        "judge": _judge(given, long, scheme),
        "audit": audit_rows(given, audit_limit),
    }


def _per_annotator(labels: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for name, mine in labels.groupby("annotator_id", sort=True):
        seconds = mine["seconds"].dropna()
        rows.append({"annotator": name, "labels": int((~mine["cant_judge"].astype(bool)).sum()),
                     "cant_judge": int(mine["cant_judge"].astype(bool).sum()),
                     "median_seconds": _number(seconds.median()) if len(seconds) else None})
    return rows


def _among(long: pd.DataFrame, scheme: LabelScheme) -> dict[str, Any]:
    """Alpha and exact agreement among annotators, and the confusion of every two labels given to one pair."""
    k = scheme.k
    confusion = np.zeros((k, k), dtype=int)
    for _, group in long.groupby("pair_id"):
        given = [scheme.index(label) for label in group["label"]]
        for a in range(len(given)):
            for b in range(len(given)):
                if a != b:
                    confusion[given[a], given[b]] += 1
    if long.empty:
        return {"n_shared": 0, "alpha": None, "exact": None, "confusion": confusion.tolist()}
    figures = annotator_agreement(long, scheme)
    shared = figures["n_multi"]
    return {"n_shared": shared, "alpha": _number(figures["alpha"]) if shared >= MIN_SHARED else None,
            "exact": _number(figures["percent_agreement"]) if shared else None, "confusion": confusion.tolist()}


def _judge(given: pd.DataFrame, long: pd.DataFrame, scheme: LabelScheme) -> dict[str, Any]:
    """The judge's label at selection time against the people's majority label (ties by scheme order)."""
    k = scheme.k
    confusion = np.zeros((k, k), dtype=int)
    if long.empty:
        return {"n": 0, "alpha": None, "exact": None, "confusion": confusion.tolist()}
    judge_of = dict(zip(given["item_id"].astype(str), given["judge_label"]))
    people = aggregate_labels(long, scheme)
    judge = np.array([judge_of.get(pair_id) for pair_id in people["pair_id"]], dtype=object)
    keep = pd.notna(judge)
    human, machine = list(people["label"][keep]), list(judge[keep])
    for h, m in zip(human, machine):
        confusion[scheme.index(h), scheme.index(m)] += 1
    n = len(human)
    return {"n": n, "alpha": _number(alpha(human, machine, scheme)) if n >= MIN_SHARED else None,
            "exact": _number(np.mean(np.array(human) == np.array(machine))) if n else None,
            "confusion": confusion.tolist()}


def audit_rows(given: pd.DataFrame, limit: int = 100) -> list[dict[str, Any]]:
    """Pairs where a person's label differs from the judge's, the judge's most confident first.

    A confident judge contradicting a person is either a mislabel to fix or a blind spot of the judge: both worth a
    second look.
    """
    rows = []
    for item_id, group in given.groupby("item_id", sort=False):
        first = group.iloc[0]
        judge_label = first["judge_label"]
        if pd.isna(judge_label) or not any(label != judge_label for label in group["label"]):
            continue
        proba = first["judge_proba"]
        confidence = float(max(proba)) if proba is not None and len(proba) else float("nan")
        rows.append({"item_id": int(item_id), "pair_id": first["pair_id"], "query": first["query"],
                     "title": first["title"], "judge_label": judge_label, "judge_confidence": _number(confidence),
                     "people": {a: label for a, label in zip(group["annotator_id"], group["label"])}})
    rows.sort(key=lambda row: -(row["judge_confidence"] or 0.0))
    return rows[:limit]


def _number(x: object) -> float | None:
    """A JSON-safe float: None for NaN."""
    value = float(x)  # type: ignore[arg-type]
    return None if math.isnan(value) else round(value, 4)
