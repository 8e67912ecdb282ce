"""The service's errors, each answered with its own HTTP status (404, 409, 401, 403)."""

from __future__ import annotations

from reljudge.errors import ReljudgeError


class UnknownName(ReljudgeError):
    """A queue, annotator or queue item that the store does not hold (404)."""


class Conflict(ReljudgeError):
    """A write that contradicts what the store holds: a name taken, a pair labelled twice, nothing to undo (409)."""


class NotSignedIn(ReljudgeError):
    """No token, or one that is unknown or revoked (401): nothing is stored."""


class Forbidden(ReljudgeError):
    """A form post without the page's CSRF token (403): nothing is stored."""


class InvalidField(ReljudgeError):
    """A request field whose value cannot be used (422), named so the client can fix it."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotReady(ReljudgeError):
    """The judge is still loading, or failed to load (503)."""


class TooLarge(ReljudgeError):
    """More pairs or documents in one request than the server's --max-batch (413): nothing is judged or stored."""
