"""The experiment workflow as library verbs: measure an A/B experiment's arms on the sampled queries with labels
from a judge, people, or both, and estimate the effect (`analyze_experiment`), or check a judge's per-query metric
against people's (`validate_judge`). `reljudge experiment analyze|validate` parse, call these, and render.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reljudge.errors import ReljudgeError

if TYPE_CHECKING:
    import pandas as pd

    from reljudge.judges.base import Judge
    from reljudge.labels import LabelScheme
    from reljudge.store import Store

log = logging.getLogger(__name__)

#: Gives the gain of each (query_id, product_id) pair it is asked for (those it cannot label are left out).
GainSource = Callable[[Sequence[tuple[str, str]]], dict[tuple[str, str], float]]


@dataclass(frozen=True)
class ExperimentAnalysis:
    """What `analyze_experiment` found.

    Attributes:
        report: the effect, absolute and relative, its interval, p-value, MDE and per-stratum effects, with the
            metric, k, the labels' source and how many shown pairs had no label (what `--json` prints).
        per_query: each sampled query's metric per arm and their difference (with `labelled` and `human_diff`
            where people's labels corrected the judge's).
    """

    report: dict[str, Any]
    per_query: pd.DataFrame


def analyze_experiment(
    sample: str | Path, control: str | Path, treatment: str | Path, *, judge: Judge | None = None,
    pairs: str | Path | None = None, qrels: str | Path | None = None, store: Store | None = None, k: int = 10,
    metric: str = "sdcg", min_gain: float | None = None, expected_gain: bool = False,
    scheme: LabelScheme | None = None, alpha: float = 0.05, power: float = 0.8, bootstrap: int = 0, seed: int = 0,
) -> ExperimentAnalysis:
    """Measure control and treatment on the sampled queries and estimate the effect with its interval and MDE.

    With both `judge` and `qrels`, the judge labels every query and the human labels of the queries they cover
    (every result either arm shows) correct its effect: prediction-powered inference (PPI++), unbiased whatever the
    judge's bias, and tighter than the human labels alone as far as the judge tracks them.

    Args:
        sample: the sampled queries (what `experiment sample` wrote).
        control, treatment: each arm's results, a TREC run or a table (query_id, product_id, rank).
        judge: labels the shown pairs (needs `pairs`, the file with their text); through `store` when given.
        qrels: people's labels, TREC qrels or a table (query_id, product_id, label): alone, or correcting the judge.
        k, metric, min_gain: each arm's top K, by sdcg, ndcg or precision (relevant from `min_gain`, default the
            top gain).
        expected_gain: a judge's gain is the expected gain under its probabilities, not its label's.
        scheme: the labels' scheme (default: the judge's, else ESCI).
        alpha, power: the test's level (intervals are 1 - alpha) and the power the MDE is computed at.
        bootstrap, seed: B > 0 resamples queries within strata B times (not with judge and qrels together).

    Raises:
        ReljudgeError: no source of labels, a judge without pairs, or a bad file (named, with row and field).
    """
    from reljudge.experiments.design import design_from_sample
    from reljudge.experiments.effects import estimate_effect
    from reljudge.labels import get_scheme

    if judge is None and qrels is None:
        raise ReljudgeError("give a judge (with its pairs), qrels, or both as the source of labels")
    if judge is not None and pairs is None:
        raise ReljudgeError("a judge needs the pairs file with the query and product text to judge")
    if judge is not None and qrels is not None and bootstrap > 0:
        raise ReljudgeError("the bootstrap is not available with a judge and qrels together (prediction-powered)")
    the_scheme = scheme or (judge.scheme if judge is not None else get_scheme("esci"))
    sources, labels = [], ""
    if judge is not None:
        sources.append(judge_source(judge, Path(pairs), the_scheme, store, expected_gain))
        labels = judge.spec
    if qrels is not None:
        sources.append(qrels_source(Path(qrels), the_scheme))
        labels = f"{labels} corrected by qrels:{qrels}" if judge is not None else f"qrels:{qrels}"
    (measured, unjudged), *human_measured = measure(Path(sample), Path(control), Path(treatment), sources, k=k,
                                                    metric=metric, scheme=the_scheme, min_gain=min_gain)
    design = design_from_sample(measured)
    if human_measured:
        report, measured = _prediction_powered(measured, human_measured[0][0], design, alpha=alpha, power=power)
    else:
        report = estimate_effect(measured["control"].to_numpy(), measured["treatment"].to_numpy(), design,
                                 alpha=alpha, power=power, bootstrap=bootstrap, seed=seed)
    columns = ["query_id", "stratum", "weight", "control", "treatment", "diff", "labelled", "human_diff"]
    return ExperimentAnalysis({"metric": metric, "k": k, "labels": labels, "unjudged": unjudged, **report},
                              measured[[c for c in columns if c in measured]])


def validate_judge(
    sample: str | Path, control: str | Path, treatment: str | Path, *, judge: Judge, pairs: str | Path,
    qrels: str | Path, store: Store | None = None, k: int = 10, metric: str = "sdcg", min_gain: float | None = None,
    expected_gain: bool = False, alpha: float = 0.05,
) -> dict[str, Any]:
    """The per-query metric from people's labels against the judge's (Kendall's tau, Spearman's rho) and the two
    effects, on the same sampled queries and arms (arguments as `analyze_experiment`'s)."""
    from reljudge.experiments.design import design_from_sample
    from reljudge.experiments.validate import validate

    sources = [qrels_source(Path(qrels), judge.scheme),
               judge_source(judge, Path(pairs), judge.scheme, store, expected_gain)]
    (human, unjudged_human), (judged, unjudged_judge) = measure(
        Path(sample), Path(control), Path(treatment), sources, k=k, metric=metric, scheme=judge.scheme,
        min_gain=min_gain)
    return {"metric": metric, "k": k, "judge": judge.spec, "unjudged_human": unjudged_human,
            "unjudged_judge": unjudged_judge, **validate(human, judged, design_from_sample(human), alpha=alpha)}


def measure(sample_path: Path, control: Path, treatment: Path, sources: Sequence[GainSource], *, k: int,
            metric: str, scheme: LabelScheme, min_gain: float | None) -> list[tuple[pd.DataFrame, int]]:
    """Read the sample and both runs once; for each gain source, get the shown pairs' gains from
    `gains_of(wanted)` and measure each arm (the measured table and the count of unjudged shown pairs)."""
    from reljudge.experiments.arms import measure_arms, shown_pairs
    from reljudge.io.experiment import read_sample
    from reljudge.io.runs import ranked_lists, read_run
    from reljudge.metrics.ranking import check_metric

    check_metric(metric)
    the_sample = read_sample(sample_path)
    runs = [ranked_lists(read_run(path), k) for path in (control, treatment)]
    wanted = shown_pairs(list(the_sample["query_id"]), *runs, k)
    top = max(scheme.gains)
    return [measure_arms(the_sample, *runs, gains_of(wanted), metric=metric, k=k, top_gain=top,
                         min_gain=top if min_gain is None else min_gain,
                         sources=(str(sample_path), str(control), str(treatment)))
            for gains_of in sources]


def qrels_source(qrels: Path, scheme: LabelScheme) -> GainSource:
    """Gains from a labels file, read once."""
    from reljudge.experiments.labelling import label_gains
    from reljudge.io.qrels import read_qrels

    gains = label_gains(read_qrels(qrels, scheme=scheme), scheme)
    return lambda wanted: gains


def judge_source(judge: Judge, pairs: Path, scheme: LabelScheme, store: Store | None, expected: bool) -> GainSource:
    """Gains from the judge's labels of the pairs asked for, through the store when one is given."""
    from reljudge.experiments.labelling import judge_gains
    from reljudge.io import read_pairs

    read = read_pairs(pairs, scheme=scheme)

    def gains_of(wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        return judge_gains(read.pairs, wanted, judge, store=store, source=str(pairs), expected=expected,
                           input_name=f"experiment:{pairs}")

    return gains_of


def _prediction_powered(judged: pd.DataFrame, human: pd.DataFrame, design, *, alpha: float, power: float
                        ) -> tuple[dict, pd.DataFrame]:
    """The judge's per-query metrics corrected by the human ones of the queries people labelled on every shown
    result (see `experiments.ppi`), and the per-query table with labelled and human_diff columns."""
    from reljudge.experiments.ppi import prediction_powered_effect

    labelled = (human["unlabelled"] == 0).to_numpy()
    partial = int(((human["unlabelled"] > 0) & (human["unlabelled"] < human["shown"])).sum())
    if partial:
        log.warning("%d sampled queries have human labels on only some of their shown results: they count as "
                    "unlabelled", partial)
    report = prediction_powered_effect(human["control"].to_numpy(), human["treatment"].to_numpy(),
                                       judged["control"].to_numpy(), judged["treatment"].to_numpy(), labelled,
                                       design, alpha=alpha, power=power)
    return report, judged.assign(labelled=labelled, human_diff=human["diff"].where(labelled))
