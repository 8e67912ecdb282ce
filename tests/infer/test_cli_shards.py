"""`reljudge judge` into a directory as a user runs it: the summary, rejected rows, and options that do not fit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "pairs_bad.csv"


def reljudge(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reljudge.cli.main", "judge", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_a_directory_output_gets_shards_a_manifest_and_the_rejected_rows(tmp_path):
    out = tmp_path / "judged"
    done = reljudge(BAD, "--judge", "majority", "--output", out, "--skip-invalid", "--chunk-size", "2", "--no-store")
    assert done.returncode == 0, done.stderr
    assert f"skipped 3 invalid row(s); reasons in {out / '_rejected.csv'}" in done.stderr
    assert "judged 2 pairs with majority@" in done.stderr and "into 3 shards" in done.stderr
    assert pd.read_parquet(out)["product_id"].tolist() == ["B0BAD00001", "B0BAD00005"]
    assert pd.read_csv(out / "_rejected.csv")["row"].tolist() == [2, 3, 4]


def test_options_that_need_the_other_kind_of_output_say_so(tmp_path):
    ray_to_file = reljudge(BAD, "--output", tmp_path / "j.parquet", "--engine", "ray")
    assert ray_to_file.returncode == 2 and "give --output a name without a file suffix" in ray_to_file.stderr
    csv_to_dir = reljudge(BAD, "--output", tmp_path / "judged", "--format", "csv")
    assert csv_to_dir.returncode == 2 and "a directory output holds Parquet shards" in csv_to_dir.stderr
