"""The judging endpoints: /v1/judge (reljudge's shape) and /v1/rerank (Cohere's), for clients with a token
(`reljudge clients add`) unless the service is --open, and the health checks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from reljudge.service.deps import ApiClient, ServiceDep
from reljudge.service.judging import (
    judge_response,
        request_pairs,
    rerank_pairs,
    rerank_response,
)
from reljudge.service.schemas import JudgeRequest, JudgeResponse, RerankRequest, RerankResponse

router = APIRouter()


@router.post("/v1/judge", response_model=JudgeResponse, tags=["judge"])
async def judge(body: JudgeRequest, client: ApiClient, service: ServiceDep) -> dict:
    """Judge pairs: per pair the label and the probability of every label of the scheme, with the judge's identity.

    A pair the store holds a judgment of (same judge, same pair, same query group) is answered from the store.
    """
    the_judge = service.require_judge()
    service.check_batch(len(body.pairs), "pairs")
    pairs = request_pairs(body)
    return judge_response(the_judge, pairs, await service.judge_pairs(pairs))


@router.post("/v1/rerank", response_model=RerankResponse, response_model_exclude_unset=True, tags=["judge"])
@router.post("/v2/rerank", response_model=RerankResponse, response_model_exclude_unset=True, tags=["judge"])
async def rerank(body: RerankRequest, client: ApiClient, service: ServiceDep) -> dict:
    """Cohere's rerank (v1 and v2, as `cohere.Client` and `cohere.ClientV2` send it): documents by descending
    relevance score, the expected gain of the scheme's labels."""
    the_judge = service.require_judge()
    service.check_batch(len(body.documents), "documents")
    pairs = rerank_pairs(body)
    return rerank_response(the_judge, body, await service.judge_pairs(pairs))


@router.get("/v2/health/live", tags=["health"])
async def live() -> dict:
    """The process answers."""
    return {"live": True}


@router.get("/v2/health/ready", tags=["health"])
async def ready(service: ServiceDep) -> JSONResponse:
    """200 once the judge is loaded; 503 while it loads, or if it failed (with the reason)."""
    if service.judge is not None:
        return JSONResponse({"ready": True, "judge": service.judge.spec})
    reason = service.load_error or "loading the judge"
    return JSONResponse({"ready": False, "reason": reason}, status_code=503)
