"""build_report: read the store's aggregates for a window, compare the last day with its reference, raise alarms.

Computation only: the report is a value (`DailyReport.to_dict()` is what `reljudge report --json` prints), and
the HTML page and charts render it elsewhere (report/html.py, report/charts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from reljudge.report import corrected, drift, people, query
from reljudge.report.drift import Alarm
from reljudge.report.options import ReportOptions
from reljudge.report.query import Window


@dataclass
class DailyReport:
    """What the store says of a window of days, and the alarms of its last day.

    Attributes:
        volume: judgments per day and judge spec (day, judge, n, unscored); identities: each spec's recorded
            identity (JSON) where the store keeps one.
        mix: the report judge's scored judgments per day, segment and label (day, column, value, label, n),
            column and value "" for all pairs.
        mix_checks: the last day's label mix against the reference window, per segment (see drift.mix_check).
        people_days / people_window / people_segments: agreement with people per day, over the window, and per
            segment over the window (see people.agreement); people_among: people among themselves over the
            window, beside the judge on the same pairs (see people.among_people); alpha_checks: the last day's
            alpha against the reference's, per segment.
    """

    store: str
    options: ReportOptions
    window: Window
    generated: datetime
    volume: pd.DataFrame
    identities: dict[str, str]
    mix: pd.DataFrame
    mix_checks: list[dict]
    people_days: list[dict]
    people_window: dict
    people_segments: list[dict]
    people_among: dict
    alpha_checks: list[dict]
    corrected: dict = field(default_factory=lambda: {"days": [], "window": None, "segments": [], "check": {}})
    alarms: list[Alarm] = field(default_factory=list)

    def daily_mix(self, column: str = "") -> pd.DataFrame:
        """Per day (and segment value) of the window: n, each label's share and the mean gain."""
        return daily_mix(self.mix, self.window, column)

    def to_dict(self) -> dict:
        w = self.window
        return {
            "store": self.store, "generated": self.generated.isoformat(timespec="seconds"),
            "window": {"since": w.since.isoformat(), "until": w.until.isoformat(), "judge": w.judge,
                       "scheme": w.scheme.name, "labels": list(w.scheme.labels), "gains": list(w.scheme.gains),
                       "reference": [d.isoformat() for d in w.reference], "by": list(w.segments)},
            "options": self.options.model_dump(mode="json"),
            "alarms": [a.to_dict() for a in self.alarms],
            "volume": _records(self.volume[self.volume["day"] >= pd.Timestamp(w.since)]),
            "identities": self.identities,
            "mix": _records(self.daily_mix()),
            "mix_by": {c: _records(self.daily_mix(c)) for c in w.segments},
            "mix_checks": self.mix_checks,
            "people": {"days": self.people_days, "window": self.people_window, "segments": self.people_segments,
                       "among": self.people_among},
            "alpha_checks": self.alpha_checks,
            "corrected": {**self.corrected,
                          "days": [{**d, "day": d["day"].isoformat()} for d in self.corrected["days"]]},
        }


def build_report(con, options: ReportOptions, store_path: str) -> DailyReport:
    """Compute the report of `options`' window from an open store connection (read only)."""
    window = query.resolve_window(con, options, store_path)
    mix = query.label_mix(con, window)
    rows = query.labelled(con, window)
    units = people.compared_units(rows, window.scheme)
    units["day"] = pd.to_datetime(units["day"]).dt.date
    mix_checks = _mix_checks(mix, window, options)
    alpha_checks = _alpha_checks(units, window, options)
    in_window = units[units["day"] >= window.since]
    report = DailyReport(
        store=store_path, options=options, window=window, generated=datetime.now(timezone.utc),
        volume=query.volume(con, window), identities=query.identities(con, window), mix=mix,
        mix_checks=mix_checks, people_days=_people_days(in_window, window, options),
        people_window=_agreement(in_window, window, options, 0)[0],
        people_among=people.among_people(rows, in_window, window.scheme, min_labelled=options.min_labelled),
        people_segments=_people_segments(in_window, window, options),
        alpha_checks=alpha_checks, corrected=_corrected(mix, units, window, options),
    )
    report.alarms = _alarms(mix_checks, alpha_checks, window) + _gain_alarm(report.corrected["check"], window)
    return report


