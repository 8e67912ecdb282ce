"""The report's reads from the store, each one DuckDB query that returns a small aggregate.

Judgments never come into Python whole: the label mix is counted per day, label and segment inside DuckDB, and
only the pairs people labelled (a few thousand) come out row by row, for agreement and its bootstrap.

A judgment's day is the UTC date of its `created` time: the day it was judged. A pair the store's cache answered
again on a later day is not judged again, so it counts on the day it was first judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from reljudge.errors import ReljudgeError
from reljudge.labels import LabelScheme, get_scheme
from reljudge.report.options import ReportOptions

#: Columns of the store's pairs table a report may segment by; any other name is looked up in the pairs' segments.
PAIR_COLUMNS = ("query_id", "query", "product_id", "brand", "color", "category", "locale")

#: The value shown for a pair that does not carry the segment column.
NO_VALUE = "(none)"

#: The annotator name under which a pairs file's own label column is stored (see cli/session.record_inputs).
INPUT_ANNOTATOR = "input"


@dataclass(frozen=True)
class Window:
    """The days, judge and scheme one report covers, resolved from the options and the store."""

    judge: str
    scheme: LabelScheme
    since: date
    until: date
    reference: tuple[date, date]
    segments: dict[str, str]

    @property
    def first(self) -> date:
        """The first day read: the window's, or the reference's when it starts earlier."""
        return min(self.since, self.reference[0])

    def params(self) -> list[object]:
        """Judge, scheme, and the half-open time range [first, until + 1 day) that `_JUDGED` filters on."""
        return [self.judge, self.scheme.name, self.first, self.until + timedelta(days=1)]


_JUDGED = "j.judge = ? AND j.scheme = ? AND j.created >= ? AND j.created < ?"


def resolve_window(con, options: ReportOptions, store_path: str) -> Window:
    """Fill in the options' defaults from the store: the last day, the busiest judge, its scheme.

    Raises:
        ReljudgeError: the store holds no judgments (for the judge and scheme given), the window is empty or
            inverted, or a --by column is neither a pairs column nor a segment any pair carries.
    """
    until = options.until or _last_day(con, options, store_path)
    since = options.since or until - timedelta(days=29)
    if since > until:
        raise ReljudgeError(f"--since {since} is after the last day {until}: nothing to report")
    judge = options.judge or _busiest_judge(con, until, options.scheme, store_path)
    scheme_name = options.scheme or _judge_scheme(con, judge, since, until, store_path)
    reference = (until - timedelta(days=options.reference_days), until - timedelta(days=1))
    segments = {column: _segment_expression(con, column, store_path) for column in options.by}
    return Window(judge, get_scheme(scheme_name), since, until, reference, segments)


def _last_day(con, options: ReportOptions, store_path: str) -> date:
    where, params = _judge_filter(options.judge, options.scheme)
    day = con.execute(f"SELECT CAST(max(created) AS DATE) FROM judgments j {where}", params).fetchall()[0][0]
    if day is None:
        which = " ".join(f"{k} {v}" for k, v in (("judge", options.judge), ("scheme", options.scheme)) if v)
        known = _known_judges(con)
        raise ReljudgeError(f"the store {store_path} holds no judgments{' of ' + which if which else ''} "
                            + (f"(judges in the store: {', '.join(known)})" if known else
                               "(judge pairs first: reljudge judge PAIRS --output FILE)"))
    return day


def _known_judges(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT judge FROM judgments ORDER BY 1 LIMIT 20").fetchall()]


def _judge_filter(judge: str | None, scheme: str | None) -> tuple[str, list[object]]:
    clauses = [(c, v) for c, v in (("j.judge = ?", judge), ("j.scheme = ?", scheme)) if v]
    return ("WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""), [v for _, v in clauses]


def _busiest_judge(con, day: date, scheme: str | None, store_path: str) -> str:
    where, params = _judge_filter(None, scheme)
    rows = con.execute(
        f"SELECT judge FROM judgments j {where} {'AND' if where else 'WHERE'} CAST(created AS DATE) = ?"
        " GROUP BY judge ORDER BY count(*) DESC, judge LIMIT 1", [*params, day]).fetchall()
    if not rows:
        raise ReljudgeError(f"the store {store_path} holds no judgments on {day}")
    return rows[0][0]


def _judge_scheme(con, judge: str, since: date, until: date, store_path: str) -> str:
    rows = con.execute(
        "SELECT scheme FROM judgments j WHERE judge = ? AND created >= ? AND created < ?"
        " GROUP BY scheme ORDER BY count(*) DESC LIMIT 1", [judge, since, until + timedelta(days=1)]).fetchall()
    if not rows:
        raise ReljudgeError(f"--judge {judge}: no judgments from {since} to {until} in {store_path} "
                            f"(judges in the store: {', '.join(_known_judges(con)) or 'none'})")
    return rows[0][0]


def _segment_expression(con, column: str, store_path: str) -> str:
    """The SQL for a --by column over the pairs table `p`: a column of its own, or a key of its segments."""
    if column in PAIR_COLUMNS:
        return f'p."{column}"'
    key = column.replace("'", "''")
    if con.execute(f"SELECT 1 FROM pairs WHERE segments['{key}'] IS NOT NULL LIMIT 1").fetchall():
        return f"p.segments['{key}']"
    keys = [r[0] for r in con.execute(
        "SELECT DISTINCT unnest(map_keys(segments)) AS k FROM pairs ORDER BY k LIMIT 30").fetchall()]
    raise ReljudgeError(f"--by {column}: no pair in {store_path} carries that column (pair columns: "
                        f"{', '.join(PAIR_COLUMNS)}; segments: {', '.join(keys) or 'none'})")


def volume(con, window: Window) -> pd.DataFrame:
    """Judgments per day and judge spec in the window, whatever the judge (same scheme): day, judge, n, unscored."""
    return con.execute(
        "SELECT CAST(created AS DATE) AS day, judge, count(*) AS n, count(*) FILTER (WHERE label IS NULL) AS unscored"
        " FROM judgments WHERE scheme = ? AND created >= ? AND created < ? GROUP BY ALL ORDER BY day, judge",
        window.params()[1:]).df()


def identities(con, window: Window) -> dict[str, str]:
    """The recorded identity (JSON) of each judge spec that ran in the window, where the store keeps one."""
    has_identity = con.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'runs' AND column_name = 'identity'").fetchall()
    if not has_identity:
        return {}
    rows = con.execute(
        "SELECT judge, CAST(arg_max(identity, started) AS VARCHAR) FROM runs WHERE identity IS NOT NULL"
        " AND started >= ? AND started < ? GROUP BY judge", window.params()[2:]).fetchall()
    return dict(rows)


def label_mix(con, window: Window) -> pd.DataFrame:
    """Scored judgments of the window's judge per day and label, overall and per value of each segment column.

    One pass with GROUPING SETS, so a store of millions of judgments is read once for every segment column.

    Returns:
        day, column ("" for all pairs), value ("" for all pairs), label, n.
    """
    columns = list(window.segments)
    aliases = [f"s{i}" for i in range(len(columns))]
    selected = "".join(f", coalesce(CAST({window.segments[c]} AS VARCHAR), '{NO_VALUE}') AS {a}"
                       for c, a in zip(columns, aliases))
    join = " JOIN pairs p ON p.pair_hash = j.pair_hash" if columns else ""
    sets = ", ".join(["(day, label)", *(f"(day, label, {a})" for a in aliases)])
    flags = "".join(f", GROUPING({a}) AS g{i}" for i, a in enumerate(aliases))
    frame = con.execute(
        f"WITH scored AS (SELECT CAST(j.created AS DATE) AS day, j.label{selected} FROM judgments j{join}"
        f" WHERE {_JUDGED} AND j.label IS NOT NULL)"
        f" SELECT day, label{''.join(', ' + a for a in aliases)}{flags}, count(*) AS n FROM scored"
        f" GROUP BY GROUPING SETS ({sets})", window.params()).df()
    return _long_segments(frame, columns)


def _long_segments(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """GROUPING SETS rows -> one `column`/`value` pair per row ("" and "" for the all-pairs set)."""
    out = frame[["day", "label", "n"]].assign(column="", value="")
    for i, column in enumerate(columns):
        mine = frame[f"g{i}"] == 0
        out.loc[mine, "column"] = column
        out.loc[mine, "value"] = frame.loc[mine, f"s{i}"].astype(str)
    out["n"] = out["n"].astype(int)
    return out.sort_values(["column", "value", "day", "label"]).reset_index(drop=True)


def labelled(con, window: Window) -> pd.DataFrame:
    """The window's scored judgments of pairs people labelled, one row per judgment and annotator.

    People's labels of the report's scheme come from the store's human labels (label files, `labels import`) and
    from the labelling page's queues; a pairs file's own label column (annotator "input") is left out for pairs
    whose annotators' labels are there, which it usually aggregates.

    Returns:
        day, unit (pair hash and judgment context), query_id, judge_label, annotator, human_label, sampled (the
        pair is an item of a random queue of the scheme, or its labels came in a file imported as a random
        sample: a uniform sample, see report/corrected.py), and one column per segment.
    """
    columns = list(window.segments)
    selected = "".join(f", coalesce(CAST({window.segments[c]} AS VARCHAR), '{NO_VALUE}') AS \"{c}\""
                       for c in columns)
    page, page_params = _page_labels(con, window.scheme.name)
    sampled, sampled_params = _randomly_sampled(con, window.scheme.name)
    return con.execute(
        f"WITH people AS (SELECT pair_hash, annotator, label FROM human_labels WHERE scheme = ?{page}),"
        " kept AS (SELECT * FROM people h WHERE annotator <> ? OR NOT EXISTS"
        "   (SELECT 1 FROM people o WHERE o.pair_hash = h.pair_hash AND o.annotator <> ?))"
        " SELECT CAST(j.created AS DATE) AS day, j.pair_hash || '/' || j.context AS unit, p.query_id,"
        f" j.label AS judge_label, h.annotator, h.label AS human_label, {sampled} AS sampled{selected}"
        " FROM judgments j JOIN kept h ON h.pair_hash = j.pair_hash JOIN pairs p ON p.pair_hash = j.pair_hash"
        f" WHERE {_JUDGED} AND j.label IS NOT NULL ORDER BY day, unit, h.annotator",
        [window.scheme.name, *page_params, INPUT_ANNOTATOR, INPUT_ANNOTATOR, *sampled_params,
         *window.params()]).df()


def _has_people_tables(con) -> bool:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_name IN"
                                        " ('annotator_labels', 'queues', 'queue_items')").fetchall()}
    return len(tables) == 3


def _randomly_sampled(con, scheme: str) -> tuple[str, list[object]]:
    """SQL true for a judgment `j` whose pair a random queue of the scheme holds, or a label file imported as a
    random sample (`labels import --random-sample`)."""
    files = ("EXISTS (SELECT 1 FROM human_labels hs WHERE hs.pair_hash = j.pair_hash AND hs.scheme = ?"
             " AND hs.sampled)")
    if not _has_people_tables(con):
        return files, [scheme]
    return (f"({files} OR EXISTS (SELECT 1 FROM queue_items qi JOIN queues q ON q.name = qi.queue"
            " WHERE qi.pair_hash = j.pair_hash AND q.selection = 'random' AND q.scheme = ?))"), [scheme, scheme]


def _page_labels(con, scheme: str) -> tuple[str, list[object]]:
    """The labelling page's standing labels of the scheme (undone ones and "can't judge" left out), as a UNION
    branch of `labelled`'s people; nothing where the store has no labelling tables."""
    if not _has_people_tables(con):
        return "", []
    return (" UNION ALL SELECT l.pair_hash, l.annotator_id, l.label FROM annotator_labels l"
            " JOIN queues q ON q.name = l.queue WHERE q.scheme = ? AND l.undoes IS NULL AND l.label IS NOT NULL"
            " AND NOT coalesce(l.cant_judge, false)"
            " AND NOT EXISTS (SELECT 1 FROM annotator_labels u WHERE u.undoes = l.label_id)"), [scheme]
