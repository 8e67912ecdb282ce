"""Stratified query sampling: strata from columns, proportional or Neyman allocation, seeded draws.

The target of an experiment is the mean per-query change over a query population, each query counting once or,
with ``by_traffic``, in proportion to its traffic. Queries are grouped into strata h (named columns, numeric
columns cut into equal-count bins such as popularity deciles); stratum h holds N_h queries and a share W_h of the
target (N_h / N, or its traffic T_h / T). The labelling budget n is split into n_h per stratum:

- proportional: n_h ∝ W_h, so the sample mirrors the population and stratification only removes the between-strata
  part of the variance;
- Neyman: n_h ∝ W_h S_h, with S_h the stratum's standard deviation of the per-query change (from a pilot). This
  minimises Var(sum_h W_h ybar_h) = sum_h W_h^2 S_h^2 / n_h for fixed n (Lagrange: n_h S_h^-1 ∝ W_h), which is why
  noisy strata (head queries with many candidate results) get more labels and quiet ones fewer.

Within a stratum, queries are drawn without replacement: with equal probability pi_i = n_h / N_h, or with
``by_traffic`` with probability proportional to traffic (pi_i = n_h t_i / T_h, capped at 1, by Hartley-Rao's
randomised systematic sampling, which has exactly these pi_i). Each drawn query carries its inclusion probability
and its weight w_i = a_i / pi_i (a_i = 1, or t_i by traffic), which the estimator in `effects` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.experiments.design import Design

ALLOCATIONS: tuple[str, ...] = ("proportional", "neyman")
#: Fewest queries drawn from a stratum: two are needed to estimate its variance.
MIN_PER_STRATUM = 2


def parse_strata(spec: str | None) -> list[tuple[str, int | None]]:
    """'query_source,count:10' -> [('query_source', None), ('count', 10)]: a column, or a numeric column and bins."""
    out: list[tuple[str, int | None]] = []
    for item in (spec or "").split(","):
        name, sep, bins = item.strip().partition(":")
        if not name:
            continue
        if sep and not (bins.isdigit() and int(bins) >= 2):
            raise ReljudgeError(f"strata {item!r}: bins must be a whole number of at least 2 (e.g. count:10)")
        out.append((name, int(bins) if sep else None))
    return out


def stratum_labels(queries: pd.DataFrame, strata: Sequence[tuple[str, int | None]]) -> pd.Series:
    """Each query's stratum, 'col=value|col2=q03' ('all' without strata).

    A binned column is cut into equal-count bins by rank (ties broken by file order, so heavy ties still give
    bins of equal size); q1 holds the smallest values.
    """
    missing = [name for name, _ in strata if name not in queries.columns]
    if missing:
        raise ReljudgeError(f"stratum column {missing[0]!r} is not in the query table "
                            f"(columns: {', '.join(queries.columns)})")
    if not strata:
        return pd.Series("all", index=queries.index)
    parts = []
    for name, bins in strata:
        if bins is None:
            parts.append(name + "=" + queries[name].astype(str).str.strip())
            continue
        try:
            values = pd.to_numeric(queries[name])
        except (TypeError, ValueError):
            raise ReljudgeError(f"stratum column {name!r} is binned ({name}:{bins}) but is not numeric") from None
        ranks = values.rank(method="first").to_numpy()
        codes = np.ceil(ranks * bins / len(ranks)).astype(int)
        parts.append(pd.Series([f"{name}=q{c:0{len(str(bins))}d}" for c in codes], index=queries.index))
    return pd.concat(parts, axis=1).agg("|".join, axis=1)


def allocate(n: int, shares: np.ndarray, sizes: np.ndarray, sds: np.ndarray | None = None,
             minimum: int = MIN_PER_STRATUM) -> np.ndarray:
    """Split n draws over strata: proportional (sds None) or Neyman, within min(minimum, N_h) <= n_h <= N_h.

    Targets n_h = n' x_h / sum x over the strata not yet fixed, x_h = W_h (proportional) or W_h S_h (Neyman);
    a stratum whose target is above N_h is fixed at N_h (a census), then one below the minimum at the minimum, and
    the rest re-split, until all fit; the fractional targets are rounded by largest remainder so they sum to n.

    Raises:
        ReljudgeError: n exceeds the population, or is below the minimum summed over strata.
    """
    shares, sizes = np.asarray(shares, float), np.asarray(sizes, int)
    score = shares * (np.asarray(sds, float) if sds is not None else 1.0)
    if not score.sum() > 0:
        score = shares
    low, high = np.minimum(minimum, sizes), sizes
    if n > high.sum():
        raise ReljudgeError(f"cannot draw {n} queries: the population has only {high.sum()}")
    if n < low.sum():
        raise ReljudgeError(f"cannot draw only {n} queries from {len(sizes)} strata: each needs {minimum} "
                            f"(at least {low.sum()} in all); sample more or use fewer strata")
    fixed = np.full(len(sizes), -1.0)
    while True:
        free = fixed < 0
        target = fixed.copy()
        if free.any():
            budget, weight = n - fixed[~free].sum(), score[free].sum()
            target[free] = budget * (score[free] / weight if weight > 0 else 1 / free.sum())
        over, under = free & (target > high), free & (target < low)
        if over.any():
            fixed[over] = high[over]
        elif under.any():
            fixed[under] = low[under]
        else:
            break
    counts = np.floor(target + 1e-9).astype(int)
    remainders = np.where(free, target - counts, -1.0)
    counts[np.argsort(-remainders, kind="stable")[: n - counts.sum()]] += 1
    return counts


def pps_probabilities(traffic: np.ndarray, n: int) -> np.ndarray:
    """Inclusion probabilities proportional to traffic for n draws: pi_i = min(1, c t_i), with c set so sum pi = n.

    Queries whose share would exceed 1 are taken for certain (pi = 1) and the rest re-scaled among the others.
    """
    traffic = np.asarray(traffic, float)
    pi = np.zeros(len(traffic))
    certain = np.zeros(len(traffic), bool)
    while True:
        rest = ~certain
        pi[rest] = (n - certain.sum()) * traffic[rest] / traffic[rest].sum()
        above = rest & (pi >= 1 - 1e-12)
        if not above.any():
            break
        certain |= above
        pi[certain] = 1.0
    return pi


def systematic_pps(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions drawn by randomised systematic sampling (Hartley-Rao): units in random order, a random start u,
    and every unit whose cumulative interval (c_{j-1}, c_j] holds one of u, u + 1, ..., u + n - 1. Each unit is
    drawn with probability exactly pi_j, and never twice since pi_j <= 1."""
    order = rng.permutation(len(pi))
    cumulative = np.cumsum(pi[order])
    n = int(round(cumulative[-1]))
    cumulative *= n / cumulative[-1]
    hits = np.searchsorted(cumulative, rng.uniform() + np.arange(n), side="left")
    return np.sort(order[np.minimum(hits, len(pi) - 1)])


