"""The people side of the store: annotators, labelling queues and their labels.

It works through the Store's DuckDB connection (tables made by migration 5 in store.py), so store.py keeps to
pairs, runs and judgments. Labels are append-only: an undo is a row that voids an earlier label, so the log shows
every answer ever given. Which pair to show whom is decided in memory (queue_state.py) from what `load_queue`
reads, and showing a pair writes nothing: each write is a commit, so one commit per answer is the cost of a click.

Every function here expects its caller to serialise access to the store (the service runs them one at a time),
and each is one turn of a shared store (see store.py), so what it reads and writes is one process's at a time.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.judges.base import JudgeIdentity
from reljudge.labels import LabelScheme
from reljudge.records import Product
from reljudge.service.errors import Conflict, UnknownName
from reljudge.service.queue_state import Answer, Item, QueueState
from reljudge.store import Store, in_turn
from reljudge.store import now as store_clock

TOKEN_PREFIX = "rjt_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


#: The labels that stand: neither undo rows nor voided by one (append AND ... to narrow them).
_CURRENT_ALL = """
    SELECT * FROM annotator_labels l WHERE l.undoes IS NULL
      AND NOT EXISTS (SELECT 1 FROM annotator_labels u WHERE u.undoes = l.label_id)"""


def check_name(name: str, what: str) -> str:
    """Names appear in URLs and file names: letters, digits and _ . @ -, at most 64, starting alphanumeric."""
    if not _NAME.match(name or ""):
        raise ReljudgeError(f"{what} name {name!r} is not allowed: use letters, digits and _ . @ - (at most 64, "
                            "starting with a letter or digit)")
    return name


def _rows(store: Store, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    return store.con.execute(sql, list(params)).fetchall()


# --- annotators -------------------------------------------------------------------------------------------------

def token_digest(token: str) -> str:
    """Tokens are 32 random bytes, so a plain sha256 is enough to keep them unreadable in the store."""
    return hashlib.sha256(token.encode()).hexdigest()


#: Who a token may belong to: annotators label on the page, reviewers also see the agreement and audit view
#: (everyone's labels, so not for those still labelling blind), clients call the judging API.
ANNOTATOR, REVIEWER, CLIENT = "annotator", "reviewer", "client"
#: The roles each kind of sign-in takes.
ROLES = {ANNOTATOR: (ANNOTATOR, REVIEWER), REVIEWER: (REVIEWER,), CLIENT: (CLIENT,)}


@in_turn
def add_annotator(store: Store, name: str, role: str = ANNOTATOR) -> str:
    """Record an annotator (or an API client) and return their token, which the store keeps only hashed (it cannot
    be shown again).

    Raises:
        Conflict: the name is taken (annotators and clients share one namespace).
    """
    check_name(name, role)
    if _rows(store, "SELECT 1 FROM annotators WHERE annotator_id = ?", [name]):
        raise Conflict(f"{role} {name!r} exists already in {store.path} (annotators and clients share names; see: "
                       "reljudge annotators list, reljudge clients list)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.con.execute("INSERT INTO annotators (annotator_id, token_sha256, created, revoked, role)"
                      " VALUES (?, ?, ?, NULL, ?)", [name, token_digest(token), store_clock(), role])
    return token


@in_turn
def annotator_for_token(store: Store, token: str, role: str = ANNOTATOR) -> str | None:
    """The annotator (or client) a token belongs to, or None for an unknown or revoked token or another role's."""
    rows = _rows(store, "SELECT annotator_id FROM annotators WHERE token_sha256 = ? AND revoked IS NULL"
                        " AND list_contains(?, coalesce(role, 'annotator'))", [token_digest(token), list(ROLES[role])])
    return rows[0][0] if rows else None


@in_turn
def start_session(store: Store, annotator: str) -> str:
    """A new session of the page for `annotator` (signed in with their token); returns its id, kept hashed."""
    session = secrets.token_urlsafe(32)
    store.con.execute("INSERT INTO sessions VALUES (?, ?, ?, NULL)", [token_digest(session), annotator, store_clock()])
    return session


@in_turn
def annotator_for_session(store: Store, session: str) -> str | None:
    """The annotator of a session not ended, whose token is not revoked; else None."""
    rows = _rows(store, "SELECT s.annotator_id FROM sessions s JOIN annotators a USING (annotator_id)"
                        " WHERE s.session_sha256 = ? AND s.ended IS NULL AND a.revoked IS NULL",
                 [token_digest(session)])
    return rows[0][0] if rows else None


@in_turn
def end_session(store: Store, session: str) -> None:
    store.con.execute("UPDATE sessions SET ended = ? WHERE session_sha256 = ? AND ended IS NULL",
                      [store_clock(), token_digest(session)])


@in_turn
def is_reviewer(store: Store, name: str) -> bool:
    return bool(_rows(store, "SELECT 1 FROM annotators WHERE annotator_id = ? AND role = ? AND revoked IS NULL",
                      [name, REVIEWER]))


