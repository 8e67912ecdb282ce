"""A directory of judgment shards and its manifest: what makes a long run resumable and exactly-once.

    OUT/part-00000.parquet ...   one shard per input chunk, named by the chunk's index, each written atomically
    OUT/_rejected.csv            rows left out by --skip-invalid, with reasons (appended chunk by chunk)
    OUT/_manifest.json           what was read, by which judge, which shards are done; rewritten atomically

The leading underscores keep the directory a Parquet dataset: pandas, pyarrow, DuckDB and Spark read OUT as one
table and skip files that start with "_" or ".".

A shard is done once the manifest lists it, and a commit writes the shard before the manifest: a kill between the
two leaves a shard the manifest does not list, which the next run writes again under the same name. So the shards
the manifest lists hold every pair exactly once, however often the run was killed. Anything that changes what
the shards would hold (the input file, the reading options, the judge spec, the chunk size) is part of the
manifest's identity, and a run with another identity refuses the directory unless told to start over. The manifest
also records the judge's whole identity (its options and what it resolved from them), so shards written without a
store still say which server, template or model made them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from reljudge.errors import ReljudgeError
from reljudge.io.atomic import atomic_path
from reljudge.io.rejected import append_rejected

FORMAT = "reljudge-shards/1"
MANIFEST = "_manifest.json"
REJECTED = "_rejected.csv"
#: the input sorted by query (--sort-by-query), kept until the job is done so a resumed run need not sort again
SORTED = "_sorted-input.parquet"
_HEAD_BYTES = 1 << 20


def is_directory_output(path: str | Path) -> bool:
    """An output without a file suffix, or an existing directory, gets shards and a manifest."""
    path = Path(path)
    return path.is_dir() or not path.suffix


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def fingerprint(path: str | Path) -> dict[str, Any]:
    """Enough to tell one input file from another without reading it all: size, mtime and a hash of its first MB."""
    path = Path(path)
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(_HEAD_BYTES)).hexdigest()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "head_sha256": head}


@dataclass
class Identity:
    """What a shard directory holds: judgments of `input` (read with `options`) by `judge`, cut every `chunk_size`."""

    input: dict[str, Any]
    options: dict[str, Any]
    judge: str
    scheme: str
    chunk_size: int

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "options": self.options, "judge": self.judge, "scheme": self.scheme,
                "chunk_size": self.chunk_size}


class ShardDir:
    """An output directory being written: open it, skip what is done, commit shards, finish.

    Args:
        root: the directory (created if absent).
        identity: what this run writes.
        overwrite: start over when the directory holds another run's shards (only reljudge's own files are removed).
        judge_identity: the judge's recorded identity (`JudgeIdentity.to_dict()`), kept in the manifest.

    Raises:
        ReljudgeError: the directory holds other files, or another run's shards and `overwrite` is False.
    """

    def __init__(self, root: str | Path, identity: Identity, *, overwrite: bool = False,
                 judge_identity: dict[str, Any] | None = None):
        self.root = Path(root)
        self.identity = identity
        self.root.mkdir(parents=True, exist_ok=True)
        _remove_temporaries(self.root)
        old = self._read_manifest()
        if old is not None and (overwrite or _identity_of(old) != identity.as_dict()):
            if not overwrite:
                raise ReljudgeError(_mismatch(self.root, old, identity))
            self._remove_own_files()
            old = None
        if old is None and any(self.root.iterdir()):
            raise ReljudgeError(f"{self.root} is not empty and holds no {MANIFEST}: give a new or empty --output "
                                "directory (reljudge writes part-*.parquet and a manifest there)")
        self.manifest = old or {"format": FORMAT, **identity.as_dict(), "status": "running", "shards": [],
                                "rejected": {"file": REJECTED, "rows": 0, "bytes": 0, "chunks": 0},
                                "created": _now()}
        if judge_identity is not None:
            self.manifest["judge_identity"] = judge_identity
        if old is None:
            self._save()  # from now on the directory is recognisably this job's, whatever kills the run
        self._done = {s["chunk"]: s["rows"] for s in self.manifest["shards"] if self._intact(s)}
        lost = len(self.manifest["shards"]) - len(self._done)
        self.manifest["shards"] = [s for s in self.manifest["shards"] if s["chunk"] in self._done]
        #: a finished job whose shards are all intact: nothing to read or judge
        self.complete = self.manifest["status"] == "done" and not lost
        if lost:
            self.manifest["status"] = "running"
        self._truncate_rejected()

    @property
    def shards(self) -> int:
        """Shards done so far (by this run or an earlier one)."""
        return len(self._done)

    @property
    def pairs(self) -> int:
        """Rows in the shards done so far."""
        return sum(self._done.values())

    def done(self, chunk: int) -> bool:
        return chunk in self._done

    def write(self, chunk: int, frame: pd.DataFrame) -> None:
        """Commit the shard of one chunk: the file atomically, then the manifest that lists it."""
        name = shard_name(chunk)
        with atomic_path(self.root / name) as temporary:
            pq.write_table(_typed(frame), temporary)
        self._done[chunk] = len(frame)
        self.manifest["shards"] = [s for s in self.manifest["shards"] if s["chunk"] != chunk]
        self.manifest["shards"].append({"chunk": chunk, "file": name, "rows": len(frame)})
        self._save()

    def add_rejected(self, chunk: int, rejected: list, columns: list[str]) -> None:
        """Append the rejected rows of input chunk `chunk` unless an earlier run already did (chunks come in order)."""
        state = self.manifest["rejected"]
        if chunk < state["chunks"]:
            return
        if rejected:
            state["bytes"] = append_rejected(self.root / REJECTED, rejected, columns)
            state["rows"] += len(rejected)
        state["chunks"] = chunk + 1

    def finish(self, totals: dict[str, Any]) -> None:
        """Mark the run done, with its totals; shards the manifest does not list (none are expected) are removed."""
        listed = {s["file"] for s in self.manifest["shards"]}
        for stray in self.root.glob("part-*.parquet"):
            if stray.name not in listed:
                stray.unlink()
        (self.root / SORTED).unlink(missing_ok=True)
        self.manifest["shards"].sort(key=lambda s: s["chunk"])
        self.manifest.update(status="done", totals={"pairs": self.pairs,
                                                    "rejected": self.manifest["rejected"]["rows"],
                                                    "shards": len(self._done), **totals})
        self._save()

    def _save(self) -> None:
        self.manifest["updated"] = _now()
        with atomic_path(self.root / MANIFEST) as temporary:
            temporary.write_text(_dump(self.manifest), encoding="utf-8")

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.root / MANIFEST
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReljudgeError(f"cannot read {path} ({exc}): use --overwrite to start over") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ReljudgeError(f"{path} is not a reljudge shard manifest ({FORMAT}): use another --output")
        return manifest

    def _intact(self, shard: dict[str, Any]) -> bool:
        # A listed shard counts as done only if its file holds the rows the manifest says.
        try:
            return pq.ParquetFile(self.root / shard["file"]).metadata.num_rows == shard["rows"]
        except (OSError, pa.ArrowException, KeyError):
            return False

    def _truncate_rejected(self) -> None:
        # Rows appended after the last manifest write belong to chunks the next run reads again: drop them.
        state, path = self.manifest["rejected"], self.root / REJECTED
        size = path.stat().st_size if path.exists() else 0
        if size < state["bytes"]:
            state.update(rows=0, bytes=0, chunks=0)
            size = path.stat().st_size if path.exists() else 0
        if size > state["bytes"]:
            with path.open("r+b") as handle:
                handle.truncate(state["bytes"])

    def _remove_own_files(self) -> None:
        for path in [*self.root.glob("part-*.parquet"), self.root / REJECTED, self.root / SORTED, self.root / MANIFEST]:
            path.unlink(missing_ok=True)


def _dump(manifest: dict[str, Any]) -> str:
    """The manifest as indented JSON with one line per shard (thousands of shards stay readable)."""
    text = json.dumps({**manifest, "shards": "@"}, indent=1)
    shards = ",\n  ".join(json.dumps(shard) for shard in manifest["shards"])
    return text.replace('"shards": "@"', f'"shards": [\n  {shards}\n ]' if shards else '"shards": []') + "\n"


def _typed(frame: pd.DataFrame) -> pa.Table:
    """Probabilities as doubles and everything else as text, so every shard (an empty one too) has one schema."""
    fields = [pa.field(c, pa.float64() if c.startswith("p_") else pa.string()) for c in frame.columns]
    return pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)


def _identity_of(manifest: dict[str, Any]) -> dict[str, Any]:
    return {key: manifest.get(key) for key in ("input", "options", "judge", "scheme", "chunk_size")}


def _mismatch(root: Path, old: dict[str, Any], new: Identity) -> str:
    differ = [key for key, value in new.as_dict().items() if old.get(key) != value]
    details = "; ".join(f"{key}: {_short(old.get(key))} there, {_short(getattr(new, key))} now" for key in differ)
    return (f"{root} holds judgments of another run ({details}): give another --output directory, or --overwrite "
            "to start over")


def _short(value: Any) -> str:
    if isinstance(value, dict) and "path" in value:
        return f"{value['path']} ({value.get('size')} bytes)"
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _remove_temporaries(root: Path) -> None:
    # atomic_path's temporaries, and a sort's work directory, left by a kill -9 (their cleanup never ran)
    for path in root.glob(".*.tmp"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