@dataclass(frozen=True)
class SamplingPlan:
    """How many queries to draw from each stratum, and with which probabilities.

    Attributes:
        strata: the stratum names, sorted.
        members: for each stratum, the positions (in the query table) of its queries.
        shares: W_h, each stratum's share of the target (queries or traffic).
        sds: S_h used by Neyman allocation (None for proportional).
        counts: n_h, the queries to draw from each stratum.
        codes: each query's stratum, an index into `strata` (-1 for a query left out: no traffic).
        probability: each query's inclusion probability pi_i (0 for a query left out).
        amount: each query's a_i, its part of the target (1, or its traffic).
    """

    strata: tuple[str, ...]
    members: tuple[np.ndarray, ...]
    shares: np.ndarray
    sds: np.ndarray | None
    counts: np.ndarray
    codes: np.ndarray
    probability: np.ndarray
    amount: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(m) for m in self.members])

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Positions of one sample in the query table, stratum by stratum."""
        picks = []
        for members, n_h in zip(self.members, self.counts):
            pi = self.probability[members]
            if np.allclose(pi, pi[0]):
                picks.append(members[np.sort(rng.choice(len(members), n_h, replace=False))])
            else:
                picks.append(members[systematic_pps(pi, rng)])
        return np.concatenate(picks)

    def design(self, positions: np.ndarray) -> Design:
        """What the estimator needs to know of the sample at `positions`: strata, weights a_i / pi_i, shares, pi_i."""
        pi = self.probability[positions]
        return Design(self.strata, self.codes[positions], self.amount[positions] / pi, self.shares, pi)


def plan_sample(strata: pd.Series, n: int, *, allocation: str = "proportional",
                sds: dict[str, float] | None = None, traffic: np.ndarray | None = None) -> SamplingPlan:
    """Plan a stratified sample of n queries.

    Args:
        strata: each query's stratum (in the query table's order).
        n: the labelling budget, in queries.
        allocation: "proportional" or "neyman".
        sds: S_h per stratum name, required by Neyman allocation.
        traffic: each query's traffic; when given, the target and the draws are weighted by it, and queries
            without traffic are left out (they weigh nothing in the target).

    Raises:
        ReljudgeError: an unknown allocation, Neyman without sds, or a budget the strata cannot take.
    """
    if allocation not in ALLOCATIONS:
        raise ReljudgeError(f"unknown allocation {allocation!r}: use {' or '.join(ALLOCATIONS)}")
    if allocation == "neyman" and sds is None:
        raise ReljudgeError("Neyman allocation needs each stratum's standard deviation: give a pilot")
    amount = np.ones(len(strata)) if traffic is None else np.asarray(traffic, float)
    codes, names = pd.factorize(np.asarray(strata)[amount > 0], sort=True)
    positions = np.flatnonzero(amount > 0)
    members = tuple(positions[codes == h] for h in range(len(names)))
    totals = np.array([amount[m].sum() for m in members])
    spread = None if allocation == "proportional" else np.array([sds[name] for name in names], float)
    counts = allocate(n, totals / totals.sum(), np.array([len(m) for m in members]), spread)
    probability, stratum = np.zeros(len(amount)), np.full(len(amount), -1)
    for h, (m, n_h) in enumerate(zip(members, counts)):
        probability[m], stratum[m] = pps_probabilities(amount[m], n_h), h
    return SamplingPlan(tuple(map(str, names)), members, totals / totals.sum(), spread, counts, stratum, probability,
                        amount)


def pilot_sds(pilot: pd.DataFrame, strata: Sequence[str]) -> tuple[dict[str, float], list[str]]:
    """Per-stratum standard deviations from a pilot: its sd column, or the sample SD (ddof 1) of its diff column.

    A stratum the pilot lacks (or holds fewer than two diffs for) gets the pooled value: the root mean square of
    the known SDs. Returns the SDs and the names of the strata that were filled in so.
    """
    if "sd" in pilot.columns:
        known = pilot.groupby("stratum")["sd"].first()
    else:
        known = pilot.groupby("stratum")["diff"].std(ddof=1).dropna()
    if known.empty:
        raise ReljudgeError("the pilot gives no standard deviation for any stratum")
    pooled = float(np.sqrt((known**2).mean()))
    filled = [s for s in strata if s not in known.index]
    return {s: float(known.get(s, pooled)) for s in strata}, filled


def sample_frame(queries: pd.DataFrame, plan: SamplingPlan, positions: np.ndarray) -> pd.DataFrame:
    """The drawn queries with their stratum, stratum_size N_h, stratum_share W_h, inclusion_prob and weight."""
    design = plan.design(positions)
    return queries.iloc[positions].assign(
        stratum=[plan.strata[h] for h in design.codes],
        stratum_size=plan.sizes[design.codes],
        stratum_share=plan.shares[design.codes],
        inclusion_prob=design.probability,
        weight=design.weights,
    ).reset_index(drop=True)
