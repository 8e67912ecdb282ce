"""What the routes take from each request: the service, and the signed-in annotator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from reljudge.service.auth import api_annotator
from reljudge.service.state import Service


def service_of(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(service_of)]
#: The annotator of a labelling API request (bearer token); 401 without one.
ApiAnnotator = Annotated[str, Depends(api_annotator)]
