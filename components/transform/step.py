"""TransformTestSet: batch predictions over the test records, each joined to its record.

The model's own handler answers (jsonlines in, jsonlines out); `JoinSource: Input` puts each
prediction beside its record under `SageMakerOutput`, which is what the model-quality baseline
reads (components/model/record.schema.json).
"""

from __future__ import annotations

from typing import Any

from components.transform.config import Transform
from kernel.context import BuildContext
from kernel.ir import Step, StepRef


def build(
    settings: Transform, ctx: BuildContext, *, name: str, model_name: Any, records: Any
) -> list[Step]:
    arguments = {
        "DataProcessing": {"InputFilter": "$", "JoinSource": "Input", "OutputFilter": "$"},
        "ModelName": model_name,
        "TransformInput": {
            "ContentType": "application/jsonlines",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": records}},
            "SplitType": "Line",
        },
        "TransformOutput": {
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
            "S3OutputPath": ctx.run_output(name, "predictions"),
        },
        "TransformResources": {"InstanceCount": 1, "InstanceType": settings.instance_type},
    }
    return [Step(name=name, type="Transform", arguments=arguments)]


def predictions(step: str) -> StepRef:
    return StepRef(step, "TransformOutput.S3OutputPath")
