"""The lexical judge: query/product overlap features and a small linear classifier, with no model download.

It is the cheap baseline every other judge is measured against, and the judge that works offline out of the box:
the shipped model (fitted on the ESCI train split) is a few KB of JSON. Features are relative to the other
candidates of the same query (see `lexical_features`), so the judge declares `uses_query_group`.

A model is plain JSON, never a pickle, so it can be read, diffed and loaded without trusting its author. The
judge's spec ends in a digest of that file, so stored judgments and the cache key on the exact model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.base import JudgeBase
from reljudge.judges.features.lexical import FEATURE_NAMES, pair_features
from reljudge.judges.model_dir import model_scheme, pinned_spec, shipped_directory
from reljudge.judges.options import JudgeOptions
from reljudge.labels import LabelScheme
from reljudge.records import Pair

MODEL_FILE = "model.json"
FORMAT = "reljudge-lexical/1"
_MAKE_ONE = "make one with `reljudge train --judge lexical --data PAIRS --output DIR`"


class LexicalJudge(JudgeBase):
    """Multinomial logistic regression over lexical features, shifted by per-class prior offsets.

    The model is a dict (the content of model.json) with:
        format: "reljudge-lexical/1".
        scheme, level, labels: the label scheme the model predicts, and its labels in order.
        features: the feature names, which must match `lexical_features.FEATURE_NAMES`.
        scaler: {"mean": [...], "scale": [...]}, one value per feature.
        coef (k x d), intercept (k): the classifier on standardised features.
        offsets (k): added to the log-probabilities so the predicted label distribution on the training data
            matches its label distribution (a plain classifier would put nearly everything in the majority class).
        training: where the model came from (data digest, pairs, seed, hyperparameters); valid: optional figures.

    Args:
        model: the model dict.
        location: the directory the model was loaded from or saved to; None for the shipped or an unsaved model.
        scheme: the scheme to report (e.g. the same scheme at another level); must have the model's labels.

    Raises:
        JudgeError: when the model is malformed or does not predict `scheme`.
    """

    uses_query_group = True

    def __init__(self, model: dict[str, Any], *, location: str | None = None, scheme: LabelScheme | None = None):
        if not isinstance(model, dict) or model.get("format") != FORMAT:
            raise JudgeError(f"not a lexical model (format {FORMAT!r}); {_MAKE_ONE}")
        if model.get("features") != list(FEATURE_NAMES):
            raise JudgeError(f"the lexical model was made for another feature set; retrain it: {_MAKE_ONE}")
        self.model = model
        self.location = location
        self.scheme = model_scheme(model, scheme, "lexical model", _MAKE_ONE)
        try:
            self._mean = np.asarray(model["scaler"]["mean"], dtype=float)
            self._scale = np.asarray(model["scaler"]["scale"], dtype=float)
            self._coef = np.asarray(model["coef"], dtype=float)
            intercept = np.asarray(model["intercept"], dtype=float)
            offsets = np.asarray(model["offsets"], dtype=float)
        except (KeyError, TypeError, ValueError) as exc:
            raise JudgeError(f"the lexical model is malformed ({exc!r}); {_MAKE_ONE}") from exc
        k, d = self.scheme.k, len(FEATURE_NAMES)
        shapes = (self._mean.shape, self._scale.shape, self._coef.shape, intercept.shape, offsets.shape)
        if shapes != ((d,), (d,), (k, d), (k,), (k,)):
            raise JudgeError(f"the lexical model's arrays do not fit {k} labels and {d} features; {_MAKE_ONE}")
        arrays = (self._mean, self._scale, self._coef, intercept, offsets)
        if not all(np.isfinite(a).all() for a in arrays) or (self._scale <= 0).any():
            raise JudgeError(f"the lexical model holds non-finite numbers or a non-positive scale; {_MAKE_ONE}")
        self._bias = intercept + offsets
        self._digest = hashlib.sha256(self.to_json().encode()).hexdigest()

    @property
    def spec(self) -> str:
        """"lexical@DIGEST" for the shipped or an unsaved model, "lexical:DIR@DIGEST" for a model directory.

        DIGEST is the first 12 hex digits of the sha256 of model.json (as `save` writes it), so two models never
        share a spec and a stored spec pins the exact model.
        """
        return pinned_spec("lexical", self.location, self._digest)

    def predict_proba(self, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
        """Probabilities over `scheme.labels`, shape (n, k), each row summing to 1.

        Pairs are grouped by query internally, so a pair's row depends only on the pair and the other candidates
        of its query that are in `pairs`. `batch_size` is accepted for the Judge protocol and ignored: features
        are cheap, and cutting a query group into batches would change its features.
        """
        if not pairs:
            return np.zeros((0, self.scheme.k))
        logits = ((pair_features(pairs) - self._mean) / self._scale) @ self._coef.T + self._bias
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def to_json(self) -> str:
        """The exact text of model.json."""
        return json.dumps(self.model, indent=1) + "\n"

    def save(self, directory: str | Path) -> Path:
        """Write DIR/model.json and point this judge's spec at DIR (it can now be rebuilt as "lexical:DIR")."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        path.write_text(self.to_json(), encoding="utf-8")
        self.location = str(directory)
        return path

    @classmethod
    def load(cls, directory: str | Path, *, scheme: LabelScheme | None = None) -> LexicalJudge:
        """Load DIR/model.json; the judge's spec names DIR as given.

        Raises:
            JudgeError: when the file is missing or corrupt (saying which command makes a model), or when
                `scheme` is given and differs from the model's.
        """
        path = Path(directory) / MODEL_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise JudgeError(f"no lexical model at {path} ({exc.strerror}); {_MAKE_ONE}") from exc
        return cls(_parse(text, str(path)), location=str(directory), scheme=scheme)


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        model = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JudgeError(f"lexical model {where} is not valid JSON ({exc}); {_MAKE_ONE}") from exc
    if not isinstance(model, dict):
        raise JudgeError(f"lexical model {where} is not a JSON object; {_MAKE_ONE}")
    return model


#: Where the shipped model lives (fitted on the ESCI train split).
SHIPPED = "lexical-esci"


def lexical_judge(argument: str | None, scheme: LabelScheme | None, options: JudgeOptions) -> LexicalJudge:
    """Build the lexical judge from its spec argument: None (the shipped model) or a model directory.

    Raises:
        JudgeError: the model is missing or corrupt, or `scheme` differs from its scheme.
    """
    if argument is None:
        path = shipped_directory(SHIPPED) / MODEL_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            message = f"the shipped lexical model is missing ({exc}); reinstall reljudge, or {_MAKE_ONE}"
            raise JudgeError(message) from exc
        return LexicalJudge(_parse(text, "shipped with reljudge"), scheme=scheme)
    return LexicalJudge.load(argument, scheme=scheme)
