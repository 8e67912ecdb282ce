"""Speed of the shipped cross-encoder judge (ONNX int8, onnxruntime) against sentence-transformers' predict.

All judge the same 2,000+ ESCI pairs (every valid query, then train queries in a seeded order): the judge as
shipped; the torch model it was exported from, run by `CrossEncoder.predict` (fp32, batch 32) on the same
query/product texts with its stacked classifier on top; and, with `--full-model`, the full-size fine-tuned model
(all of MiniLM's six layers, the same recipe) that a smaller shipped judge stands in for, run the same way.
Each runs in its own process, so peak memory (max RSS, imports included: that is what a job pays) is its own.
Timings are end to end from pairs to probabilities (text fields, tokenization, the model, lexical features, the
stack), after a warm-up batch; alpha is on the valid pairs among them.

    python bench/encoder_speed.py                                   # the shipped judge against its torch model
    python bench/encoder_speed.py --torch-model DIR                 # if the torch model is elsewhere
    python bench/encoder_speed.py --full-model out/ce-esci          # and against the six-layer model
    python bench/encoder_speed.py --graphs                          # and the encoder alone, runtime by runtime
    python bench/encoder_speed.py --int8-variants                   # and every int8 weight choice, end to end

The int8 weight choices (`reljudge export --int8-weights`: 8-bit or 7-bit, per channel or per tensor, signed or
unsigned weights) run different onnxruntime kernels by instruction set (AVX2, AVX-512, VNNI): each is exported
from the same torch model and run as the judge, with its labels against `CrossEncoder.predict`'s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"
THREADS = 2


def bench_pairs(n: int = 2000):
    """Every valid pair, then whole train queries in a seeded order, until there are at least n."""
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    pairs = read_pairs(DATA, scheme=get_scheme("esci"), require_labels=True).pairs
    chosen = [p for p in pairs if p.segments["split"] == "valid"]
    train_queries = sorted({p.query_id for p in pairs if p.segments["split"] == "train"})
    for q in np.random.default_rng(0).permutation(train_queries):
        if len(chosen) >= n:
            break
        chosen.extend(p for p in pairs if p.query_id == q)
    return chosen


def run_fast(pairs, judge_dir: str = ""):
    from reljudge.judges.registry import load_judge

    judge = load_judge(f"cross-encoder:{judge_dir}" if judge_dir else "cross-encoder", threads=THREADS)
    judge.predict_proba(pairs[:32])
    started = time.perf_counter()
    proba = judge.predict_proba(pairs)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    judge.predict_proba(pairs)  # queries and category paths now encoded, as over a day's pairs of one shop
    return proba, seconds, judge.spec, time.perf_counter() - started


def model_inputs(torch_model: str):
    """A trained model directory's reljudge.json, and its pair encoder with the token budget it was trained with."""
    from reljudge.judges.encoder.inputs import PairEncoder

    config = json.loads((Path(torch_model) / "reljudge.json").read_text())
    return config, PairEncoder(Path(torch_model) / "tokenizer.json", config["max_length"], config["query_tokens"])


def run_sentence_transformers(pairs, torch_model: str):
    """The model directory's encoder by CrossEncoder.predict, then its own stacked classifier (its reljudge.json) on
    the group features it was stacked on (a model from before the semantic or category features lacks them)."""
    import torch
    from sentence_transformers import CrossEncoder

    from reljudge.judges.features.category import CATEGORY_NAMES, CategoryFeatures
    from reljudge.judges.features.lexical import pair_features
    from reljudge.judges.features.token_vectors import SEMANTIC_NAMES, SemanticFeatures
    from reljudge.train.encoder import stacked_logits

    torch.set_num_threads(THREADS)
    config, inputs = model_inputs(torch_model)
    mean_pooled = config.get("pooling") == "mean"
    # A mean-pooled head is not a sequence classifier: CrossEncoder then runs the same encoder with a [CLS] head of
    # as many labels (the same cost), and the labels and alpha are the torch model's through reljudge's torch path.
    model = CrossEncoder(torch_model, max_length=config["max_length"], device="cpu",
                         **({"num_labels": len(config["labels"])} if mean_pooled else {}))
    model.predict(inputs.texts(pairs[:32]), batch_size=32)
    started = time.perf_counter()
    texts = inputs.texts(pairs)  # once for the model and the semantic features, as the shipped judge does
    logits = model.predict(texts, batch_size=32, activation_fn=torch.nn.Identity(),
                           show_progress_bar=False, convert_to_numpy=True)
    bare = time.perf_counter() - started
    group = [pair_features(pairs)]
    if SEMANTIC_NAMES[0] in config["stack"]["features"]:
        group.append(SemanticFeatures.load(inputs, Path(torch_model))(pairs, texts))
    if CATEGORY_NAMES[0] in config["stack"]["features"]:
        group.append(CategoryFeatures(THREADS)(pairs))
    if not mean_pooled:
        scores = stacked_logits(config["stack"], np.hstack([*group, logits]))
        return scores, time.perf_counter() - started, f"CrossEncoder.predict({torch_model})", bare
    seconds = time.perf_counter() - started
    from reljudge.judges.encoder.judge import EncoderJudge

    scores = np.log(EncoderJudge(torch_model, threads=THREADS).predict_proba(pairs))
    return scores, seconds, f"CrossEncoder.predict(same shape as {torch_model})", bare


