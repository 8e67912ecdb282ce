"""LREF's data selection on ESCI, measured: does the mislabel supervisor find injected label flips, does dropping
its suspects recover what the noise cost, and do the selected pairs teach more than as many random ones?

    python bench/lref_selection.py [--judge lexical] [--data ../shared/data/esci/esci_us_dev.csv] [--bootstrap 1000]

Fits on the train split only, reports alpha on the valid split with 95% intervals by resampling queries. Flips are
seeded and go to a label other than the human one, chosen uniformly.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import cpu_name

from reljudge.evaluation.bootstrap import bootstrap_metrics
from reljudge.io import read_pairs
from reljudge.labels import get_scheme
from reljudge.metrics import alpha
from reljudge.train.select import SelectOptions, cross_fitted_proba, find_suspects, judge_fitter, query_of, select_pairs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "esci" / "esci_us_dev.csv"


def flip_labels(pairs, scheme, share, seed):
    """A copy of `pairs` with `share` of the labels moved to another label; and the flipped pair ids."""
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(len(pairs), size=round(share * len(pairs)), replace=False).tolist())
    out = []
    for i, p in enumerate(pairs):
        if i in chosen:
            others = [label for label in scheme.labels if label != p.label]
            p = dataclasses.replace(p, label=others[rng.integers(len(others))])
        out.append(p)
    return out, {pairs[i].pair_id for i in chosen}


def valid_alpha(judge, valid, scheme, resamples):
    predicted = judge.predict_proba(valid).argmax(axis=1)
    human = np.array([scheme.index(p.label) for p in valid])
    point = alpha([p.label for p in valid], [scheme.labels[i] for i in predicted], scheme)
    boot = bootstrap_metrics(np.array([query_of(p) for p in valid]), human, predicted, scheme,
                             n_resamples=resamples, seed=0)["alpha"]
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def noise_table(fit, train, valid, scheme, args):
    noisy, flipped = flip_labels(train, scheme, 0.10, args.seed)
    started = time.perf_counter()
    proba = cross_fitted_proba(fit, noisy, args.folds, args.seed)
    options = SelectOptions(folds=args.folds, seed=args.seed)
    suspects = find_suspects(noisy, proba, scheme, options)
    flagged = set(suspects["pair_id"])
    hits = len(flagged & flipped)
    kept = {p.pair_id for p in without_top_decile(noisy, proba, scheme)}
    decile = [p.pair_id for p in noisy if p.pair_id not in kept]
    decile_hits = sum(pid in flipped for pid in decile)
    print(f"\n## Mislabel supervisor: 10% of {len(train)} train labels flipped (seed {args.seed}); "
          f"cross-fitting {args.folds} folds took {time.perf_counter() - started:.0f} s")
    print("| suspects | pairs | injected flips among them | precision | recall | vs base rate 10% |")
    print("|---|---|---|---|---|---|")
    print(f"| flagged (p_human <= {options.max_p_human}, p_judge >= {options.min_confidence}) | {len(flagged)} | "
          f"{hits} | {hits / max(len(flagged), 1):.3f} | {hits / len(flipped):.3f} | "
          f"{hits / max(len(flagged), 1) / 0.10:.1f}x |")
    share = decile_hits / len(decile)
    print(f"| top decile by suspicion (lowest p_human) | {len(decile)} | {decile_hits} | {share:.3f} | "
          f"{decile_hits / len(flipped):.3f} | {share / 0.10:.1f}x |")
    print("\n| trained on | pairs | valid alpha [95% CI by query] |")
    print("|---|---|---|")
    cleaned = [p for p in noisy if p.pair_id not in flagged]
    top_dropped = set(decile)
    for name, data in [("clean train", train), ("noisy train (10% flipped)", noisy),
                       ("noisy minus flagged suspects", cleaned),
                       ("noisy minus top-decile suspects", [p for p in noisy if p.pair_id not in top_dropped])]:
        print(f"| {name} | {len(data)} | {valid_alpha(fit(data), valid, scheme, args.bootstrap)} |")


def without_top_decile(pairs, proba, scheme):
    """`pairs` without the tenth whose human label the cross-fitted judges give the least probability."""
    p_human = proba[np.arange(len(pairs)), [scheme.index(p.label) for p in pairs]]
    dropped = {pairs[i].pair_id for i in np.argsort(p_human, kind="stable")[: len(pairs) // 10]}
    return [p for p in pairs if p.pair_id not in dropped]


def drop_top_decile(fit, pairs, scheme, folds, seed):
    return without_top_decile(pairs, cross_fitted_proba(fit, pairs, folds, seed), scheme)


def cleaning_table(fit, train, valid, scheme, args):
    """Cleaning the real labels: grouped CV on train (suspects found inside each outer training fold only)."""
    print("\n## Cleaning the real (unflipped) labels: drop the top-decile suspects before training")
    print("| trained on | grouped CV alpha on train (5 folds x 3 seeds) | valid alpha [95% CI by query] |")
    print("|---|---|---|")
    rows = {"all train labels": [], "minus top-decile suspects": []}
    for seed in range(3):
        queries = sorted({query_of(p) for p in train})
        np.random.default_rng(100 + seed).shuffle(queries)
        fold_of = {q: i % 5 for i, q in enumerate(queries)}
        for fold in range(5):
            inner = [p for p in train if fold_of[query_of(p)] != fold]
            outer = [p for p in train if fold_of[query_of(p)] == fold]
            for name, data in [("all train labels", inner),
                               ("minus top-decile suspects", drop_top_decile(fit, inner, scheme, args.folds, seed))]:
                predicted = fit(data).predict_proba(outer).argmax(axis=1)
                rows[name].append(alpha([p.label for p in outer], [scheme.labels[i] for i in predicted], scheme))
    for name, data in [("all train labels", train),
                       ("minus top-decile suspects", drop_top_decile(fit, train, scheme, args.folds, args.seed))]:
        cv = np.array(rows[name])
        print(f"| {name} | {np.nanmean(cv):.3f} (sd {np.nanstd(cv):.3f}) | "
              f"{valid_alpha(fit(data), valid, scheme, args.bootstrap)} |")


def budget_table(fit, train, valid, scheme, args):
    print("\n## Equal budgets: selected (seed 25% of queries + the initial judge's hardest) vs random pairs")
    print("| budget | selected: valid alpha | random pairs: valid alpha (seed 0) | random: mean over 5 seeds |")
    print("|---|---|---|---|")
    for share in (0.25, 0.5):
        options = SelectOptions(seed_share=min(0.25, share / 2), budget_share=share, folds=args.folds, seed=args.seed)
        chosen = select_pairs(train, scheme, fit, options).selected
        n = len(chosen)
        randoms = []
        for seed in range(5):
            picks = np.random.default_rng(seed).choice(len(train), size=n, replace=False)
            randoms.append([train[i] for i in picks])
        first = valid_alpha(fit(randoms[0]), valid, scheme, args.bootstrap)
        mean = np.mean([alpha([p.label for p in valid], [scheme.labels[i] for i in
                                                          fit(r).predict_proba(valid).argmax(axis=1)], scheme)
                        for r in randoms])
        print(f"| {share:.0%} ({n} pairs) | {valid_alpha(fit(chosen), valid, scheme, args.bootstrap)} | {first} | "
              f"{mean:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--judge", default="lexical", help="a trainable family: lexical, cross-encoder, causal")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scheme = get_scheme("esci")
    pairs = read_pairs(args.data, scheme=scheme).pairs
    train = [p for p in pairs if p.segments.get("split") == "train"]
    valid = [p for p in pairs if p.segments.get("split") == "valid"]
    print(f"# LREF data selection, judge family {args.judge}, {len(train)} train / {len(valid)} valid pairs; "
          f"{cpu_name()}, {platform.machine()}, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as workdir:
        fit = judge_fitter(args.judge, scheme, Path(workdir), seed=args.seed)
        noise_table(fit, train, valid, scheme, args)
        budget_table(fit, train, valid, scheme, args)
        cleaning_table(fit, train, valid, scheme, args)


if __name__ == "__main__":
    main()
