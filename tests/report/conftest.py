"""A store holding eight days of a judge's ESCI judgments and people's labels; on one day the judge goes wrong.

Every day 400 pairs (40 queries x 10 products, half of the queries `organic`, half `ads`) are judged, and people
label 20 queries' pairs. A pair's true label follows one mix; the judge gives it with probability 0.85, else a
random other label. On SHIFTED_DAY the judge also calls half of the truly exact pairs irrelevant: its label mix
moves (fewer E, more I) and its agreement with people falls. Written through the Store's own methods; only the
`created`/`started` times are moved to the simulated days afterwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from reljudge.records import Judgment, Pair, Product
from reljudge.store import Store

FIRST_DAY = date(2026, 3, 1)
DAYS = [FIRST_DAY + timedelta(days=i) for i in range(8)]
SHIFTED_DAY = DAYS[5]
JUDGE = "lexical@0123456789ab"
LABELS = ("E", "S", "C", "I")
TRUE_MIX = (0.55, 0.2, 0.05, 0.2)


def _day_pairs(day_index: int) -> list[Pair]:
    pairs = []
    for q in range(40):
        query_id = f"d{day_index}q{q}"
        source = "organic" if q % 2 == 0 else "ads"
        for d in range(10):
            product = Product(product_id=f"P{day_index}-{q}-{d}", title=f"product {d} for query {q} day {day_index}")
            pairs.append(Pair(query=f"query {q} of day {day_index}", product=product, query_id=query_id,
                              pair_id=f"{query_id}-{d}", segments={"query_source": source}))
    return pairs


def _judge_label(truth: str, rng: np.random.Generator, shifted: bool) -> str:
    if shifted and truth == "E" and rng.random() < 0.5:
        return "I"
    if rng.random() < 0.85:
        return truth
    return str(rng.choice([label for label in LABELS if label != truth]))


def build_store(path: Path) -> Path:
    rng = np.random.default_rng(7)
    with Store(path) as store:
        for i, day in enumerate(DAYS):
            pairs = _day_pairs(i)
            truths = rng.choice(LABELS, size=len(pairs), p=TRUE_MIX)
            store.add_pairs(pairs)
            run_id = store.start_run(JUDGE, f"day-{day}.csv")
            judgments = [Judgment(p.pair_hash, JUDGE, _judge_label(t, rng, day == SHIFTED_DAY), None)
                         for p, t in zip(pairs, truths)]
            store.save_judgments(run_id, "esci", judgments, [""] * len(judgments))
            store.finish_run(run_id, n_pairs=len(pairs), n_cached=0)
            labelled = [(p.pair_hash, annotator, t) for p, t in zip(pairs[:200], truths[:200])
                        for annotator in ("ann", "bob")]
            store.add_human_labels(labelled, source=f"labels-{day}.csv", scheme="esci")
            noon = datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
            store.con.execute("UPDATE judgments SET created = ? WHERE run_id = ?", [noon, run_id])
            store.con.execute("UPDATE runs SET started = ?, finished = ? WHERE run_id = ?", [noon, noon, run_id])
    return path


@pytest.fixture(scope="session")
def drift_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("report") / "store.duckdb")
