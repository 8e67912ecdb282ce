"""Speed of the causal judge: one forward pass scoring the labels' answer tokens, against generating the answer
with transformers' `generate()` and parsing it, on the same model (the shipped adapter merged into SmolLM2-135M)
and the same ESCI valid pairs, in one run. Precisions of the one-pass path (fp32, int8, and bf16 where the
hardware computes it natively) are measured beside it, and the same one pass on vLLM's offline engine
(`--backend vllm`: the adapter merged once, the instructions from its prefix cache), where vLLM is installed.

Each variant runs in its own process, so peak memory (max RSS, imports and the model included: what a job pays) is
its own. Timings are end to end from pairs to labels (prompt building, tokenization, the model, parsing), after a
warm-up batch. Agreement is the share of pairs where a variant's label equals fp32 one-pass's.

    python bench/causal_speed.py                 # 256 valid pairs, batch 16
    python bench/causal_speed.py --pairs 512
    .venv-vllm/bin/python bench/causal_speed.py --pairs 1132 --variants one-pass-fp32 vllm-fp32 one-pass-bf16 \
        vllm-bf16                                # the vLLM backend against hf, from vLLM's environment
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
VARIANTS = ("one-pass-fp32", "generate-fp32", "one-pass-int8", "one-pass-bf16", "vllm-fp32", "vllm-bf16")


def valid_pairs(n: int):
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    pairs = read_pairs(DATA, scheme=get_scheme("esci"), require_labels=True).pairs
    return [p for p in pairs if p.segments["split"] == "valid"][:n]


def one_pass(pairs, precision: str, batch: int, backend: str = "hf") -> list[str]:
    from reljudge.judges.registry import load_judge

    judge = load_judge("causal", precision=precision, backend=backend)
    judge.predict_proba(pairs[:batch], batch_size=batch)
    started = time.perf_counter()
    proba = judge.predict_proba(pairs, batch_size=batch)
    seconds = time.perf_counter() - started
    return [judge.scheme.labels[i] for i in proba.argmax(axis=1)], seconds


def generate(pairs, batch: int) -> list[str]:
    """The obvious way: the whole prompt, greedy generation of a few tokens, the answer word parsed."""
    import torch

    from reljudge.judges.registry import load_judge

    judge = load_judge("causal", precision="fp32")
    prompt, model, tokenizer = judge.prompt, judge.model, judge.prompt.tokenizer
    words = {judge.prompt.template.answer(label).lower(): label for label in judge.scheme.labels}
    tokenizer.padding_side = "left"

    def run(chunk):
        ids = [prompt.prefix_ids + row for row in prompt.pair_ids(chunk)]
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(x)) + x for x in ids])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=4, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        return [words.get(text.strip().split()[0].strip(".,:").lower() if text.strip() else "", None)
                for text in texts]

    run(pairs[:batch])
    started = time.perf_counter()
    labels = [label for start in range(0, len(pairs), batch) for label in run(pairs[start : start + batch])]
    return labels, time.perf_counter() - started


def child(variant: str, n: int, batch: int) -> None:
    pairs = valid_pairs(n)
    if variant == "generate-fp32":
        labels, seconds = generate(pairs, batch)
    else:
        labels, seconds = one_pass(pairs, variant.rsplit("-", 1)[1], batch,
                                   "vllm" if variant.startswith("vllm") else "hf")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": variant, "labels": labels, "seconds": seconds, "peak_mib": peak,
                      "truth": [p.label for p in pairs]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=VARIANTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pairs, args.batch)
        return
    import importlib.util

    from reljudge.judges.causal.model import bf16_supported
    from reljudge.labels import get_scheme
    from reljudge.metrics import alpha

    results = {}
    for variant in args.variants:
        if variant.endswith("bf16") and not bf16_supported("cpu"):
            print(f"{variant}: skipped, this CPU has no native bf16 (AVX-512 BF16 / AMX)", file=sys.stderr)
            continue
        if variant.startswith("vllm") and importlib.util.find_spec("vllm") is None:
            print(f"{variant}: skipped, vLLM is not installed here (run this from vLLM's environment)",
                  file=sys.stderr)
            continue
        out = subprocess.run([sys.executable, __file__, "--child", variant, "--pairs", str(args.pairs), "--batch",
                              str(args.batch)], capture_output=True, text=True, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    reference = results["one-pass-fp32"]
    scheme = get_scheme("esci")
    print(f"{args.pairs} ESCI valid pairs, batch {args.batch}, SmolLM2-135M-Instruct + shipped adapter")
    print(f"{'variant':<16}{'pairs/s':>9}{'peak MiB':>10}{'unparsed':>10}{'same label':>12}{'alpha':>8}")
    for variant, r in results.items():
        rate = args.pairs / r["seconds"]
        unparsed = sum(label is None for label in r["labels"])
        same = np.mean([a == b for a, b in zip(r["labels"], reference["labels"])])
        labelled = [(t, p) for t, p in zip(r["truth"], r["labels"]) if p is not None]
        a = alpha([t for t, _ in labelled], [p for _, p in labelled], scheme)
        print(f"{variant:<16}{rate:>9.2f}{r['peak_mib']:>10.0f}{unparsed:>10d}{same:>12.3f}{a:>8.3f}")
    if "generate-fp32" in results:
        print(f"one pass / generate(): {results['generate-fp32']['seconds'] / reference['seconds']:.2f}x")
    for precision in ("fp32", "bf16"):
        if f"vllm-{precision}" in results and f"one-pass-{precision}" in results:
            ratio = results[f"one-pass-{precision}"]["seconds"] / results[f"vllm-{precision}"]["seconds"]
            print(f"vLLM / hf, {precision}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
