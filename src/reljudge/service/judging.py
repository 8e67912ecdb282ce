"""From HTTP bodies to pairs (judged through the store's cache, see batching.py), and back to response bodies.

Pairs are built exactly as the file readers build them (query id from the query text when none is given, pair id
defaulting to the pair's hash), so a pair sent here and the same pair in a file judged by `reljudge judge` share
their store key and get the same label.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from reljudge.judges.base import Judge
from reljudge.records import Pair, Product, pair_hash, query_key
from reljudge.service.batching import Judged
from reljudge.service.errors import InvalidField
from reljudge.service.schemas import JudgeRequest, RerankRequest


def request_pairs(request: JudgeRequest) -> list[Pair]:
    """The pairs of a /v1/judge body.

    Raises:
        InvalidField: two pairs with the same id (their results could not be told apart).
    """
    pairs: list[Pair] = []
    first: dict[str, int] = {}
    for i, given in enumerate(request.pairs):
        p = given.product
        product = Product(p.id, p.title, p.description, p.bullets, p.brand, p.color, p.category, p.locale)
        if given.id is not None:
            if given.id in first:
                raise InvalidField(f"pairs.{i}.id", f"{given.id!r} repeats pairs.{first[given.id]}.id")
            first[given.id] = i
        pairs.append(Pair(given.query, product, query_id=given.query_id or query_key(given.query),
                          pair_id=given.id if given.id is not None else pair_hash(given.query, product)))
    return pairs


def rerank_pairs(request: RerankRequest) -> list[Pair]:
    """One pair per document, all of the one query (a judge that compares candidates sees them all)."""
    query_id = query_key(request.query)
    pairs = []
    for document in request.documents:
        if isinstance(document, str):
            product = Product("", document)
        else:
            product = Product(document.id, document.title or document.text or "", document.description,
                              document.bullets, document.brand, document.color, document.category)
        pairs.append(Pair(request.query, product, query_id=query_id, pair_id=pair_hash(request.query, product)))
    return pairs


def judge_response(judge: Judge, pairs: Sequence[Pair], run: Judged) -> dict[str, Any]:
    labels = list(judge.scheme.labels)
    results = [{"id": pair.pair_id, "label": j.label,
                "probabilities": dict(zip(labels, j.proba)) if j.proba is not None else None, "reason": j.reason}
               for pair, j in zip(pairs, run.judgments)]
    return {"judge": judge.identity.to_dict(), "labels": labels, "results": results, "cached": run.n_cached,
            "judged": run.n_judged}


def expected_gain(judge: Judge, proba: Sequence[float] | None) -> float | None:
    """sum_k p_k * gain_k over the scheme's labels (ESCI: E 1, S 0.1, C 0.01, I 0); None when unscored."""
    if proba is None:
        return None
    return float(sum(p * g for p, g in zip(proba, judge.scheme.gains)))


def rerank_response(judge: Judge, request: RerankRequest, run: Judged) -> dict[str, Any]:
    """Cohere's response shape: results by descending relevance score, unscored documents last, then `top_n`."""
    scores = [expected_gain(judge, j.proba) for j in run.judgments]
    order = sorted(range(len(scores)), key=lambda i: (scores[i] is None, -(scores[i] or 0.0), i))
    results = []
    for i in order[: request.top_n or len(order)]:
        result: dict[str, Any] = {"index": i, "relevance_score": scores[i]}
        if request.return_documents:
            document = request.documents[i]
            result["document"] = ({"text": document} if isinstance(document, str)
                                  else document.model_dump(exclude_defaults=True))
        results.append(result)
    return {"id": uuid.uuid4().hex, "model": judge.spec, "results": results,
            "meta": {"judge": judge.identity.to_dict(), "cached": run.n_cached, "judged": run.n_judged}}

