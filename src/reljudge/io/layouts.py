"""Input layouts: which columns of a known dataset feed each canonical pair field, and how to recognise them."""

from __future__ import annotations

from collections.abc import Iterable

from reljudge.errors import InputError
from reljudge.io.validate import is_graded
from reljudge.labels import LabelScheme

#: Layout names accepted by ``read_pairs(layout=...)`` (and the CLI's ``--layout``).
LAYOUTS: tuple[str, ...] = ("auto", "table", "esci-official", "homedepot")

#: The ESCI column names, which the "table" layout reads; each field takes the first candidate present.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "query_id": ("query_id",),
    "query": ("query",),
    "product_id": ("product_id",),
    "product_title": ("product_title",),
    "product_description": ("product_description",),
    "product_bullet_point": ("product_bullet_point",),
    "product_brand": ("product_brand",),
    "product_color": ("product_color",),
    "product_category": ("product_category",),
    "product_locale": ("product_locale",),
    "label": ("esci_label", "label"),
    "pair_id": ("pair_id", "example_id", "id"),
}

#: Short spellings accepted as keys of a column map, named like the Product attributes.
FIELD_ALIASES: dict[str, str] = {
    "title": "product_title",
    "description": "product_description",
    "bullets": "product_bullet_point",
    "brand": "product_brand",
    "color": "product_color",
    "category": "product_category",
    "locale": "product_locale",
}

REQUIRED: tuple[str, ...] = ("query", "product_id", "product_title")

_LAYOUT_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "table": TABLE_COLUMNS,
    # The official examples file; product text comes from joining the products file (esci_official.py).
    "esci-official": {**TABLE_COLUMNS, "pair_id": ("example_id",)},
    # Kaggle 2016 Home Depot: relevance is the mean of three or more 1-3 ratings.
    "homedepot": {**TABLE_COLUMNS, "pair_id": ("id",), "product_id": ("product_uid",), "query": ("search_term",),
                  "label": ("relevance",)},
}


def layout_columns(layout: str) -> dict[str, tuple[str, ...]]:
    """The default source columns of a concrete layout (not "auto")."""
    return _LAYOUT_COLUMNS[layout]


def detect_layout(file: str, columns: Iterable[str], layout: str = "auto") -> str:
    """The concrete layout of a file: `layout` itself unless it is "auto", else guessed from the columns.

    The official examples file is the only one with both example_id and small_version; Home Depot's is the only
    one with search_term, relevance and product_uid. Anything else is read with the ESCI column names.
    """
    if layout not in LAYOUTS:
        raise InputError(file, f"unknown layout {layout!r}: use {', '.join(LAYOUTS)}")
    if layout != "auto":
        return layout
    present = set(columns)
    if {"example_id", "small_version"} <= present:
        return "esci-official"
    if {"search_term", "relevance", "product_uid"} <= present:
        return "homedepot"
    return "table"


def check_scheme(file: str, layout: str, scheme: LabelScheme) -> None:
    """Home Depot's labels are means of 1-3 ratings: only a graded scheme can hold them."""
    if layout == "homedepot" and not is_graded(scheme):
        raise InputError(file, f"Home Depot relevance is a 1-3 graded scale, not {scheme.name}: "
                               "use --scheme graded:1-3", field="relevance")
