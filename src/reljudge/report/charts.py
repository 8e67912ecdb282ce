"""The report's charts: Vega-Lite specs built with altair, rendered to SVG (inline in the page) or PNG by
vl-convert, which runs Vega in-process: no browser, no request to any host.

Every chart has a title and a title on each axis; `chart_titles` reads them back from a spec, for the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from reljudge.report.build import DailyReport

WIDTH = 640
HEIGHT = 220
_ID = re.compile(r'(id="|url\(#|href="#)([^")]+)')


@dataclass(frozen=True)
class Chart:
    """One chart: a file-safe name, and its Vega-Lite spec (a dict, data inline)."""

    name: str
    spec: dict

    def svg(self) -> str:
        """The chart as SVG, its element ids prefixed with the chart's name so several can share one page."""
        import vl_convert

        svg = vl_convert.vegalite_to_svg(self.spec)
        return _ID.sub(lambda m: f'{m.group(1)}{self.name}-{m.group(2)}', svg)

    def png(self, scale: float = 2.0) -> bytes:
        import vl_convert

        return vl_convert.vegalite_to_png(self.spec, scale=scale)


def report_charts(report: DailyReport) -> list[Chart]:
    """The report's charts, in page order; charts without data (no labelled pairs, no segments) are left out."""
    import altair as alt

    alt.data_transformers.disable_max_rows()
    charts = [Chart("volume", _volume(alt, report).to_dict()), Chart("label-mix", _mix(alt, report).to_dict())]
    charts.append(Chart("mean-gain", _gain(alt, report.daily_mix(), None).to_dict()))
    for column in report.window.segments:
        charts.append(Chart(gain_chart_name(column), _gain(alt, report.daily_mix(column), column).to_dict()))
    if report.corrected["days"]:
        charts.append(Chart("corrected-gain", _corrected_gain(alt, report).to_dict()))
    days = pd.DataFrame([d for d in report.people_days if d["alpha"] is not None])
    if not days.empty:
        charts.append(Chart("alpha", _alpha(alt, days, report).to_dict()))
    if report.people_window.get("confusion"):
        charts.append(Chart("confusion", _confusion(alt, report).to_dict()))
    return charts


def _base(alt, frame: pd.DataFrame, title: str, subtitle: str = ""):
    return alt.Chart(frame).properties(width=WIDTH, height=HEIGHT, title=alt.Title(title, subtitle=subtitle or None))


def _label_order(report: DailyReport) -> list[str]:
    return list(report.window.scheme.labels)


def _worst_first(report: DailyReport) -> list[str]:
    """The labels from the least to the most relevant (by gain): the colour scale runs red to green."""
    scheme = report.window.scheme
    return [label for _, label in sorted(zip(scheme.gains, scheme.labels), key=lambda pair: pair[0])]


