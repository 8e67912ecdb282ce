"""`reljudge store`: where the store is, what it holds, and which judge made each run."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reljudge.cli.options import StorePath, reports_errors

store_app = typer.Typer(help="Inspect the DuckDB store of pairs, human labels, runs and judgments.",
                        no_args_is_help=True)


@store_app.command("info")
@reports_errors
def info(store: StorePath = None) -> None:
    """Print the store's path, schema version and row counts (judgments per judge spec)."""
    from rich.console import Console
    from rich.table import Table

    from reljudge.store import Store

    with Store(store) as the_store:
        facts = the_store.info()
    table = Table(title=f"store {facts.path} (schema v{facts.schema_version})")
    table.add_column("what")
    table.add_column("rows", justify="right")
    for name, what in (("pairs", "pairs"), ("human_labels", "human labels from files"),
                       ("page_labels", "human labels from the page"), ("runs", "runs"), ("judgments", "judgments")):
        table.add_row(what, f"{getattr(facts, name):,}")
    for judge, n in facts.judges.items():
        table.add_row(f"  judged by {judge}", f"{n:,}")
    Console().print(table)


@store_app.command("export")
@reports_errors
def export(
    directory: Annotated[Path, typer.Argument(help="Where the Parquet files go (made if absent).")],
    since: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Rewrite only the days from this "
                                                      "one on (default: every day).")] = None,
    store: StorePath = None,
) -> None:
    """Write the store's judgments and pairs as Parquet partitioned by day, and its runs and people's labels, for
    DuckDB, Spark or Trino to read where they lie, and `reljudge report --lake DIR`."""
    from reljudge.lake import export_lake
    from reljudge.store import Store

    with Store(store) as the_store:
        written = export_lake(the_store.con, directory, since.date() if since else None)
    typer.echo(f"wrote {directory}: " + ", ".join(f"{table} {n:,}" for table, n in written.items())
               + (f" (days from {since.date()} on)" if since else ""), err=True)


@store_app.command("runs")
@reports_errors
def runs(
    store: StorePath = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON, each judge's full identity "
                                                         "included (load_judge(identity) rebuilds it).")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show the newest N runs.")] = 20,
) -> None:
    """List the store's runs, newest first, with the judge identity each recorded: its options and details."""
    from reljudge.store import Store

    with Store(store) as the_store:
        found = the_store.runs(limit)
        path = the_store.path
    if as_json:
        typer.echo(json.dumps([_run_json(run) for run in found], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"runs in {path} (newest {len(found)}; --json for whole identities)")
    table.add_column("run", no_wrap=True)
    table.add_column("started")
    table.add_column("status")
    table.add_column("pairs", justify="right")
    table.add_column("cached", justify="right")
    table.add_column("judge", overflow="fold")
    for run in found:
        table.add_row(run.run_id, f"{run.started:%Y-%m-%d %H:%M:%S}", run.status, f"{run.n_pairs:,}",
                      f"{run.n_cached:,}", _judge_cell(run.judge, run.identity))
    Console().print(table)


def _judge_cell(spec: str, identity: Any) -> Any:
    """The spec, then the identity's options and details shortened; a detail equal to an option or the scheme is
    shown once."""
    from rich.text import Text

    if identity is None:
        return Text(f"{spec}\n(recorded before runs kept identities)")
    shown = {**identity.options, "scheme": identity.scheme}
    details = {key: value for key, value in identity.details.items() if shown.get(key, ...) != value}
    options = {key: value for key, value in identity.options.items() if value is not None}
    cell = Text(spec, style="bold") + Text(f" ({identity.scheme})")
    for title, values in (("options", options), ("details", details)):
        if values:
            cell += Text(f"\n{title}: ", style="dim") + Text(" · ".join(_short(k, v) for k, v in values.items()))
    return cell


def _short(key: str, value: Any, width: int = 48) -> str:
    """key=value: a long text cut to `width`, a list as its length, a dict one level deep."""
    if isinstance(value, list):
        text = f"[{len(value)} items]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    return f"{key}={text if len(text) <= width else text[: width - 1] + '…'}"


def _run_json(run: Any) -> dict[str, Any]:
    return {"run_id": run.run_id, "started": run.started.isoformat(),
            "finished": run.finished.isoformat() if run.finished else None, "status": run.status,
            "input": run.input, "pairs": run.n_pairs, "cached": run.n_cached, "spec": run.judge,
            "identity": run.identity.to_dict() if run.identity else None}
