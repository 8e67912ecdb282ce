"""`reljudge store`: where the store is and what it holds."""

from __future__ import annotations

import typer

from reljudge.cli.options import StorePath, reports_errors

store_app = typer.Typer(help="Inspect the DuckDB store of pairs, human labels, runs and judgments.", no_args_is_help=True)


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
    for name in ("pairs", "human_labels", "runs", "judgments"):
        table.add_row(name, f"{getattr(facts, name):,}")
    for judge, n in facts.judges.items():
        table.add_row(f"  judged by {judge}", f"{n:,}")
    Console().print(table)
