"""A forest plot of an experiment's effect per stratum, with intervals: a Vega-Lite spec built with altair, the
report's chart library, rendered by vl-convert in-process.

HTML is written self-contained (Vega's JavaScript bundled in the page) so it opens offline; PNG is rendered by
vl-convert too, with no browser.
"""

from __future__ import annotations

from pathlib import Path

from reljudge.errors import ReljudgeError
from reljudge.io.atomic import atomic_path

PLOT_SUFFIXES: tuple[str, ...] = (".html", ".png")


def effects_figure(report: dict, *, title: str = "") -> dict:
    """Each stratum's effect and interval, and the overall one at the top, on a shared axis with a rule at 0, as
    a Vega-Lite spec.

    Args:
        report: what `estimate_effect` returns.
        title: the figure's title (e.g. the metric and the arms).
    """
    import altair as alt
    import pandas as pd

    rows = [{"row": f"overall (n={report['n_queries']}, p={_p(report['p_value'])})", "effect": report["effect"],
             "low": report["ci_low"], "high": report["ci_high"], "overall": True}]
    rows += [{"row": f"{row['stratum']} (n={row['n']}, BH p={_p(row['p_adjusted'])})", "effect": row["effect"],
              "low": row["ci_low"], "high": row["ci_high"], "overall": False} for row in report["per_stratum"]]
    frame = pd.DataFrame(rows)
    confidence = round(100 * (1 - report["alpha"]))
    order = list(frame["row"])
    y = alt.Y("row:N", sort=order, title=None)
    x_title = f"treatment - control ({confidence}% interval)"
    base = alt.Chart(frame)
    intervals = base.mark_rule(color="#4c78a8").encode(x=alt.X("low:Q", title=x_title), x2="high:Q", y=y)
    points = base.mark_point(filled=True).encode(
        x="effect:Q", y=y,
        color=alt.condition("datum.overall", alt.value("#e45756"), alt.value("#4c78a8")),
        size=alt.condition("datum.overall", alt.value(120), alt.value(60)),
        tooltip=["row", alt.Tooltip("effect:Q", format=".4f")])
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color="grey").encode(x="x:Q")
    chart = (intervals + points + zero).properties(
        title=title or f"effect per stratum, {confidence}% intervals", width=560, height=30 * len(frame))
    return chart.to_dict()


def write_figure(spec: dict, path: str | Path) -> Path:
    """Write the figure as .html (self-contained, opens offline) or .png, atomically.

    Raises:
        ReljudgeError: another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ReljudgeError(f"cannot write a plot as {suffix or '(no suffix)'!r}: use {' or '.join(PLOT_SUFFIXES)}")
    import vl_convert

    with atomic_path(path) as temporary:
        if suffix == ".html":
            Path(temporary).write_text(vl_convert.vegalite_to_html(spec, bundle=True), encoding="utf-8")
        else:
            Path(temporary).write_bytes(vl_convert.vegalite_to_png(spec, scale=2.0))
    return path


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
