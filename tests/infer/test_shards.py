"""The shard directory: its identity, what counts as done, and what a kill can leave behind."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from reljudge.errors import ReljudgeError
from reljudge.infer.shards import MANIFEST, Identity, ShardDir, fingerprint, is_directory_output


def identity(tmp_path, judge="j@1", chunk_size=10):
    source = tmp_path / "in.csv"
    if not source.exists():
        source.write_text("query,product_id,product_title\nq,1,t\n")
    return Identity(fingerprint(source), {"scheme": "binary"}, judge, "binary", chunk_size)


def frame(n):
    return pd.DataFrame({"pair_id": [str(i) for i in range(n)], "label": ["1"] * n, "p_0": [0.1] * n,
                         "p_1": [0.9] * n})


def test_outputs_without_a_suffix_or_existing_directories_are_shard_directories(tmp_path):
    assert is_directory_output(tmp_path / "out") and is_directory_output(tmp_path)
    assert not is_directory_output(tmp_path / "judged.parquet")


def test_a_directory_of_another_job_is_refused_unless_overwritten(tmp_path):
    out = tmp_path / "out"
    shards = ShardDir(out, identity(tmp_path))
    shards.write(0, frame(3))
    with pytest.raises(ReljudgeError, match=r"judge: j@1 there, j@2 now.*--overwrite"):
        ShardDir(out, identity(tmp_path, judge="j@2"))
    fresh = ShardDir(out, identity(tmp_path, judge="j@2"), overwrite=True)
    assert fresh.shards == 0 and not list(out.glob("part-*"))


def test_a_changed_input_file_is_another_job(tmp_path):
    out = tmp_path / "out"
    ShardDir(out, identity(tmp_path)).write(0, frame(1))
    (tmp_path / "in.csv").write_text("query,product_id,product_title\nq,1,t\nq,2,u\n")
    with pytest.raises(ReljudgeError, match="input:"):
        ShardDir(out, identity(tmp_path))


def test_a_directory_holding_other_files_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ReljudgeError, match="not empty"):
        ShardDir(tmp_path / "out", identity(tmp_path))


def test_a_listed_shard_whose_rows_do_not_match_is_judged_again(tmp_path):
    out = tmp_path / "out"
    shards = ShardDir(out, identity(tmp_path))
    shards.write(0, frame(3))
    shards.write(1, frame(2))
    pq.write_table(pq.read_table(out / "part-00001.parquet").slice(0, 1), out / "part-00001.parquet")
    again = ShardDir(out, identity(tmp_path))
    assert again.done(0) and not again.done(1)


def test_temporaries_a_kill_left_are_removed_and_shards_are_a_parquet_dataset(tmp_path):
    out = tmp_path / "out"
    shards = ShardDir(out, identity(tmp_path))
    shards.write(0, frame(2))
    shards.write(1, frame(0))
    (out / ".part-00002.parquet.0123456789ab.tmp").write_bytes(b"half")
    shards = ShardDir(out, identity(tmp_path))
    shards.finish({})
    assert not list(out.glob(".*"))
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["status"] == "done" and manifest["totals"]["pairs"] == 2
    assert [s["file"] for s in manifest["shards"]] == ["part-00000.parquet", "part-00001.parquet"]
    assert pd.read_parquet(out)["p_1"].dtype == "float64"  # an empty shard has the same schema