def roofline(pairs, torch_model: str) -> dict:
    """The model's floating-point operations per pair (its linear layers and attention at the pairs' mean length),
    whole and with the last layer at [CLS] only (the shipped graph: keys and values at every position, the rest at
    one), and what this CPU's fp32 matrix product reaches with THREADS threads on a layer-sized product: the
    ceiling of any fp32 runtime for this model here."""
    import torch

    config = json.loads((Path(torch_model) / "config.json").read_text())
    h, layers, ffn = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    tokens = float(np.mean([len(ids) for ids, _ in model_inputs(torch_model)[1].encode(pairs)]))
    per_layer = tokens * (4 * h * h + 2 * h * ffn) + 2 * tokens * tokens * h
    cls_last_layer = tokens * 2 * h * h + (2 * h * h + 2 * h * ffn) + 2 * tokens * h
    flop, flop_cls = 2 * layers * per_layer, 2 * ((layers - 1) * per_layer + cls_last_layer)
    torch.set_num_threads(THREADS)
    a, b = torch.randn(int(40 * tokens), h), torch.randn(h, ffn)
    for _ in range(3):
        a @ b
    started, repeats = time.perf_counter(), 50
    for _ in range(repeats):
        a @ b
    gemm = 2 * a.shape[0] * h * ffn * repeats / (time.perf_counter() - started)
    return {"tokens": tokens, "gflop_per_pair": flop / 1e9, "gflop_per_pair_cls": flop_cls / 1e9,
            "gemm_gflops": gemm / 1e9}


def run_encoder(pairs, model: str) -> dict:
    """The encoder alone (texts, tokenization and the model; no features, no stack) of a judge directory."""
    import torch

    from reljudge.judges.encoder.judge import EncoderJudge

    torch.set_num_threads(THREADS)
    judge = EncoderJudge(model, threads=THREADS)
    judge.encoder_logits(pairs[:32])
    started = time.perf_counter()
    judge.encoder_logits(pairs)
    return {"pairs_per_s": len(pairs) / (time.perf_counter() - started)}


def export_variants(torch_model: str, scratch: str) -> list[tuple[str, str]]:
    """The torch model exported four ways, fp32 and int8, whole and with the last layer at [CLS]: (name, dir)."""
    from reljudge.train.export import export_onnx

    variants = []
    for int8 in (False, True):
        for at_cls in (False, True):
            output = Path(scratch) / f"{int8}-{at_cls}"
            export_onnx(torch_model, output, int8=int8, last_layer_at_cls=at_cls)
            variants.append((f"ONNX {'int8' if int8 else 'fp32'}, "
                             f"{'last layer at [CLS]' if at_cls else 'whole graph'}", str(output)))
    return variants


def int8_variants(torch_model: str, scratch: str) -> list[tuple[str, str]]:
    """The torch model exported as the shipped graph ([CLS] last layer) with each int8 weight choice: (name, dir)."""
    from reljudge.train.export import INT8_WEIGHTS, check_sample, export_onnx

    calibration, _ = check_sample(torch_model, None, "train", 512)
    variants = []
    for weights in INT8_WEIGHTS:
        output = Path(scratch) / f"int8-{weights}"
        export_onnx(torch_model, output, int8=True, int8_weights=weights, calibration_pairs=calibration)
        variants.append((f"int8 {weights}", str(output)))
    return variants


