"""Can a judge stand in for human labels in experiments? Compare the per-query metric and the effect under both.

Pinterest accepts an LLM judge for experiment measurement when, at query level, the metric computed from its
labels ranks queries like the metric from human labels does (Kendall's tau > 0.5 and Spearman's rho > 0.65), and
when the two lead to the same decision: the same sign of the effect and the same verdict on its significance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reljudge.experiments.design import Design
from reljudge.experiments.effects import estimate_effect

#: Pinterest's bars for a judge's per-query metric against the human one.
MIN_TAU = 0.5
MIN_RHO = 0.65


def rank_agreement(human: np.ndarray, judged: np.ndarray) -> dict[str, float | None]:
    """Kendall's tau-b and Spearman's rho (scipy) between two aligned arrays; None where undefined (a constant)."""
    from scipy import stats

    human, judged = np.asarray(human, float), np.asarray(judged, float)
    if len(human) < 2 or np.ptp(human) == 0 or np.ptp(judged) == 0:
        return {"kendall_tau": None, "spearman_rho": None}
    return {"kendall_tau": float(stats.kendalltau(human, judged).statistic),
            "spearman_rho": float(stats.spearmanr(human, judged).statistic)}


def validate(human: pd.DataFrame, judged: pd.DataFrame, design: Design, *, alpha: float = 0.05) -> dict:
    """Agreement of the per-query metric from human labels and from judge labels, and of the effects they give.

    Args:
        human: per-query control and treatment metrics from human labels (as `measure_arms` returns them).
        judged: the same queries in the same order, measured with judge labels.
        design: how the queries were drawn.
        alpha: the significance level of both effects.

    Returns:
        A JSON-ready dict: n_queries; kendall_tau and spearman_rho over the per-query metric values of both arms
        (2n points), and tau_diff / rho_diff over the per-query differences; passes (tau > 0.5 and rho > 0.65);
        the human and judge effects (effect, ci_low, ci_high, p_value, significant); same_sign; same_significance.
    """
    if list(human["query_id"]) != list(judged["query_id"]):
        raise ValueError("the human and judged per-query tables must list the same queries in the same order")
    levels = rank_agreement(np.concatenate([human["control"], human["treatment"]]),
                            np.concatenate([judged["control"], judged["treatment"]]))
    diffs = rank_agreement(human["diff"].to_numpy(), judged["diff"].to_numpy())
    effects = {}
    for name, frame in (("human", human), ("judge", judged)):
        got = estimate_effect(frame["control"].to_numpy(), frame["treatment"].to_numpy(), design, alpha=alpha)
        effects[name] = {key: got[key] for key in ("control", "treatment", "effect", "relative_effect", "ci_low",
                                                    "ci_high", "p_value")}
        effects[name]["significant"] = got["p_value"] < alpha
    tau, rho = levels["kendall_tau"], levels["spearman_rho"]
    return {
        "n_queries": int(len(human)),
        **levels,
        "tau_diff": diffs["kendall_tau"],
        "rho_diff": diffs["spearman_rho"],
        "passes": tau is not None and rho is not None and tau > MIN_TAU and rho > MIN_RHO,
        "human": effects["human"],
        "judge": effects["judge"],
        "same_sign": bool(np.sign(effects["human"]["effect"]) == np.sign(effects["judge"]["effect"])),
        "same_significance": effects["human"]["significant"] == effects["judge"]["significant"],
        "alpha": alpha,
    }
