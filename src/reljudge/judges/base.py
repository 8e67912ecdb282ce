"""The Judge contract: what every judge gives (probabilities over a scheme's labels for a batch of pairs), the
optional capabilities with their defaults (JudgeBase), and the identity that is recorded beside its judgments.

A judge reports its canonical spec (`judge.spec`), which pins the exact model it loaded (a content hash), and its
identity: the spec plus every argument that changes its labels (template, precision, server, examples ...),
enough for `load_judge(identity)` to build the same judge again and to refuse when something changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from reljudge.judges.options import JudgeOptions
from reljudge.labels import LabelScheme
from reljudge.records import Judgment, Pair

if TYPE_CHECKING:  # numpy is imported where a judge runs: the CLI reads the registry without it
    import numpy as np


@dataclass(frozen=True)
class JudgeIdentity:
    """Everything that made a judge's labels, never a secret: stored with each run.

    Attributes:
        spec: the pinned spec (`name[:argument]@digest`).
        scheme: the scheme's name; level: its level of measurement.
        options: the family's label-changing options as given when it was loaded (JSON values).
        details: what the judge resolved from them and pins (template ident, precision in use, server URL,
            examples digest ...): compared when the identity rebuilds a judge.
    """

    spec: str
    scheme: str
    level: str
    options: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.partition(":")[0].partition("@")[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeIdentity:
        return cls(spec=data["spec"], scheme=data["scheme"], level=data["level"],
                   options=dict(data.get("options") or {}), details=dict(data.get("details") or {}))


@runtime_checkable
class Judge(Protocol):
    """Anything that gives probabilities over a scheme's labels for a batch of pairs.

    Attributes:
        spec: the pinned spec stored with every judgment.
        scheme: the label scheme; `scheme.labels` orders the probability columns.
        uses_query_group: True when a pair's probabilities depend on the other candidates of its query: callers
            must then pass whole query groups in one call (a label never depends on how input was cut).
        commit_size: the most pairs a batch driver should judge between two commits to the store (None: any).
        usage: what the judge's requests cost (an object with `requests` and `describe()`), or None.
    """

    spec: str
    scheme: LabelScheme
    uses_query_group: bool
    commit_size: int | None
    usage: Any

    @property
    def identity(self) -> JudgeIdentity: ...

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        """An (n, k) array; row i sums to 1 over `scheme.labels`, or is all NaN when pair i is unscored."""
        ...

    def judge_pairs(self, pairs: Sequence[Pair], batch_size: int = 64) -> list[Judgment]:
        """One Judgment per pair, carrying the judge's spec; an unscored one says why."""
        ...


class JudgeBase:
    """The defaults of the contract's optional parts; every built-in judge derives from it.

    `options` is set by `load_judge` to the validated options the judge was built with.
    """

    spec: str
    scheme: LabelScheme
    uses_query_group = False
    commit_size: int | None = None
    usage: Any = None
    options: JudgeOptions = JudgeOptions()

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        raise NotImplementedError

    def judge_pairs(self, pairs: Sequence[Pair], batch_size: int = 64) -> list[Judgment]:
        """Judgments from `predict_proba`: the argmax label, or unscored where a row is NaN."""
        import numpy as np

        proba = self.predict_proba(pairs, batch_size=batch_size)
        labels = self.scheme.labels
        out = []
        for pair, row in zip(pairs, proba):
            if np.isnan(row).any():
                out.append(Judgment(pair.pair_hash, self.spec, None, None, reason="unscored"))
            else:
                out.append(Judgment(pair.pair_hash, self.spec, labels[int(np.argmax(row))],
                                    tuple(float(p) for p in row)))
        return out

    def identity_details(self) -> dict[str, Any]:
        """What this judge resolved and pins beyond its spec (a family overrides it)."""
        return {}

    @property
    def identity(self) -> JudgeIdentity:
        return JudgeIdentity(self.spec, self.scheme.name, self.scheme.level, self.options.recorded(),
                             self.identity_details())


def predict(judge: Judge, pairs: Sequence[Pair], batch_size: int = 64) -> list[str | None]:
    """The argmax label of each pair (None where unscored)."""
    return [j.label for j in judge.judge_pairs(pairs, batch_size=batch_size)]


def judgments(judge: Judge, pairs: Sequence[Pair], batch_size: int = 64) -> list[Judgment]:
    """Judge pairs and wrap each row of probabilities as a Judgment carrying the judge's spec."""
    return list(judge.judge_pairs(pairs, batch_size=batch_size))
