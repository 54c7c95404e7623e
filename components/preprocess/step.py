"""Preprocess: split and transform the raw data; write the sets, artifacts and baselines."""

from __future__ import annotations

from components.preprocess.config import Preprocess, TabularData
from components.preprocess.contract import NAME, OUTPUTS
from kernel.context import BuildContext
from kernel.ir import Step
from kernel.jobs import processing_arguments, processing_input


def script_arguments(settings: Preprocess) -> list[str]:
    """The preprocess script's command line (see components/preprocess/README.md)."""
    data, split = settings.data, settings.split
    # One argument an item: CreateProcessingJob caps each argument at 256 characters.
    common = [
        "--classes",
        *settings.classes,
        "--validation",
        str(split.validation),
        "--seed",
        str(split.seed),
    ]
    if isinstance(data, TabularData):
        columns = [
            arg
            for flag, names in (("--numeric", data.numeric), ("--categorical", data.categorical))
            if names
            for arg in (flag, *names)
        ]
        return ["--target", data.target, *columns, "--test", str(split.test), *common]
    return [
        "--train_file",
        data.train_file,
        "--test_file",
        data.test_file,
        "--label",
        data.label,
        *common,
    ]


def build(settings: Preprocess, ctx: BuildContext) -> list[Step]:
    arguments = processing_arguments(
        ctx,
        step=NAME,
        image=settings.image,
        code_path=settings.script,
        code_asset="preprocess-code",
        inputs=[
            processing_input("input", ctx.parameter("InputDataUri"), "/opt/ml/processing/input")
        ],
        outputs=OUTPUTS,
        arguments=script_arguments(settings),
    )
    return [Step(name=NAME, type="Processing", arguments=arguments, outputs=OUTPUTS)]
