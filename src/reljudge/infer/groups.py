"""Cut a streamed input into chunks of whole query groups, for judges that look at a query's other candidates.

A group judge's label for a pair depends on every candidate of its query, so a chunk must never end inside a
query: the trailing query of each chunk is carried into the next one. That needs the input grouped by query (each
query's rows contiguous); a query that comes back after its group was closed would be judged twice with two
different candidate sets, so it stops the run with an error that says how to sort the input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from reljudge.errors import InputError
from reljudge.io.rejected import Rejected
from reljudge.io.stream import PairsChunk
from reljudge.records import Pair

#: Printed when a grouped input turns out not to be: reljudge sorts out-of-core itself when asked.
SORT_HINT = ("sort the input by query first: rerun with --sort-by-query (an out-of-core sort with DuckDB into the "
             "output directory), or judge it with a pointwise judge")


@dataclass
class Chunk:
    """One unit of work, written as one shard: the pairs to judge and the rejected rows of input chunk `index`."""

    index: int
    pairs: list[Pair]
    rejected: list[Rejected] = field(default_factory=list)


def work_chunks(chunks: Iterator[PairsChunk], *, by_query: bool, source: str, field_name: str) -> Iterator[Chunk]:
    """The input chunks as work chunks: as they are, or (``by_query``) cut at query boundaries.

    With ``by_query``, chunk k holds the pairs of input chunk k less its trailing query plus the previous chunk's
    trailing query; the last one comes as an extra chunk numbered one past the input's last chunk. The cut depends
    only on the input, so a resumed run makes the same chunks.

    Raises:
        InputError: (``by_query``) a query comes back after other queries, naming its row.
    """
    if not by_query:
        for chunk in chunks:
            yield Chunk(chunk.index, chunk.pairs, chunk.rejected)
        return
    closed = _Seen()
    carry: list[Pair] = []
    current: str | None = None
    last = -1
    for chunk in chunks:
        for pair, row in zip(chunk.pairs, chunk.rows):
            if pair.query_id != current:
                if current is not None:
                    closed.add(current)
                if pair.query_id in closed:
                    raise InputError(source, f"query {pair.query!r} (query id {pair.query_id}) comes back after "
                                             f"other queries, but this judge needs each query's pairs together: "
                                             f"{SORT_HINT}", row=row, field=field_name)
                current = pair.query_id
        pairs = carry + chunk.pairs
        cut = len(pairs)
        while cut > 0 and pairs[cut - 1].query_id == current:
            cut -= 1
        carry = pairs[cut:]
        last = chunk.index
        yield Chunk(chunk.index, pairs[:cut], chunk.rejected)
    yield Chunk(last + 1, carry)


class _Seen:
    """A set of strings kept as 8-byte hashes (a sorted array plus a small set): 8 bytes per query, not ~100."""

    _MERGE = 1 << 16

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def add(self, key: str) -> None:
        self._recent.add(_hash(key))
        if len(self._recent) >= self._MERGE:
            merged = np.concatenate([self._sorted, np.fromiter(self._recent, np.uint64, len(self._recent))])
            self._sorted = np.unique(merged)
            self._recent.clear()

    def __contains__(self, key: str) -> bool:
        value = _hash(key)
        if value in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, np.uint64(value)))
        return at < len(self._sorted) and int(self._sorted[at]) == value


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
