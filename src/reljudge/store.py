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
limit so its buffer cache stays flat too. A chunk's lookups go through `pkey`, the first 64 bits of the pair hash
as an integer: a scan of one 8-byte column finds the few rows to read, where comparing 24-character hashes over
the whole table cost ten times as much (bench/store_scale.py).

DuckDB lets one process at a time open a file. So that the service, its annotators and the daily jobs share one
store, a store opened `shared` holds the file only for a turn (`Store.turn`): the writes of one chunk, one label,
one queue; between turns other processes take theirs, each waiting up to `wait` seconds for the file
($RELJUDGE_STORE_WAIT). A `linger`ing shared store (the service's) keeps the file between its turns until another
process asks for it. A store opened plainly holds the file for as long as it is open: one short command.
"""

from __future__ import annotations

import functools
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.judges.base import JudgeIdentity
from reljudge.records import Judgment, Pair

STORE_ENV = "RELJUDGE_STORE"
MEMORY_ENV = "RELJUDGE_STORE_MEMORY"
DEFAULT_MEMORY_LIMIT = "256MB"
WAIT_ENV = "RELJUDGE_STORE_WAIT"
#: How far apart two processes' clocks may read `created` (they share one machine's file).
CLOCK_MARGIN = timedelta(minutes=1)
#: Seconds a command waits for the store while another process takes its turn (a report of a year reads for ~1 min).
DEFAULT_WAIT = 300.0
T = TypeVar("T")

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
    # 7: pkey, the pair hash's first 64 bits (md5_number_upper of the hash), so that a chunk's lookups scan one
    # integer column instead of comparing strings over the whole table
    """
    ALTER TABLE pairs ADD COLUMN pkey UBIGINT;
    UPDATE pairs SET pkey = md5_number_upper(pair_hash);
    ALTER TABLE judgments ADD COLUMN pkey UBIGINT;
    UPDATE judgments SET pkey = md5_number_upper(pair_hash);
    """,
    # 8: API clients (who may call /v1/judge and /v1/rerank) are accounts beside annotators, told apart by role
    """
    ALTER TABLE annotators ADD COLUMN role VARCHAR DEFAULT 'annotator';
    """,
    # 9: the page's sessions: the cookie holds a session id (kept hashed), not the token, and sign-out ends it
    """
    CREATE TABLE sessions (session_sha256 VARCHAR PRIMARY KEY, annotator_id VARCHAR, created TIMESTAMP,
                           ended TIMESTAMP);
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
    #: labels people gave on the labelling page that stand (undone ones left out); `human_labels` are files'
    page_labels: int = 0


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


def now() -> datetime:
    """The store's clock (UTC, naive): what `created` records, and what `save_judgments(replacing_since=)` takes."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class StoreBusy(ReljudgeError):
    """Another process held the store longer than this one would wait."""


def memory_limit() -> str:
    """The memory limit of the store's connection: $RELJUDGE_STORE_MEMORY, else 256MB."""
    return os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)


def _wait_seconds() -> float:
    raw = os.environ.get(WAIT_ENV)
    if raw is None:
        return DEFAULT_WAIT
    try:
        return float(raw)
    except ValueError:
        raise ReljudgeError(f"{WAIT_ENV}={raw!r} is not a number of seconds") from None


def in_turn(method: Callable[..., T]) -> Callable[..., T]:
    """Run `method(store, ...)` inside one turn of the store (see `Store.turn`)."""

    @functools.wraps(method)
    def taking_turn(store: "Store", *args: Any, **kwargs: Any) -> T:
        with store.turn():
            return method(store, *args, **kwargs)

    return taking_turn


