"""An async client for OpenAI-compatible chat-completion servers: N requests in flight, rate limits, retries.

Why its own client rather than the `openai` package: the judge needs exactly one endpoint, control over which
failures are retried (429 and 5xx and timeouts, honouring Retry-After) and which end the run (a server that cannot
be reached, a refused key), and every reply's token counts for the cost; httpx + tenacity do that in a page.

Outcomes per request:
- a `Reply` (the text, the first token's top log-probabilities when the server gave them, token counts);
- a `Failure` for what concerns one request only: the server rejected it (HTTP 400/413/422: e.g. a prompt too
  long for its context) or kept answering with a body that is not a chat completion; the judge stores it unscored;
- `ApiUnavailable` for what concerns the whole run (cannot connect, keeps timing out or failing with 429/5xx after
  every retry, refuses the key, knows no such model): raised with the outcomes already in hand, so they are kept.

The API key is sent in the Authorization header only; it is never part of a message, a log record or a result.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from reljudge.errors import JudgingStopped

#: Statuses worth another try: the server is busy or failing for the moment.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: Statuses that end the run: no later request can succeed either.
FATAL_STATUSES = {401: "refused the API key", 403: "refused the API key", 404: "knows no such model or endpoint"}
#: The longest wait a Retry-After header may impose, in seconds.
MAX_RETRY_AFTER = 60.0
#: Characters per token, to estimate a prompt's tokens for the tokens-per-minute limit before the server counts them.
CHARS_PER_TOKEN = 4
RAW_LIMIT = 2000


@dataclass(frozen=True)
class Reply:
    """A parsed chat completion: text, finish reason, the first generated token's top (token, logprob) pairs."""

    text: str
    finish_reason: str
    top_logprobs: tuple[tuple[str, float], ...]
    tokens_in: int
    tokens_out: int


@dataclass(frozen=True)
class Failure:
    """A request that got no usable reply, and why (`raw`: what the server sent, cut to RAW_LIMIT characters)."""

    reason: str
    raw: str = ""


Outcome = Reply | Failure


class ApiUnavailable(JudgingStopped):
    """The server cannot be used for the rest of the run.

    Attributes:
        outcomes: per request, what was done before (None where nothing was).
        judgments: the same as judgments, filled in by the judge, for its caller to keep.
    """

    def __init__(self, message: str, outcomes: Sequence[Outcome | None] = ()):
        super().__init__(message)
        self.outcomes = list(outcomes)


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None, raw: str = ""):
        super().__init__(message)
        self.retry_after, self.raw = retry_after, raw


class _Malformed(_Retryable):
    """A 200 whose body is not a chat completion (cut short, or garbage): retried, then a per-request Failure."""


@dataclass
class Usage:
    """What the run has cost so far. Prices are money per million tokens, as vendors quote them."""

    requests: int = 0
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    price_in: float | None = None
    price_out: float | None = None

    @property
    def cost(self) -> float | None:
        if self.price_in is None and self.price_out is None:
            return None
        return (self.tokens_in * (self.price_in or 0.0) + self.tokens_out * (self.price_out or 0.0)) / 1e6

    def describe(self) -> str:
        """One line: requests, retries, tokens in/out and money (when prices are known)."""
        money = f", cost {self.cost:.4f}" if self.cost is not None else ""
        return (f"{self.requests} requests ({self.retries} retries), {self.tokens_in:,} tokens in, "
                f"{self.tokens_out:,} out{money}")


@dataclass
class _Bucket:
    """A token bucket refilled at `per_minute` per minute; its level may go negative (a debt paid by waiting)."""

    per_minute: float
    level: float = field(init=False)
    stamp: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.level = self.per_minute

    def wait_for(self, amount: float) -> float:
        now = time.monotonic()
        self.level = min(self.per_minute, self.level + (now - self.stamp) * self.per_minute / 60.0)
        self.stamp = now
        need = min(amount, self.per_minute)  # a request larger than a minute's budget waits for a full bucket
        return 0.0 if self.level >= need else (need - self.level) * 60.0 / self.per_minute


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits; each is off when None.

    Tokens are charged before a request at an estimate (prompt characters / 4 + max_tokens) and corrected with
    the server's count when the reply comes, so the limit holds on what the server bills.
    """

    def __init__(self, rpm: float | None = None, tpm: float | None = None):
        self.requests = _Bucket(rpm) if rpm else None
        self.tokens = _Bucket(tpm) if tpm else None

    async def acquire(self, lock: asyncio.Lock, tokens: float) -> None:
        async with lock:  # one waiter at a time: requests leave in the order they asked
            while True:
                wait = max(self.requests.wait_for(1) if self.requests else 0.0,
                           self.tokens.wait_for(tokens) if self.tokens else 0.0)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if self.requests:
                self.requests.level -= 1
            if self.tokens:
                self.tokens.level -= tokens

    def settle(self, estimated: float, actual: float) -> None:
        if self.tokens:
            self.tokens.level -= actual - estimated


@dataclass
class ClientConfig:
    """How to talk to the server. None of this changes an answer, so none of it is in the judge's spec."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    timeout: float = 60.0
    max_retries: int = 5
    backoff: float = 0.5


