"""The two verbs of evaluation: `evaluate_judge` (judge labelled pairs, then compare) and `compare` (judgments
already made). Both line the judge up with the humans and return an `EvaluationReport`; neither prints.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.evaluation.align import comparison_frame
from reljudge.evaluation.figures import evaluate_frame
from reljudge.evaluation.report import EvaluationReport
from reljudge.infer.batch import judge_pairs, to_frame
from reljudge.io import PairsRead
from reljudge.judges.base import Judge
from reljudge.labels import LabelScheme, get_scheme
from reljudge.metrics.agreement import aggregate_labels
from reljudge.records import Judgment, Pair
from reljudge.store import Store


def evaluate_judge(
    judge: Judge,
    pairs: Sequence[Pair] | PairsRead,
    *,
    annotations: pd.DataFrame | None = None,
    by: Sequence[str] | str | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    store: Store | None = None,
    batch_size: int = 64,
    progress: bool = False,
    retry_unscored: bool = False,
    input_name: str = "",
    scheme: LabelScheme | str | None = None,
) -> EvaluationReport:
    """Judge labelled pairs and measure how far the judge agrees with their human labels.

    Every pair is judged (a group judge needs each query's whole candidate set), through the store's cache when
    `store` is given; only the pairs with a human label are compared. The labels and `by` columns are checked
    before anything is judged, so a mistake costs no judging.

    Args:
        judge: the judge (see `reljudge.load_judge`).
        pairs: the pairs, with their human labels (`Pair.label`), or what `read_pairs` returned.
        annotations: long-form human labels (pair_id, annotator, label), as `read_annotations` returns them:
            their majority label stands in for a pair without a label, and their agreement among themselves is
            reported as the ceiling for the judge.
        by: segment columns (the pairs' extra input columns, or query_id) to report figures for, value by value;
            one column may be given as a string.
        bootstrap: B > 0 resamples queries B times for 95% intervals.
        seed: seeds the bootstrap.
        store: the store whose judgments are reused and which keeps the new ones; None judges everything.
        batch_size: pairs per forward pass.
        progress: show a progress bar on a terminal.
        retry_unscored: judge again the pairs the store holds as unscored.
        input_name: the input, as the store's run records it.
        scheme: the scheme the figures are computed in, by default the judge's; it must have the judge's labels
            (the same scheme at another level of measurement, say).

    Returns:
        The report; `to_table()`, `to_dict()` and `to_dataframe()` read it out.

    Raises:
        ReljudgeError: no pair has a human label, a `by` column does not exist, or `scheme` has other labels than
            the judge's.
    """
    the_scheme = _judge_scheme(judge, scheme)
    pair_list = _pair_list(pairs)
    human = _aggregated(annotations, the_scheme)
    by = _columns(by)
    _check_inputs(pair_list, human, by)
    run = judge_pairs(pair_list, judge, store=store, input_name=input_name, batch_size=batch_size,
                      progress=progress, retry_unscored=retry_unscored)
    return _report(to_frame(pair_list, run.judgments, the_scheme), pair_list, the_scheme, human, annotations,
                   by=by, bootstrap=bootstrap, seed=seed)


def compare(
    judgments: pd.DataFrame | Sequence[Judgment],
    pairs: Sequence[Pair] | PairsRead,
    *,
    scheme: LabelScheme | str,
    annotations: pd.DataFrame | None = None,
    by: Sequence[str] | str | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> EvaluationReport:
    """Measure judgments already made (read from a file, say) against the human labels of the same pairs.

    Args:
        judgments: a judgments table as `read_judgments` returns it (pair_id and/or pair_hash, label, p_<label>
            ...), or `Judgment` records; they are matched to the pairs by pair_id, else by pair hash. A labelled
            pair with no judgment counts as unscored.
        pairs: the labelled pairs, or what `read_pairs` returned.
        scheme: the label scheme of both (a `LabelScheme` or its spec, "esci", "graded:1-3" ...).
        annotations, by, bootstrap, seed: as for `evaluate_judge`.

    Returns:
        The report.

    Raises:
        ReljudgeError: no pair has a human label, no judgment matches a labelled pair, or a `by` column does not
            exist.
    """
    the_scheme = get_scheme(scheme)
    pair_list = _pair_list(pairs)
    human = _aggregated(annotations, the_scheme)
    by = _columns(by)
    _check_inputs(pair_list, human, by)
    return _report(_judgments_frame(judgments, the_scheme), pair_list, the_scheme, human, annotations,
                   by=by, bootstrap=bootstrap, seed=seed)


def _report(judged: pd.DataFrame, pairs: list[Pair], scheme: LabelScheme, human: dict[str, str],
            annotations: pd.DataFrame | None, *, by: list[str], bootstrap: int, seed: int) -> EvaluationReport:
    frame = comparison_frame(pairs, judged, scheme, human=human)
    return EvaluationReport(evaluate_frame(frame, scheme, by=by, bootstrap=bootstrap, seed=seed,
                                           annotations=annotations))


def _columns(by: Sequence[str] | str | None) -> list[str]:
    return [by] if isinstance(by, str) else list(by or [])


def _judge_scheme(judge: Judge, scheme: LabelScheme | str | None) -> LabelScheme:
    if scheme is None:
        return judge.scheme
    wanted = get_scheme(scheme)
    if wanted.labels != judge.scheme.labels:
        raise ReljudgeError(f"scheme {wanted.name!r} ({', '.join(wanted.labels)}) does not have the labels of "
                            f"judge {judge.spec!r} ({judge.scheme.name}: {', '.join(judge.scheme.labels)})")
    return wanted


def _pair_list(pairs: Sequence[Pair] | PairsRead) -> list[Pair]:
    return list(pairs.pairs if isinstance(pairs, PairsRead) else pairs)


def _aggregated(annotations: pd.DataFrame | None, scheme: LabelScheme) -> dict[str, str]:
    """The annotators' majority label of each pair_id (empty without annotations)."""
    if annotations is None:
        return {}
    majority = aggregate_labels(annotations, scheme)
    return dict(zip(majority["pair_id"], majority["label"]))


def _check_inputs(pairs: list[Pair], human: dict[str, str], by: list[str]) -> None:
    """Refuse, before any judging, inputs that cannot be compared: no human label, or an unknown `by` column."""
    if not any(p.label is not None or p.pair_id in human for p in pairs):
        raise ReljudgeError("no human labels to compare with: the pairs have no label column or no labelled rows, "
                            "and no annotation names their pair_id")
    known = {"query_id"}.union(*(p.segments for p in pairs))
    for column in by:
        if column not in known:
            raise ReljudgeError(f"no column {column!r} to report by (columns to slice by: {', '.join(sorted(known))})")


def _judgments_frame(judgments: pd.DataFrame | Sequence[Judgment], scheme: LabelScheme) -> pd.DataFrame:
    """A judgments table; `Judgment` records become one with pair_hash, label and p_<label> columns."""
    if isinstance(judgments, pd.DataFrame):
        return judgments
    columns: dict[str, list] = {"pair_hash": [j.pair_hash for j in judgments], "label": [j.label for j in judgments]}
    for k, label in enumerate(scheme.labels):
        columns[f"p_{label}"] = [j.proba[k] if j.proba is not None else float("nan") for j in judgments]
    return pd.DataFrame(columns)
