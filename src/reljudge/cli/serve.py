"""`reljudge serve`: the judge over HTTP, with the labelling and audit page, until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from reljudge.cli.judge_options import JudgeChoice, judge_flags
from reljudge.cli.options import BatchSize, Scheme, StorePath, reports_errors
from reljudge.judges import DEFAULT_JUDGE


@reports_errors
@judge_flags(default=DEFAULT_JUDGE, help="Judge spec, e.g. cross-encoder, lexical, cross-encoder:DIR, causal:DIR, "
                                         "api:MODEL.")
def serve(
    scheme: Scheme = None,
    store: StorePath = None,
    host: Annotated[str, typer.Option(help="The address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8000,
    max_batch: Annotated[int, typer.Option(
        "--max-batch", min=1, help="The most pairs (or rerank documents) one request may hold; more gets 413.")] = 256,
    batch_size: BatchSize = 64,
    open_: Annotated[bool, typer.Option(
        "--open", help="Judge for anyone who can reach the port, with no client token: for a service on your own "
                       "machine only.")] = False,
    max_body: Annotated[int, typer.Option(
        "--max-body", min=1024, help="The most bytes one request's body may hold; more gets 413.")] = 4 * 2**20,
    *,
    choice: JudgeChoice,
) -> None:
    """Serve the judge over HTTP and the labelling page, judgments written to and reused from the store.

    POST /v1/judge, /v1/rerank and /v2/rerank (Cohere's shapes) for clients with a token (`reljudge clients add
    NAME`; or --open), GET /v2/health/live and /v2/health/ready, /metrics (Prometheus), /docs (OpenAPI); the
    labelling page at /queues for annotators added with `reljudge annotators add` (the agreement and audit view
    for those added with --reviewer) on queues made with `reljudge queue add`. The server hands the store to
    another process within 0.1 s of its asking, so those commands, `reljudge judge` and `reljudge report` run on
    the same store beside it.
    """
    import uvicorn

    from reljudge.errors import ReljudgeError
    from reljudge.judges.registry import judge_options, spec_name
    from reljudge.service.app import create_app
    from reljudge.service.state import ServiceConfig
    from reljudge.store import Store

    options = choice.load_options()
    judge_options(spec_name(choice.spec), options)  # refuse a bad option now, not after the server is up
    with Store(store):  # a store that cannot be opened fails here, before the server is up
        pass
    failures: list[BaseException] = []
    server: uvicorn.Server | None = None

    def stop(exc: BaseException) -> None:
        failures.append(exc)
        if server is not None:
            server.should_exit = True

    config = ServiceConfig(judge=choice.spec, judge_options=options, scheme=scheme, store=store,
                           max_batch=max_batch, batch_size=batch_size, open=open_, max_body=max_body)
    if open_:
        typer.secho(f"WARNING: --open: /v1/judge and /v1/rerank answer anyone who reaches {host}:{port}, with no "
                    "token, and what they send is judged and stored", fg="red", bold=True, err=True)
    app = create_app(config, on_load_failure=stop)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    typer.echo(f"labelling page: http://{host}:{port}/queues   API: http://{host}:{port}/docs", err=True)
    server.run()
    if failures:
        raise ReljudgeError(f"the judge {choice.spec} could not be loaded: {failures[0]}")
