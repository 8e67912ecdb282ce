"""How well the lexical judge agrees with ESCI's human labels on the valid split, against naive judges.

Fits the lexical judge on the train split of ../shared/data/esci/esci_us_dev.csv and prints, for the valid split,
Krippendorff's alpha (nominal), accuracy, macro-F1, per-class recall and the predicted label distribution of:
- lexical (fresh): fitted now, by the current code;
- lexical (shipped): the model in src/reljudge/assets/lexical-esci (differs from fresh when the asset is stale);
- constant E: always the majority label;
- prior: a label drawn at random from the train label distribution (seeded by the pair), the chance baseline.

    python bench/lexical_quality.py                 # print the table
    python bench/lexical_quality.py --refit-shipped # also rewrite the shipped model from the train split
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.labels import LabelScheme, get_scheme
from reljudge.records import Pair
from reljudge.train.common import agreement_figures
from reljudge.train.lexical import evaluate, fit_lexical, train_lexical

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
SHIPPED_DIR = ROOT / "src" / "reljudge" / "assets" / "lexical-esci"


def load_esci(path: Path) -> list[Pair]:
    """The ESCI dev file as labelled pairs, through the same reader `reljudge` uses."""
    return read_pairs(path, scheme=get_scheme("esci"), require_labels=True).pairs


def prior_labels(train: list[Pair], pairs: list[Pair], scheme: LabelScheme) -> list[str]:
    """Labels drawn from the train label distribution, each seeded by its pair hash (reproducible, order-free)."""
    counts = Counter(p.label for p in train)
    weights = np.array([counts[label] for label in scheme.labels], dtype=float)
    weights /= weights.sum()
    return [
        scheme.labels[np.random.default_rng(int(hashlib.sha256(p.pair_hash.encode()).hexdigest()[:15], 16))
                      .choice(scheme.k, p=weights)]
        for p in pairs
    ]


def row(name: str, figures: dict) -> dict:
    out = {"judge": name, "alpha": figures["alpha"], "accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"]}
    out |= {f"rec_{k}": v for k, v in figures["recall"].items()}
    out |= {f"pred_{k}": v for k, v in figures["predicted_distribution"].items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--refit-shipped", action="store_true", help=f"rewrite {SHIPPED_DIR / 'model.json'}")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} is absent (the shared ESCI data is not on this machine)")
        return 0

    scheme = get_scheme("esci")
    pairs = load_esci(args.data)
    train = [p for p in pairs if p.segments["split"] == "train"]
    valid = [p for p in pairs if p.segments["split"] == "valid"]
    if args.refit_shipped:
        summary = train_lexical(train, scheme, SHIPPED_DIR, valid_pairs=valid)
        print(f"rewrote {summary['path']} -> {load_judge('lexical').spec}")

    truth = [p.label for p in valid]
    rows = [
        row("lexical (fresh)", evaluate(fit_lexical(train, scheme), valid)),
        row("lexical (shipped)", evaluate(load_judge("lexical"), valid)),
        row("constant E", agreement_figures(scheme, truth, ["E"] * len(valid))),
        row("prior", agreement_figures(scheme, truth, prior_labels(train, valid, scheme))),
    ]
    print(f"ESCI valid split: {len(valid)} pairs, {len({p.query_id for p in valid})} queries; "
          f"train: {len(train)} pairs. Truth distribution: "
          + ", ".join(f"{k} {v / len(valid):.2f}" for k, v in sorted(Counter(truth).items())))
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
