"""`reljudge annotators`: the people who may label on the page, each with a token stored hashed."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reljudge.cli.options import StorePath, reports_errors

annotators_app = typer.Typer(help="Annotators of the labelling page: add (prints a token once), list, revoke.",
                             no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="The annotator's name (letters, digits, _ . @ -), as labels record it.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")]


@annotators_app.command("add")
@reports_errors
def add(name: Name, store: StorePath = None) -> None:
    """Add an annotator and print their token: it is shown this once (the store keeps only its hash)."""
    from reljudge.service.people_store import add_annotator
    from reljudge.store import Store

    with Store(store) as the_store:
        token = add_annotator(the_store, name)
    typer.echo(f"annotator {name} added; their token, shown only now (they paste it on the page's sign-in):",
               err=True)
    typer.echo(token)


@annotators_app.command("list")
@reports_errors
def list_(store: StorePath = None, as_json: AsJson = False) -> None:
    """List the annotators: when added, whether revoked, how many standing labels they have given."""
    from reljudge.service.people_store import list_annotators
    from reljudge.store import Store

    with Store(store) as the_store:
        found = list_annotators(the_store)
    if as_json:
        for row in found:
            typer.echo(json.dumps(row, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("annotator", "added", "revoked", "labels")
    for row in found:
        table.add_row(row["annotator"], f"{row['created']:%Y-%m-%d %H:%M}",
                      f"{row['revoked']:%Y-%m-%d %H:%M}" if row["revoked"] else "", str(row["labels"]))
    Console().print(table)


@annotators_app.command("revoke")
@reports_errors
def revoke(name: Name, store: StorePath = None) -> None:
    """Refuse an annotator's token from now on; the labels they gave stay."""
    from reljudge.service.people_store import revoke_annotator
    from reljudge.store import Store

    with Store(store) as the_store:
        revoke_annotator(the_store, name)
    typer.echo(f"annotator {name}: token revoked", err=True)
