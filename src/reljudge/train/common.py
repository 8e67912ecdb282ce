"""What every trainer shares: the linear classifier with prior offsets (the lexical judge's, and the stack of the
cross-encoder), the agreement figures a model records of its valid split, training-data summaries and label
indices."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from reljudge.errors import InputError, JudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Pair, query_key

#: The logit of a label absent from the training data: it is then never predicted.
ABSENT_LOGIT = -50.0


def fit_linear(features: np.ndarray, y: np.ndarray, k: int, *, C: float, max_iter: int, seed: int,
               sample_weight: np.ndarray | None = None, prior_rows: np.ndarray | None = None) -> dict[str, list]:
    """Standardise, fit a multinomial logistic regression, then prior offsets: the lexical judge's classifier.

    Shared with the cross-encoder's stacked classifier, which fits it on lexical features and encoder logits.

    Args:
        features: (n, d) training features; NaN where a pair lacks one (a product without a category), which is
            fitted as the column's mean, as the judges read it (`encoder.judge.standardised`).
        y: label indices in [0, k); at least two distinct values.
        k: the number of labels (labels absent from `y` get `ABSENT_LOGIT` and are never predicted).
        C, max_iter, seed: passed to scikit-learn's LogisticRegression.
        sample_weight: each pair's weight in the fit (None: all 1), so that pairs from another shop can join a
            stack without outweighing the scheme's own.
        prior_rows: a mask of the pairs whose label mix the offsets aim at (None: all of them): the scheme's own
            pairs, when another shop's pairs, mapped onto its labels, join the fit.

    Returns:
        {"mean", "scale"} of the scaler, {"coef" (k x d), "intercept", "offsets"} of the classifier, as lists;
        logits are ((x - mean) / scale) @ coef.T + intercept + offsets.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    present = np.unique(y)
    missing = np.isnan(features)
    if missing.any():  # each missing value at its column's mean (0 for a column that is all missing)
        counts = (~missing).sum(axis=0)
        means = np.divide(np.where(missing, 0.0, features).sum(axis=0), counts, out=np.zeros(features.shape[1]),
                          where=counts > 0)
        features = np.where(missing, means, features)
    scaler = StandardScaler().fit(features)
    standardised = scaler.transform(features)
    classifier = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    classifier.fit(standardised, y, sample_weight=sample_weight)
    coef, intercept = _full_rank(classifier.coef_, classifier.intercept_, present, k)
    offsets = _label_mix_offsets(standardised @ coef.T + intercept, y if prior_rows is None else y[prior_rows],
                                 present, k)
    return {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "coef": coef.tolist(),
            "intercept": intercept.tolist(), "offsets": offsets.tolist()}


def _label_mix_offsets(logits: np.ndarray, y: np.ndarray, present: np.ndarray, k: int) -> np.ndarray:
    """The prior offsets that give the `present` labels `y`'s mix (0 for the absent ones)."""
    target = np.bincount(y, minlength=k) / len(y)
    offsets = np.zeros(k)
    offsets[present] = prior_offsets(_log_softmax(logits[:, present]), target[present])
    return offsets


