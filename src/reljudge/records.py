"""Plain typed records that flow between readers, judges, the store and metrics. No I/O here."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

_SPACE = re.compile(r"\s+")
_SEP = "\x1f"


def normalise(text: str) -> str:
    """Unicode NFKC, lower case, collapsed whitespace: two spellings of the same text hash alike."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().lower()


@dataclass(frozen=True, slots=True)
class Product:
    """A product's fields as a judge sees them; everything but the id and title may be empty."""

    product_id: str
    title: str
    description: str = ""
    bullets: str = ""
    brand: str = ""
    color: str = ""
    category: str = ""
    locale: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.product_id, self.title, self.description, self.bullets, self.brand, self.color,
                self.category, self.locale)


@dataclass(frozen=True, slots=True, eq=False)
class Pair:
    """One query-product pair, with its human label when the input has one.

    Attributes:
        query_id: the input's query id, or a hash of the normalised query when the input has none.
        pair_id: the input's row id (pair_id / example_id / id column), else the pair hash.
        label: the canonical human label (several annotators already aggregated), or None.
        segments: extra columns kept for slicing results (query_source, split, product_locale ...).
    """

    query: str
    product: Product
    query_id: str = ""
    pair_id: str = ""
    label: str | None = None
    segments: dict[str, str] = field(default_factory=dict)

    @property
    def pair_hash(self) -> str:
        """A stable key for the store: the normalised query and every product field, hashed."""
        return pair_hash(self.query, self.product)


def query_key(query: str) -> str:
    """The query id used when an input has none: a short hash of the normalised query."""
    return "q" + hashlib.blake2b(normalise(query).encode(), digest_size=6).hexdigest()


@functools.lru_cache(maxsize=1 << 15)
def pair_hash(query: str, product: Product) -> str:
    """The store key of a pair. Cached (a bounded LRU): the store, the cache context and every judgment ask for
    the same pairs' hashes several times, and NFKC-normalising nine fields each time was a fifth of judging time."""
    parts = [normalise(query), *(normalise(f) for f in product.fields())]
    return hashlib.blake2b(_SEP.join(parts).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Judgment:
    """What a judge said of one pair.

    `label` is None when the pair is unscored (an API reply that could not be parsed): then `reason` says why and
    `raw` keeps the reply, so nothing is ever silently turned into a label.
    """

    pair_hash: str
    judge: str
    label: str | None
    proba: tuple[float, ...] | None
    reason: str = ""
    raw: str = ""
