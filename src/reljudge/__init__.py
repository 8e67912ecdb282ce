"""reljudge: judge search relevance with fine-tuned models, measured against human labels.

The public API is imported lazily so that `import reljudge` (and `reljudge --help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Pair": "reljudge.records",
    "Product": "reljudge.records",
    "Judgment": "reljudge.records",
    "LabelScheme": "reljudge.labels",
    "MeanRule": "reljudge.labels",
    "get_scheme": "reljudge.labels",
    "Judge": "reljudge.judges.base",
    "load_judge": "reljudge.judges.registry",
    "JudgeIdentity": "reljudge.judges.base",
    "predict": "reljudge.judges.base",
    "read_pairs": "reljudge.io",
    "read_annotations": "reljudge.io",
    "read_judgments": "reljudge.io",
    "write_judgments": "reljudge.io",
    "judge_pairs": "reljudge.infer.batch",
    "judge_to_shards": "reljudge.infer.stream",
    "evaluate_frame": "reljudge.evaluation",
    "evaluate_judge": "reljudge.evaluation",
    "compare": "reljudge.evaluation",
    "EvaluationReport": "reljudge.evaluation",
    "analyze_experiment": "reljudge.experiments.analysis",
    "validate_judge": "reljudge.experiments.analysis",
    "ExperimentAnalysis": "reljudge.experiments.analysis",
    "Store": "reljudge.store",
    "ReljudgeError": "reljudge.errors",
    "InputError": "reljudge.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'reljudge' has no attribute {name!r}")
