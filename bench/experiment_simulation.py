"""Does the experiment estimator keep its promises? A simulation on populations whose true effect is known.

Population: 10,000 queries in four strata of different sizes (6,000 / 2,500 / 1,000 / 500) whose per-query change
d_i ~ Normal(mu_h, sd_h) has means 0 / 0.04 / 0.10 / 0.20 and SDs 0.02 / 0.05 / 0.10 / 0.25 (the small strata
are the noisy, strongly affected ones, as head queries often are), so the strata explain part of the variance.
Each replication draws a budget of 200 queries and estimates the effect with a 95% interval, under:
- srs: simple random sampling without strata (the alternative this is measured against);
- proportional: stratified, n_h ∝ N_h;
- neyman: stratified, n_h ∝ N_h S_h, with the population's S_h (a perfect pilot);
- neyman (pilot): Neyman with S_h from a pilot of 40 queries drawn by SRS from the same population;
- pps: traffic-weighted target (Pareto traffic), drawn with probability ∝ traffic within strata, proportional.

Printed: coverage of the true effect, variance across replications and its ratio to SRS's, the mean estimated
variance (unbiased if close to the previous), mean MDE (80% power), and, on the same population shifted to a true
effect of exactly 0, the false-positive rate (share of p < 0.05).

    python bench/experiment_simulation.py [--replications 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from reljudge.experiments.sampling import plan_sample
from reljudge.experiments.simulation import Population, simulate, synthetic_population

SIZES, EFFECTS, SDS = (6000, 2500, 1000, 500), (0.0, 0.04, 0.10, 0.20), (0.02, 0.05, 0.10, 0.25)
BUDGET, PILOT = 200, 40


def designs(population: Population, seed: int) -> dict:
    d = population.treatment - population.control
    strata = population.strata
    true_sds = {s: float(d[(strata == s).to_numpy()].std(ddof=1)) for s in strata.unique()}
    pilot = np.random.default_rng(seed).choice(len(d), PILOT, replace=False)
    pilot_frame = pd.DataFrame({"stratum": strata.iloc[pilot].to_numpy(), "diff": d[pilot]})
    pilot_sds = pilot_frame.groupby("stratum")["diff"].std(ddof=1).reindex(true_sds).fillna(pilot_frame["diff"].std())
    return {
        "srs": plan_sample(pd.Series("all", index=strata.index), BUDGET),
        "proportional": plan_sample(strata, BUDGET),
        "neyman": plan_sample(strata, BUDGET, allocation="neyman", sds=true_sds),
        "neyman (pilot)": plan_sample(strata, BUDGET, allocation="neyman", sds=pilot_sds.to_dict()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    population = synthetic_population(SIZES, EFFECTS, SDS, seed=args.seed)
    null = synthetic_population(SIZES, EFFECTS, SDS, null=True, seed=args.seed + 1)
    weighted = synthetic_population(SIZES, EFFECTS, SDS, traffic=True, seed=args.seed + 2)
    found = simulate(population, designs(population, args.seed), replications=args.replications, seed=args.seed + 3)
    found_null = simulate(null, designs(null, args.seed), replications=args.replications, seed=args.seed + 4)
    found["pps"] = simulate(weighted, {"pps": plan_sample(weighted.strata, BUDGET, traffic=weighted.traffic)},
                            replications=args.replications, seed=args.seed + 5)["pps"]
    srs = found["srs"]["variance"]
    print(f"{args.replications} replications, budget {BUDGET} of {sum(SIZES):,} queries; true effect "
          f"{population.effect:.5f} (pps: traffic-weighted {weighted.effect:.5f})\n")
    print("| design | coverage of 95% CI | variance | variance / SRS | mean estimated variance | mean MDE | "
          "false-positive rate (true effect 0) |")
    print("|---|---|---|---|---|---|---|")
    for name, got in found.items():
        fpr = f"{found_null[name]['rejection']:.3f}" if name in found_null else "-"
        ratio = f"{got['variance'] / srs:.2f}" if name != "pps" else "- (other target)"
        print(f"| {name} | {got['coverage']:.3f} | {got['variance']:.3g} | {ratio} | {got['mean_variance']:.3g} | "
              f"{got['mde']:.4f} | {fpr} |")
    print(f"\n{time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
