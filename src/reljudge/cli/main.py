"""The `reljudge` entry point: registers the commands; imports nothing heavy."""

from __future__ import annotations

from typing import Annotated

import typer

from reljudge.cli import logs
from reljudge.cli.annotators import annotators_app, clients_app
from reljudge.cli.evaluate import evaluate
from reljudge.cli.experiment import experiment_app
from reljudge.cli.export import export
from reljudge.cli.judge import judge
from reljudge.cli.labels import labels_app
from reljudge.cli.queue import queue_app
from reljudge.cli.rationales import rationales
from reljudge.cli.report import report
from reljudge.cli.select import select
from reljudge.cli.serve import serve
from reljudge.cli.store import store_app
from reljudge.cli.train import train

app = typer.Typer(
    name="reljudge",
    help="Judge search relevance with fine-tuned models, measured against human labels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show reljudge's debug messages too.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Show only warnings and errors.")] = False,
) -> None:
    """Judge search relevance with fine-tuned models, measured against human labels."""
    if verbose and quiet:
        raise typer.BadParameter("choose one of --verbose and --quiet", param_hint="--verbose/--quiet")
    handler = logs.install(logs.verbosity_level(verbose, quiet))
    ctx.call_on_close(lambda: logs.uninstall(handler))


app.command()(judge)
app.command()(evaluate)
app.command()(select)
app.command()(rationales)
app.command()(train)
app.command()(export)
app.command()(report)
app.add_typer(store_app, name="store")
app.add_typer(experiment_app, name="experiment")
# the human loop: the service and labelling page, its annotators and queues, and labels out
app.command()(serve)
app.add_typer(annotators_app, name="annotators")
app.add_typer(clients_app, name="clients")
app.add_typer(queue_app, name="queue")
app.add_typer(labels_app, name="labels")

if __name__ == "__main__":
    app()
