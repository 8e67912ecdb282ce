"""LREF's data selection (JD.com, arXiv 2503.09223): a challenge identifier that keeps the training pairs an initial
judge gets wrong or is least sure of, and a mislabel supervisor that flags human labels the judge confidently
contradicts.

- The initial judge is trained on a seed sample of whole queries (`seed_share`) and scores the other queries' pairs.
  The challenge identifier ranks those pairs wrong-first, then by the margin between the judge's two most probable
  labels (smallest first), and picks round-robin over the human labels so that each label is represented, until
  the budget is met. The selection is the seed plus the picks.
- The mislabel supervisor needs a prediction for every labelled pair that was not fitted on it: k folds by query,
  each scored by a judge trained on the other folds (cross-fitting). A pair is a suspect when the judge gives its
  human label at most `max_p_human` while preferring another label with at least `min_confidence`; suspects are
  ordered by the probability the judge gives the human label, lowest first (on ESCI with 10% injected flips that
  order put 3.0-3.2x the base rate of flips in its top decile, against 2.5-2.8x for the margin between the
  preferred and the human label: bench/README.md).

Any trainable judge family works (lexical, cross-encoder, causal): each fit goes through `train_judge`, so the same
command runs unchanged with a larger base on a GPU.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Pair, query_key

#: fit(train_pairs) -> a judge: what the stages need of a trainer.
Fit = Callable[[Sequence[Pair]], Any]


@dataclass(frozen=True)
class SelectOptions:
    """How to select: the seed's share of queries, the budget of pairs kept, the folds and thresholds of the
    mislabel supervisor, and whether its suspects leave the selection."""

    seed_share: float = 0.25
    budget_share: float = 0.5
    folds: int = 5
    max_p_human: float = 0.1
    min_confidence: float = 0.5
    drop_suspects: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Selection:
    selected: list[Pair]
    suspects: pd.DataFrame
    summary: dict[str, Any]


def query_of(pair: Pair) -> str:
    return pair.query_id or query_key(pair.query)


def shuffled_queries(pairs: Sequence[Pair], seed: int) -> list[str]:
    queries = sorted({query_of(p) for p in pairs})
    np.random.default_rng(seed).shuffle(queries)
    return queries


def judge_fitter(name: str, scheme: LabelScheme, workdir: Path, *, seed: int = 0, **train_options: Any) -> Fit:
    """fit(pairs) -> judge for family `name`, trained by `train_judge` into a fresh directory under `workdir`."""
    from reljudge.judges.registry import load_judge
    from reljudge.train.registry import train_judge

    counter = iter(range(1_000_000))

    def fit(train_pairs: Sequence[Pair]) -> Any:
        output = workdir / f"{name}-{next(counter)}"
        train_judge(name, list(train_pairs), scheme, output, seed=seed, **train_options)
        return load_judge(f"{name}:{output}", scheme=scheme)

    return fit


def cross_fitted_proba(fit: Fit, pairs: Sequence[Pair], folds: int, seed: int) -> np.ndarray:
    """Each pair's probabilities from a judge trained on the other folds (folds of whole queries)."""
    queries = shuffled_queries(pairs, seed)
    if len(queries) < folds:
        raise ReljudgeError(f"cross-fitting needs at least {folds} queries, got {len(queries)} (lower --folds)")
    fold_of = {q: i % folds for i, q in enumerate(queries)}
    proba: np.ndarray | None = None
    for fold in range(folds):
        held = [i for i, p in enumerate(pairs) if fold_of[query_of(p)] == fold]
        judge = fit([p for p in pairs if fold_of[query_of(p)] != fold])
        scored = judge.predict_proba([pairs[i] for i in held])
        proba = np.full((len(pairs), scored.shape[1]), np.nan) if proba is None else proba
        proba[held] = scored
    return proba


