"""The daily report's corrected mean gain (`reljudge report`, report/corrected.py) on real labels: a judge labels
every pair of a "day", people label a random sample of it, and the corrected figure is checked against the mean
gain people's labels give every pair.

The day is the ESCI valid split (1,132 pairs of 27 queries the shipped judges were never trained or tuned on),
labelled by each shipped judge; the truth is the mean ESCI gain of all its human labels. For each sample size,
`--draws` random samples (without replacement) keep their human labels: the judge's mean alone (biased), the
corrected mean's bias, its interval's coverage and mean width, people's labels alone (their mean over the sample)
the same, and what the judge's labels are worth: (people-alone width / corrected width)^2 x n sampled pairs.
The same for the share of E.

Then two days that differ as a ranking change would make them: on day 1 every valid query shows its 10 best
candidates by people's label (ties at random), on day 2 ten at random; each day people label `--day-sample` of its
pairs at random. The judge alone sees the change in mean gain as far as it orders a query's candidates (a quarter
of it, bench/README "Fidelity"); the difference of the two corrected days' means should see all of it, with an
interval (the two days' variances added, Satterthwaite's df) that covers it.

    python bench/corrected_gain.py [--sizes 50 100 200] [--draws 2000]

Needs ../shared/data (ESCI).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_fidelity import ESCI, esci_pairs  # noqa: E402

from reljudge.experiments.effects import satterthwaite_df, t_test  # noqa: E402
from reljudge.judges.registry import load_judge  # noqa: E402
from reljudge.labels import get_scheme  # noqa: E402
from reljudge.report.corrected import corrected_mean  # noqa: E402
from reljudge.train.common import label_indices  # noqa: E402

JUDGES = ("cross-encoder", "lexical")


def measure(truth: np.ndarray, judged: np.ndarray, values: np.ndarray, n: int, draws: int,
            rng: np.random.Generator) -> dict:
    """Bias, coverage and width of the corrected mean and of people's sample mean, over `draws` samples of `n`."""
    target = values[truth].mean()
    counts = np.bincount(judged, minlength=len(values))
    got = []
    for _ in range(draws):
        sample = rng.choice(len(truth), size=n, replace=False)
        got.append(corrected_mean(counts, truth[sample], judged[sample], values, 0.95))
    corrected = np.array([g["corrected"] for g in got])
    low, high = (np.array([g["interval"][i] for g in got]) for i in (0, 1))
    h_low, h_high = (np.array([g["human_interval"][i] for g in got]) for i in (0, 1))
    width, human_width = (high - low).mean(), (h_high - h_low).mean()
    return {"truth": target, "judge": got[0]["judge"], "bias": corrected.mean() - target,
            "coverage": ((low <= target) & (target <= high)).mean(), "width": width,
            "human_coverage": ((h_low <= target) & (target <= h_high)).mean(), "human_width": human_width,
            "worth": (human_width / width) ** 2 * n, "lam": np.mean([g["lam"] for g in got])}


