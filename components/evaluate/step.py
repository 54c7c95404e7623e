"""Evaluate: score one candidate model on the test set; the report is a property file."""

from __future__ import annotations

from typing import Any

from components.evaluate.config import Evaluate
from components.evaluate.contract import FILE, OUTPUT, PROPERTY_FILE, report_contract
from kernel.context import BuildContext
from kernel.ir import PropertyFile, Step
from kernel.jobs import processing_arguments, processing_input


def build(
    settings: Evaluate, ctx: BuildContext, *, name: str, model_uri: Any, test_data: Any
) -> list[Step]:
    """An Evaluate step `name` for the model at `model_uri` on the test split at `test_data`."""
    arguments = processing_arguments(
        ctx,
        step=name,
        image=settings.image,
        code_path=settings.script,
        code_asset="evaluate-code",
        inputs=[
            processing_input("model", model_uri, "/opt/ml/processing/model"),
            processing_input("test", test_data, "/opt/ml/processing/test"),
        ],
        outputs=(OUTPUT,),
        arguments=(
            ["--positive_class", settings.positive_class] if settings.positive_class else None
        ),
    )
    contract = report_contract(settings.classes, settings.positive_class)
    report = PropertyFile(PROPERTY_FILE, OUTPUT, FILE, contract)
    return [
        Step(
            name=name,
            type="Processing",
            arguments=arguments,
            outputs=(OUTPUT,),
            property_files=(report,),
        )
    ]
