"""Which judges can be trained, and the split discipline they all share: fit on train, report on valid only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reljudge.errors import ReljudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Pair

TRAINABLE = ("lexical", "majority", "cross-encoder", "causal")
#: Judges whose trainers take a base model and hyperparameters.
TUNABLE = ("cross-encoder", "causal")


def split_pairs(pairs: Sequence[Pair], train_split: str, valid_split: str) -> tuple[list[Pair], list[Pair]]:
    """Train and valid pairs by the `split` column; without one, every pair trains and nothing is held out."""
    if not any("split" in p.segments for p in pairs):
        return list(pairs), []
    train = [p for p in pairs if p.segments.get("split") == train_split]
    valid = [p for p in pairs if p.segments.get("split") == valid_split]
    if not train:
        raise ReljudgeError(f"no pair has split {train_split!r} (use --train-split to name the training split)")
    return train, valid


def train_judge(
    name: str, pairs: Sequence[Pair], scheme: LabelScheme, output: Path, *, train_split: str = "train",
    valid_split: str = "valid", seed: int = 0, data_source: str = "", **options: Any,
) -> dict:
    """Fit judge `name` on the train pairs, save it to `output`, and return a summary with the valid figures.

    `options` go to the cross-encoder's or the causal LM's trainer (base and hyperparameters: see the DEFAULTS of
    `train.encoder` and `train.causal`); the other judges take none.
    """
    train, valid = split_pairs(pairs, train_split, valid_split)
    if options and name not in TUNABLE:
        raise ReljudgeError(f"judge {name!r} takes no training options (got {', '.join(sorted(options))})")
    if name == "cross-encoder":
        from reljudge.train.encoder import train_cross_encoder

        return train_cross_encoder(train, scheme, output, valid_pairs=valid or None, seed=seed,
                                   data_source=data_source, **options)
    if name == "causal":
        from reljudge.train.causal import train_causal

        return train_causal(train, scheme, output, valid_pairs=valid or None, seed=seed, data_source=data_source,
                            **options)
    if name == "lexical":
        from reljudge.train.lexical import train_lexical

        return train_lexical(train, scheme, output, valid_pairs=valid or None, seed=seed)
    if name == "majority":
        from reljudge.judges.majority import fit_majority

        judge = fit_majority(train, scheme)
        path = judge.save(output)
        return {"judge": "majority", "model": str(path), "n_train": len(train), "counts": judge.counts}
    raise ReljudgeError(f"cannot train judge {name!r} (trainable: {', '.join(TRAINABLE)})")