@in_turn
def revoke_annotator(store: Store, name: str, role: str = ANNOTATOR) -> None:
    """Refuse the annotator's (or client's) token from now on; their labels stay."""
    if not _rows(store, "SELECT 1 FROM annotators WHERE annotator_id = ?"
                        " AND list_contains(?, coalesce(role, 'annotator'))", [name, list(ROLES[role])]):
        raise UnknownName(f"no {role} {name!r} in {store.path} (see: reljudge {role}s list)")
    store.con.execute("UPDATE annotators SET revoked = ? WHERE annotator_id = ? AND revoked IS NULL",
                      [store_clock(), name])


@in_turn
def list_annotators(store: Store, role: str = ANNOTATOR) -> list[dict]:
    """Every annotator (or client) with when they were added, whether revoked, and how many standing labels they
    have given."""
    rows = _rows(store, f"""
        WITH cur AS ({_CURRENT_ALL})
        SELECT a.annotator_id, coalesce(a.role, 'annotator'), a.created, a.revoked,
               count(c.label_id) FILTER (WHERE NOT c.cant_judge)
        FROM annotators a LEFT JOIN cur c USING (annotator_id)
        WHERE list_contains(?, coalesce(a.role, 'annotator')) GROUP BY ALL ORDER BY a.annotator_id""",
                 [list(ROLES[role])])
    return [{role: a, "role": kind, "created": c, "revoked": r, "labels": int(n)} for a, kind, c, r, n in rows]


# --- queues -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueItem:
    """One pair of a queue as selected: how many annotators it wants, why it was chosen, what the judge said."""

    pair_hash: str
    pair_id: str
    wanted: int
    score: float
    judge_label: str | None
    judge_proba: tuple[float, ...] | None


@dataclass(frozen=True)
class QueueInfo:
    """A queue's settings (the judge's identity as recorded) and progress: its items, those that go to two
    annotators, the standing labels, and the items that have every label they want."""

    name: str
    scheme: str
    level: str
    judge: str
    judge_identity: dict
    selection: str
    overlap: float
    source: str
    created: datetime
    n_items: int
    n_overlap: int
    n_labels: int
    n_done: int


@in_turn
def ensure_new_queue(store: Store, name: str) -> None:
    """Refuse a queue name that is not allowed, or taken."""
    check_name(name, "queue")
    if _rows(store, "SELECT 1 FROM queues WHERE name = ?", [name]):
        raise Conflict(f"queue {name!r} exists already in {store.path}: choose another --name")


@in_turn
def create_queue(store: Store, name: str, *, scheme: LabelScheme, judge: JudgeIdentity, selection: str,
                 overlap: float, source: str, items: Sequence[QueueItem]) -> None:
    """Record a queue and its items in one transaction (items are served in the order given)."""
    ensure_new_queue(store, name)
    frame = pd.DataFrame({
        "item_id": range(len(items)), "pair_hash": [i.pair_hash for i in items],
        "pair_id": [i.pair_id for i in items], "wanted": [i.wanted for i in items],
        "score": [i.score for i in items], "judge_label": [i.judge_label for i in items],
        "judge_proba": [list(i.judge_proba) if i.judge_proba is not None else None for i in items],
    })
    store.con.register("incoming_items", frame)
    try:
        with store.transaction():
            store.con.execute("INSERT INTO queues VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              [name, scheme.name, scheme.level, judge.spec, judge.to_json(), selection, overlap,
                               source, store_clock()])
            store.con.execute("INSERT INTO queue_items SELECT ?, item_id, pair_hash, pair_id, wanted, score,"
                              " judge_label, judge_proba FROM incoming_items", [name])
    finally:
        store.con.unregister("incoming_items")


@in_turn
def list_queues(store: Store) -> list[QueueInfo]:
    return [_queue_info(row) for row in _rows(store, _queue_sql("") + " ORDER BY q.created, q.name")]


@in_turn
def queue_info(store: Store, name: str) -> QueueInfo:
    """A queue's settings and progress.

    Raises:
        UnknownName: naming the queues the store holds.
    """
    rows = _rows(store, _queue_sql("WHERE q.name = ?"), [name])
    if not rows:
        known = ", ".join(q.name for q in list_queues(store)) or "none"
        raise UnknownName(f"no queue {name!r} in {store.path} (queues: {known}; make one with: reljudge queue add)")
    return _queue_info(rows[0])


def _queue_sql(where: str) -> str:
    """Each queue with its item count, overlap items, standing labels and items that have all they want."""
    return f"""
        WITH cur AS ({_CURRENT_ALL}), counts AS (
            SELECT i.queue, i.item_id, i.wanted, count(c.label_id) FILTER (WHERE NOT c.cant_judge) AS n
            FROM queue_items i LEFT JOIN cur c ON c.queue = i.queue AND c.item_id = i.item_id GROUP BY ALL)
        SELECT q.name, q.scheme, q.level, q.judge, q.judge_identity, q.selection, q.overlap, q.source, q.created,
               count(k.item_id), count(k.item_id) FILTER (WHERE k.wanted > 1), coalesce(sum(k.n), 0),
               count(k.item_id) FILTER (WHERE k.n >= k.wanted)
        FROM queues q LEFT JOIN counts k ON k.queue = q.name {where} GROUP BY ALL"""


