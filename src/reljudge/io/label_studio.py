"""Label Studio: tasks to import, with a judge's pre-labels, and the annotations its JSON export holds.

Tasks are `[{"data": {...}, "predictions": [{"model_version", "score", "result": [...]}]}]`: the data carries the
pair (pair_id, query, product fields) for the labelling view, and each prediction is a single-choice result from
the judge, `model_version` its spec and `score` its probability of the label it chose, so annotators can sort
tasks by the judge's confidence. `label_config` writes the matching labelling view (the result's `from_name` and
`to_name` must name its tags).

The JSON export holds each task with its `annotations`, each with `completed_by` (a user id, or in older exports
a user object) and a `result` list; cancelled (skipped) annotations and ones without a choice are left out.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError, SchemeError
from reljudge.io.interop import ratings_frame, read_json
from reljudge.labels import LabelScheme

#: The names of the labelling view's tags: the choice control, and the text it labels.
FROM_NAME = "label"
TO_NAME = "product"
_DATA_FIELDS = ("pair_id", "pair_hash", "query_id", "query", "product_id", "title", "brand", "color", "bullets",
                "description")


def label_studio_tasks(table: pd.DataFrame, scheme: LabelScheme) -> list[dict]:
    """Tasks JSON for Label Studio's import, one per row, with the judge's label as a prediction.

    Args:
        table: one row per pair: the `_DATA_FIELDS` it has, and a judge's `label`, `p_<label>` columns and
            `judge` spec (`infer.batch.to_frame` plus product fields); a row without a label gets no prediction.
        scheme: the labels' scheme.
    """
    tasks = []
    for row in table.to_dict(orient="records"):
        data = {name: _text(row[name]) for name in _DATA_FIELDS if name in row}
        task: dict = {"data": data}
        label = row.get("label")
        if isinstance(label, str) and label:
            score = row.get(f"p_{label}")
            prediction = {"model_version": str(row.get("judge", "")), "result": [_choice(label)]}
            if isinstance(score, float) and not math.isnan(score):
                prediction["score"] = score
            task["predictions"] = [prediction]
        tasks.append(task)
    return tasks


def _choice(label: str) -> dict:
    return {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": [label]}}


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def label_config(scheme: LabelScheme) -> str:
    """The labelling view (Label Studio's XML config) the tasks and their predictions are written for."""
    choices = "\n".join(f'    <Choice value="{escape(label)}"/>' for label in scheme.labels)
    return (f'<View>\n  <Header value="$query"/>\n  <Text name="{TO_NAME}" value="$title"/>\n'
            f'  <Text name="details" value="$bullets"/>\n'
            f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">\n{choices}\n'
            "  </Choices>\n</View>\n")


def read_label_studio(path: str | Path, *, scheme: LabelScheme) -> pd.DataFrame:
    """People's labels from a Label Studio JSON export, in the interop frame (see io/interop.py).

    The pair is the task data's pair_id (as `label_studio_tasks` wrote it) or else its query and product_id; the
    annotator is `completed_by` (the user's id, or the email of an older export's user object).

    Raises:
        InputError: naming the file and task for a file that is not a list of tasks, a task without data, or a
            choice the scheme does not have.
    """
    source = str(path)
    tasks = read_json(path)
    if not isinstance(tasks, list):
        raise InputError(source, "expected Label Studio's JSON export: a list of tasks")
    rows = []
    for number, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise InputError(source, "a task has no 'data' object", row=number, field="data")
        for annotation in task.get("annotations") or []:
            label = _annotated(annotation, scheme, source, number)
            if label is not None:
                rows.append(_row(task, annotation, label))
    return ratings_frame(rows)


def _annotated(annotation: dict, scheme: LabelScheme, source: str, number: int) -> str | None:
    if annotation.get("was_cancelled"):
        return None
    for item in annotation.get("result") or []:
        choices = (item.get("value") or {}).get("choices")
        if item.get("type") == "choices" and choices:
            try:
                return scheme.parse(choices[0])
            except SchemeError as exc:
                raise InputError(source, str(exc), row=number, field="annotations.result.value.choices") from None
    return None


def _row(task: dict, annotation: dict, label: str) -> dict:
    data = task["data"]
    user = annotation.get("completed_by")
    if isinstance(user, dict):
        user = user.get("email") or user.get("id")
    return {"pair_id": _text(data.get("pair_id")), "query_id": _text(data.get("query_id")),
            "query": _text(data.get("query")), "product_id": _text(data.get("product_id")),
            "annotator": _text(user) or "label-studio", "label": label}
