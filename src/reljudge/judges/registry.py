"""The registry: judge families by spec name, each with the factory that builds it and the options it declares.

A spec is "name" or "name:argument" (lexical, majority, lexical:DIR, causal:DIR, api:MODEL). Families are found
through the `reljudge.judges` entry points of the installed packages, reljudge's own built-ins among them
(`judges.builtin`): each names a `JudgePlugin`, whose options model and factory are imported only when a spec
names the family, so `reljudge --help` and the light judges never pay for torch or an HTTP client. A judge defined
in a script or notebook registers itself with `@register(name, options=Model)`.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from reljudge.errors import JudgeError
from reljudge.judges.base import Judge, JudgeIdentity
from reljudge.judges.options import JudgeOptions
from reljudge.labels import LabelScheme, get_scheme

#: factory(argument, scheme, options) -> Judge; `scheme` is None for the model's own.
JudgeFactory = Callable[[str | None, LabelScheme | None, Any], Judge]


@dataclass(frozen=True)
class Family:
    name: str
    factory: JudgeFactory
    options: type[JudgeOptions]


@dataclass(frozen=True)
class JudgePlugin:
    """What a `reljudge.judges` entry point names: a family's options model and its factory, each the object itself
    or a "module:attribute" string imported only when a spec names the family (keep the options in a light module).

    In the plugin package's pyproject.toml: `[project.entry-points."reljudge.judges"]` `title-match =
    "mypackage.plugin:title_match"`, where `title_match = JudgePlugin(options=..., factory=...)`.
    """

    factory: JudgeFactory | str
    options: type[JudgeOptions] | str = JudgeOptions

    def family(self, name: str) -> Family:
        return Family(name, _resolve(self.factory, name), self.options_model(name))

    def options_model(self, name: str) -> type[JudgeOptions]:
        model = _resolve(self.options, name)
        if not (isinstance(model, type) and issubclass(model, JudgeOptions)):
            raise JudgeError(f"judge {name!r}: its options {self.options!r} are not a JudgeOptions model")
        return model


ENTRY_POINT_GROUP = "reljudge.judges"

_REGISTRY: dict[str, Family] = {}

_PIN = re.compile(r"@(?P<digest>[0-9a-f]{12})$")


def register(name: str, options: type[JudgeOptions] = JudgeOptions) -> Callable[[JudgeFactory], JudgeFactory]:
    """Register `factory(argument, scheme, options) -> Judge` under a spec name, with its options model."""

    def decorate(factory: JudgeFactory) -> JudgeFactory:
        _REGISTRY[name] = Family(name, factory, options)
        return factory

    return decorate


def available_judges() -> list[str]:
    return sorted(set(_REGISTRY) | set(_declared()))


def builtin_judges() -> list[str]:
    """The families reljudge itself declares, by name (the ones whose options are CLI flags)."""
    return sorted(name for name, point in _declared().items() if point.value.startswith("reljudge."))


@functools.cache
def _declared() -> dict[str, EntryPoint]:
    """The installed packages' `reljudge.judges` entry points by family name (read once per process)."""
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def _plugin(name: str) -> JudgePlugin:
    try:
        plugin = _declared()[name].load()
    except Exception as exc:  # a broken plugin package: say which, whatever went wrong inside it
        raise JudgeError(f"judge {name!r}: its entry point {_declared()[name].value!r} cannot be loaded ({exc})") \
            from exc
    if not isinstance(plugin, JudgePlugin):
        raise JudgeError(f"judge {name!r}: its entry point {_declared()[name].value!r} is not a JudgePlugin")
    return plugin


def _resolve(target: Any, name: str) -> Any:
    """An object, or the attribute a "module:attribute" string names (imported now)."""
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except AttributeError as exc:
        raise JudgeError(f"judge {name!r}: {target!r} names nothing ({exc})") from exc


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split "name:argument" (the argument may itself hold colons, e.g. a Windows path or a model tag)."""
    name, sep, argument = spec.strip().partition(":")
    if not name:
        raise JudgeError(f"empty judge spec {spec!r}")
    return name, (argument if sep else None)


def spec_name(spec: str) -> str:
    """The family name of a spec: "api" for "api:llama3.1:8b@0123456789ab"."""
    return parse_spec(spec)[0].partition("@")[0]


def options_model(name: str) -> type[JudgeOptions]:
    """The options a family declares, without importing a built-in judge (only its light options module)."""
    if name in _REGISTRY:
        return _REGISTRY[name].options
    if name in _declared():
        return _plugin(name).options_model(name)
    raise JudgeError(f"unknown judge {name!r} (known judges: {', '.join(available_judges())})")


def judge_options(name: str, given: Mapping[str, Any]) -> JudgeOptions:
    """Validate options for family `name`.

    Raises:
        JudgeError: an option the family does not declare, or a value of the wrong type or range; the message
            names the option and the judge.
    """
    model = options_model(name)
    try:
        return model.model_validate(dict(given))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            option = ".".join(str(part) for part in error["loc"]) or "options"
            if error["type"] == "extra_forbidden":
                takes = ", ".join(model.model_fields) or "none"
                problems.append(f"judge {name!r} takes no option {option!r} (its options: {takes})")
            else:
                problems.append(f"judge {name!r}, option {option!r}: {error['msg']}")
        raise JudgeError("; ".join(problems)) from None


def load_judge(spec: str | JudgeIdentity | Mapping[str, Any], scheme: LabelScheme | str | None = None,
               **options: Any) -> Judge:
    """Build the judge a spec names, with the options its family declares (see each family's options model).

    A spec as stored with a judgment ends in "@DIGEST" (lexical@5cd606d8fd26): it pins the exact model, and
    loading fails if the model that name now loads is another one. A recorded identity (a JudgeIdentity or its
    dict, as `reljudge store runs --json` prints it) rebuilds the very judge it records, or fails saying what
    changed.
    """
    if not isinstance(spec, str):
        return rebuild_judge(spec if isinstance(spec, JudgeIdentity) else JudgeIdentity.from_dict(dict(spec)))
    pin = _PIN.search(spec)
    name, argument = parse_spec(spec[: pin.start()] if pin else spec)
    if name not in _REGISTRY and name in _declared():
        _REGISTRY[name] = _plugin(name).family(name)
    if name not in _REGISTRY:
        raise JudgeError(f"unknown judge {name!r} in spec {spec!r} (known judges: {', '.join(available_judges())})")
    family = _REGISTRY[name]
    validated = judge_options(name, options)
    wanted = get_scheme(scheme) if isinstance(scheme, str) else scheme
    judge = family.factory(argument, wanted, validated)
    judge.options = validated
    if pin and not judge.spec.endswith(pin.group(0)):
        raise JudgeError(f"judge spec {spec!r} pins a model that has changed since (it now loads {judge.spec})")
    return judge


def rebuild_judge(identity: JudgeIdentity, **runtime: Any) -> Judge:
    """The judge a recorded identity names, built with its recorded options (plus runtime ones, e.g. a progress
    bar or concurrency, which never change labels).

    Raises:
        JudgeError: the pinned model, or anything the identity's details record, differs now.
    """
    # Built unpinned and compared detail by detail first: a changed template or server then says what changed,
    # where the pin (which covers the details) could only say that something did.
    pin = _PIN.search(identity.spec)
    unpinned = identity.spec[: pin.start()] if pin else identity.spec
    judge = load_judge(unpinned, get_scheme(identity.scheme, identity.level), **identity.options, **runtime)
    now = judge.identity.details
    changed = sorted(key for key in set(now) | set(identity.details) if now.get(key) != identity.details.get(key))
    if changed:
        what = "; ".join(f"{key}: {identity.details.get(key)!r} recorded, {now.get(key)!r} now" for key in changed)
        raise JudgeError(f"judge {identity.spec} cannot be rebuilt as recorded ({what})")
    if pin and not judge.spec.endswith(pin.group(0)):
        raise JudgeError(f"judge {identity.spec} cannot be rebuilt as recorded: its model has changed since "
                         f"(it now loads {judge.spec})")
    return judge

