"""The registry: judge families by spec name, each with the factory that builds it and the options it declares.

A spec is "name" or "name:argument" (lexical, majority, lexical:DIR, causal:DIR, api:MODEL). A family module
registers itself with `@register(name, options=Model)` when imported; built-in families are imported only when a
spec names them, and their option models live in light modules, so `reljudge --help` and the light judges never
pay for torch or an HTTP client.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


_REGISTRY: dict[str, Family] = {}

#: Built-in families: the module that registers each, and where its option model lives (a light module).
BUILTIN_JUDGES = {
    "lexical": "reljudge.judges.lexical",
    "majority": "reljudge.judges.majority",
    "cross-encoder": "reljudge.judges.encoder.judge",
    "causal": "reljudge.judges.causal.judge",
    "api": "reljudge.judges.api.judge",
}
BUILTIN_OPTIONS = {
    "lexical": "reljudge.judges.options:JudgeOptions",
    "majority": "reljudge.judges.options:JudgeOptions",
    "cross-encoder": "reljudge.judges.encoder.options:EncoderOptions",
    "causal": "reljudge.judges.causal.options:CausalOptions",
    "api": "reljudge.judges.api.options:ApiOptions",
}

_PIN = re.compile(r"@(?P<digest>[0-9a-f]{12})$")


def register(name: str, options: type[JudgeOptions] = JudgeOptions) -> Callable[[JudgeFactory], JudgeFactory]:
    """Register `factory(argument, scheme, options) -> Judge` under a spec name, with its options model."""

    def decorate(factory: JudgeFactory) -> JudgeFactory:
        _REGISTRY[name] = Family(name, factory, options)
        return factory

    return decorate


def available_judges() -> list[str]:
    return sorted(set(_REGISTRY) | set(BUILTIN_JUDGES))


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
    if name in BUILTIN_OPTIONS:
        module, _, attribute = BUILTIN_OPTIONS[name].partition(":")
        return getattr(importlib.import_module(module), attribute)
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
    _import_builtin(name)
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


def _import_builtin(name: str) -> None:
    if name in BUILTIN_JUDGES and name not in _REGISTRY:
        importlib.import_module(BUILTIN_JUDGES[name])
