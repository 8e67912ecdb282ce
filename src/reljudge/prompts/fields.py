"""Which product fields a model sees, and how they are cut to fit a token budget.

Every model judge (the cross-encoder and the causal-LM judge) reads the same fields in the same order of
importance: the title says what the product is; brand and colour decide many Exact-vs-Substitute calls and cost a
few tokens; the start of the bullets (or of the description when there are no bullets) adds detail with whatever
budget is left. A model's context is short and its cost grows with length, so each field gets a cap and the long
tail fields are cut to the tokens that remain. How the fields are then rendered (one line of text for an encoder,
a labelled prompt for an LLM) is the judge's business: `render_inline` is the encoder's, `render_lines` the LLM's.

Token counts come from the judge's own tokenizer through a `TokenSpans` callable, so the budget holds for that
model exactly. Text is cut at a token boundary of the original string, never re-decoded, so the model sees the
product's own characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from reljudge.records import Product

#: The character spans of the tokens of each text, without special tokens: texts -> [[(start, end), ...], ...].
#: Batched, because fast tokenizers encode a batch in parallel.
TokenSpans = Callable[[Sequence[str]], Sequence[Sequence[tuple[int, int]]]]

#: A field's text is cut to this many characters per token of budget before it is tokenized, so an 8,000-character
#: description never costs a full tokenization. English product text runs ~4-5 characters per token.
CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class FieldSpec:
    """One product field: the Product attribute, the label shown before it (empty for none), its token cap."""

    name: str
    label: str
    cap: int | None = None


#: Fields in order of importance; a field with no cap takes what the fields before it left.
PRODUCT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("title", "", 48),
    FieldSpec("brand", "brand", 8),
    FieldSpec("color", "color", 8),
    FieldSpec("bullets", "bullets"),
    FieldSpec("description", "description"),
)


#: What a causal LM's prompt shows: every field labelled (a model asked in words reads "title:" better than a
#: bare first line), and the category, which an encoder's short input has no room for.
PROMPT_FIELDS: tuple[FieldSpec, ...] = (
    replace(PRODUCT_FIELDS[0], label="title"),
    *PRODUCT_FIELDS[1:3],
    FieldSpec("category", "category", 16),
    *PRODUCT_FIELDS[3:],
)


@dataclass(frozen=True)
class FittedField:
    """A field's label and its text, cut to its share of the budget (`truncated` says whether anything was cut)."""

    name: str
    label: str
    text: str
    truncated: bool


def fit_text(texts: Sequence[str], budgets: Sequence[int], spans: TokenSpans) -> list[tuple[str, bool]]:
    """Cut each text (whitespace collapsed) to at most its budget of tokens, at a token boundary.

    Returns:
        (text, truncated) per input; a budget of 0 or less gives "".
    """
    clipped = [_clip(t, b) for t, b in zip(texts, budgets)]
    return [_cut(original, text, token_spans, budget)
            for original, text, token_spans, budget in zip(texts, clipped, spans(clipped), budgets)]


def fit_fields(
    products: Sequence[Product], budget: int, spans: TokenSpans, fields: Sequence[FieldSpec] = PRODUCT_FIELDS
) -> list[list[FittedField]]:
    """Each product's non-empty fields, cut so that labels and texts together take at most `budget` tokens.

    Fields are filled in order: each gets min(its length, its cap, what is left). A field's label and one separator
    are charged to it, so a rendered product stays within budget. The description is left out when the bullets
    are present: both say the same thing in most catalogues, and the bullets say it in fewer words.

    Args:
        products: the products to fit.
        budget: tokens for the whole product text.
        spans: the model's tokenizer (see `TokenSpans`).
        fields: which fields, in which order, with which caps.

    Returns:
        One list per product of its fitted fields, in `fields` order, empty fields left out.
    """
    remaining = [budget] * len(products)
    chosen: list[list[FittedField]] = [[] for _ in products]
    for spec in fields:
        rows = [i for i, p in enumerate(products) if _value(p, spec.name).strip() and remaining[i] > 0]
        if spec.name == "description":
            rows = [i for i in rows if not products[i].bullets.strip()]
        if not rows:
            continue
        overhead = len(spans([f"{spec.label}: |" if spec.label else "|"])[0])
        originals = [_value(products[i], spec.name) for i in rows]
        clipped = [_clip(t, budget) for t in originals]
        for i, original, text, token_spans in zip(rows, originals, clipped, spans(clipped)):
            room = remaining[i] - overhead
            share = max(0, min(len(token_spans), room, spec.cap if spec.cap is not None else room))
            cut, truncated = _cut(original, text, token_spans, share)
            if cut:
                chosen[i].append(FittedField(spec.name, spec.label, cut, truncated))
                remaining[i] -= share + overhead
    return chosen


def _clip(text: str, budget: int) -> str:
    return " ".join(text.split())[: max(budget, 0) * CHARS_PER_TOKEN]


def _cut(original: str, clipped: str, token_spans: Sequence[tuple[int, int]], budget: int) -> tuple[str, bool]:
    """The clipped text cut after its `budget`-th token, and whether anything of the original was left out."""
    if budget <= 0 or not clipped:
        return "", bool(original.strip())
    if len(token_spans) <= budget:
        return clipped, len(clipped) < len(" ".join(original.split()))
    return clipped[: token_spans[budget - 1][1]].rstrip(), True


def render_inline(fitted: Sequence[FittedField]) -> str:
    """One line: "Title | brand: Acme | color: red | bullets: ..." (the cross-encoder's product text)."""
    return " | ".join(f"{f.label}: {f.text}" if f.label else f.text for f in fitted)


def render_lines(fitted: Sequence[FittedField]) -> str:
    """One field per line, "title: ..." (a causal LM's prompt)."""
    return "\n".join(f"{f.label}: {f.text}" for f in fitted)


def _value(product: Product, name: str) -> str:
    return getattr(product, name) or ""