def daily_mix(mix: pd.DataFrame, window: Window, column: str = "") -> pd.DataFrame:
    """Counts -> one row per day (and value) of the window: n, share_<label> per label, mean_gain."""
    rows = mix[(mix["column"] == column) & (pd.to_datetime(mix["day"]).dt.date >= window.since)]
    labels, gains = list(window.scheme.labels), np.asarray(window.scheme.gains)
    counts = rows.pivot_table(index=["day", "value"], columns="label", values="n", aggfunc="sum", fill_value=0)
    counts = counts.reindex(columns=labels, fill_value=0)
    total = counts.sum(axis=1)
    out = pd.DataFrame({"n": total})
    for label in labels:
        out[f"share_{label}"] = counts[label] / total
    out["mean_gain"] = counts.to_numpy() @ gains / total
    out = out.reset_index()
    out["day"] = pd.to_datetime(out["day"]).dt.date
    return out if column else out.drop(columns="value")


def _corrected(mix: pd.DataFrame, units: pd.DataFrame, window: Window, options: ReportOptions) -> dict:
    """The corrected mean gain and label shares (report/corrected.py) per day of the window and pooled over it,
    for all pairs and, over the window, for each value of each segment column ("segments"); and the last day's
    corrected mean gain against the reference days' ("check", see `_gain_check`), which may start before the
    window."""
    labels = list(window.scheme.labels)
    sampled = units[units["sampled"].astype(bool)]

    def counts(rows: pd.DataFrame) -> dict:
        return {pd.Timestamp(day).date(): _counts(day_rows, labels) for day, day_rows in rows.groupby("day")}

    def days_of(day_counts: dict, people: pd.DataFrame) -> list[dict]:
        by_day = {day: (day_rows["human"].map(window.scheme.index).to_numpy(),
                        day_rows["judge_label"].map(window.scheme.index).to_numpy())
                  for day, day_rows in people.groupby("day")}
        return corrected.corrected_days(day_counts, by_day, labels, window.scheme.gains, options.confidence,
                                        min_sampled=options.min_labelled)

    in_window = mix[pd.to_datetime(mix["day"]).dt.date >= window.since]
    overall = counts(mix[mix["column"] == ""])
    every_day = days_of(overall, sampled)
    window_days = [d for d in every_day if d["day"] >= window.since]
    judged = sum(float(c.sum()) for day, c in overall.items() if day >= window.since)
    out = {"days": window_days, "window": corrected.pooled_window(window_days, judged, labels, options.confidence),
           "check": _gain_check(every_day, window, options), "segments": []}
    sampled_in_window = sampled[sampled["day"] >= window.since]
    for column in window.segments:
        for value, rows in in_window[in_window["column"] == column].groupby("value", sort=True):
            day_counts = counts(rows)
            days = days_of(day_counts, sampled_in_window[sampled_in_window[column].astype(str) == value])
            got = corrected.pooled_window(days, sum(float(c.sum()) for c in day_counts.values()), labels,
                                          options.confidence)
            if got is not None:
                out["segments"].append({"column": column, "value": value, **got})
    return out


def _gain_check(days: list[dict], window: Window, options: ReportOptions) -> dict:
    """The last day's corrected mean gain against the reference days' pooled: tested with `min_labelled` sampled
    pairs each side, alarming when the interval of the fall (at `alarm_confidence`) lies above zero."""
    day = next((d["mean_gain"] for d in days if d["day"] == window.until), None)
    reference = [d["mean_gain"] for d in days if window.reference[0] <= d["day"] <= window.reference[1]]
    pooled = corrected.pooled_days(reference, options.alarm_confidence) if reference else None
    check = {"n_day": day["n"] if day else 0, "n_reference": pooled["n"] if pooled else 0,
             "gain_day": day["corrected"] if day else None, "gain_reference": pooled["corrected"] if pooled else None,
             "fall": None, "fall_interval": [None, None], "alarm": False}
    check["tested"] = min(check["n_day"], check["n_reference"]) >= options.min_labelled
    if check["tested"]:
        check.update(corrected.gain_fall(day, pooled, options.alarm_confidence))
    return check


def _counts(rows: pd.DataFrame, labels: list[str]) -> np.ndarray:
    return rows.groupby("label")["n"].sum().reindex(labels, fill_value=0).to_numpy()


def _mix_checks(mix: pd.DataFrame, window: Window, options: ReportOptions) -> list[dict]:
    """The last day's label mix against the reference days', for all pairs and every segment value."""
    days = pd.to_datetime(mix["day"]).dt.date
    last, reference = mix[days == window.until], mix[(days >= window.reference[0]) & (days <= window.reference[1])]
    labels, gains = list(window.scheme.labels), np.asarray(window.scheme.gains)
    checks = []
    for (column, value), day_rows in last.groupby(["column", "value"], sort=True):
        ref_rows = reference[(reference["column"] == column) & (reference["value"] == value)]
        actual, expected = _counts(day_rows, labels), _counts(ref_rows, labels)
        check = {"column": column, "value": value, "tested": bool(min(actual.sum(), expected.sum())
                                                                    >= options.min_pairs)}
        figures = drift.mix_check(actual, expected, gains, chi2_p=options.chi2_p, psi_threshold=options.psi)
        figures["alarm"] = figures["alarm"] and check["tested"]
        checks.append(check | figures)
    return checks


