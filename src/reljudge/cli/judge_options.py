"""The judge flags of every command that opens a judge (`judge`, `evaluate`, `experiment analyze` and `validate`),
built from the judge families' option models, so an option added to a family's model is a flag of them all.

`@judge_flags(...)` appends to a typer command `--judge`, one flag per option field of the built-in families
(`--base-url` from `base_url`; a field two families declare, like `template`, is one flag) and the generic
`--option NAME=VALUE` (as simonw/llm's `-o NAME VALUE`, for any option of any registered judge), and hands the
command one `JudgeChoice`. The flags default to None (not given): only the given ones reach `load_judge`, which
validates them with the chosen family's model.

`-o` stays `--output`, as in every reljudge command that writes a file; and typer cannot type a repeatable option
of two values, hence NAME=VALUE.

Only typer and the light option models (pydantic) are imported here: never a judge, numpy or an HTTP client.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import typer

from reljudge.cli.flag_cache import cached_rows
from reljudge.cli.options import gather_parameters
from reljudge.errors import ReljudgeError

#: What help panels and refusals call each built-in family with flags: (kind of judge, its --judge spec).
FAMILY_WORDS = {"cross-encoder": ("cross-encoder", "cross-encoder[:DIR]"), "causal": ("causal LM", "causal[:DIR]"),
                "api": ("API", "api:MODEL")}
OPTION_PANEL = "Any judge's options"
RetryUnscored = Annotated[bool, typer.Option(
    "--retry-unscored", rich_help_panel=f"{FAMILY_WORDS['api'][0]} judge (--judge {FAMILY_WORDS['api'][1]})",
    help="Ask again for pairs the store holds as unscored (unparseable or rejected replies) instead of reusing "
         "them. With a directory output, add --overwrite.")]

_SPEC = "judge_spec"
_GENERIC = "judge_option"
_PREFIX = "judge_flag_"
_CLI_TYPES = (bool, int, float, Path, str)
_KINDS = {kind.__name__: kind for kind in _CLI_TYPES}


def _words(family: str) -> tuple[str, str]:
    return FAMILY_WORDS.get(family, (family, f"{family}[:ARG]"))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _judges_phrase(families: tuple[str, ...]) -> str:
    """'API judges (--judge api:MODEL)'; several families joined with 'or'."""
    return " or ".join(f"{_words(f)[0]} judges (--judge {_words(f)[1]})" for f in families)


@dataclass(frozen=True)
class JudgeFlag:
    """One command-line flag for an option field, with each declaring family's description of it."""

    name: str
    kind: type
    described: tuple[tuple[str, str], ...]

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(family for family, _ in self.described)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def panel(self) -> str:
        kinds = " and ".join(_words(f)[0] for f in self.families)
        specs = ", ".join(_words(f)[1] for f in self.families)
        return _capital(f"{kinds} judge{'s' if len(self.families) > 1 else ''} (--judge {specs})")

    @property
    def help(self) -> str:
        if len({text for _, text in self.described}) == 1:
            return self.described[0][1]
        return " ".join(f"{_capital(_words(family)[0])} judges: {text}" for family, text in self.described)


