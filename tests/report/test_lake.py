"""`reljudge store export` writes the store as Parquet by day, and `reljudge report --lake` reads it: the same
report as from the store."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def reljudge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reljudge.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


def figures(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    found.pop("store"), found.pop("generated")
    return found


def test_the_report_over_the_parquet_layout_is_the_report_over_the_store(tmp_path: Path) -> None:
    store, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    assert reljudge("judge", str(REPO / "examples" / "pairs.csv"), "--judge", "lexical", "--store", str(store),
                    "--output", str(tmp_path / "j.csv")).returncode == 0
    exported = reljudge("store", "export", str(lake), "--store", str(store))
    assert exported.returncode == 0 and "judgments 28, pairs 28" in exported.stderr
    today = date.today().isoformat()
    assert [p.name for p in (lake / "judgments").iterdir()] == [f"day={today}"]
    from_store = figures(reljudge("report", "--store", str(store), "--json"))
    assert figures(reljudge("report", "--lake", str(lake), "--json")) == from_store
    assert from_store["people"]["window"]["n"] == 28  # the pairs file's own labels are in the layout too
    again = reljudge("store", "export", str(lake), "--since", today, "--store", str(store))
    assert again.returncode == 0 and f"days from {today} on" in again.stderr
    assert figures(reljudge("report", "--lake", str(lake), "--json")) == from_store  # the day rewritten, not doubled


def test_a_missing_layout_is_named(tmp_path: Path) -> None:
    done = reljudge("report", "--lake", str(tmp_path / "nowhere"), "--json")
    assert done.returncode == 2 and "no Parquet files" in done.stderr and "reljudge store export" in done.stderr
