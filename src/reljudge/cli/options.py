"""Options shared by several commands, and the error handling every command gets.

Only typer is imported here: everything heavy is imported inside the commands, so `reljudge --help` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

Scheme = Annotated[
    Optional[str],
    typer.Option(help="Label scheme: esci, binary or graded:LOW-HIGH (e.g. graded:1-3). Default: the judge's."),
]
Level = Annotated[
    Optional[str],
    typer.Option(help="Level of measurement for alpha: nominal, ordinal or interval (overrides the scheme's)."),
]
Layout = Annotated[str, typer.Option(help="Input layout: auto, table, esci-official or homedepot.")]
Columns = Annotated[
    Optional[str],
    typer.Option(help="Column map for other tables, e.g. query=search_term,product_title=title,label=relevance."),
]
Products = Annotated[
    Optional[Path], typer.Option(help="Products file of the official ESCI release (parquet or JSONL).")
]
Split = Annotated[Optional[str], typer.Option(help="Keep only rows of this split (train, valid, test).")]
SmallVersion = Annotated[
    bool, typer.Option("--small-version", help="Official ESCI: keep only the small version (task 1).")
]
MeanRuleOpt = Annotated[
    str, typer.Option("--mean-rule", help="Graded means (2.33) to grades: 'round' (halves up) or 'bins:T1,T2,...'.")
]
SkipInvalid = Annotated[
    bool, typer.Option("--skip-invalid", help="Go on past bad rows and write them, with reasons, beside the output.")
]
StorePath = Annotated[
    Optional[Path],
    typer.Option("--store", help="The DuckDB store file (default: $RELJUDGE_STORE or the user data dir)."),
]
NoStore = Annotated[bool, typer.Option("--no-store", help="Neither read nor write the store's cache.")]
BatchSize = Annotated[int, typer.Option(min=1, help="Pairs per forward pass.")]


def parse_columns(text: str | None) -> dict[str, str] | None:
    """'query=search_term,label=relevance' -> {'query': 'search_term', 'label': 'relevance'}."""
    if not text:
        return None
    mapping = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise typer.BadParameter(f"expected FIELD=COLUMN, got {item!r}", param_hint="--columns")
        mapping[key.strip()] = value.strip()
    return mapping


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn reljudge's own errors into one red line on stderr and exit status 2, with no traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from reljudge.errors import ReljudgeError

        try:
            return command(*args, **kwargs)
        except ReljudgeError as exc:
            from rich.console import Console

            Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper
