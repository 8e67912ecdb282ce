"""Which judge carries from one shop to another: ESCI by grouped CV over all 103 queries, and transfer both ways.

Feature sets of the stack (the cross-encoder's multinomial logistic regression with prior offsets,
`train.common.fit_linear`), each fitted on ESCI's labels:
- lexical (24 features), + semantic (6, static token vectors), + category (3, multilingual-e5-small: the shipped
  judge's stack without its encoder logits);
- + a Home Depot stage: a mean-pooled encoder fine-tuned on Home Depot's training queries only (the learning
  curve's split, bench/encoder_learning_curve.py), frozen: its expected grade, the grade's z-score and gap to the
  best within the query, and its log-probabilities (6 features). It never saw ESCI, so no cross-fitting is needed.
For each: ESCI grouped 5-fold CV over the 103 queries, 4 fold seeds, the best C of the grid (alpha, per-query tau
of the expected grade, r and worth: the expected grade E 3 S 2 C 1 I 0 against the human's); and ESCI -> Home
Depot: the stack fitted on all 103 queries, scored on Home Depot's 14,813 held-out pairs against the raters' mean
(Spearman, per-query tau, r, worth). Home Depot -> ESCI: judges trained on Home Depot's training queries only (the
lexical judge, the stage encoders alone) scored on all ESCI pairs.

    python bench/transfer.py --stage teacher=out/curve/encoder-mean-L6-lr5e-05-e1-len48-n30000:6 \
        --stage student=out/student/student:2 \
        --fine-tune minilm=MINILM_DIR:2:2e-4 --fine-tune hd-student=out/student/student/model:2:2e-4

`--both SHARE ...` adds stacks fitted on ESCI and Home Depot's training queries together (Home Depot's rounded
grades as ESCI labels, weighted SHARE times ESCI's pairs in all; `--only-both` skips the ESCI-only rows):
    python bench/transfer.py --both 0.25 1 4 --only-both --out out/transfer-both
`--order SHARE ...`: ESCI's own stack with the both-shop stack's expected grade as three more features:
    python bench/transfer.py --order 1 4 --only-both --out out/transfer-both
`--gain-order SHARE:WEIGHT ...`: ESCI's stack with Home Depot's gain order added along the grades, as
`reljudge train --order-data` fits it (`train.common.with_gain_order`):
    python bench/transfer.py --gain-order 1:0.5 4:0 4:0.25 4:0.5 4:1 4:2 --only-both --out out/transfer-order

A --fine-tune encoder is trained on ESCI itself: its logits join the stack out of fold (5 query folds of seed 0),
so its rows, and the "(seed 0)" row beside them, are CV over that one fold seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from encoder_learning_curve import HOMEDEPOT, home_depot_split

ROOT = Path(__file__).resolve().parents[1]
ESCI_DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
SEEDS = 4


def stage_model(folder: Path, layers: int):
    """The stage's torch classifier: FOLDER/model if saved, else rebuilt from its last checkpoint and saved there."""
    import transformers
    from safetensors.torch import load_file

    from reljudge.judges.encoder.heads import load_classifier, new_classifier, save_classifier
    from reljudge.train.encoder import default_base, last_complete_checkpoint

    saved = folder / "model"
    if not (saved / "head.safetensors").exists():
        checkpoint = last_complete_checkpoint(folder / "checkpoints")
        if checkpoint is None:
            raise SystemExit(f"no trained stage under {folder} (run the bench that trains it first)")
        model = new_classifier(default_base(), ("1", "2", "3"), "mean", layers)
        model.load_state_dict(load_file(str(Path(checkpoint) / "model.safetensors")))
        saved.mkdir(parents=True, exist_ok=True)
        save_classifier(model, saved)
        transformers.AutoTokenizer.from_pretrained(str(default_base()), local_files_only=True).save_pretrained(saved)
    return load_classifier(saved, "mean").eval(), saved