def _volume(alt, report: DailyReport):
    frame = report.volume[report.volume["day"] >= pd.Timestamp(report.window.since)].copy()
    frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d")
    return _base(alt, frame, "Pairs judged per day", "stacked by judge spec").mark_bar().encode(
        x=alt.X("day:O", title="Day (UTC)", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("n:Q", title="Pairs judged"),
        color=alt.Color("judge:N", title="Judge"),
        tooltip=["day", "judge", "n", "unscored"],
    )


def _mix(alt, report: DailyReport):
    labels = _label_order(report)
    frame = report.daily_mix().melt(id_vars=["day", "n"], value_vars=[f"share_{x}" for x in labels],
                                    var_name="label", value_name="share")
    frame["label"] = frame["label"].str.removeprefix("share_")
    frame["day"] = frame["day"].astype(str)
    frame["order"] = frame["label"].map(labels.index)
    return _base(alt, frame, "Label mix per day", f"{report.window.judge}, share of its labels").mark_bar().encode(
        x=alt.X("day:O", title="Day (UTC)", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("share:Q", title="Share of judged pairs", stack="normalize", axis=alt.Axis(format="%")),
        color=alt.Color("label:N", title="Label",
                        scale=alt.Scale(domain=_worst_first(report), scheme="redyellowgreen")),
        order=alt.Order("order:Q"),
        tooltip=["day", "label", alt.Tooltip("share:Q", format=".1%")],
    )


def _gain(alt, frame: pd.DataFrame, column: str | None):
    frame = frame.assign(day=frame["day"].astype(str))
    title = "Mean gain per day" + (f" by {column}" if column else "")
    chart = _base(alt, frame, title, "the scheme's gain of each judged label, averaged").mark_line(point=True)
    encoding = {"x": alt.X("day:O", title="Day (UTC)", axis=alt.Axis(labelAngle=-40)),
                "y": alt.Y("mean_gain:Q", title="Mean gain", scale=alt.Scale(zero=False)),
                "tooltip": ["day", "n", alt.Tooltip("mean_gain:Q", format=".3f")]}
    if column:
        encoding["color"] = alt.Color("value:N", title=column)
    return chart.encode(**encoding)


def _corrected_gain(alt, report: DailyReport):
    """The judge's mean gain per day beside the same corrected by people's random sample, with its interval."""
    rows = []
    for d in report.corrected["days"]:
        g = d["mean_gain"]
        rows.append({"day": d["day"].isoformat(), "estimate": "judge's labels", "gain": g["judge"],
                     "low": None, "high": None, "n": g["N"]})
        rows.append({"day": d["day"].isoformat(), "estimate": "corrected by people", "gain": g["corrected"],
                     "low": g["interval"][0], "high": g["interval"][1], "n": g["n"]})
    base = alt.Chart(pd.DataFrame(rows))
    x = alt.X("day:O", title="Day (UTC)", axis=alt.Axis(labelAngle=-40))
    y_title = "Mean gain"
    color = alt.Color("estimate:N", title="Estimate")
    points = base.mark_point(filled=True, size=60).encode(
        x=x, y=alt.Y("gain:Q", title=y_title, scale=alt.Scale(zero=False)), color=color,
        tooltip=["day", "estimate", "n", alt.Tooltip("gain:Q", format=".3f")])
    bars = base.mark_rule().encode(x=x, y=alt.Y("low:Q", title=y_title), y2="high:Q", color=color)
    return alt.layer(bars, points).properties(
        width=WIDTH, height=HEIGHT, title=alt.Title(
            "Mean gain per day: the judge's, and corrected by people's random sample",
            subtitle=f"prediction-powered, {report.options.confidence:.0%} intervals; days with a random "
                     "sample people labelled"))


def _alpha(alt, days: pd.DataFrame, report: DailyReport):
    days = days.assign(low=days["alpha_interval"].str[0], high=days["alpha_interval"].str[1])
    base = alt.Chart(days)
    x = alt.X("day:O", title="Day (UTC)", axis=alt.Axis(labelAngle=-40))
    y_title = "Alpha (judge vs people)"
    points = base.mark_point(filled=True, size=60).encode(
        x=x, y=alt.Y("alpha:Q", title=y_title), tooltip=["day", "n", "n_queries", "alpha"])
    bars = base.mark_rule().encode(x=x, y=alt.Y("low:Q", title=y_title), y2="high:Q")
    return alt.layer(bars, points).properties(
        width=WIDTH, height=HEIGHT, title=alt.Title(
            "Judge vs people: Krippendorff's alpha per day",
            subtitle=f"{report.options.confidence:.0%} query-bootstrap intervals; days with at least "
                     f"{report.options.min_labelled} labelled pairs"))


def _confusion(alt, report: DailyReport):
    labels = _label_order(report)
    cells = [{"human": h, "judge": j, "n": n} for h, row in zip(labels, report.people_window["confusion"])
             for j, n in zip(labels, row)]
    base = alt.Chart(pd.DataFrame(cells))
    x = alt.X("judge:N", title="Judge's label", sort=labels)
    y = alt.Y("human:N", title="People's label", sort=labels)
    heat = base.mark_rect().encode(x=x, y=y, color=alt.Color("n:Q", title="Pairs"), tooltip=["human", "judge", "n"])
    text = base.mark_text(fontSize=13).encode(x=x, y=y, text="n:Q")
    return alt.layer(heat, text).properties(
        width=320, height=320, title=alt.Title("Judge vs people: confusion over the window",
                                               subtitle="rows: people's label, columns: the judge's"))


def gain_chart_name(column: str) -> str:
    """The name (and PNG file stem) of the mean-gain chart of a segment column."""
    return "mean-gain-by-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in column)


def chart_titles(spec: dict) -> tuple[str, list[str]]:
    """A spec's title and its axis titles (the x and y encodings' titles, over all layers)."""
    title = spec.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    axes = []
    for layer in [spec, *spec.get("layer", [])]:
        encoding = layer.get("encoding", {})
        axes += [encoding[axis]["title"] for axis in ("x", "y") if "title" in encoding.get(axis, {})]
    return text or "", axes
