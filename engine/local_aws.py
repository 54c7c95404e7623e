"""The AWS APIs a Lambda handler calls, answered on 127.0.0.1 by the engine's local services.

A Lambda step's handler runs in its own process (engine/lambda_runtime.py) with real boto3 and
`AWS_ENDPOINT_URL` pointing here, so its code is the same as on AWS: its requests are serialized
and checked by botocore against the service's model, and the answers and refusals (ClientError)
are parsed as AWS's. This server takes the requests in the services' own wire protocols
(SageMaker's JSON protocol with `X-Amz-Target`; EventBridge Scheduler's REST-JSON, routed with
botocore's model) and answers them from a service object whose methods are the operations in
snake case with the API's parameter names (engine/local_sagemaker.py, engine/scheduler.py).

A service method refuses with a botocore ClientError, which goes back as AWS sends one. A call
the local engine does not implement is refused too ("the local engine does not implement
sagemaker:DeleteModel") and remembered, as is a local service's own failure: the Lambda step
then fails naming them (`problems`), whatever the handler made of the refusal.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import OperationModel

LOOPBACK = "127.0.0.1"
# The service of a request: its SigV4 credential scope `<key>/<date>/<region>/<service>/...`.
SCOPE_RE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
JSON_TARGETS = {"SageMaker": "sagemaker"}  # X-Amz-Target prefix -> service
REST_SERVICES = ("scheduler",)  # REST-JSON services routed by their operations' request URIs

Services = Mapping[str, Callable[[str], object]]  # service -> its implementation in a region


class Refusal(Exception):
    """A request refused before it reaches a service."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@cache
def _routes(service: str) -> list[tuple[str, re.Pattern[str], OperationModel]]:
    """(method, path pattern, operation) of a REST service, from its requestUri templates."""
    model = _model(service)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        path = operation.http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        routes.append((operation.http["method"], re.compile(f"^{pattern}$"), operation))
    return routes


def _rest_request(
    service: str, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> tuple[str, dict[str, Any]]:
    """(operation, parameters) of a REST-JSON request."""
    url = urllib.parse.urlsplit(path)
    query = dict(urllib.parse.parse_qsl(url.query))
    for verb, pattern, operation in _routes(service):
        match = pattern.match(url.path)
        if verb != method or match is None:
            continue
        params: dict[str, Any] = json.loads(body) if body else {}
        shape = operation.input_shape
        for name, member in (shape.members if shape is not None else {}).items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                params[name] = urllib.parse.unquote(match[wire])
            elif location == "querystring" and wire in query:
                params[name] = query[wire]
            elif location == "header" and wire in headers:
                params[name] = headers[wire]
        return operation.name, params
    raise Refusal("UnknownOperationException", f"{service}: no operation for {method} {url.path}")


class LocalAWS:
    """Answers requests with `services`; remembers what the local engine could not answer."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.problems: list[str] = []
        self.url = ""

    def operation(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, str, str, dict[str, Any]]:
        """(service, region, operation, parameters) of a request."""
        scope = SCOPE_RE.search(headers.get("Authorization", ""))
        service, region = (scope["service"], scope["region"]) if scope else ("unknown", "")
        target = headers.get("X-Amz-Target")
        if target:
            prefix, _, operation = target.partition(".")
            return JSON_TARGETS.get(prefix, service), region, operation, json.loads(body or b"{}")
        if service in REST_SERVICES:
            return service, region, *_rest_request(service, method, path, headers, body)
        raise Refusal(
            "UnknownOperationException",
            f"the local engine does not implement {service} ({method} {path.split('?')[0]})",
        )

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one request."""
        try:
            service, region, operation, params = self.operation(method, path, headers, body)
            make = self.services.get(service)
            call = getattr(make(region), xform_name(operation), None) if make else None
            if call is None:
                raise Refusal(
                    "UnknownOperationException",
                    f"the local engine does not implement {service}:{operation}",
                )
            return 200, call(**params)
        except Refusal as refusal:
            self.problems.append(refusal.message)
            return 400, {"__type": refusal.code, "message": refusal.message}
        except ClientError as error:  # the service refused, as AWS would
            info = error.response["Error"]
            return 400, {"__type": info["Code"], "message": info["Message"]}
        except Exception as error:  # a local service's bug: the step fails, naming it
            message = f"the local engine failed: {type(error).__name__}: {error}"
            self.problems.append(message)
            return 400, {"__type": "InternalFailure", "message": message}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the handler's log says what it called."""

    def _reply(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key: value for key, value in self.headers.items()}
        status, document = self.server.aws.answer(self.command, self.path, headers, body)
        payload = json.dumps(document, default=_json_value).encode()
        self.send_response(status)
        if status != 200:
            self.send_header("x-amzn-ErrorType", document["__type"])
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _reply


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, aws: LocalAWS) -> None:
        self.aws = aws
        super().__init__((LOOPBACK, 0), _Handler)


@contextmanager
def serving(services: Services) -> Iterator[LocalAWS]:
    """The local AWS on a free loopback port (its `url`) for the length of the block."""
    aws = LocalAWS(services)
    server = _Server(aws)
    aws.url = f"http://{LOOPBACK}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield aws
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
