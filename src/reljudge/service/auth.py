"""Who is asking: annotators sign in with the token `reljudge annotators add` printed, and forms carry a CSRF token.

- The labelling API takes the token as `Authorization: Bearer TOKEN`. A browser never adds that header by itself,
  so those requests need no CSRF token.
- The page keeps the token in an HttpOnly, SameSite=Strict cookie after the sign-in form, and every form post must
  carry a CSRF token: the HMAC, under a secret of this server process, of a random nonce kept in a cookie of its own
  (the signed double-submit cookie). Another site can neither read the nonce nor forge its HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request, Response

from reljudge.service import people_store
from reljudge.service.errors import Forbidden, NotSignedIn
from reljudge.service.state import Service

SESSION_COOKIE = "reljudge_session"
CSRF_COOKIE = "reljudge_csrf"
CSRF_FIELD = "csrf_token"
#: Seconds a token found valid is taken as valid before the store is asked again.
TOKEN_RECHECK = 10.0


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def annotator_of(service: Service, token: str | None, role: str = people_store.ANNOTATOR) -> str:
    """The annotator (or API client) a token belongs to, read from the store again once it was last read
    TOKEN_RECHECK ago: other processes add and revoke accounts while the service runs, and a revoked token is
    refused within that time.

    Raises:
        NotSignedIn: no token, or an unknown or revoked one, or another role's.
    """
    if not token:
        raise NotSignedIn(f"sign in with your {role} token (reljudge {role}s add NAME prints one)")
    key = (people_store.token_digest(token), role)
    known = service.signed_in.get(key)
    if known is None or time.monotonic() - known[1] > TOKEN_RECHECK:
        name = await service.run(people_store.annotator_for_token, service.store, token, role)
        if name is None:
            service.signed_in.pop(key, None)
            raise NotSignedIn(f"this token is no {role}'s, or it is revoked; ask for a new one (reljudge {role}s "
                              "add NAME)")
        known = service.signed_in[key] = (name, time.monotonic())
    return known[0]


async def require_reviewer(service: Service, annotator: str) -> None:
    """Refuse (403) the agreement and audit view to an annotator who is no reviewer: it shows everyone's labels,
    and those labelling a shared pair must not see another's label before giving theirs.

    Raises:
        Forbidden: naming the command that makes a reviewer.
    """
    if not await service.run(people_store.is_reviewer, service.store, annotator):
        raise Forbidden(f"the agreement and audit view is for reviewers, and {annotator} labels blind (a reviewer is "
                        "added with: reljudge annotators add NAME --reviewer)")


async def api_annotator(request: Request) -> str:
    """The annotator of a labelling API request (bearer token)."""
    return await annotator_of(request.app.state.service, bearer_token(request))


async def api_client(request: Request) -> str | None:
    """The client of a judging request (bearer token), or None on a service started with --open."""
    service = request.app.state.service
    if service.config.open:
        return None
    return await annotator_of(service, bearer_token(request), people_store.CLIENT)


async def page_annotator(request: Request) -> str | None:
    """The annotator signed in on the page, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await annotator_of(request.app.state.service, token)
    except NotSignedIn:
        return None


def csrf_nonce(request: Request) -> str:
    """The browser's CSRF nonce (a new one when it has none; `set_csrf_cookie` sends it)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def csrf_token(service: Service, nonce: str) -> str:
    return hmac.new(service.csrf_secret, nonce.encode(), hashlib.sha256).hexdigest()


def set_csrf_cookie(response: Response, nonce: str) -> None:
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/")


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/")


def check_csrf(request: Request, given: str | None) -> None:
    """Refuse a form post whose CSRF token is missing or does not match the browser's nonce.

    Raises:
        Forbidden: nothing of the post is stored.
    """
    nonce = request.cookies.get(CSRF_COOKIE)
    expected = csrf_token(request.app.state.service, nonce) if nonce else None
    if not given or expected is None or not hmac.compare_digest(expected, given):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
