"""`python -m engine.schedule run NAME --containers`: the schedule's jobs on their images' stacks.

A builtin schedule starts its monitoring pipeline with the option, as `python -m engine run`
takes it (tests/engine/test_containers.py proves those pipelines' jobs on the scikit-learn
stack); a repository with no stack stops the run before anything runs, for both kinds.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.schedule import main
from tests.engine.serve_fixtures import Root, root
from tests.engine.test_containers import SKLEARN, SKLEARN_IMAGE, built_stack
from tests.engine.test_schedule_local import (
    aws_env,
    record_mq_schedule,
    record_pipeline_schedule,
)
from tests.manifests import write_test_bundle

__all__ = ["aws_env", "root"]  # fixtures

UNKNOWN = (
    "error: --containers-only nothing-such\n"
    "  'nothing-such' is not an image repository with a known stack\n"
)


def publish(root: Root, definition: dict[str, Any]) -> None:
    folder = root.path / "pipelines" / "p-data-quality-monitor"
    write_test_bundle(folder, "p-data-quality-monitor", definition)


def probe_pipeline(image: str) -> dict[str, Any]:
    """A monitoring pipeline of one processing job on `image` that prints its Python."""
    probe = "import sys; print('python', tuple(sys.version_info[:2]))"
    step = {
        "Name": "Probe",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {
                "ImageUri": image,
                "ContainerEntrypoint": ["python3", "-c", probe],
            },
            "RoleArn": "arn:aws:iam::111122223333:role/Role",
        },
    }
    parameters = [{"Name": "EndpointName", "Type": "String", "DefaultValue": "x"}]
    return {"Version": "2020-12-01", "Parameters": parameters, "Steps": [step]}


@pytest.mark.parametrize("kind", ["builtin", "model-monitor"])
def test_a_repository_without_a_stack_stops_before_anything_runs(
    root: Root, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind == "builtin":
        record_pipeline_schedule(root)
        publish(root, {"Version": "2020-12-01", "Parameters": [], "Steps": []})
        name = "dq"
    else:
        record_mq_schedule(root)
        name = "mq"

    assert main(["--root", str(root.path), "run", name, "--containers-only", "nothing-such"]) == 2
    assert capsys.readouterr().err.startswith(UNKNOWN)
    assert not (root.path / "executions").exists()


def test_a_builtin_schedule_runs_its_jobs_on_their_images_stack(
    root: Root, capsys: pytest.CaptureFixture[str]
) -> None:
    record_pipeline_schedule(root)
    publish(root, probe_pipeline(SKLEARN_IMAGE))
    stack = built_stack(SKLEARN_IMAGE)  # by the install step, once per machine

    code = main(["--root", str(root.path), "run", "dq", "--containers-only", SKLEARN])

    assert code == 0, capsys.readouterr().err
    (log,) = (root.path / "executions").rglob("Probe/log.txt")
    assert f"$ {stack} -c " in log.read_text()
    assert "python (3, 12)" in log.read_text()
