"""A scripted fake LLM server on 127.0.0.1 speaking OpenAI's and Anthropic's HTTP APIs.

The real SDKs run their real HTTP code against it; it answers from a script of `Turn`s and
records every request so tests can assert what was sent. Served from a background thread, so
it works under any event loop (or none).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from sandbox_analyst.testing import anthropic_wire, openai_wire
from sandbox_analyst.testing.script import (
    QUIRKS,
    SLOW_CHUNK_DELAY,
    RecordedRequest,
    ScriptEntry,
    Turn,
)


class FakeLLMServer:
    """`api_key`: the key every request must carry (None: any). `models`: the models it knows
    (None: any). `quirks`: misbehaviours of real servers to imitate, see `QUIRKS`."""

    def __init__(
        self,
        script: Iterable[ScriptEntry] = (),
        *,
        api_key: str | None = "test-key",
        models: list[str] | None = None,
        quirks: Iterable[str] = frozenset(),
    ) -> None:
        self.quirks = frozenset(quirks)
        unknown = self.quirks - QUIRKS
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}; known: {sorted(QUIRKS)}")
        self.api_key = api_key
        self.models = models
        self.requests: list[RecordedRequest] = []
        self._script: deque[ScriptEntry] = deque(script)
        self._failures_served = 0  # error answers already given for the current turn
        self._calls_made = 0  # numbers the tool call ids
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # releases streams that hang on purpose
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_turns(self, *turns: ScriptEntry) -> None:
        with self._lock:
            self._script.extend(turns)

    def start(self) -> FakeLLMServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake LLM server is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """The chat/messages requests only (no model listings)."""
        return [r for r in self.requests if r.method == "POST"]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_answer(self, body: dict) -> tuple[Literal["serve", "fail"], Turn] | None:
        """The current turn and whether to serve it or answer with its error; None when the
        script is exhausted. A callable entry is computed once, from the first request."""
        with self._lock:
            if not self._script:
                return None
            entry = self._script[0]
            if callable(entry):
                entry = self._script[0] = entry(body)
            if entry.error_status is not None and self._failures_served < entry.error_times:
                self._failures_served += 1
                return "fail", entry
            self._script.popleft()
            self._failures_served = 0
            return "serve", entry

    def _call_ids(self, count: int, prefix: str) -> list[str]:
        with self._lock:
            first = self._calls_made + 1
            self._calls_made += count
        return [f"{prefix}{number}" for number in range(first, first + count)]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # --- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        request = self._read_request()
        anthropic = "anthropic-version" in request.headers
        wire = anthropic_wire if anthropic else openai_wire
        if request.path.rstrip("/").endswith("/models"):
            if self._authorised(request, anthropic):
                self._send_json(200, wire.models_list(self.fake.models or []))
        else:
            self._send_json(404, wire.error_body(404, f"no route {request.path}"))

    def do_POST(self) -> None:
        request = self._read_request()
        if request.path.endswith("/chat/completions"):
            self._answer(request, anthropic=False)
        elif request.path.endswith("/v1/messages"):
            self._answer(request, anthropic=True)
        else:
            self._send_json(404, openai_wire.error_body(404, f"no route {request.path}"))

    def _answer(self, request: RecordedRequest, *, anthropic: bool) -> None:
        wire = anthropic_wire if anthropic else openai_wire
        body = request.json or {}
        model = str(body.get("model", ""))
        if not self._authorised(request, anthropic):
            return
        if self.fake.models is not None and model not in self.fake.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            self._send_json(404, wire.error_body(404, message))
            return
        answer = self.fake._next_answer(body)
        if answer is None:
            number = len(self.fake.model_requests)
            message = f"fake LLM script exhausted: no turn left for request #{number}"
            self._send_json(500, wire.error_body(500, message))
            return
        action, turn = answer
        if action == "fail" and turn.error_status is not None:
            headers = {}
            if turn.retry_after is not None:
                headers["Retry-After"] = f"{turn.retry_after:g}"
            body_json = wire.error_body(turn.error_status, turn.error_message)
            self._send_json(turn.error_status, body_json, headers)
            return
        delay = turn.chunk_delay or (SLOW_CHUNK_DELAY if "slow" in self.fake.quirks else 0.0)
        if turn.latency and self.fake._stopping.wait(turn.latency):
            return
        if anthropic:
            self._answer_anthropic(turn, body, model, delay)
        else:
            self._answer_openai(turn, body, model, delay)

    # --- flavours --------------------------------------------------------------------------

    def _answer_openai(self, turn: Turn, body: dict, model: str, delay: float) -> None:
        call_ids = self.fake._call_ids(len(turn.tool_calls), "call_")
        quirks = self.fake.quirks
        if not body.get("stream"):
            time.sleep(delay)
            self._send_json(
                200,
                openai_wire.chat_completion(turn, model=model, call_ids=call_ids, quirks=quirks),
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = openai_wire.chat_completion_chunks(
            turn, model=model, call_ids=call_ids, quirks=quirks, include_usage=include_usage
        )
        lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
        self._send_stream(lines[: turn.drop_after], delay, turn.hang_after)

    def _answer_anthropic(self, turn: Turn, body: dict, model: str, delay: float) -> None:
        call_ids = self.fake._call_ids(len(turn.tool_calls), "toolu_")
        if not body.get("stream"):
            time.sleep(delay)
            self._send_json(200, anthropic_wire.message(turn, model=model, call_ids=call_ids))
            return
        events = anthropic_wire.message_events(
            turn, model=model, call_ids=call_ids, quirks=self.fake.quirks
        )
        lines = [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]
        self._send_stream(lines[: turn.drop_after], delay, turn.hang_after)

    # --- HTTP plumbing -----------------------------------------------------------------------

    def _read_request(self) -> RecordedRequest:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            json=json.loads(raw) if raw else None,
            query=dict(parse_qsl(split.query)),
        )
        self.fake._record(request)
        return request

    def _authorised(self, request: RecordedRequest, anthropic: bool) -> bool:
        expected = self.fake.api_key
        if expected is None:
            return True
        headers = request.headers
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        # OpenAI: Authorization: Bearer; Azure: api-key; Anthropic: x-api-key.
        if expected in (bearer, headers.get("api-key"), headers.get("x-api-key")):
            return True
        if anthropic:
            self._send_json(401, anthropic_wire.error_body(401, "invalid x-api-key"))
        else:
            message = "Incorrect API key provided. You can find your API key in your settings."
            self._send_json(401, openai_wire.error_body(401, message))
        return False

    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_stream(self, lines: list[str], delay: float, hang_after: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        try:
            for sent, line in enumerate(lines):
                if sent == hang_after:
                    self.fake._stopping.wait()
                    return
                if delay and self.fake._stopping.wait(delay):
                    return
                self.wfile.write(line.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout); nothing left to tell it
