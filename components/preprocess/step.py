"""Preprocess: split and transform the raw data; write the sets, artifacts and baselines."""

from __future__ import annotations

from compiler import images
from compiler.context import BuildContext
from compiler.graph import Step
from components.preprocess.config import SKLEARN_VERSION, ImageData, Split, TabularData
from components.processing import processing_arguments, processing_input

NAME = "Preprocess"
OUTPUTS = ("train", "validation", "test", "artifacts", "baseline")
SCRIPTS = {"tabular": "preprocess_tabular.py", "image": "preprocess_image.py"}


def script_arguments(data: TabularData | ImageData, split: Split, classes: list[str]) -> list[str]:
    """The preprocess script's command line (see components/preprocess/README.md)."""
    common = [
        "--classes",
        ",".join(classes),
        "--validation",
        str(split.validation),
        "--seed",
        str(split.seed),
    ]
    if isinstance(data, TabularData):
        return [
            "--target",
            data.target,
            "--numeric",
            ",".join(data.numeric),
            "--categorical",
            ",".join(data.categorical),
            "--test",
            str(split.test),
            *common,
        ]
    return [
        "--train_file",
        data.train_file,
        "--test_file",
        data.test_file,
        "--label",
        data.label,
        *common,
    ]


def build(ctx: BuildContext) -> Step:
    project, aws = ctx.config.project, ctx.config.aws
    image = images.image_uri(
        "sklearn",
        "training",
        SKLEARN_VERSION,
        "py3",
        aws.region,
        ctx.config.framework.processing_instance_type,
    )
    data_uri = ctx.parameter("InputDataUri", "String", project.input_data_uri)
    arguments = processing_arguments(
        ctx,
        step=NAME,
        image=image,
        code_path=f"components/preprocess/scripts/{SCRIPTS[project.data.kind]}",
        code_asset="preprocess-code",
        inputs=[processing_input("input", data_uri, "/opt/ml/processing/input")],
        outputs=OUTPUTS,
        arguments=script_arguments(project.data, project.split, project.classes),
    )
    return Step(name=NAME, type="Processing", arguments=arguments, outputs=OUTPUTS)
