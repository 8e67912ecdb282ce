"""`reljudge report`: the daily relevance report from the store, as one HTML page, JSON, or PNG charts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from reljudge.cli.options import StorePath, reports_errors


@reports_errors
def report(
    store: StorePath = None,
    since: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"],
                                                      help="First day of the window (default: 29 days before the "
                                                           "last).")] = None,
    until: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"],
                                                      help="The day the alarms check (default: the last day with "
                                                           "judgments).")] = None,
    by: Annotated[Optional[list[str]], typer.Option("--by", help="Segment by this pair column (query_source, "
                                                                 "locale ...); repeatable.")] = None,
    reference: Annotated[int, typer.Option(min=1, help="Days before the last one that form the reference.")] = 7,
    judge: Annotated[Optional[str], typer.Option(help="The judge spec to report on (default: the last day's "
                                                      "busiest).")] = None,
    scheme: Annotated[Optional[str], typer.Option(help="Label scheme (default: the judge's).")] = None,
    chi2_p: Annotated[float, typer.Option("--chi2-p", help="A label-mix alarm needs a chi-square p below "
                                                           "this ...")] = 0.001,
    psi: Annotated[float, typer.Option(help="... and a population stability index at or above this.")] = 0.1,
    min_pairs: Annotated[int, typer.Option(help="Judgments a segment needs on the last day to be tested.")] = 100,
    bootstrap: Annotated[int, typer.Option(help="Query-bootstrap resamples for alpha's intervals.")] = 500,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report here as one "
                                                                          "self-contained HTML file.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the alarms and figures as JSON.")] = False,
    png: Annotated[Optional[Path], typer.Option(help="Write each chart as a PNG file into this directory.")] = None,
    lake: Annotated[Optional[Path], typer.Option(help="Read the Parquet layout `reljudge store export DIR` writes "
                                                      "instead of the store.")] = None,
) -> None:
    """Report on the store's judgments per day: volume, label mix, mean gain, agreement with people, drift.

    Exits 1 when an alarm fires (the last day's label mix moved from the reference's, or the judge's alpha against
    people fell beyond its interval), so a scheduler can act on it.
    """
    import json

    from reljudge.errors import ReljudgeError
    from reljudge.report import ReportOptions, build_report
    from reljudge.store import Store

    if output is None and not json_out and png is None:
        raise typer.BadParameter("say where the report goes: --output report.html, --json or --png DIR",
                                 param_hint="--output")
    if output or png:  # the charts' extra, asked for before any work
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    try:
        options = ReportOptions(since=since.date() if since else None, until=until.date() if until else None,
                                by=tuple(by or ()), reference_days=reference, judge=judge, scheme=scheme,
                                chi2_p=chi2_p, psi=psi, min_pairs=min_pairs, bootstrap=bootstrap)
    except ValueError as exc:
        raise ReljudgeError(f"report options: {exc}") from None
    if lake is not None:
        from reljudge.lake import open_lake
        from reljudge.store import memory_limit

        con = open_lake(lake, memory_limit())
        try:
            the_report = build_report(con, options, str(lake))
        finally:
            con.close()
    else:
        with Store(store) as the_store:
            the_report = build_report(the_store.con, options, str(the_store.path))
    _write(the_report, output, png)
    if json_out:
        typer.echo(json.dumps(the_report.to_dict(), indent=2, default=str))
    else:
        _summary(the_report, output)
    if the_report.alarms:
        raise typer.Exit(1)


def _write(the_report, output: Path | None, png: Path | None) -> None:
    from reljudge.io.atomic import atomic_path
    from reljudge.report.charts import report_charts
    from reljudge.report.html import render_html

    charts = report_charts(the_report) if output or png else []
    if output:
        with atomic_path(output) as temporary:
            temporary.write_text(render_html(the_report, charts), encoding="utf-8")
    if png:
        png.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            (png / f"{chart.name}.png").write_bytes(chart.png())


def _summary(the_report, output: Path | None) -> None:
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    w = the_report.window
    console.print(f"report for {w.until} ({w.judge}, {w.scheme.name}, window {w.since} to {w.until})"
                  + (f" written to {output}" if output else ""))
    corrected = the_report.corrected["window"]
    if corrected is not None:
        g = corrected["mean_gain"]
        low, high = g["interval"]
        console.print(f"mean gain over the window: judge {g['judge']:.3f}, corrected by {g['n']:,} randomly sampled "
                      f"pairs people labelled {g['corrected']:.3f} [{low:.3f}, {high:.3f}]", soft_wrap=True)
    for alarm in the_report.alarms:
        console.print(f"[bold red]alarm[/] {alarm.segment}: {alarm.message}", soft_wrap=True)
    if not the_report.alarms:
        console.print("[green]no alarm[/]")