def _agreement(units: pd.DataFrame, window: Window, options: ReportOptions, seed: int) -> tuple[dict, object]:
    return people.agreement(units, window.scheme, min_labelled=options.min_labelled, n_resamples=options.bootstrap,
                            seed=options.seed + seed, confidence=options.confidence)


def _people_days(units: pd.DataFrame, window: Window, options: ReportOptions) -> list[dict]:
    out = []
    for i, (day, rows) in enumerate(units.groupby("day", sort=True)):
        figures, _ = _agreement(rows, window, options, i)
        out.append({"day": day.isoformat(), **{k: v for k, v in figures.items() if k != "confusion"}})
    return out


def _segment_groups(units: pd.DataFrame, window: Window):
    """(column, value, rows) for all pairs ("", "") and each value of each segment column."""
    yield "", "", units
    for column in window.segments:
        for value, rows in units.groupby(column, sort=True):
            yield column, str(value), rows


def _people_segments(units: pd.DataFrame, window: Window, options: ReportOptions) -> list[dict]:
    out = []
    for i, (column, value, rows) in enumerate(_segment_groups(units, window)):
        if column:
            out.append({"column": column, "value": value, **_agreement(rows, window, options, i)[0]})
    return out


def _alpha_checks(units: pd.DataFrame, window: Window, options: ReportOptions) -> list[dict]:
    """The last day's alpha against the reference days', for all pairs and every segment value."""
    checks = []
    for i, (column, value, rows) in enumerate(_segment_groups(units, window)):
        day_rows = rows[rows["day"] == window.until]
        ref_rows = rows[(rows["day"] >= window.reference[0]) & (rows["day"] <= window.reference[1])]
        day, day_samples = _agreement(day_rows, window, options, 1000 + 2 * i)
        ref, ref_samples = _agreement(ref_rows, window, options, 1001 + 2 * i)
        check = {"column": column, "value": value, "n_day": day["n"], "n_reference": ref["n"],
                 "alpha_day": day["alpha"], "alpha_reference": ref["alpha"],
                 "tested": day_samples is not None and ref_samples is not None
                 and min(day["n_queries"], ref["n_queries"]) >= options.min_queries,
                 "fall_interval": [None, None], "alarm": False}
        if check["tested"]:
            check.update(drift.alpha_fall(day_samples, ref_samples, options.alarm_confidence))
        checks.append(check)
    return checks


def _alarms(mix_checks: list[dict], alpha_checks: list[dict], window: Window) -> list[Alarm]:
    alarms = []
    for c in (c for c in mix_checks if c["alarm"]):
        alarms.append(Alarm("label_mix", window.until, c["column"], c["value"],
                            f"label mix shifted: PSI {c['psi']:.3f}, chi-square p {c['p_value']:.2g}, "
                            f"mean gain {c['mean_gain_day']:.3f} vs {c['mean_gain_reference']:.3f} in the reference",
                            {k: c[k] for k in ("psi", "p_value", "chi2", "mean_gain_day", "mean_gain_reference",
                                               "n_day", "n_reference")}))
    for c in (c for c in alpha_checks if c["alarm"]):
        low, high = c["fall_interval"]
        alarms.append(Alarm("alpha_fall", window.until, c["column"], c["value"],
                            f"the judge's alpha against people fell: {c['alpha_day']:.3f} vs "
                            f"{c['alpha_reference']:.3f} in the reference, fall [{low:.3f}, {high:.3f}]",
                            {k: c[k] for k in ("alpha_day", "alpha_reference", "fall_interval", "n_day",
                                               "n_reference")}))
    return alarms


def _gain_alarm(check: dict, window: Window) -> list[Alarm]:
    if not check["alarm"]:
        return []
    low, high = check["fall_interval"]
    return [Alarm("gain_fall", window.until, "", "",
                  f"the mean gain corrected by people fell: {check['gain_day']:.3f} vs {check['gain_reference']:.3f} "
                  f"in the reference, fall [{low:.3f}, {high:.3f}]",
                  {k: check[k] for k in ("gain_day", "gain_reference", "fall_interval", "n_day", "n_reference")})]


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for column in out.columns:
        if column == "day":
            out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in out.astype(object).to_dict(orient="records")]
