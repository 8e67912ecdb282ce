"""The cross-encoder's torch model: an encoder and a k-way head over what the base was trained to give.

Why two poolings: a sentence-transformers base (all-MiniLM-L6-v2, the default) was trained to be mean-pooled over
its tokens; its [CLS] state barely varies between pairs, and a head on [CLS] stays at a uniform guess (Home Depot's
pairs: the class-weighted loss held at ln 3 for 6,240 pairs). Mean pooling reads what the base learnt. A base that
is already a cross-encoder (a `*ForSequenceClassification` directory, e.g. an MS MARCO reranker) was trained to put
relevance at [CLS], so it keeps the Hugging Face sequence-classification model and its [CLS] head.

A mean-pooled model is saved as the encoder's Hugging Face files (config.json, model.safetensors) and `HEAD_FILE`
(the linear head); reljudge.json says which pooling the directory holds. torch and transformers are needed here
(the torch backend, training and export), never by the ONNX judge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch

from reljudge.errors import JudgeError
from reljudge.judges.encoder.judge import HEAD_FILE

Pooling = Literal["mean", "cls"]


def base_pooling(base_dir: Path) -> Pooling:
    """"cls" for a base that is a sequence classifier already (its [CLS] was trained for the task), else "mean"."""
    config = json.loads((Path(base_dir) / "config.json").read_text(encoding="utf-8"))
    return "cls" if any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or []) else "mean"


def new_classifier(base_dir: Path, labels: tuple[str, ...], pooling: Pooling, layers: int | None) -> Any:
    """A fresh k-way classifier on `base_dir`'s weights (its lowest `layers` layers when given), head untrained."""
    kept = {"num_hidden_layers": layers} if layers else {}
    if pooling == "cls":
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(
            str(base_dir), num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)}, local_files_only=True,
            ignore_mismatched_sizes=True, **kept)
    from transformers import AutoModel

    return MeanPooledClassifier(AutoModel.from_pretrained(str(base_dir), local_files_only=True, **kept), len(labels))


def load_classifier(directory: Path, pooling: Pooling, **load: Any) -> Any:
    """The trained classifier saved in `directory` (see `save_classifier`); `load`: from_pretrained's options."""
    if pooling == "cls":
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(str(directory), local_files_only=True, **load)
    from safetensors.torch import load_file
    from transformers import AutoModel

    head = directory / HEAD_FILE
    if not head.exists():
        raise JudgeError(f"the cross-encoder at {directory} is mean-pooled but has no {HEAD_FILE}; retrain it")
    weights = load_file(str(head))
    model = MeanPooledClassifier(AutoModel.from_pretrained(str(directory), local_files_only=True, **load),
                                 weights["weight"].shape[0])
    model.classifier.load_state_dict(weights)
    return model


def save_classifier(model: Any, directory: Path) -> None:
    """Write the classifier's files into `directory` (what `load_classifier` reads)."""
    if isinstance(model, MeanPooledClassifier):
        from safetensors.torch import save_file

        model.encoder.save_pretrained(directory)
        save_file({k: v.contiguous() for k, v in model.classifier.state_dict().items()}, str(directory / HEAD_FILE))
        return
    model.save_pretrained(directory)


class MeanPooledClassifier(torch.nn.Module):
    """An encoder's last layer averaged over the pair's tokens (padding left out), then dropout and a linear head.

    forward(input_ids, attention_mask, token_type_ids) returns an object with `.logits`, (batch, k), as a Hugging
    Face sequence classifier does, so the trainer, the torch backend and export treat both alike.
    """

    def __init__(self, encoder: Any, k: int):
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.dropout = torch.nn.Dropout(getattr(encoder.config, "hidden_dropout_prob", 0.1))
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, k)

    @property
    def base_model(self) -> Any:
        return self.encoder

    def get_input_embeddings(self) -> Any:
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None, **_: Any) -> Any:
        from transformers.modeling_outputs import SequenceClassifierOutput

        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))