def two_days(truth: np.ndarray, queries: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of day 1 (each query's top 10 by people's gain, ties at random) and day 2 (10 at random)."""
    gains = np.asarray(get_scheme("esci").gains)[truth]
    best, random = [], []
    for query in np.unique(queries):
        rows = np.flatnonzero(queries == query)
        shuffled = rng.permutation(rows)
        best.extend(shuffled[np.argsort(-gains[shuffled], kind="stable")[:10]])
        random.extend(shuffled[:10])
    return np.array(best), np.array(random)


def day_change(truth: np.ndarray, judged: np.ndarray, queries: np.ndarray, n: int, draws: int,
               rng: np.random.Generator) -> dict:
    """Day 2 minus day 1 in mean gain, each draw with new top 10s and new samples: people's change over all the
    days' pairs (the truth), the judge's alone, and the corrected days' difference with its interval's coverage
    and width."""
    gains = np.asarray(get_scheme("esci").gains, float)
    people, judge, corrected, covered, widths, alone = [], [], [], [], [], []
    for _ in range(draws):
        days, change, sampled = [], [], []
        for rows in two_days(truth, queries, rng):
            sample = rng.choice(rows, size=min(n, len(rows)), replace=False)
            sampled.append(gains[truth[sample]])
            days.append(corrected_mean(np.bincount(judged[rows], minlength=4), truth[sample], judged[sample], gains,
                                       0.95))
            change.append(gains[truth[rows]].mean())
        difference = days[1]["corrected"] - days[0]["corrected"]
        parts = np.array([d["se"] ** 2 for d in days])
        df = satterthwaite_df(parts, np.array([d["n"] - 2.0 for d in days]))
        low, high, _ = t_test(difference, float(parts.sum()), df, 0.05)
        people.append(change[1] - change[0])
        judge.append(days[1]["judge"] - days[0]["judge"])
        corrected.append(difference)
        covered.append(low <= people[-1] <= high)
        widths.append(high - low)
        human_parts = np.array([h.var(ddof=1) / len(h) for h in sampled])
        human_df = satterthwaite_df(human_parts, np.array([len(h) - 1.0 for h in sampled]))
        human_low, human_high, _ = t_test(sampled[1].mean() - sampled[0].mean(), float(human_parts.sum()), human_df,
                                          0.05)
        alone.append(human_high - human_low)
    return {"people": np.mean(people), "judge": np.mean(judge), "corrected": np.mean(corrected),
            "coverage": np.mean(covered), "width": np.mean(widths), "alone": np.mean(alone)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--day-sample", type=int, default=60, help="pairs people label on each of the two days")
    args = parser.parse_args(argv)
    if not ESCI.exists():
        print(f"{ESCI} is absent: the shared data is not beside this checkout", file=sys.stderr)
        return 1
    scheme = get_scheme("esci")
    pairs = esci_pairs("valid")
    truth = label_indices(pairs, scheme, "ESCI valid")
    gains = np.asarray(scheme.gains, float)
    print(f"ESCI valid: {len(pairs)} pairs; people's mean gain {gains[truth].mean():.3f}, share of E "
          f"{(truth == 0).mean():.3f}; {args.draws} random samples per size")
    print("| judge | figure | n sampled | judge alone | corrected: bias | coverage | mean width | people alone: "
          "coverage | mean width | lambda | worth (pairs) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    judgments = {}
    for spec in JUDGES:
        start = time.perf_counter()
        judged = load_judge(spec).predict_proba(pairs).argmax(axis=1)
        seconds = time.perf_counter() - start
        for figure, values in (("mean gain", gains), ("share of E", np.eye(len(gains))[0])):
            for n in args.sizes:
                m = measure(truth, judged, values, n, args.draws, np.random.default_rng(n))
                print(f"| `{spec}` | {figure} | {n} | {m['judge']:.3f} (truth {m['truth']:.3f}) | {m['bias']:+.4f} | "
                      f"{m['coverage']:.1%} | {m['width']:.3f} | {m['human_coverage']:.1%} | {m['human_width']:.3f} | "
                      f"{m['lam']:.2f} | {m['worth']:.0f} |", flush=True)
        print(f"(`{spec}` judged the day in {seconds:.1f} s)", file=sys.stderr)
        judgments[spec] = judged
    queries = np.array([p.query_id for p in pairs])
    print(f"\nTwo days, each valid query's best 10 then 10 at random ({args.draws // 4} draws, {args.day_sample} "
          "sampled pairs a day):")
    print("| judge | people's change in mean gain | the judge's alone | corrected | coverage | mean width | "
          "people's sample alone: mean width |")
    print("|---|---|---|---|---|---|---|")
    for spec, judged in judgments.items():
        m = day_change(truth, judged, queries, args.day_sample, args.draws // 4, np.random.default_rng(7))
        print(f"| `{spec}` | {m['people']:+.3f} | {m['judge']:+.3f} ({m['judge'] / m['people']:.0%}) | "
              f"{m['corrected']:+.3f} | {m['coverage']:.1%} | {m['width']:.3f} | {m['alone']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
