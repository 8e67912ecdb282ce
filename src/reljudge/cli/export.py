"""`reljudge export`: turn a trained cross-encoder into the fast ONNX (int8) judge and check it against torch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from reljudge.cli.options import reports_errors

log = logging.getLogger(__name__)
#: Training pairs (whole queries) that calibrate --int8-weights static-qdq.
CALIBRATION_PAIRS = 512


@reports_errors
def export(
    model_dir: Annotated[Path, typer.Argument(help="A cross-encoder directory made by `reljudge train`.")],
    onnx: Annotated[bool, typer.Option("--onnx", help="Export to ONNX, run by onnxruntime (the only format).")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Quantise the weights to int8 (dynamic quantisation).")] = False,
    int8_weights: Annotated[str, typer.Option(
        "--int8-weights", help="With --int8: s8-channel-7bit (safe on every x86 CPU), s8-channel, s8-tensor-7bit, "
                               "s8-tensor, u8-channel, or static-qdq (activations too, calibrated on the train "
                               "split of --data); `bench/encoder_speed.py --int8-variants` times them on your "
                               "CPU.")] = "s8-channel-7bit",
    whole_graph: Annotated[bool, typer.Option(
        "--whole-graph", help="Trace the last layer at every position (by default only at [CLS], the one the "
                              "classifier reads: the same logits for less work).")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Where the ONNX judge goes (default: DIR-onnx, or DIR-onnx-int8).")] = None,
    data: Annotated[Optional[Path], typer.Option(
        help="Labelled pairs to check the export on (default: the model's training file).")] = None,
    split: Annotated[str, typer.Option(help="The split of --data to check on (never the training split).")] = "valid",
    sample: Annotated[int, typer.Option(min=1, help="Check on about this many pairs (whole queries).")] = 1000,
    min_agreement: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Fail when fewer labels than this agree with the torch model's.")] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Export a trained cross-encoder to ONNX for the fast CPU judge; use it as --judge cross-encoder:OUT."""
    import json

    from rich.console import Console

    from reljudge.errors import ReljudgeError
    from reljudge.train.export import STATIC_INT8, check_sample, export_onnx

    console = Console(stderr=True, highlight=False)
    if not onnx:
        raise ReljudgeError("say which format to export to: --onnx (the only one so far)")
    output = output or model_dir.with_name(model_dir.name + ("-onnx-int8" if int8 else "-onnx"))
    pairs, source = check_sample(model_dir, data, split, sample)
    if not pairs:
        log.warning("no check: %s", source)
    calibration = check_sample(model_dir, data, "train", CALIBRATION_PAIRS)[0] if int8_weights == STATIC_INT8 else []
    summary = export_onnx(model_dir, output, int8=int8, int8_weights=int8_weights, last_layer_at_cls=not whole_graph,
                          check_pairs=pairs, min_agreement=min_agreement, calibration_pairs=calibration)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    check = summary["check"]
    if check:
        line = (f"check on {check['n_pairs']} {split} pairs of {source}: labels agree with torch on "
                f"{check['label_agreement']:.1%}, encoder argmax on {check['encoder_agreement']:.1%}")
        if "torch" in check:
            line += f"; alpha torch {check['torch']['alpha']}, onnx {check['onnx']['alpha']}"
        console.print(line)
    console.print(f"wrote {output} ({summary['bytes'] / 2**20:.1f} MiB model, {summary['graph']} graph); judge "
                  f"with --judge cross-encoder:{output}")
