"""LREF's DPO stage on ESCI, measured: the shipped causal judge before and after DPO against its own errors.

    python bench/lref_dpo.py [--runs DIR] [--dpo-pairs 400] [--variants judged:5e-5,raw:5e-5,raw:2e-5:1] [--data ...]

Each variant ERRORS:LR[:BETA] is one DPO run on preference pairs from the shipped adapter's errors on the train
split (the human label's answer chosen over the judge's own; ERRORS "judged": as the judge answers, with its prior
offsets; "raw": the model's own argmax), at dpo_learning_rate LR and dpo_beta BETA (default 0.1), trained into RUNS
once (resumable: run the same command again after a kill) and timed. Then the valid split (never trained on) is
judged by each adapter loaded as `causal:DIR`, as a user loads it, at the default precision; its probabilities are
kept in RUNS, so printing again is cheap. Figures: alpha, accuracy, macro-F1, the optimistic-error share (of the
errors, those ranked above the human label, E > S > C > I) and per-class recall, as the judge answers (with its
prior offsets, fitted again on the valid inputs after DPO) and raw (the model's own argmax, no offsets); the
shipped adapter also with its offsets fitted again in the same way, since fitting them again alone moves the
figures; then each DPO adapter's change against the shipped one (with offsets: against that refit), with 95%
intervals from 1,000 query-bootstrap resamples (the same resamples for both judges).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from machine import cpu_name

from reljudge.evaluation.bootstrap import bootstrap_metrics
from reljudge.io import read_pairs
from reljudge.judges.model_dir import shipped_directory
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.metrics import alpha
from reljudge.metrics.classification import accuracy, macro_f1, optimistic_error_share, per_class
from reljudge.train.common import prior_offsets

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "esci" / "esci_us_dev.csv"
SCHEME = get_scheme("esci")


def train_run(directory: Path, train, valid, dpo_pairs: int, learning_rate: float, raw: bool, beta: float) -> dict:
    """DPO from the shipped adapter into `directory` unless it is there; the seconds it took, kept beside it."""
    from reljudge.train.dpo import train_dpo

    timing = directory / "bench_seconds.json"
    if not (directory / "reljudge.json").exists():
        started = time.perf_counter()
        train_dpo(train, SCHEME, shipped_directory("causal-esci"), directory, valid_pairs=valid, dpo_pairs=dpo_pairs,
                  dpo_learning_rate=learning_rate, dpo_raw_errors=raw, dpo_beta=beta)
        timing.write_text(json.dumps({"train_seconds": time.perf_counter() - started}))
    return json.loads(timing.read_text()) if timing.exists() else {}


def valid_proba(spec: str, cache: Path, valid) -> tuple[np.ndarray, np.ndarray, float]:
    """(probabilities, offsets, seconds) of the judge on the valid pairs, from `cache` when it holds this spec's."""
    meta = cache.with_suffix(".json")
    judge = load_judge(spec)
    if meta.exists() and json.loads(meta.read_text())["spec"] == judge.spec:
        saved = json.loads(meta.read_text())
        return np.load(cache), np.asarray(saved["offsets"]), saved["seconds"]
    started = time.perf_counter()
    proba = judge.predict_proba(valid, batch_size=32)
    seconds = time.perf_counter() - started
    np.save(cache, proba)
    meta.write_text(json.dumps({"spec": judge.spec, "offsets": judge.offsets.tolist(), "seconds": seconds}))
    return proba, judge.offsets, seconds


def figures(truth: list[str], logits: np.ndarray) -> str:
    predicted = [SCHEME.labels[i] for i in logits.argmax(axis=1)]
    recall = per_class(truth, predicted, SCHEME.labels)
    shares = "/".join(f"{predicted.count(label) / len(predicted):.2f}" for label in SCHEME.labels)
    return (f"{alpha(truth, predicted, SCHEME):.3f} | {accuracy(truth, predicted):.3f} | "
            f"{macro_f1(truth, predicted, SCHEME.labels):.3f} | "
            f"**{optimistic_error_share(truth, predicted, SCHEME.labels, SCHEME.gains):.3f}** | "
            + " / ".join(f"{recall[label]['recall']:.2f}" for label in SCHEME.labels) + f" | {shares}")


def label_mix(pairs) -> np.ndarray:
    """The share of each label among `pairs`, in the scheme's order: what the prior offsets aim the judge at."""
    counts = np.bincount([SCHEME.index(p.label) for p in pairs], minlength=SCHEME.k)
    return counts / counts.sum()


