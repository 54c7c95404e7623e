"""The Lambda envelope every pipeline handler shares: event checks, results, error plumbing.

A pipeline's Lambda step fails when an output it declares is missing from the result, and its
condition steps read `statusCode`; so a handler never raises. `respond` runs the handler's work
and turns every failure into a result `{"statusCode": 4xx|5xx, "error": "<what, why, fix>"}`;
`entry_point` makes the handler's `lambda_handler`, which adds each declared output ("" where it
does not apply). The event checks collect every problem as `event.<key> = <value>` with why and
fix, for one 400 naming them all.

Ships in each handler's Lambda zip beside it; runs on the AWS Lambda Python runtime (3.9+):
standard library, botocore and boto3 only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, Union

from botocore.exceptions import BotoCoreError, ClientError

NAME_MAX = 63  # SageMaker's model, endpoint-config, job-definition and endpoint names
SAGEMAKER_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
INSTANCE_RE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
S3_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$")
HASH_CHARS = 12
MISSING = object()
Check = Union["re.Pattern[str]", Callable[[str], object]]  # a pattern, or truthy when valid


def logger(name: str) -> logging.Logger:
    """The handler's logger: INFO and up reach the function's log (CloudWatch)."""
    log = logging.getLogger(name)
    log.setLevel(logging.INFO)
    return log


def client(name: str, region: str | None = None) -> Any:
    """The boto3 client for service `name` (in `region`, else the function's own)."""
    import boto3  # type: ignore[import-untyped]  # the Lambda runtime's; loaded when called

    return boto3.client(name, region_name=region)


class Failure(Exception):
    """A failure the handler reports as `{"statusCode": status, "error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- the event


def problem(key: str, value: Any, why: str, fix: str) -> str:
    shown = "missing" if value is MISSING else repr(value)
    return f"event.{key} = {shown}\n  why: {why}\n  fix: {fix}"


def text(
    event: Mapping[str, Any],
    key: str,
    valid: Check,
    why: str,
    fix: str,
    problems: list[str],
    *,
    required: bool = True,
    default: str | None = None,
) -> str | None:
    """A string `valid` accepts (a pattern or a function); `default` when left out. Without a
    default, "" counts as left out, which is a problem when the key is `required`."""
    value = event.get(key, MISSING)
    if value is MISSING or value is None or (value == "" and default is None):
        if required and default is None:
            problems.append(problem(key, MISSING, "required", fix))
        return default
    accepts = valid.match if isinstance(valid, re.Pattern) else valid
    if not isinstance(value, str) or not accepts(value):
        problems.append(problem(key, value, why, fix))
        return None
    return value


def integer(
    event: Mapping[str, Any],
    key: str,
    low: int,
    high: int | None,
    default: int | None,
    fix: str,
    problems: list[str],
) -> int:
    """An int, or a string of digits (pipeline parameters may arrive as text), within bounds;
    `default` when left out (without one it is required)."""
    value = event.get(key, MISSING)
    if value is MISSING or value is None:
        if default is not None:
            return default
        problems.append(problem(key, MISSING, "required", fix))
        return 0
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        problems.append(problem(key, value, f"must be a whole number {bounds}", fix))
        return default or 0
    return number


def one_of(
    event: Mapping[str, Any], key: str, choices: Collection[str], fix: str, problems: list[str]
) -> Any:
    """The value, which must be one of `choices` (a problem otherwise)."""
    value = event.get(key, MISSING)
    if value not in choices:
        problems.append(problem(key, value, "required, one of: " + ", ".join(choices), fix))
    return value


def unknown_keys(event: Mapping[str, Any], known: tuple[str, ...]) -> list[str]:
    problems = []
    for key in sorted(set(event) - set(known), key=str):
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        problems.append(problem(str(key), event[key], "not a key this handler reads", hint))
    return problems


def sagemaker_name(
    event: Mapping[str, Any],
    key: str,
    example: str,
    problems: list[str],
    what: str = "SageMaker names",
) -> str | None:
    """A model, endpoint, schedule... name as SageMaker's APIs take it."""
    why = f"{what} are 1-63 letters, digits and hyphens, starting and ending with a letter or digit"
    return text(event, key, SAGEMAKER_NAME_RE, why, f"pass e.g. {example!r}", problems)


def execution_role(event: Mapping[str, Any], problems: list[str]) -> str | None:
    """`role_arn`: the SageMaker execution role the handler passes on."""
    fix = "pass the SageMaker execution role, arn:aws:iam::<account>:role/<name>"
    return text(event, "role_arn", ROLE_RE, "not an IAM role ARN", fix, problems)


def instance_type(event: Mapping[str, Any], example: str, problems: list[str]) -> str | None:
    why = "not a SageMaker instance type"
    return text(event, "instance_type", INSTANCE_RE, why, f"pass e.g. {example!r}", problems)


def s3_uri(
    event: Mapping[str, Any], key: str, fix: str, problems: list[str], *, required: bool = True
) -> str | None:
    return text(event, key, S3_RE, "not an s3:// URI", fix, problems, required=required)


def check_object(event: Any) -> dict[str, Any]:
    """The event, which must be a JSON object.

    Raises:
        Failure: 400, it is not.
    """
    if not isinstance(event, dict):
        raise Failure(
            400, f"the event must be a JSON object of settings, got {type(event).__name__}"
        )
    return event


# --------------------------------------------------------------------------- AWS


def derive_name(prefix: str, kind: str, request: Mapping[str, Any]) -> str:
    """`<prefix>-<kind>-<hash>` within 63 characters; the hash covers the whole request, so the
    same inputs give the same name (a re-run reuses it) and different inputs a new one."""
    digest = hashlib.sha256(
        json.dumps(request, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()[:HASH_CHARS]
    suffix = f"-{kind}-{digest}"
    return prefix[: NAME_MAX - len(suffix)].rstrip("-") + suffix


def is_missing(error: ClientError) -> bool:
    """SageMaker reports a missing resource as ResourceNotFound or as a ValidationException."""
    info = error.response.get("Error", {})
    code, message = info.get("Code", ""), info.get("Message", "")
    if code in ("ResourceNotFound", "ResourceNotFoundException"):
        return True
    return code == "ValidationException" and bool(
        re.search(r"could not find|does not exist|not found", message, re.IGNORECASE)
    )


def describe(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any] | None:
    """The describe call's answer, or None when the resource does not exist."""
    try:
        answer: dict[str, Any] = call(**kwargs)
    except ClientError as error:
        if is_missing(error):
            return None
        raise
    return answer


def sagemaker_refused(error: ClientError, readme: str, quota: str) -> Failure:
    """A 500 naming SageMaker's refusal and the fix for its kind (`quota`: what to raise)."""
    info = error.response.get("Error", {})
    code = info.get("Code", "Unknown")
    message = info.get("Message", str(error))
    operation = getattr(error, "operation_name", "the AWS call")
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "UnrecognizedClientException"):
        fix = (
            f"allow sagemaker:{operation} (and iam:PassRole on role_arn) in the Lambda "
            f"function's execution role; {readme} lists every permission"
        )
    elif code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
        fix = "re-run the step; SageMaker throttled the request"
    elif code == "ResourceLimitExceeded":
        fix = f"raise the SageMaker service quota {quota}"
    else:
        fix = "correct the setting the AWS message names and re-run"
    return Failure(
        500,
        f"{operation} failed: {code}: {message}\n"
        f"  why: SageMaker refused the request\n  fix: {fix}",
    )


# --------------------------------------------------------------------------- the result


def entry_point(
    outputs: Mapping[str, str], handle: Callable[[Any, Any], dict[str, Any]]
) -> Callable[[Any, Any], dict[str, Any]]:
    """The handler's `lambda_handler`: `handle`'s result with every output of `outputs` present.

    A pipeline Lambda step fails when an output it declares is missing from the result, so every
    result carries each one ("" where it does not apply).
    """

    def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
        return {**outputs, **handle(event, context)}

    return lambda_handler


def sagemaker_handler(
    parse: Callable[[Any], dict[str, Any]],
    act: Callable[[Any, dict[str, Any]], dict[str, Any]],
    client: Callable[[str], Any],
    log: logging.Logger,
    about: tuple[str, str],
) -> Callable[[Any, Any], dict[str, Any]]:
    """The work of a handler that checks its event (`parse`: settings), then calls SageMaker
    (`act(client("sagemaker"), settings)`), with `respond`'s results; never raises.

    `about`: the README that lists the function's permissions, and the quota to raise when
    SageMaker's limit refuses a call.
    """
    readme, quota = about

    def handle(event: Any, context: Any) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            settings = parse(event)  # a bad event never reaches AWS
            return act(client("sagemaker"), settings)

        return respond(
            work,
            log=log,
            service="SageMaker",
            refused=lambda error: sagemaker_refused(error, readme, quota),
        )

    return handle


def respond(
    work: Callable[[], dict[str, Any]],
    *,
    log: logging.Logger,
    service: str,
    refused: Callable[[ClientError], Failure],
    failed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The result of `work()`, or of its failure; never raises. The handler's lambda_handler
    adds the step's declared outputs ("" unless the result has them).

    Args:
        work: parses the event and does the calls; raises Failure for what it refuses.
        log: the handler's logger (CloudWatch).
        service: the AWS service the handler calls, for messages.
        refused: the Failure of an AWS refusal (ClientError).
        failed: further values a failure result carries (e.g. the name the event gave).
    """
    try:
        return work()
    except Failure as failure:
        result = {"statusCode": failure.status, "error": failure.message}
    except ClientError as error:
        refusal = refused(error)
        result = {"statusCode": refusal.status, "error": refusal.message}
    except BotoCoreError as error:
        result = {
            "statusCode": 500,
            "error": f"AWS call failed: {type(error).__name__}: {error}\n"
            f"  why: boto3 could not reach {service} or find credentials\n"
            "  fix: check the Lambda's region, network access and execution role",
        }
    except Exception as error:  # never hand a traceback to the pipeline
        log.exception("failed unexpectedly")
        return {
            **(failed or {}),
            "statusCode": 500,
            "error": f"unexpected error: {type(error).__name__}: {error}\n"
            "  why: a bug or an answer the handler does not expect\n"
            "  fix: see the traceback in the function's CloudWatch log",
        }
    log.warning("failed (%d): %s", result["statusCode"], result["error"])
    return {**(failed or {}), **result}
