"""Evaluate: score one candidate model on the test set; the report is a property file."""

from __future__ import annotations

from typing import Any

from compiler.context import BuildContext
from compiler.graph import PropertyFile, Step, step_output
from components.evaluate.config import Report, report_contract
from components.preprocess import step as preprocess
from components.processing import processing_arguments, processing_input
from components.train import step as train

REPORT = Report()


def build(ctx: BuildContext, name: str, model_uri: Any) -> Step:
    """An Evaluate step for the model at `model_uri` (a Training or Tuning step's artifact)."""
    arguments = processing_arguments(
        ctx,
        step=name,
        image=train.training_image(ctx),
        code_path="components/evaluate/scripts/evaluate.py",
        code_asset="evaluate-code",
        inputs=[
            processing_input("model", model_uri, "/opt/ml/processing/model"),
            processing_input(
                "test", step_output(preprocess.NAME, "test"), "/opt/ml/processing/test"
            ),
        ],
        outputs=(REPORT.output,),
    )
    report = PropertyFile(REPORT.property_file, REPORT.output, REPORT.file, report_contract())
    return Step(
        name=name,
        type="Processing",
        arguments=arguments,
        outputs=(REPORT.output,),
        property_files=(report,),
    )
