"""A local SageMaker endpoint: the InvokeEndpoint REST API on 127.0.0.1, with data capture.

`python -m engine.endpoint serve --root DIR NAME [--port N]` serves what a local Deploy step
recorded in `<root>/endpoints/<NAME>.json` (the model package's image and model data, the data
capture settings), until Ctrl-C. The endpoint tools reach it with
`--endpoint-url http://127.0.0.1:<port>`.

How an endpoint lives: the Deploy step starts this command as a child process of the engine
(`--parent-pid`), waits until it answers, and the endpoint then serves for as long as the
engine process runs; it stops by itself when that process is gone (finished, killed or
interrupted), and a redeploy of the same name replaces it. After the run, `serve` brings it back
on the port it had (or `--port`). The record's EndpointStatus, Url and Pid say whether and where
it is served.

The API, as the SageMaker runtime speaks it:
- `POST /endpoints/<name>/invocations` with `Content-Type`, `Accept`,
  `X-Amzn-SageMaker-Inference-Id`, `X-Amzn-SageMaker-Custom-Attributes` (handed to the handler);
  the answer carries the model's body and content type and `X-Amzn-Invoked-Production-Variant`.
- a model answer other than 200 becomes 424 `ModelError` with `OriginalStatusCode` and
  `OriginalMessage`; another endpoint name 400 `ValidationError` ("Endpoint X of account Y not
  found."); another path 404 `UnknownOperationException`.
- data capture (when enabled): each answered request is captured with probability
  InitialSamplingPercentage / 100, one JSON line of SageMaker's capture format, to
  `<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<ms>-<uuid>.jsonl` in the local
  S3 (one file an hour a server process, appended and flushed line by line).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from engine.records import now, read_named, update_json
from engine.registry import DEFAULT_ACCOUNT
from engine.s3 import S3
from kernel.errors import ProblemError

LOOPBACK = "127.0.0.1"
VARIANT = "AllTraffic"
DEFAULT_ROOT = Path("build/engine")
JSON_TYPES = ("application/json", "application/jsonlines")
PATH = re.compile(r"^/endpoints/([^/?]+)/invocations$")
MAX_BODY = 6 * 1024 * 1024  # InvokeEndpoint's payload limit
PARENT_POLL_SECONDS = 0.5


def record_path(root: Path, name: str) -> Path:
    return root / "endpoints" / f"{name}.json"


def read_record(root: Path, name: str) -> dict[str, Any]:
    """What the Deploy step recorded for endpoint `name`."""
    return read_named(
        root / "endpoints",
        name,
        "endpoint",
        "a local Deploy step created",
        "run the pipeline (with deployment enabled) first, or pass the right --root and name",
    )


def update_record(root: Path, name: str, **changes: Any) -> None:
    """Change some fields of an endpoint's record."""
    update_json(record_path(root, name), **changes)


# --------------------------------------------------------------------------- data capture