def with_gain_order(stack: dict[str, list], features: np.ndarray, y: np.ndarray, grades: Sequence[float],
                    other: tuple[np.ndarray, np.ndarray], *, share: float, weight: float) -> dict[str, list]:
    """The stack with another shop's order in it: its logits plus `weight` * z(s) * (g - mean g), folded into its
    coefficients, and its prior offsets fitted again.

    s is the gain regressed (ridge, least squares: what r, and so worth, reads) on the first d feature columns of
    the training pairs and of another shop's pairs together, the other shop's gains on the scheme's grade scale,
    its pairs weighing `share` times the training pairs in all; z(s) is s standardised over the training pairs.
    Along the grades' deviations from their mean, the term raises the expected grade where s is high and leaves
    the label boundaries to the stack's own features. Measured (bench/transfer.py, ESCI with Home Depot at share
    4, weight 0.5): ESCI grouped CV alpha 0.290 -> 0.289, r 0.403 -> 0.412; Spearman on Home Depot's held-out
    queries 0.273 -> 0.341, worth 1.073 -> 1.109.

    Args:
        stack: `fit_linear`'s output over `features`.
        features: (n, D) the stack's training features; its first d columns are the ones the other shop has.
        y: the training labels (indices), whose mix the offsets aim at.
        grades: the scheme's grade of each label.
        other: (n_other, d) the other shop's features, (n_other,) their gains on the scheme's grade scale.
    """
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    other_x, other_gain = other
    d = other_x.shape[1]
    mean, scale = np.asarray(stack["mean"]), np.asarray(stack["scale"])
    ours = np.where(np.isnan(features[:, :d]), mean[:d], features[:, :d])  # missing at the stack's mean, as judged
    theirs = np.where(np.isnan(other_x), mean[:d], other_x)
    grades = np.asarray(grades, dtype=float)
    both = np.vstack([ours, theirs])
    scaler = StandardScaler().fit(both)
    sample_weight = np.concatenate([np.ones(len(ours)), np.full(len(theirs), share * len(ours) / len(theirs))])
    ridge = Ridge(alpha=1.0).fit(scaler.transform(both), np.concatenate([grades[y], other_gain]),
                                 sample_weight=sample_weight)
    w = ridge.coef_ / scaler.scale_
    b = float(ridge.intercept_ - (scaler.mean_ / scaler.scale_) @ ridge.coef_)
    score = ours @ w + b
    centre, spread = score.mean(), score.std()
    if spread < 1e-12:
        return stack
    direction = weight * (grades - grades.mean())
    coef, intercept = np.array(stack["coef"], dtype=float), np.array(stack["intercept"], dtype=float)
    coef[:, :d] += np.outer(direction, w * scale[:d] / spread)
    intercept += direction * (w @ mean[:d] + b - centre) / spread
    standardised = np.where(np.isnan(features), 0.0, (features - mean) / scale)
    offsets = _label_mix_offsets(standardised @ coef.T + intercept, y, np.unique(y), len(grades))
    return {**stack, "coef": coef.tolist(), "intercept": intercept.tolist(), "offsets": offsets.tolist()}


def on_grade_scale(other: LabelScheme, labels: Sequence[str], scheme: LabelScheme) -> np.ndarray:
    """Another scheme's labels as gains on `scheme`'s grade scale: its lowest grade at ours, its highest at ours."""
    theirs = np.asarray(other.grades, dtype=float)
    ours = np.asarray(scheme.grades, dtype=float)
    position = {label: i for i, label in enumerate(other.labels)}
    unit = (theirs[[position[label] for label in labels]] - theirs.min()) / (theirs.max() - theirs.min())
    return ours.min() + unit * (ours.max() - ours.min())


