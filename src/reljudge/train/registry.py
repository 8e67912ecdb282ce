"""Which judges can be trained, and the split discipline they all share: fit on train, report on valid only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reljudge.errors import ReljudgeError
from reljudge.labels import LabelScheme
from reljudge.records import Pair
from reljudge.train.configs import TrainConfig, make_config

if TYPE_CHECKING:
    import numpy as np

TRAINABLE = ("lexical", "majority", "cross-encoder", "causal")


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
    name: str, pairs: Sequence[Pair], scheme: LabelScheme, output: Path,
    config: TrainConfig | Mapping[str, Any] | None = None, *, train_split: str = "train", valid_split: str = "valid",
    data_source: str = "", teacher: tuple[Sequence[Pair], np.ndarray] | None = None, **overrides: Any,
) -> dict:
    """Fit judge `name` on the train pairs, save it to `output`, and return a summary with the valid figures.

    Args:
        config: the family's training config (`train.configs.CONFIGS[name]`, or a mapping of its fields); None: its
            defaults. Majority takes none.
        teacher: cross-encoder only: (pairs, probabilities) of another judge, soft targets for the pairs people did
            not label (`train.teacher`).
        **overrides: config fields that replace the config's (e.g. seed).

    Returns:
        The trainer's summary, with the resolved config under "config".
    """
    if name not in TRAINABLE:
        raise ReljudgeError(f"cannot train judge {name!r} (trainable: {', '.join(TRAINABLE)})")
    if teacher is not None and name != "cross-encoder":
        raise ReljudgeError(f"a teacher trains the cross-encoder only, not judge {name!r}")
    train, valid = split_pairs(pairs, train_split, valid_split)
    if name == "majority":
        given = sorted({**(dict(config) if config else {}), **overrides})
        if given:
            raise ReljudgeError(f"judge 'majority' takes no training settings (got {', '.join(given)})")
        from reljudge.judges.majority import fit_majority

        judge = fit_majority(train, scheme)
        path = judge.save(output)
        return {"judge": "majority", "model": str(path), "n_train": len(train), "counts": judge.counts}
    resolved = make_config(name, config, overrides)
    if name == "cross-encoder":
        from reljudge.train.encoder import train_cross_encoder

        summary = train_cross_encoder(train, scheme, output, resolved, valid_pairs=valid or None, teacher=teacher,
                                      data_source=data_source)
    elif name == "causal":
        from reljudge.train.causal import train_causal

        summary = train_causal(train, scheme, output, resolved, valid_pairs=valid or None, data_source=data_source)
    else:
        from reljudge.train.lexical import train_lexical

        summary = train_lexical(train, scheme, output, resolved, valid_pairs=valid or None)
    return {**summary, "config": resolved.model_dump(mode="json")}
