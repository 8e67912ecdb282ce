"""The FastAPI app of `reljudge serve`: judging (/v1/judge, /v1/rerank), health (/v2/health/*), /metrics, the
labelling API (/v1/queues) and the labelling and audit page, with the OpenAPI page at /docs.

Errors answer with a status that says whose fault they are and a message that names what to fix: 422 names the
field, 413 the limit, 401 asks for a token, 403 for a fresh form, 404 names what is missing, 409 what conflicts,
503 says the judge is not ready or the store is busy with another process's turn (retry), and 502 that the
judge itself failed (an API judge's server down).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from reljudge.errors import ReljudgeError
from reljudge.service import api, pages, people_api
from reljudge.service.errors import (
    Conflict,
    Forbidden,
    InvalidField,
    NotReady,
    NotSignedIn,
    TooLarge,
    UnknownName,
)
from reljudge.service.metrics import Metrics
from reljudge.service.state import Service, ServiceConfig
from reljudge.store import StoreBusy

STATUS = [(InvalidField, 422), (TooLarge, 413), (NotSignedIn, 401), (Forbidden, 403), (UnknownName, 404),
          (Conflict, 409), (NotReady, 503), (StoreBusy, 503), (ReljudgeError, 502)]
_API_PREFIXES = ("/v1/", "/v2/", "/metrics")


def create_app(config: ServiceConfig, *, on_load_failure: Callable[[BaseException], None] | None = None) -> FastAPI:
    """The app; its lifespan opens the store and starts loading the judge, and closes the store on shutdown."""
    service = Service(config, on_load_failure=on_load_failure)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.open()
        try:
            yield
        finally:
            if service.batcher is not None:
                await service.batcher.close()
            service.close()

    app = FastAPI(title="reljudge", summary="Judge search relevance, and label pairs with people.",
                  lifespan=lifespan)
    app.state.service = service
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_body=config.max_body)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    app.include_router(api.router)
    app.include_router(people_api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ReljudgeError, _reljudge_error)
    return app


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 body, plus one line that names each field at fault."""
    errors = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
    message = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in errors)
    return JSONResponse({"detail": errors, "message": message}, status_code=422)


async def _reljudge_error(request: Request, exc: Exception) -> Response:
    status = next(code for kind, code in STATUS if isinstance(exc, kind))
    service = request.app.state.service
    message = str(exc)
    if service.store is not None:  # where the store lies on the server is no client's business
        message = message.replace(str(service.store.path), "the store")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if not request.url.path.startswith(_API_PREFIXES):
        page = "signin.html" if status == 401 else "message.html"
        return pages.render(request, page, {"annotator": None, "message": message, "status": status},
                            status_code=status)
    body: dict[str, Any] = {"message": message}
    if isinstance(exc, InvalidField):
        body["detail"] = [{"loc": ["body", *exc.field.split(".")], "msg": exc.message, "type": "value_error"}]
    return JSONResponse(body, status_code=status, headers=headers)


#: Headers of every answer: no framing (clickjacking), no type sniffing; the page's scripts and styles come from
#: this server only (/docs loads Swagger UI's from its CDN, so it goes without the policy).
SECURITY_HEADERS = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin")]
CSP = (b"content-security-policy",
       b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class SecurityHeaders:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = SECURITY_HEADERS + ([] if scope["path"].startswith(("/docs", "/redoc")) else [CSP])

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuse a request whose body is over `max_body` bytes with 413, before any of it is parsed or stored: the
    body is read here (declared length or not) and handed on whole."""

    def __init__(self, app: Any, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body:
                await self._refuse(send)
                return
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> dict:
            nonlocal whole
            if whole is None:
                return await receive()
            message, whole = whole, None
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, send: Callable) -> None:
        await JSONResponse({"message": f"the request's body is over {self.max_body:,} bytes, the most this server "
                                       "takes (reljudge serve --max-body)"}, status_code=413)(
            {"type": "http"}, None, send)


class MetricsMiddleware:
    """Count and time every HTTP request by its route template (never the raw path), method and status."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            self.metrics.requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=route, method=method).observe(time.perf_counter() - started)
