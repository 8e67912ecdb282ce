"""Flags generated from pydantic models: the training settings of `reljudge train` (the config models of
`train.configs`) and the options of `reljudge report` (`report.options.ReportOptions`).

Each field is a flag (`lora_rank` -> `--lora-rank`, `stack_C` -> `--stack-C`, a bool `--x/--no-x`, a sequence
repeatable or comma-separated), listed in the help under its group; a training setting several families declare is
one flag whose help names each family's default. Adding a field to the model is the one edit that adds its flag.
Flags default to None (not given), so only the given ones reach the model, whose defaults fill the rest (for
training: defaults < config file < flags).

The flags are read from a cache file while the model's source is unchanged, so `reljudge --help` imports no
pydantic.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union, get_args, get_origin

import typer

from reljudge.cli.flag_cache import cached_rows

if TYPE_CHECKING:
    from reljudge.train.configs import TrainConfig

_SEQUENCES = (tuple, list)
_KINDS = {kind.__name__: kind for kind in (bool, int, float, str)}


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


@dataclass(frozen=True)
class SettingFlag:
    """The flag of one setting (a training setting, a report option), as typer needs it.

    Attributes:
        kind: the click type's name (bool, int, float or str: text that pydantic parses).
        sequence: the setting is a list: the flag repeated, or its items separated by commas.
    """

    name: str
    kind: str
    metavar: Optional[str]
    help: str
    panel: str
    sequence: bool = False

    def parameter(self) -> inspect.Parameter:
        decl = f"{flag_name(self.name)}/--no-{self.name.replace('_', '-')}" if self.kind == "bool" else flag_name(
            self.name)
        option = typer.Option(decl, help=self.help, metavar=self.metavar, show_default=False,
                              rich_help_panel=self.panel)
        kind = list[str] if self.sequence else _KINDS[self.kind]
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                 annotation=Annotated[Optional[kind], option])

    def parsed(self, value: Any) -> Any:
        """The value given, a sequence's items split at commas (`--by a,b` is `--by a --by b`)."""
        if not self.sequence:
            return value
        return [item.strip() for given in value for item in str(given).split(",") if item.strip()]


def with_setting_flags(command: Callable[..., Any],
                       declared: Callable[[], tuple[SettingFlag, ...]] | None = None) -> Callable[..., Any]:
    """`command` with one keyword flag per setting of `declared()` (default: the training settings) after its own
    parameters; it receives the flags given (not None), parsed, in its **settings."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    by_name = {setting.name: setting for setting in (declared or declared_settings)()}
    flags = [setting.parameter() for setting in by_name.values()]
    names = {p.name for p in flags}

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        settings = {name: kwargs.pop(name) for name in names}
        return command(**kwargs, **{name: by_name[name].parsed(value) for name, value in settings.items()
                                    if value is not None})

    parameters = [*own, *flags]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


@functools.lru_cache(maxsize=None)
def declared_settings() -> tuple[SettingFlag, ...]:
    """Every training setting's flag, in help order (by group); read from a cache file while train/configs.py is
    unchanged (see flag_cache.py)."""
    return _cached_flags("train-settings", "train/configs.py", settings_from_models)


def settings_from_models() -> tuple[SettingFlag, ...]:
    """The flags built from the config models: one per setting name, in the order of their groups."""
    from reljudge.train.configs import CONFIGS, GROUPS

    owners: dict[str, list[tuple[str, type[TrainConfig]]]] = {}
    for judge, model in CONFIGS.items():
        for name in model.model_fields:
            owners.setdefault(name, []).append((judge, model))
    ordered = sorted(owners.items(), key=lambda item: GROUPS.index(item[1][0][1].group(item[0])))
    return tuple(_setting_flag(name, declared) for name, declared in ordered)


@functools.lru_cache(maxsize=None)
def report_flags() -> tuple[SettingFlag, ...]:
    """A flag per field of `ReportOptions`, in its order; read from a cache file while report/options.py is
    unchanged."""
    return _cached_flags("report-options", "report/options.py", report_flags_from_model)


def _cached_flags(name: str, source: str, build: Callable[[], tuple[SettingFlag, ...]]) -> tuple[SettingFlag, ...]:
    """The flags `build` makes, kept in cache file NAME while reljudge's file SOURCE is unchanged."""
    import reljudge

    rows = cached_rows(name, Path(reljudge.__file__).parent / source, lambda: [asdict(f) for f in build()])
    return tuple(SettingFlag(**row) for row in rows)


