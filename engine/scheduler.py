"""EventBridge Scheduler on this machine: the calls the bundle's schedule handler makes.

The builtin backend's schedule function (components/schedule/scripts/pipeline_schedule.py) runs
as shipped in the bundle, its `scheduler` calls answered here (through engine/local_aws.py):
GetSchedule, CreateSchedule and UpdateSchedule keep each schedule in
`<root>/schedules/<name>.json` (its request, with CreationDate and LastModificationDate), which
`python -m engine.schedule run` plays. As on AWS, refusals are botocore ClientErrors, which the
handler turns into its status and error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from engine import pipelines
from engine.records import now, write_json


def refusal(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class LocalScheduler:
    """The `scheduler` client the pipeline_schedule handler calls, on the engine's root."""

    def __init__(self, root: Path, region: str) -> None:
        self.root = root
        self.region = region

    def _path(self, name: str) -> Path:
        return self.root / "schedules" / f"{name}.json"

    def _arn(self, request: dict[str, Any]) -> str:
        account = str(request["Target"]["Arn"]).split(":")[4]  # beside the pipeline it starts
        group = request.get("GroupName", "default")
        return f"arn:aws:scheduler:{self.region}:{account}:schedule/{group}/{request['Name']}"

    def get_schedule(self, Name: str, GroupName: str = "default") -> dict[str, Any]:
        path = self._path(Name)
        if not path.is_file():
            raise refusal(
                "ResourceNotFoundException", f"Schedule {Name} does not exist.", "GetSchedule"
            )
        record: dict[str, Any] = json.loads(path.read_text())
        if "Target" not in record:
            raise refusal(
                "ValidationException",
                f"{path} is a Model Monitor schedule of the same name; one name, one schedule: "
                "delete it, or give the schedules other names (deployment.endpoint_name)",
                "GetSchedule",
            )
        return {**record, "Arn": self._arn(record)}

    def create_schedule(self, **request: Any) -> dict[str, Any]:
        request.pop("ClientToken", None)  # botocore's idempotency token, not a setting
        self._check_target(request, "CreateSchedule")
        write_json(
            self._path(request["Name"]),
            {**request, "CreationDate": now(), "LastModificationDate": now()},
        )
        return {"ScheduleArn": self._arn(request)}

    def update_schedule(self, **request: Any) -> dict[str, Any]:
        request.pop("ClientToken", None)
        self._check_target(request, "UpdateSchedule")
        previous = json.loads(self._path(request["Name"]).read_text())
        write_json(
            self._path(request["Name"]),
            {**request, "CreationDate": previous["CreationDate"], "LastModificationDate": now()},
        )
        return {"ScheduleArn": self._arn(request)}

    def _check_target(self, request: dict[str, Any], operation: str) -> None:
        arn = str(request["Target"]["Arn"])
        if pipelines.find(self.root, arn) is None:
            raise refusal(
                "ValidationException",
                f"the target pipeline {arn} does not exist: the schedule starts a monitoring "
                "pipeline that publishing creates (here: running the bundle that holds it; run "
                "the bundle compiled with monitoring.backend=builtin again)",
                operation,
            )
