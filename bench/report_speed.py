"""The daily report over a big store: 10 million judgments across 30 days, time and peak memory.

The store is made with DuckDB SQL straight into reljudge's schema (opened through `Store`, so its migrations run):
one pair per judgment, 40 pairs per query, three query sources as the pairs' segment, each judgment with its four
probabilities, a label mix that drifts slowly, and 1 pair in 500 labelled by two people who agree with the judge
85% of the time. Then `reljudge report` runs in a fresh process, once for the whole-store figures and once
segmented by query source (a join of the judgments with the pairs), each timed with its peak RSS. The store's
connection runs under its default memory limit (RELJUDGE_STORE_MEMORY, 256MB): DuckDB spills past it.

    python bench/report_speed.py                      # 10M judgments, 30 days (store under out/bench/)
    python bench/report_speed.py --judgments 1000000  # a quicker look
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "out" / "bench"
_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")

# label by a uniform u in [0, 1): E below 0.55 (falling by 0.002 a day), S to 0.75, C to 0.80, I above
_PAIRS = """
INSERT INTO pairs (pair_hash, query_id, query, product_id, title, description, bullets, brand, color, category,
                   locale, first_seen, segments, pkey)
SELECT h, 'q' || (i // 40), 'query ' || (i // 40), 'P' || i, 'product ' || i, '', '',
       'brand ' || (i % 97), '', '', 'us', TIMESTAMP '2026-01-01',
       MAP {'query_source': ['organic', 'ads', 'suggest'][1 + (i // 40) % 3]}, md5_number_upper(h)
FROM (SELECT i, substr(md5(i::VARCHAR), 1, 24) AS h FROM range(?) t(i))
"""
_JUDGMENTS = """
INSERT INTO judgments (pair_hash, judge, context, scheme, label, proba, reason, raw, run_id, created, pkey)
SELECT h, 'cross-encoder@bench0000000', '', 'esci',
       CASE WHEN u < 0.55 - 0.002 * d THEN 'E' WHEN u < 0.75 THEN 'S' WHEN u < 0.80 THEN 'C' ELSE 'I' END,
       [u, 1 - u, 0.0, 0.0], '', '', 'run' || d,
       TIMESTAMP '2026-01-01' + to_days(CAST(d AS INTEGER)) + to_seconds(CAST(i % 86400 AS BIGINT)), md5_number_upper(h)
FROM (SELECT i, substr(md5(i::VARCHAR), 1, 24) AS h, {day} AS d, hash(i) / 18446744073709551616.0 AS u
      FROM range(?) t(i))
"""
_RUNS = """
INSERT INTO runs (run_id, judge, input, started, finished, n_pairs, n_cached, status)
SELECT 'run' || d, 'cross-encoder@bench0000000', 'day ' || d, TIMESTAMP '2026-01-01' + to_days(CAST(d AS INTEGER)),
       TIMESTAMP '2026-01-01' + to_days(CAST(d AS INTEGER)), 0, 0, 'done' FROM range(?) t(d)
"""
_PEOPLE = """
INSERT INTO human_labels (pair_hash, source, annotator, scheme, label, added)
SELECT j.pair_hash, 'bench', a.name, 'esci',
       CASE WHEN hash(j.pair_hash || a.name) % 100 < 85 THEN j.label ELSE ['E', 'S', 'C', 'I'][1 + CAST(hash(a.name
            || j.pair_hash) % 4 AS BIGINT)] END, j.created
FROM judgments j, (VALUES ('ann'), ('bob')) a(name) WHERE hash(j.pair_hash) % 500 = 0
"""


def make_store(path: Path, judgments: int, days: int, chronological: bool = False) -> float:
    """Write the store with SQL; returns the seconds it took. Each day's judgments are spread over the table, or
    with `chronological` written one day after the other, as daily runs write them."""
    from reljudge.store import Store

    started = time.perf_counter()
    with Store(path) as store:
        store.con.execute("SET memory_limit = '2GB'")
        store.con.execute(_PAIRS, [judgments])
        day = f"i // {-(-judgments // days)}" if chronological else "(i // 40) % ?"
        store.con.execute(_JUDGMENTS.format(day=day), [judgments] if chronological else [days, judgments])
        store.con.execute(_RUNS, [days])
        store.con.execute(_PEOPLE)
        store.con.execute("CHECKPOINT")
    return time.perf_counter() - started


def ensure_store(path: Path, judgments: int, days: int, chronological: bool = False) -> Path:
    """The store at `path`, made first (saying so) unless an earlier run left it there."""
    WORK.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"making {path} ({judgments:,} judgments over {days} days) ...", flush=True)
        print(f"  made in {make_store(path, judgments, days, chronological):.0f} s, "
              f"{path.stat().st_size / 2**20:,.0f} MiB", flush=True)
    return path


def measure(command: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, exit status) of a command run in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True)
    seconds, kib, status = done.stdout.split()
    return float(seconds), int(kib) / 1024, int(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    store = ensure_store(WORK / f"report-{args.judgments}.duckdb", args.judgments, args.days)
    reljudge = [sys.executable, "-m", "reljudge.cli.main", "report", "--store", str(store)]
    runs = {
        "--json (figures and alarms, no page)": [*reljudge, "--json"],
        "--output report.html (page with charts)": [*reljudge, "--output", str(WORK / "report.html")],
        "--by query_source --output report.html": [*reljudge, "--by", "query_source", "--output",
                                                   str(WORK / "report-by.html")],
    }
    print(f"{'report':45s} {'seconds':>8s} {'peak RSS MiB':>13s} {'exit':>5s}")
    for name, command in runs.items():
        seconds, mib, status = measure(command)
        print(f"{name:45s} {seconds:8.1f} {mib:13.0f} {status:5d}", flush=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak RSS, store making included: {own:.0f} MiB)")


if __name__ == "__main__":
    main()
