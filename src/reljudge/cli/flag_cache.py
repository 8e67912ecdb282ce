"""Command-line flags built from pydantic models, kept in a JSON file while the models' sources are unchanged.

Building the option and config models imports pydantic, which would double the time `reljudge --help` takes; the
flags only change when those source files do, so each command reads them back from a small file in the user cache
directory (`$RELJUDGE_CACHE`, else the platform's). A read-only or missing cache directory only costs time.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_file(name: str) -> Path:
    from reljudge.cache import cache_dir

    return cache_dir("cli", f"{name}.json")


def source_key(source: Path) -> list[Any]:
    """What the flags are built from: reljudge's version and every Python file at `source` (name, size, mtime)."""
    import reljudge

    paths = sorted(source.rglob("*.py")) if source.is_dir() else [source]
    files = [[str(p.relative_to(source) if source.is_dir() else p.name), p.stat().st_size, p.stat().st_mtime_ns]
             for p in paths]
    return [reljudge.__version__, str(source), files]


def cached_rows(name: str, source: Path, build: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows `build` makes, read from cache file NAME while `source` is unchanged, else built and written."""
    key, path = source_key(source), cache_file(name)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached["key"] == key:
            return cached["rows"]
    rows = build()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f"{path.name}.{os.getpid()}")
        scratch.write_text(json.dumps({"key": key, "rows": rows}), encoding="utf-8")
        os.replace(scratch, path)
    return rows