def _queue_info(row: tuple) -> QueueInfo:
    *head, identity, selection, overlap, source, created, n_items, n_overlap, n_labels, n_done = row
    return QueueInfo(*head, json.loads(identity), selection, overlap, source, created, int(n_items),
                     int(n_overlap), int(n_labels), int(n_done))


@in_turn
def queued_pairs(store: Store) -> set[str]:
    """The pair hashes of every queue's items: a pair waiting for a label is not queued twice."""
    return {h for (h,) in _rows(store, "SELECT DISTINCT pair_hash FROM queue_items")}


@in_turn
def human_labels(store: Store, pair_hashes: Sequence[str]) -> dict[str, list[str]]:
    """Every human label the store holds for these pairs: from label files (human_labels) and from annotators."""
    wanted = pd.DataFrame({"pair_hash": list(dict.fromkeys(pair_hashes))})
    store.con.register("wanted_hashes", wanted)
    try:
        rows = _rows(store, f"""
            WITH cur AS ({_CURRENT_ALL})
            SELECT pair_hash, label FROM human_labels JOIN wanted_hashes USING (pair_hash)
            UNION ALL
            SELECT pair_hash, label FROM cur JOIN wanted_hashes USING (pair_hash) WHERE NOT cant_judge""")
    finally:
        store.con.unregister("wanted_hashes")
    found: dict[str, list[str]] = {}
    for pair_hash, label in rows:
        found.setdefault(pair_hash, []).append(label)
    return found


# --- showing pairs and taking labels: read once into a QueueState, then appended to -----------------------------

@in_turn
def load_queue(store: Store, name: str) -> QueueState:
    """A queue's items (with their pairs) and standing answers, read in two queries."""
    info = queue_info(store, name)
    items = [
        Item(item_id, pair_hash, pair_id, wanted, query or "", Product(*(f or "" for f in fields)))
        for item_id, pair_hash, pair_id, wanted, query, *fields in _rows(store, """
            SELECT i.item_id, i.pair_hash, i.pair_id, i.wanted, p.query, p.product_id, p.title, p.description,
                   p.bullets, p.brand, p.color, p.category, p.locale
            FROM queue_items i LEFT JOIN pairs p USING (pair_hash) WHERE i.queue = ? ORDER BY i.item_id""", [name])
    ]
    answers = [Answer(*row) for row in _rows(store, f"""
        SELECT label_id, item_id, annotator_id, label, created FROM ({_CURRENT_ALL}) c
        WHERE c.queue = ? ORDER BY label_id""", [name])]
    return QueueState(info.name, info.scheme, info.level, items, answers)


@in_turn
def insert_label(store: Store, queue: str, item: Item, annotator: str, *, label: str | None, note: str,
                 guideline: str, seconds: float | None, now: datetime) -> int:
    """Append one answer (label None: they could not judge it) and return its label id."""
    return _rows(store, """
        INSERT INTO annotator_labels (queue, item_id, pair_hash, annotator_id, label, cant_judge, note, guideline,
                                      seconds, created, undoes)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) RETURNING label_id""",
        [queue, item.item_id, item.pair_hash, annotator, label, label is None, note, guideline, seconds, now])[0][0]


@in_turn
def insert_undo(store: Store, queue: str, undone: Answer, item: Item, *, now: datetime) -> None:
    """Append the row that voids `undone`."""
    store.con.execute(
        "INSERT INTO annotator_labels (queue, item_id, pair_hash, annotator_id, label, cant_judge, note,"
        " guideline, seconds, created, undoes) VALUES (?, ?, ?, ?, NULL, FALSE, '', '', NULL, ?, ?)",
        [queue, item.item_id, item.pair_hash, undone.annotator, now, undone.label_id])


@in_turn
def current_labels(store: Store, queue: str) -> pd.DataFrame:
    """The standing labels of a queue, one row per (item, annotator), with the pair and the judge's label.

    Columns: item_id, pair_hash, pair_id, annotator_id, label (None when they could not judge), cant_judge, note,
    guideline, seconds, created, judge_label, judge_proba, query, title.
    """
    return store.con.execute(f"""
        WITH cur AS ({_CURRENT_ALL} AND l.queue = ?)
        SELECT c.item_id, c.pair_hash, i.pair_id, c.annotator_id, c.label, c.cant_judge, c.note, c.guideline,
               c.seconds, c.created, i.judge_label, i.judge_proba, p.query, p.title
        FROM cur c JOIN queue_items i ON i.queue = c.queue AND i.item_id = c.item_id
        LEFT JOIN pairs p ON p.pair_hash = c.pair_hash
        ORDER BY c.label_id""", [queue]).df()


@in_turn
def label_log(store: Store, queue: str) -> pd.DataFrame:
    """Every row of a queue's label log, undo rows included, in the order written."""
    return store.con.execute("SELECT * FROM annotator_labels WHERE queue = ? ORDER BY label_id", [queue]).df()
