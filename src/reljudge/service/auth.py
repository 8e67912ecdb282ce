"""Who is asking: annotators sign in with the token `reljudge annotators add` printed, and forms carry a CSRF token.

- The labelling API takes the token as `Authorization: Bearer TOKEN`. A browser never adds that header by itself,
  so those requests need no CSRF token.
- The page keeps a session id (not the token) in an HttpOnly, SameSite=Strict cookie after the sign-in form; the
  store keeps it hashed, and signing out ends it. Every form post must
  carry a CSRF token: the HMAC, under a secret of this server process, of a random nonce kept in a cookie of its own
  (the signed double-submit cookie). Another site can neither read the nonce nor forge its HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from fastapi import Request, Response

from reljudge.service import people_store
from reljudge.service.errors import Forbidden, NotSignedIn
from reljudge.service.state import Service

SESSION_COOKIE = "reljudge_session"
CSRF_COOKIE = "reljudge_csrf"
CSRF_FIELD = "csrf_token"
#: Seconds a token found valid is taken as valid before the store is asked again.
TOKEN_RECHECK = 10.0
#: The cache's role for page sessions (beside the token roles of people_store).
SESSION = "session"


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
    name = await _recently_checked(service, token, role, people_store.annotator_for_token, token, role)
    if name is None:
        raise NotSignedIn(f"this token is no {role}'s, or it is revoked; ask for a new one (reljudge {role}s "
                          "add NAME)")
    return name


async def _recently_checked(service: Service, secret: str, kind: str, look_up: Callable[..., str | None],
                            *args: str) -> str | None:
    """Who a token or session (`secret`, of `kind`) belongs to: `look_up(store, *args)`'s answer, kept for
    TOKEN_RECHECK seconds; an unknown or revoked one is asked again every time."""
    key = (people_store.token_digest(secret), kind)
    known = service.signed_in.get(key)
    if known is None or time.monotonic() - known[1] > TOKEN_RECHECK:
        name = await service.run(look_up, service.store, *args)
        if name is None:
            service.signed_in.pop(key, None)
            return None
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
    """The annotator signed in on the page (by a session not ended), or None; checked against the store again
    once TOKEN_RECHECK has passed, as tokens are."""
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return None
    return await _recently_checked(request.app.state.service, session, SESSION, people_store.annotator_for_session,
                                   session)


async def start_session(service: Service, token: str) -> str:
    """Sign an annotator in: check their token, and return a new session's id for the cookie.

    Raises:
        NotSignedIn: the token is no annotator's, or revoked.
    """
    annotator = await annotator_of(service, token)
    return await service.run(people_store.start_session, service.store, annotator)


async def end_session(request: Request) -> None:
    """Sign out: the session's cookie no longer signs anyone in, here or in a copy of it."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        service = request.app.state.service
        service.signed_in.pop((people_store.token_digest(session), SESSION), None)
        await service.run(people_store.end_session, service.store, session)


def csrf_nonce(request: Request) -> str:
    """The browser's CSRF nonce (a new one when it has none; `set_csrf_cookie` sends it)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def csrf_token(service: Service, nonce: str) -> str:
    return hmac.new(service.csrf_secret, nonce.encode(), hashlib.sha256).hexdigest()


def set_csrf_cookie(response: Response, nonce: str) -> None:
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/")


def set_session_cookie(response: Response, session: str) -> None:
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")


def check_csrf(request: Request, given: str | None) -> None:
    """Refuse a form post whose CSRF token is missing or does not match the browser's nonce.

    Raises:
        Forbidden: nothing of the post is stored.
    """
    nonce = request.cookies.get(CSRF_COOKIE)
    expected = csrf_token(request.app.state.service, nonce) if nonce else None
    if not given or expected is None or not hmac.compare_digest(expected, given):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