def _cli_type(annotation: Any) -> type:
    """The type typer parses a flag as: the field's own when simple (Optional unwrapped), else str for pydantic
    to parse (a Literal's value is checked by the family's model, which names the judge)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else str
    if typing.get_origin(annotation) is Literal:
        return str
    return annotation if annotation in _CLI_TYPES else str


@functools.lru_cache(maxsize=None)
def declared_flags() -> tuple[JudgeFlag, ...]:
    """A flag for every option field (that `is_flag`) of every built-in family, in the registry's order; read from
    a cache file while no file of the judges package has changed (see flag_cache.py)."""
    import reljudge.judges

    def build() -> list[dict[str, Any]]:
        return [{"name": f.name, "kind": f.kind.__name__, "described": f.described} for f in _flags_from_models()]

    rows = cached_rows("judge-flags", Path(reljudge.judges.__file__).parent, build)
    return tuple(JudgeFlag(r["name"], _KINDS[r["kind"]], tuple(map(tuple, r["described"]))) for r in rows)


def _flags_from_models() -> tuple[JudgeFlag, ...]:
    from reljudge.judges.registry import builtin_judges, options_model

    found: dict[str, JudgeFlag] = {}
    for family in builtin_judges():
        model = options_model(family)
        for name, info in model.model_fields.items():
            if not model.is_flag(name):
                continue
            described = (family, info.description or "")
            if name in found:
                found[name] = JudgeFlag(name, found[name].kind, found[name].described + (described,))
            else:
                found[name] = JudgeFlag(name, _cli_type(info.annotation), (described,))
    return tuple(found.values())


@dataclass(frozen=True)
class JudgeChoice:
    """The judge a command opens: its spec, and the options given for it by field name (not yet validated).

    Attributes:
        spec: the --judge spec, or None where the command's judge is optional and none was given.
        options: the given options; `given_as` says how each was given (`--base-url`, `--option base_url`).
    """

    spec: str | None
    options: dict[str, Any] = field(default_factory=dict)
    given_as: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_command_line(cls, spec: str | None, flags: dict[str, Any], generic: list[str] | None) -> JudgeChoice:
        """Collect the given flags and `--option NAME=VALUE`s; refuse an option given twice, or options with no
        --judge to take them."""
        options = {name: value for name, value in flags.items() if value is not None}
        given_as = {name: "--" + name.replace("_", "-") for name in options}
        for item in generic or []:
            raw, sep, value = item.partition("=")
            name = raw.strip().replace("-", "_")
            if not sep or not name:
                raise ReljudgeError(f"--option {item!r}: expected NAME=VALUE, e.g. --option temperature=0.2")
            if name in options:
                raise ReljudgeError(f"--option {raw}: given twice (also as {given_as[name]})")
            options[name], given_as[name] = value, f"--option {raw}"
        if spec is None and options:
            raise ReljudgeError(f"{', '.join(given_as.values())}: a judge's options, but no --judge was given")
        return cls(spec, options, given_as)

    def load_options(self, **set_by_command: Any) -> dict[str, Any]:
        """The options to load the judge with: the given ones, plus those the command sets itself (e.g. the API
        judge's progress bar) where the judge declares them.

        Raises:
            ReljudgeError: a flag the chosen judge does not declare (naming the flag and the judges that take it),
                or an option the command sets itself; `load_judge` refuses unknown or ill-typed `--option`s.
        """
        from reljudge.judges.registry import options_model, spec_name

        model = options_model(spec_name(self.spec))
        by_families: dict[tuple[str, ...], list[str]] = {}
        for flag in declared_flags():
            given = self.given_as.get(flag.name) == flag.flag
            if given and flag.name not in model.model_fields:
                by_families.setdefault(flag.families, []).append(flag.flag)
        if by_families:
            raise ReljudgeError("; ".join(f"{', '.join(flags)}: only for {_judges_phrase(families)}"
                                          for families, flags in by_families.items()) + f", not {self.spec!r}")
        for name in self.options:
            if name in model.model_fields and not model.is_flag(name):
                raise ReljudgeError(f"{self.given_as[name]}: set by the command, not an option to give")
        return self.options | {k: v for k, v in set_by_command.items() if k in model.model_fields}


def _extra_parameters(default: Any, help: str, flag: str = "--judge") -> list[inspect.Parameter]:
    """--judge (or `flag`), the flags of declared_flags() and --option, as keyword-only parameters typer reads."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    spec_type = Optional[str] if default is None else str
    parameters = [inspect.Parameter(_SPEC, keyword, default=inspect.Parameter.empty if default is ... else default,
                                    annotation=Annotated[spec_type, typer.Option(flag, help=help)])]
    for flag in declared_flags():
        option = typer.Option(flag.flag, help=flag.help, rich_help_panel=flag.panel)
        parameters.append(inspect.Parameter(_PREFIX + flag.name, keyword, default=None,
                                            annotation=Annotated[Optional[flag.kind], option]))
    generic = typer.Option(
        "--option", metavar="NAME=VALUE", rich_help_panel=OPTION_PANEL,
        help="Any option of the chosen judge by its name, repeatable (e.g. --option temperature=0.2), also those "
             "of judges that other packages register. The judge's options model parses the value.")
    parameters.append(inspect.Parameter(_GENERIC, keyword, default=None,
                                        annotation=Annotated[Optional[list[str]], generic]))
    return parameters


def judge_flags(*, default: str | None | Any = ..., help: str = "Judge spec.", flag: str = "--judge") -> Callable:
    """Give a typer command `--judge` (default `default`; `...` for required; `flag` names it otherwise, e.g.
    `--teacher`), every judge flag and `--option`; the command receives them as one `choice: JudgeChoice` argument.
    Put it under `@reports_errors`."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        def gather(given: dict[str, Any]) -> JudgeChoice:
            flags = {flag.name: given[_PREFIX + flag.name] for flag in declared_flags()}
            return JudgeChoice.from_command_line(given[_SPEC], flags, given[_GENERIC])

        return gather_parameters(command, "choice", _extra_parameters(default, help, flag), gather)

    return decorate