def stage_proba(folder: Path, layers: int, pairs: list, cache: Path) -> np.ndarray:
    """The stage's probabilities over Home Depot's grades 1-3 for `pairs` (kept in `cache`)."""
    if cache.exists():
        return np.load(cache)
    from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
    from reljudge.judges.encoder.judge import TorchBackend, encoder_logits

    model, saved = stage_model(folder, layers)
    logits = encoder_logits(PairEncoder(saved / TOKENIZER_FILE, 48, 12), TorchBackend(model), pairs)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.save(cache, proba)
    return proba


def fine_tuned_logits(base: Path, layers: int, learning_rate: float, pairs: list, y: np.ndarray, held: list,
                      scheme, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """An encoder fine-tuned on ESCI by the cross-encoder's recipe (mean-pooled, 64 tokens, 2 epochs): its logits
    out of fold over the 5 query folds of seed 0, and, fine-tuned on all ESCI pairs, on `held` (kept in `out`)."""
    from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
    from reljudge.judges.encoder.judge import TorchBackend, encoder_logits
    from reljudge.train.configs import CrossEncoderConfig
    from reljudge.train.encoder import FineTune, query_folds

    out.mkdir(parents=True, exist_ok=True)
    if (out / "held.npy").exists():
        return np.load(out / "oof.npy"), np.load(out / "held.npy")
    config = CrossEncoderConfig(layers=layers, learning_rate=learning_rate, pooling="mean", seed=0, epochs=2.0,
                                batch_size=16)
    inputs = PairEncoder(base / TOKENIZER_FILE, config.max_length, config.query_tokens)
    tuning, encoded, targets = FineTune(base, inputs, scheme, config, "mean"), inputs.encode(pairs), np.eye(scheme.k)[y]
    folds, oof = query_folds(pairs, 5, 0), np.zeros((len(pairs), scheme.k))
    for fold in range(5):
        kept, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        model = tuning([encoded[i] for i in kept], targets[kept], out / f"fold-{fold}")
        oof[test] = encoder_logits(inputs, TorchBackend(model), [pairs[i] for i in test])
    model = tuning(encoded, targets, out / "all")
    held_logits = encoder_logits(inputs, TorchBackend(model), held)
    np.save(out / "oof.npy", oof)
    np.save(out / "held.npy", held_logits)
    return oof, held_logits


def stage_features(proba: np.ndarray, pairs: list) -> np.ndarray:
    """Expected grade, its z-score and gap to the best within the query, and the log-probabilities."""
    return np.hstack([stage_features_of(proba @ np.array([0.0, 1.0, 2.0]), pairs),
                      np.log(np.clip(proba, 1e-9, 1.0))])


def ranking_figures(expected: np.ndarray, human: np.ndarray, groups: list) -> dict:
    """Spearman, mean per-query tau-b, Pearson r and worth = 1 / (1 - r^2) of a judge's expected grade."""
    from scipy.stats import spearmanr

    from reljudge.metrics.within_query import per_query_tau
    from reljudge.metrics.worth import gain_correlation, worth

    r = gain_correlation(expected, human)
    return {"spearman": round(float(spearmanr(expected, human)[0]), 4),
            "tau": round(float(per_query_tau(np.asarray(groups), expected, human).mean()), 4),
            "r": round(float(r), 4), "worth": round(float(worth(r)), 4)}


def esci_cv(features: np.ndarray, pairs: list, y: np.ndarray, scheme, seeds: int = SEEDS,
            extra: tuple | None = None) -> tuple[float, dict]:
    """Grouped 5-fold CV over the queries, averaged over fold seeds, at the grid's best C by alpha (one seed, the
    folds of the out-of-fold logits, for a stack that reads them). `extra` = (features, y, weight) of another shop's
    pairs that join every fold's fit (ESCI's own pairs weigh 1)."""
    from reljudge.train.encoder import stacked_logits

    return grouped_cv(pairs, y, scheme, seeds, lambda C, kept, held: stacked_logits(
        fit_with(features[kept], y[kept], extra, scheme.k, C), features[held]))


def grouped_cv(pairs: list, y: np.ndarray, scheme, seeds: int, logits_of) -> tuple[float, dict]:
    """(best C by alpha, its figures averaged over fold seeds) of grouped 5-fold CV over the queries, where
    `logits_of(C, kept, held)` fits on the `kept` rows (a mask or indices) and gives the `held` rows' logits."""
    from reljudge.train.common import agreement_figures
    from reljudge.train.encoder import query_folds

    grades = np.asarray(scheme.grades, dtype=float)
    best = None
    for C in GRID:
        rows = []
        for seed in range(seeds):
            folds, proba = query_folds(pairs, 5, seed), np.zeros((len(y), scheme.k))
            for fold in range(5):
                kept, held = folds != fold, folds == fold
                logits = logits_of(C, kept, held)
                e = np.exp(logits - logits.max(axis=1, keepdims=True))
                proba[held] = e / e.sum(axis=1, keepdims=True)
            alpha = agreement_figures(scheme, [scheme.labels[i] for i in y],
                                      [scheme.labels[i] for i in proba.argmax(axis=1)])["alpha"]
            rows.append({"alpha": alpha, **ranking_figures(proba @ grades, grades[y], [p.query_id for p in pairs])})
        mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
        if best is None or mean["alpha"] > best[1]["alpha"]:
            best = (C, mean)
    return best


def cached_array(path: Path, compute) -> np.ndarray:
    """`compute()`, kept in `path` for the next run."""
    if not path.exists():
        np.save(path, compute())
    return np.load(path)


def fit_with(x: np.ndarray, y: np.ndarray, extra: tuple | None, k: int, C: float) -> dict:
    """The stack fitted on ESCI's pairs, and on another shop's weighted pairs where `extra` gives them."""
    from reljudge.train.common import fit_linear

    if extra is None:
        return fit_linear(x, y, k, C=C, max_iter=1000, seed=0)
    x_extra, y_extra, weight = extra
    return fit_linear(np.vstack([x, x_extra]), np.concatenate([y, y_extra]), k, C=C, max_iter=1000, seed=0,
                      sample_weight=np.concatenate([np.ones(len(y)), np.full(len(y_extra), weight)]),
                      prior_rows=np.arange(len(y) + len(y_extra)) < len(y))


def home_depot_as_esci(hd_train: list, esci) -> np.ndarray:
    """Home Depot's rounded mean grades as ESCI label indices: 3 E, 2 S, 1 I."""
    as_esci = {"3": esci.labels.index("E"), "2": esci.labels.index("S"), "1": esci.labels.index("I")}
    return np.array([as_esci[p.label] for p in hd_train])


def both_shops(blocks: dict, hd_blocks: dict, y_hd: np.ndarray, pairs: list, y: np.ndarray, esci, held: list,
               ratings: np.ndarray, shares: tuple[float, ...]) -> list[dict]:
    """Stacks fitted on ESCI and Home Depot's training queries together (`y_hd`: `home_depot_as_esci`), Home
    Depot's pairs weighted so that they count `share` times ESCI's in all. Scored by ESCI CV (Home Depot's pairs
    in every fold's fit) and on Home Depot's held-out queries."""
    from reljudge.train.encoder import stacked_logits

    rows = []
    for chosen in (["lexical"], ["lexical", "semantic"]):
        x, x_hd = np.hstack([blocks[b][0] for b in chosen]), np.hstack([hd_blocks[b] for b in chosen])
        for share in shares:
            extra = (x_hd, y_hd, share * len(y) / len(y_hd))
            C, cv = esci_cv(x, pairs, y, esci, seeds=2, extra=extra)
            logits = stacked_logits(fit_with(x, y, extra, esci.k, C), np.hstack([blocks[b][1] for b in chosen]))
            rows.append({"judge": f"stack on ESCI + Home Depot x{share}: " + " + ".join(chosen), "C": C,
                         "esci_cv": cv, "esci_to_hd": ranking_figures(expected_grade(logits, esci), ratings,
                                                                      [p.query_id for p in held])})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def order_stage(blocks: dict, hd_blocks: dict, y_hd: np.ndarray, pairs: list, y: np.ndarray, esci, held: list,
                ratings: np.ndarray, share: float, C_order: float = 0.1) -> dict:
    """The order from both shops under labels from ESCI alone: the expected grade of the stack fitted on ESCI and
    Home Depot (`both_shops`, at `share`), its z-score and gap to the best within the query, join ESCI's lexical
    and semantic features in a stack fitted on ESCI's labels alone. ESCI CV refits the both-shop stack without
    each held fold (its grade on the fold's pairs is out of fold); Home Depot's held-out pairs are scored by the
    stacks fitted on everything."""
    from reljudge.train.encoder import stacked_logits

    chosen = ["lexical", "semantic"]
    x, x_hd = np.hstack([blocks[b][0] for b in chosen]), np.hstack([hd_blocks[b] for b in chosen])
    extra = (x_hd, y_hd, share * len(y) / len(y_hd))

    def with_order(features: np.ndarray, order: dict, members: list) -> np.ndarray:
        return np.hstack([features, stage_features_of(expected_grade(stacked_logits(order, features), esci) / 3,
                                                      members)])

    def logits_of(C: float, kept: np.ndarray, out: np.ndarray) -> np.ndarray:
        kept, out = np.flatnonzero(kept), np.flatnonzero(out)
        order = fit_with(x[kept], y[kept], extra, esci.k, C_order)
        label_head = fit_with(with_order(x[kept], order, [pairs[i] for i in kept]), y[kept], None, esci.k, C)
        return stacked_logits(label_head, with_order(x[out], order, [pairs[i] for i in out]))

    C, cv = grouped_cv(pairs, y, esci, 2, logits_of)
    order = fit_with(x, y, extra, esci.k, C_order)
    label_head = fit_with(with_order(x, order, pairs), y, None, esci.k, C)
    logits = stacked_logits(label_head, with_order(np.hstack([blocks[b][1] for b in chosen]), order, held))
    row = {"judge": f"labels from ESCI over the order of ESCI + Home Depot x{share}: " + " + ".join(chosen),
           "C": C, "esci_cv": cv, "esci_to_hd": ranking_figures(expected_grade(logits, esci), ratings,
                                                                [p.query_id for p in held])}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def gain_order_stage(blocks: dict, hd_blocks: dict, hd_gain: np.ndarray, pairs: list, y: np.ndarray, esci,
                     held: list, ratings: np.ndarray, share: float, weight: float, C: float = 0.003) -> dict:
    """ESCI's lexical and semantic stack with Home Depot's order in it, as `reljudge train --order-data` fits it
    (`train.common.with_gain_order`): the gain regressed on both shops' features, Home Depot weighing `share`
    times ESCI in all, added along the grades at `weight` per standard deviation. ESCI CV refits both without each
    held fold (2 fold seeds, the stack's C fixed); Home Depot's held-out pairs are scored by the one fitted on all."""
    from reljudge.train.common import with_gain_order
    from reljudge.train.encoder import stacked_logits

    chosen = ["lexical", "semantic"]
    x, x_hd = np.hstack([blocks[b][0] for b in chosen]), np.hstack([hd_blocks[b] for b in chosen])

    def fitted(rows: np.ndarray) -> dict:
        stack = fit_with(x[rows], y[rows], None, esci.k, C)
        return with_gain_order(stack, x[rows], y[rows], esci.grades, (x_hd, hd_gain), share=share, weight=weight)

    _, cv = grouped_cv(pairs, y, esci, 2, lambda _, kept, out: stacked_logits(fitted(np.flatnonzero(kept)), x[out]))
    logits = stacked_logits(fitted(np.arange(len(y))), np.hstack([blocks[b][1] for b in chosen]))
    row = {"judge": f"ESCI's stack with Home Depot's gain order (share {share:g}, weight {weight:g}): "
                    + " + ".join(chosen), "C": C, "esci_cv": cv,
           "esci_to_hd": ranking_figures(expected_grade(logits, esci), ratings, [p.query_id for p in held])}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def stage_features_of(score: np.ndarray, pairs: list) -> np.ndarray:
    """A score, its z-score and its gap to the best within the query."""
    from reljudge.judges.features.lexical import group_z

    z, gap = np.zeros(len(pairs)), np.zeros(len(pairs))
    for members in pd.Series(range(len(pairs))).groupby([p.query_id for p in pairs]).groups.values():
        members = np.asarray(members)
        z[members], gap[members] = group_z(score[members]), score[members] - score[members].max()
    return np.column_stack([score, z, gap])


def expected_grade(logits: np.ndarray, scheme) -> np.ndarray:
    """The expected grade (E 3, S 2, C 1, I 0) under the stack's probabilities."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)) @ np.asarray(scheme.grades, dtype=float)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", action="append", default=[],
                        help="NAME=FOLDER:LAYERS, a stage trained on Home Depot's training queries (repeatable)")
    parser.add_argument("--fine-tune", action="append", default=[],
                        help="NAME=BASE:LAYERS:LR, an encoder fine-tuned on ESCI, its logits out of fold (repeatable)")
    parser.add_argument("--both", type=float, nargs="*", default=(),
                        help="also stacks fitted on ESCI and Home Depot's training queries, Home Depot weighted "
                             "SHARE times ESCI in all (e.g. --both 0.25 1 4)")
    parser.add_argument("--order", type=float, nargs="*", default=(),
                        help="also ESCI's label stack over the order of the both-shop stack at SHARE")
    parser.add_argument("--gain-order", nargs="*", default=(), metavar="SHARE:WEIGHT",
                        help="also ESCI's stack with Home Depot's gain order at SHARE and WEIGHT (e.g. 4:0.5 4:0), "
                             "as `reljudge train --order-data` fits it")
    parser.add_argument("--only-both", action="store_true", help="skip the ESCI-only rows")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "transfer", help="cached stage probabilities")
    args = parser.parse_args()
    if not (ESCI_DATA.exists() and HOMEDEPOT.exists()):
        print("skipped: this bench reads ../shared/data (ESCI and Home Depot)")
        return 0
    from reljudge.io import read_pairs
    from reljudge.judges.encoder.judge import SHIPPED, EncoderJudge
    from reljudge.judges.features.category import CategoryFeatures
    from reljudge.judges.features.lexical import pair_features
    from reljudge.judges.model_dir import shipped_directory
    from reljudge.labels import get_scheme
    from reljudge.train.common import fit_linear, label_indices, on_grade_scale
    from reljudge.train.encoder import stacked_logits
    from reljudge.train.lexical import fit_lexical

    args.out.mkdir(parents=True, exist_ok=True)
    esci = get_scheme("esci")
    pairs = read_pairs(ESCI_DATA, scheme=esci, require_labels=True).pairs
    y = label_indices(pairs, esci, "ESCI")
    graded, hd_train, held, ratings = home_depot_split(0.2, 0)
    held_groups = [p.query_id for p in held]
    esci_grades = np.asarray(esci.grades, dtype=float)[y]

    shipped_judge = EncoderJudge(shipped_directory(SHIPPED))
    semantic = shipped_judge.semantic
    categories = shipped_judge.categories or CategoryFeatures()  # the shipped judge reads none
    blocks = {"lexical": (pair_features(pairs), pair_features(held)),
              "semantic": (semantic(pairs), semantic(held)),
              "category": (categories(pairs), categories(held))}
    stages = {}
    for spec in args.stage:
        name, rest = spec.split("=", 1)
        folder, layers = rest.rsplit(":", 1)
        proba_esci = stage_proba(Path(folder), int(layers), pairs, args.out / f"{name}-esci.npy")
        proba_held = stage_proba(Path(folder), int(layers), held, args.out / f"{name}-hd-held.npy")
        stages[name] = (proba_esci, proba_held)
        blocks[name] = (stage_features(proba_esci, pairs), stage_features(proba_held, held))
    sets = [["lexical"], ["lexical", "semantic"], ["lexical", "semantic", "category"]]
    for name in stages:
        sets += [["lexical", "semantic", name], ["lexical", "semantic", "category", name]]
    one_seed = set()
    for spec in args.fine_tune:
        name, rest = spec.split("=", 1)
        base, layers, lr = rest.rsplit(":", 2)
        blocks[name] = fine_tuned_logits(Path(base), int(layers), float(lr), pairs, y, held, esci, args.out / name)
        one_seed.add(name)
        sets += [["lexical", "semantic", name]]
    if one_seed:
        sets += [["lexical", "semantic", "(seed 0)"]]
        blocks["(seed 0)"] = (np.zeros((len(pairs), 0)), np.zeros((len(held), 0)))
    rows = []
    if args.both or args.order or args.gain_order:
        hd_blocks = {name: cached_array(args.out / f"hd-train-{name}.npy", lambda f=f: f(hd_train))
                     for name, f in (("lexical", pair_features), ("semantic", semantic))}
        y_hd = home_depot_as_esci(hd_train, esci)
        rows += both_shops(blocks, hd_blocks, y_hd, pairs, y, esci, held, ratings, tuple(args.both))
        rows += [order_stage(blocks, hd_blocks, y_hd, pairs, y, esci, held, ratings, share) for share in args.order]
        hd_gain = on_grade_scale(graded, [p.label for p in hd_train], esci)  # rounded 1-3 as 0-3, as trained
        for spec in args.gain_order:
            share, weight = map(float, spec.split(":"))
            rows.append(gain_order_stage(blocks, hd_blocks, hd_gain, pairs, y, esci, held, ratings, share, weight))
    if args.only_both:
        sets = []
    for chosen in sets:
        x = np.hstack([blocks[b][0] for b in chosen])
        single = bool(one_seed & set(chosen)) or "(seed 0)" in chosen
        C, cv = esci_cv(x, pairs, y, esci, seeds=1 if single else SEEDS)
        stack = fit_linear(x, y, esci.k, C=C, max_iter=1000, seed=0)
        logits = stacked_logits(stack, np.hstack([blocks[b][1] for b in chosen]))
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        expected = (e / e.sum(axis=1, keepdims=True)) @ np.asarray(esci.grades, dtype=float)
        rows.append({"judge": "stack: " + " + ".join(chosen), "C": C, "esci_cv": cv,
                     "esci_to_hd": ranking_figures(expected, ratings, held_groups)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    rows.append({"judge": "cross-encoder (shipped default, ESCI train split)",
                 "esci_to_hd": ranking_figures(shipped_judge.predict_proba(held) @ np.asarray(esci.grades, float),
                                               ratings, held_groups)})
    hd_lexical = fit_lexical(hd_train, graded)
    grades3 = np.array([0.0, 1.0, 2.0])
    rows.append({"judge": "lexical trained on Home Depot's training queries",
                 "hd_held": ranking_figures(hd_lexical.predict_proba(held) @ grades3, ratings, held_groups),
                 "hd_to_esci": ranking_figures(hd_lexical.predict_proba(pairs) @ grades3, esci_grades,
                                               [p.query_id for p in pairs])})
    for name, (proba_esci, proba_held) in stages.items():
        rows.append({"judge": f"{name} alone (Home Depot's training queries)",
                     "hd_held": ranking_figures(proba_held @ grades3, ratings, held_groups),
                     "hd_to_esci": ranking_figures(proba_esci @ grades3, esci_grades, [p.query_id for p in pairs])})
    (args.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")

    def cells(figures: dict | None, keys: tuple[str, ...]) -> str:
        return " | ".join("" if figures is None else str(figures[k]) for k in keys)

    print("| judge | C | ESCI CV alpha | tau | r | worth | -> HD Spearman | tau | r | worth |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "esci_cv" in r or "esci_to_hd" in r:
            print(f"| {r['judge']} | {r.get('C', '')} | {cells(r.get('esci_cv'), ('alpha', 'tau', 'r', 'worth'))} | "
                  f"{cells(r.get('esci_to_hd'), ('spearman', 'tau', 'r', 'worth'))} |")
    print()
    print("| judge (trained on Home Depot) | HD held-out Spearman | tau | r | worth | -> ESCI Spearman | tau | r | "
          "worth |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "hd_to_esci" in r:
            keys = ("spearman", "tau", "r", "worth")
            print(f"| {r['judge']} | {cells(r['hd_held'], keys)} | {cells(r['hd_to_esci'], keys)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
