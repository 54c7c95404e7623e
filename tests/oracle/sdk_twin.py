"""The SageMaker SDK 2.x twin of our pipeline: the same choices, made through the SDK's own classes.

This is the only module that imports `sagemaker`. It reads the validated configuration and the S3
URIs of our assets, never our step builders, so the SDK's rendering is an independent opinion on
what the definition should say. Every literal below (paths, names, channel lists) restates a
choice of `components/*/step.py`; when one of those changes on purpose, change it here too.

Runs offline: fake credentials, a session whose default bucket is preset (no S3 check), and code
that already sits at S3 URIs (nothing to upload).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

import boto3
import sagemaker.utils
from sagemaker import image_uris
from sagemaker.estimator import Framework
from sagemaker.model import Model
from sagemaker.model_metrics import MetricsSource, ModelMetrics
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.pytorch import PyTorch
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.tensorflow import TensorFlow
from sagemaker.tuner import (
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.parameters import ParameterFloat, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.step_collections import RegisterModel
from sagemaker.workflow.steps import ProcessingStep, TrainingStep, TuningStep

if TYPE_CHECKING:  # the twin needs no compiler code, so bench/compile can time the SDK alone
    from compiler.schema import PipelineConfig

SKLEARN_VERSION = "1.2-1"
PREPROCESS_SCRIPTS = {"tabular": "preprocess_tabular.py", "image": "preprocess_image.py"}
PREPROCESS_OUTPUTS = ("train", "validation", "test", "artifacts", "baseline")
CHANNELS = ("train", "validation", "artifacts")
METRIC_DEFINITIONS = [{"Name": "validation:accuracy", "Regex": r"val_accuracy: ([0-9\.]+)"}]
INTEGER_HYPERPARAMETERS = {"epochs", "batch_size"}
CONTENT_TYPES = ["application/json", "application/jsonlines"]
ESTIMATORS: dict[str, type[Framework]] = {"tensorflow": TensorFlow, "pytorch": PyTorch}
SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}

# Two SDK costs that do not change the output, trimmed so the oracle runs the whole matrix fast:
# - every config lookup re-validates the defaults config, schema check included (~0.3 s, dozens
#   of lookups per pipeline); the session validates SDK_CONFIG once, so later lookups of that
#   same config skip the repeat;
# - every image lookup reloads botocore's endpoints.json (~0.15 s); it is static data.
_validate_sdk_config = sagemaker.utils.validate_sagemaker_config


def _validate_unless_known(config: dict[str, Any] | None = None) -> None:
    if config != SDK_CONFIG:
        _validate_sdk_config(config)


sagemaker.utils.validate_sagemaker_config = _validate_unless_known
sagemaker.utils._botocore_resolver = cache(sagemaker.utils._botocore_resolver)


@cache
def pipeline_session(region: str, bucket: str) -> PipelineSession:
    """A session that never calls AWS: fake keys, telemetry off, default bucket preset.

    One per region and bucket: creating it loads botocore's service models (~0.7 s).
    """
    boto = boto3.Session(region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    session = PipelineSession(
        boto_session=boto,
        default_bucket=bucket,
        sagemaker_config=SDK_CONFIG,  # telemetry off: nothing leaves the machine
    )
    session._default_bucket = bucket  # skips the S3 bucket check
    return session


def sdk_image(cfg: PipelineConfig, scope: str) -> str:
    """The SDK's image for the framework and literal instance type of `scope`."""
    fw = cfg.framework
    if scope == "sklearn":
        return str(
            image_uris.retrieve(
                "sklearn",
                cfg.aws.region,
                version=SKLEARN_VERSION,
                instance_type=fw.processing_instance_type,
            )
        )
    instance = fw.training_instance_type if scope == "training" else fw.inference_instance_type
    return str(
        image_uris.retrieve(
            fw.name,
            cfg.aws.region,
            version=fw.version,
            py_version=fw.py_version,
            instance_type=instance,
            image_scope=scope,
        )
    )