def child(which: str, torch_model: str, judge_dir: str = "") -> None:
    """Run one path and print its figures as JSON (called in a subprocess by main)."""
    from reljudge.labels import get_scheme
    from reljudge.train.common import agreement_figures

    pairs = bench_pairs()
    if which in ("roofline", "encoder"):
        print(json.dumps((roofline if which == "roofline" else run_encoder)(pairs, torch_model)))
        return
    warm = bare = None
    if which == "fast":
        scores, seconds, name, warm = run_fast(pairs, judge_dir)
    else:
        scores, seconds, name, bare = run_sentence_transformers(pairs, torch_model)
    scheme = get_scheme("esci")
    valid = [i for i, p in enumerate(pairs) if p.segments["split"] == "valid"]
    figures = agreement_figures(scheme, [pairs[i].label for i in valid],
                                [scheme.labels[j] for j in np.asarray(scores)[valid].argmax(axis=1)])
    print(json.dumps({"path": name, "pairs": len(pairs), "seconds": seconds, "pairs_per_s": len(pairs) / seconds,
                      "warm_pairs_per_s": len(pairs) / warm if warm else None,
                      "bare_pairs_per_s": len(pairs) / bare if bare else None,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "alpha_valid": figures["alpha"], "labels": np.asarray(scores).argmax(axis=1).tolist()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-model", help="the torch model the shipped judge was exported from")
    parser.add_argument("--full-model", help="a full-size model the shipped judge stands in for, also measured")
    parser.add_argument("--graphs", action="store_true",
                        help="also time the encoder alone: torch, and ONNX fp32/int8, whole and last layer at [CLS]")
    parser.add_argument("--int8-variants", action="store_true",
                        help="also export and run the judge with every int8 weight choice (reljudge export "
                             "--int8-weights): pairs/s, the encoder alone, alpha and labels against torch")
    parser.add_argument("--child", choices=["fast", "st", "roofline", "encoder"], help=argparse.SUPPRESS)
    parser.add_argument("--judge-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.torch_model or "", args.judge_dir)
        return 0
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (the shared ESCI data is not on this machine)")
        return 0
    from reljudge.judges.encoder.judge import SHIPPED, EncoderJudge
    from reljudge.judges.model_dir import shipped_directory

    torch_model = args.torch_model or EncoderJudge(shipped_directory(SHIPPED)).config.get("export", {}).get("from", "")
    if not torch_model or not Path(torch_model).exists():
        print("skipped: the torch model the shipped judge was exported from is not here; pass --torch-model DIR")
        return 0
    # Every path tokenizes on one thread, so the ratios compare runtimes; the shipped judge is also run as
    # `reljudge judge` runs it, with the tokenizers library's parallel batches (its default).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

    import tempfile

    def measure(which: str, model: str, parallel_tokenizer: bool = False, judge_dir: str = "",
                cache: str = "") -> dict:
        """One path in a fresh process; with an empty user cache (no category vectors on disk) unless `cache`."""
        with tempfile.TemporaryDirectory(prefix="reljudge-cache-") as fresh:
            child_env = {**env, "RELJUDGE_CACHE": cache or fresh}
            if parallel_tokenizer:
                child_env["TOKENIZERS_PARALLELISM"] = "true"
            done = subprocess.run([sys.executable, __file__, "--child", which, "--torch-model", model,
                                   "--judge-dir", judge_dir], capture_output=True, text=True, check=True,
                                  env=child_env)
        return json.loads(done.stdout.strip().splitlines()[-1])

    models = [model for model in (args.full_model, torch_model) if model]
    baselines = [measure("st", model) for model in models]
    fast = measure("fast", torch_model)
    as_run = measure("fast", torch_model, parallel_tokenizer=True)
    as_run["path"] += ", tokenizers in parallel"
    print(f"{fast['pairs']} ESCI pairs, {THREADS} threads, end to end (fields, tokenization, model, lexical stack)")
    print(f"{'path':<60} {'pairs/s':>8} {'peak RSS MiB':>13} {'alpha (valid)':>14}")
    for r in (*baselines, fast, as_run):
        print(f"{r['path']:<60} {r['pairs_per_s']:8.1f} {r['peak_rss_mib']:13.0f} {r['alpha_valid']:14.4f}")
    print(f"the shipped judge again on the same pairs, its queries and category paths already encoded (as over a "
          f"day's pairs of one shop): {fast['warm_pairs_per_s']:.1f} pairs/s ({as_run['warm_pairs_per_s']:.1f} with "
          "the tokenizers in parallel)")
    with tempfile.TemporaryDirectory(prefix="reljudge-cache-") as kept:
        measure("fast", torch_model, cache=kept)
        disk = measure("fast", torch_model, cache=kept)
    print(f"a new process with the category paths' vectors on disk from an earlier run: {disk['pairs_per_s']:.1f} "
          "pairs/s")
    for st in baselines:
        agree = np.mean(np.array(fast["labels"]) == np.array(st["labels"]))
        print(f"shipped judge against {st['path']}: speed-up {fast['pairs_per_s'] / st['pairs_per_s']:.2f}x "
              f"({as_run['pairs_per_s'] / st['pairs_per_s']:.2f}x as run); alpha difference "
              f"{fast['alpha_valid'] - st['alpha_valid']:+.4f}; labels agree on {agree:.1%} of the pairs; the bare "
              f"predict alone (no features, no stack) {st['bare_pairs_per_s']:.1f} pairs/s: "
              f"{fast['pairs_per_s'] / st['bare_pairs_per_s']:.2f}x "
              f"({as_run['pairs_per_s'] / st['bare_pairs_per_s']:.2f}x as run)")
    for model, st in zip(models, baselines):
        roof = measure("roofline", model)
        print(f"{model}: {roof['gflop_per_pair']:.2f} GFLOP per pair at {roof['tokens']:.1f} tokens; "
              f"CrossEncoder.predict runs {roof['gflop_per_pair'] * st['pairs_per_s']:.0f} GFLOP/s, this CPU's fp32 "
              f"matrix product {roof['gemm_gflops']:.0f} GFLOP/s ({THREADS} threads): fp32 tops out at "
              f"{roof['gemm_gflops'] / roof['gflop_per_pair']:.0f} pairs/s here; with the last layer at [CLS] "
              f"only, as shipped, {roof['gflop_per_pair_cls']:.2f} GFLOP per pair "
              f"({roof['gflop_per_pair_cls'] / roof['gflop_per_pair']:.2f}x)")
    if args.graphs:
        with tempfile.TemporaryDirectory(prefix="encoder-graphs-") as scratch:
            rows = [("torch fp32 (transformers, the Hugging Face forward)", torch_model),
                    *export_variants(torch_model, scratch)]
            timed = [(name, measure("encoder", model)["pairs_per_s"]) for name, model in rows]
        print(f"the encoder alone (texts, tokenization, model) of {torch_model}, {THREADS} threads:")
        for name, speed in timed:
            print(f"  {name:<58} {speed:8.1f} pairs/s  {speed / timed[0][1]:5.2f}x")
    if args.int8_variants:
        print_int8_variants(torch_model, baselines[-1], measure)
    return 0


def print_int8_variants(torch_model: str, st: dict, measure) -> None:
    """Each int8 weight choice as the judge (end to end, one thread of tokenization) and its encoder alone."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="encoder-int8-") as scratch:
        rows = [(name, measure("fast", torch_model, judge_dir=path), measure("encoder", path))
                for name, path in int8_variants(torch_model, scratch)]
    print(f"int8 weight choices, the judge end to end against {st['path']} ({st['pairs_per_s']:.1f} pairs/s, "
          f"alpha {st['alpha_valid']:.4f}):")
    print(f"  {'weights':<22} {'pairs/s':>8} {'x predict':>10} {'encoder alone':>14} {'alpha':>8} "
          f"{'alpha diff':>11} {'labels equal':>13}")
    for name, judge, encoder in rows:
        agree = np.mean(np.array(judge["labels"]) == np.array(st["labels"]))
        print(f"  {name:<22} {judge['pairs_per_s']:8.1f} {judge['pairs_per_s'] / st['pairs_per_s']:9.2f}x "
              f"{encoder['pairs_per_s']:14.1f} {judge['alpha_valid']:8.4f} "
              f"{judge['alpha_valid'] - st['alpha_valid']:+11.4f} {agree:13.1%}")


if __name__ == "__main__":
    sys.exit(main())
