"""Ideas for ESCI quality that did not pay, kept runnable so the next attempt starts from figures.

Each compares against the lexical judge's multinomial logistic regression on the same features, with the L2
strength C picked by grouped 5-fold cross-validation on the ESCI train split (alpha), and reports that CV alpha and
the valid alpha (never used to choose anything).

    python bench/quality_probes.py ordinal
        A cumulative ordinal model over I < C < S < E (Frank & Hall: one binary logistic regression per threshold,
        monotone, then prior offsets) instead of the multinomial one.
    python bench/quality_probes.py homedepot --model out/hd-ce [--pairs 24000] [--layers 2]
        A first stage on Home Depot: MiniLM (or its lowest --layers layers) fine-tuned by the cross-encoder
        recipe's `fine_tune` as a 3-grade classifier on a seeded sample of Home Depot's pairs (trained into --model
        if absent: ~35 min on 2 cores for six layers), then frozen; its expected grade, the grade's z-score and
        gap to the best within the query, and its logits join the lexical features. The encoder never sees ESCI,
        so no cross-fitting is needed. The same --model can be the --base of `reljudge train --judge
        cross-encoder`, which fine-tunes it further on ESCI (cross-fitted).
    python bench/quality_probes.py causal
        Does the causal judge's base model know anything about ESCI? SmolLM2-135M-Instruct, frozen, reads each
        pair as the causal template writes it (query and product fields, no instructions); its last layer's
        states, mean-pooled over the pair's tokens (576 numbers), go beside the lexical features, and alone.
        ~20 min on 2 cores.
    python bench/quality_probes.py semantic
        The cross-encoder's semantic features (`judges/token_vectors.py`: static token vectors from the shipped
        judge, relative to the query's other candidates) beside the lexical ones. Besides the usual rows, a
        second figure that valid does not decide alone: grouped 5-fold CV over all 103 queries (train and valid),
        averaged over 4 fold seeds, at the C that is best there. Seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ESCI = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
HOMEDEPOT = ROOT.parent / "shared" / "data" / "homedepot" / "train.csv"
GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
ORDER = np.array([3, 2, 1, 0])  # E S C I as ranks: I < C < S < E


def esci_splits():
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    scheme = get_scheme("esci")
    pairs = read_pairs(ESCI, scheme=scheme, require_labels=True).pairs
    return (scheme, [p for p in pairs if p.segments["split"] == "train"],
            [p for p in pairs if p.segments["split"] == "valid"])


def multinomial(train_x, train_y, test_x, C):
    from reljudge.train.common import fit_linear
    from reljudge.train.encoder import stacked_logits

    return stacked_logits(fit_linear(train_x, train_y, 4, C=C, max_iter=1000, seed=0), test_x)


def ordinal(train_x, train_y, test_x, C):
    """Log-probabilities over E S C I from P(rank >= t) for t = C, S, E, made monotone, with prior offsets."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from reljudge.train.common import prior_offsets

    scaler = StandardScaler().fit(train_x)
    fitted = [LogisticRegression(C=C, max_iter=1000).fit(scaler.transform(train_x), (ORDER[train_y] >= t).astype(int))
              for t in (1, 2, 3)]

    def log_proba(x):
        above = [np.ones(len(x))] + [m.predict_proba(scaler.transform(x))[:, 1] for m in fitted] + [np.zeros(len(x))]
        above = np.minimum.accumulate(np.column_stack(above), axis=1)
        by_rank = np.clip(above[:, :-1] - above[:, 1:], 1e-6, None)
        return np.log(by_rank[:, ORDER] / by_rank.sum(axis=1, keepdims=True))

    target = np.bincount(train_y, minlength=4) / len(train_y)
    return log_proba(test_x) + prior_offsets(log_proba(train_x), target)


def figures(scheme, truth, predicted) -> dict:
    from reljudge.train.common import agreement_figures

    return agreement_figures(scheme, [scheme.labels[i] for i in truth], [scheme.labels[i] for i in predicted])


