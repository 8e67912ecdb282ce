"""The store's write and lookup cost against its history: an empty store against one of 50M judgments.

The big store is made with DuckDB SQL in reljudge's schema (bench/report_speed.py's maker: one pair per judgment,
365 daily runs written one day after the other, 1 pair in 500 labelled by two people). Then, in a fresh process
per store, as `reljudge judge` does it (a shared store, one turn per step, under the store's default memory limit):
three new 8,192-pair chunks are judged by the lexical judge through `judge_pairs` (record the pairs, look up the
cache, judge, save), each step timed, then the same chunk again (every judgment from the cache). Last, `reljudge
report` over the year, timed with its peak RSS, from the store and from the Parquet layout `reljudge store export`
writes (its time too).

    python bench/store_scale.py                          # 50M judgments over 365 days (stores under out/bench/)
    python bench/store_scale.py --judgments 1000000      # a quicker look
    python bench/store_scale.py --judge cross-encoder    # the chunk judged by the shipped default instead
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from report_speed import WORK, ensure_store, measure

CHUNK = 8192
TRIES = 3


def chunk_pairs(seed: int, n: int = CHUNK) -> list:
    """n new pairs (none in the big store): 32 products for each of n / 32 queries."""
    from reljudge.records import Pair, Product

    return [Pair(query=f"steel water bottle {seed} {q}", query_id=f"s{seed}q{q}",
                 product=Product(product_id=f"S{seed}-{q}-{d}", title=f"insulated bottle {d} for {q} by brand {seed}",
                                 brand=f"brand {d % 7}"))
            for q in range(n // 32) for d in range(32)]


def child(store_path: str, judge_spec: str) -> None:
    """Judge TRIES new chunks, then the last again, on `store_path`; print each step's seconds as JSON."""
    from reljudge.infer.batch import judge_pairs
    from reljudge.judges.registry import load_judge
    from reljudge.store import Store

    judge = load_judge(judge_spec)
    judge.predict_proba(chunk_pairs(99, 80))  # warm-up: the model loaded, its first batch run
    store = Store(store_path, shared=True)
    steps = {"add_pairs": store.add_pairs, "cached": store.cached, "save_judgments": store.save_judgments}
    spent: dict[str, float] = {}

    def timed(name):
        def step(*args, **kwargs):
            started = time.perf_counter()
            try:
                return steps[name](*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
        return step

    for name in steps:
        setattr(store, name, timed(name))
    rows = []
    pairs = []
    first = time.time_ns()  # chunks no earlier run of the bench wrote into the store
    for seed in range(TRIES + 1):
        pairs = chunk_pairs(first + seed) if seed < TRIES else pairs
        spent.clear()
        started = time.perf_counter()
        store.add_pairs(pairs)
        run = judge_pairs(pairs, judge, store=store, chunk_size=CHUNK, input_name=f"chunk {seed}")
        rows.append({"chunk": "cached" if seed == TRIES else f"new {seed + 1}",
                     "seconds": time.perf_counter() - started, "judged": run.n_judged, **spent})
    store.close()
    print(json.dumps({"rows": rows, "peak_rss_mib": peak_rss_mib(), "limit": store.memory_limit}))


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(store: Path, judge: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", str(store), "--judge", judge],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=50_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--judge", default="lexical")
    parser.add_argument("--no-report", action="store_true", help="only the chunks, not the year's report")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.judge)
        return
    big = ensure_store(WORK / f"scale-{args.judgments}-{args.days}.duckdb", args.judgments, args.days,
                       chronological=True)
    empty = WORK / "scale-empty.duckdb"
    for suffix in ("", ".wal"):
        Path(str(empty) + suffix).unlink(missing_ok=True)
    results = {"empty": run_child(empty, args.judge), f"{args.judgments:,}": run_child(big, args.judge)}
    print(f"{CHUNK:,}-pair chunks judged by {args.judge} (seconds; a shared store, one turn per step)")
    print(f"{'store':>12s} {'chunk':>8s} {'whole':>7s} {'add_pairs':>10s} {'cached':>7s} {'save':>7s} {'judged':>7s}")
    for name, result in results.items():
        for r in result["rows"]:
            print(f"{name:>12s} {r['chunk']:>8s} {r['seconds']:7.2f} {r.get('add_pairs', 0):10.3f} "
                  f"{r.get('cached', 0):7.3f} {r.get('save_judgments', 0):7.3f} {r['judged']:7d}")
    new = {name: sorted(r["seconds"] for r in result["rows"] if r["chunk"] != "cached")[TRIES // 2]
           for name, result in results.items()}
    empty_s, big_s = new.values()
    big_result = list(results.values())[1]
    print(f"median new chunk: {empty_s:.2f} s empty, {big_s:.2f} s with {args.judgments:,} judgments "
          f"({big_s / empty_s:.2f}x); peak RSS {results['empty']['peak_rss_mib']:.0f} / "
          f"{big_result['peak_rss_mib']:.0f} MiB (the store's memory limit: {big_result['limit']})")
    if args.no_report:
        return
    cli = [sys.executable, "-m", "reljudge.cli.main"]
    lake = WORK / f"scale-{args.judgments}-{args.days}-lake"
    for name, command in {
        "report --json": [*cli, "report", "--store", str(big), "--json"],
        "report --output page.html": [*cli, "report", "--store", str(big), "--output", str(WORK / "scale.html")],
        "store export (Parquet by day, every day)": [*cli, "store", "export", str(lake), "--store", str(big)],
        "report --lake --json": [*cli, "report", "--lake", str(lake), "--json"],
        "report --lake --output page.html": [*cli, "report", "--lake", str(lake), "--output",
                                             str(WORK / "scale-lake.html")],
    }.items():
        seconds, mib, status = measure(command)
        print(f"{name} over {args.days} days: {seconds:.1f} s, peak RSS {mib:.0f} MiB, exit {status}", flush=True)


if __name__ == "__main__":
    main()