class Capture:
    """Writes sampled request/response pairs in SageMaker's data-capture format."""

    def __init__(self, s3: S3, endpoint: str, config: dict[str, Any], seed: int | None = None):
        self.s3 = s3
        self.endpoint = endpoint
        self.enabled = bool(config.get("EnableCapture"))
        self.percentage = float(config.get("InitialSamplingPercentage", 0))
        self.destination = str(config.get("DestinationS3Uri", "")).rstrip("/")
        modes = [option.get("CaptureMode") for option in config.get("CaptureOptions", [])]
        self.modes = {mode for mode in modes if mode} or {"Input", "Output"}
        headers = config.get("CaptureContentTypeHeader") or {}
        self.json_types = tuple(headers.get("JsonContentTypes") or JSON_TYPES)
        self.csv_types = tuple(headers.get("CsvContentTypes") or ("text/csv",))
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.files: dict[str, IO[str]] = {}

    def _encode(self, data: bytes, content_type: str) -> tuple[str, str]:
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind in self.json_types:
            return data.decode("utf-8", errors="replace"), "JSON"
        if kind in self.csv_types:
            return data.decode("utf-8", errors="replace"), "CSV"
        return base64.b64encode(data).decode("ascii"), "BASE64"

    def _part(self, data: bytes, content_type: str, mode: str) -> dict[str, str]:
        text, encoding = self._encode(data, content_type)
        return {
            "observedContentType": content_type,
            "mode": mode,
            "data": text,
            "encoding": encoding,
        }

    def record(
        self,
        request: tuple[bytes, str],
        response: tuple[bytes, str],
        inference_id: str | None,
    ) -> None:
        if not self.enabled or self.random.random() * 100 >= self.percentage:
            return
        captured: dict[str, Any] = {}
        if "Input" in self.modes:
            captured["endpointInput"] = self._part(*request, "INPUT")
        if "Output" in self.modes:
            captured["endpointOutput"] = self._part(*response, "OUTPUT")
        now = datetime.now(UTC)
        metadata = {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if inference_id:
            metadata["inferenceId"] = inference_id
        line = json.dumps({"captureData": captured, "eventMetadata": metadata, "eventVersion": "0"})
        with self.lock:
            self._file(now).write(line + "\n")

    def _file(self, now: datetime) -> IO[str]:
        hour = now.strftime("%Y/%m/%d/%H")
        if hour not in self.files:
            name = f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            uri = f"{self.destination}/{self.endpoint}/{VARIANT}/{hour}/{name}"
            path = self.s3.path(uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.files[hour] = path.open("a", encoding="utf-8", buffering=1)
        return self.files[hour]

    def close(self) -> None:
        with self.lock:
            for handle in self.files.values():
                handle.close()
            self.files.clear()


# --------------------------------------------------------------------------- HTTP


class EndpointServer(ThreadingHTTPServer):
    """The runtime API for one endpoint, on the loopback interface only."""

    daemon_threads = True

    def __init__(
        self,
        name: str,
        model: Any,
        capture: Capture | None,
        *,
        account: str,
        port: int = 0,
        host: str = LOOPBACK,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"a local endpoint binds to {LOOPBACK} only, not {host!r}")
        self.endpoint_name = name
        self.model = model
        self.capture = capture
        self.account = account
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (boto3 closing a kept-alive connection) is no error."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        super().handle_error(request, client_address)


def _error_body(status: int, code: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"x-amzn-ErrorType": code, "Content-Type": "application/json"},
        json.dumps(body).encode(),
    )


def model_error(status: int, message: bytes) -> tuple[int, dict[str, str], bytes]:
    """The runtime's answer when the model answered with another status than 200."""
    text = message.decode("utf-8", errors="replace")
    side = "client" if 400 <= status < 500 else "server"
    return _error_body(
        424,
        "ModelError",
        {
            "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
            "Message": f"Received {side} error ({status}) from primary with message {text!r}. "
            "See the local endpoint's log for more information.",
            "OriginalMessage": text,
            "OriginalStatusCode": status,
            "LogStreamArn": "local",
        },
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EndpointServer

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{now()} {self.address_string()} {format % args}\n")

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(*_error_body(404, "UnknownOperationException", {"message": "Unknown operation"}))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self._send(*self.answer(body))

    def answer(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        server = self.server
        match = PATH.match(self.path)
        if match is None:
            return _error_body(404, "UnknownOperationException", {"message": "Unknown operation"})
        name = match.group(1)
        if name != server.endpoint_name:
            message = f"Endpoint {name} of account {server.account} not found."
            return _error_body(400, "ValidationError", {"message": message})
        if len(body) > MAX_BODY:
            message = f"Request payload of {len(body)} bytes exceeds the limit of {MAX_BODY}."
            return _error_body(413, "ValidationError", {"message": message})
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        answer = server.model.invoke(
            body,
            content_type,
            self.headers.get("Accept"),
            self.headers.get("X-Amzn-SageMaker-Custom-Attributes"),
        )
        if answer.status != 200:
            return model_error(answer.status, answer.body)
        if server.capture is not None:
            server.capture.record(
                (body, content_type),
                (answer.body, answer.content_type),
                self.headers.get("X-Amzn-SageMaker-Inference-Id"),
            )
        headers = {
            "Content-Type": answer.content_type,
            "X-Amzn-Invoked-Production-Variant": VARIANT,
        }
        return 200, headers, answer.body


# --------------------------------------------------------------------------- serve


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be listened on now."""
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def bind(
    name: str,
    model: Any,
    capture: Capture | None,
    account: str,
    port: int,
    chosen_by: str | None = None,
) -> EndpointServer:
    """The server on 127.0.0.1:port; `chosen_by` names the setting that picked the port (None:
    --port).

    Raises:
        ProblemError: the port is taken (exit 2), naming the setting that picked it.
    """
    try:
        return EndpointServer(name, model, capture, account=account, port=port)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise ProblemError(
            chosen_by or f"--port {port}",
            f"{LOOPBACK}:{port} is in use",
            "another program (or this endpoint, served by another process) listens on it",
            "stop that program, or pass another --port (0 picks a free one)",
        ) from None


def _stop_when_parent_exits(server: EndpointServer, parent_pid: int) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        server.shutdown()

    threading.Thread(target=watch, daemon=True).start()


def serve(
    root: Path,
    name: str,
    port: int | None,
    *,
    parent_pid: int | None = None,
    ready_file: Path | None = None,
) -> int:
    """Serve endpoint `name` until Ctrl-C, SIGTERM, or (with `parent_pid`) that process's end."""
    from engine.serving import load_model, protocol_of, unpack_model

    record = read_record(root, name)
    container = record["PrimaryContainer"]
    protocol = protocol_of(container)
    os.environ.update(container.get("Environment") or {})
    chosen = int(record.get("Port") or 0) if port is None else port
    chosen_by = (
        None
        if port is not None
        else f"{record_path(root, name)} Port = {chosen} (the port the endpoint had; serve "
        "without --port takes it)"
    )
    s3 = S3(root / "s3")
    capture = Capture(s3, name, record.get("DataCaptureConfig") or {})
    account = str(record.get("Account", DEFAULT_ACCOUNT))
    server = bind(name, None, capture, account, chosen, chosen_by)
    # Before the record says InService and `launch` returns: a SIGTERM from then on (`stop`) must
    # end the loop below and mark the record OutOfService, not kill the process where it stands.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    with tempfile.TemporaryDirectory(prefix="model-", dir=record_path(root, name).parent) as tmp:
        try:
            model_dir = unpack_model(s3.path(container["ModelDataUrl"]), Path(tmp))
            server.model = load_model(model_dir, protocol)
            url = f"http://{LOOPBACK}:{server.port}"
            update_record(
                root, name, EndpointStatus="InService", Url=url, Port=server.port, Pid=os.getpid()
            )
            if ready_file is not None:  # whole or absent: the engine reads it once it exists
                staged = ready_file.with_name(f"{ready_file.name}.{os.getpid()}")
                staged.write_text(json.dumps({"port": server.port, "pid": os.getpid()}))
                staged.replace(ready_file)
            if parent_pid is not None:
                _stop_when_parent_exits(server, parent_pid)
            # Ctrl-C stops it even where the parent left SIGINT ignored (a background job, a
            # test runner's worker): a process that says "Ctrl-C stops it" must mean it.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            with contextlib.suppress(KeyboardInterrupt):  # from here on, Ctrl-C means stop
                print(f"endpoint {name} serving on {url} (Ctrl-C stops it)", flush=True)
                server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            capture.close()
            if json.loads(record_path(root, name).read_text()).get("Pid") == os.getpid():
                update_record(root, name, EndpointStatus="OutOfService", Pid=None)
    print(f"endpoint {name} stopped", flush=True)
    return 0


# --------------------------------------------------------------------------- lifetime

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 180.0  # loading TensorFlow and a SavedModel can take a while on a busy machine
_children: dict[tuple[Path, str], subprocess.Popen[bytes]] = {}


def launch(root: Path, name: str, port: int, timeout: float = START_TIMEOUT) -> str:
    """Serve endpoint `name` (recorded already) in a child process of this one; return its URL.

    Any process still serving the name is stopped first. The child stops when this process ends.

    Raises:
        ProblemError: the child did not start (its log's last lines say why).
    """
    stop(root, name)
    folder = record_path(root, name).parent
    ready = folder / f".{name}.ready"
    ready.unlink(missing_ok=True)
    log_path = folder / f"{name}.log"
    command = [sys.executable, "-m", "engine.endpoint", "serve", "--root", str(root), name]
    command += ["--port", str(port), "--parent-pid", str(os.getpid()), "--ready-file", str(ready)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    }
    with log_path.open("ab") as log:
        start = log.tell()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    _children[root.resolve(), name] = child
    deadline = time.monotonic() + timeout
    while not ready.is_file():
        if child.poll() is not None or time.monotonic() > deadline:
            if child.poll() is None:
                child.kill()
            child.wait()
            with log_path.open("rb") as log:
                log.seek(start)
                tail = log.read().decode(errors="replace").strip().splitlines()[-8:]
            reason = "\n    ".join(tail) or "its log is empty"
            ended = (
                f"its process ended with status {child.returncode}"
                if child.returncode != -signal.SIGKILL
                else f"it did not answer within {timeout:g} s"
            )
            raise ProblemError(
                f"endpoint {name}",
                f"the local endpoint did not start:\n    {reason}",
                f"{ended} (log: {log_path})",
                "correct what the log names (the model data, its image) and deploy again",
                status=1,
            )
        time.sleep(0.05)
    return f"http://{LOOPBACK}:{json.loads(ready.read_text())['port']}"


def stop(root: Path, name: str, timeout: float = 15.0) -> bool:
    """Stop the process serving endpoint `name` (if it is one of ours); True if one was stopped."""
    path = record_path(root, name)
    child = _children.pop((root.resolve(), name), None)
    pid = json.loads(path.read_text()).get("Pid") if path.is_file() else None
    stopped = False
    if pid and is_endpoint_process(int(pid)):
        os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_endpoint_process(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_endpoint_process(int(pid)):
            os.kill(int(pid), signal.SIGKILL)
        stopped = True
    if child is not None:
        if child.poll() is None:
            child.terminate()
        child.wait(timeout)
    return stopped


def stop_all(root: Path) -> None:
    """Stop every endpoint this process started under `root` (the engine may call it at the end)."""
    for child_root, name in list(_children):
        if child_root == root.resolve():
            stop(root, name)


def is_endpoint_process(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"engine.endpoint" in command and state != "Z"


def port_number(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.endpoint", description="Serve a locally deployed endpoint again."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve an endpoint a local Deploy step recorded")
    serving.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the engine's root folder")
    serving.add_argument("name", metavar="ENDPOINT_NAME")
    serving.add_argument(
        "--port", type=port_number, help="port on 127.0.0.1 (default: the recorded one)"
    )
    serving.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    serving.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return serve(
            args.root, args.name, args.port, parent_pid=args.parent_pid, ready_file=args.ready_file
        )
    except ProblemError as problem:
        print(problem.render(), file=sys.stderr)
        return problem.status


if __name__ == "__main__":
    sys.exit(main())