def cv_alpha(fit, scheme, pairs, y, features, C, seed: int = 0) -> float:
    """Alpha of out-of-fold labels over 5 folds of whole queries (fold assignment seeded)."""
    from reljudge.train.encoder import query_folds

    folds, out_of_fold = query_folds(pairs, 5, seed), np.zeros(len(y), dtype=int)
    for fold in range(5):
        kept, held = folds != fold, folds == fold
        out_of_fold[held] = fit(features[kept], y[kept], features[held], C).argmax(axis=1)
    return figures(scheme, y, out_of_fold)["alpha"]


def compare(name, fit, scheme, train, valid, train_x, valid_x) -> None:
    from reljudge.train.common import label_indices

    y = label_indices(train, scheme, "ESCI train")
    cv = {C: cv_alpha(fit, scheme, train, y, train_x, C) for C in GRID}
    C = max(GRID, key=cv.get)
    predicted = fit(train_x, y, valid_x, C).argmax(axis=1)
    valid_figures = figures(scheme, label_indices(valid, scheme, "ESCI valid"), predicted)
    spread = " / ".join(f"{share:.2f}" for share in np.bincount(predicted, minlength=4) / len(predicted))
    print(f"| {name} | {C} | {cv[C]:.3f} | {valid_figures['alpha']:.3f} | {valid_figures['macro_f1']:.3f} | {spread} |")


def all_queries_cv(scheme, pairs, features, seeds: int = 4) -> float:
    """Grouped 5-fold CV alpha over the given pairs, averaged over fold seeds, at the best C of `GRID`."""
    from reljudge.train.common import label_indices

    y = label_indices(pairs, scheme, "ESCI")
    return max(np.mean([cv_alpha(multinomial, scheme, pairs, y, features, C, seed) for seed in range(seeds)])
               for C in GRID)


def homedepot_stage(model_dir: Path, n_pairs: int, layers: int | None):
    """The frozen first-stage encoder (trained here if `model_dir` is absent) as a function of ESCI pairs."""
    from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
    from reljudge.judges.encoder.judge import TorchBackend, encoder_logits
    from reljudge.judges.features.lexical import group_z
    from reljudge.records import query_key

    if not model_dir.exists():
        train_first_stage(model_dir, n_pairs, layers)
    backend = TorchBackend.load(model_dir)
    inputs = PairEncoder(model_dir / TOKENIZER_FILE, 32, 12)

    def features(pairs):
        logits = encoder_logits(inputs, backend, pairs)
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        grade = (proba / proba.sum(axis=1, keepdims=True)) @ np.array([1.0, 2.0, 3.0])
        z, gap = np.zeros(len(pairs)), np.zeros(len(pairs))
        groups: dict[str, list[int]] = {}
        for i, pair in enumerate(pairs):
            groups.setdefault(pair.query_id or query_key(pair.query), []).append(i)
        for members in groups.values():
            z[members], gap[members] = group_z(grade[members]), grade[members] - grade[members].max()
        return np.column_stack([grade, z, gap, logits])

    return features


