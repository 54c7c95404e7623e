"""SageMaker on this machine: the calls the bundle's Lambda handlers make, on the engine's state.

A Lambda handler runs as shipped and calls SageMaker through engine/local_aws.py, which hands
each call to the method of the same name here (snake case, the API's parameter names). What
each call reads and writes under the engine's root:
- model packages: the local registry (`registry.sqlite`, engine/registry.py), as RegisterModel
  steps left it (DescribeModelPackage, ListModelPackages, DescribeModelPackageGroup);
- models and endpoint configs: their create requests, `models/<name>.json` and
  `endpoint-configs/<name>.json`;
- endpoints: CreateEndpoint and UpdateEndpoint serve the config's model (its package's image
  and model data) on a loopback endpoint with the config's data capture (engine/endpoint.py),
  recorded in `endpoints/<name>.json`. A local endpoint lives as long as the engine process that
  serves it, so DescribeEndpoint knows only endpoints served now: a later run's deploy creates
  the endpoint again, on the port it had. Unlike AWS (which answers Creating and may fail
  later), the call returns once the endpoint answers, and refuses when it cannot start;
- monitoring: job definitions as `monitoring-job-definitions/<name>.json`, and each monitoring
  schedule as `schedules/<name>.json` with its job definition and the bundle's analyzer (the
  job the Model Monitor image stands for), which `python -m engine.schedule run` runs.

Refusals are botocore ClientErrors with SageMaker's codes and messages, so the handler reacts as
on AWS. Endpoints bind a free port unless ENGINE_ENDPOINT_PORT is set; a redeployed endpoint
keeps its port.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from engine import endpoint
from engine.records import now, write_json
from engine.registry import Package, Registry
from kernel.errors import ProblemError

PORT_ENV = "ENGINE_ENDPOINT_PORT"
JOB_KINDS = ("DataQuality", "ModelQuality")


def refused(message: str, operation: str, code: str = "ValidationException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class LocalSageMaker:
    """The SageMaker client of one Lambda step's handler, on the engine's root.

    Args:
        root: the engine's root folder.
        region, account: those of the ARNs it makes.
        execution_id: the pipeline execution the step is part of (kept in the records).
        analyzer_uri: the bundle's quality-check analyzer (what a monitoring schedule runs).
        log: the step's log.
    """

    def __init__(
        self,
        root: Path,
        region: str,
        account: str,
        execution_id: str,
        analyzer_uri: str | None,
        log: Callable[[str], None],
    ) -> None:
        self.root = root
        self.region = region
        self.account = account
        self.execution_id = execution_id
        self.analyzer_uri = analyzer_uri
        self.log = log
        self.registry = Registry(root / "registry.sqlite", region=region, account=account)

    def _arn(self, resource: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{resource}"

    def _record(self, folder: str, name: str) -> dict[str, Any] | None:
        path = self.root / folder / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def _create(self, folder: str, name: str, document: dict[str, Any], operation: str) -> None:
        if self._record(folder, name) is not None:
            raise refused(f'Cannot create already existing resource "{name}".', operation)
        write_json(self.root / folder / f"{name}.json", {**document, "CreationTime": now()})

    # ----------------------------------------------------------------------- model packages

    def _package(self, arn: str, operation: str) -> Package:
        package = self.registry.package(arn)
        if package is None:
            raise refused(f"ModelPackage {arn} does not exist.", operation)
        return package

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
        package = self._package(ModelPackageName, "DescribeModelPackage")
        return {
            "ModelPackageName": package.group,
            "ModelPackageGroupName": package.group,
            "ModelPackageVersion": package.version,
            "ModelPackageArn": package.arn,
            "ModelApprovalStatus": package.status,
            "ModelPackageStatus": "Completed",
            "InferenceSpecification": package.inference_specification,
            "CreationTime": package.created,
        }

    def list_model_packages(
        self, ModelPackageGroupName: str, ModelApprovalStatus: str | None = None, **order: Any
    ) -> dict[str, Any]:
        """Newest first (the SortBy CreationTime, SortOrder Descending the handler asks for)."""
        packages = [
            p
            for p in reversed(self.registry.packages(ModelPackageGroupName))
            if ModelApprovalStatus in (None, p.status)
        ][: order.get("MaxResults", 100)]
        return {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageGroupName": p.group,
                    "ModelPackageVersion": p.version,
                    "ModelPackageArn": p.arn,
                    "ModelApprovalStatus": p.status,
                    "ModelPackageStatus": "Completed",
                    "CreationTime": p.created,
                }
                for p in packages
            ]
        }

    def describe_model_package_group(self, ModelPackageGroupName: str) -> dict[str, Any]:
        if ModelPackageGroupName not in self.registry.groups():
            raise refused(
                f"ModelPackageGroup {ModelPackageGroupName} does not exist.",
                "DescribeModelPackageGroup",
            )
        return {
            "ModelPackageGroupName": ModelPackageGroupName,
            "ModelPackageGroupArn": self._arn(f"model-package-group/{ModelPackageGroupName}"),
            "ModelPackageGroupStatus": "Completed",
        }

    # ----------------------------------------------------------------------- models, configs

    def describe_model(self, ModelName: str) -> dict[str, Any]:
        model = self._record("models", ModelName)
        if model is None:
            raise refused(f'Could not find model "{ModelName}".', "DescribeModel")
        return model

    def create_model(self, **request: Any) -> dict[str, Any]:
        name = request["ModelName"]
        container = request.get("PrimaryContainer") or (request.get("Containers") or [{}])[0]
        if container.get("ModelPackageName"):
            self._package(container["ModelPackageName"], "CreateModel")
        arn = self._arn(f"model/{name.lower()}")
        self._create("models", name, {**request, "ModelArn": arn}, "CreateModel")
        return {"ModelArn": arn}

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        config = self._record("endpoint-configs", EndpointConfigName)
        if config is None:
            raise refused(
                f'Could not find endpoint configuration "{EndpointConfigName}".',
                "DescribeEndpointConfig",
            )
        return config

    def create_endpoint_config(self, **request: Any) -> dict[str, Any]:
        name = request["EndpointConfigName"]
        for variant in request["ProductionVariants"]:
            if self._record("models", variant["ModelName"]) is None:
                raise refused(
                    f'Could not find model "{variant["ModelName"]}".', "CreateEndpointConfig"
                )
        arn = self._arn(f"endpoint-config/{name.lower()}")
        document = {**request, "EndpointConfigArn": arn}
        self._create("endpoint-configs", name, document, "CreateEndpointConfig")
        return {"EndpointConfigArn": arn}

    # ----------------------------------------------------------------------- endpoints

    def _served(self, name: str) -> dict[str, Any] | None:
        """The endpoint's record while a process serves it."""
        record = self._record("endpoints", name)
        pid = record.get("Pid") if record else None
        return record if pid and endpoint.is_endpoint_process(int(pid)) else None

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        record = self._served(EndpointName)
        if record is None:
            raise refused(f'Could not find endpoint "{EndpointName}".', "DescribeEndpoint")
        return record

    def create_endpoint(
        self, EndpointName: str, EndpointConfigName: str, **_: Any
    ) -> dict[str, Any]:
        if self._served(EndpointName) is not None:
            arn = self._arn(f"endpoint/{EndpointName}")
            raise refused(f'Cannot create already existing endpoint "{arn}".', "CreateEndpoint")
        return self._serve(EndpointName, EndpointConfigName, "CreateEndpoint")

    def update_endpoint(
        self, EndpointName: str, EndpointConfigName: str, **_: Any
    ) -> dict[str, Any]:
        if self._served(EndpointName) is None:
            raise refused(f'Could not find endpoint "{EndpointName}".', "UpdateEndpoint")
        return self._serve(EndpointName, EndpointConfigName, "UpdateEndpoint")

    def _container(self, config_name: str, operation: str) -> tuple[dict[str, Any], str | None]:
        """The serving container (image, model data, environment) and its model package."""
        config = self._record("endpoint-configs", config_name)
        if config is None:
            raise refused(f'Could not find endpoint configuration "{config_name}".', operation)
        model = self._record("models", config["ProductionVariants"][0]["ModelName"]) or {}
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        package_arn = container.get("ModelPackageName")
        if not package_arn:
            return container, None
        package = self._package(package_arn, operation)
        spec = (package.inference_specification.get("Containers") or [{}])[0]
        serving = {
            "Image": package.image,
            "ModelDataUrl": package.model_data_url,
            "Environment": {**(spec.get("Environment") or {}), **container.get("Environment", {})},
        }
        return serving, package.arn

    def _port(self, name: str, previous: dict[str, Any], operation: str) -> int:
        wanted = os.environ.get(PORT_ENV)
        if wanted is not None and (not wanted.isdigit() or int(wanted) > 65535):
            raise refused(
                f"{PORT_ENV}={wanted!r} is not a port number: the local endpoint binds 127.0.0.1 "
                f"on this port; set {PORT_ENV} to a free port (0 or unset: any free one)",
                operation,
            )
        port = int(wanted) if wanted else int(previous.get("Port") or 0)
        if port and not endpoint.port_is_free(port):
            origin = f"{PORT_ENV} asks for it" if wanted else "a redeployed endpoint keeps its port"
            raise refused(
                f"endpoint {name} cannot listen on 127.0.0.1:{port}: the port is in use (another "
                f"program listens on it; {origin}); stop that program, or set {PORT_ENV} to "
                "another port (0: any free one)",
                operation,
            )
        return port

    def _serve(self, name: str, config_name: str, operation: str) -> dict[str, Any]:
        config = self._record("endpoint-configs", config_name) or {}
        container, package_arn = self._container(config_name, operation)
        path = endpoint.record_path(self.root, name)
        previous = json.loads(path.read_text()) if path.is_file() else {}
        endpoint.stop(self.root, name)  # a redeployed endpoint takes its place, on its port
        port = self._port(name, previous, operation)
        record = {
            "EndpointName": name,
            "EndpointArn": self._arn(f"endpoint/{name}"),
            "EndpointConfigName": config_name,
            "Account": self.account,
            "EndpointStatus": "Updating" if previous else "Creating",
            "ModelPackageArn": package_arn,
            "PrimaryContainer": container,
            "ProductionVariants": config.get("ProductionVariants", []),
            "DataCaptureConfig": config.get("DataCaptureConfig", {}),
            "PipelineExecutionId": self.execution_id,
            "CreationTime": previous.get("CreationTime", now()),
            "LastModifiedTime": now(),
            "Port": port,
        }
        write_json(path, record)
        try:
            url = endpoint.launch(self.root, name, port)
        except ProblemError as problem:
            endpoint.update_record(self.root, name, EndpointStatus="Failed", Pid=None)
            said = problem.problem
            raise refused(f"{said.what} ({said.why}); {said.fix}", operation) from None
        self.log(f"endpoint {name} serves {package_arn or container.get('ModelDataUrl')} on {url}")
        return {"EndpointArn": record["EndpointArn"]}

    # ----------------------------------------------------------------------- monitoring

    def _describe_job_definition(self, kind: str, name: str) -> dict[str, Any]:
        definition = self._record("monitoring-job-definitions", name)
        if definition is None or definition["Kind"] != kind:
            raise refused(
                f"Could not find job definition {name}.",
                f"Describe{kind}JobDefinition",
                "ResourceNotFound",
            )
        return definition

    def _create_job_definition(self, kind: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request["JobDefinitionName"]
        arn = self._arn(f"{kind.lower().replace('quality', '-quality')}-job-definition/{name}")
        document = {**request, "JobDefinitionArn": arn, "Kind": kind}
        self._create("monitoring-job-definitions", name, document, f"Create{kind}JobDefinition")
        return {"JobDefinitionArn": arn}

    def describe_data_quality_job_definition(self, JobDefinitionName: str) -> dict[str, Any]:
        return self._describe_job_definition("DataQuality", JobDefinitionName)

    def create_data_quality_job_definition(self, **request: Any) -> dict[str, Any]:
        return self._create_job_definition("DataQuality", request)

    def describe_model_quality_job_definition(self, JobDefinitionName: str) -> dict[str, Any]:
        return self._describe_job_definition("ModelQuality", JobDefinitionName)

    def create_model_quality_job_definition(self, **request: Any) -> dict[str, Any]:
        return self._create_job_definition("ModelQuality", request)

    def describe_monitoring_schedule(self, MonitoringScheduleName: str) -> dict[str, Any]:
        record = self._record("schedules", MonitoringScheduleName)
        if record is None or "Target" in record:  # an EventBridge schedule is not Model Monitor's
            raise refused(
                f"Could not find schedule {MonitoringScheduleName}.",
                "DescribeMonitoringSchedule",
                "ResourceNotFound",
            )
        return record

    def create_monitoring_schedule(self, **request: Any) -> dict[str, Any]:
        return self._schedule(request, "CreateMonitoringSchedule")

    def update_monitoring_schedule(self, **request: Any) -> dict[str, Any]:
        self.describe_monitoring_schedule(request["MonitoringScheduleName"])
        return self._schedule(request, "UpdateMonitoringSchedule")

    def _schedule(self, request: dict[str, Any], operation: str) -> dict[str, Any]:
        name, config = request["MonitoringScheduleName"], request["MonitoringScheduleConfig"]
        definition_name = config.get("MonitoringJobDefinitionName", "")
        definition = self._record("monitoring-job-definitions", definition_name)
        if definition is None:
            raise refused(f"Could not find job definition {definition_name}.", operation)
        kind = definition["Kind"]
        endpoint_name = definition[f"{kind}JobInput"]["EndpointInput"]["EndpointName"]
        if not endpoint.record_path(self.root, endpoint_name).is_file():
            raise refused(f"Could not find endpoint {endpoint_name!r}", operation)
        previous = self._record("schedules", name)
        if operation.startswith("Create") and previous is not None:
            raise refused(f"Monitoring schedule {name} already exists.", operation)
        arn = self._arn(f"monitoring-schedule/{name}")
        write_json(
            self.root / "schedules" / f"{name}.json",
            {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": kind,
                "MonitoringScheduleConfig": config,
                "EndpointName": endpoint_name,
                "JobDefinition": definition,  # what `engine.schedule run` runs
                "AnalyzerUri": self.analyzer_uri,  # the job the Model Monitor image stands for
                "PipelineExecutionId": self.execution_id,
                "CreationTime": (previous or {}).get("CreationTime", now()),
                "LastModifiedTime": now(),
            },
        )
        self.log(f"monitoring schedule {name} recorded ({self.root / 'schedules' / name}.json)")
        return {"MonitoringScheduleArn": arn}
