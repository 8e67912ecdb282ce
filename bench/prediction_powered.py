"""Judge labels corrected by some human labels (`reljudge experiment analyze --judge J --qrels SOME`) against the
human labels alone, on the A/B comparisons of `ab_fidelity.py`.

Each set's queries are taken as the whole population (every query measured, so the sample adds no variance) and a
random share of them is labelled by "people" (their human labels kept): the truth is the effect the human labels
of every query give, which the prediction-powered interval (`reljudge.experiments.ppi`) and the human labels of
the labelled queries alone should each cover at the nominal 95%. For each comparison people see an effect in,
judge and share: the judge's effect alone (biased), the mean corrected effect, both intervals' coverage and mean
width, and what the judge's labels are worth in people's: (human-only width / corrected width)^2 x the labelled
queries, against the labelled queries.

    python bench/prediction_powered.py [--cache out/fidelity] [--shares 0.25 0.5] [--subsets 200] [--draws 3]

Needs ../shared/data (ESCI and Home Depot); `--cache` shares ab_fidelity's cached rankers and probabilities.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_fidelity import (  # noqa: E402
    ESCI,
    ESCI_ON_HOMEDEPOT,
    EXPERIMENTS,
    HOMEDEPOT,
    JUDGES,
    judge_gains,
    judge_proba,
    load_sets,
    runs,
    seeded,
)


def per_query(data, arms: dict, gains: dict, control: str, treatment: str) -> dict[str, np.ndarray]:
    """Each query's control and treatment sDCG under every gain source (human, judge|label, judge|expected)."""
    from reljudge.experiments.arms import measure_arms

    sample = pd.DataFrame({"query_id": sorted(set(data.queries))})
    out = {}
    for name, gain in gains.items():
        frame, _ = measure_arms(sample, arms[control], arms[treatment], gain, metric="sdcg", k=data.k, top_gain=1.0,
                                min_gain=1.0, sources=("sample", control, treatment))
        out[name] = frame[["control", "treatment"]].to_numpy()
    return out


def corrected(measured: dict[str, np.ndarray], judge: str, share: float, subsets: int, rng: np.random.Generator
              ) -> dict[str, float]:
    """Coverage, width and bias over random labelled subsets, the queries taken as the whole population."""
    from reljudge.experiments.design import Design
    from reljudge.experiments.ppi import prediction_powered_effect

    human, judged = measured["human"], measured[judge]
    n = len(human)
    truth = float(np.mean(human[:, 1] - human[:, 0]))
    design = Design(("all",), np.zeros(n, dtype=int), np.ones(n), np.ones(1), np.ones(n))
    m = max(2, round(share * n))
    rows = []
    for _ in range(subsets):
        labelled = np.zeros(n, bool)
        labelled[rng.choice(n, m, replace=False)] = True
        got = prediction_powered_effect(human[:, 0], human[:, 1], judged[:, 0], judged[:, 1], labelled, design)
        alone = got["human_only"]
        rows.append((got["effect"], got["ci_low"] <= truth <= got["ci_high"], got["ci_high"] - got["ci_low"],
                     alone["ci_low"] <= truth <= alone["ci_high"], alone["ci_high"] - alone["ci_low"],
                     got["lambda"], got["judge_only"]["effect"]))
    effect, covered, width, alone_covered, alone_width, lam, judge_only = map(np.array, zip(*rows))
    return {"truth": truth, "judge_only": float(judge_only.mean()), "corrected": float(effect.mean()),
            "coverage": float(covered.mean()), "width": float(width.mean()),
            "human_coverage": float(alone_covered.mean()), "human_width": float(alone_width.mean()),
            "lambda": float(lam.mean()), "labelled": m, "queries": n,
            "worth": float(m * (alone_width.mean() / width.mean()) ** 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="ab_fidelity's cache of rankers and probabilities")
    parser.add_argument("--hd-queries", type=int, default=300, help="Home Depot queries in the held-out sample")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5], help="shares labelled by people")
    parser.add_argument("--subsets", type=int, default=200, help="random labelled subsets per draw")
    parser.add_argument("--draws", type=int, default=3, help="draws of the arms' random parts")
    args = parser.parse_args(argv)
    if not (ESCI.exists() and HOMEDEPOT.exists()):
        print("the shared data is not beside this checkout", file=sys.stderr)
        return 1
    from reljudge.labels import get_scheme

    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    print("| set | control → treatment | judge | labelled | human effect, all queries | judge alone | corrected "
          "(mean) | coverage, corrected / people alone | 95% width, corrected / people alone | λ | judge worth, in "
          "people's queries |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for data in load_sets(args.hd_queries, args.cache):
        proba, labels = judge_proba(JUDGES, data, args.cache)
        gain_of_label = (dict(zip(labels, get_scheme("esci").gains)) if data.name.startswith("esci")
                         else ESCI_ON_HOMEDEPOT)
        gains = {name: gain for name, gain in judge_gains(data, proba, labels, gain_of_label).items()
                 if not name.endswith("|expected")}
        for control, treatment in EXPERIMENTS:
            results: dict[tuple[str, float], list[dict]] = {}
            for draw in range(args.draws):
                measured = per_query(data, runs(data, draw), gains, control, treatment)
                for judge in JUDGES:
                    for share in args.shares:
                        rng = seeded(data.name, control, treatment, judge, share, draw)
                        results.setdefault((judge, share), []).append(
                            corrected(measured, f"{judge}|label", share, args.subsets, rng))
            for (judge, _share), got in results.items():
                mean = {key: float(np.mean([g[key] for g in got])) for key in got[0]}
                if abs(mean["truth"]) < 0.02:
                    continue
                print(f"| {data.name} | {control} → {treatment} | `{judge}` | {int(mean['labelled'])} of "
                      f"{int(mean['queries'])} | {mean['truth']:+.3f} | {mean['judge_only']:+.3f} | "
                      f"{mean['corrected']:+.3f} | {mean['coverage']:.0%} / {mean['human_coverage']:.0%} | "
                      f"{mean['width']:.3f} / {mean['human_width']:.3f} | {mean['lambda']:.2f} | "
                      f"{mean['worth']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
