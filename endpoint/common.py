"""What the endpoint tools share: command line and config, AWS clients, files, test set, pacing.

The tools read a compiled bundle (`--bundle build/<pipeline-name>`): its assets.json says which
project it is (classes, features, region, endpoint), so the tools never read the Hydra config,
and a missing or broken bundle fails with a where/what/why/fix message (exit 2).
Everything that talks to AWS goes through the two client factories here; `--endpoint-url` points
the SageMaker runtime client elsewhere (a local endpoint, a test server). A loopback URL (the
engine's local endpoint) is called unsigned, so the tools need no AWS credentials for it. The
clients come from botocore alone (a core dependency), so `make run`'s install is enough.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from bundle.read import BundleError, read_bundle
from kernel.errors import ProblemError

JSON = "application/json"
MAX_TEST_RECORDS = 1_000_000  # a bound on what a test set may hold, far above any real one
BUNDLE_HELP = "the compiled bundle of the project (e.g. build/penguins-tensorflow-train)"


class EndpointError(ProblemError):
    """The endpoint or its data, not the command line, is at fault: exit 1 unless said otherwise."""

    status = 1


@dataclass(frozen=True)
class Project:
    """The parts of the composed config the tools need."""

    name: str
    classes: tuple[str, ...]
    kind: str  # "tabular" or "image"
    numeric: tuple[str, ...]  # tabular numeric feature columns
    region: str
    endpoint: str | None  # the endpoint the pipeline deploys to (None: deployment is off)


# --------------------------------------------------------------------------- command line


def make_parser(tool: str, description: str) -> argparse.ArgumentParser:
    """A parser for `python -m endpoint.<tool>`, which reads the project from `--bundle`."""
    parser = argparse.ArgumentParser(
        prog=f"python -m endpoint.{tool}",
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, required=True, metavar="DIR", help=BUNDLE_HELP)
    parser.add_argument("--region", help="AWS region (default: the bundle's region)")
    return parser


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """Options naming the endpoint, how to reach it, and the test records to send it."""
    parser.add_argument(
        "--endpoint-name", help="the SageMaker endpoint (default: the bundle's deployment endpoint)"
    )
    parser.add_argument(
        "--endpoint-url",
        help="override URL of the SageMaker runtime API (a local endpoint, a test server)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, default=60.0, help="seconds to wait for each answer"
    )
    parser.add_argument(
        "--test-set", required=True, help="baseline/test.jsonl: a local file or s3:// URI"
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in 0..1, got {text}")
    return value


def parse_arguments(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[argparse.Namespace, Project]:
    """Parse the options and read the project from the bundle.

    Raises:
        BundleError: a missing or broken bundle (`run_tool` prints it and returns 2).
    """
    args = parser.parse_args(None if argv is None else list(argv))
    manifest = read_bundle(args.bundle).manifest
    facts = manifest.project
    return args, Project(
        name=facts.name,
        classes=facts.classes,
        kind=facts.kind,
        numeric=facts.numeric,
        region=args.region or manifest.publish.region,
        endpoint=facts.endpoint_name,
    )


def run_tool(body: Callable[[], int]) -> int:
    """Run a tool's body; print a problem alone and return its status."""
    try:
        return body()
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProblemError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # the report went to a pipe that closed (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run_with_project(
    build_parser: Callable[[], argparse.ArgumentParser],
    argv: Sequence[str] | None,
    body: Callable[[argparse.ArgumentParser, argparse.Namespace, Project], int],
) -> int:
    """A tool's `main`: parse the options, read the project from the bundle and run the body
    (which may call `parser.error`) under `run_tool`."""

    def run() -> int:
        parser = build_parser()
        args, project = parse_arguments(parser, argv)
        return body(parser, args, project)

    return run_tool(run)


