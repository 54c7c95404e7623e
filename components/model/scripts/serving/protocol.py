"""The HTTP side of a request: content types, the refusal error and its JSON body."""

from __future__ import annotations

import json
from http import HTTPStatus

JSON = "application/json"
JSONLINES = "application/jsonlines"
CONTENT_TYPES = (JSON, JSONLINES)


class RequestError(Exception):
    """A request the endpoint refuses; `status` is the HTTP status to answer with.

    415: unsupported content type; 406: unsupported accept type; 400: bad body, shape, keys or
    URL; 413: too large; 422: an image URL that cannot be fetched or is not an image.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type header: no parameters, lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


def response_type(accept: str | None) -> str:
    """The response content type for an Accept header; JSON unless JSON lines is asked for.

    Raises:
        RequestError: 406 when the header names only types this endpoint cannot produce.
    """
    if not accept or not accept.strip():
        return JSON
    offered = [media_type(part) for part in accept.split(",")]
    for kind in offered:
        if kind in CONTENT_TYPES:
            return kind
        if kind in ("*/*", "application/*"):
            return JSON
    raise RequestError(
        406,
        f"accept type {accept!r} is not supported; ask for {JSON} (default) or {JSONLINES}",
    )


class Refused:
    """A refused request a handler passes on as a value, where its container would answer a
    raised error with 500 and a trace."""

    def __init__(self, error: RequestError) -> None:
        self.error = error


def error_body(error: RequestError) -> str:
    """The JSON body of a refused request: the status and a message a person can act on."""
    return json.dumps({"error": error.message, "status": error.status})


def status_phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status ("Bad Request" for 400)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
