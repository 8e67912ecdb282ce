"""The classifier's forward with the last layer at [CLS] only: the same logits as the Hugging Face forward."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from reljudge.train.cls_forward import cls_only  # noqa: E402

SIZES = {"vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4,
         "intermediate_size": 64, "num_labels": 4}


def padded_batch(vocab: int) -> dict[str, torch.Tensor]:
    """5 pairs of 20 tokens, padded to different lengths, with two token types (not the check's own batch)."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(5, vocab, (5, 20), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    for row, length in enumerate([20, 17, 9, 3, 12]):
        attention_mask[row, length:] = 0
    token_type_ids = (torch.arange(20) >= 6).long().expand(5, 20).contiguous() * attention_mask
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


@pytest.mark.parametrize("make", [
    lambda: transformers.BertForSequenceClassification(transformers.BertConfig(**SIZES)),
    lambda: transformers.RobertaForSequenceClassification(transformers.RobertaConfig(**SIZES, type_vocab_size=1)),
], ids=["bert", "roberta"])
def test_the_rewritten_forward_gives_the_models_logits(make):
    torch.manual_seed(0)
    model = make().eval()
    rewritten = cls_only(model)
    assert rewritten is not None
    batch = padded_batch(SIZES["vocab_size"])
    if model.config.type_vocab_size == 1:
        batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
    with torch.inference_mode():
        expected = model(**batch).logits
        got = rewritten(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    assert got.shape == (5, 4)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_a_layout_it_does_not_know_is_exported_whole():
    config = transformers.DistilBertConfig(vocab_size=300, dim=32, n_layers=2, n_heads=4, hidden_dim=64, num_labels=4)
    assert cls_only(transformers.DistilBertForSequenceClassification(config).eval()) is None


def test_a_model_the_rewrite_cannot_run_is_exported_whole():
    """ELECTRA's layers have BERT's parts, but its embeddings (16 wide here) are projected to the hidden size first."""
    config = transformers.ElectraConfig(**SIZES, embedding_size=16)
    assert cls_only(transformers.ElectraForSequenceClassification(config).eval()) is None


def test_a_model_whose_own_forward_differs_is_exported_whole():
    class Sharpened(transformers.BertForSequenceClassification):
        """The BERT layout, but its forward does something the rewrite does not (doubles the logits)."""

        def forward(self, **inputs):
            output = super().forward(**inputs)
            output.logits = 2 * output.logits
            return output

    torch.manual_seed(0)
    assert cls_only(Sharpened(transformers.BertConfig(**SIZES)).eval()) is None
