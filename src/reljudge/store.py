"""The DuckDB store: one file holding pairs, human labels, runs and judgments.

One class owns every write, and the schema evolves through numbered migrations kept here in code (as simonw/llm
does), so an old store file is upgraded in place when a newer reljudge opens it.

Each run records its judge's identity (`JudgeIdentity`: the pinned spec, the scheme, the options that change labels
and what the judge resolved from them, never a secret), so any stored label can be traced to the server, template,
examples or model that made it, and `load_judge(store.run_identity(run_id))` builds that judge again.

Judgments are keyed by (pair hash, judge spec, context). The context is empty for judges that look at one pair at
a time; for judges that use the other candidates of the query it is a hash of the query's candidate set, so a
cached label is reused only when it was computed in the same company.

The big tables (pairs, human labels, judgments) carry no primary key: DuckDB holds a key's index in memory, whole,
so a store of millions of judgments would grow every run's memory with it. Keys are kept by the writes instead
(insert what is absent, replace by delete-then-insert in one transaction), and the connection runs under a memory
limit so its buffer cache stays flat too.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.judges.base import JudgeIdentity
from reljudge.records import Judgment, Pair

STORE_ENV = "RELJUDGE_STORE"
MEMORY_ENV = "RELJUDGE_STORE_MEMORY"
DEFAULT_MEMORY_LIMIT = "256MB"

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE pairs (
        pair_hash VARCHAR PRIMARY KEY, query_id VARCHAR, query VARCHAR, product_id VARCHAR, title VARCHAR,
        description VARCHAR, bullets VARCHAR, brand VARCHAR, color VARCHAR, category VARCHAR, locale VARCHAR,
        first_seen TIMESTAMP
    );
    CREATE TABLE human_labels (
        pair_hash VARCHAR, source VARCHAR, annotator VARCHAR, scheme VARCHAR, label VARCHAR, added TIMESTAMP,
        PRIMARY KEY (pair_hash, source, annotator)
    );
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY, judge VARCHAR, input VARCHAR, started TIMESTAMP, finished TIMESTAMP,
        n_pairs INTEGER, n_cached INTEGER, status VARCHAR
    );
    CREATE TABLE judgments (
        pair_hash VARCHAR, judge VARCHAR, context VARCHAR, scheme VARCHAR, label VARCHAR, proba DOUBLE[],
        reason VARCHAR, raw VARCHAR, run_id VARCHAR, created TIMESTAMP,
        PRIMARY KEY (pair_hash, judge, context)
    );
    """,
    # 2: no primary-key indexes on the big tables (DuckDB cannot evict them from memory)
    """
    CREATE TABLE human_labels_v2 AS SELECT * FROM human_labels;
    DROP TABLE human_labels;
    ALTER TABLE human_labels_v2 RENAME TO human_labels;
    CREATE TABLE pairs_v2 AS SELECT * FROM pairs;
    DROP TABLE pairs;
    ALTER TABLE pairs_v2 RENAME TO pairs;
    CREATE TABLE judgments_v2 AS SELECT * FROM judgments;
    DROP TABLE judgments;
    ALTER TABLE judgments_v2 RENAME TO judgments;
    """,
    # 3: each run records its judge's identity (JudgeIdentity.to_json()); runs recorded before keep NULL
    """
    ALTER TABLE runs ADD COLUMN identity JSON;
    """,
    # 4: pairs keep the input's extra columns (query_source, a popularity bucket ...) for the daily report's segments
    """
    ALTER TABLE pairs ADD COLUMN segments MAP(VARCHAR, VARCHAR);
    """,
    # 5: the people side (reljudge.service.people_store): annotators (tokens kept hashed), labelling queues and
    # their items with the judge's label at selection time, and the labels, append-only (an undo is a row that
    # voids an earlier one)
    """
    CREATE TABLE annotators (
        annotator_id VARCHAR PRIMARY KEY, token_sha256 VARCHAR UNIQUE, created TIMESTAMP, revoked TIMESTAMP
    );
    CREATE TABLE queues (
        name VARCHAR PRIMARY KEY, scheme VARCHAR, level VARCHAR, judge VARCHAR, judge_identity JSON,
        selection VARCHAR, overlap DOUBLE, source VARCHAR, created TIMESTAMP
    );
    CREATE TABLE queue_items (
        queue VARCHAR, item_id INTEGER, pair_hash VARCHAR, pair_id VARCHAR, wanted INTEGER, score DOUBLE,
        judge_label VARCHAR, judge_proba DOUBLE[], PRIMARY KEY (queue, item_id)
    );
    CREATE SEQUENCE annotator_label_ids;
    CREATE TABLE annotator_labels (
        label_id BIGINT DEFAULT nextval('annotator_label_ids'), queue VARCHAR, item_id INTEGER, pair_hash VARCHAR,
        annotator_id VARCHAR, label VARCHAR, cant_judge BOOLEAN, note VARCHAR, guideline VARCHAR, seconds DOUBLE,
        created TIMESTAMP, undoes BIGINT
    );
    """,
    # 6: a label file may be a random sample of its pairs' day (an audit): the daily report corrects the judge's
    # mean gain with such labels (reljudge.report.corrected), as with the labels of random queues
    """
    ALTER TABLE human_labels ADD COLUMN sampled BOOLEAN DEFAULT false;
    """,
]


