"""The labelling API (JSON, bearer token): what the page does, for scripts and other labelling front ends."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from reljudge.service import people_store
from reljudge.service.auth import require_reviewer
from reljudge.service.deps import ApiAnnotator, ServiceDep
from reljudge.service.schemas import AnswerIn

router = APIRouter(prefix="/v1/queues", tags=["labelling"])


@router.get("")
async def queues(annotator: ApiAnnotator, service: ServiceDep) -> list[dict]:
    """Every queue with its progress."""
    found = await service.run(people_store.list_queues, service.store)
    return [{k: v for k, v in asdict(q).items() if k != "created"} | {"created": q.created.isoformat()}
            for q in found]


@router.get("/{queue}/next", responses={204: {"description": "Nothing left for this annotator."}})
async def next_pair(queue: str, annotator: ApiAnnotator,
                    service: ServiceDep) -> Response:
    """The pair for this annotator to label now (the same one until they answer it)."""
    labelling = service.labelling

    def shown() -> dict | None:
        item = labelling.next_pair(queue, annotator)
        return None if item is None else {
            "item_id": item.item_id, "pair_id": item.pair_id, "query": item.query, "product": asdict(item.product),
            "guideline": labelling.guideline(queue).version}

    found = await service.run(shown)
    return Response(status_code=204) if found is None else JSONResponse(found)


@router.post("/{queue}/answers", status_code=201)
async def answer(queue: str, body: AnswerIn, annotator: ApiAnnotator,
                 service: ServiceDep) -> dict:
    """Record a label of a pair shown to this annotator, or that they cannot judge it (with a note)."""
    label_id = await service.run(service.labelling.answer, queue, annotator, body.item_id, label=body.label,
                                 cant_judge=body.cant_judge, note=body.note)
    service.metrics.answers.labels(kind="cant_judge" if body.cant_judge else "label").inc()
    return {"label_id": label_id}


@router.post("/{queue}/undo")
async def undo(queue: str, annotator: ApiAnnotator, service: ServiceDep) -> dict:
    """Void this annotator's latest answer in the queue; its pair comes back to them next."""
    item_id = await service.run(service.labelling.undo, queue, annotator)
    service.metrics.answers.labels(kind="undo").inc()
    return {"item_id": item_id}


@router.get("/{queue}/agreement")
async def agreement(queue: str, annotator: ApiAnnotator,
                    service: ServiceDep) -> dict:
    """Agreement among annotators and with the judge (alphas hidden below 30 shared pairs), and the audit list: for
    reviewers (403 for the others, who label blind)."""
    await require_reviewer(service, annotator)
    return await service.run(service.labelling.agreement, queue)
