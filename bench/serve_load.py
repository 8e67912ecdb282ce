"""`reljudge serve` under load: p50/p99 latency and pairs/s of 10-pair /v1/judge requests at concurrency 1, 8 and
32 on 127.0.0.1, against calling the judge in the same process.

    python bench/serve_load.py [--judge cross-encoder] [--requests 150] [--levels 1,8,32]
    python bench/serve_load.py --labelling       # an annotator's latency while the judge is busy with new pairs

Every request holds the 10 candidates of one ESCI query (../shared/data). Each concurrency level gets a fresh store,
so every pair is judged (a cold cache); a last pass repeats level 8 on the warm store, where every pair comes from
the cache. The load is bounded: a fixed number of requests per level, each with a timeout, and the server is
stopped at the end. The client runs on the same cores as the server, so the figures include its cost.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from machine import cpu_name, lscpu

from reljudge.io import read_pairs
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.records import Pair
from reljudge.service.batching import judge_requests
from reljudge.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "esci" / "esci_us_dev.csv"
PER_REQUEST = 10


def requests_of(pairs: list[Pair], n: int) -> list[list[Pair]]:
    """Up to `n` requests of 10 pairs, each from one query's candidates (full chunks only)."""
    by_query: dict[str, list[Pair]] = {}
    for p in pairs:
        by_query.setdefault(p.query_id, []).append(p)
    chunks = [group[i:i + PER_REQUEST] for group in by_query.values()
              for i in range(0, len(group) - PER_REQUEST + 1, PER_REQUEST)]
    return chunks[:n]


def body(chunk: list[Pair]) -> dict:
    fields = ("title", "brand", "color", "category", "bullets", "description", "locale")
    return {"pairs": [{"id": p.pair_id, "query": p.query, "query_id": p.query_id,
                       "product": {"id": p.product.product_id,
                                   **{f: getattr(p.product, f) for f in fields if getattr(p.product, f)}}}
                      for p in chunk]}


def in_process(spec: str, chunks: list[list[Pair]], workdir: Path) -> list[tuple[str, list[float]]]:
    """Latencies of the same 10-pair batches judged in this process: the judge alone, and through a store."""
    judge = load_judge(spec)
    judge.predict_proba(chunks[0])  # warm up (first-call allocations)
    bare = []
    for chunk in chunks:
        started = time.perf_counter()
        judge.predict_proba(chunk)
        bare.append(time.perf_counter() - started)
    stored = []
    with Store(workdir / "in-process.duckdb") as store:
        run_id = store.start_run(judge.identity, "serve_load in process")
        for chunk in chunks:
            started = time.perf_counter()
            judge_requests(judge, store, [chunk], run_id=run_id, batch_size=64)
            stored.append(time.perf_counter() - started)
    return [("in process: judge.predict_proba", bare),
            ("in process: through the store, one request at a time", stored)]


def start_server(spec: str, store: Path, max_batch: int = PER_REQUEST) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "reljudge.cli.main", "serve", "--judge", spec, "--store",
                                str(store), "--port", str(port), "--max-batch", str(max_batch), "--open"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"reljudge serve --judge {spec} did not get ready in 180 s")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


async def load(url: str, bodies: list[dict], concurrency: int) -> tuple[list[float], float]:
    """Send every body once with `concurrency` clients (one connection each); latencies and wall time."""
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while not queue.empty():
                b = queue.get_nowait()
                started = time.perf_counter()
                reply = await http.post("/v1/judge", json=b)
                reply.raise_for_status()
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(concurrency))), timeout=900)
    return latencies, time.perf_counter() - started


