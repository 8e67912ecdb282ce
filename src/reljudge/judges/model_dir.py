"""Model directories: where the shipped models live, how a directory's config is read and checked, and the digest
of its files that pins a judge's spec. One home for what every model family (lexical, cross-encoder, causal) needs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from reljudge.errors import JudgeError, ReljudgeError
from reljudge.labels import LabelScheme, get_scheme

#: The file in a model directory that says what the model is (format, scheme, how it was trained).
CONFIG_FILE = "reljudge.json"


def shipped_directory(name: str) -> Path:
    """A model shipped inside the package (assets/NAME): the default judges, fitted on the ESCI train split."""
    return Path(str(files("reljudge").joinpath("assets", name)))


def shipped_model(name: str, what: str, make_one: str) -> Path:
    """The directory of shipped model NAME, checked to hold its config.

    Raises:
        JudgeError: the package lacks it (a broken install); the message says how to get or make one.
    """
    directory = shipped_directory(name)
    if not (directory / CONFIG_FILE).exists():
        raise JudgeError(f"the shipped {what} is missing from {directory}; reinstall reljudge, or {make_one}")
    return directory


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


def model_scheme(config: dict[str, Any], wanted: LabelScheme | None, what: str, make_one: str) -> LabelScheme:
    """The scheme a model's config names, checked against its labels and against the scheme a caller asked for.

    Raises:
        JudgeError: the config names no usable scheme, its labels differ from the scheme's, or `wanted` is another.
    """
    try:
        scheme = get_scheme(config["scheme"], config.get("level"))
    except (KeyError, TypeError, AttributeError, ReljudgeError) as exc:
        raise JudgeError(f"the {what} names no usable label scheme ({exc!r}); {make_one}") from exc
    if config.get("labels") != list(scheme.labels):
        raise JudgeError(f"the {what}'s labels do not match scheme {scheme.name!r}; {make_one}")
    if wanted is not None:
        if wanted.name != scheme.name or wanted.labels != scheme.labels:
            raise JudgeError(f"the {what} predicts scheme {scheme.name!r}, not {wanted.name!r}; {make_one}")
        return wanted
    return scheme


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_digest(directory: Path, names: Sequence[str], make_one: str = "") -> str:
    """sha256 over the named files (name and content), in the given order.

    Raises:
        JudgeError: a named file is missing (the message names them and says how to make a whole model).
    """
    missing = [name for name in names if not (directory / name).exists()]
    if missing:
        raise JudgeError(f"the model at {directory} lacks {', '.join(missing)}" + (f"; {make_one}" if make_one else ""))
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0")
        with open(directory / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def pinned_spec(name: str, location: str | None, digest: str) -> str:
    """"NAME@DIGEST" for the model shipped in the package, "NAME:LOCATION@DIGEST" for one loaded from LOCATION:
    12 hex digits of the loaded files' hash, so two models never share a spec (see load_judge)."""
    return f"{name if location is None else f'{name}:{location}'}@{digest[:12]}"