def find_suspects(pairs: Sequence[Pair], proba: np.ndarray, scheme: LabelScheme, options: SelectOptions
                  ) -> pd.DataFrame:
    """The pairs whose human label the judge gives at most `max_p_human` while preferring another label with at
    least `min_confidence`, most suspicious first (`suspicion` = 1 - the human label's probability)."""
    human = np.array([scheme.index(p.label) for p in pairs])
    p_human = proba[np.arange(len(pairs)), human]
    others = proba.copy()
    others[np.arange(len(pairs)), human] = -np.inf
    preferred = others.argmax(axis=1)
    p_preferred = others.max(axis=1)
    frame = pd.DataFrame({
        "pair_id": [p.pair_id for p in pairs], "query": [p.query for p in pairs],
        "title": [p.product.title for p in pairs], "human_label": [p.label for p in pairs],
        "judge_label": [scheme.labels[i] for i in preferred], "p_human": p_human.round(4),
        "p_judge": p_preferred.round(4), "suspicion": (1 - p_human).round(4)})
    flagged = (p_human <= options.max_p_human) & (p_preferred >= options.min_confidence)
    return frame[flagged].sort_values(["suspicion", "p_judge", "pair_id"], ascending=[False, False, True]
                                      ).reset_index(drop=True)


def challenge_order(pairs: Sequence[Pair], proba: np.ndarray, scheme: LabelScheme) -> list[int]:
    """Indices of `pairs`, the initial judge's hardest first, round-robin over the human labels: within a label,
    the pairs it gets wrong first, then by the margin between its two most probable labels (smallest first)."""
    top2 = np.sort(proba, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    wrong = proba.argmax(axis=1) != np.array([scheme.index(p.label) for p in pairs])
    by_label: dict[str, list[int]] = {label: [] for label in scheme.labels}
    for i in sorted(range(len(pairs)), key=lambda i: (not wrong[i], margin[i], pairs[i].pair_hash)):
        by_label[pairs[i].label].append(i)
    order: list[int] = []
    for round_ in range(max(map(len, by_label.values()), default=0)):
        order.extend(members[round_] for members in by_label.values() if round_ < len(members))
    return order


def select_pairs(pairs: Sequence[Pair], scheme: LabelScheme, fit: Fit, options: SelectOptions = SelectOptions()
                 ) -> Selection:
    """The seed queries' pairs plus the initial judge's hardest pairs of the other queries, up to
    `budget_share` of the pairs; and the mislabel supervisor's suspects (dropped from the selection on request)."""
    if any(p.label is None for p in pairs):
        raise ReljudgeError("selection needs labelled pairs: every pair must have a human label")
    queries = shuffled_queries(pairs, options.seed)
    seed_queries = set(queries[: max(1, math.ceil(options.seed_share * len(queries)))])
    seed = [p for p in pairs if query_of(p) in seed_queries]
    rest = [p for p in pairs if query_of(p) not in seed_queries]
    budget = max(len(seed), round(options.budget_share * len(pairs)))
    picks: list[Pair] = []
    if rest and budget > len(seed):
        initial = fit(seed)
        order = challenge_order(rest, initial.predict_proba(rest), scheme)
        picks = [rest[i] for i in order[: budget - len(seed)]]
    suspects = find_suspects(pairs, cross_fitted_proba(fit, pairs, options.folds, options.seed), scheme, options)
    selected = seed + picks
    if options.drop_suspects:
        dropped = set(suspects["pair_id"])
        selected = [p for p in selected if p.pair_id not in dropped]
    summary = {"pairs": len(pairs), "queries": len(queries), "seed_queries": len(seed_queries),
               "seed_pairs": len(seed), "picked": len(picks), "selected": len(selected),
               "suspects": len(suspects), "dropped_suspects": options.drop_suspects}
    return Selection(selected, suspects, summary)


def select_with_family(name: str, pairs: Sequence[Pair], scheme: LabelScheme, options: SelectOptions = SelectOptions(),
                       **train_options: Any) -> Selection:
    """`select_pairs` with judges of family `name`, trained in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="reljudge-select-") as workdir:
        fit = judge_fitter(name, scheme, Path(workdir), seed=options.seed, **train_options)
        return select_pairs(pairs, scheme, fit, options)
