"""The labelling and audit page: server-rendered HTML (Jinja2, autoescaped), a little plain JavaScript for the
keyboard, no build step. Forms post and redirect (303) back to the page, so a reload never posts twice."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from reljudge.service import people_store
from reljudge.service.auth import (
    SESSION_COOKIE,
    check_csrf,
    csrf_nonce,
    csrf_token,
    end_session,
    page_annotator,
    require_reviewer,
    set_csrf_cookie,
    set_session_cookie,
    start_session,
)
from reljudge.service.deps import ServiceDep, service_of
from reljudge.service.errors import Conflict, InvalidField, NotSignedIn
from reljudge.service.state import Service

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page with the form CSRF token in its context (and the browser's nonce cookie set)."""
    service = service_of(request)
    nonce = csrf_nonce(request)
    response = templates.TemplateResponse(request, name, {"csrf": csrf_token(service, nonce), **context},
                                          status_code=status_code)
    set_csrf_cookie(response, nonce)
    return response


async def signed_in(request: Request) -> str:
    """The signed-in annotator of a form post.

    Raises:
        NotSignedIn: (401) before anything of the post is read or stored.
    """
    annotator = await page_annotator(request)
    if annotator is None:
        raise NotSignedIn("sign in with your annotator token first")
    return annotator


async def csrf_checked(request: Request) -> None:
    """Refuse (403) a form post without the page's CSRF token, before anything of it is used."""
    form = await request.form()
    given = form.get("csrf_token")
    check_csrf(request, given if isinstance(given, str) else None)


PageAnnotator = Annotated[str, Depends(signed_in)]
CsrfChecked = Annotated[None, Depends(csrf_checked)]


def to_signin(request: Request) -> RedirectResponse:
    """To the sign-in, which comes back here after."""
    return RedirectResponse(f"/signin?next={quote(request.url.path, safe='')}", status_code=303)


def after_signin(target: str) -> str:
    """Where a sign-in goes: the page it was asked from, if it is one of this server's pages, else the queues."""
    return target if target.startswith("/queues") and "//" not in target and "\\" not in target else "/queues"


def to_queue(queue: str) -> RedirectResponse:
    return RedirectResponse(f"/queues/{quote(queue, safe='')}", status_code=303)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/queues", status_code=303)


@router.get("/signin")
async def signin_page(request: Request, next: str = "/queues") -> HTMLResponse:
    return render(request, "signin.html", {"annotator": None, "next": after_signin(next)})


@router.post("/signin", dependencies=[Depends(csrf_checked)])
async def signin(request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/queues"
                 ) -> Response:
    try:
        session = await start_session(service_of(request), token.strip())
    except NotSignedIn as exc:
        return render(request, "signin.html", {"annotator": None, "message": str(exc), "next": after_signin(next)},
                      status_code=401)
    response = RedirectResponse(after_signin(next), status_code=303)
    set_session_cookie(response, session)
    return response


@router.post("/signout", dependencies=[Depends(csrf_checked)])
async def signout(request: Request) -> RedirectResponse:
    await end_session(request)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/queues")
async def queue_list(request: Request, service: ServiceDep) -> Response:
    annotator = await page_annotator(request)
    if annotator is None:
        return to_signin(request)
    found = await service.run(people_store.list_queues, service.store)
    return render(request, "queues.html", {"annotator": annotator, "queues": found})


@router.get("/queues/{queue}")
async def label_page(request: Request, queue: str, service: ServiceDep) -> Response:
    annotator = await page_annotator(request)
    if annotator is None:
        return to_signin(request)
    return await _label_page(request, service, queue, annotator)


async def _label_page(request: Request, service: Service, queue: str, annotator: str, *, message: str = "",
                      status_code: int = 200) -> HTMLResponse:
    labelling = service.labelling

    def gather() -> dict[str, Any]:
        item = labelling.next_pair(queue, annotator)
        return {"item": item, "progress": labelling.queue(queue).progress(annotator),
                "guideline": labelling.guideline(queue), "scheme": labelling.scheme(queue),
                "reviewer": people_store.is_reviewer(service.store, annotator)}

    context = await service.run(gather)
    return render(request, "label.html", {"annotator": annotator, "queue": queue, "message": message, **context},
                  status_code=status_code)


@router.post("/queues/{queue}/answer")
async def answer(request: Request, queue: str, annotator: PageAnnotator, _: CsrfChecked, service: ServiceDep,
                 item_id: Annotated[int, Form()], label: Annotated[Optional[str], Form()] = None,
                 cant_judge: Annotated[bool, Form()] = False, note: Annotated[str, Form()] = "") -> Response:
    try:
        await service.run(service.labelling.answer, queue, annotator, item_id, label=label, cant_judge=cant_judge,
                          note=note)
    except (Conflict, InvalidField) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return await _label_page(request, service, queue, annotator, message=str(exc), status_code=status)
    service.metrics.answers.labels(kind="cant_judge" if cant_judge else "label").inc()
    return to_queue(queue)


@router.post("/queues/{queue}/undo")
async def undo(request: Request, queue: str, annotator: PageAnnotator, _: CsrfChecked,
               service: ServiceDep) -> Response:
    try:
        await service.run(service.labelling.undo, queue, annotator)
    except Conflict as exc:
        return await _label_page(request, service, queue, annotator, message=str(exc), status_code=409)
    service.metrics.answers.labels(kind="undo").inc()
    return to_queue(queue)


@router.get("/queues/{queue}/agreement")
async def agreement_page(request: Request, queue: str, service: ServiceDep) -> Response:
    annotator = await page_annotator(request)
    if annotator is None:
        return to_signin(request)
    await require_reviewer(service, annotator)

    def gather() -> dict[str, Any]:
        return {"figures": service.labelling.agreement(queue), "info": people_store.queue_info(service.store, queue)}

    context = await service.run(gather)
    return render(request, "agreement.html", {"annotator": annotator, "queue": queue, **context})
