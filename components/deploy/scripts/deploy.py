"""Lambda handler: deploy an Approved model package to a real-time endpoint with data capture.

A pipeline Lambda step calls `lambda_handler` once the model package is registered as Approved.
It creates a SageMaker Model from the package, an EndpointConfig with one production variant and
data capture (what the monitoring schedules read), and creates the endpoint or points the existing
one at the new config, so re-running the pipeline redeploys instead of failing.

Model and endpoint-config names are `<endpoint>-model-<hash>` / `<endpoint>-config-<hash>`, the
hash taken over the request that creates them: the same inputs give the same names (a re-run
reuses what exists), different inputs give new ones. No clock, no randomness.

Its failures are results, never exceptions (jobkit/envelope.py ships beside it in its zip).
"""

from __future__ import annotations

import re
from typing import Any

from jobkit import envelope

log = envelope.logger(__name__)

PACKAGE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/\S+$")
GROUP_RE = re.compile(
    r"^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/)?"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)
VARIANT = "AllTraffic"
CAPTURE_TYPES = ["application/json", "application/jsonlines"]
# An endpoint in one of these states refuses UpdateEndpoint; the step should wait, not fail late.
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")

REQUIRED = (
    "endpoint_name",
    "role_arn",
    "instance_type",
    "data_capture_percentage",
    "data_capture_destination",
)
OPTIONAL = ("model_package_arn", "model_package_group", "instance_count")
KEYS = REQUIRED + OPTIONAL


_client = envelope.client  # tests replace it to inject moto or a Stubber


# --------------------------------------------------------------------------- event


def parse_event(event: Any) -> dict[str, Any]:
    """Check the event and return the settings; every problem is collected into one 400.

    Raises:
        Failure: 400 naming each bad key with why and fix.
    """
    problems = envelope.unknown_keys(envelope.check_object(event), KEYS)
    settings: dict[str, Any] = {}
    arn, group = event.get("model_package_arn"), event.get("model_package_group")
    if arn and group:
        problems.append(
            "event.model_package_arn and event.model_package_group are both set\n"
            "  why: the handler deploys one package, chosen by exactly one of them\n"
            "  fix: pass model_package_arn for a given version, or model_package_group for "
            "its latest Approved version"
        )
    elif not arn and not group:
        problems.append(
            "event.model_package_arn = missing (and no model_package_group)\n"
            "  why: the handler needs to know which model package to deploy\n"
            "  fix: pass model_package_arn (arn:aws:sagemaker:<region>:<account>:model-package/"
            "<group>/<version>) or model_package_group (its latest Approved version is used)"
        )
    elif arn:
        settings["model_package_arn"] = envelope.text(
            event,
            "model_package_arn",
            PACKAGE_ARN_RE,
            "not a model package ARN",
            "pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
            problems,
        )
    else:
        settings["model_package_group"] = envelope.text(
            event,
            "model_package_group",
            GROUP_RE,
            "not a model package group name or ARN",
            "pass the group name, e.g. 'penguins'",
            problems,
        )
    settings["endpoint_name"] = envelope.sagemaker_name(
        event, "endpoint_name", "penguins-endpoint", problems, "SageMaker endpoint names"
    )
    settings["role_arn"] = envelope.execution_role(event, problems)
    settings["instance_type"] = envelope.instance_type(event, "ml.m5.large", problems)
    settings["instance_count"] = envelope.integer(
        event, "instance_count", 1, None, 1, "pass e.g. 1", problems
    )
    settings["data_capture_percentage"] = envelope.integer(
        event,
        "data_capture_percentage",
        0,
        100,
        None,
        "pass e.g. 100 (capture every request)",
        problems,
    )
    settings["data_capture_destination"] = envelope.s3_uri(
        event,
        "data_capture_destination",
        "pass e.g. 's3://my-bucket/penguins/datacapture'",
        problems,
    )
    if problems:
        raise envelope.Failure(400, "invalid event:\n" + "\n".join(problems))
    return settings


# --------------------------------------------------------------------------- AWS


