"""The labelling loop, measured: do pairs chosen by the judge's uncertainty teach it more than random ones?

    python bench/active_loop.py [--rounds 3] [--per-round 300] [--seeds 0,1,2,3,4] [--measure entropy|margin]

ESCI's train split (../shared/data) plays the people: its human labels answer whatever a queue asks. The judge is
the lexical one (fast on 2 cores), first trained on 25% of the train queries; then each round queues 300 more
train pairs, chosen by `uncertain` (the entropy of the judge's probabilities, as `reljudge queue add --select
uncertain` chooses) or `random`, "labels" them from the oracle and retrains on everything labelled so far. After
each round: Krippendorff's alpha on the valid split, with a 95% interval from resampling valid queries.

The features of a pair are relative to its query's other candidates, so they are computed over whole query groups
of the train split (the text of unlabelled candidates is known; only their labels are not), and the judge is
fitted on the labelled rows: as it would be with all candidates recorded and some of them labelled.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
from machine import cpu_name

from reljudge.evaluation.bootstrap import bootstrap_metrics
from reljudge.io import read_pairs
from reljudge.judges.features.lexical import FEATURE_NAMES, pair_features
from reljudge.judges.lexical import FORMAT, LexicalJudge
from reljudge.labels import get_scheme
from reljudge.metrics import alpha
from reljudge.service.selection import select_random, select_uncertain
from reljudge.train.common import fit_linear
from reljudge.train.configs import LexicalConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "esci" / "esci_us_dev.csv"
SCHEME = get_scheme("esci")


def fit(features: np.ndarray, y: np.ndarray, seed: int) -> LexicalJudge:
    """The lexical judge fitted on these rows (the same classifier `reljudge train --judge lexical` fits)."""
    config = LexicalConfig()
    linear = fit_linear(features, y, SCHEME.k, C=config.C, max_iter=config.max_iter, seed=seed)
    model = {"format": FORMAT, "scheme": SCHEME.name, "level": SCHEME.level, "labels": list(SCHEME.labels),
             "features": list(FEATURE_NAMES), "scaler": {"mean": linear["mean"], "scale": linear["scale"]},
             "coef": linear["coef"], "intercept": linear["intercept"], "offsets": linear["offsets"],
             "training": {"n_pairs": int(len(y)), "seed": seed}}
    return LexicalJudge(model, scheme=SCHEME)


def valid_alpha(judge: LexicalJudge, valid, human: np.ndarray, resamples: int) -> tuple[float, float, float]:
    predicted = judge.predict_proba(valid).argmax(axis=1)
    point = alpha([SCHEME.labels[i] for i in human], [SCHEME.labels[i] for i in predicted], SCHEME)
    boot = bootstrap_metrics(np.array([p.query_id for p in valid]), human, predicted, SCHEME,
                             n_resamples=resamples, seed=0)["alpha"]
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return point, float(low), float(high)


def run_arm(arm: str, seed: int, train, features, y, valid, valid_y, args) -> list[tuple]:
    """One arm from one starting draw: (round, labelled pairs, alpha, low, high, E/S/C/I of the labelled)."""
    rng = np.random.default_rng(seed)
    queries = sorted({p.query_id for p in train})
    start = set(rng.choice(queries, size=round(args.seed_share * len(queries)), replace=False).tolist())
    labelled = np.array([p.query_id in start for p in train])
    pick_rng = np.random.default_rng(seed + 1000)

    def measured(round_: int, judge: LexicalJudge) -> tuple:
        point, low, high = valid_alpha(judge, valid, valid_y, args.bootstrap)
        mix = np.bincount(y[labelled], minlength=SCHEME.k)
        return round_, int(labelled.sum()), point, low, high, "/".join(str(int(m)) for m in mix)

    judge = fit(features[labelled], y[labelled], seed)
    rows = [measured(0, judge)]
    for round_ in range(1, args.rounds + 1):
        pool = np.flatnonzero(~labelled)
        if arm == "uncertain":
            chosen, _ = select_uncertain(judge.predict_proba(train)[pool], args.per_round, args.measure)
        else:
            chosen, _ = select_random(len(pool), args.per_round, pick_rng)
        labelled[pool[chosen]] = True
        judge = fit(features[labelled], y[labelled], seed)
        rows.append(measured(round_, judge))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--seed-share", type=float, default=0.25)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--measure", default="entropy", help="uncertainty: entropy or margin")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data} is absent: this benchmark needs the shared ESCI data")
    pairs = read_pairs(args.data, scheme=SCHEME, require_labels=True).pairs
    train = [p for p in pairs if p.segments.get("split") == "train"]
    valid = [p for p in pairs if p.segments.get("split") == "valid"]
    features = pair_features(train)  # over whole query groups of train, once
    y = np.array([SCHEME.index(p.label) for p in train])
    valid_y = np.array([SCHEME.index(p.label) for p in valid])
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"## Active labelling loop: lexical judge, ESCI train as the oracle ({len(train)} pairs, "
          f"{len({p.query_id for p in train})} queries), alpha on valid ({len(valid)} pairs)\n")
    print(f"{cpu_name()}; {datetime.date.today()}; start {args.seed_share:.0%} of train queries, "
          f"{args.rounds} rounds of {args.per_round} pairs; uncertainty by {args.measure}; seeds {args.seeds}\n")
    results: dict[tuple[str, int], list[tuple]] = {}
    for seed in seeds:
        for arm in ("uncertain", "random"):
            results[(arm, seed)] = run_arm(arm, seed, train, features, y, valid, valid_y, args)
    print(f"### Seed {seeds[0]}: alpha on valid [95% CI, valid queries resampled {args.bootstrap} times]\n")
    print("| round | labelled (uncertain) | uncertain | labelled E/S/C/I | random | labelled E/S/C/I |")
    print("|---|---|---|---|---|---|")
    for u, r in zip(results[("uncertain", seeds[0])], results[("random", seeds[0])]):
        print(f"| {u[0]} | {u[1]} | {u[2]:.3f} [{u[3]:.3f}, {u[4]:.3f}] | {u[5]} | "
              f"{r[2]:.3f} [{r[3]:.3f}, {r[4]:.3f}] | {r[5]} |")
    print(f"\n### Mean over {len(seeds)} starting draws (sd between draws)\n")
    print("| round | labelled | uncertain | random | uncertain - random |")
    print("|---|---|---|---|---|")
    for round_ in range(args.rounds + 1):
        u = np.array([results[("uncertain", s)][round_][2] for s in seeds])
        r = np.array([results[("random", s)][round_][2] for s in seeds])
        n = results[("uncertain", seeds[0])][round_][1]
        print(f"| {round_} | {n} | {u.mean():.3f} ({u.std(ddof=1) if len(u) > 1 else 0:.3f}) | "
              f"{r.mean():.3f} ({r.std(ddof=1) if len(r) > 1 else 0:.3f}) | {(u - r).mean():+.3f} |")
    everything = fit(features, y, seeds[0])
    point, low, high = valid_alpha(everything, valid, valid_y, args.bootstrap)
    print(f"\nEvery train label ({len(train)} pairs): alpha {point:.3f} [{low:.3f}, {high:.3f}]")


if __name__ == "__main__":
    main()