class ApiClient:
    """Sends chat-completion requests; `complete` runs a batch of them with at most `concurrency` in flight."""

    def __init__(self, config: ClientConfig, usage: Usage):
        self.config, self.usage = config, usage
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.limiter = RateLimiter(config.rpm, config.tpm)

    def complete(self, payloads: Sequence[dict], on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Send every payload; outcomes in the payloads' order. Synchronous: the Judge protocol is.

        Raises:
            ApiUnavailable: the server cannot be used; its `outcomes` keep what was done.
        """
        coroutine = self._complete_all(payloads, on_outcome or (lambda _: None))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        # called from async code (a notebook, a web service): run on a thread with a loop of its own
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    async def _complete_all(self, payloads: Sequence[dict], on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
        semaphore, lock = asyncio.Semaphore(self.config.concurrency), asyncio.Lock()
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        limits = httpx.Limits(max_connections=self.config.concurrency)
        async with httpx.AsyncClient(timeout=self.config.timeout, headers=headers, limits=limits) as http:

            async def one(payload: dict) -> Outcome:
                async with semaphore:
                    outcome = await self._with_retries(http, lock, payload)
                on_outcome(outcome)
                return outcome

            tasks = [asyncio.create_task(one(p)) for p in payloads]
            if not tasks:
                return []
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            finally:  # a fatal error, or Ctrl-C cancelling this coroutine: no request is left running
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            errors = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
            if errors:
                outcomes = [t.result() if t.done() and not t.cancelled() and not t.exception() else None for t in tasks]
                raise ApiUnavailable(str(errors[0]), outcomes) from errors[0]
            return [t.result() for t in tasks]

    async def _with_retries(self, http: httpx.AsyncClient, lock: asyncio.Lock, payload: dict) -> Outcome:
        estimate = len(json.dumps(payload["messages"])) / CHARS_PER_TOKEN + payload.get("max_tokens", 16)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=_wait(self.config.backoff),
            retry=retry_if_exception_type(_Retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self.limiter.acquire(lock, estimate)
                    reply = await self._send(http, payload)
        except _Malformed as exc:
            return Failure(f"malformed response after {self.config.max_retries + 1} tries: {exc}", exc.raw)
        except _Retryable as exc:
            raise ApiUnavailable(f"the judge's server at {self.config.base_url} cannot be used: {exc} "
                                 f"(after {self.config.max_retries + 1} tries)") from None
        if isinstance(reply, Reply):
            self.limiter.settle(estimate, reply.tokens_in + reply.tokens_out)
        return reply

    def _count_retry(self, _: RetryCallState) -> None:
        self.usage.retries += 1

    async def _send(self, http: httpx.AsyncClient, payload: dict) -> Outcome:
        self.usage.requests += 1
        try:
            response = await http.post(self.url, json=payload)
        except httpx.TimeoutException:
            raise _Retryable(f"no reply within {self.config.timeout:g}s") from None
        except httpx.TransportError as exc:  # refused, reset, cut short
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        body = response.text
        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {status}", _retry_after(response.headers.get("retry-after")), body[:RAW_LIMIT])
        if status in FATAL_STATUSES:
            raise ApiUnavailable(f"the judge's server at {self.config.base_url} {FATAL_STATUSES[status]} "
                                 f"(HTTP {status}): {body[:300]}")
        if status >= 400:
            return Failure(f"request rejected (HTTP {status})", body[:RAW_LIMIT])
        reply = parse_completion(body)
        self.usage.tokens_in += reply.tokens_in
        self.usage.tokens_out += reply.tokens_out
        return reply


def parse_completion(body: str) -> Reply:
    """Read a chat-completion body; anything else raises _Malformed (retried: it is usually a cut connection)."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason") or ""
        logprobs = (choice.get("logprobs") or {}).get("content") or []
        top = tuple((str(t["token"]), float(t["logprob"])) for t in (logprobs[0].get("top_logprobs") or [])) \
            if logprobs else ()
        usage = data.get("usage") or {}
        return Reply(str(text), str(finish), top, int(usage.get("prompt_tokens") or 0),
                     int(usage.get("completion_tokens") or 0))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise _Malformed(f"not a chat completion ({type(exc).__name__})", raw=body[:RAW_LIMIT]) from None


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (HTTP allows a date too; a server that sends one gets the usual backoff)."""
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else None


def _wait(backoff: float) -> Callable[[RetryCallState], float]:
    """Exponential backoff with jitter, or what the server's Retry-After asked for."""
    exponential = wait_exponential_jitter(multiplier=backoff, max=30.0, jitter=backoff)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        after = getattr(error, "retry_after", None)
        return after if after is not None else exponential(state)

    return wait