def report_flags_from_model() -> tuple[SettingFlag, ...]:
    from reljudge.report.options import ReportOptions

    flags = []
    for name, info in ReportOptions.model_fields.items():
        kind, metavar = _flag_type(info.annotation)
        if _bare(info.annotation) is date:
            metavar = "YYYY-MM-DD"
        default = "" if info.default in (None, ()) else f" (default {_shown(info.default)})"
        flags.append(SettingFlag(name, kind.__name__, metavar, f"{info.description}{default}", "Report options",
                                 get_origin(_bare(info.annotation)) in _SEQUENCES))
    return tuple(flags)


def training_config(judge: str, file: Path | None, settings: dict[str, Any]) -> TrainConfig | None:
    """The judge's config: its defaults, updated by FILE, updated by the flags given; None for a judge that has no
    settings when none are given. A bad flag is a usage error naming the flag (exit 2)."""
    from reljudge.train.configs import CONFIGS, ConfigError, load_config, make_config

    if judge not in CONFIGS:
        if file or settings:
            given = ["--config"] * bool(file) + [flag_name(name) for name in settings]
            raise typer.BadParameter(f"judge {judge!r} takes no training settings (only {', '.join(CONFIGS)} do)",
                                     param_hint=", ".join(given))
        return None
    model = CONFIGS[judge]
    foreign = [name for name in settings if name not in model.model_fields]
    if foreign:
        raise typer.BadParameter(f"not a setting of judge {judge!r}", param_hint=_hints(foreign))
    config = load_config(judge, file) if file else None
    try:
        return make_config(judge, config, settings)
    except ConfigError as exc:
        problems = exc.problems
        message = "; ".join(problems.values() if len(problems) == 1 else
                            (f"{flag_name(key)}: {problem}" for key, problem in problems.items()))
        raise typer.BadParameter(message, param_hint=_hints(list(problems))) from None


def _hints(names: list[str]) -> str:
    return ", ".join(flag_name(name) for name in names)


def _setting_flag(name: str, owners: list[tuple[str, type[TrainConfig]]]) -> SettingFlag:
    kinds = {_flag_type(model.model_fields[name].annotation) for _, model in owners}
    if len(kinds) > 1:
        raise TypeError(f"training setting {name!r} has different types in {', '.join(j for j, _ in owners)}")
    kind, metavar = kinds.pop()
    sequence = get_origin(_bare(owners[0][1].model_fields[name].annotation)) in _SEQUENCES
    return SettingFlag(name, kind.__name__, metavar, _help(name, owners),
                       f"Training settings: {owners[0][1].group(name)}", sequence)


def _flag_type(annotation: Any) -> tuple[type, str | None]:
    """The flag's click type and metavar: bool, int, float and str as such; a choice, a union or a sequence as
    text for pydantic to parse."""
    bare = _bare(annotation)
    if bare in (bool, int, float, str):
        return bare, None
    if get_origin(bare) is Literal:
        return str, "|".join(map(str, get_args(bare)))
    if get_origin(bare) in _SEQUENCES:
        return str, "X,Y,..."
    choices: list[str] = []
    for arg in get_args(bare):  # a union such as auto|true|false
        if get_origin(arg) is Literal:
            choices += map(str, get_args(arg))
        elif arg is bool:
            choices += ["true", "false"]
    return str, "|".join(choices) or None


def _bare(annotation: Any) -> Any:
    """The annotation without Optional's None and without Annotated's metadata."""
    if get_origin(annotation) is Annotated:
        return _bare(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _bare(args[0]) if len(args) == 1 else Union[tuple(args)]
    return annotation


def _help(name: str, owners: list[tuple[str, type[TrainConfig]]]) -> str:
    """The field's description (each family's when they differ), the families that take it and their defaults."""
    descriptions = {judge: model.model_fields[name].description or "" for judge, model in owners}
    if len(set(descriptions.values())) == 1:
        text = next(iter(descriptions.values()))
    else:
        text = " ".join(f"{judge}: {description}" for judge, description in descriptions.items())
    defaults = {judge: _shown(model.model_fields[name].default) for judge, model in owners}
    if len(set(defaults.values())) == 1:
        return f"{text} ({', '.join(defaults)}; default {next(iter(defaults.values()))})"
    return f"{text} (default {', '.join(f'{judge} {value}' for judge, value in defaults.items())})"


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return str(value)
