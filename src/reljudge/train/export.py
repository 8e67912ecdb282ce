"""Export a trained cross-encoder to ONNX (optionally int8) for the fast judge, and check it against torch.

Dynamic int8 quantisation (onnxruntime's `quantize_dynamic`: int8 weights, activations quantised per batch at run
time) makes the model ~4x smaller and faster on a CPU; the price is a little noise in the logits. Weights are
quantised per output channel and to 7 bits (`reduce_range`): on x86 CPUs without VNNI (AVX2, AVX-512F)
onnxruntime's u8 x s8 kernel can saturate its 16-bit intermediate sums with full 8-bit weights, and on the
ESCI model that cost 2.4% of the labels (97.6% agreement with torch instead of >= 99%). The traced graph
computes the last layer at [CLS] alone where the model's layout allows (`cls_forward`): the same logits for 0.59x
of a two-layer MiniLM's work per pair. The check judges a sample of labelled valid pairs with both models and
reports how often their argmax labels agree: the stacked judge's labels (what users see) and the encoder's own
argmax. Export fails when the judge's labels agree on fewer than `min_agreement` of the sample.

`INT8_WEIGHTS` names the other int8 choices (8-bit weights, per tensor, unsigned weights, and static quantisation of
the activations too, calibrated on training pairs), whose speed and saturation differ by instruction set:
`bench/encoder_speed.py --int8-variants` measures them all on a CPU.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.encoder.inputs import TOKENIZER_FILE
from reljudge.judges.encoder.judge import CONFIG_FILE, ONNX_FILE, EncoderJudge
from reljudge.judges.features.token_vectors import VECTORS_FILE
from reljudge.records import Pair

logger = logging.getLogger(__name__)

#: ONNX opset: 17 has LayerNormalization, which onnxruntime fuses; every onnxruntime >= 1.14 runs it.
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: int8 choices by name: (onnxruntime weight type, per output channel, 7-bit `reduce_range`); all dynamic but
#: `STATIC_INT8`.
INT8_WEIGHTS = {
    "s8-channel-7bit": ("QInt8", True, True),  # the default: safe from saturation on CPUs without VNNI
    "s8-channel": ("QInt8", True, False),
    "s8-tensor-7bit": ("QInt8", False, True),
    "s8-tensor": ("QInt8", False, False),
    "u8-channel": ("QUInt8", True, False),
    # the default's weights, and u8 activations with ranges calibrated on training pairs (QDQ): no quantising of
    # activations at run time
    "static-qdq": ("QInt8", True, True),
}
DEFAULT_INT8_WEIGHTS = "s8-channel-7bit"
STATIC_INT8 = "static-qdq"
#: Pairs per calibration batch of static quantisation.
CALIBRATION_BATCH = 32


def export_onnx(
    model_dir: str | Path,
    output_dir: str | Path,
    *,
    int8: bool = True,
    int8_weights: str = DEFAULT_INT8_WEIGHTS,
    last_layer_at_cls: bool = True,
    check_pairs: Sequence[Pair] = (),
    min_agreement: float = 0.99,
    calibration_pairs: Sequence[Pair] = (),
) -> dict[str, Any]:
    """Write OUTPUT_DIR with model.onnx, tokenizer.json, token_vectors.npy and reljudge.json: a judge that needs no
    torch.

    Args:
        model_dir: a trained cross-encoder directory (torch backend).
        output_dir: where the ONNX judge goes (created; must differ from `model_dir`).
        int8: quantise the weights to int8 (dynamic quantisation) after export.
        int8_weights: with `int8`, how (a name of `INT8_WEIGHTS`).
        last_layer_at_cls: with a [CLS] head, trace the last layer at [CLS] only (`cls_forward`; the same logits
            for less work) where the model's layout allows; False traces the whole model. A mean-pooled model is
            always traced whole.
        check_pairs: pairs to compare the two judges on (whole query groups); empty skips the check.
        min_agreement: the least share of `check_pairs` on which both judges' labels must agree.
        calibration_pairs: with `int8_weights` "static-qdq", the pairs whose activations set the int8 ranges
            (training pairs, never the check's).

    Returns:
        {"spec", "path", "bytes", "int8", "graph", "check"}: graph is "cls-last-layer", "full" or "mean-pooled";
        check is None or
        {"n_pairs", "label_agreement", "encoder_agreement", "torch", "onnx"} (the last two: agreement figures when
        the pairs are labelled).

    Raises:
        JudgeError: the source is not a torch cross-encoder, an unknown `int8_weights`, or the labels agree on
            too few pairs.
    """
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if int8_weights not in INT8_WEIGHTS:
        raise JudgeError(f"unknown int8 weights {int8_weights!r}: use one of {', '.join(INT8_WEIGHTS)}")
    if int8 and int8_weights == STATIC_INT8 and not calibration_pairs:
        raise JudgeError(f"--int8-weights {STATIC_INT8} calibrates on training pairs: the model names no training "
                         "file with a train split here; pass --data PAIRS")
    if model_dir.resolve() == output_dir.resolve():
        raise JudgeError("export writes a new directory: give an --output other than the model directory")
    if (model_dir / ONNX_FILE).exists():
        raise JudgeError(f"{model_dir} is already an ONNX judge; export the torch model it was made from")
    source = EncoderJudge(model_dir, location=str(model_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reljudge-export-") as scratch:
        fp32 = Path(scratch) / "model.fp32.onnx"
        graph = _torch_to_onnx(model_dir, fp32, source.config.get("pooling", "cls"), last_layer_at_cls)
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            if int8_weights == STATIC_INT8:
                _quantize_static(fp32, output_dir / ONNX_FILE, source, calibration_pairs)
            else:
                weight_type, per_channel, reduce_range = INT8_WEIGHTS[int8_weights]
                quantize_dynamic(str(fp32), str(output_dir / ONNX_FILE), weight_type=QuantType[weight_type],
                                 per_channel=per_channel, reduce_range=reduce_range)
        else:
            shutil.copyfile(fp32, output_dir / ONNX_FILE)
    for name in (TOKENIZER_FILE, VECTORS_FILE):
        shutil.copyfile(model_dir / name, output_dir / name)
    config = {**source.config, "export": {"onnx_opset": OPSET, "int8": int8, "graph": graph,
                                        "from": str(model_dir)} | ({"int8_weights": int8_weights} if int8 else {})}
    _write_config(output_dir, config)

    check = None
    if check_pairs:
        check = compare(source, EncoderJudge(output_dir, location=str(output_dir)), check_pairs)
        config["export"]["check"] = check
        _write_config(output_dir, config)
    judge = EncoderJudge(output_dir, location=str(output_dir))
    summary = {"spec": judge.spec, "path": str(output_dir), "bytes": (output_dir / ONNX_FILE).stat().st_size,
               "int8": int8, "graph": graph, "check": check}
    if check and check["label_agreement"] < min_agreement:
        raise JudgeError(f"the ONNX judge's labels agree with torch's on only {check['label_agreement']:.1%} of "
                         f"{check['n_pairs']} pairs (at least {min_agreement:.0%} needed); try without --int8")
    return summary


def check_sample(model_dir: str | Path, data: str | Path | None, split: str, size: int,
                 seed: int = 0) -> tuple[list[Pair], str]:
    """About `size` pairs of `split` (whole query groups, drawn by a seeded shuffle of the queries) to check on.

    Args:
        model_dir: the model; its reljudge.json names its training file, used when `data` is None.
        data: a labelled pairs file, or None.

    Returns:
        (pairs, the file they came from); no pairs when there is no file or it has no such split, and then the
        second item says why.
    """
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme

    config = json.loads((Path(model_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    source = data or config.get("training", {}).get("data")
    if not source or not Path(source).exists():
        return [], "the model names no training file that exists here; pass --data PAIRS"
    pairs = read_pairs(source, scheme=get_scheme(config["scheme"], config.get("level")), require_labels=True).pairs
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        if p.segments.get("split") == split:
            groups.setdefault(p.query_id, []).append(p)
    if not groups:
        return [], f"{source} has no {split!r} split; pass --data PAIRS with one"
    chosen: list[Pair] = []
    for q in np.random.default_rng(seed).permutation(sorted(groups)):
        if len(chosen) >= size:
            break
        chosen.extend(groups[q])
    return chosen, str(source)


def compare(reference: EncoderJudge, candidate: EncoderJudge, pairs: Sequence[Pair]) -> dict[str, Any]:
    """How often two judges' argmax labels (and their encoders' argmax) agree on `pairs`, with both judges'
    agreement with the human labels when the pairs have them."""
    from reljudge.train.common import agreement_figures

    labels = reference.scheme.labels
    ref, cand = reference.predict_proba(pairs).argmax(axis=1), candidate.predict_proba(pairs).argmax(axis=1)
    ref_enc = reference.encoder_logits(pairs).argmax(axis=1)
    cand_enc = candidate.encoder_logits(pairs).argmax(axis=1)
    out: dict[str, Any] = {"n_pairs": len(pairs), "label_agreement": round(float(np.mean(ref == cand)), 4),
                           "encoder_agreement": round(float(np.mean(ref_enc == cand_enc)), 4)}
    if all(p.label is not None for p in pairs):
        truth = [p.label for p in pairs]
        out["torch"] = agreement_figures(reference.scheme, truth, [labels[i] for i in ref])
        out["onnx"] = agreement_figures(reference.scheme, truth, [labels[i] for i in cand])
    return out


def _torch_to_onnx(model_dir: Path, path: Path, pooling: str, last_layer_at_cls: bool) -> str:
    """Trace the classifier to ONNX with dynamic batch and sequence axes (TorchScript exporter).

    Returns:
        The graph traced: "cls-last-layer" (the last layer at [CLS] only, see `cls_forward`), "full" (a [CLS] head,
        the whole model) or "mean-pooled" (the last layer at every position, averaged: there is no cheaper exact
        form of a mean).
    """
    import torch

    from reljudge.judges.encoder.heads import load_classifier
    from reljudge.train.cls_forward import cls_only

    # Eager attention traces to plain MatMul/Softmax, which quantise and run everywhere.
    model = load_classifier(model_dir, pooling, attn_implementation="eager").eval()
    rewritten = cls_only(model) if last_layer_at_cls and pooling == "cls" else None
    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {"logits": {0: "batch"}}
    # The tracer warns about Python control flow in transformers' code that does not vary with the input shape.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model if rewritten is None else rewritten, dummy, str(path), input_names=list(INPUTS),
                          output_names=["logits"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    if pooling == "mean":
        return "mean-pooled"
    return "full" if rewritten is None else "cls-last-layer"


def _quantize_static(fp32: Path, output: Path, source: EncoderJudge, pairs: Sequence[Pair]) -> None:
    """Static QDQ quantisation: `INT8_WEIGHTS[STATIC_INT8]`'s weights, u8 activations whose ranges (min-max) come
    from running the fp32 graph on `pairs` as the judge reads them."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    weight_type, per_channel, reduce_range = INT8_WEIGHTS[STATIC_INT8]
    encoded = source.inputs.encode(pairs)
    feeds = [vars(source.inputs.pad(encoded[start:start + CALIBRATION_BATCH]))
             for start in range(0, len(encoded), CALIBRATION_BATCH)]

    class Feeds(CalibrationDataReader):
        def __init__(self):
            self.remaining = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.remaining, None)

    quantize_static(str(fp32), str(output), Feeds(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    reduce_range=reduce_range, activation_type=QuantType.QUInt8, weight_type=QuantType[weight_type],
                    op_types_to_quantize=["MatMul", "Gemm"])


def _write_config(directory: Path, config: dict[str, Any]) -> None:
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
