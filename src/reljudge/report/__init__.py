"""The daily relevance report: aggregation in DuckDB, drift alarms, charts, one self-contained HTML page.

Imported lazily, so that `reljudge report`'s flags can be built from `ReportOptions` without pandas or DuckDB.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Alarm": "reljudge.report.drift", "DailyReport": "reljudge.report.build",
            "build_report": "reljudge.report.build", "ReportOptions": "reljudge.report.options"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'reljudge.report' has no attribute {name!r}")
