"""Learning curve of the causal judge: the same LoRA recipe on 25%, 50% and 100% of the ESCI train split's queries,
alpha and macro-F1 on the valid split, beside the base model zero-shot (same template) and the lexical judge.

Runs whose adapter already exists under --runs are read, not retrained (a CPU run of the full split takes ~45 min
on 2 cores). Fractions are of queries (a seeded draw), never of pairs, so a query's candidates stay together.
Figures "with offsets" use each judge's prior offsets (matched to the train label distribution on the valid
inputs, never their labels); "raw" is the argmax of the model's own label probabilities.

    python bench/causal_learning_curve.py --runs out/causal-curve --epochs 1
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
FRACTIONS = (0.25, 0.5, 1.0)


def split():
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    pairs = read_pairs(DATA, scheme=get_scheme("esci"), require_labels=True).pairs
    return ([p for p in pairs if p.segments["split"] == "train"], [p for p in pairs if p.segments["split"] == "valid"])


def query_fraction(train, fraction: float, seed: int = 0):
    """The pairs of a seeded draw of round(fraction * queries) training queries."""
    queries = sorted({p.query_id for p in train})
    kept = set(np.random.default_rng(seed).permutation(queries)[: int(round(fraction * len(queries)))])
    return [p for p in train if p.query_id in kept]


def run_dir(runs: Path, fraction: float) -> Path:
    return runs / f"causal-{round(fraction * 100)}"


def ensure_run(runs: Path, fraction: float, train, valid, epochs: float) -> dict:
    from reljudge.train.causal import train_causal

    directory = run_dir(runs, fraction)
    if not (directory / "reljudge.json").exists():
        chosen = query_fraction(train, fraction)
        train_causal(chosen, "esci", directory, valid_pairs=valid, data_source=str(DATA), epochs=epochs)
    return json.loads((directory / "reljudge.json").read_text())


def judged_figures(spec: str, valid, train) -> dict:
    """A judge's valid figures, raw and with offsets matched to the train label distribution."""
    from reljudge.judges.registry import load_judge
    from reljudge.labels import get_scheme
    from reljudge.train.causal import valid_report

    scheme = get_scheme("esci")
    proba = load_judge(spec).predict_proba(valid)
    target = np.bincount([scheme.index(p.label) for p in train], minlength=scheme.k) / len(train)
    return valid_report(scheme, valid, np.log(np.clip(proba, 1e-12, None)), target, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "out" / "causal-curve")
    parser.add_argument("--epochs", type=float, default=2.0, help="epochs of the runs it has to train")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    train, valid = split()
    rows = []
    for fraction in FRACTIONS:
        config = ensure_run(args.runs, fraction, train, valid, args.epochs)
        v, t = config["valid"], config["training"]
        rows.append((f"LoRA {fraction:.0%} ({t['n_queries']} q, {t['n_pairs']} pairs, "
                     f"{t['hyperparameters']['epochs']:g} ep)", v["alpha"], v["macro_f1"], v["raw_alpha"],
                     v["raw_macro_f1"], v["predicted_distribution"]))
    for name, spec in (("SmolLM2-135M zero-shot", "causal:smollm2"), ("lexical (shipped)", "lexical")):
        v = judged_figures(spec, valid, train)
        rows.append((name, v["alpha"], v["macro_f1"], v["raw_alpha"], v["raw_macro_f1"], v["predicted_distribution"]))
    print(f"ESCI valid split, {len(valid)} pairs")
    print("| judge | alpha | macro-F1 | alpha raw | macro-F1 raw | predicted E/S/C/I |\n|---|---|---|---|---|---|")
    for name, a, f1, raw_a, raw_f1, dist in rows:
        spread = "/".join(f"{dist[label]:.2f}" for label in "ESCI")
        print(f"| {name} | {a:.3f} | {f1:.3f} | {raw_a:.3f} | {raw_f1:.3f} | {spread} |")


if __name__ == "__main__":
    main()
