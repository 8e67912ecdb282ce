"""The labelling guideline of each scheme: label definitions and a decision tree of yes/no questions leading to them.

Faire wrote its guideline as a decision tree and reached over 90% agreement among its labellers: questions asked in
a fixed order leave less to each annotator's taste than four definitions side by side. A guideline is versioned,
and the version is stored with every label, so a change of wording can be told apart in the agreement figures.
Change a text here and bump its VERSION.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from reljudge.labels import LabelScheme

ESCI_VERSION = "esci/v1"
GRADED_VERSION = "graded/v1"
BINARY_VERSION = "binary/v1"

#: The keys that are never labels: undo and "can't judge".
UNDO_KEY = "u"
CANT_JUDGE_KEY = "x"


@dataclass(frozen=True)
class Definition:
    label: str
    name: str
    text: str
    key: str


@dataclass(frozen=True)
class Leaf:
    """Where a path of answers ends: one label, or a few with a hint for choosing among them."""

    labels: tuple[str, ...]
    hint: str = ""


@dataclass(frozen=True)
class Question:
    text: str
    yes: Union["Question", Leaf]
    no: Union["Question", Leaf]


@dataclass(frozen=True)
class Guideline:
    scheme: str
    version: str
    definitions: tuple[Definition, ...]
    tree: Question

    @property
    def keys(self) -> dict[str, str]:
        """Keyboard key -> label."""
        return {d.key: d.label for d in self.definitions}


def guideline_for(scheme: LabelScheme) -> Guideline:
    """The guideline of a scheme: ESCI's, binary's, or the graded one written for the scale's grades."""
    if scheme.name == "esci":
        return _esci()
    if scheme.name == "binary":
        return _binary()
    return _graded(scheme)


def _esci() -> Guideline:
    definitions = (
        Definition("E", "Exact", "Relevant for the query and meets every requirement it states.", "e"),
        Definition("S", "Substitute", "Somewhat relevant: fails some detail of the query (brand, size, colour, "
                   "model, quantity) but could be used instead of what was asked for.", "s"),
        Definition("C", "Complement", "Not what the query asks for, but used together with it (an accessory, a "
                   "part, a refill).", "c"),
        Definition("I", "Irrelevant", "Has nothing to do with the query, or fails a central requirement of it.",
                   "i"),
    )
    tree = Question(
        "Is the product the kind of thing the query asks for (would it do the job the shopper has in mind)?",
        yes=Question(
            "Does it meet every requirement the query states (brand, model, size, colour, quantity, fit)?",
            yes=Leaf(("E",)),
            no=Question("Would the shopper still accept it instead (the detail it misses is not central)?",
                        yes=Leaf(("S",)), no=Leaf(("I",))),
        ),
        no=Question("Is it used together with what the query asks for (an accessory, a part, a refill)?",
                    yes=Leaf(("C",)), no=Leaf(("I",))),
    )
    return Guideline("esci", ESCI_VERSION, definitions, tree)


def _binary() -> Guideline:
    definitions = (
        Definition("0", "Not relevant", "The shopper would not want to see it for this query.", "0"),
        Definition("1", "Relevant", "What the shopper asked for, or something they would accept instead.", "1"),
    )
    tree = Question("Would a shopper who typed the query be glad to see this product (it is what they want, or "
                    "could be used instead)?", yes=Leaf(("1",)), no=Leaf(("0",)))
    return Guideline("binary", BINARY_VERSION, definitions, tree)


def _graded(scheme: LabelScheme) -> Guideline:
    low, high, middle = scheme.labels[0], scheme.labels[-1], scheme.labels[1:-1]
    keyed = all(len(label) == 1 for label in scheme.labels)
    key = {label: label if keyed else str(i + 1) for i, label in enumerate(scheme.labels)}
    texts = {low: ("Irrelevant", "Has nothing to do with the query, or fails a central requirement of it."),
             high: ("Fully relevant", "Exactly what the query asks for, meeting every requirement it states.")}
    for label in middle:
        texts[label] = ("Partly relevant", "The right kind of product, missing some detail of the query; a higher "
                                           "grade meets more of it.")
    definitions = tuple(Definition(label, *texts[label], key[label]) for label in scheme.labels)
    partly = (Leaf(middle, "the more of the query it meets, the higher the grade") if len(middle) > 1
              else Leaf(middle) if middle else Leaf((low,)))
    tree = Question(
        "Is the product the kind of thing the query asks for?",
        yes=Question("Does it meet every requirement the query states?", yes=Leaf((high,)),
                     no=Question("Is the requirement it misses central to the query?", yes=Leaf((low,)), no=partly)),
        no=Leaf((low,)),
    )
    return Guideline(scheme.name, GRADED_VERSION, definitions, tree)
