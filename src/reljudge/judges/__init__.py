"""Judges: every one gives probabilities over a label scheme (see base.py). Nothing heavy is imported here."""

#: The judge `reljudge judge` uses when no --judge is given: the shipped two-layer cross-encoder (ONNX int8), the
#: best agreement with ESCI's human labels measured here at ~100 pairs/s on 2 cores (bench/README.md).
DEFAULT_JUDGE = "cross-encoder"
