"""The one module that talks to AWS: thin wrappers over botocore clients, errors people can act on.

Every call that can fail goes through `call`, which turns botocore's exceptions into an `AwsError`
whose message reads where (service, operation, resource) -> what (AWS's code and message) -> why
-> fix. Nothing else in `bundle/` creates a client, so tests swap in moto or a Stubber here alone.
botocore (a core dependency) is enough: boto3 adds nothing these calls use.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    WaiterError,
)

from kernel.errors import ProblemError

T = TypeVar("T")

POLICIES = "bundle/PUBLISH.md"  # where the IAM policy of each command is written down
_MODELS = botocore.loaders.create_loader()  # API models, read once per process, not per connect

# AWS error codes -> (why, fix): the ones publishing runs into, the rest get a generic pair.
_REASONS: dict[str, tuple[str, str]] = {
    "AccessDenied": (
        "the caller's IAM policy does not allow this call",
        f"attach the policy for this command from {POLICIES}, then run it again",
    ),
    "ResourceConflictException": (
        "the resource is being changed by another update that has not finished",
        "wait a minute and run the same command again; it resumes where it stopped",
    ),
    "ThrottlingException": (
        "AWS throttled the request (too many calls in a short time)",
        "run the same command again in a minute; it resumes where it stopped",
    ),
    "ExpiredToken": (
        "the session credentials have expired",
        "refresh them (e.g. `aws sso login` or a new session token) and run again",
    ),
    "InvalidParameterValueException": (
        "AWS rejected a value taken from the bundle (often a role that does not exist yet or "
        "that the service cannot assume)",
        "check the role ARNs in assets.json's functions/publish sections exist and trust the "
        "service, recompile if the config was wrong, then run again",
    ),
    "ValidationException": (
        "AWS rejected a value taken from the bundle",
        "correct the config value named in AWS's message, recompile, then run again",
    ),
    "NoSuchBucket": (
        "the bucket the bundle's assets go to does not exist",
        "create it in the bundle's region (`aws s3 mb s3://BUCKET --region REGION`) or set "
        "aws.bucket to an existing bucket and recompile",
    ),
}
for _code in ("AccessDeniedException", "UnauthorizedOperation", "Forbidden"):
    _REASONS[_code] = _REASONS["AccessDenied"]
_REASONS["403"] = (  # what S3's HeadObject answers, with no body to say more
    "the caller may not read the object, or (without s3:ListBucket) it is not there yet",
    f"attach the policy for this command from {POLICIES} (s3:GetObject and s3:ListBucket), "
    "then run it again",
)
for _code in ("Throttling", "TooManyRequestsException", "SlowDown"):
    _REASONS[_code] = _REASONS["ThrottlingException"]
_REASONS["ExpiredTokenException"] = _REASONS["ExpiredToken"]
_REASONS["InvalidClientTokenId"] = _REASONS["ExpiredToken"]


class AwsError(ProblemError):
    """An AWS call failed (publishing stops at the action it failed on)."""


def call(where: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """fn(**kwargs), with any botocore failure raised as an AwsError that names `where`."""
    try:
        return fn(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise translate(where, exc) from None


def call_or_none(
    where: str, fn: Callable[..., T], absent: Callable[[str, str], bool], /, **kwargs: Any
) -> T | None:
    """As `call`, but None when AWS answers that the resource does not exist.

    `absent(code, message)` recognizes that answer (services and moto word it differently).
    """
    try:
        return fn(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if absent(str(error.get("Code", "")), str(error.get("Message", ""))):
            return None
        raise translate(where, exc) from None
    except BotoCoreError as exc:
        raise translate(where, exc) from None


def translate(where: str, exc: BotoCoreError | ClientError) -> AwsError:
    """botocore's exception as where/what/why/fix."""
    if isinstance(exc, NoRegionError):
        return AwsError(
            where,
            "no AWS region",
            "neither --region nor AWS_DEFAULT_REGION nor the profile names a region",
            "pass --region, e.g. --region us-east-1",
        )
    if isinstance(exc, NoCredentialsError):
        return AwsError(
            where,
            "no AWS credentials found",
            "boto3 looked in the environment, ~/.aws and the instance metadata and found none",
            "configure credentials (`aws configure`, `aws sso login`, or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again",
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")) or "(no message)"
        why, fix = _REASONS.get(
            code,
            (
                "AWS refused the request",
                "read AWS's message above; correct the cause and run the same command again",
            ),
        )
        return AwsError(where, f"{code}: {message}", why, fix)
    if isinstance(exc, WaiterError):
        return AwsError(
            where,
            _waited_state(exc),
            "the resource is still changing, or its creation or update failed",
            "correct the cause AWS gives (often the function's role or settings), then "
            "run the same command again",
        )
    return AwsError(
        where,
        str(exc),
        "the request did not reach AWS or its answer was unreadable",
        "check the network and the region, then run the same command again",
    )


def _waited_state(exc: WaiterError) -> str:
    """What the waiter last saw: for Lambda, the function's state and its reasons."""
    seen = (exc.last_response or {}).get("Configuration", {})
    fields = ("State", "StateReason", "LastUpdateStatus", "LastUpdateStatusReason")
    found = [f"{name} {seen[name]}" for name in fields if seen.get(name)]
    reason = str(exc.kwargs.get("reason", exc))
    return reason + (f": {'; '.join(found)}" if found else "")


def _pipeline_absent(code: str, message: str) -> bool:
    # AWS answers ResourceNotFound; moto a ValidationException "Could not find pipeline".
    return code == "ResourceNotFound" or "not find pipeline" in message


def deployed_definition(
    pipeline_name: str, region: str | None, client: Any = None
) -> dict[str, Any]:
    """The definition of the pipeline on AWS (DescribePipeline), parsed: `diff --deployed`.

    Args:
        pipeline_name: the SageMaker pipeline's name.
        region: the AWS region; None uses the environment's (AWS_DEFAULT_REGION, the profile).
        client: a SageMaker client to use instead of making one (tests pass a stubbed one).

    Raises:
        AwsError: no region or credentials, no such pipeline, any AWS refusal, or a stored
            definition that is not a pipeline definition.
    """
    where = f"AWS SageMaker DescribePipeline (pipeline {pipeline_name})"
    if client is None:
        try:
            client = botocore.session.Session().create_client("sagemaker", region_name=region)
        except BotoCoreError as exc:
            raise translate(where, exc) from None
    where = f"{where[:-1]}, region {client.meta.region_name})"
    answer = call_or_none(
        where, client.describe_pipeline, _pipeline_absent, PipelineName=pipeline_name
    )
    if answer is None:
        raise AwsError(
            where,
            f"no pipeline named {pipeline_name!r}",
            "SageMaker has no pipeline of that name in this account and region",
            "check --pipeline-name and --region (the default name is the bundle's, from "
            "assets.json), or publish the pipeline first",
        )
    try:
        definition = json.loads(answer["PipelineDefinition"])
        if not isinstance(definition, dict):
            raise TypeError(f"it is a JSON {type(definition).__name__}, not an object")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise AwsError(
            where,
            "the stored PipelineDefinition is not a pipeline definition",
            f"{type(exc).__name__}: {exc}",
            "republish the pipeline from a bundle",
        ) from None
    return definition


def _not_found(*codes: str) -> Callable[[str, str], bool]:
    return lambda code, message: code in codes


def sha256_b64(body: bytes) -> str:
    """The checksum S3 (ChecksumSHA256) and Lambda (CodeSha256) report: base64 of the digest."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


@dataclass(frozen=True)
class Aws:
    """The clients publishing uses, all for one region."""

    region: str
    s3: Any
    lambda_: Any
    sagemaker: Any
    scheduler: Any
    sts: Any

    # ---- identity and the bucket ----
    def account(self) -> str:
        """The account id of the caller's credentials."""
        answer = call("AWS STS GetCallerIdentity", self.sts.get_caller_identity)
        return str(answer["Account"])

    def bucket_region(self, bucket: str) -> str:
        answer = call(
            f"AWS S3 GetBucketLocation (bucket {bucket})",
            self.s3.get_bucket_location,
            Bucket=bucket,
        )
        # Buckets in us-east-1 report no constraint; "EU" is the legacy name of eu-west-1.
        location = answer.get("LocationConstraint") or "us-east-1"
        return "eu-west-1" if location == "EU" else str(location)

    # ---- S3 objects ----
    def object_checksum(self, bucket: str, key: str) -> str | None:
        """The object's ChecksumSHA256 ('' when stored without one), or None when absent."""
        head = call_or_none(
            f"AWS S3 HeadObject (s3://{bucket}/{key})",
            self.s3.head_object,
            _not_found("404", "NoSuchKey", "NotFound"),
            Bucket=bucket,
            Key=key,
            ChecksumMode="ENABLED",
        )
        return None if head is None else str(head.get("ChecksumSHA256", ""))

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        """Upload with a SHA-256 checksum that S3 verifies, then check the one it stored."""
        where = f"AWS S3 PutObject (s3://{bucket}/{key})"
        expected = sha256_b64(body)
        answer = call(
            where,
            self.s3.put_object,
            Bucket=bucket,
            Key=key,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=expected,
        )
        stored = answer.get("ChecksumSHA256")
        if stored != expected:
            raise AwsError(
                where,
                f"S3 stored checksum {stored!r}, the bytes sent have {expected!r}",
                "the upload was corrupted on the way",
                "run the same command again",
            )

    # ---- Lambda ----
    def function(self, name: str) -> dict[str, Any] | None:
        """The function's configuration, or None when it does not exist."""
        answer = call_or_none(
            f"AWS Lambda GetFunction (function {name})",
            self.lambda_.get_function,
            _not_found("ResourceNotFoundException"),
            FunctionName=name,
        )
        return None if answer is None else dict(answer["Configuration"])

    def create_function(self, config: dict[str, Any], zip_bytes: bytes) -> None:
        name = config["FunctionName"]
        call(
            f"AWS Lambda CreateFunction (function {name})",
            self.lambda_.create_function,
            Code={"ZipFile": zip_bytes},
            **config,
        )
        self._wait("function_active_v2", name, "Active")

    def update_function_code(self, name: str, zip_bytes: bytes) -> None:
        call(
            f"AWS Lambda UpdateFunctionCode (function {name})",
            self.lambda_.update_function_code,
            FunctionName=name,
            ZipFile=zip_bytes,
        )
        self._wait("function_updated_v2", name, "updated")

    def update_function_configuration(self, config: dict[str, Any]) -> None:
        name = config["FunctionName"]
        call(
            f"AWS Lambda UpdateFunctionConfiguration (function {name})",
            self.lambda_.update_function_configuration,
            **config,
        )
        self._wait("function_updated_v2", name, "updated")

    def _wait(self, waiter: str, name: str, state: str) -> None:
        call(
            f"AWS Lambda function {name} (waiting until {state})",
            self.lambda_.get_waiter(waiter).wait,
            FunctionName=name,
            WaiterConfig={"Delay": 2, "MaxAttempts": 150},
        )

    # ---- SageMaker pipelines ----
    def pipeline(self, name: str) -> dict[str, Any] | None:
        """DescribePipeline's answer (definition parsed into `Definition`), or None when absent."""
        answer = call_or_none(
            f"AWS SageMaker DescribePipeline (pipeline {name})",
            self.sagemaker.describe_pipeline,
            _pipeline_absent,
            PipelineName=name,
        )
        if answer is None:
            return None
        described = dict(answer)
        described.pop("ResponseMetadata", None)
        described["Definition"] = json.loads(described["PipelineDefinition"])
        return described

    def tags(self, arn: str) -> dict[str, str]:
        answer = call(f"AWS SageMaker ListTags ({arn})", self.sagemaker.list_tags, ResourceArn=arn)
        return {tag["Key"]: tag["Value"] for tag in answer.get("Tags", [])}

    def add_tags(self, arn: str, tags: dict[str, str]) -> None:
        call(
            f"AWS SageMaker AddTags ({arn})",
            self.sagemaker.add_tags,
            ResourceArn=arn,
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        )

    def create_pipeline(self, request: dict[str, Any], tags: dict[str, str]) -> str:
        name = request["PipelineName"]
        answer = call(
            f"AWS SageMaker CreatePipeline (pipeline {name})",
            self.sagemaker.create_pipeline,
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            **request,
        )
        return str(answer["PipelineArn"])

    def update_pipeline(self, request: dict[str, Any]) -> str:
        name = request["PipelineName"]
        answer = call(
            f"AWS SageMaker UpdatePipeline (pipeline {name})",
            self.sagemaker.update_pipeline,
            **request,
        )
        return str(answer["PipelineArn"])

    def start_execution(self, name: str, parameters: dict[str, str]) -> str:
        answer = call(
            f"AWS SageMaker StartPipelineExecution (pipeline {name})",
            self.sagemaker.start_pipeline_execution,
            PipelineName=name,
            PipelineParameters=[{"Name": k, "Value": v} for k, v in sorted(parameters.items())],
        )
        return str(answer["PipelineExecutionArn"])

    def execution(self, arn: str) -> dict[str, Any]:
        return dict(
            call(
                f"AWS SageMaker DescribePipelineExecution ({arn})",
                self.sagemaker.describe_pipeline_execution,
                PipelineExecutionArn=arn,
            )
        )

    def execution_steps(self, arn: str) -> list[dict[str, Any]]:
        """Every step of the execution (all pages), in the order they started."""
        return list(self._execution_step_pages(arn))

    def _execution_step_pages(self, arn: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"PipelineExecutionArn": arn, "SortOrder": "Ascending"}
        while True:
            page = call(
                f"AWS SageMaker ListPipelineExecutionSteps ({arn})",
                self.sagemaker.list_pipeline_execution_steps,
                **kwargs,
            )
            yield from page.get("PipelineExecutionSteps", [])
            if not page.get("NextToken"):
                return
            kwargs["NextToken"] = page["NextToken"]

    # ---- EventBridge Scheduler ----
    def schedule(self, name: str) -> dict[str, Any] | None:
        answer = call_or_none(
            f"AWS Scheduler GetSchedule (schedule {name})",
            self.scheduler.get_schedule,
            _not_found("ResourceNotFoundException"),
            Name=name,
        )
        return None if answer is None else dict(answer)

    def put_schedule(self, request: dict[str, Any], exists: bool) -> None:
        operation = "UpdateSchedule" if exists else "CreateSchedule"
        fn = self.scheduler.update_schedule if exists else self.scheduler.create_schedule
        call(f"AWS Scheduler {operation} (schedule {request['Name']})", fn, **request)


def connect(region: str | None, default: str) -> Aws:
    """Clients for `region`, else the region the AWS config selects, else `default`.

    botocore alone (boto3 adds nothing these calls use); standard retry mode, so throttling and
    transient faults are retried by botocore itself. Credentials are looked up afresh each time.
    """
    core = botocore.session.Session()
    core.register_component("data_loader", _MODELS)
    chosen = str(region or core.get_config_variable("region") or default)
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    clients = {
        service: core.create_client(service, region_name=chosen, config=config)
        for service in ("s3", "lambda", "sagemaker", "scheduler", "sts")
    }
    return Aws(
        region=chosen,
        s3=clients["s3"],
        lambda_=clients["lambda"],
        sagemaker=clients["sagemaker"],
        scheduler=clients["scheduler"],
        sts=clients["sts"],
    )
