"""Row checks shared by the readers: collect every bad row in vectorised passes, then raise or reject.

Checks run column by column over the whole frame (fast on 100k rows); each bad row keeps only its first problem,
and the earliest bad row is the one reported, as if the file had been read line by line.
"""

from __future__ import annotations

import pandas as pd

from reljudge.errors import InputError, SchemeError
from reljudge.io.rejected import Rejected
from reljudge.labels import LabelScheme, MeanRule


class RowErrors:
    """The first problem of each bad row of one file."""

    def __init__(self, file: str):
        self.file = file
        self._first: dict[int, tuple[str, str]] = {}

    def add(self, bad: pd.Series, field: str, reason: str | pd.Series) -> None:
        """Record `reason` (one text, or one per row aligned with `bad`) for each row where `bad` is True."""
        rows = bad.index[bad.to_numpy(dtype=bool)]
        for row in rows:
            if row not in self._first:
                self._first[int(row)] = (field, reason if isinstance(reason, str) else str(reason[row]))

    def __bool__(self) -> bool:
        return bool(self._first)

    @property
    def rows(self) -> list[int]:
        return sorted(self._first)

    def raise_first(self) -> None:
        """Raise an InputError for the earliest bad row, if any."""
        if self._first:
            row = min(self._first)
            field, reason = self._first[row]
            raise InputError(self.file, reason, row=row, field=field)

    def rejected(self, frame: pd.DataFrame, columns: list[str]) -> list[Rejected]:
        """The bad rows as Rejected records holding the input `columns` of `frame`."""
        records = frame.loc[self.rows, columns].to_dict(orient="index") if self._first else {}
        return [Rejected(row, *self._first[row], record={k: str(v) for k, v in records[row].items()})
                for row in self.rows]


def blank(values: pd.Series) -> pd.Series:
    """True where a cell is empty or only whitespace."""
    return values.str.strip() == ""


def is_graded(scheme: LabelScheme) -> bool:
    """Graded schemes have numeric, ordered grades, so a mean of ratings can be mapped to one of them."""
    return scheme.name.startswith("graded:")


def parse_labels(raw: pd.Series, scheme: LabelScheme, mean_rule: MeanRule | None = None) -> tuple[pd.Series, pd.Series]:
    """Map raw label cells to canonical labels, parsing each distinct value once.

    Args:
        raw: label cells as text; "" means no label.
        scheme: the label scheme the values must belong to.
        mean_rule: for graded schemes, how a mean of ratings (2.33) becomes a grade; None accepts grades only.

    Returns:
        (labels, reasons): the canonical label per row ("" where empty or invalid) and the reason a non-empty cell
        is invalid ("" where it is fine).

    Raises:
        SchemeError: the mean rule itself is malformed for this scheme (a setting, not a row, is wrong).
    """
    graded = is_graded(scheme) and mean_rule is not None
    if graded and mean_rule.spec != "round":
        mean_rule.thresholds(scheme)
    parsed = {value: _parse_one(value, scheme, mean_rule if graded else None) for value in raw.unique()}
    labels = raw.map({value: label for value, (label, _) in parsed.items()})
    reasons = raw.map({value: reason for value, (_, reason) in parsed.items()})
    return labels.astype(str), reasons.astype(str)


def _parse_one(value: str, scheme: LabelScheme, mean_rule: MeanRule | None) -> tuple[str, str]:
    if not value.strip():
        return "", ""
    try:
        return scheme.parse(value), ""
    except SchemeError as exc:
        if mean_rule is None:
            return "", str(exc)
        try:
            mean = float(value)
        except ValueError:
            return "", str(exc)
    grades = [float(label) for label in scheme.labels]
    if not grades[0] <= mean <= grades[-1]:
        return "", f"label {value!r} is outside the scale {scheme.name}"
    return mean_rule.apply(mean, scheme), ""
