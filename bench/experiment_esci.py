"""A/B experiments on real ESCI data, measured with human labels and with the lexical judge's labels.

Data: ../shared/data/esci/esci_us_dev.csv, 103 queries with 40-68 human-labelled candidates each. The query
population is its 103 queries, stratified by `query_source` (how Amazon sampled the query: parse_pattern,
negations, behavioral, other); the file has no traffic, so every query counts once. A sample of 50 is drawn with
proportional allocation (seed 0), and each arm ranks every candidate of a sampled query and shows its top 10:

- random: the candidates in a random order (seeded by query), the weak baseline;
- lexical: by the lexical judge's expected gain sum_l p_l g_l (judged over all of the query's candidates);
- oracle: by the human gain plus Normal(0, 0.35^2) noise, a better ranker that humans, not the judge, define.

Experiments: random -> lexical, random -> oracle, lexical -> oracle, and an A/A test random -> random (another
seed), two orders that are equally good in expectation; on a fixed set of queries their realised effect is small
but not 0. Each is analysed with `reljudge experiment analyze` on the sample (human labels via --qrels, then the
lexical judge's labels via --judge, by label and by expected gain) and on all 103 queries (a census: the true
effect the sample estimates), and with `reljudge experiment validate`. Caveats: measuring with the lexical judge an
arm ranked by the lexical judge is circular (it agrees with itself), and the lexical judge was fitted on the train
split, i.e. on 76 of these 103 queries, so its labels are partly in-sample.

    python bench/experiment_esci.py [--n 50] [--k 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from reljudge.cli.experiment import experiment_app
from reljudge.io import read_pairs
from reljudge.io.runs import write_run
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
NOISE = 0.35
EXPERIMENTS = [("random", "lexical"), ("random", "oracle"), ("lexical", "oracle"), ("random", "random2")]
SOURCES = {
    "human": ("--qrels", DATA),
    "lexical judge": ("--judge", "lexical", "--pairs", DATA),
    "lexical judge, expected gain": ("--judge", "lexical", "--pairs", DATA, "--expected-gain"),
}


def seed_of(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def draws(frame: pd.DataFrame, tag: str, draw) -> pd.Series:
    """One random number per pair, seeded by (tag, query, product): the same whatever the file order."""
    keys = zip(frame.query_id, frame.product_id)
    return pd.Series([draw(np.random.default_rng(seed_of(tag, q, p))) for q, p in keys], index=frame.index)


def rankings(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each arm's full ranking of every query's candidates: query_id, product_id, rank, score."""
    scores = {
        "random": draws(frame, "random", lambda rng: rng.uniform()),
        "random2": draws(frame, "random2", lambda rng: rng.uniform()),
        "lexical": frame["expected_gain"],
        "oracle": frame["gain"] + draws(frame, "oracle", lambda rng: rng.normal(0, NOISE)),
    }
    out = {}
    for arm, score in scores.items():
        ordered = frame.assign(score=score).sort_values(["query_id", "score"], ascending=[True, False], kind="stable")
        ranked = ordered.assign(rank=ordered.groupby("query_id").cumcount() + 1)
        out[arm] = ranked[["query_id", "product_id", "rank", "score"]]
    return out


def invoke(*args: object) -> dict:
    result = CliRunner().invoke(experiment_app, [str(a) for a in args] + ["--json"])
    if result.exit_code != 0:
        raise SystemExit(f"experiment {args[0]} failed:\n{result.output}")
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="queries to sample")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} is absent: the shared data is not beside this checkout", file=sys.stderr)
        return 1
    scheme = get_scheme("esci")
    pairs = read_pairs(DATA, scheme=scheme, require_labels=True).pairs
    proba = load_judge("lexical").predict_proba(pairs)
    frame = pd.DataFrame({"query_id": [p.query_id for p in pairs], "product_id": [p.product.product_id for p in pairs],
                          "query_source": [p.segments["query_source"] for p in pairs],
                          "gain": [scheme.gain(p.label) for p in pairs], "expected_gain": proba @ scheme.gains})
    n_queries = frame.query_id.nunique()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frame.groupby("query_id", as_index=False)["query_source"].first().to_csv(work / "queries.csv", index=False)
        for arm, ranking in rankings(frame).items():
            write_run(work / f"{arm}.run", ranking, tag=arm)
        sample = invoke("sample", "--queries", work / "queries.csv", "--strata", "query_source", "--n", args.n,
                        "--output", work / "sample.csv")
        invoke("sample", "--queries", work / "queries.csv", "--strata", "query_source", "--n", n_queries,
               "--output", work / "census.csv")
        print(f"sample: {sample['n']} of {n_queries} queries, "
              + ", ".join(f"{s['stratum']} {s['drawn']}/{s['queries']}" for s in sample["strata"]) + "\n")
        store = ("--k", args.k, "--store", work / "store.duckdb")
        print(f"| control -> treatment | labels | effect on all {n_queries} queries | control sDCG@{args.k} | effect | "
              "95% CI | relative | p | MDE | MDE without strata | tau | rho | same sign / significance |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for control, treatment in EXPERIMENTS:
            arms = ("--control", work / f"{control}.run", "--treatment", work / f"{treatment}.run", *store)
            for name, labels in SOURCES.items():
                got = invoke("analyze", "--sample", work / "sample.csv", *arms, *labels)
                truth = invoke("analyze", "--sample", work / "census.csv", *arms, *labels)["effect"]
                agreement = " - | - | -"
                if name != "human":
                    check = invoke("validate", "--sample", work / "sample.csv", *arms, "--qrels", DATA, *labels)
                    agreement = (f" {check['kendall_tau']:.3f} | {check['spearman_rho']:.3f} | "
                                 f"{_yes(check['same_sign'])} / {_yes(check['same_significance'])}")
                print(f"| {control} -> {treatment} | {name} | {truth:+.4f} | {got['control']:.4f} | "
                      f"{got['effect']:+.4f} | [{got['ci_low']:+.4f}, {got['ci_high']:+.4f}] | "
                      f"{100 * got['relative_effect']:+.1f}% | {got['p_value']:.2g} | {got['mde']:.4f} | "
                      f"{got['mde_srs']:.4f} |{agreement} |")
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


if __name__ == "__main__":
    sys.exit(main())
