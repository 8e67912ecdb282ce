"""A small exception hierarchy: the CLI turns any ReljudgeError into one clear line and exit status 2."""

from __future__ import annotations


class ReljudgeError(Exception):
    """Base of every error reljudge raises on purpose (bad input, bad config, missing model)."""


class InputError(ReljudgeError):
    """Bad input data, located precisely enough that a user can open the file and fix it.

    Args:
        file: the path of the file that holds the bad value.
        message: what is wrong.
        row: 1-based data row (the header is row 0), or None when the whole file is at fault.
        field: the column or field name, or None.
    """

    def __init__(self, file: str, message: str, *, row: int | None = None, field: str | None = None):
        self.file = str(file)
        self.row = row
        self.field = field
        self.message = message
        where = self.file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class SchemeError(ReljudgeError):
    """A label scheme spec that cannot be parsed, or a label that is not in the scheme."""


class JudgingStopped(ReljudgeError):
    """A judge that could not go on (an API server that cannot be used) after judging some of the pairs.

    Attributes:
        judgments: one per pair asked for, in their order: the Judgment made before it stopped, None elsewhere, so
            the caller keeps what was judged.
    """

    def __init__(self, message: str, judgments: list | None = None):
        super().__init__(message)
        self.judgments: list = list(judgments or [])


class JudgeError(ReljudgeError):
    """A judge spec that names no known judge, or a judge that cannot be loaded."""