def smollm2_states(pairs, batch_size: int = 16) -> np.ndarray:
    """SmolLM2-135M-Instruct's last-layer states, mean-pooled over each pair's tokens, batched by length."""
    import torch
    import transformers

    from reljudge.judges.causal.model import load_causal_lm, resolve_base
    from reljudge.judges.causal.prompt import CausalPrompt
    from reljudge.judges.causal.scoring import pad_id
    from reljudge.labels import get_scheme
    from reljudge.prompts.templates import load_template

    torch.set_num_threads(2)
    base = resolve_base(None)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base.directory), local_files_only=True)
    ids = CausalPrompt(tokenizer, load_template("esci-causal"), get_scheme("esci"), max_length=224).pair_ids(pairs)
    model = load_causal_lm(base.directory).model
    states = np.zeros((len(pairs), model.config.hidden_size))
    order = np.argsort([len(row) for row in ids])
    for start in range(0, len(pairs), batch_size):
        rows = order[start:start + batch_size]
        width = max(len(ids[i]) for i in rows)
        batch = torch.full((len(rows), width), pad_id(tokenizer), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            batch[r, : len(ids[i])], mask[r, : len(ids[i])] = torch.tensor(ids[i]), 1
        with torch.inference_mode():
            hidden = model(input_ids=batch, attention_mask=mask).last_hidden_state
        pooled = (hidden * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True)
        states[rows] = pooled.double().numpy()
    return states


def train_first_stage(model_dir: Path, n_pairs: int, layers: int | None) -> None:
    import transformers

    from reljudge.io import read_pairs
    from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
    from reljudge.labels import get_scheme
    from reljudge.train.common import label_indices
    from reljudge.train.configs import CrossEncoderConfig
    from reljudge.train.encoder import FineTune, default_base

    scheme = get_scheme("graded:1-3")
    pairs = read_pairs(HOMEDEPOT, scheme=scheme, layout="homedepot").pairs
    pairs = [pairs[i] for i in np.random.default_rng(0).permutation(len(pairs))[:n_pairs]]
    base = default_base()
    inputs = PairEncoder(base / TOKENIZER_FILE, 32, 12)
    config = CrossEncoderConfig(epochs=1.0, batch_size=32, learning_rate=8e-5, max_length=32, query_tokens=12,
                                layers=layers)
    targets = np.eye(scheme.k)[label_indices(pairs, scheme, "Home Depot")]
    model = FineTune(base, inputs, scheme, config, "cls")(inputs.encode(pairs), targets, model_dir / "checkpoints")
    model.save_pretrained(model_dir)
    transformers.AutoTokenizer.from_pretrained(str(base), local_files_only=True).save_pretrained(model_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe", choices=["ordinal", "homedepot", "causal", "semantic"])
    parser.add_argument("--model", type=Path, default=ROOT / "out" / "hd-ce", help="the first-stage encoder")
    parser.add_argument("--pairs", type=int, default=24_000, help="Home Depot pairs to train the first stage on")
    parser.add_argument("--layers", type=int, help="keep the base's lowest N layers in the first stage (default all)")
    args = parser.parse_args()
    if not ESCI.exists() or (args.probe == "homedepot" and not HOMEDEPOT.exists()):
        raise SystemExit("skipped: this probe reads ../shared/data (ESCI, and Home Depot for the first stage)")
    from reljudge.judges.features.lexical import pair_features

    scheme, train, valid = esci_splits()
    train_x, valid_x = pair_features(train), pair_features(valid)
    print("| model | C (by CV) | CV alpha (train) | valid alpha | valid macro-F1 | predicted E / S / C / I |")
    print("|---|---|---|---|---|---|")
    compare("lexical features, multinomial (the lexical judge's recipe)", multinomial, scheme, train, valid,
            train_x, valid_x)
    if args.probe == "ordinal":
        compare("lexical features, cumulative ordinal", ordinal, scheme, train, valid, train_x, valid_x)
        return
    if args.probe == "semantic":
        from reljudge.judges.registry import load_judge

        semantic = load_judge("cross-encoder").semantic
        train_s, valid_s = semantic(train), semantic(valid)
        compare("lexical + semantic", multinomial, scheme, train, valid, np.hstack([train_x, train_s]),
                np.hstack([valid_x, valid_s]))
        for name, features in (("lexical", np.vstack([train_x, valid_x])),
                               ("lexical + semantic", np.hstack([np.vstack([train_x, valid_x]),
                                                                 np.vstack([train_s, valid_s])]))):
            print(f"all 103 queries, {name}: CV alpha {all_queries_cv(scheme, train + valid, features):.3f}")
        return
    if args.probe == "causal":
        states = smollm2_states(train + valid)  # one model load for both splits
        train_lm, valid_lm = states[: len(train)], states[len(train):]
        compare("lexical + frozen SmolLM2-135M states", multinomial, scheme, train, valid,
                np.hstack([train_x, train_lm]), np.hstack([valid_x, valid_lm]))
        compare("frozen SmolLM2-135M states alone", multinomial, scheme, train, valid, train_lm, valid_lm)
        return
    stage = homedepot_stage(args.model, args.pairs, args.layers)
    train_hd, valid_hd = stage(train), stage(valid)
    compare("lexical + Home Depot stage (grade, z, gap, logits)", multinomial, scheme, train, valid,
            np.hstack([train_x, train_hd]), np.hstack([valid_x, valid_hd]))
    compare("Home Depot stage alone", multinomial, scheme, train, valid, train_hd, valid_hd)


if __name__ == "__main__":
    main()