def default_store_path() -> Path:
    """$RELJUDGE_STORE if set, else store.duckdb in the user's data directory (platformdirs)."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV])
    from platformdirs import user_data_dir

    return Path(user_data_dir("reljudge")) / "store.duckdb"


@dataclass(frozen=True)
class StoreInfo:
    path: str
    schema_version: int
    pairs: int
    human_labels: int
    runs: int
    judgments: int
    judges: dict[str, int]


@dataclass(frozen=True)
class RunRecord:
    """One run as the store records it.

    Attributes:
        judge: the judge's pinned spec. identity: its whole identity, or None for a run recorded before the store
            kept identities (schema version 2 and older).
        n_pairs / n_cached: pairs of the run, and those the store already held (0 while it runs).
    """

    run_id: str
    judge: str
    input: str
    started: datetime
    finished: datetime | None
    n_pairs: int
    n_cached: int
    status: str
    identity: JudgeIdentity | None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Store:
    """An open store file. Use as a context manager so the file is closed (and unlocked) on exit."""

    def __init__(self, path: str | Path | None = None):
        import duckdb

        self.path = Path(path) if path else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise ReljudgeError(f"cannot open the store {self.path}: {exc} (choose another with --store)") from exc
        memory_limit = os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)
        try:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        except duckdb.Error as exc:
            self.con.close()
            raise ReljudgeError(f"{MEMORY_ENV}={memory_limit!r} is not a DuckDB memory limit: {exc}") from exc
        self._migrate()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @property
    def schema_version(self) -> int:
        return int(self._scalar("SELECT max(version) FROM schema_version") or 0)

    def _scalar(self, sql: str) -> object:
        # fetchall, not fetchone: DuckDB keeps a half-read result open and refuses the next statement
        return self.con.execute(sql).fetchall()[0][0]

    def _migrate(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied TIMESTAMP)")
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version > self.schema_version:
                with self._transaction():
                    self.con.execute(sql)
                    self.con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, _now()])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def add_pairs(self, pairs: Sequence[Pair]) -> None:
        """Record pairs (idempotent: a pair already stored keeps its first record)."""
        frame = pd.DataFrame(
            {
                "pair_hash": [p.pair_hash for p in pairs],
                "query_id": [p.query_id for p in pairs],
                "query": [p.query for p in pairs],
                **{name: [getattr(p.product, attr) for p in pairs] for name, attr in _PRODUCT_COLUMNS},
                "segments": [json.dumps(p.segments) for p in pairs],
            }
        ).drop_duplicates("pair_hash")
        self.con.register("incoming_pairs", frame)
        self.con.execute(
            "INSERT INTO pairs SELECT pair_hash, query_id, query, product_id, title, description, bullets,"
            " brand, color, category, locale, ?, CAST(CAST(segments AS JSON) AS MAP(VARCHAR, VARCHAR))"
            " FROM incoming_pairs i"
            " WHERE NOT EXISTS (SELECT 1 FROM pairs p WHERE p.pair_hash = i.pair_hash)",
            [_now()],
        )
        self.con.unregister("incoming_pairs")

    def add_human_labels(self, rows: Iterable[tuple[str, str, str]], *, source: str, scheme: str,
                         sampled: bool = False) -> int:
        """Record (pair_hash, annotator, label) rows from one source file; re-adding a source replaces its labels.

        sampled: the file's pairs are a uniform random sample of the pairs judged on their day (an audit), which
        the daily report may correct the judge's figures with.
        """
        frame = pd.DataFrame(list(rows), columns=["pair_hash", "annotator", "label"]).drop_duplicates(
            ["pair_hash", "annotator"], keep="last"
        )
        if frame.empty:
            return 0
        self.con.register("incoming_labels", frame)
        with self._transaction():
            self.con.execute(
                "DELETE FROM human_labels h USING incoming_labels i"
                " WHERE h.pair_hash = i.pair_hash AND h.source = ? AND h.annotator = i.annotator",
                [source],
            )
            self.con.execute(
                "INSERT INTO human_labels SELECT pair_hash, ?, annotator, ?, label, ?, ? FROM incoming_labels",
                [source, scheme, _now(), sampled],
            )
        self.con.unregister("incoming_labels")
        return len(frame)

    def start_run(self, judge: JudgeIdentity | str, input_name: str) -> str:
        """Record a run starting and return its id.

        Args:
            judge: the judge's identity (`judge.identity`); a bare spec records no identity, for judgments whose
                judge is known by its spec alone.
            input_name: the input, as the run records it.
        """
        identity = judge if isinstance(judge, JudgeIdentity) else None
        spec = identity.spec if identity else judge
        try:
            recorded = identity.to_json() if identity else None
        except (TypeError, ValueError) as exc:
            raise ReljudgeError(f"judge {spec}: its identity cannot be recorded as JSON ({exc})") from exc
        run_id = uuid.uuid4().hex[:16]
        self.con.execute(
            "INSERT INTO runs (run_id, judge, input, started, n_pairs, n_cached, status, identity)"
            " VALUES (?, ?, ?, ?, 0, 0, 'running', ?)",
            [run_id, spec, input_name, _now(), recorded],
        )
        return run_id

    def finish_run(self, run_id: str, *, n_pairs: int, n_cached: int, status: str = "done") -> None:
        self.con.execute(
            "UPDATE runs SET finished = ?, n_pairs = ?, n_cached = ?, status = ? WHERE run_id = ?",
            [_now(), n_pairs, n_cached, status, run_id],
        )

    def cached(self, judge: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Judgment]:
        """Stored judgments of `judge` for (pair_hash, context) keys; keys never judged are absent."""
        if not keys:
            return {}
        wanted = pd.DataFrame(keys, columns=["pair_hash", "context"]).drop_duplicates()
        self.con.register("wanted", wanted)
        rows = self.con.execute(
            "SELECT j.pair_hash, j.context, j.label, j.proba, j.reason, j.raw FROM judgments j"
            " JOIN wanted w ON j.pair_hash = w.pair_hash AND j.context = w.context WHERE j.judge = ?",
            [judge],
        ).fetchall()
        self.con.unregister("wanted")
        return {
            (h, ctx): Judgment(h, judge, label, tuple(proba) if proba is not None else None, reason or "", raw or "")
            for h, ctx, label, proba, reason, raw in rows
        }

    def save_judgments(
        self, run_id: str, scheme: str, judgments: Sequence[Judgment], contexts: Sequence[str]
    ) -> None:
        """Write judgments in one transaction: a crash loses at most the batch in hand, never what was saved."""
        if not judgments:
            return
        frame = pd.DataFrame(
            {
                "pair_hash": [j.pair_hash for j in judgments],
                "judge": [j.judge for j in judgments],
                "context": list(contexts),
                "label": [j.label for j in judgments],
                "proba": [list(j.proba) if j.proba is not None else None for j in judgments],
                "reason": [j.reason for j in judgments],
                "raw": [j.raw for j in judgments],
            }
        ).drop_duplicates(["pair_hash", "judge", "context"], keep="last")
        self.con.register("incoming_judgments", frame)
        with self._transaction():
            self.con.execute(
                "DELETE FROM judgments j USING incoming_judgments i"
                " WHERE j.pair_hash = i.pair_hash AND j.judge = i.judge AND j.context = i.context"
            )
            self.con.execute(
                "INSERT INTO judgments SELECT pair_hash, judge, context, ?, label, proba, reason, raw, ?, ?"
                " FROM incoming_judgments",
                [scheme, run_id, _now()],
            )
        self.con.unregister("incoming_judgments")

    def info(self) -> StoreInfo:
        def count(table: str) -> int:
            return int(self._scalar(f"SELECT count(*) FROM {table}"))

        judges = dict(self.con.execute("SELECT judge, count(*) FROM judgments GROUP BY judge ORDER BY judge")
                      .fetchall())
        return StoreInfo(str(self.path), self.schema_version, count("pairs"), count("human_labels"), count("runs"),
                         count("judgments"), {k: int(v) for k, v in judges.items()})

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """The runs, newest first (at most `limit` of them)."""
        rows = self.con.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started DESC, run_id"
            + (" LIMIT ?" if limit is not None else ""),
            [limit] if limit is not None else [],
        ).fetchall()
        return [_run_record(row) for row in rows]

    def run_identity(self, run_id: str) -> JudgeIdentity:
        """The identity of the judge a run used: `load_judge(identity)` builds that judge again.

        Raises:
            ReljudgeError: no such run, or a run recorded before the store kept identities (its spec is given).
        """
        rows = self.con.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not rows:
            raise ReljudgeError(f"the store {self.path} holds no run {run_id!r} (see: reljudge store runs)")
        run = _run_record(rows[0])
        if run.identity is None:
            raise ReljudgeError(f"run {run_id} in {self.path} was recorded before runs kept their judge's identity: "
                                f"it records only the spec {run.judge} (load_judge({run.judge!r}) loads that model)")
        return run.identity


    def run_judgments(self, run_id: str, pair_hashes: Sequence[str]) -> pd.DataFrame:
        """The stored judgments of `pair_hashes` by the judge that run `run_id` used (pair_hash, label, proba,
        scheme): the run's own and those it found cached; only those pairs are read, however large the store.

        Raises:
            ReljudgeError: no such run.
        """
        found = self.con.execute("SELECT judge FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not found:
            raise ReljudgeError(f"the store {self.path} holds no run {run_id!r} (see: reljudge store runs)")
        self.con.register("wanted", pd.DataFrame({"pair_hash": list(dict.fromkeys(pair_hashes))}, dtype=object))
        rows = self.con.execute("SELECT j.pair_hash, j.label, j.proba, j.scheme FROM judgments j"
                                " JOIN wanted w ON j.pair_hash = w.pair_hash WHERE j.judge = ?", [found[0][0]]).df()
        self.con.unregister("wanted")
        return rows


_RUN_COLUMNS = "run_id, judge, input, started, finished, n_pairs, n_cached, status, identity"


def _run_record(row: tuple) -> RunRecord:
    *fields, identity = row
    return RunRecord(*fields, identity=JudgeIdentity.from_dict(json.loads(identity)) if identity else None)


_PRODUCT_COLUMNS = [
    ("product_id", "product_id"), ("title", "title"), ("description", "description"), ("bullets", "bullets"),
    ("brand", "brand"), ("color", "color"), ("category", "category"), ("locale", "locale"),
]