class Store:
    """A store file. Use as a context manager so the file is closed (and unlocked) on exit.

    shared: hold the file only inside turns (`turn`, and every method here), for a process that runs long beside
        others (the service, a judge over millions of pairs); else from opening to closing.
    linger: a shared store keeps the file open after a turn until another process asks for it (`yield_if_asked`),
        so a service whose every request is a turn does not pay an open and a checkpoint for each.
    wait: seconds to wait for another process's turn before failing; None: $RELJUDGE_STORE_WAIT, else 300.

    A process that finds the file held leaves `STORE.waiting` beside it while it waits; whoever opens the file next
    removes it.
    """

    def __init__(self, path: str | Path | None = None, *, shared: bool = False, linger: bool = False,
                 wait: float | None = None):
        self.path = Path(path) if path else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.shared, self.linger = shared, linger
        self.waiting = self.path.with_name(self.path.name + ".waiting")
        self.wait = _wait_seconds() if wait is None else wait
        self.memory_limit = memory_limit()
        self._con: Any = None
        self._depth = 0
        with self.turn():
            self._migrate()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def con(self) -> Any:
        """The DuckDB connection; in a shared store, only inside a turn."""
        if self._con is None:
            raise RuntimeError(f"the store {self.path} is shared and used outside a turn (Store.turn)"
                               if self.shared else f"the store {self.path} is closed")
        return self._con

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the file for the statements inside (nested turns are one): opened here if closed, and closed again
        at the end of the outer turn if the store is shared, so other processes take theirs."""
        if self._con is None:
            self._con = self._connect()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self.shared and self._depth == 0 and (not self.linger or self.waiting.exists()):
                self.close()

    def yield_if_asked(self) -> None:
        """Between turns of a lingering store: close the file if another process is waiting for it (call this
        often, from the thread that uses the store)."""
        if self._con is not None and self._depth == 0 and self.waiting.exists():
            self.close()

    def _connect(self) -> Any:
        """Open the file, waiting while another process holds it (DuckDB locks the file for one process)."""
        import duckdb

        deadline = time.monotonic() + self.wait
        while True:
            try:
                con = duckdb.connect(str(self.path))
                self.waiting.unlink(missing_ok=True)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    held = f" for {self.wait:.0f} s" if "lock" in str(exc).lower() else ""
                    raise StoreBusy(f"cannot open the store {self.path}{held}: {exc} (a process that holds it "
                                    f"for long: wait longer with ${WAIT_ENV}, or choose another --store)") from exc
                self.waiting.touch()  # a lingering service closes the file when it sees this
                time.sleep(random.uniform(0.01, 0.05))
            except duckdb.Error as exc:
                raise ReljudgeError(f"cannot open the store {self.path}: {exc} (choose another with --store)") from exc
        try:
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
        except duckdb.Error as exc:
            con.close()
            raise ReljudgeError(f"{MEMORY_ENV}={self.memory_limit!r} is not a DuckDB memory limit: {exc}") from exc
        return con

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
                with self.transaction():
                    self.con.execute(sql)
                    self.con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, now()])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, rolled back on any error; inside a turn (the people's side writes through it too)."""
        self.con.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _rows_of(self, table: str, hashes: str, columns: str, since: datetime | None = None) -> list[tuple]:
        """(rowid, *columns) of the rows of `table` whose pkey is that of a pair hash in the registered frame
        `hashes`: a scan of the pkey column finds their rowids, and only those rows are read (one query that read
        the columns with the join read them for every row). Callers match the pair hashes themselves. With
        `since` (judgments only), only rows created since then: the scan skips the older row groups."""
        recent = "" if since is None else " AND created >= ?"
        rowids = [r for (r,) in self.con.execute(
            f"SELECT rowid FROM {table} WHERE pkey IN (SELECT md5_number_upper(pair_hash::VARCHAR) FROM {hashes})"
            + recent, [] if since is None else [since]).fetchall()]
        if not rowids:
            return []
        return self.con.execute(f"SELECT rowid, {columns} FROM {table} WHERE rowid = ANY(?)", [rowids]).fetchall()

    @in_turn
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
        if frame.empty:
            return
        self.con.register("incoming_pairs", frame)
        try:
            with self.transaction():
                known = {h for _, h in self._rows_of("pairs", "incoming_pairs", "pair_hash")}
                if known:
                    self.con.unregister("incoming_pairs")
                    self.con.register("incoming_pairs", frame[~frame["pair_hash"].isin(known)])
                self.con.execute(
                    "INSERT INTO pairs SELECT pair_hash, query_id, query, product_id, title, description, bullets,"
                    " brand, color, category, locale, ?, CAST(CAST(segments AS JSON) AS MAP(VARCHAR, VARCHAR)),"
                    " md5_number_upper(pair_hash) FROM incoming_pairs",
                    [now()],
                )
        finally:
            self.con.unregister("incoming_pairs")

    @in_turn
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
        with self.transaction():
            self.con.execute(
                "DELETE FROM human_labels h USING incoming_labels i"
                " WHERE h.pair_hash = i.pair_hash AND h.source = ? AND h.annotator = i.annotator",
                [source],
            )
            self.con.execute(
                "INSERT INTO human_labels SELECT pair_hash, ?, annotator, ?, label, ?, ? FROM incoming_labels",
                [source, scheme, now(), sampled],
            )
        self.con.unregister("incoming_labels")
        return len(frame)

    @in_turn
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
            [run_id, spec, input_name, now(), recorded],
        )
        return run_id

    @in_turn
    def finish_run(self, run_id: str, *, n_pairs: int, n_cached: int, status: str = "done") -> None:
        self.con.execute(
            "UPDATE runs SET finished = ?, n_pairs = ?, n_cached = ?, status = ? WHERE run_id = ?",
            [now(), n_pairs, n_cached, status, run_id],
        )

    @in_turn
    def count_run(self, run_id: str, *, n_pairs: int, n_cached: int) -> None:
        """Record a running run's counts so far (a service's, so a killed one shows what it served)."""
        self.con.execute("UPDATE runs SET n_pairs = ?, n_cached = ? WHERE run_id = ?", [n_pairs, n_cached, run_id])

    @in_turn
    def interrupt_runs(self, input_name: str) -> int:
        """Mark the runs of `input_name` still 'running' as 'interrupted' (a service killed before it closed its
        run, found when the next one starts); returns how many."""
        rows = self.con.execute("UPDATE runs SET status = 'interrupted' WHERE input = ? AND status = 'running'"
                                " RETURNING run_id", [input_name]).fetchall()
        return len(rows)

    @in_turn
    def cached(self, judge: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Judgment]:
        """Stored judgments of `judge` for (pair_hash, context) keys; keys never judged are absent."""
        if not keys:
            return {}
        wanted = pd.DataFrame(keys, columns=["pair_hash", "context"]).drop_duplicates()
        self.con.register("wanted", wanted)
        try:
            rows = self._rows_of("judgments", "wanted", "pair_hash, judge, context, label, proba, reason, raw")
        finally:
            self.con.unregister("wanted")
        asked = set(keys)
        return {
            (h, ctx): Judgment(h, judge, label, tuple(proba) if proba is not None else None, reason or "", raw or "")
            for _, h, by, ctx, label, proba, reason, raw in rows if by == judge and (h, ctx) in asked
        }

    @in_turn
    def save_judgments(
        self, run_id: str, scheme: str, judgments: Sequence[Judgment], contexts: Sequence[str], *,
        replacing_since: datetime | None = None,
    ) -> None:
        """Write judgments in one transaction, replacing the same keys' earlier judgments (so two processes that
        judged the same pairs leave one judgment each): a crash loses at most the batch in hand.

        replacing_since: the caller looked these keys up at that time (`now`) and found none of them: only
            judgments written since, by other processes, can be there to replace, and only recent rows are read.
        """
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
        try:
            with self.transaction():
                incoming = set(frame[["pair_hash", "judge", "context"]].itertuples(index=False, name=None))
                since = None if replacing_since is None else replacing_since - CLOCK_MARGIN
                replaced = [rowid for rowid, *key in self._rows_of("judgments", "incoming_judgments",
                                                                   "pair_hash, judge, context", since)
                            if tuple(key) in incoming]
                if replaced:
                    self.con.execute("DELETE FROM judgments WHERE rowid = ANY(?)", [replaced])
                self.con.execute(
                    "INSERT INTO judgments SELECT pair_hash, judge, context, ?, label, proba, reason, raw, ?, ?,"
                    " md5_number_upper(pair_hash) FROM incoming_judgments",
                    [scheme, run_id, now()],
                )
        finally:
            self.con.unregister("incoming_judgments")

    @in_turn
    def info(self) -> StoreInfo:
        def count(table: str) -> int:
            return int(self._scalar(f"SELECT count(*) FROM {table}"))

        judges = dict(self.con.execute("SELECT judge, count(*) FROM judgments GROUP BY judge ORDER BY judge")
                      .fetchall())
        return StoreInfo(str(self.path), self.schema_version, count("pairs"), count("human_labels"), count("runs"),
                         count("judgments"), {k: int(v) for k, v in judges.items()},
                         int(self._scalar("SELECT count(*) FROM annotator_labels WHERE undoes IS NULL AND label_id"
                                          " NOT IN (SELECT undoes FROM annotator_labels WHERE undoes IS NOT NULL)")))

    @in_turn
    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """The runs, newest first (at most `limit` of them)."""
        rows = self.con.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started DESC, run_id"
            + (" LIMIT ?" if limit is not None else ""),
            [limit] if limit is not None else [],
        ).fetchall()
        return [_run_record(row) for row in rows]

    @in_turn
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


    @in_turn
    def run_judgments(self, run_id: str, pair_hashes: Sequence[str]) -> pd.DataFrame:
        """The stored judgments of `pair_hashes` by the judge that run `run_id` used (pair_hash, label, proba,
        scheme): the run's own and those it found cached; only those pairs are read, however large the store.

        Raises:
            ReljudgeError: no such run.
        """
        found = self.con.execute("SELECT judge FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not found:
            raise ReljudgeError(f"the store {self.path} holds no run {run_id!r} (see: reljudge store runs)")
        wanted = pd.DataFrame({"pair_hash": list(dict.fromkeys(pair_hashes))}, dtype=object)
        self.con.register("wanted", wanted)
        try:
            rows = self._rows_of("judgments", "wanted", "pair_hash, judge, label, proba, scheme")
        finally:
            self.con.unregister("wanted")
        asked = set(wanted["pair_hash"])
        return pd.DataFrame([(h, label, proba, scheme) for _, h, judge, label, proba, scheme in rows
                             if judge == found[0][0] and h in asked], columns=["pair_hash", "label", "proba", "scheme"])


_RUN_COLUMNS = "run_id, judge, input, started, finished, n_pairs, n_cached, status, identity"


def _run_record(row: tuple) -> RunRecord:
    *fields, identity = row
    return RunRecord(*fields, identity=JudgeIdentity.from_dict(json.loads(identity)) if identity else None)


_PRODUCT_COLUMNS = [
    ("product_id", "product_id"), ("title", "title"), ("description", "description"), ("bullets", "bullets"),
    ("brand", "brand"), ("color", "color"), ("category", "category"), ("locale", "locale"),
]

