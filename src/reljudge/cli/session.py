"""What `judge`, `evaluate` and `train` share once the inputs are read: the judge, its scheme and the store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from reljudge.cli.judge_options import JudgeChoice
from reljudge.io import PairsRead
from reljudge.judges.base import Judge
from reljudge.judges.registry import load_judge
from reljudge.labels import LabelScheme, get_scheme
from reljudge.store import Store


def open_judge(choice: JudgeChoice, scheme: str | None, level: str | None,
               **set_by_command: object) -> tuple[Judge, LabelScheme]:
    """Load the chosen judge with the options given for it; its scheme is the one used unless --scheme names
    another (then the judge must agree).

    `set_by_command` are options the command sets itself (the API judge's progress bar), passed to judges that
    declare them.
    """
    options = choice.load_options(**set_by_command)
    wanted = get_scheme(scheme) if scheme else None
    judge = load_judge(choice.spec, scheme=wanted, **options) if wanted else load_judge(choice.spec, **options)
    the_scheme = wanted or judge.scheme
    return judge, (the_scheme.with_level(level) if level else the_scheme)


@contextlib.contextmanager
def record_inputs(
    read: PairsRead, scheme: LabelScheme, store: Path | None, no_store: bool, *,
    annotations: pd.DataFrame | None = None, annotations_source: str = "",
) -> Iterator[Store | None]:
    """Open the store (unless --no-store) and record the pairs, their labels and any long-form annotations."""
    if no_store:
        yield None
        return
    # shared: the judging that follows may run long, and the service and other jobs take turns meanwhile
    with Store(store, shared=True) as the_store:
        the_store.add_pairs(read.pairs)
        the_store.add_human_labels(
            ((p.pair_hash, "input", p.label) for p in read.pairs if p.label is not None),
            source=read.source, scheme=scheme.name,
        )
        if annotations is not None:
            hashes = {p.pair_id: p.pair_hash for p in read.pairs}
            the_store.add_human_labels(
                ((hashes[pid], annotator, label) for pid, annotator, label
                 in annotations[["pair_id", "annotator", "label"]].itertuples(index=False) if pid in hashes),
                source=annotations_source, scheme=scheme.name,
            )
        yield the_store
