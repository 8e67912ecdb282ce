"""Judges: every one gives probabilities over a label scheme (see base.py). Nothing heavy is imported here."""

#: The judge `reljudge judge` uses when no --judge is given.
DEFAULT_JUDGE = "lexical"
