"""A loopback imitation of the SageMaker runtime's InvokeEndpoint REST API, with a fake model.

`POST /endpoints/<name>/invocations` answers like the inference handler (a JSON array, one
`{"prediction", "label", "confidence"}` a sample, in order); a request the handler would refuse
gets what the runtime sends then: 424 `ModelError` carrying the model's 400. Every request is
recorded, and `fault` makes the server misbehave on purpose.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
NUMERIC = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
COLUMNS = [*NUMERIC, "island"]
PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")


def predict(record: dict[str, Any]) -> str:
    """The fake model: long flippers -> Gentoo, else long culmen -> Chinstrap, else Adelie."""
    if (record.get("flipper_length_mm") or 0) >= 206:
        return "Gentoo"
    if (record.get("culmen_length_mm") or 0) >= 45:
        return "Chinstrap"
    return "Adelie"


def refusal(sample: Any) -> str:
    """Why the inference handler would answer 400, or '' when it would predict."""
    if not isinstance(sample, dict) or not any(column in sample for column in COLUMNS):
        return "none of the feature columns is present"
    for column in NUMERIC:
        value = sample.get(column)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{column!r} must be a number (or null when missing)"
    return ""


@dataclass
class Seen:
    """One request as the server received it."""

    endpoint: str
    inference_id: str | None
    content_type: str | None
    accept: str | None
    body: Any


@dataclass
class FakeRuntime:
    """The server's state: recorded requests, the fault to inject, a hook run on each request.

    Attributes:
        fault: "" (behave), "server-error" (500 InternalFailure), "not-json", "wrong-length",
            "unknown-label".
        on_request: called before answering (tests advance a fake clock with it).
    """

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    fault: str = ""
    on_request: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests.append(seen)
        if self.on_request is not None:
            self.on_request()
        if self.fault == "server-error":
            body = {"message": "An internal error occurred"}
            return 500, {"x-amzn-ErrorType": "InternalFailure"}, json.dumps(body).encode()
        if self.fault == "not-json":
            return 200, {}, b"<html>gateway</html>"
        samples = seen.body if isinstance(seen.body, list) else [seen.body]
        problems = [refusal(sample) for sample in samples]
        if seen.content_type != "application/json" or any(problems):
            return model_error(next((p for p in problems if p), "unsupported content type"))
        answer = []
        for sample in samples:
            label = predict(sample)
            answer.append({"prediction": CLASSES.index(label), "label": label, "confidence": 0.9})
        if self.fault == "wrong-length":
            answer = answer[:-1]
        if self.fault == "unknown-label":
            answer[0]["label"] = "Emperor"
        return 200, {}, json.dumps(answer).encode()


def model_error(message: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
        "Message": f"Received client error (400) from primary with message {message!r}",
        "OriginalMessage": json.dumps({"error": message, "status": 400}),
        "OriginalStatusCode": 400,
        "LogStreamArn": "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/Endpoints/x",
    }
    return 424, {"x-amzn-ErrorType": "ModelError"}, json.dumps(body).encode()


def _handler(state: FakeRuntime) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # answer at once, not after the peer's delayed ACK

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            match = PATH.match(self.path)
            if match is None:
                self._send(404, {"x-amzn-ErrorType": "UnknownOperationException"}, b"{}")
                return
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw
            seen = Seen(
                endpoint=match.group(1),
                inference_id=self.headers.get("X-Amzn-SageMaker-Inference-Id"),
                content_type=self.headers.get("Content-Type"),
                accept=self.headers.get("Accept"),
                body=body,
            )
            self._send(*state.answer(seen))

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@contextmanager
def serve() -> Iterator[FakeRuntime]:
    """Run the fake runtime on 127.0.0.1 (a free port) in a thread for the `with` block."""
    state = FakeRuntime()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class FakeClock:
    """Time that passes only when a tool sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds

    def advance(self, seconds: float) -> None:
        self.time += seconds
