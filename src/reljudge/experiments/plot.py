"""A forest plot of an experiment's effect per stratum, with intervals, drawn with plotly.

HTML is written self-contained (plotly.js embedded, about 5 MB) so it opens offline. PNG needs plotly's image
export, kaleido, which drives a Chrome it must find or download; reljudge does not install either.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reljudge.errors import ReljudgeError
from reljudge.io.atomic import atomic_path

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOT_SUFFIXES: tuple[str, ...] = (".html", ".png")


def effects_figure(report: dict, *, title: str = "") -> go.Figure:
    """Each stratum's effect and interval, and the overall one at the top, on a shared axis with a line at 0.

    Args:
        report: what `estimate_effect` returns.
        title: the figure's title (e.g. the metric and the arms).
    """
    import plotly.graph_objects as go

    rows = list(reversed(report["per_stratum"]))
    labels = [f"{row['stratum']} (n={row['n']}, BH p={_p(row['p_adjusted'])})" for row in rows]
    labels.append(f"<b>overall</b> (n={report['n_queries']}, p={_p(report['p_value'])})")
    effects = [row["effect"] for row in rows] + [report["effect"]]
    lows = [row["ci_low"] for row in rows] + [report["ci_low"]]
    highs = [row["ci_high"] for row in rows] + [report["ci_high"]]
    figure = go.Figure(go.Scatter(
        x=effects, y=labels, mode="markers",
        marker={"size": [8] * len(rows) + [12], "color": ["#4c78a8"] * len(rows) + ["#e45756"]},
        error_x={"type": "data", "symmetric": False, "array": [h - e for h, e in zip(highs, effects)],
                 "arrayminus": [e - lo for e, lo in zip(effects, lows)]},
        hovertemplate="%{y}<br>effect %{x:.4f}<extra></extra>",
    ))
    confidence = round(100 * (1 - report["alpha"]))
    figure.add_vline(x=0, line_dash="dash", line_color="grey")
    figure.update_layout(title=title or f"effect per stratum, {confidence}% intervals",
                         xaxis_title=f"treatment - control ({confidence}% interval)", template="plotly_white",
                         height=160 + 40 * len(labels), margin={"l": 20, "r": 20})
    return figure


def write_figure(figure: go.Figure, path: str | Path) -> Path:
    """Write the figure as .html (self-contained) or .png (needs kaleido and Chrome), atomically.

    Raises:
        ReljudgeError: another suffix, or PNG asked for without a working kaleido.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ReljudgeError(f"cannot write a plot as {suffix or '(no suffix)'!r}: use {' or '.join(PLOT_SUFFIXES)}")
    with atomic_path(path) as temporary:
        if suffix == ".html":
            figure.write_html(temporary, include_plotlyjs=True, full_html=True)
        else:
            try:
                figure.write_image(temporary, format="png")
            except Exception as exc:  # kaleido missing, or present without a Chrome to drive
                raise ReljudgeError(f"cannot write PNG ({exc}); PNG export needs `pip install kaleido` and a Chrome "
                                    f"(`plotly_get_chrome`): write .html instead") from None
    return path


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
