"""Atomic file replacement: a crash mid-write never leaves half a file over a good one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block succeeds, move it over `path` in one step.

    The temporary file lives in the same directory so that ``os.replace`` is a rename on one file system (atomic
    on POSIX and Windows); it is flushed to disk first, so a power cut cannot leave a renamed but empty file. If
    the block raises, the temporary file is removed and `path` is untouched. Parent directories are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield temporary
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
