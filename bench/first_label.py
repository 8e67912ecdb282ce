"""Time from process start to the first label, for `reljudge judge PAIRS --output OUT.csv` on a small file.

Each run is a fresh process with a fresh store (RELJUDGE_STORE in a new temporary directory), so nothing comes from
a cache but the operating system's file cache (one untimed run warms it); the figure is the wall time until the
command exits with every label written (the small-file path writes them at once). The obvious alternative, in the
same run and the same way: a fresh Python process that loads sentence-transformers' CrossEncoder on a model of the
judge's size (the base MiniLM cut to the shipped judge's two layers), scores the same pairs' query and title, and
writes a CSV. Then, in one process, where the judge's time goes, step by step.

    python bench/first_label.py [--pairs examples/pairs.csv] [--runs 7] [--judge cross-encoder]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from machine import cpu_name, lscpu

ROOT = Path(__file__).resolve().parents[1]

#: What a user of sentence-transformers would run instead: load a cross-encoder, score the pairs, write them.
ALTERNATIVE = """
import csv, sys
from sentence_transformers import CrossEncoder
from reljudge.train.encoder import default_base
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
model = CrossEncoder(str(default_base()), num_labels=4, max_length=64, device="cpu",
                     config_kwargs={"num_hidden_layers": 2})
scores = model.predict([(r["query"], r["product_title"]) for r in rows], batch_size=32)
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerows([r["product_id"], *s] for r, s in zip(rows, scores.tolist()))
"""


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds from starting `command` to its exit (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def reljudge_run(pairs: Path, judge: str) -> float:
    with tempfile.TemporaryDirectory(prefix="reljudge-first-label-") as scratch:
        env = {**os.environ, "RELJUDGE_STORE": str(Path(scratch) / "store.duckdb")}
        reljudge = Path(sys.executable).with_name("reljudge")
        return timed([str(reljudge), "judge", str(pairs), "--judge", judge, "--output",
                      str(Path(scratch) / "out.csv")], env)


def alternative_run(pairs: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="reljudge-first-label-") as scratch:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        return timed([sys.executable, "-c", ALTERNATIVE, str(pairs), str(Path(scratch) / "out.csv")], env)


def steps(pairs: Path, judge: str) -> list[tuple[str, float]]:
    """Where one process's time goes, in the order `reljudge judge` meets each step (imports counted where first
    paid). Run in a child, so that nothing is imported already."""
    code = f"""
import time
clock = [time.perf_counter()]
def lap(name):
    now = time.perf_counter(); print(f"{{name}}\\t{{now - clock[0]:.4f}}"); clock[0] = now
import typer; from reljudge.cli import main; lap("CLI: typer and the command table")
import numpy; lap("numpy")
import pandas; lap("pandas (reljudge.io, the store, the output frame)")
import duckdb; lap("duckdb")
from reljudge.judges.registry import load_judge; lap("judge registry (pydantic options)")
judge = load_judge({judge!r}); lap("judge load (onnxruntime session, tokenizer, vectors)")
from reljudge.io import read_pairs, write_judgments; read = read_pairs({str(pairs)!r}, scheme=judge.scheme)
lap("read and check the pairs")
import tempfile, pathlib; scratch = pathlib.Path(tempfile.mkdtemp())
from reljudge.store import Store; store = Store(scratch / "store.duckdb"); lap("open the store (schema checks)")
from reljudge.infer.batch import judge_pairs, to_frame
run = judge_pairs(read.pairs, judge, store=store, input_name="pairs", batch_size=64); lap("judge and store")
write_judgments(scratch / "out.csv", to_frame(read.pairs, run.judgments, judge.scheme), scheme=judge.scheme)
lap("write the output")
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return [(name, float(seconds)) for name, seconds in (line.split("\t") for line in out.splitlines())]


def cpu_kind() -> str:
    """The CPU's model name and whether it has VNNI, the int8 instructions the encoder's speed turns on."""
    flags = lscpu().get("Flags", "").split()
    return f"{cpu_name()}, {'with' if 'avx512_vnni' in flags or 'avx_vnni' in flags else 'without'} VNNI"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=Path, default=ROOT / "examples" / "pairs.csv")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--judge", default="cross-encoder")
    args = parser.parse_args()
    n_pairs = sum(1 for _ in args.pairs.open(encoding="utf-8")) - 1
    reljudge_run(args.pairs, args.judge)  # warm the file cache
    alternative_run(args.pairs)
    ours = [reljudge_run(args.pairs, args.judge) for _ in range(args.runs)]
    theirs = [alternative_run(args.pairs) for _ in range(args.runs)]
    print(f"# Time to the first label: {n_pairs} pairs ({args.pairs.name}), {args.runs} fresh processes each; "
          f"{cpu_kind()}, {os.cpu_count()} CPUs, {platform.machine()}, {date.today()}\n")
    print("| command | median s | min s | max s |\n|---|---|---|---|")
    for name, times in ((f"`reljudge judge --judge {args.judge}` (fresh store)", ours),
                        ("sentence-transformers `CrossEncoder` (two-layer MiniLM): load, predict, write", theirs)):
        print(f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} |")
    print("\n| step, in one process | s |\n|---|---|")
    spent = steps(args.pairs, args.judge)
    for name, seconds in spent:
        print(f"| {name} | {seconds:.3f} |")
    print(f"| total (without the interpreter's own start) | {sum(s for _, s in spent):.3f} |")


if __name__ == "__main__":
    main()
