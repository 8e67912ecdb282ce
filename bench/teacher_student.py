"""A CPU student from a teacher: does a small encoder that learns only a larger judge's probabilities stand in for it?

Home Depot's pairs are split by query as in bench/encoder_learning_curve.py (seed 0, 20% of the queries held out).
The training queries are cut in two, by query: A, the first ~30k pairs, and B, the rest (~29k pairs, other queries).
- teacher: the six-layer mean-pooled encoder fine-tuned on A's human labels (the learning curve's 30k run: its
  checkpoint under --curve-out is reused, so the teacher is trained once);
- student: a two-layer encoder (today's shipped size) fine-tuned on the teacher's probabilities for B's pairs only,
  as soft targets: no human label of B is read (a team's API LLM labelling 100k pairs once);
- human-trained: the same two-layer encoder fine-tuned on B's human labels, and the lexical judge on them.
All are scored on the held-out queries (C): against people (alpha, Spearman, per-query tau, r, worth, as in the
learning curve) and against the teacher (alpha of the argmax labels, r of the expected gains).

    python bench/teacher_student.py --curve-out out/curve --out out/student
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from encoder_learning_curve import figures, first_pairs, home_depot_present, home_depot_split, run_encoder, run_lexical


def against_teacher(proba: np.ndarray, teacher: np.ndarray, scheme) -> dict:
    """Agreement with the teacher on the held-out pairs: alpha of the argmax labels and r of the expected gains."""
    from reljudge.metrics.within_query import expected_gain
    from reljudge.train.common import agreement_figures

    labels = [scheme.labels[i] for i in proba.argmax(axis=1)]
    taught = [scheme.labels[i] for i in teacher.argmax(axis=1)]
    r = np.corrcoef(expected_gain(proba, scheme.gains), expected_gain(teacher, scheme.gains))[0, 1]
    return {"alpha_vs_teacher": agreement_figures(scheme, taught, labels)["alpha"],
            "r_vs_teacher": round(float(r), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="results and the students' checkpoints")
    parser.add_argument("--curve-out", type=Path, required=True, help="the learning curve's --out (the teacher)")
    parser.add_argument("--teacher-pairs", type=int, default=30000)
    parser.add_argument("--student-layers", type=int, default=2)
    parser.add_argument("--student-learning-rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not home_depot_present():
        return 0
    from reljudge.train.configs import CrossEncoderConfig

    scheme, train, held, ratings = home_depot_split(0.2, args.seed)
    a = first_pairs(train, args.teacher_pairs)
    b = train[len(a):]
    print(f"A {len(a)} pairs, B {len(b)} pairs, held-out C {len(held)} pairs", file=sys.stderr)
    common = dict(pooling="mean", epochs=1.0, batch_size=32, max_length=48, query_tokens=12, seed=args.seed)
    teacher_config = CrossEncoderConfig(layers=6, learning_rate=5e-5, **common)
    student_config = CrossEncoderConfig(layers=args.student_layers, learning_rate=args.student_learning_rate,
                                        **common)
    args.out.mkdir(parents=True, exist_ok=True)
    cached = args.out / "teacher_proba.npy"
    start = time.perf_counter()
    if cached.exists():
        teacher = np.load(cached)
    else:
        teacher_dir = args.curve_out / f"encoder-mean-L6-lr5e-05-e1-len48-n{args.teacher_pairs}"
        teacher = run_encoder(a, b + held, scheme, teacher_dir, teacher_config)
        np.save(cached, teacher)
    teacher_b, teacher_c = teacher[:len(b)], teacher[len(b):]
    rows = [{"run": f"teacher: 6 layers, A's human labels ({len(a)} pairs)",
             **figures(teacher_c, held, ratings, scheme), "seconds": round(time.perf_counter() - start, 1)}]
    runs = {
        "student": lambda: run_encoder(b, held, scheme, args.out / "student", student_config, targets=teacher_b),
        "human": lambda: run_encoder(b, held, scheme, args.out / "human", student_config),
        "lexical": lambda: run_lexical(b, held, scheme, args.out / "lexical"),
    }
    names = {"student": f"student: {args.student_layers} layers, the teacher's probabilities on B",
             "human": f"{args.student_layers} layers, B's human labels", "lexical": "lexical, B's human labels"}
    for key, run in runs.items():
        start = time.perf_counter()
        proba = run()
        np.save(args.out / f"{key}_proba.npy", proba)
        rows.append({"run": f"{names[key]} ({len(b)} pairs)", **figures(proba, held, ratings, scheme),
                     **against_teacher(proba, teacher_c, scheme), "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("| judge | alpha | Spearman | per-query tau | r | worth | alpha vs teacher | r vs teacher | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['alpha']} | {r['spearman']} | {r['tau']} | {r['r']} | {r['worth']} | "
              f"{r.get('alpha_vs_teacher', '')} | {r.get('r_vs_teacher', '')} | {r['seconds']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
