"""Typed judge options: each judge family declares its options once, as a pydantic model, and registers it with
the judge (see registry.py). The command line builds its judge flags from these models, so every command that
opens a judge takes the same options, and an unknown or ill-typed option is refused with its name and the judge's.

Only pydantic is imported here: the CLI reads the option models without importing any judge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


def option(default: Any = None, help: str = "", **constraints: Any) -> Any:
    """An option that can change the labels: recorded in the judge's identity, and a command-line flag."""
    return Field(default, description=help, **constraints)


def runtime(default: Any = None, help: str = "", *, flag: bool = True, **constraints: Any) -> Any:
    """An option that changes how a judge runs (speed, retries, costs shown), never its labels: left out of the
    judge's identity. `flag=False` keeps it off the command line (set by the command itself, e.g. a progress bar)."""
    return Field(default, description=help, json_schema_extra={"runtime": True, "flag": flag}, **constraints)


class JudgeOptions(BaseModel):
    """The options of a judge that takes none; each family's model derives from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def is_runtime(cls, name: str) -> bool:
        extra = cls.model_fields[name].json_schema_extra
        return isinstance(extra, dict) and bool(extra.get("runtime"))

    @classmethod
    def is_flag(cls, name: str) -> bool:
        extra = cls.model_fields[name].json_schema_extra
        return not isinstance(extra, dict) or extra.get("flag", True) is not False

    @model_validator(mode="after")
    def _absolute_paths(self) -> "JudgeOptions":
        # A file is held by its absolute path, so a recorded identity rebuilds the judge from any working directory.
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Path) and not value.is_absolute():
                object.__setattr__(self, name, value.absolute())
        return self

    def recorded(self) -> dict[str, Any]:
        """The options that change labels, as JSON values: what a judge's identity records to rebuild it."""
        return {name: value for name, value in self.model_dump(mode="json").items() if not self.is_runtime(name)}
