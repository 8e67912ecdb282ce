"""What the routes take from each request: the service, the signed-in annotator, the judging client."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import Depends, Request

from reljudge.service.auth import api_annotator, api_client
from reljudge.service.state import Service


def service_of(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(service_of)]
#: The annotator of a labelling API request (bearer token); 401 without one.
ApiAnnotator = Annotated[str, Depends(api_annotator)]
#: The client of a judging request (bearer token; None on an --open service); 401 without one.
ApiClient = Annotated[Optional[str], Depends(api_client)]
