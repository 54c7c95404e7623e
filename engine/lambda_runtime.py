"""AWS Lambda's Python runtime on this machine: one invocation of a function's handler.

`python lambda_runtime.py CODE_DIR MODULE.FUNCTION INVOCATION.json RESULT.json`, run by the
Lambda step (engine/executors/lambda_step.py) in a process of its own: CODE_DIR (the function's
unpacked zip, or the folder of a mapped handler file) is the first entry of sys.path, as
/var/task is on Lambda, and nothing of this project is importable besides (its editable install
is taken off the import system), so the handler runs with its own files and the runtime's
libraries (boto3) only. Its AWS clients reach the engine's local services through the
environment the step sets (AWS_ENDPOINT_URL).

INVOCATION.json holds the event and the function's facts (for the context object); RESULT.json
receives `{"result": ...}`, or what Lambda reports of an unhandled error:
`{"errorType", "errorMessage", "stackTrace"}`. This file imports nothing of the engine.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

READ_TIMEOUT = 240  # seconds: beyond the 180 s a local endpoint has to start (engine/endpoint.py)


class Context:
    """The handler's `context`, with the attributes and method Lambda's Python runtime gives."""

    def __init__(self, invocation: dict[str, Any]) -> None:
        self.function_name = invocation["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = invocation["function_arn"]
        self.memory_limit_in_mb = str(invocation["memory_mb"])
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(invocation["timeout_seconds"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _unhandled(error: BaseException, kind: str | None = None) -> dict[str, Any]:
    return {
        "errorType": kind or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def wait_for_local_endpoints() -> None:
    """Clients wait up to READ_TIMEOUT for an answer, not botocore's 60 s: the local SageMaker
    answers CreateEndpoint once the endpoint serves (AWS answers at once), which can take a few
    minutes on a busy machine. A handler's own Config still wins."""
    try:
        import botocore.config
        import botocore.session
    except ImportError:  # a handler that needs no AWS
        return
    create = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, config: Any = None, **kwargs: Any) -> Any:
        longer = botocore.config.Config(read_timeout=READ_TIMEOUT)
        return create(self, *args, config=longer.merge(config) if config else longer, **kwargs)

    botocore.session.Session.create_client = create_client


def invoke(code: str, handler: str, invocation: dict[str, Any]) -> dict[str, Any]:
    """The result document of one invocation."""
    sys.path[0] = code  # the function's files in place of this file's folder
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not getattr(finder, "__module__", "").startswith("__editable__")
    ]
    shown = logging.StreamHandler(sys.stdout)  # the function's log, as Lambda's root handler
    shown.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
    logging.getLogger().addHandler(shown)
    wait_for_local_endpoints()
    module_name, _, function_name = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # Lambda's Runtime.ImportModuleError
        return _unhandled(error, "Runtime.ImportModuleError")
    try:
        result = function(invocation["event"], Context(invocation))
    except Exception as error:
        return _unhandled(error)
    try:
        json.dumps(result)
    except (TypeError, ValueError) as error:
        return _unhandled(error, "Runtime.MarshalError")
    return {"result": result}


def main(argv: list[str]) -> int:
    code, handler, invocation_path, result_path = argv
    invocation = json.loads(Path(invocation_path).read_text())
    document = invoke(code, handler, invocation)
    Path(result_path).write_text(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
