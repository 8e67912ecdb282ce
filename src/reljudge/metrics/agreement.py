"""Agreement between coders: Krippendorff's alpha, Cohen's kappa, percent agreement, and the humans' own ceiling.

A judge is scored as one more coder beside the human label. Alpha at the scheme's level of measurement says how
far the two agree beyond chance; the annotators' alpha among themselves is the ceiling a judge is held to, since a
judge cannot agree with "the human" more reliably than the humans agree with one another.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from reljudge.errors import ReljudgeError, SchemeError
from reljudge.labels import LabelScheme

_ANNOTATION_COLUMNS = ("pair_id", "annotator", "label")


def krippendorff_alpha(reliability_data: object, level: str, value_domain: Sequence | None = None) -> float:
    """Krippendorff's alpha of a coders x units table with missing values (a thin wrapper over `krippendorff`).

    alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_{c,k} o_ck d_ck / sum_{c,k} n_c n_k d_ck, where the coincidence
    matrix o_ck adds 1 / (m_u - 1) for every ordered pair of values (c, k) two different coders gave the same unit u
    (m_u = the number of values unit u received; units with m_u < 2 are not pairable and drop out),
    n_c = sum_k o_ck, n = sum_c n_c, and d_ck is the squared distance at the level of measurement:
    nominal [c != k]; ordinal (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2; interval (c - k)^2.

    Args:
        reliability_data: coders (rows) x units (columns); a missing value is None or NaN. Values are either labels
            (strings), which are replaced by their index in `value_domain` so that ordinal and interval distances
            follow the domain's order with unit spacing, or numbers, used as they are.
        level: "nominal", "ordinal" or "interval" (anything `krippendorff.alpha` accepts).
        value_domain: every value a coder could give, in order (a scheme's `labels`). Required for string labels
            at the ordinal and interval levels, where the order matters; otherwise the sorted values seen.

    Returns:
        alpha, 1 for perfect agreement, 0 for agreement at chance, negative for systematic disagreement; NaN when it
        is undefined because the pairable units hold fewer than two distinct values (D_e = 0).

    Raises:
        SchemeError: a value is not in `value_domain`, or string labels come without a domain at an ordered level.
    """
    data = np.asarray(reliability_data, dtype=object)
    if data.ndim != 2:
        raise ValueError(f"reliability data must be coders x units (2-D), got shape {data.shape}")
    missing = pd.isna(data)
    seen = data[~missing]
    if value_domain is None:
        if level != "nominal" and any(isinstance(v, str) for v in seen):
            raise SchemeError(f"alpha at the {level} level needs the labels' order (value_domain)")
        value_domain = sorted(set(seen.tolist()))
    domain = list(value_domain)
    position = {v: i for i, v in enumerate(domain)}
    unknown = sorted({str(v) for v in seen.tolist() if v not in position})
    if unknown:
        raise SchemeError(f"values {', '.join(unknown)} are not in the value domain ({', '.join(map(str, domain))})")
    codes = np.full(data.shape, -1)
    codes[~missing] = [position[v] for v in seen.tolist()]
    value_counts = (codes.T[:, :, None] == np.arange(len(domain))).sum(axis=1)
    numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in domain)
    return _alpha_from_value_counts(value_counts, level,
                                    np.asarray(domain, dtype=float) if numeric else np.arange(len(domain)))


def _alpha_from_value_counts(value_counts: np.ndarray, level: str, value_domain: np.ndarray) -> float:
    """Alpha from a units x values table of how many coders gave each value, NaN where it is undefined."""
    pairable = value_counts[value_counts.sum(axis=1) >= 2]
    if np.count_nonzero(pairable.sum(axis=0)) < 2:
        return float("nan")
    return float(krippendorff.alpha(value_counts=pairable, value_domain=value_domain, level_of_measurement=level))


def alpha(y_true: Sequence, y_pred: Sequence, scheme: LabelScheme) -> float:
    """Krippendorff's alpha of the judge as a second coder beside the (aggregated) human label.

    The two label lists form a 2 x n reliability table at `scheme.level` with `scheme.labels` as the ordered
    domain; a pair either coder left out (None or NaN, e.g. an unscored judgment) is not pairable and drops out.
    See `krippendorff_alpha` for the formula.
    """
    return krippendorff_alpha([list(y_true), list(y_pred)], scheme.level, scheme.labels)


def alpha_from_confusion(confusion: np.ndarray, level: str) -> np.ndarray | float:
    """Two-coder alpha straight from confusion matrices, batched over leading axes (for bootstrap resamples).

    With two coders every unit both coded has m_u = 2, so it adds 1 to o[h, j] and 1 to o[j, h]: the coincidence
    matrix is o = C + C^T for a confusion matrix C (rows one coder, columns the other). Then
    alpha = 1 - (n - 1) * sum o_ck d_ck / sum n_c n_k d_ck as in `krippendorff_alpha`, with values at their index
    in the label order (interval distance (c - k)^2 between indices). Agrees with `krippendorff_alpha` on the
    same pairs; this form is what lets a thousand resamples cost one array operation.

    Args:
        confusion: counts (or weighted counts), shape (..., k, k).
        level: "nominal", "ordinal" or "interval".

    Returns:
        alpha per matrix (a float for a single k x k matrix), NaN where undefined.
    """
    c = np.asarray(confusion, dtype=float)
    o = c + np.swapaxes(c, -1, -2)
    n_v = o.sum(axis=-1)
    n = n_v.sum(axis=-1)
    d = _distances(level, n_v)
    observed = (n - 1) * (o * d).sum(axis=(-2, -1))
    expected = (n_v[..., :, None] * n_v[..., None, :] * d).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(expected > 0, 1 - observed / np.where(expected > 0, expected, 1), np.nan)
    return float(result) if result.ndim == 0 else result


def _distances(level: str, n_v: np.ndarray) -> np.ndarray:
    """Squared distances d_ck between value indices, shape (..., k, k); ordinal ones depend on the marginals n_v."""
    k = n_v.shape[-1]
    i, j = np.arange(k)[:, None], np.arange(k)[None, :]
    if level == "nominal":
        return np.broadcast_to((i != j).astype(float), n_v.shape[:-1] + (k, k))
    if level == "interval":
        return np.broadcast_to(((i - j) ** 2).astype(float), n_v.shape[:-1] + (k, k))
    if level == "ordinal":
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        cum = np.cumsum(n_v, axis=-1)
        between = cum[..., hi] - cum[..., lo] + n_v[..., lo]
        return (between - (n_v[..., i] + n_v[..., j]) / 2) ** 2
    raise SchemeError(f"level must be nominal, ordinal or interval, not {level!r}")


def cohen_kappa(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> float:
    """Cohen's kappa, kappa = (p_o - p_e) / (1 - p_e), with p_e = sum_c p_true(c) p_pred(c).

    Unweighted: the level of measurement is alpha's business. NaN when undefined (no pairs, or p_e = 1).
    """
    if len(y_true) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(list(y_true), list(y_pred), labels=list(labels)))


def percent_agreement(y_true: Sequence, y_pred: Sequence) -> float:
    """The share of units both coders labelled on which they agree: (1/n) sum_u 1[a_u == b_u].

    Units where either label is missing (None or NaN) are left out; NaN when no unit is left.
    """
    a, b = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    both = ~(pd.isna(a) | pd.isna(b))
    return float(np.mean(a[both] == b[both])) if both.any() else float("nan")


def annotator_agreement(annotations: pd.DataFrame, scheme: LabelScheme) -> dict:
    """How far the human annotators agree among themselves: the ceiling a judge is held to.

    Coders are annotators and units are pairs; a pair an annotator did not label is missing for that annotator.
    Per pair with m >= 2 labels, pairwise agreement is a_u = sum_c n_uc (n_uc - 1) / (m (m - 1)), the share of
    ordered annotator pairs that gave the same label; `percent_agreement` is the mean of a_u over those pairs.

    Args:
        annotations: long form, one row per (pair_id, annotator, label); labels in any spelling the scheme accepts.
            An annotator's repeated label for the same pair counts once (the first).
        scheme: gives the label order and the level of measurement.

    Returns:
        {"alpha", "level", "percent_agreement", "n_pairs", "n_multi" (pairs with 2+ labels), "n_annotators"}.
    """
    data = _annotations(annotations, scheme)
    counts = pd.crosstab(data["pair_id"], data["label"]).reindex(columns=list(scheme.labels), fill_value=0)
    values = counts.to_numpy()
    m = values.sum(axis=1)
    multi = m >= 2
    pairwise = (values * (values - 1)).sum(axis=1)[multi] / (m[multi] * (m[multi] - 1))
    return {
        "alpha": _alpha_from_value_counts(values, scheme.level, np.arange(scheme.k)),
        "level": scheme.level,
        "percent_agreement": float(pairwise.mean()) if multi.any() else float("nan"),
        "n_pairs": int(len(values)),
        "n_multi": int(multi.sum()),
        "n_annotators": int(data["annotator"].nunique()),
    }


def aggregate_labels(annotations: pd.DataFrame, scheme: LabelScheme) -> pd.DataFrame:
    """One label per pair by majority vote, ties broken by the scheme's label order.

    The votes are counted in a pair x label table whose columns follow `scheme.labels`, and the first of the tied
    columns wins: for ESCI the more relevant (E before S before C before I), for graded scales the lower grade. The
    same votes therefore always give the same label, whatever order the rows came in.

    Args:
        annotations: long form pair_id / annotator / label (see `annotator_agreement`).
        scheme: the labels and their tie-breaking order.

    Returns:
        DataFrame with columns pair_id, label, n_annotators, one row per pair in order of first appearance.
    """
    data = _annotations(annotations, scheme)
    votes = pd.crosstab(data["pair_id"], data["label"]).reindex(columns=list(scheme.labels), fill_value=0)
    order = pd.unique(data["pair_id"])
    return pd.DataFrame({
        "pair_id": order,
        "label": votes.idxmax(axis=1).reindex(order).to_numpy(),
        "n_annotators": data.groupby("pair_id")["annotator"].nunique().reindex(order).to_numpy(),
    })


def _annotations(annotations: pd.DataFrame, scheme: LabelScheme) -> pd.DataFrame:
    """Canonical labels, rows without a label dropped, one label per (pair, annotator)."""
    absent = [c for c in _ANNOTATION_COLUMNS if c not in annotations.columns]
    if absent:
        raise ReljudgeError(f"annotations need columns {', '.join(_ANNOTATION_COLUMNS)}; missing {', '.join(absent)}")
    data = annotations.loc[annotations["label"].notna(), list(_ANNOTATION_COLUMNS)]
    canonical = {raw: scheme.parse(raw) for raw in pd.unique(data["label"])}
    data = data.assign(label=data["label"].map(canonical))
    return data.drop_duplicates(["pair_id", "annotator"], keep="first").reset_index(drop=True)
