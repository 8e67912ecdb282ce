from __future__ import annotations

import pytest

from reljudge.prompts.fields import FieldSpec, fit_fields, fit_text, render_inline
from reljudge.records import Product

tokenizers = pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def spans():
    """The shipped judge's real WordPiece tokenizer (all-MiniLM-L6-v2's), as the `TokenSpans` the module takes."""
    from reljudge.judges.encoder.judge import SHIPPED
    from reljudge.judges.model_dir import shipped_directory

    tokenizer = tokenizers.Tokenizer.from_file(str(shipped_directory(SHIPPED) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return lambda texts: [e.offsets for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def count(spans, text: str) -> int:
    return len(spans([text])[0])


EARBUDS = Product(
    "P1", "Auralis Pro Wireless Earbuds with Active Noise Cancelling, 30h Battery", description="Long text. " * 50,
    bullets="Active noise cancelling blocks up to 35 dB; Bluetooth 5.3; IPX5 sweat resistant; " * 10,
    brand="Auralis", color="black",
)


@pytest.mark.parametrize("budget", [5, 12, 30, 64, 200])
def test_rendered_fields_never_exceed_the_token_budget(spans, budget):
    assert count(spans, render_inline(fit_fields([EARBUDS], budget, spans)[0])) <= budget


def test_fields_come_in_order_of_importance_and_the_tail_takes_what_is_left(spans):
    fitted = fit_fields([EARBUDS], 64, spans)[0]
    assert [f.name for f in fitted] == ["title", "brand", "color", "bullets"]  # description: bullets say it
    assert [f.truncated for f in fitted] == [False, False, False, True]
    text = render_inline(fitted)
    assert text.startswith("Auralis Pro Wireless Earbuds with Active Noise Cancelling, 30h Battery | brand: Auralis "
                           "| color: black | bullets: Active noise cancelling")
    assert count(spans, text) >= 60  # the budget is used, not wasted


def test_a_tight_budget_cuts_the_title_at_a_token_boundary_and_drops_the_rest(spans):
    fitted = fit_fields([EARBUDS], 6, spans)[0]
    assert [(f.name, f.text, f.truncated) for f in fitted] == [("title", "Auralis Pro Wireless Ear", True)]


def test_description_stands_in_for_missing_bullets_and_empty_fields_are_left_out(spans):
    product = Product("P2", "Steel Mug", description="Keeps coffee hot for 12 hours.", brand="  ")
    fitted = fit_fields([product], 64, spans)[0]
    assert render_inline(fitted) == "Steel Mug | description: Keeps coffee hot for 12 hours."


def test_caps_hold_even_with_budget_to_spare(spans):
    product = Product("P3", "Mug", brand="The Very Long Brand Name Of A Company That Makes Mugs And Cups Inc")
    fields = (FieldSpec("title", ""), FieldSpec("brand", "brand", 4))
    brand = fit_fields([product], 100, spans, fields)[0][1]
    assert count(spans, brand.text) == 4 and brand.truncated


def test_fit_text_cuts_each_text_to_its_own_budget(spans):
    out = fit_text(["red   coffee mug large", "usb c cable", "anything"], [2, 10, 0], spans)
    assert out == [("red coffee", True), ("usb c cable", False), ("", True)]