def resolve_package(sm: Any, settings: dict[str, Any]) -> str:
    """The ARN to deploy: the given one (which must be Approved) or the group's latest Approved.

    Raises:
        Failure: 404 when the package or group does not exist or the group has nothing Approved;
            400 when a given package is not Approved.
    """
    arn = settings.get("model_package_arn")
    if arn:
        package = envelope.describe(sm.describe_model_package, ModelPackageName=arn)
        if package is None:
            raise envelope.Failure(
                404,
                f"model package {arn} not found\n"
                "  why: SageMaker has no model package with this ARN in this account and region\n"
                "  fix: check the ARN (the register step's ModelPackageArn) and the Lambda's "
                "region",
            )
        status = package.get("ModelApprovalStatus", "unknown")
        if status != "Approved":
            raise envelope.Failure(
                400,
                f"model package {arn} is {status}, not Approved\n"
                "  why: only Approved model packages are deployed\n"
                "  fix: approve it (aws sagemaker update-model-package --model-package-arn "
                f"{arn} --model-approval-status Approved) and re-run",
            )
        return str(arn)
    group = settings["model_package_group"]
    listed = sm.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    summaries = listed.get("ModelPackageSummaryList", [])
    if summaries:
        return str(summaries[0]["ModelPackageArn"])
    if envelope.describe(sm.describe_model_package_group, ModelPackageGroupName=group) is None:
        raise envelope.Failure(
            404,
            f"model package group {group!r} not found\n"
            "  why: SageMaker has no model package group of this name in this account and region\n"
            "  fix: check model_package_group (the pipeline's register step names it) and the "
            "Lambda's region",
        )
    raise envelope.Failure(
        404,
        f"model package group {group!r} has no Approved model package\n"
        "  why: the handler deploys only Approved versions and none is Approved yet\n"
        "  fix: approve a version (aws sagemaker update-model-package --model-package-arn <arn> "
        "--model-approval-status Approved) or pass model_package_arn",
    )


def build_requests(settings: dict[str, Any], package_arn: str) -> dict[str, dict[str, Any]]:
    """The CreateModel and CreateEndpointConfig requests, names included."""
    endpoint = settings["endpoint_name"]
    model: dict[str, Any] = {
        "ExecutionRoleArn": settings["role_arn"],
        "PrimaryContainer": {"ModelPackageName": package_arn},
    }
    model = {"ModelName": envelope.derive_name(endpoint, "model", model), **model}
    config: dict[str, Any] = {
        "ProductionVariants": [
            {
                "VariantName": VARIANT,
                "ModelName": model["ModelName"],
                "InitialInstanceCount": settings["instance_count"],
                "InstanceType": settings["instance_type"],
                "InitialVariantWeight": 1.0,
            }
        ],
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": settings["data_capture_percentage"],
            "DestinationS3Uri": settings["data_capture_destination"],
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": list(CAPTURE_TYPES)},
        },
    }
    config = {"EndpointConfigName": envelope.derive_name(endpoint, "config", config), **config}
    return {"model": model, "config": config}


def deploy(sm: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Create (or reuse) the model and endpoint config, then create or update the endpoint."""
    package_arn = resolve_package(sm, settings)
    requests = build_requests(settings, package_arn)
    model_name = requests["model"]["ModelName"]
    config_name = requests["config"]["EndpointConfigName"]
    endpoint = settings["endpoint_name"]

    # Same name = same request (the hash covers it), so an existing one is exactly what we want.
    if envelope.describe(sm.describe_model, ModelName=model_name) is None:
        sm.create_model(**requests["model"])
        log.info("created model %s from %s", model_name, package_arn)
    if envelope.describe(sm.describe_endpoint_config, EndpointConfigName=config_name) is None:
        sm.create_endpoint_config(**requests["config"])
        log.info("created endpoint config %s", config_name)

    current = envelope.describe(sm.describe_endpoint, EndpointName=endpoint)
    if current is None:
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config_name)
        action = "created"
    else:
        status = current.get("EndpointStatus", "")
        if status in BUSY:
            raise envelope.Failure(
                409,
                f"endpoint {endpoint!r} is {status}\n"
                "  why: SageMaker cannot update an endpoint while it is changing\n"
                "  fix: wait until it is InService (aws sagemaker wait endpoint-in-service "
                f"--endpoint-name {endpoint}) and re-run the pipeline",
            )
        if current.get("EndpointConfigName") == config_name:
            action = "unchanged"
        else:
            sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config_name)
            action = "updated"
    log.info("endpoint %s %s with config %s", endpoint, action, config_name)
    return {
        "statusCode": 200,
        "endpoint_name": endpoint,
        "action": action,
        "model_name": model_name,
        "endpoint_config_name": config_name,
        "model_package_arn": package_arn,
    }


ABOUT = ("components/deploy/README.md", "for this instance type or free capacity")
_handle = envelope.sagemaker_handler(parse_event, deploy, lambda name: _client(name), log, ABOUT)
lambda_handler = envelope.entry_point({"endpoint_name": "", "error": ""}, _handle)