class PacedMain(Protocol):
    def __call__(self, argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
        """Run the tool on these options (sys.argv's when None), paced by `clock`."""


def paced_main(
    build_parser: Callable[[], argparse.ArgumentParser],
    body: Callable[[argparse.ArgumentParser, argparse.Namespace, Project, Clock], int],
) -> PacedMain:
    """The `main` of a tool that sends requests at a rate: `run_with_project` on the system
    clock unless a test passes its own."""

    def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
        return run_with_project(
            build_parser,
            argv,
            lambda parser, args, project: body(parser, args, project, clock or SystemClock()),
        )

    return main


def endpoint_name(args: argparse.Namespace, project: Project) -> str:
    """--endpoint-name, else the endpoint the bundle deploys to.

    Raises:
        ProblemError: neither names one (exit 2).
    """
    name = args.endpoint_name or project.endpoint
    if name is None:
        raise ProblemError(
            "--endpoint-name",
            "not given, and the bundle deploys to no endpoint",
            "the bundle was compiled with deployment.enabled=false, so its assets.json names "
            "no endpoint to call",
            "pass --endpoint-name NAME, or use a bundle compiled with deployment enabled",
            status=2,
        )
    return str(name)


# --------------------------------------------------------------------------- AWS clients


def runtime_client(endpoint_url: str | None, region: str, timeout: float = 60.0) -> Any:
    """The SageMaker runtime client. No retries: every call the tools count is one request.

    A loopback endpoint URL is the engine's local endpoint, which checks no signature: its
    requests go unsigned, so no AWS credentials need to be configured to call it.
    """
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
        signature_version=UNSIGNED if is_loopback(endpoint_url) else None,
    )
    return session().create_client(
        "sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config
    )


def s3_client(region: str) -> Any:
    return session().create_client("s3", region_name=region)


def session() -> Any:
    """A new botocore session a client: a session caches the credentials it first found."""
    return botocore.session.get_session()


def is_loopback(url: str | None) -> bool:
    """Whether `url` names this machine (127.0.0.0/8, ::1, localhost): a local endpoint."""
    host = urlsplit(url).hostname if url else None
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Reply:
    """One InvokeEndpoint call's outcome; `status` is "200" or names the failure."""

    status: str
    body: bytes = b""
    message: str = ""
    repeats: bool = False  # the same failure will meet every further request

    @property
    def ok(self) -> bool:
        return self.status == "200"


def invoke(client: Any, name: str, payload: Any, inference_id: str | None = None) -> Reply:
    """POST one JSON request to the endpoint; failures become a Reply, never an exception."""
    params: dict[str, Any] = {
        "EndpointName": name,
        "Body": json.dumps(payload).encode("utf-8"),
        "ContentType": JSON,
        "Accept": JSON,
    }
    if inference_id is not None:
        params["InferenceId"] = inference_id
    try:
        response = client.invoke_endpoint(**params)
        return Reply("200", response["Body"].read())
    except ClientError as exc:
        error = exc.response.get("Error", {})
        http = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        status = f"{http} {error.get('Code', 'Error')}"
        original = exc.response.get("OriginalStatusCode")
        if original is not None:
            status += f" (model {original})"
        message = exc.response.get("OriginalMessage") or error.get("Message", "")
        return Reply(status, message=str(message), repeats=error.get("Code") in REFUSED_CALLER)
    except BotoCoreError as exc:
        return Reply(type(exc).__name__, message=str(exc), repeats=isinstance(exc, REPEATING))


REPEATING = (NoCredentialsError, PartialCredentialsError, EndpointConnectionError)
REFUSED_CALLER = {  # AWS refuses the caller, not the request: every request gets the same answer
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "AccessDeniedException",
}


def failure_fix(reply: Reply, endpoint_url: str | None, name: str) -> str:
    """How to fix a failed call: credentials, reachability, or the endpoint's own log."""
    local = is_loopback(endpoint_url)
    if reply.status in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "configure AWS credentials (`aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or pass --endpoint-url http://127.0.0.1:<port> for the "
            "engine's local endpoint, which needs none"
        )
    if reply.status == "EndpointConnectionError":
        if local:
            return (
                f"start the local endpoint (`python -m engine.endpoint serve {name}`, or run the "
                "pipeline with the engine) and pass its URL as --endpoint-url"
            )
        return "check --endpoint-url, --region and the network"
    if reply.repeats:
        return "check the AWS credentials and that they may call sagemaker:InvokeEndpoint"
    if local:
        return (
            f"check the local endpoint's log (build/engine/endpoints/{name}.log, under the "
            "engine's --root) and that it serves this project's model"
        )
    return "check the endpoint's logs in CloudWatch and that it serves this project's model"


# --------------------------------------------------------------------------- files: local or S3


