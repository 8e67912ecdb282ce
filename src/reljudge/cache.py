"""Where reljudge keeps what it can make again (converted models, command-line flags, text vectors):
$RELJUDGE_CACHE, else the platform's user cache directory. Losing it only costs time."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("RELJUDGE_CACHE") or user_cache_dir("reljudge"), *parts)
