"""How well the cross-encoder judge agrees with ESCI's human labels on the valid split, against the lexical judge.

Prints Krippendorff's alpha (nominal), accuracy, macro-F1, per-class recall and the predicted label distribution on
the valid split of ../shared/data/esci/esci_us_dev.csv (27 queries, 1,132 pairs; never trained on) for:
- lexical (shipped): the lexical judge in src/reljudge/assets/lexical-esci;
- cross-encoder, torch fp32: the trained model directory (stacked: encoder logits + lexical features);
- encoder alone, torch fp32: the same model's own argmax, without the stack or prior offsets;
- cross-encoder, ONNX int8 (shipped): the default judge, src/reljudge/assets/cross-encoder-esci.

    python bench/encoder_quality.py                     # the torch model the shipped judge was exported from
    python bench/encoder_quality.py --torch-model DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from reljudge.io import read_pairs
from reljudge.judges.encoder.judge import SHIPPED, EncoderJudge
from reljudge.judges.model_dir import shipped_directory
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.train.common import agreement_figures

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci" / "esci_us_dev.csv"


def row(name: str, figures: dict) -> dict:
    out = {"judge": name, "alpha": figures["alpha"], "accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"]}
    out |= {f"rec_{k}": v for k, v in figures["recall"].items()}
    out |= {f"pred_{k}": v for k, v in figures["predicted_distribution"].items()}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-model", help="the trained (torch) cross-encoder directory")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (the shared ESCI data is not on this machine)")
        return 0
    scheme = get_scheme("esci")
    valid = [p for p in read_pairs(DATA, scheme=scheme, require_labels=True).pairs if p.segments["split"] == "valid"]
    truth = [p.label for p in valid]

    def labels_of(judge) -> list[str]:
        return [scheme.labels[i] for i in judge.predict_proba(valid).argmax(axis=1)]

    shipped = EncoderJudge(shipped_directory(SHIPPED))
    rows = [row("lexical (shipped)", agreement_figures(scheme, truth, labels_of(load_judge("lexical"))))]
    torch_model = args.torch_model or shipped.config.get("export", {}).get("from", "")
    if torch_model and Path(torch_model).exists():
        fp32 = EncoderJudge(torch_model)
        logits = fp32.encoder_logits(valid)  # once: the slow part
        stacked = [scheme.labels[i] for i in fp32.stack(fp32.group_features(valid), logits).argmax(axis=1)]
        rows.append(row("cross-encoder, torch fp32", agreement_figures(scheme, truth, stacked)))
        alone = [scheme.labels[i] for i in logits.argmax(axis=1)]
        rows.append(row("encoder alone, torch fp32", agreement_figures(scheme, truth, alone)))
    else:
        print(f"(no torch model at {torch_model!r}: pass --torch-model DIR for the fp32 rows)")
    rows.append(row("cross-encoder, ONNX int8 (shipped)", agreement_figures(scheme, truth, labels_of(shipped))))
    print(f"ESCI valid split: {len(valid)} pairs, {len({p.query_id for p in valid})} queries")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