def class_weights(counts: np.ndarray, how: str) -> np.ndarray:
    """Per-class loss weights from each label's count (or target mass): "balanced" (n / (k_present * n_c), as
    scikit-learn's), or "none" (all 1). Labels with no mass get weight 0 (they have no examples to weigh)."""
    counts = np.asarray(counts, dtype=float)
    if how == "none":
        return np.ones(len(counts))
    if how != "balanced":
        raise JudgeError(f"class_weight must be 'balanced' or 'none', not {how!r}")
    present = counts > 0
    weights = np.zeros(len(counts))
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def agreement_figures(scheme: LabelScheme, truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Agreement of predicted with human labels.

    Returns:
        alpha (Krippendorff's, at the scheme's level, over the scheme's labels; None when undefined), accuracy,
        macro_f1 (over the labels that occur in either list), recall and predicted_distribution (per label), and
        n_pairs.
    """
    from reljudge.metrics import accuracy, alpha, macro_f1, per_class

    a = alpha(truth, predicted, scheme)
    recall = per_class(truth, predicted, scheme.labels)
    present = set(truth)
    return {
        # None when undefined (one label on both sides), so model.json stays strict JSON.
        "alpha": round(a, 4) if np.isfinite(a) else None,
        "accuracy": round(accuracy(truth, predicted), 4),
        "macro_f1": round(macro_f1(truth, predicted, scheme.labels), 4),
        "recall": {label: round(recall[label]["recall"], 4) if label in present else None for label in scheme.labels},
        "predicted_distribution": {label: round(list(predicted).count(label) / len(predicted), 4)
                                   for label in scheme.labels},
        "n_pairs": len(truth),
    }

def prior_offsets(log_proba: np.ndarray, target: np.ndarray, *, sweeps: int = 50) -> np.ndarray:
    """Per-class offsets o so that argmax(log_proba + o) gives (close to) the `target` label distribution.

    Coordinate-wise: with the other offsets fixed, class c wins row i exactly when o_c exceeds minus its margin
    (log_proba[i, c] - max over j != c of log_proba[i, j] + o_j), so sorting the margins gives the o_c that makes
    c win round(target_c * n) rows; o_c is put midway between the last row won and the first lost. Each update
    disturbs the other classes' shares a little, so sweeps repeat; the offsets with the smallest total variation
    distance to `target` seen are returned, centred to sum to zero. Deterministic.
    """
    n, k = log_proba.shape
    wins = np.round(np.asarray(target) * n).astype(int)
    offsets = np.zeros(k)
    best, best_gap = offsets.copy(), np.inf
    for _ in range(sweeps):
        for c in range(k):
            rivals = np.delete(log_proba + offsets, c, axis=1).max(axis=1)
            margins = np.sort(log_proba[:, c] - rivals)[::-1]
            last_won = margins[wins[c] - 1] if wins[c] > 0 else margins[0] + 1.0
            first_lost = margins[wins[c]] if wins[c] < n else margins[-1] - 1.0
            offsets[c] = -(last_won + first_lost) / 2
        shares = np.bincount((log_proba + offsets).argmax(axis=1), minlength=k) / n
        gap = np.abs(shares - target).sum()
        if gap < best_gap:
            best, best_gap = offsets - offsets.mean(), gap
        if gap == 0:
            break
    return best


def data_summary(pairs: Sequence[Pair], scheme: LabelScheme) -> dict[str, Any]:
    """What a model config records of its training data: digest, size, queries and label distribution."""
    counts = np.bincount([scheme.index(scheme.parse(p.label)) for p in pairs], minlength=scheme.k)
    return {
        "data_sha256": training_digest(pairs),
        "n_pairs": len(pairs),
        "n_queries": len({p.query_id or query_key(p.query) for p in pairs}),
        "label_distribution": dict(zip(scheme.labels, (counts / max(len(pairs), 1)).round(4).tolist())),
    }


def training_digest(pairs: Sequence[Pair]) -> str:
    """sha256 of the sorted (query id, pair hash, label) lines: the same training data in any order, same digest."""
    lines = sorted(f"{p.query_id}\t{p.pair_hash}\t{p.label}" for p in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def label_indices(pairs: Sequence[Pair], scheme: LabelScheme, what: str) -> np.ndarray:
    """Each pair's label as an index into the scheme; `what` names the pairs in the error for an unlabelled one."""
    indices = []
    for i, pair in enumerate(pairs):
        if pair.label is None:
            raise InputError(what, "the pair has no label; training and evaluation need labelled pairs",
                             row=i + 1, field="label")
        indices.append(scheme.index(scheme.parse(pair.label)))
    return np.array(indices, dtype=int)


def _full_rank(coef: np.ndarray, intercept: np.ndarray, present: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax weights for all k labels from sklearn's, which cover only the labels seen.

    Two seen labels come as one logistic row w: the softmax of (0, w.x + b) is the same model. Unseen labels get
    zero weights and `ABSENT_LOGIT`.
    """
    if len(present) == 2:
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    full_coef = np.zeros((k, coef.shape[1]))
    full_intercept = np.full(k, ABSENT_LOGIT)
    full_coef[present] = coef
    full_intercept[present] = intercept
    return full_coef, full_intercept


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
