"""The report as one self-contained HTML page: styles inline, charts inline as SVG, no script and no request to
any other host when it is opened. Every value from the store is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from reljudge.report.build import DailyReport
from reljudge.report.charts import Chart, gain_chart_name

_STYLE = """
:root { color-scheme: light; --bad: #b42318; --bad-bg: #fef3f2; --ok: #067647; --ok-bg: #ecfdf3; --line: #e4e7ec; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #101828; margin: 0;
       background: #f9fafb; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.25rem; margin: 32px 0 8px; }
h3 { font-size: 1.05rem; margin: 20px 0 6px; }
.meta { color: #475467; margin: 0 0 16px; } .meta code { font-size: 0.9em; }
section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 4px 20px 16px;
          margin-top: 16px; }
.alarms { border-color: var(--bad); background: var(--bad-bg); } .alarms li { margin: 4px 0; }
.alarms h2 { color: var(--bad); } .calm { border-color: var(--ok); background: var(--ok-bg); }
.calm h2 { color: var(--ok); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { flex: 1 1 200px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: white; }
.card .value { font-size: 1.5rem; font-weight: 600; } .card .label { color: #475467; font-size: 0.85rem; }
.scroll { overflow-x: auto; max-height: 480px; overflow-y: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; min-width: 50%; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: #f2f4f7; font-weight: 600; }
td.num, th.num { text-align: right; } tr.alarm td { background: var(--bad-bg); color: var(--bad); }
figure { margin: 12px 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
details { margin: 6px 0; } pre { white-space: pre-wrap; font-size: 0.8rem; background: #f2f4f7; padding: 8px; }
.note { color: #475467; font-size: 0.9rem; }
"""


def render_html(report: DailyReport, charts: Sequence[Chart]) -> str:
    """The whole page: alarms first, then volume, label mix, drift checks and judge-versus-people sections."""
    svg = {chart.name: chart.svg() for chart in charts}
    w = report.window
    title = f"Relevance report for {w.until.isoformat()}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">judge <code>{escape(w.judge)}</code> · scheme {escape(w.scheme.name)} · window '
        f"{w.since} to {w.until} · reference {w.reference[0]} to {w.reference[1]} · store "
        f"<code>{escape(report.store)}</code> · made {report.generated:%Y-%m-%d %H:%M} UTC</p>",
        _alarms(report), _cards(report), _volume(report, svg), _mix(report, svg), _corrected(report, svg),
        _drift(report),
        _people(report, svg), _notes(report),
    ]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><main>{''.join(body)}</main></body></html>")


def _section(anchor: str, title: str, parts: Iterable[str], css: str = "") -> str:
    css_class = f' class="{css}"' if css else ""
    return f'<section id="{anchor}"{css_class}><h2>{escape(title)}</h2>' + "".join(parts) + "</section>"


def _figure(svg: dict[str, str], name: str) -> str:
    return f'<figure id="chart-{escape(name)}" class="chart">{svg[name]}</figure>' if name in svg else ""


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = (),
           alarm_rows: Iterable[bool] | None = None) -> str:
    numeric = set(numeric)
    flags = list(alarm_rows) if alarm_rows is not None else None
    head = "".join(f'<th{" class=num" if i in numeric else ""} scope="col">{escape(h)}</th>'
                   for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cells = "".join(f'<td{" class=num" if i in numeric else ""}>{escape(str(v))}</td>' for i, v in enumerate(row))
        body.append(f'<tr{" class=alarm" if flags and flags[r] else ""}>{cells}</tr>')
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _num(value: object, digits: int = 3) -> str:
    return "—" if value is None or value != value else f"{value:.{digits}f}"


def _pct(value: object) -> str:
    return "—" if value is None or value != value else f"{100 * value:.1f}%"


def _interval(bounds: Sequence[object]) -> str:
    low, high = bounds
    return "—" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def _alarms(report: DailyReport) -> str:
    if not report.alarms:
        return _section("alarms", "No alarm", [f"<p>The label mix of {report.window.until} and the judge's agreement "
                                              "with people are within the thresholds below.</p>"], "calm")
    items = "".join(f"<li><strong>{escape(a.segment)}</strong>: {escape(a.message)}</li>" for a in report.alarms)
    return _section("alarms", f"{len(report.alarms)} alarm{'s' if len(report.alarms) > 1 else ''} on "
                              f"{report.window.until}", [f"<ul>{items}</ul>"], "alarms")


def _cards(report: DailyReport) -> str:
    overall = next((c for c in report.mix_checks if not c["column"]), None)
    window = report.people_window
    cards = [
        ("pairs judged on the last day", f"{overall['n_day']:,}" if overall else "0"),
        ("mean gain, last day", _num(overall["mean_gain_day"]) if overall else "—"),
        ("mean gain, reference", _num(overall["mean_gain_reference"]) if overall else "—"),
        (f"alpha vs people over the window, {_interval(window['alpha_interval'])}, n {window['n']:,}",
         _num(window["alpha"])),
    ]
    corrected = report.corrected["window"]
    if corrected is not None:
        g = corrected["mean_gain"]
        cards.append((f"mean gain corrected by people over the window, {_interval(g['interval'])}, "
                      f"{g['n']:,} sampled", _num(g["corrected"])))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="value">{escape(v)}</div><div class="label">{escape(k)}</div></div>'
        for k, v in cards) + "</div>"


def _volume(report: DailyReport, svg: dict[str, str]) -> str:
    frame = report.volume
    frame = frame[frame["day"].astype(str) >= report.window.since.isoformat()]
    rows = [(str(r.day)[:10], r.judge, f"{r.n:,}", f"{r.unscored:,}") for r in frame.itertuples()]
    identities = "".join(f"<details><summary>identity of <code>{escape(spec)}</code></summary>"
                         f"<pre>{escape(identity)}</pre></details>" for spec, identity in report.identities.items())
    return _section("volume", "Pairs judged", [_figure(svg, "volume"),
                                               _table(["day", "judge", "judged", "unscored"], rows, (2, 3)),
                                               identities])


def _mix(report: DailyReport, svg: dict[str, str]) -> str:
    labels = report.window.scheme.labels
    daily = report.daily_mix()
    rows = [(str(r["day"]), f"{int(r['n']):,}", *(_pct(r[f"share_{x}"]) for x in labels), _num(r["mean_gain"]))
            for _, r in daily.iterrows()]
    parts = [_figure(svg, "label-mix"), _figure(svg, "mean-gain"),
             _table(["day", "judged", *labels, "mean gain"], rows, range(1, len(labels) + 3))]
    for column in report.window.segments:
        parts.append(f"<h3>By {escape(column)}</h3>")
        parts.append(_figure(svg, gain_chart_name(column)))
        by = report.daily_mix(column)
        parts.append(_table([column, "day", "judged", *labels, "mean gain"], [
            (r["value"], str(r["day"]), f"{int(r['n']):,}", *(_pct(r[f"share_{x}"]) for x in labels),
             _num(r["mean_gain"])) for _, r in by.sort_values(["value", "day"]).iterrows()],
            range(2, len(labels) + 4)))
    return _section("mix", "Label mix and mean gain", parts)


def _corrected(report: DailyReport, svg: dict[str, str]) -> str:
    title = "Mean gain corrected by people"
    window = report.corrected["window"]
    if window is None:
        return _section("corrected", title, [
            '<p class="note">No day of the window has people\'s labels on at least '
            f"{report.options.min_labelled} pairs of a random sample (<code>reljudge queue add --select random</code>, "
            "or <code>reljudge labels import --random-sample</code>): without one, the judge's mean gain cannot be "
            "corrected for its bias.</p>"])
    confidence = f"{report.options.confidence:.0%}"
    headers = ["day", "judged", "sampled", "judge's mean gain", "corrected", f"{confidence} interval",
               "people alone", f"{confidence} interval", "lambda", "worth (pairs)"]
    rows = [(str(d["day"]), *_corrected_cells(d["mean_gain"])) for d in report.corrected["days"]]
    g = window["mean_gain"]
    rows.append((f"window ({window['mean_gain']['days']} days)", f"{g['N']:,}", f"{g['n']:,}", _num(g["judge"]),
                 _num(g["corrected"]), _interval(g["interval"]), "", "", "", ""))
    shares = [(label, _pct(s["judge"]), _pct(s["corrected"]), _interval_pct(s["interval"]))
              for label, s in window["shares"].items()]
    return _section("corrected", title, [
        '<p class="note">The judge labels every pair; people label a random sample of them (random queues, and '
        "label files imported with --random-sample; pairs chosen for the judge's doubt are no sample). "
        "Prediction-powered inference corrects the judge's "
        "mean by the sample's differences, unbiased whatever the judge's bias, and tighter than people's labels "
        f"alone as far as the judge tracks them (lambda: the judge's weight; worth: the sampled pairs people alone "
        "would need for the same interval). The window pools its sampled days, "
        f"{_pct(window['judged_share'])} of its judged pairs.</p>",
        _figure(svg, "corrected-gain"),
        _table(headers, rows, range(1, 10)),
        "<h3>Label shares over the window</h3>",
        _table(["label", "judge's share", "corrected", f"{confidence} interval"], shares, (1, 2, 3)),
        *_corrected_segments(report, confidence),
    ])


def _corrected_segments(report: DailyReport, confidence: str) -> list[str]:
    segments = report.corrected.get("segments", [])
    if not segments:
        return []
    rows = [(_segment(s), f"{s['mean_gain']['N']:,}", f"{s['mean_gain']['n']:,}", _num(s["mean_gain"]["judge"]),
             _num(s["mean_gain"]["corrected"]), _interval(s["mean_gain"]["interval"])) for s in segments]
    return ["<h3>By segment, over the window</h3>", _table(
        ["segment", "judged", "sampled", "judge's mean gain", "corrected", f"{confidence} interval"], rows,
        range(1, 6))]


def _corrected_cells(g: dict) -> tuple:
    return (f"{g['N']:,}", f"{g['n']:,}", _num(g["judge"]), _num(g["corrected"]), _interval(g["interval"]),
            _num(g["human"]), _interval(g["human_interval"]), _num(g["lam"], 2), _num(g["worth"], 0))


def _interval_pct(bounds: Sequence[object]) -> str:
    return "—" if bounds[0] is None else f"[{_pct(bounds[0])}, {_pct(bounds[1])}]"


def _drift(report: DailyReport) -> str:
    labels = report.window.scheme.labels
    mix_rows = [(_segment(c), f"{c['n_day']:,}", f"{c['n_reference']:,}",
                 _shares(c["share_day"]), _shares(c["share_reference"]),
                 _num(c["mean_gain_day"]), _num(c["mean_gain_reference"]), f"{c['p_value']:.2g}", _num(c["psi"]),
                 _verdict(c)) for c in report.mix_checks]
    alpha_rows = [(_segment(c), c["n_day"], c["n_reference"], _num(c["alpha_day"]), _num(c["alpha_reference"]),
                   _interval(c["fall_interval"]), _verdict(c)) for c in report.alpha_checks]
    o = report.options
    return _section("drift", f"Drift checks: {report.window.until} against the reference", [
        f'<p class="note">A label-mix alarm needs chi-square p &lt; {o.chi2_p:g} and PSI ≥ {o.psi:g}, on at least '
        f"{o.min_pairs} judgments each side. Shares are {' / '.join(escape(x) for x in labels)}.</p>",
        _table(["segment", "judged (day)", "judged (ref.)", "mix % (day)", "mix % (ref.)", "mean gain (day)",
                "mean gain (ref.)", "chi-square p", "PSI", "verdict"], mix_rows, (1, 2, 5, 6, 7, 8),
               [c["alarm"] for c in report.mix_checks]),
        f'<p class="note">An alpha alarm needs the {o.alarm_confidence:.0%} query-bootstrap interval of alpha\'s '
        f"fall (reference minus day) above zero, with {o.min_labelled}+ labelled pairs and {o.min_queries}+ "
        "queries each side.</p>",
        _table(["segment", "labelled (day)", "labelled (ref.)", "alpha (day)", "alpha (ref.)", "fall interval",
                "verdict"], alpha_rows, (1, 2, 3, 4), [c["alarm"] for c in report.alpha_checks]),
        *_gain_check(report),
    ])


def _gain_check(report: DailyReport) -> list[str]:
    check = report.corrected.get("check") or {}
    if not check:
        return []
    o = report.options
    row = ("all pairs", f"{check['n_day']:,}", f"{check['n_reference']:,}", _num(check["gain_day"]),
           _num(check["gain_reference"]), _interval(check["fall_interval"]), _verdict(check))
    return [f'<p class="note">A mean-gain alarm needs the {o.alarm_confidence:.0%} interval of the fall in the mean '
            "gain corrected by people (reference minus day) above zero, with "
            f"{o.min_labelled}+ randomly sampled, labelled pairs each side.</p>",
            _table(["segment", "sampled (day)", "sampled (ref.)", "corrected gain (day)", "corrected gain (ref.)",
                    "fall interval", "verdict"], [row], (1, 2, 3, 4), [check["alarm"]])]


def _shares(shares: Sequence[float]) -> str:
    return " / ".join("—" if s != s else f"{100 * s:.1f}" for s in shares)


def _segment(check: dict) -> str:
    return f"{check['column']} = {check['value']}" if check["column"] else "all pairs"


def _verdict(check: dict) -> str:
    return "ALARM" if check["alarm"] else ("ok" if check["tested"] else "too few to test")


def _agreement_row(label: str, f: dict) -> tuple:
    return (label, f"{f['n']:,}", f"{f['n_queries']:,}", _num(f["alpha"]), _interval(f["alpha_interval"]),
            _pct(f["exact"]), _pct(f["within_one"]), _pct(f["optimistic_share"]))


def _people(report: DailyReport, svg: dict[str, str]) -> str:
    headers = ["", "pairs", "queries", "alpha", "interval", "exact", "within one", "optimistic errors"]
    numeric = range(1, 8)
    window = report.people_window
    if window["n"] == 0:
        return _section("people", "Judge vs people", ['<p class="note">No pair the judge judged in the window has '
                                                      "a human label of this scheme.</p>"])
    parts = [_figure(svg, "alpha"),
             _table(["day", *headers[1:]], [_agreement_row(d["day"], d) for d in report.people_days], numeric),
             "<h3>Over the window</h3>", _table(headers, [_agreement_row("all pairs", window)], numeric),
             *_among(report)]
    if report.people_segments:
        parts += ["<h3>By segment, over the window</h3>", _table(
            ["segment", *headers[1:]], [_agreement_row(_segment(s), s) for s in report.people_segments], numeric)]
    if window["confusion"]:
        labels = report.window.scheme.labels
        parts += [_figure(svg, "confusion"), _table(["people \\ judge", *labels],
                                                    [(h, *row) for h, row in zip(labels, window["confusion"])],
                                                    range(1, len(labels) + 1))]
    return _section("people", "Judge vs people", parts)


def _among(report: DailyReport) -> list[str]:
    """People among themselves on the pairs two or more labelled, beside the judge on the same pairs."""
    among = report.people_among
    if among["alpha"] is None:
        return [f'<p class="note">People among themselves: {among["n"]:,} pairs in the window have two or more '
                f"annotators (agreement shown from {report.options.min_labelled}; queues with --overlap give "
                "them).</p>"]
    return ["<h3>People among themselves, over the window</h3>",
            '<p class="note">On the pairs two or more people labelled: their alpha is the ceiling to read the '
            "judge's against (a judge at people's own alpha agrees with them as well as another person does).</p>",
            _table(["pairs", "annotators", "people's alpha", "people's agreement", "judge's alpha, same pairs"],
                   [(f"{among['n']:,}", f"{among['n_annotators']:,}", _num(among["alpha"]),
                     _pct(among["percent_agreement"]), _num(among["judge_alpha"]))], range(5))]


def _notes(report: DailyReport) -> str:
    o = report.options
    return _section("notes", "How to read this report", [
        "<ul>",
        "<li>A day is the UTC date a judgment was made; a pair the store's cache answered again later counts on the "
        "day it was first judged.</li>",
        "<li>Mean gain averages the scheme's gain of each judged label "
        f"({escape(', '.join(f'{x} {g:g}' for x, g in zip(report.window.scheme.labels, report.window.scheme.gains)))}"
        ").</li>",
        "<li>People's labels are aggregated per pair by majority vote; agreement is hidden below "
        f"{o.min_labelled} labelled pairs. Alpha is Krippendorff's at the scheme's level "
        f"({escape(report.window.scheme.level)}); intervals resample queries ({o.bootstrap} resamples).</li>",
        "<li>Optimistic errors: of the pairs where judge and people disagree, the share the judge rated higher. "
        "Within one: the judge's label at most one grade (by gain) from the people's.</li>",
        "<li>PSI = Σ (day share − reference share) · ln(day share / reference share); below 0.1 is usually read as "
        "stable, above 0.25 as a major shift.</li>",
        "</ul>",
    ])
