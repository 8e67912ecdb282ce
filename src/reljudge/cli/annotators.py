"""`reljudge annotators` and `reljudge clients`: who may label on the page, and who may call the judging API,
each with a token stored hashed."""

import json
from typing import Annotated

import typer

from reljudge.cli.options import StorePath, reports_errors

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")]


def accounts_app(role: str, help: str, shown: str, reviewers: bool = False) -> typer.Typer:
    """The add / list / revoke commands of one role of account (`shown`: where the token is pasted; `reviewers`:
    add takes --reviewer)."""
    app = typer.Typer(help=help, no_args_is_help=True)
    Name = Annotated[str, typer.Argument(help=f"The {role}'s name (letters, digits, _ . @ -).")]
    Reviewer = Annotated[bool, typer.Option(
        "--reviewer", hidden=not reviewers, help="Also sees the agreement and audit view: everyone's labels and the "
                                                 "judge's (others label blind).")]

    @app.command("add")
    @reports_errors
    def add(name: Name, reviewer: Reviewer = False, store: StorePath = None) -> None:
        """Add one and print their token: it is shown this once (the store keeps only its hash)."""
        from reljudge.errors import ReljudgeError
        from reljudge.service.people_store import REVIEWER, add_annotator
        from reljudge.store import Store

        if reviewer and not reviewers:
            raise ReljudgeError(f"--reviewer is for annotators, not a {role}")
        with Store(store) as the_store:
            token = add_annotator(the_store, name, REVIEWER if reviewer else role)
        typer.echo(f"{REVIEWER if reviewer else role} {name} added; their token, shown only now ({shown}):", err=True)
        typer.echo(token)

    @app.command("list")
    @reports_errors
    def list_(store: StorePath = None, as_json: AsJson = False) -> None:
        """List them: when added, whether revoked, how many standing labels they have given."""
        from reljudge.service.people_store import list_annotators
        from reljudge.store import Store

        with Store(store) as the_store:
            found = list_annotators(the_store, role)
        if as_json:
            for row in found:
                typer.echo(json.dumps(row, default=str))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(role, "role", "added", "revoked", "labels")
        for row in found:
            table.add_row(row[role], row["role"], f"{row['created']:%Y-%m-%d %H:%M}",
                          f"{row['revoked']:%Y-%m-%d %H:%M}" if row["revoked"] else "", str(row["labels"]))
        Console().print(table)

    @app.command("revoke")
    @reports_errors
    def revoke(name: Name, store: StorePath = None) -> None:
        """Refuse their token from now on (a running service within 10 s); the labels they gave stay."""
        from reljudge.service.people_store import revoke_annotator
        from reljudge.store import Store

        with Store(store) as the_store:
            revoke_annotator(the_store, name, role)
        typer.echo(f"{role} {name}: token revoked", err=True)

    return app


annotators_app = accounts_app("annotator", "Annotators of the labelling page: add (prints a token once; --reviewer), "
                                           "list, revoke.", "they paste it on the page's sign-in", reviewers=True)
clients_app = accounts_app("client", "Clients of the judging API (/v1/judge, /v1/rerank): add (prints a token once), "
                                     "list, revoke.", "send it as Authorization: Bearer TOKEN")
