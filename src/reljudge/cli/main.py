"""The `reljudge` entry point: registers the commands; imports nothing heavy."""

from __future__ import annotations

import typer

from reljudge.cli.evaluate import evaluate
from reljudge.cli.experiment import experiment_app
from reljudge.cli.export import export
from reljudge.cli.judge import judge
from reljudge.cli.store import store_app
from reljudge.cli.train import train

app = typer.Typer(
    name="reljudge",
    help="Judge search relevance with fine-tuned models, measured against human labels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(judge)
app.command()(evaluate)
app.command()(train)
app.command()(export)
app.add_typer(store_app, name="store")
app.add_typer(experiment_app, name="experiment")

if __name__ == "__main__":
    app()
