"""What the benchmarks print about the machine they ran on, read from lscpu."""

from __future__ import annotations

import platform
import subprocess


def lscpu() -> dict[str, str]:
    """lscpu's "Field: value" lines as a dict; empty where lscpu is missing or fails."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in out.splitlines()
                                                           if ":" in line)}


def cpu_name() -> str:
    """The CPU's model name (e.g. "AMD EPYC"), or the platform's word for it where lscpu has none."""
    return lscpu().get("Model name") or platform.processor() or "unknown CPU"