def paired_changes(valid, before: np.ndarray, after: np.ndarray) -> str:
    """alpha and optimistic-error share after minus before, each with a 95% query-bootstrap interval."""
    groups = np.array([p.query_id for p in valid])
    human = np.array([SCHEME.index(p.label) for p in valid])
    draws = [bootstrap_metrics(groups, human, logits.argmax(axis=1), SCHEME, n_resamples=1000, seed=0)
             for logits in (before, after)]
    cells = []
    for name in ("alpha", "optimistic_error_share"):
        difference = draws[1][name] - draws[0][name]
        point = figure_of(name, valid, after) - figure_of(name, valid, before)
        low, high = np.nanpercentile(difference, [2.5, 97.5])
        cells.append(f"{point:+.3f} [{low:+.3f}, {high:+.3f}]")
    return " | ".join(cells)


def figure_of(name: str, valid, logits: np.ndarray) -> float:
    truth, predicted = [p.label for p in valid], [SCHEME.labels[i] for i in logits.argmax(axis=1)]
    if name == "alpha":
        return alpha(truth, predicted, SCHEME)
    return optimistic_error_share(truth, predicted, SCHEME.labels, SCHEME.gains)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--runs", type=Path, default=Path("lref-dpo-runs"))
    parser.add_argument("--dpo-pairs", type=int, default=400)
    parser.add_argument("--variants", default="judged:5e-5,raw:5e-5,raw:2e-5:1",
                        help="comma-separated ERRORS:LR[:BETA], ERRORS judged (with the offsets) or raw")
    args = parser.parse_args()
    pairs = read_pairs(args.data, scheme=SCHEME, require_labels=True).pairs
    train = [p for p in pairs if p.segments.get("split") == "train"]
    valid = [p for p in pairs if p.segments.get("split") == "valid"]
    truth = [p.label for p in valid]
    args.runs.mkdir(parents=True, exist_ok=True)
    runs = {"causal (shipped SFT adapter)": ("causal", {})}
    for variant in args.variants.split(","):
        errors, rate, beta = (variant.split(":") + ["0.1"])[:3]
        rate, beta = float(rate), float(beta)
        directory = args.runs / (f"dpo-{errors}-lr{rate:g}" + (f"-beta{beta:g}" if beta != 0.1 else ""))
        timing = train_run(directory, train, valid, args.dpo_pairs, rate, errors == "raw", beta)
        name = f"+ DPO on its {errors} errors, {args.dpo_pairs} pairs, lr {rate:g}, beta {beta:g}"
        runs[name] = (f"causal:{directory}", timing)
    print(f"# LREF DPO on ESCI: {len(train)} train / {len(valid)} valid pairs; {cpu_name()}, {platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print("\n| judge | probabilities | alpha | accuracy | macro-F1 | optimistic-error share | recall E / S / C / I | "
          "predicted E/S/C/I |")
    print("|---|---|---|---|---|---|---|---|")
    notes, judged = [], {}
    for name, (spec, timing) in runs.items():
        cache = args.runs / f"valid-{spec.replace('/', '_').replace(':', '_')}.npy"
        proba, offsets, seconds = valid_proba(spec, cache, valid)
        log_proba = np.log(proba)
        judged[name] = {"with offsets": log_proba, "raw": log_proba - offsets}
        print(f"| {name} | with offsets (as judged) | {figures(truth, log_proba)} |")
        if spec == "causal":  # DPO's offsets are fitted on the valid inputs: the baseline gets the same
            refit = log_proba - offsets + prior_offsets(log_proba - offsets, label_mix(train))
            judged[name]["with offsets"] = refit
            print(f"| {name} | with offsets fitted again as after DPO | {figures(truth, refit)} |")
        print(f"| {name} | raw (no offsets) | {figures(truth, log_proba - offsets)} |")
        notes.append(f"{name}: valid judged in {seconds:.0f} s" + (
            f", DPO trained in {timing['train_seconds'] / 60:.1f} min" if timing else ""))
        if spec != "causal":
            preferences = json.loads((Path(spec.partition(":")[2]) / "preferences.json").read_text())["summary"]
            notes.append(f"  preference pairs: {preferences['pairs']} of {preferences['errors']} errors on "
                         f"{preferences['scored']} train pairs scored ({preferences['optimistic_errors']} optimistic); "
                         f"rejected answers {preferences['rejected']}")
    shipped = judged.pop("causal (shipped SFT adapter)")
    print("\n| change against the shipped adapter (with offsets: against its offsets fitted again on the same inputs) "
          "| probabilities | alpha [95% CI] | optimistic-error share [95% CI] |")
    print("|---|---|---|---|")
    for name, logits in judged.items():
        for kind in ("with offsets", "raw"):
            print(f"| {name} | {kind} | {paired_changes(valid, shipped[kind], logits[kind])} |")
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
