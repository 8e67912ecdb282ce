"""`reljudge report`: the daily relevance report from the store, as one HTML page, JSON, or PNG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reljudge.cli.options import StorePath, reports_errors
from reljudge.cli.settings_flags import flag_name, report_flags, with_setting_flags


@reports_errors
def _report(
    store: StorePath = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report here as one "
                                                                          "self-contained HTML file.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the alarms and figures as JSON.")] = False,
    png: Annotated[Optional[Path], typer.Option(help="Write each chart as a PNG file into this directory.")] = None,
    lake: Annotated[Optional[Path], typer.Option(help="Read the Parquet layout `reljudge store export DIR` writes "
                                                      "instead of the store.")] = None,
    **given: Any,
) -> None:
    """Report on the store's judgments per day: volume, label mix, mean gain, agreement with people, drift.

    Exits 1 when an alarm fires (the last day's label mix moved from the reference's, or the judge's alpha against
    people fell beyond its interval), so a scheduler can act on it. The report options are the fields of
    `ReportOptions`, one flag each.
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
        options = ReportOptions(**given)
    except ValueError as exc:
        raise ReljudgeError(f"report options: {_problems(exc)}") from None
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


def _problems(exc: ValueError) -> str:
    """pydantic's errors as the flags' names and messages, one line."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    return "; ".join(f"{flag_name(str(e['loc'][0])) if e['loc'] else ''} {e['msg']}".strip() for e in errors())


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


report = with_setting_flags(_report, report_flags)
report.__name__ = "report"
