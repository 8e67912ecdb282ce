"""The Judge protocol, shared behaviour, and the registry that builds a judge from its spec.

A spec is "name" or "name:argument" (lexical, majority, lexical:DIR, causal:DIR, api:MODEL). The judge reports
its canonical spec (`judge.spec`), which pins the exact model it loaded (a content hash), so every stored
judgment can be traced to what produced it and the cache never mixes two models under one name.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from reljudge.errors import JudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Judgment, Pair


@runtime_checkable
class Judge(Protocol):
    """Anything that gives probabilities over a scheme's labels for a batch of pairs."""

    spec: str
    scheme: LabelScheme
    #: True when a pair's probabilities depend on the other candidates of its query: callers must then pass
    #: whole query groups in one call (a label never depends on how the input was cut into batches).
    uses_query_group: bool

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        """An (n, k) array; row i sums to 1 over `scheme.labels`, or is all NaN when pair i is unscored."""
        ...


def predict(judge: Judge, pairs: Sequence[Pair], batch_size: int = 64) -> list[str | None]:
    """The argmax label of each pair (None where unscored)."""
    return [j.label for j in judgments(judge, pairs, batch_size)]


def judgments(judge: Judge, pairs: Sequence[Pair], batch_size: int = 64) -> list[Judgment]:
    """Judge pairs and wrap each row of probabilities as a Judgment carrying the judge's spec.

    A judge with a `judge_pairs(pairs) -> list[Judgment]` method (the API judge) makes its own judgments, so an
    unscored one keeps the judge's reason and the raw reply instead of a bare "unscored".
    """
    if callable(getattr(judge, "judge_pairs", None)):
        return list(judge.judge_pairs(pairs))
    proba = judge.predict_proba(pairs, batch_size=batch_size)
    labels = judge.scheme.labels
    out = []
    for pair, row in zip(pairs, proba):
        if np.isnan(row).any():
            out.append(Judgment(pair.pair_hash, judge.spec, None, None, reason="unscored"))
        else:
            out.append(Judgment(pair.pair_hash, judge.spec, labels[int(np.argmax(row))], tuple(float(p) for p in row)))
    return out


JudgeFactory = Callable[..., Judge]
_REGISTRY: dict[str, JudgeFactory] = {}


def register(name: str) -> Callable[[JudgeFactory], JudgeFactory]:
    """Register a factory `factory(argument: str | None, **options) -> Judge` under a spec name."""

    def decorate(factory: JudgeFactory) -> JudgeFactory:
        _REGISTRY[name] = factory
        return factory

    return decorate


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split "name:argument" (the argument may itself hold colons, e.g. a Windows path or a model tag)."""
    name, sep, argument = spec.strip().partition(":")
    if not name:
        raise JudgeError(f"empty judge spec {spec!r}")
    return name, (argument if sep else None)


_PIN = re.compile(r"@(?P<digest>[0-9a-f]{12})$")


def read_model_config(path: Path, fmt: str, required: Sequence[str], what: str, make_one: str) -> dict[str, Any]:
    """A model directory's JSON config, checked for its format and keys; every failure names the file and says
    how to make a good one (`make_one`)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JudgeError(f"no {what} at {path.parent} ({path.name}: {exc.strerror}); {make_one}") from exc
    except json.JSONDecodeError as exc:
        raise JudgeError(f"{path} is not valid JSON ({exc}); {make_one}") from exc
    if not isinstance(config, dict) or config.get("format") != fmt:
        raise JudgeError(f"{path} is not a {what} config (format {fmt!r}); {make_one}")
    for key in required:
        if key not in config:
            raise JudgeError(f"{path} has no {key!r}; {make_one}")
    return config


def pinned_spec(name: str, location: str | None, digest: str) -> str:
    """"NAME@DIGEST" for the model shipped in the package, "NAME:LOCATION@DIGEST" for one loaded from LOCATION:
    12 hex digits of the loaded files' hash, so two models never share a spec (see load_judge)."""
    return f"{name if location is None else f'{name}:{location}'}@{digest[:12]}"


def load_judge(spec: str, **options: object) -> Judge:
    """Build the judge a spec names; options go to its factory (e.g. scheme=...).

    A spec as stored with a judgment ends in "@DIGEST" (lexical@5cd606d8fd26): it pins the exact model, and
    loading fails if the model that name now loads is another one.
    """
    pin = _PIN.search(spec)
    name, argument = parse_spec(spec[: pin.start()] if pin else spec)
    _import_builtin(name)
    if name not in _REGISTRY:
        known = ", ".join(available_judges())
        raise JudgeError(f"unknown judge {name!r} in spec {spec!r} (known judges: {known})")
    judge = _REGISTRY[name](argument, **options)
    if pin and not judge.spec.endswith(pin.group(0)):
        raise JudgeError(f"judge spec {spec!r} pins a model that has changed since (it now loads {judge.spec})")
    return judge


#: Built-in judges by spec name and the module that registers each. A module is imported only when its judge is
#: asked for, so `reljudge --help` and the light judges never pay for torch or an HTTP client.
BUILTIN_JUDGES = {
    "lexical": "reljudge.judges.lexical",
    "majority": "reljudge.judges.majority",
    "cross-encoder": "reljudge.judges.encoder",
    "causal": "reljudge.judges.causal",
    "api": "reljudge.judges.api",
}


def available_judges() -> list[str]:
    return sorted(set(_REGISTRY) | set(BUILTIN_JUDGES))


def _import_builtin(name: str) -> None:
    if name in BUILTIN_JUDGES and name not in _REGISTRY:
        importlib.import_module(BUILTIN_JUDGES[name])
