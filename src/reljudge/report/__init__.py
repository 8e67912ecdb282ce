"""The daily relevance report: aggregation in DuckDB, drift alarms, charts, one self-contained HTML page."""

from __future__ import annotations

from reljudge.report.build import DailyReport, build_report
from reljudge.report.drift import Alarm
from reljudge.report.options import ReportOptions

__all__ = ["Alarm", "DailyReport", "ReportOptions", "build_report"]
