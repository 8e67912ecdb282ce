"""The majority judge: always the most frequent training label, with the training label distribution as its
probabilities. It is the floor every judge must beat (its alpha is negative, not zero, against varied labels)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.base import JudgeBase
from reljudge.judges.model_dir import shipped_directory
from reljudge.judges.options import JudgeOptions
from reljudge.labels import LabelScheme, get_scheme
from reljudge.records import Pair

MODEL_FILE = "model.json"


class MajorityJudge(JudgeBase):

    def __init__(self, scheme: LabelScheme, counts: dict[str, int], spec: str):
        total = sum(counts.values())
        if total == 0:
            raise JudgeError("the majority judge needs at least one labelled training pair")
        self.scheme = scheme
        self.counts = {label: int(counts.get(label, 0)) for label in scheme.labels}
        self.prior = np.array([self.counts[label] / total for label in scheme.labels])
        self.spec = spec

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        return np.tile(self.prior, (len(pairs), 1))

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        path.write_text(json.dumps({"judge": "majority", "scheme": self.scheme.name, "counts": self.counts}, indent=2))
        return path


def fit_majority(pairs: Sequence[Pair], scheme: LabelScheme) -> MajorityJudge:
    """Count the training labels; the spec is completed when the model is saved and loaded."""
    counts = Counter(p.label for p in pairs if p.label is not None)
    return MajorityJudge(scheme, dict(counts), spec="majority@unsaved")


def load_majority(path: Path, name: str) -> MajorityJudge:
    try:
        text = path.read_text()
        config = json.loads(text)
        scheme = get_scheme(config["scheme"])
        counts = config["counts"]
    except (OSError, ValueError, KeyError) as exc:
        raise JudgeError(
            f"cannot load the majority judge from {path} ({exc}); make one with "
            "`reljudge train --judge majority --data PAIRS --output DIR`"
        ) from exc
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return MajorityJudge(scheme, counts, spec=f"{name}@{digest}")


def majority_factory(argument: str | None, scheme: LabelScheme | None, options: JudgeOptions) -> MajorityJudge:
    """`majority` is fitted on the ESCI train split and ships with reljudge; `majority:DIR` loads a refit one."""
    if argument is None:
        path = shipped_directory("majority-esci") / MODEL_FILE
        judge = load_majority(path, "majority")
    else:
        judge = load_majority(Path(argument) / MODEL_FILE, f"majority:{argument}")
    if scheme is not None and scheme.name != judge.scheme.name:
        raise JudgeError(f"judge {judge.spec} labels with scheme {judge.scheme.name!r}, not {scheme.name!r}")
    return judge
