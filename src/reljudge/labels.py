"""Label schemes: which labels exist, their order, their gains for ranking metrics and their level of measurement.

Krippendorff's alpha needs the level of measurement: ESCI labels are categories (nominal), graded scales are
ordered (ordinal by default; interval when the distances between grades are meaningful).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from reljudge.errors import SchemeError

Level = Literal["nominal", "ordinal", "interval"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval")


@dataclass(frozen=True)
class LabelScheme:
    """An ordered set of labels.

    Attributes:
        name: the spec that rebuilds the scheme with `get_scheme` ("esci", "graded:1-3", "binary").
        labels: canonical labels. For graded scales they ascend (worst first); for ESCI they follow E, S, C, I.
        gains: the gain of each label for ranking metrics (nDCG, TREC qrels), aligned with `labels`.
        level: the level of measurement Krippendorff's alpha uses.
        aliases: lower-cased spellings accepted on input, mapped to canonical labels.
    """

    name: str
    labels: tuple[str, ...]
    gains: tuple[float, ...]
    level: Level
    aliases: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.gains) or len(set(self.labels)) != len(self.labels):
            raise SchemeError(f"scheme {self.name!r}: labels must be distinct and have one gain each")
        if self.level not in LEVELS:
            raise SchemeError(f"scheme {self.name!r}: level must be one of {', '.join(LEVELS)}, not {self.level!r}")

    @property
    def k(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        return self.labels.index(label)

    def gain(self, label: str) -> float:
        return self.gains[self.index(label)]

    @property
    def grades(self) -> tuple[int, ...]:
        """Each label's rank by gain, 0 for the lowest: ESCI's E 3, S 2, C 1, I 0; a graded scale's gains.

        Why: a correlation with gains as steep as ESCI's KDD gains (1, 0.1, 0.01, 0) measures Exact against the
        rest; the grades weigh each step of the scale alike, as graded relevance is read.
        """
        distinct = sorted(set(self.gains))
        return tuple(distinct.index(g) for g in self.gains)

    def with_level(self, level: str) -> "LabelScheme":
        """The same scheme measured at another level (the `--level` flag)."""
        if level not in LEVELS:
            raise SchemeError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        return replace(self, level=level)  # type: ignore[arg-type]

    def parse(self, value: object) -> str:
        """Map a raw value (any accepted spelling) to its canonical label.

        Raises:
            SchemeError: naming the value and the labels this scheme accepts.
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise SchemeError("label is missing")
        text = str(value).strip()
        if text in self.labels:
            return text
        hit = self.aliases.get(text.lower())
        if hit is None and _is_number(text):
            hit = self.aliases.get(_number_key(float(text)))
        if hit is None:
            raise SchemeError(f"label {text!r} is not in scheme {self.name!r} (accepted: {', '.join(self.labels)})")
        return hit


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number_key(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def esci() -> LabelScheme:
    """Amazon's ESCI scheme with the KDD Cup 2022 gains (E 1.0, S 0.1, C 0.01, I 0.0)."""
    words = {"exact": "E", "substitute": "S", "complement": "C", "irrelevant": "I"}
    aliases = {**words, **{label.lower(): label for label in words.values()}}
    return LabelScheme("esci", ("E", "S", "C", "I"), (1.0, 0.1, 0.01, 0.0), "nominal", aliases)


def graded(low: int, high: int, level: Level = "ordinal") -> LabelScheme:
    """A k-level graded scale low..high; the gain of grade g is g - low, so the lowest grade gains nothing."""
    if high <= low:
        raise SchemeError(f"graded scale needs low < high, got {low}-{high}")
    labels = tuple(str(g) for g in range(low, high + 1))
    aliases = {label: label for label in labels}
    gains = tuple(float(g - low) for g in range(low, high + 1))
    return LabelScheme(f"graded:{low}-{high}", labels, gains, level, aliases)


def binary() -> LabelScheme:
    """Relevant (1) or not (0)."""
    aliases = {"0": "0", "1": "1", "irrelevant": "0", "relevant": "1", "false": "0", "true": "1", "no": "0", "yes": "1"}
    return LabelScheme("binary", ("0", "1"), (0.0, 1.0), "nominal", aliases)


_GRADED = re.compile(r"^graded:(-?\d+)-(-?\d+)$")


def get_scheme(spec: str | LabelScheme, level: str | None = None) -> LabelScheme:
    """Build a scheme from its spec: "esci", "binary" or "graded:LOW-HIGH" (e.g. graded:1-3, graded:0-3, graded:1-5)."""
    if isinstance(spec, LabelScheme):
        scheme = spec
    elif spec == "esci":
        scheme = esci()
    elif spec == "binary":
        scheme = binary()
    elif m := _GRADED.match(spec.strip()):
        scheme = graded(int(m.group(1)), int(m.group(2)))
    else:
        raise SchemeError(f"unknown label scheme {spec!r}: use esci, binary or graded:LOW-HIGH (e.g. graded:1-3)")
    return scheme.with_level(level) if level else scheme


@dataclass(frozen=True)
class MeanRule:
    """How a mean of several graded ratings (Home Depot's 2.33) becomes one grade of the scale.

    - "round": the nearest grade, halves rounded up (2.33 -> 2, 2.5 -> 3, 2.67 -> 3).
    - "bins:T1,T2,...": explicit thresholds between consecutive grades, one fewer than the grades; a mean below T1
      is the lowest grade, at or above the last threshold the highest (for 1-3, "bins:1.75,2.5" gives
      <1.75 -> 1, [1.75, 2.5) -> 2, >=2.5 -> 3).
    """

    spec: str = "round"

    def apply(self, mean: float, scheme: LabelScheme) -> str:
        grades = [float(label) for label in scheme.labels]
        if self.spec == "round":
            nearest = math.floor(mean + 0.5)
            return scheme.labels[min(range(len(grades)), key=lambda i: abs(grades[i] - nearest))]
        thresholds = self.thresholds(scheme)
        return scheme.labels[sum(mean >= t for t in thresholds)]

    def thresholds(self, scheme: LabelScheme) -> list[float]:
        if not self.spec.startswith("bins:"):
            raise SchemeError(f"unknown mean rule {self.spec!r}: use 'round' or 'bins:T1,T2,...'")
        try:
            values = [float(t) for t in self.spec[len("bins:"):].split(",")]
        except ValueError as exc:
            raise SchemeError(f"mean rule {self.spec!r}: thresholds must be numbers") from exc
        if len(values) != scheme.k - 1 or values != sorted(values):
            raise SchemeError(f"mean rule {self.spec!r}: need {scheme.k - 1} ascending thresholds for {scheme.name}")
        return values
