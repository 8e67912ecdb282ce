"""Batch judging at scale: `reljudge judge` into shards against the obvious pandas script, on real pairs.

Inputs are Home Depot's 74,067 real pairs (../shared/data/homedepot/train.csv) repeated with distinct query ids,
product ids and pair ids per copy, so no copy is served from the store's cache, grouped by query, as Parquet
under out/bench/ (git ignores out/). Every command runs in its own process; wall time and peak RSS are that
process's.

    python bench/batch_speed.py            # 148,134 pairs: reljudge vs the pandas way; one kill -9 and resume
    python bench/batch_speed.py --ray      # also --engine ray (a local Ray with --workers 2)
    python bench/batch_speed.py --memory   # peak memory at 10,000 vs 1,000,000 pairs (about 40 minutes)
    python bench/batch_speed.py --memory --ways store   # only the default way (store on)

The pandas way is what a user would write without reljudge's streaming: read the whole file with pandas, build
the pairs, call the judge's predict_proba on all of them, write one Parquet file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HOMEDEPOT = ROOT.parent / "shared" / "data" / "homedepot" / "train.csv"
WORK = ROOT / "out" / "bench"
COLUMNS = "query=search_term,product_id=product_uid,pair_id=id"
_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")


def repeated_homedepot(pairs: int) -> Path:
    """Home Depot repeated to `pairs` rows, every copy with its own query, product and pair ids, grouped by query."""
    path = WORK / f"homedepot-{pairs}.parquet"
    if path.exists():
        return path
    base = pd.read_csv(HOMEDEPOT, dtype=str, keep_default_na=False, encoding="latin-1")
    base = base.assign(query_id=pd.factorize(base["search_term"])[0].astype(str))
    base = base.sort_values("query_id", key=lambda q: q.astype(int), kind="stable")
    copies = []
    for copy in range(-(-pairs // len(base))):
        copies.append(base.assign(query_id=f"r{copy}-" + base["query_id"], id=f"r{copy}-" + base["id"],
                                  product_uid=base["product_uid"] + f"-r{copy}"))
    WORK.mkdir(parents=True, exist_ok=True)
    pd.concat(copies).head(pairs).to_parquet(path, index=False)
    return path


def measure(command: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of a command run in a fresh process; fails if the command does."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True)
    seconds, kib, status = done.stdout.split()
    if status != "0":
        raise SystemExit(f"{' '.join(command)} failed with status {status}:\n{done.stderr}")
    return float(seconds), int(kib) / 1024


def reljudge(source: Path, out: Path, *extra: str, store: Path | None = None) -> list[str]:
    store_args = ["--store", str(store)] if store else ["--no-store"]
    return [sys.executable, "-m", "reljudge.cli.main", "judge", str(source), "--judge", "lexical", "--layout", "table",
            "--columns", COLUMNS, "--output", str(out), "--overwrite", *store_args, *extra]


def fresh(path: Path) -> Path:
    """A path with nothing at it (an old store or output removed)."""
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    return path


def pandas_way(source: Path, out: Path) -> None:
    """The obvious script: the whole file in a DataFrame, predict_proba on every pair at once."""
    import numpy as np

    from reljudge.judges.registry import load_judge
    from reljudge.records import Pair, Product

    frame = pd.read_parquet(source)
    judge = load_judge("lexical")
    pairs = [Pair(query, Product(product_id, title), query_id=query_id, pair_id=pair_id)
             for query, product_id, title, query_id, pair_id in zip(
                 frame["search_term"], frame["product_uid"], frame["product_title"], frame["query_id"], frame["id"])]
    proba = judge.predict_proba(pairs)
    labels = np.array(judge.scheme.labels)
    frame = frame.assign(label=labels[proba.argmax(axis=1)], **{f"p_{label}": proba[:, k] for k, label in
                                                                enumerate(judge.scheme.labels)})
    frame.to_parquet(out, index=False)


def row(name: str, pairs: int, seconds: float, peak: float) -> str:
    return f"| {name} | {pairs:,} | {seconds:.1f} | {pairs / seconds:,.0f} | {peak:,.0f} |"


def speed(pairs: int, with_ray: bool) -> None:
    source = repeated_homedepot(pairs)
    out, store = WORK / "judged", WORK / "store.duckdb"
    print("| how | pairs | seconds | pairs/s | peak RSS (MiB) |\n|---|---|---|---|---|")
    took, peak = measure(reljudge(source, fresh(out), store=fresh(store)))
    print(row("`reljudge judge` into shards, store on (the default)", pairs, took, peak))
    uninterrupted = took
    took, peak = measure(reljudge(source, fresh(out)))
    print(row("`reljudge judge` into shards, `--no-store`", pairs, took, peak))
    took, peak = measure([sys.executable, __file__, "--pandas-way", str(source), str(WORK / "pandas.parquet")])
    print(row("pandas: read all, `predict_proba` on all, write", pairs, took, peak))
    if with_ray:
        took, peak = measure(reljudge(source, fresh(out), "--engine", "ray", "--workers", "2", store=fresh(store)))
        print(row("`reljudge judge --engine ray --workers 2` (local Ray; RSS of the driver only)", pairs, took, peak))
    kill_and_resume(source, out, store, uninterrupted)


def kill_and_resume(source: Path, out: Path, store: Path, uninterrupted: float) -> None:
    """Kill the run with SIGKILL once half its shards are done, run it again, and count the time lost."""
    command = reljudge(source, fresh(out), store=fresh(store))
    shards = -(-len(pd.read_parquet(source, columns=["id"])) // 8192)
    started = time.perf_counter()
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while run.poll() is None:
        try:
            if len(json.loads((out / "_manifest.json").read_text())["shards"]) >= shards // 2:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    killed_after = time.perf_counter() - started
    done = len(json.loads((out / "_manifest.json").read_text())["shards"])
    rerun, _ = measure([c for c in command if c != "--overwrite"])
    judged = pd.read_parquet(out, columns=["pair_id"])["pair_id"]
    print(f"\nkill -9 after {killed_after:.1f}s ({done} of about {shards} shards done), rerun {rerun:.1f}s: "
          f"{killed_after + rerun - uninterrupted:.1f}s lost against the uninterrupted {uninterrupted:.1f}s; "
          f"{len(judged):,} rows, every pair_id once: {judged.is_unique}")


def memory(ways: list[str]) -> None:
    big = repeated_homedepot(1_000_000)
    small = WORK / "homedepot-10000.parquet"
    if not small.exists():
        pd.read_parquet(big).head(10_000).to_parquet(small, index=False)
    commands = {
        "store": ("`reljudge judge` into shards, store on",
                  lambda source: reljudge(source, fresh(WORK / "judged"), store=fresh(WORK / "store.duckdb"))),
        "no-store": ("`reljudge judge` into shards, `--no-store`",
                     lambda source: reljudge(source, fresh(WORK / "judged"))),
        "pandas": ("pandas: read all, `predict_proba` on all, write",
                   lambda source: [sys.executable, __file__, "--pandas-way", str(source),
                                   str(WORK / "pandas.parquet")]),
    }
    print("| how | pairs | seconds | pairs/s | peak RSS (MiB) |\n|---|---|---|---|---|")
    for source, pairs in ((small, 10_000), (big, 1_000_000)):
        for way in ways:
            name, command = commands[way]
            took, peak = measure(command(source))
            print(row(name, pairs, took, peak), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2 * 74_067, help="pairs in the speed comparison")
    parser.add_argument("--ray", action="store_true", help="also time --engine ray")
    parser.add_argument("--memory", action="store_true", help="peak memory at 10k vs 1M pairs instead")
    parser.add_argument("--ways", default="store,no-store,pandas", help="with --memory: which of store,no-store,pandas")
    parser.add_argument("--pandas-way", nargs=2, metavar=("SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_way:
        pandas_way(Path(args.pandas_way[0]), Path(args.pandas_way[1]))
        return
    if not HOMEDEPOT.exists():
        raise SystemExit(f"{HOMEDEPOT} is absent: this benchmark reads the shared Home Depot pairs")
    memory(args.ways.split(",")) if args.memory else speed(args.pairs, args.ray)


if __name__ == "__main__":
    main()