class _Twin:
    """Builds the SDK steps one component at a time, like `compiler/pipeline.py`."""

    def __init__(self, cfg: PipelineConfig, assets: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.assets = assets
        self.session = pipeline_session(cfg.aws.region, cfg.aws.bucket)
        fw = cfg.framework
        self.project_prefix = f"{cfg.aws.prefix}/{cfg.project.name}"
        self.models_prefix = f"{self.project_prefix}/models"
        self.training_image = fw.training_image or sdk_image(cfg, "training")
        self.inference_image = fw.inference_image or sdk_image(cfg, "inference")
        self.input_data = ParameterString("InputDataUri", cfg.project.input_data_uri)
        self.processing_instance = ParameterString(
            "ProcessingInstanceType", fw.processing_instance_type
        )
        self.training_instance = ParameterString("TrainingInstanceType", fw.training_instance_type)
        self.approve = ParameterFloat("ApproveThreshold", cfg.gate.approve)
        self.pending = ParameterFloat("PendingThreshold", cfg.gate.pending)
        self.report = PropertyFile("EvaluationReport", "evaluation", "evaluation.json")

    def _code(self, asset: str, script: str) -> str:
        """The S3 URI of a processing script; the SDK names the entry point after its basename."""
        uri = self.assets[asset]
        assert uri.endswith(f"/{script}"), f"asset {asset} is {uri}, expected a {script}"
        return uri

    def output(self, step: str, name: str) -> ProcessingOutput:
        destination = Join(
            on="/",
            values=[
                f"s3://{self.cfg.aws.bucket}/{self.project_prefix}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )
        return ProcessingOutput(
            output_name=name, source=f"/opt/ml/processing/{name}", destination=destination
        )

    def preprocess(self) -> ProcessingStep:
        project, split = self.cfg.project, self.cfg.project.split
        processor = SKLearnProcessor(
            framework_version=SKLEARN_VERSION,
            role=self.cfg.aws.role_arn,
            # The SDK resolves the image from a literal type; the job then reads the parameter.
            instance_type=self.cfg.framework.processing_instance_type,
            instance_count=1,
            sagemaker_session=self.session,
        )
        processor.instance_type = self.processing_instance
        data = project.data
        common = ["--classes", ",".join(project.classes)]
        common += ["--validation", str(split.validation), "--seed", str(split.seed)]
        if data.kind == "tabular":
            arguments = ["--target", data.target, "--numeric", ",".join(data.numeric)]
            arguments += ["--categorical", ",".join(data.categorical), "--test", str(split.test)]
        else:
            arguments = ["--train_file", data.train_file, "--test_file", data.test_file]
            arguments += ["--label", data.label]
        args = processor.run(
            inputs=[
                ProcessingInput(
                    source=self.input_data,
                    destination="/opt/ml/processing/input",
                    input_name="input",
                )
            ],
            outputs=[self.output("Preprocess", name) for name in PREPROCESS_OUTPUTS],
            code=self._code("preprocess-code", PREPROCESS_SCRIPTS[data.kind]),
            arguments=[*arguments, *common],
        )
        return ProcessingStep(name="Preprocess", step_args=args)

    def estimator(self) -> Framework:
        fw = self.cfg.framework
        extra: dict[str, Any] = {"model_dir": False} if fw.name == "tensorflow" else {}
        return ESTIMATORS[fw.name](
            entry_point=f"components/train/scripts/train_{fw.name}.py",
            source_dir=self.assets["training-sourcedir"],
            role=self.cfg.aws.role_arn,
            instance_count=1,
            instance_type=self.training_instance,
            image_uri=self.training_image,
            framework_version=fw.version,
            py_version=fw.py_version,
            output_path=f"s3://{self.cfg.aws.bucket}/{self.models_prefix}",
            hyperparameters=self.cfg.project.hyperparameters.model_dump(),
            metric_definitions=METRIC_DEFINITIONS,
            disable_profiler=True,
            debugger_hook_config=False,
            sagemaker_session=self.session,
            **extra,
        )

    def training_inputs(self, preprocess: ProcessingStep) -> dict[str, str]:
        outputs = preprocess.properties.ProcessingOutputConfig.Outputs
        return {c: outputs[c].S3Output.S3Uri for c in CHANNELS}

    def train(self, preprocess: ProcessingStep) -> TrainingStep:
        args = self.estimator().fit(inputs=self.training_inputs(preprocess))
        return TrainingStep(name="Train", step_args=args)

    def tune(self, preprocess: ProcessingStep) -> TuningStep:
        tuning = self.cfg.training.tuning
        assert tuning is not None
        ranges: dict[str, Any] = {}
        for name, rng in sorted(tuning.ranges.items()):  # we list ranges by name
            if name in INTEGER_HYPERPARAMETERS:
                ranges[name] = IntegerParameter(int(rng.min), int(rng.max), rng.scaling)
            else:
                ranges[name] = ContinuousParameter(rng.min, rng.max, rng.scaling)
        tuner = HyperparameterTuner(
            estimator=self.estimator(),
            objective_metric_name=tuning.objective_metric,
            hyperparameter_ranges=ranges,
            metric_definitions=METRIC_DEFINITIONS,
            strategy=tuning.strategy,
            objective_type=tuning.objective_type,
            max_jobs=tuning.max_jobs,
            max_parallel_jobs=tuning.max_parallel_jobs,
            early_stopping_type="Off",
        )
        args = tuner.fit(inputs=self.training_inputs(preprocess))
        return TuningStep(name="Tune", step_args=args)

    def evaluate(self, name: str, model_uri: Any, preprocess: ProcessingStep) -> ProcessingStep:
        processor = ScriptProcessor(
            image_uri=self.training_image,
            command=["python3"],
            role=self.cfg.aws.role_arn,
            instance_type=self.processing_instance,
            instance_count=1,
            sagemaker_session=self.session,
        )
        test = preprocess.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri
        args = processor.run(
            inputs=[
                ProcessingInput(
                    source=model_uri, destination="/opt/ml/processing/model", input_name="model"
                ),
                ProcessingInput(
                    source=test, destination="/opt/ml/processing/test", input_name="test"
                ),
            ],
            outputs=[self.output(name, "evaluation")],
            code=self._code("evaluate-code", "evaluate.py"),
        )
        return ProcessingStep(name=name, step_args=args, property_files=[self.report])

    def register(
        self, name: str, status: str, model_uri: Any, evaluation: ProcessingStep
    ) -> RegisterModel:
        fw = self.cfg.framework
        outputs = evaluation.properties.ProcessingOutputConfig.Outputs
        report = Join(on="/", values=[outputs["evaluation"].S3Output.S3Uri, "evaluation.json"])
        return RegisterModel(
            name=name,
            model=Model(
                image_uri=self.inference_image,
                model_data=model_uri,
                role=self.cfg.aws.role_arn,
                sagemaker_session=self.session,
            ),
            content_types=CONTENT_TYPES,
            response_types=CONTENT_TYPES,
            inference_instances=[fw.inference_instance_type],
            transform_instances=[fw.inference_instance_type],
            model_package_group_name=self.cfg.project.model_package_group,
            approval_status=status,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(content_type="application/json", s3_uri=report)
            ),
        )

    def metric(self, evaluation: ProcessingStep) -> JsonGet:
        return JsonGet(
            step_name=evaluation.name, property_file=self.report, json_path=self.cfg.gate.metric
        )

    def gate(self, label: str, model_uri: Any, evaluation: ProcessingStep) -> ConditionStep:
        metric = self.metric(evaluation)
        message = Join(
            on=" ",
            values=[
                f"Model not registered: {self.cfg.gate.metric} =",
                metric,
                "is below the pending threshold",
                self.pending,
                "(gate.pending). Improve the model or lower PendingThreshold.",
            ],
        )
        pending = ConditionStep(
            name=f"CheckPending{label}",
            conditions=[ConditionGreaterThanOrEqualTo(left=metric, right=self.pending)],
            if_steps=[
                self.register(
                    f"RegisterPending{label}", "PendingManualApproval", model_uri, evaluation
                )
            ],
            else_steps=[FailStep(name=f"Reject{label}", error_message=message)],
        )
        return ConditionStep(
            name=f"CheckApprove{label}",
            conditions=[ConditionGreaterThanOrEqualTo(left=metric, right=self.approve)],
            if_steps=[self.register(f"RegisterApproved{label}", "Approved", model_uri, evaluation)],
            else_steps=[pending],
        )

    def pipeline(self) -> Pipeline:
        training = self.cfg.training
        preprocess = self.preprocess()
        steps: list[Any] = [preprocess]
        models: list[tuple[str, Any]] = []
        if training.mode in ("train", "train_and_tune"):
            train = self.train(preprocess)
            steps.append(train)
            models.append(("Train", train.properties.ModelArtifacts.S3ModelArtifacts))
        if training.mode in ("tune", "train_and_tune"):
            tune = self.tune(preprocess)
            steps.append(tune)
            tops = [
                tune.get_top_model_s3_uri(
                    top_k=k, s3_bucket=self.cfg.aws.bucket, prefix=self.models_prefix
                )
                for k in range(training.top_k)
            ]
            labels = (
                ["Tune"] if training.top_k == 1 else [f"Top{k + 1}" for k in range(training.top_k)]
            )
            models += zip(labels, tops, strict=True)
        evaluations = []
        for label, uri in models:
            name = "Evaluate" if len(models) == 1 else f"Evaluate{label}"
            evaluations.append(self.evaluate(name, uri, preprocess))
        steps += evaluations
        if len(models) == 1:
            steps.append(self.gate("", models[0][1], evaluations[0]))
        else:
            (first, first_uri), (second, second_uri) = models
            steps.append(
                ConditionStep(
                    name="SelectBestModel",
                    conditions=[
                        ConditionGreaterThanOrEqualTo(
                            left=self.metric(evaluations[0]), right=self.metric(evaluations[1])
                        )
                    ],
                    if_steps=[self.gate(first, first_uri, evaluations[0])],
                    else_steps=[self.gate(second, second_uri, evaluations[1])],
                )
            )
        parameters = [
            self.approve,
            self.input_data,
            self.pending,
            self.processing_instance,
            self.training_instance,
        ]
        return Pipeline(
            name=self.cfg.project.pipeline_name,
            parameters=parameters,
            steps=steps,
            sagemaker_session=self.session,
        )


def sdk_definition(cfg: PipelineConfig, assets: Mapping[str, str]) -> dict[str, Any]:
    """The SDK's definition of our pipeline.

    Args:
        cfg: the validated configuration (`Bundle.config`).
        assets: asset name -> S3 URI, as our compile lists them in assets.json.
    """
    definition: dict[str, Any] = json.loads(_Twin(cfg, assets).pipeline().definition())
    return definition
