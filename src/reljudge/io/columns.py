"""Decide which input column feeds each canonical field: defaults first present, overridden by the user's map."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from reljudge.errors import InputError


def map_columns(file: str, present: Iterable[str], defaults: Mapping[str, tuple[str, ...]],
                columns: Mapping[str, str] | None = None, aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Resolve canonical field -> source column.

    Args:
        file: the input file, for error messages.
        present: the columns the file has.
        defaults: for each canonical field, candidate source columns; the first one present is used.
        columns: the user's map, canonical field (or an alias of one) -> source column; it wins over defaults.
        aliases: alternative spellings of canonical field names accepted as keys of `columns`.

    Returns:
        Only the fields that have a column: a field with no column present is simply absent.

    Raises:
        InputError: a key of `columns` names no canonical field, or a mapped column is not in the file.
    """
    present = list(present)
    aliases = aliases or {}
    chosen: dict[str, str] = {}
    for key, source in (columns or {}).items():
        field = aliases.get(key, key)
        if field not in defaults:
            accepted = ", ".join([*defaults, *aliases])
            raise InputError(file, f"unknown field {key!r} in the column map (accepted: {accepted})", field=key)
        if source not in present:
            raise InputError(file, f"column {source!r} (mapped to {field}) is not in the file "
                                   f"(columns present: {', '.join(present)})", field=source)
        chosen[field] = source
    for field, candidates in defaults.items():
        if field not in chosen:
            hit = next((c for c in candidates if c in present and c not in chosen.values()), None)
            if hit is not None:
                chosen[field] = hit
    return chosen


def require(file: str, mapping: Mapping[str, str], fields: Iterable[str], defaults: Mapping[str, tuple[str, ...]],
            present: Iterable[str]) -> None:
    """Raise an InputError for the first required field that has no column, saying how to map one."""
    for field in fields:
        if field not in mapping:
            wanted = " or ".join(repr(c) for c in defaults[field])
            raise InputError(file, f"missing column {wanted} (columns present: {', '.join(present)}); "
                                   f"map another column with --columns {field}=NAME", field=defaults[field][0])


def canonical_table(path: Path, defaults: Mapping[str, tuple[str, ...]]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a table whose every field in `defaults` is required, renamed to the canonical names.

    Returns:
        The frame with exactly the canonical columns, and canonical field -> source column (for error messages).
    """
    from reljudge.io.tables import read_table

    source = str(path)
    frame = read_table(path)
    mapping = map_columns(source, frame.columns, defaults)
    require(source, mapping, list(defaults), defaults, frame.columns)
    frame = frame[[mapping[c] for c in defaults]].set_axis(list(defaults), axis=1)
    return frame, {c: mapping[c] for c in defaults}