def split_s3_uri(uri: str) -> tuple[str, str]:
    """("bucket", "key/prefix") of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise EndpointError(
            uri, "not an S3 URI", "expected s3://bucket/key", "write s3://bucket/key"
        )
    return bucket, key


def read_text(location: str, region: str) -> str:
    """A local file's or an S3 object's text."""
    try:
        if location.startswith("s3://"):
            bucket, key = split_s3_uri(location)
            with closing(s3_client(region)) as s3:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return bytes(body).decode("utf-8")
        return Path(location).read_text(encoding="utf-8")
    except (OSError, ClientError, BotoCoreError, UnicodeDecodeError) as exc:
        raise EndpointError(
            location, "cannot read this file", str(exc), "check the path (or S3 URI) and access"
        ) from exc


def write_text(location: str, text: str, region: str) -> None:
    """Write a local file (creating folders) or an S3 object."""
    try:
        if location.startswith("s3://"):
            bucket, key = split_s3_uri(location)
            with closing(s3_client(region)) as s3:
                s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
            return
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except (OSError, ClientError, BotoCoreError) as exc:
        raise EndpointError(
            location, "cannot write this file", str(exc), "check the path (or S3 URI) and access"
        ) from exc


def list_files(location: str, suffix: str, region: str, limit: int) -> list[str]:
    """The first `limit` files (sorted) under a local folder or an S3 prefix whose name ends so."""
    try:
        if not location.startswith("s3://"):
            paths = sorted(str(p) for p in Path(location).rglob(f"*{suffix}") if p.is_file())
            return paths[:limit]
        bucket, prefix = split_s3_uri(location)
        found: list[str] = []
        with closing(s3_client(region)) as s3:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:  # keys come sorted; stop paging once there are enough
                contents = page.get("Contents", [])
                found += [o["Key"] for o in contents if o["Key"].endswith(suffix)]
                if len(found) >= limit:
                    break
        return [f"s3://{bucket}/{key}" for key in found[:limit]]
    except (OSError, ClientError, BotoCoreError) as exc:
        raise EndpointError(
            location, "cannot list this folder", str(exc), "check the path (or S3 URI) and access"
        ) from exc


def read_jsonl(location: str, region: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line of a JSON-lines file.

    Raises:
        EndpointError: a line that is not a JSON object.
    """
    for number, line in enumerate(read_text(location, region).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            record, why = None, f"not JSON: {exc}"
        else:
            why = f"a JSON {type(record).__name__}, not an object"
        if not isinstance(record, dict):
            raise EndpointError(
                f"{location}:{number}", "bad JSON-lines record", why, "one JSON object a line"
            )
        yield number, record


def read_test_set(location: str, project: Project, max_records: int) -> list[dict[str, Any]]:
    """The first `max_records` records of `baseline/test.jsonl`: raw features + "ground_truth".

    Raises:
        EndpointError: a record without a ground truth that is one of the project's classes.
    """
    records = []
    for number, record in read_jsonl(location, project.region):
        truth = record.get("ground_truth")
        if truth not in project.classes:
            raise EndpointError(
                f"{location}:{number}",
                f"ground_truth = {truth!r}",
                f"the {project.name} project's classes are {', '.join(project.classes)}",
                "pass the preprocess step's baseline/test.jsonl of this project "
                "(or pass the bundle of that project)",
            )
        records.append(record)
        if len(records) >= max_records:
            break
    if not records:
        raise EndpointError(
            location, "the test set is empty", "it has no records", "check the file"
        )
    return records


def features_of(record: dict[str, Any]) -> dict[str, Any]:
    """The request payload of a test record: everything but its ground truth."""
    return {k: v for k, v in record.items() if k != "ground_truth"}


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- pacing and bounds


class Clock(Protocol):
    """Monotonic time in seconds and a way to wait; tests pass a fake one."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Pacer:
    """Spaces calls `1/rate` seconds apart and stops at a count or a time budget.

    Call i is due at `start + i / rate` (a schedule, so a slow call does not slow the rest); no call
    starts once `max_seconds` have passed or would have passed by its due time.
    """

    def __init__(
        self,
        clock: Clock,
        rate: float,
        max_count: int,
        max_seconds: float,
        names: tuple[str, str] = ("--max-requests", "--max-seconds"),
    ) -> None:
        self.clock = clock
        self.names = names
        self.rate = rate
        self.max_count = max_count
        self.max_seconds = max_seconds
        self.start = clock.now()
        self.count = 0
        self.stopped_by = ""

    def next(self) -> bool:
        """Wait until the next call is due; False (and `stopped_by` set) once a bound is hit."""
        if self.count >= self.max_count:
            self.stopped_by = f"{self.names[0]} {self.max_count}"
            return False
        due = self.count / self.rate if self.rate > 0 else 0.0
        if due >= self.max_seconds or self.elapsed() >= self.max_seconds:
            self.stopped_by = f"{self.names[1]} {self.max_seconds:g}"
            return False
        wait = due - self.elapsed()
        if wait > 0:
            self.clock.sleep(wait)
        self.count += 1
        return True

    def elapsed(self) -> float:
        return self.clock.now() - self.start