def labelling_while_judging(spec: str, pairs: list[Pair], workdir: Path, requests: int, size: int) -> None:
    """An annotator's next-pair and answer latencies on an idle server, then while `requests` /v1/judge requests of
    `size` new pairs each keep the judge busy (two at a time)."""
    from reljudge.service import people_store
    from reljudge.service.queues import add_queue

    store = workdir / "labelling.duckdb"
    queued = [dataclasses.replace(p, label=None) for p in pairs[:400]]  # pairs people have yet to label
    judged = pairs[400:400 + requests * size]
    with Store(store) as the_store:
        add_queue(the_store, load_judge("lexical"), queued, name="audit", select="random", n=len(queued),
                  overlap=0.0, source="serve_load")
        token = people_store.add_annotator(the_store, "ann")
    bodies = [body(judged[i:i + size]) for i in range(0, len(judged), size)]
    process, url = start_server(spec, store, max_batch=size)

    async def annotate(until: asyncio.Event | None, n: int) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"next pair": [], "answer": []}
        async with httpx.AsyncClient(base_url=url, timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            while (until is None and len(times["answer"]) < n) or (until is not None and not until.is_set()):
                started = time.perf_counter()
                shown = await http.get("/v1/queues/audit/next")
                times["next pair"].append(time.perf_counter() - started)
                started = time.perf_counter()
                answered = await http.post("/v1/queues/audit/answers", json={"item_id": shown.json()["item_id"],
                                                                            "label": "E"})
                answered.raise_for_status()
                times["answer"].append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
        return times

    async def busy() -> tuple[dict[str, list[float]], float]:
        done = asyncio.Event()

        async def judging() -> float:
            try:
                return (await load(url, bodies, 2))[1]
            finally:
                done.set()

        times, seconds = await asyncio.gather(annotate(done, 0), judging())
        return times, seconds

    try:
        idle = asyncio.run(annotate(None, 30))
        during, seconds = asyncio.run(busy())
    finally:
        stop_server(process)
    print(f"\nan annotator's requests, idle and while {len(bodies)} requests of {size} new pairs keep the judge busy "
          f"({len(judged) / seconds:,.0f} pairs/s judged meanwhile)\n")
    print("| request | when | n | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for when, times in (("idle", idle), ("judge busy", during)):
        for name, latencies in times.items():
            ms = np.array(latencies) * 1000
            print(f"| {name} | {when} | {len(ms)} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | "
                  f"{ms.max():.1f} |", flush=True)


def row(name: str, latencies: list[float], seconds: float | None = None) -> str:
    ms = np.array(latencies) * 1000
    seconds = seconds if seconds is not None else sum(latencies)
    return (f"| {name} | {len(latencies)} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | "
            f"{len(latencies) * PER_REQUEST / seconds:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="cross-encoder")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--requests", type=int, default=150, help="10-pair requests per concurrency level")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--labelling", action="store_true",
                        help="only an annotator's latency, idle and while 8 requests of 256 new pairs are judged")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data} is absent: this benchmark needs the shared ESCI data")
    pairs = read_pairs(args.data, scheme=get_scheme("esci")).pairs
    chunks = requests_of(pairs, args.requests)
    bodies = [body(chunk) for chunk in chunks]
    print(f"## `reljudge serve --judge {args.judge}`: {len(bodies)} requests of {PER_REQUEST} pairs per level\n")
    print(f"{cpu_name()}, {lscpu().get('CPU(s)', '?')} CPUs; {datetime.date.today()}; "
          f"python {platform.python_version()}\n")
    if args.labelling:
        with tempfile.TemporaryDirectory() as tmp:
            labelling_while_judging(args.judge, pairs, Path(tmp), requests=8, size=256)
        return
    print("| caller | requests | p50 ms | p99 ms | pairs/s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, latencies in in_process(args.judge, chunks, workdir):
            print(row(name, latencies), flush=True)
        for level in [int(x) for x in args.levels.split(",")]:
            process, url = start_server(args.judge, workdir / f"store-{level}.duckdb")
            try:
                latencies, seconds = asyncio.run(load(url, bodies, level))
                print(row(f"HTTP, concurrency {level}, cold store", latencies, seconds), flush=True)
                if level == 8:
                    latencies, seconds = asyncio.run(load(url, bodies, level))
                    print(row("HTTP, concurrency 8, every pair from the store", latencies, seconds), flush=True)
            finally:
                stop_server(process)


if __name__ == "__main__":
    main()
