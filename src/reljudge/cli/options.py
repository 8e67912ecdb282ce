"""Options shared by several commands, and the error handling every command gets.

Only typer is imported here: everything heavy is imported inside the commands, so `reljudge --help` stays fast.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
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
#: The help panel of the flags that say how a pairs file is read.
READING_PANEL = "Reading the pairs file"
Layout = Annotated[str, typer.Option(help="Input layout: auto, table, esci-official or homedepot.",
                                     rich_help_panel=READING_PANEL)]
Columns = Annotated[
    Optional[str],
    typer.Option(help="Column map for other tables, e.g. query=search_term,product_title=title,label=relevance.",
                 rich_help_panel=READING_PANEL),
]
Products = Annotated[
    Optional[Path], typer.Option(help="Products file of the official ESCI release (parquet or JSONL).",
                                 rich_help_panel=READING_PANEL)
]
Split = Annotated[Optional[str], typer.Option(help="Keep only rows of this split (train, valid, test).",
                                              rich_help_panel=READING_PANEL)]
SmallVersion = Annotated[
    bool, typer.Option("--small-version", help="Official ESCI: keep only the small version (task 1).",
                       rich_help_panel=READING_PANEL)
]
MeanRuleOpt = Annotated[
    str, typer.Option("--mean-rule", help="Graded means (2.33) to grades: 'round' (halves up) or 'bins:T1,T2,...'.",
                      rich_help_panel=READING_PANEL)
]
SkipInvalid = Annotated[
    bool, typer.Option("--skip-invalid", help="Go on past bad rows and write them, with reasons, beside the output.",
                       rich_help_panel=READING_PANEL)
]
StorePath = Annotated[
    Optional[Path],
    typer.Option("--store", help="The DuckDB store file (default: $RELJUDGE_STORE or the user data dir)."),
]
NoStore = Annotated[bool, typer.Option("--no-store", help="Neither read nor write the store's cache.")]
BatchSize = Annotated[int, typer.Option(min=1, help="Pairs per forward pass.")]


@dataclass(frozen=True)
class PairReading:
    """How a command reads a pairs file: the reading flags, as given (see `reading_flags`)."""

    layout: str = "auto"
    columns: str | None = None
    products: Path | None = None
    split: str | None = None
    small_version: bool = False
    mean_rule: str = "round"
    skip_invalid: bool = False

    def read_options(self) -> dict[str, Any]:
        """The keyword arguments of `reljudge.io.read_pairs` (and of the streamed reader): the flags parsed."""
        from reljudge.labels import MeanRule

        return asdict(self) | {"columns": parse_columns(self.columns), "mean_rule": MeanRule(self.mean_rule)}


#: Each field of `PairReading` as the flag typer reads (its default is the field's).
_READING_FLAGS = {"layout": Layout, "columns": Columns, "products": Products, "split": Split,
                  "small_version": SmallVersion, "mean_rule": MeanRuleOpt, "skip_invalid": SkipInvalid}


def reading_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a typer command the reading flags (--layout, --columns, --products, --split, --small-version,
    --mean-rule, --skip-invalid); it receives them as one `reading: PairReading` argument."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    flags = [inspect.Parameter(field.name, keyword, default=field.default, annotation=_READING_FLAGS[field.name])
             for field in fields(PairReading)]
    return gather_parameters(command, "reading", flags, lambda given: PairReading(**given))


def gather_parameters(command: Callable[..., Any], target: str, parameters: list[inspect.Parameter],
                      gather: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """Show typer `parameters` in place of `command`'s parameter `target`; the command receives
    `gather({name: value})` of them as `target`. How one object stands for a family of flags.

    Raises:
        TypeError: `command` has no `target` parameter, or already one of the names in `parameters`.
    """
    signature = inspect.signature(command, eval_str=True)
    clash = [p.name for p in parameters if p.name in signature.parameters]
    if target not in signature.parameters or clash:
        raise TypeError(f"{command.__name__} must take {target!r} and none of {clash}")
    names = [p.name for p in parameters]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gathered = gather({name: kwargs.pop(name) for name in names})
        return command(*args, **{target: gathered}, **kwargs)

    kept = [p for p in signature.parameters.values() if p.name != target]
    keyword_only = [p for p in kept if p.kind == inspect.Parameter.KEYWORD_ONLY]
    positional = [p for p in kept if p.kind != inspect.Parameter.KEYWORD_ONLY]
    ordered = positional + keyword_only + parameters
    wrapper.__signature__ = signature.replace(parameters=ordered)
    wrapper.__annotations__ = {p.name: p.annotation for p in ordered} | {"return": None}
    return wrapper


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
    """Turn reljudge's own errors, and a module an uninstalled extra brings, into one red line on stderr and exit
    status 2, with no traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from reljudge.errors import ReljudgeError
        from reljudge.extras import missing_extra

        try:
            return command(*args, **kwargs)
        except ReljudgeError as exc:
            _error_line(str(exc))
        except ModuleNotFoundError as exc:
            line = missing_extra(exc)
            if line is None:
                raise
            _error_line(line)

    return wrapper


def _error_line(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None
