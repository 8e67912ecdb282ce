"""Does the cross-encoder learn from labels? Its learning curve on Home Depot, against the lexical judge.

Home Depot's 74k graded pairs (../shared/data/homedepot/train.csv, 1-3 means of raters) are split by query, seeded:
80% of the queries to train, 20% held out (never trained on). For each size N, the first N pairs of the shuffled
training queries (whole queries) train:
- lexical: `reljudge train --judge lexical` (the baseline a new user has);
- encoder: the cross-encoder's own fine-tune (`train.encoder.FineTune`), its probabilities alone, no stack;
- stacked: the whole `train_cross_encoder` recipe (cross-fitted logits, stack, prior offsets).
Each is scored on the held-out queries: alpha (the scheme's level, argmax labels against the rounded mean), the
Spearman correlation and per-query Kendall tau of the expected gain with the raters' mean, r (Pearson, the same) and
worth = 1 / (1 - r^2), how many human labels one sampled label plus the judge is worth under PPI++.

Results go to OUT/results.jsonl as each run ends, and a run already there is not run again; fine-tunes checkpoint
into OUT, so a killed run resumes. The table is printed at the end.

    python bench/encoder_learning_curve.py --out out/curve --sizes 2000,8000,30000,60000 --layers 2
    python bench/encoder_learning_curve.py --out out/curve --sizes 8000 --pooling cls      # the [CLS] head
    python bench/encoder_learning_curve.py --out out/curve --sizes 30000 --layers 6 --kinds stacked \
        --stack-fit held-out --folds 5                            # one fine-tune on 4/5, the stack on 1/5
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HOMEDEPOT = ROOT.parent / "shared" / "data" / "homedepot" / "train.csv"
SCHEME = "graded:1-3"
KINDS = ("lexical", "encoder", "stacked")


def split_by_query(pairs: list, held_share: float, seed: int) -> tuple[list, list]:
    """(training pairs in the order of their shuffled queries, held-out pairs); the cut is by query."""
    groups: dict[str, list] = {}
    for p in pairs:
        groups.setdefault(p.query_id, []).append(p)
    order = list(np.random.default_rng(seed).permutation(sorted(groups)))
    held = int(round(held_share * len(order)))
    return [p for q in order[held:] for p in groups[q]], [p for q in order[:held] for p in groups[q]]


def home_depot_present() -> bool:
    """Whether the shared Home Depot data is here (if not, says so); when it is, progress is logged to stderr."""
    if not HOMEDEPOT.exists():
        print(f"skipped: {HOMEDEPOT} is absent (the shared Home Depot data is not on this machine)")
        return False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    return True


def home_depot_split(held_share: float, seed: int) -> tuple:
    """(scheme, training pairs, held-out pairs, the held-out pairs' raters' means), split by query."""
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    scheme = get_scheme(SCHEME)
    pairs = read_pairs(HOMEDEPOT, scheme=scheme, layout="homedepot").pairs
    rating = pd.read_csv(HOMEDEPOT, encoding="latin-1", usecols=["id", "relevance"]).set_index("id")["relevance"]
    train, held = split_by_query(pairs, held_share, seed)
    return scheme, train, held, rating.loc[[int(p.pair_id) for p in held]].to_numpy(dtype=float)


def first_pairs(train: list, n: int) -> list:
    """The first whole queries of `train` that hold about `n` pairs."""
    out, query = [], None
    for p in train:
        if len(out) >= n and p.query_id != query:
            break
        out.append(p)
        query = p.query_id
    return out


def figures(proba: np.ndarray, held: list, ratings: np.ndarray, scheme) -> dict:
    """Agreement of a judge's probabilities with the held-out raters."""
    from scipy.stats import pearsonr, spearmanr

    from reljudge.metrics.within_query import expected_gain, per_query_tau
    from reljudge.train.common import agreement_figures

    gain = expected_gain(proba, scheme.gains)
    agreement = agreement_figures(scheme, [p.label for p in held], [scheme.labels[i] for i in proba.argmax(axis=1)])
    r = float(pearsonr(gain, ratings)[0])
    return {"alpha": agreement["alpha"], "spearman": round(float(spearmanr(gain, ratings)[0]), 4),
            "tau": round(float(per_query_tau([p.query_id for p in held], gain, ratings).mean()), 4),
            "r": round(r, 4), "worth": round(1 / (1 - r * r), 4),
            "predicted": agreement["predicted_distribution"]}


def run_lexical(pairs: list, held: list, scheme, out: Path) -> np.ndarray:
    from reljudge.train.lexical import fit_lexical

    return fit_lexical(pairs, scheme).predict_proba(held)


def run_encoder(pairs: list, held: list, scheme, out: Path, config, targets: np.ndarray | None = None) -> np.ndarray:
    """The fine-tuned encoder's own probabilities on `held`; `targets` (soft, one row per pair) replace the labels."""
    from reljudge.judges.encoder.heads import base_pooling
    from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
    from reljudge.judges.encoder.judge import TorchBackend, encoder_logits
    from reljudge.train.common import label_indices
    from reljudge.train.encoder import FineTune, default_base

    base = default_base()
    pooling = base_pooling(base) if config.pooling == "auto" else config.pooling
    inputs = PairEncoder(base / TOKENIZER_FILE, config.max_length, config.query_tokens)
    if targets is None:
        targets = np.eye(scheme.k)[label_indices(pairs, scheme, "Home Depot")]
    model = FineTune(base, inputs, scheme, config, pooling)(inputs.encode(pairs), targets, out / "checkpoints")
    logits = encoder_logits(inputs, TorchBackend(model), held)
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True)


def run_stacked(pairs: list, held: list, scheme, out: Path, config) -> np.ndarray:
    from reljudge.judges.encoder.judge import EncoderJudge
    from reljudge.train.encoder import train_cross_encoder

    train_cross_encoder(pairs, scheme, out / "model", config)
    return EncoderJudge(out / "model").predict_proba(held)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="results and checkpoints (kept: a rerun resumes)")
    parser.add_argument("--sizes", default="2000,8000,30000,60000", help="training pairs, comma-separated")
    parser.add_argument("--kinds", default="lexical,encoder", help=f"of {', '.join(KINDS)}, comma-separated")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--pooling", default="auto", choices=("auto", "mean", "cls"))
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--folds", type=int, default=2, help="the stacked judge's cross-fitting folds")
    parser.add_argument("--stack-fit", default="cross-fit", choices=("cross-fit", "held-out"),
                        help="the stacked judge's: cross-fitted logits, or one fine-tune and a stack on one fold")
    parser.add_argument("--held-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-training-rows", type=Path, metavar="CSV",
                        help="only write the training queries' rows of Home Depot's file to CSV (never commit it): "
                             "the --order-data of a judge scored on the held-out queries")
    args = parser.parse_args()
    if not home_depot_present():
        return 0
    if args.write_training_rows:
        _, train, _, _ = home_depot_split(args.held_share, args.seed)
        rows = pd.read_csv(HOMEDEPOT, encoding="latin-1", dtype=str)
        rows[rows["id"].isin({p.pair_id for p in train})].to_csv(args.write_training_rows, index=False)
        print(f"wrote {len(train)} training pairs to {args.write_training_rows}")
        return 0
    from reljudge.train.configs import CrossEncoderConfig

    scheme, train, held, ratings = home_depot_split(args.held_share, args.seed)
    config = CrossEncoderConfig(layers=args.layers, pooling=args.pooling, learning_rate=args.learning_rate,
                                epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length,
                                query_tokens=12, folds=args.folds, stack_C=(0.01, 0.1), seed=args.seed,
                                stack_fit=args.stack_fit)
    print(f"Home Depot: {len(train)} training pairs, {len(held)} held-out pairs "
          f"({len({p.query_id for p in held})} queries)", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    done = {json.loads(line)["key"] for line in results.read_text().splitlines()} if results.exists() else set()
    for size in (int(s) for s in args.sizes.split(",")):
        chosen = first_pairs(train, size)
        for kind in args.kinds.split(","):
            setting = "" if kind == "lexical" else f"-{args.pooling}-L{args.layers}-lr{args.learning_rate:g}" \
                                                    f"-e{args.epochs:g}-len{args.max_length}"
            if kind == "stacked":
                setting += f"-{args.stack_fit}{args.folds}"
            key = f"{kind}{setting}-n{size}"
            if key in done:
                continue
            start = time.perf_counter()
            if kind == "lexical":
                proba = run_lexical(chosen, held, scheme, args.out / key)
            elif kind == "encoder":
                proba = run_encoder(chosen, held, scheme, args.out / key, config)
            else:
                proba = run_stacked(chosen, held, scheme, args.out / key, config)
            row = {"key": key, "kind": kind, "n_pairs": len(chosen), "n_queries": len({p.query_id for p in chosen}),
                   **figures(proba, held, ratings, scheme), "seconds": round(time.perf_counter() - start, 1)}
            with results.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), file=sys.stderr, flush=True)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    print("| run | pairs | queries | alpha | Spearman | per-query tau | r | worth | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["n_pairs"], r["key"])):
        print(f"| {r['key']} | {r['n_pairs']} | {r['n_queries']} | {r['alpha']} | {r['spearman']} | {r['tau']} | "
              f"{r['r']} | {r['worth']} | {r['seconds']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
