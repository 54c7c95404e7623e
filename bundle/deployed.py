"""The definition of a pipeline as SageMaker holds it (DescribePipeline), for `diff --deployed`.

The one module of the diff that talks to AWS. It uses botocore (a core dependency) and turns
every failure into a DeployedError that reads where/what/why/fix.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
NOT_FOUND_WORDS = ("could not find", "does not exist", "not found")


class DeployedError(Exception):
    """The deployed definition could not be read; the message reads where/what/why/fix."""


def problem(where: str, what: str, why: str, fix: str) -> DeployedError:
    return DeployedError(f"{where}\n  {what}\n  why: {why}\n  fix: {fix}")


def deployed_definition(
    pipeline_name: str, region: str | None, client: Any = None
) -> dict[str, Any]:
    """DescribePipeline's PipelineDefinition, parsed.

    Args:
        pipeline_name: the SageMaker pipeline's name.
        region: the AWS region; None uses the default of the environment (AWS_DEFAULT_REGION, the
            profile's region).
        client: a SageMaker client to use instead of making one (tests pass a stubbed one).

    Raises:
        DeployedError: no region or credentials, no such pipeline, access denied, any other AWS
            error, or a stored definition that is not JSON.
    """
    where = f"SageMaker DescribePipeline (pipeline {pipeline_name!r}, region {region or 'default'})"
    try:
        if client is None:
            client = botocore.session.get_session().create_client("sagemaker", region_name=region)
        where = where.replace(f"region {region or 'default'}", f"region {client.meta.region_name}")
        answer = client.describe_pipeline(PipelineName=pipeline_name)
    except NoRegionError:
        raise problem(
            where,
            "no AWS region",
            "neither --region nor AWS_DEFAULT_REGION nor the profile names a region",
            "pass --region, e.g. --region us-east-1",
        ) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise problem(
            where,
            "no AWS credentials",
            "botocore found no access key in the environment, the shared files or an instance role",
            "sign in (e.g. `aws sso login --profile NAME` and set AWS_PROFILE=NAME) or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if code == "ResourceNotFound" or any(w in message.lower() for w in NOT_FOUND_WORDS):
            raise problem(
                where,
                f"no pipeline named {pipeline_name!r}",
                f"SageMaker answered {code}: {message}",
                "check --pipeline-name and --region (the default name is the bundle's, from "
                "assets.json), or publish the pipeline first",
            ) from None
        if code in ACCESS_DENIED:
            raise problem(
                where,
                "access denied",
                f"SageMaker answered {code}: {message}",
                "allow sagemaker:DescribePipeline on "
                f"arn:aws:sagemaker:<region>:<account>:pipeline/{pipeline_name} for this identity",
            ) from None
        raise problem(
            where, f"AWS error {code}", message, "retry; if it persists, check the service status"
        ) from None
    except BotoCoreError as exc:
        raise problem(
            where, "AWS could not be reached", str(exc), "check the network and the region"
        ) from None
    try:
        definition = json.loads(answer["PipelineDefinition"])
        if not isinstance(definition, dict):
            raise TypeError(f"it is a JSON {type(definition).__name__}, not an object")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise problem(
            where,
            "the stored PipelineDefinition is not a pipeline definition",
            f"{type(exc).__name__}: {exc}",
            "republish the pipeline from a bundle",
        ) from None
    return definition
