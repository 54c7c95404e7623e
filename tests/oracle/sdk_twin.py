"""The SageMaker SDK 2.x twin of our pipeline: the same choices, made through the SDK's own classes.

This is the only module that imports `sagemaker`. It reads the validated configuration and the S3
URIs of our assets, never our step builders, so the SDK's rendering is an independent opinion on
what the definition should say. Every literal below (paths, names, channel lists) restates a
choice of `components/*/step.py`; when one of those changes on purpose, change it here too.

Runs offline: fake credentials, a session whose default bucket is preset (no S3 check), code
that already sits at S3 URIs (nothing to upload), and Lambda functions given by ARN alone
(nothing to create or update).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

import boto3
import sagemaker.utils
from sagemaker import image_uris
from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.estimator import Framework
from sagemaker.lambda_helper import Lambda
from sagemaker.model import Model
from sagemaker.model_metrics import MetricsSource, ModelMetrics
from sagemaker.model_monitor import DatasetFormat
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.pytorch import PyTorch
from sagemaker.tensorflow import TensorFlow
from sagemaker.transformer import Transformer
from sagemaker.tuner import (
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import (
    Parameter,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.workflow.step_collections import RegisterModel
from sagemaker.workflow.steps import ProcessingStep, TrainingStep, TransformStep, TuningStep
from sagemaker.xgboost import XGBoost

# The framework facts (handler, hyperparameters and their defaults, serving environment) are the
# table's: inputs, like the config, not renderings.
from kernel import images
from kernel.frameworks import FRAMEWORKS, HYPERPARAMETERS, SKLEARN_VERSION, hyperparameters

if TYPE_CHECKING:  # the twin needs no compiler code, so bench/compile can time the SDK alone
    from compiler.schema import PipelineConfig

PREPROCESS_SCRIPTS = {"tabular": "preprocess_tabular.py", "image": "preprocess_image.py"}
PREPROCESS_OUTPUTS = ("train", "validation", "test", "artifacts", "baseline")
CHANNELS = ("train", "validation", "artifacts")
METRIC_DEFINITIONS = [{"Name": "validation:accuracy", "Regex": r"val_accuracy: ([0-9\.]+)"}]
CONTENT_TYPES = ["application/json", "application/jsonlines"]
JSON = "application/json"
JSONLINES = "application/jsonlines"
# A binary project's containers name its positive class; their answers then carry its probability.
POSITIVE_CLASS_ENV = "INFERENCE_POSITIVE_CLASS"
# Every Lambda handler returns these besides its own output, and never raises.
STATUS_OUTPUTS = [
    ("statusCode", LambdaOutputTypeEnum.Integer),
    ("error", LambdaOutputTypeEnum.String),
]
# What model quality reads: in the transform's joined records, and in each captured response (a
# list of predictions); the probability is the predicted class's, or a binary model's positive's.
PROBABILITY = {False: "confidence", True: "probability"}
ESTIMATORS: dict[str, type[Framework]] = {
    "tensorflow": TensorFlow,
    "pytorch": PyTorch,
    "xgboost": XGBoost,  # script mode: the XGBoost framework container runs our script
}
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


def retrieve(
    framework: str,
    region: str,
    version: str,
    py_version: str | None = None,
    instance_type: str | None = None,
    image_scope: str = "training",
) -> str:
    """`image_uris.retrieve`, and for a version the SDK's table lacks (kernel.images.PUBLISHED,
    from AWS's published image list) the SDK's image of the version it mirrors, on that version's
    own Python, with the tag AWS's list gives: the SDK then vouches for the repository, registry
    and processor rules, the published list for the tag and its Pythons, which the SDK cannot
    check."""
    published = images.PUBLISHED.get((framework, image_scope, version))
    uri = str(
        image_uris.retrieve(
            framework,
            region,
            version=published.mirrors if published else version,
            py_version=None if published else py_version,
            instance_type=instance_type,
            image_scope=image_scope,
        )
    )
    if published is None:
        return uri
    if published.py_versions and py_version not in published.py_versions:
        raise ValueError(
            f"{framework} {version} exists for {published.py_versions}, not {py_version}"
        )
    head, _, tag = uri.rpartition(":")
    processor = next((p for p in ("cpu", "gpu") if f"-{p}" in tag), "")
    if not processor and "{processor}" in published.tag:  # e.g. Neuron: another image family
        raise ValueError(f"AWS's list has only cpu and gpu {framework} {version} images, not {uri}")
    # The caller may leave the Python out, as the SDK lets it where the image has one ("py3").
    python = py_version or images.py_versions(framework, version, image_scope)[-1]
    return f"{head}:" + published.tag.format(
        version=version, processor=processor, py_version=python
    )


def sdk_image(cfg: PipelineConfig, scope: str) -> str:
    """The SDK's image for the framework and literal instance type of `scope`."""
    fw = cfg.framework
    if scope == "model-monitor":
        return str(image_uris.retrieve("model-monitor", cfg.aws.region))
    if scope == "sklearn":
        return retrieve(
            "sklearn", cfg.aws.region, SKLEARN_VERSION, instance_type=fw.processing_instance_type
        )
    instance = fw.training_instance_type if scope == "training" else fw.inference_instance_type
    version, python = fw.image_version(scope), fw.image_python(scope)
    return retrieve(fw.name, cfg.aws.region, version, python, instance, scope)


@dataclass(frozen=True)
class _Candidate:
    """A model that was evaluated: its label, artifact, Evaluate step, ModelQualityBaseline."""

    label: str
    model_uri: Any
    evaluation: ProcessingStep
    model_quality: QualityCheckStep | None


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
        self.parameters: dict[str, Parameter] = {}  # those the steps use, like ours
        self.input_data = self.parameter(
            ParameterString, "InputDataUri", cfg.project.input_data_uri
        )
        self.processing_instance = self.parameter(
            ParameterString, "ProcessingInstanceType", fw.processing_instance_type
        )
        self.training_instance = self.parameter(
            ParameterString, "TrainingInstanceType", fw.training_instance_type
        )
        self.approve = self.parameter(ParameterFloat, "ApproveThreshold", cfg.gate.approve)
        self.pending = self.parameter(ParameterFloat, "PendingThreshold", cfg.gate.pending)
        self.report = PropertyFile("EvaluationReport", "evaluation", "evaluation.json")
        self.positive = cfg.project.positive_class  # a binary project's
        self.problem_type = (
            "MulticlassClassification" if self.positive is None else "BinaryClassification"
        )

    def parameter(self, kind: type[Parameter], name: str, default: Any) -> Any:
        """The pipeline parameter `name`, declared on first use."""
        if name not in self.parameters:
            self.parameters[name] = kind(name=name, default_value=default)
        return self.parameters[name]

    def _code(self, asset: str, script: str) -> str:
        """The S3 URI of a processing script; the SDK names the entry point after its basename."""
        uri = self.assets[asset]
        assert uri.endswith(f"/{script}"), f"asset {asset} is {uri}, expected a {script}"
        return uri

    def run_output(self, step: str, name: str) -> Join:
        """Where step `step` writes its output `name` in this execution."""
        return Join(
            on="/",
            values=[
                f"s3://{self.cfg.aws.bucket}/{self.project_prefix}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def output(self, step: str, name: str) -> ProcessingOutput:
        return ProcessingOutput(
            output_name=name,
            source=f"/opt/ml/processing/{name}",
            destination=self.run_output(step, name),
        )

    def preprocess(self) -> ProcessingStep:
        project, split = self.cfg.project, self.cfg.project.split
        # SKLearnProcessor is this with the SDK's own image, which it cannot name for 1.9-0.
        processor = ScriptProcessor(
            image_uri=sdk_image(self.cfg, "sklearn"),
            command=["python3"],
            role=self.cfg.aws.role_arn,
            # The SDK resolves the image from a literal type; the job then reads the parameter.
            instance_type=self.cfg.framework.processing_instance_type,
            instance_count=1,
            sagemaker_session=self.session,
        )
        processor.instance_type = self.processing_instance
        data = project.data
        # The scripts take one argument a list item (CreateProcessingJob caps each at 256).
        common = ["--classes", *project.classes]
        common += ["--validation", str(split.validation), "--seed", str(split.seed)]
        if data.kind == "tabular":
            arguments = ["--target", data.target]
            arguments += ["--numeric", *data.numeric] if data.numeric else []
            arguments += ["--categorical", *data.categorical] if data.categorical else []
            arguments += ["--test", str(split.test)]
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
        return ProcessingStep(
            name="Preprocess", step_args=args, retry_policies=self.retry("Processing")
        )

    def estimator(self) -> Framework:
        fw = self.cfg.framework
        extra: dict[str, Any] = {"model_dir": False} if fw.name == "tensorflow" else {}
        if fw.name not in ESTIMATORS:
            raise LookupError(
                f"tests/oracle/sdk_twin.py: ESTIMATORS has no entry for framework {fw.name!r} "
                "(kernel/frameworks.py); add the SageMaker SDK estimator class that runs it"
            )
        return ESTIMATORS[fw.name](
            entry_point=FRAMEWORKS[fw.name].training_script,
            source_dir=self.assets["training-sourcedir"],
            role=self.cfg.aws.role_arn,
            instance_count=1,
            instance_type=self.training_instance,
            image_uri=self.training_image,
            framework_version=fw.version,
            py_version=fw.image_python("training"),
            output_path=f"s3://{self.cfg.aws.bucket}/{self.models_prefix}",
            hyperparameters={
                **hyperparameters(fw.name, self.cfg.project.hyperparameters.model_dump()),
                "inference_handler": FRAMEWORKS[fw.name].inference_handler,
            },
            metric_definitions=METRIC_DEFINITIONS,
            enable_sagemaker_metrics=True,  # the SDK's default for TF and PyTorch, not XGBoost
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
        return TrainingStep(name="Train", step_args=args, retry_policies=self.retry("Training"))

    def tune(self, preprocess: ProcessingStep) -> TuningStep:
        tuning = self.cfg.training.tuning
        assert tuning is not None
        ranges: dict[str, Any] = {}
        # The config's ranges, else the framework table's tuning ranges (scaling Auto).
        rules = FRAMEWORKS[self.cfg.framework.name].hyperparameters
        search = {n: (r.min, r.max, r.scaling) for n, r in (tuning.ranges or {}).items()} or {
            n: (*rule.tune, "Auto") for n, rule in rules.items() if rule.tune is not None
        }
        for name, (low, high, scaling) in sorted(search.items()):  # we list ranges by name
            if HYPERPARAMETERS[name].integer:
                ranges[name] = IntegerParameter(int(low), int(high), scaling)
            else:
                ranges[name] = ContinuousParameter(low, high, scaling)
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
        return TuningStep(name="Tune", step_args=args, retry_policies=self.retry("Tuning"))

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
            arguments=["--positive_class", self.positive] if self.positive else None,
        )
        return ProcessingStep(
            name=name,
            step_args=args,
            property_files=[self.report],
            retry_policies=self.retry("Processing"),
        )

    def baseline(self, preprocess: ProcessingStep, file: str) -> Join:
        outputs = preprocess.properties.ProcessingOutputConfig.Outputs
        return Join(on="/", values=[outputs["baseline"].S3Output.S3Uri, file])

    def check_job(self) -> CheckJobConfig:
        return CheckJobConfig(
            role=self.cfg.aws.role_arn,
            instance_count=1,
            instance_type=self.cfg.monitoring.instance_type,
            sagemaker_session=self.session,
        )

    def data_quality(self, preprocess: ProcessingStep) -> QualityCheckStep:
        settings = self.cfg.monitoring.data_quality
        name = "DataQualityBaseline"
        return QualityCheckStep(
            name=name,
            quality_check_config=DataQualityCheckConfig(
                baseline_dataset=self.baseline(preprocess, "data-quality.csv"),
                dataset_format=DatasetFormat.csv(header=True),
                output_s3_uri=self.run_output(name, "quality_check_output"),
            ),
            check_job_config=self.check_job(),
            skip_check=self.parameter(
                ParameterBoolean, "SkipDataQualityCheck", settings.skip_check
            ),
            register_new_baseline=self.parameter(
                ParameterBoolean, "RegisterNewDataQualityBaseline", settings.register_new_baseline
            ),
            fail_on_violation=settings.fail_on_violation,
            model_package_group_name=self.cfg.project.model_package_group,
        )

    def retry(self, step_type: str) -> list[Any]:
        """The retry policies of config.pipeline.retry, written with the SDK's classes.

        AWS's "Retry Policy for Pipeline Steps": job errors apply to steps that run a job, and
        a tuning job retries its trials' internal errors itself.
        """
        retry, policies = self.cfg.pipeline.retry, []
        if retry.service.enabled:
            policies.append(
                StepRetryPolicy(
                    exception_types=[
                        StepExceptionTypeEnum.SERVICE_FAULT,
                        StepExceptionTypeEnum.THROTTLING,
                    ],
                    interval_seconds=retry.service.interval_seconds,
                    backoff_rate=retry.service.backoff_rate,
                    max_attempts=retry.service.max_attempts,
                )
            )
        if retry.job.enabled and step_type in ("Processing", "Training", "Tuning", "Transform"):
            errors = [SageMakerJobExceptionTypeEnum.CAPACITY_ERROR]
            errors.append(SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT)
            if step_type != "Tuning":
                errors.insert(0, SageMakerJobExceptionTypeEnum.INTERNAL_ERROR)
            policies.append(
                SageMakerJobStepRetryPolicy(
                    exception_types=errors,
                    interval_seconds=retry.job.interval_seconds,
                    backoff_rate=retry.job.backoff_rate,
                    max_attempts=retry.job.max_attempts,
                )
            )
        return policies

    def model_quality(self, suffix: str, model_uri: Any, preprocess: ProcessingStep) -> list[Any]:
        """CreateModel -> TransformTestSet -> ModelQualityBaseline for one candidate."""
        settings, instance = self.cfg.monitoring.model_quality, self.cfg.monitoring.instance_type
        model = ModelStep(
            name=f"CreateModel{suffix}",
            step_args=self.model(model_uri).create(instance_type=instance),
            retry_policies=self.retry("Model"),
        )
        transform_name = f"TransformTestSet{suffix}"
        transformer = Transformer(
            model_name=model.properties.ModelName,
            instance_count=1,
            instance_type=instance,
            accept=JSONLINES,
            assemble_with="Line",
            output_path=self.run_output(transform_name, "predictions"),
            sagemaker_session=self.session,
        )
        transform = TransformStep(
            name=transform_name,
            step_args=transformer.transform(
                data=self.baseline(preprocess, "test.jsonl"),
                content_type=JSONLINES,
                split_type="Line",
                join_source="Input",
                input_filter="$",
                output_filter="$",
            ),
            retry_policies=self.retry("Transform"),
        )
        name = f"ModelQualityBaseline{suffix}"
        check = QualityCheckStep(
            name=name,
            quality_check_config=ModelQualityCheckConfig(
                baseline_dataset=transform.properties.TransformOutput.S3OutputPath,
                dataset_format=DatasetFormat.json(lines=True),
                output_s3_uri=self.run_output(name, "quality_check_output"),
                problem_type=self.problem_type,
                inference_attribute=settings.inference_attribute,
                probability_attribute=settings.probability_attribute
                or f"SageMakerOutput.{PROBABILITY[self.positive is not None]}",
                ground_truth_attribute=settings.ground_truth_attribute,
                # binary: the SDK's own key, passed as AWS pairs it with the probability
                probability_threshold_attribute=(
                    settings.probability_threshold if self.positive else None
                ),
            ),
            check_job_config=self.check_job(),
            skip_check=self.parameter(
                ParameterBoolean, "SkipModelQualityCheck", settings.skip_check
            ),
            register_new_baseline=self.parameter(
                ParameterBoolean, "RegisterNewModelQualityBaseline", settings.register_new_baseline
            ),
            fail_on_violation=settings.fail_on_violation,
            model_package_group_name=self.cfg.project.model_package_group,
        )
        return [model, transform, check]

    def model(self, model_uri: Any) -> Model:
        return Model(
            image_uri=self.inference_image,
            model_data=model_uri,
            role=self.cfg.aws.role_arn,
            env={
                **FRAMEWORKS[self.cfg.framework.name].environment(),
                **({POSITIVE_CLASS_ENV: self.positive} if self.positive else {}),
            },
            sagemaker_session=self.session,
        )

    def register(
        self,
        name: str,
        status: str,
        candidate: _Candidate,
        data_quality: QualityCheckStep | None,
    ) -> RegisterModel:
        fw = self.cfg.framework
        outputs = candidate.evaluation.properties.ProcessingOutputConfig.Outputs
        report = Join(on="/", values=[outputs["evaluation"].S3Output.S3Uri, "evaluation.json"])
        metrics: dict[str, Any] = {"model_statistics": MetricsSource(JSON, report)}
        drift: dict[str, Any] = {}
        if data_quality is not None:
            dq = data_quality.properties
            metrics["model_data_statistics"] = MetricsSource(JSON, dq.CalculatedBaselineStatistics)
            metrics["model_data_constraints"] = MetricsSource(
                JSON, dq.CalculatedBaselineConstraints
            )
            drift["model_data_statistics"] = MetricsSource(
                JSON, dq.BaselineUsedForDriftCheckStatistics
            )
            drift["model_data_constraints"] = MetricsSource(
                JSON, dq.BaselineUsedForDriftCheckConstraints
            )
        if candidate.model_quality is not None:
            mq = candidate.model_quality.properties
            metrics["model_constraints"] = MetricsSource(JSON, mq.CalculatedBaselineConstraints)
            drift["model_statistics"] = MetricsSource(JSON, mq.BaselineUsedForDriftCheckStatistics)
            drift["model_constraints"] = MetricsSource(
                JSON, mq.BaselineUsedForDriftCheckConstraints
            )
        return RegisterModel(
            name=name,
            model=self.model(candidate.model_uri),
            content_types=CONTENT_TYPES,
            response_types=CONTENT_TYPES,
            inference_instances=[fw.inference_instance_type],
            transform_instances=[fw.inference_instance_type],
            model_package_group_name=self.cfg.project.model_package_group,
            approval_status=status,
            model_metrics=ModelMetrics(**metrics),
            drift_check_baselines=DriftCheckBaselines(**drift) if drift else None,
            register_model_step_retry_policies=self.retry("RegisterModel"),
        )

    def deploy(self, name: str, registered: RegisterModel) -> LambdaStep:
        deployment = self.cfg.deployment
        event = {
            "model_package_arn": registered.properties.ModelPackageArn,
            "endpoint_name": deployment.endpoint_name,
            "role_arn": self.cfg.aws.role_arn,
            "instance_type": deployment.instance_type,
            "instance_count": deployment.instance_count,
            "data_capture_percentage": self.parameter(
                ParameterInteger, "DataCapturePercentage", deployment.data_capture_percentage
            ),
            "data_capture_destination": self.parameter(
                ParameterString, "DataCaptureUri", deployment.data_capture_uri
            ),
        }
        return self.lambda_step(
            name, deployment.deploy_function_arn, event, "endpoint_name", registered
        )

    def lambda_step(
        self, name: str, function_arn: str, event: dict[str, Any], output: str, after: Any
    ) -> LambdaStep:
        """A Lambda step whose handler reports statusCode and error instead of raising."""
        outputs = [LambdaOutput(output, LambdaOutputTypeEnum.String)]
        outputs += [LambdaOutput(name, kind) for name, kind in STATUS_OUTPUTS]
        return LambdaStep(
            name=name,
            lambda_func=Lambda(function_arn=function_arn, session=self.session),
            inputs=event,
            outputs=outputs,
            depends_on=[after],
        )

    def succeeded(self, steps: list[LambdaStep], name: str, then: list[Any]) -> ConditionStep:
        """Go on with `then` when every Lambda step answered 200, else fail with their errors."""
        errors: list[Any] = []
        for step in steps:
            errors += [f"{step.name}:", step.properties.Outputs["error"]]
        return ConditionStep(
            name=f"{name}Succeeded",
            conditions=[
                ConditionEquals(left=step.properties.Outputs["statusCode"], right=200)
                for step in steps
            ],
            if_steps=then,
            else_steps=[FailStep(name=f"{name}Failed", error_message=Join(on=" ", values=errors))],
        )

    def schedules(
        self,
        suffix: str,
        deploy: LambdaStep,
        data_quality: QualityCheckStep | None,
        model_quality: QualityCheckStep | None,
    ) -> list[LambdaStep]:
        monitoring, deployment = self.cfg.monitoring, self.cfg.deployment
        steps = []
        for kind, check, settings in (
            ("data_quality", data_quality, monitoring.data_quality),
            ("model_quality", model_quality, monitoring.model_quality),
        ):
            if check is None or not settings.schedule.enabled:
                continue
            dashed = kind.replace("_", "-")
            event: dict[str, Any] = {
                "monitor_type": kind,
                "endpoint_name": deploy.properties.Outputs["endpoint_name"],
                "schedule_name": f"{deployment.endpoint_name}-{dashed}",
                "role_arn": self.cfg.aws.role_arn,
                "cron": settings.schedule.cron,
                "instance_type": settings.schedule.instance_type,
                "instance_count": 1,
                "max_runtime_seconds": settings.schedule.max_runtime_seconds,
                "baseline_statistics_uri": check.properties.BaselineUsedForDriftCheckStatistics,
                "baseline_constraints_uri": check.properties.BaselineUsedForDriftCheckConstraints,
                "output_uri": f"s3://{self.cfg.aws.bucket}/{self.project_prefix}/monitoring/"
                f"{dashed}",
                "image_uri": sdk_image(self.cfg, "model-monitor"),
            }
            data = self.cfg.project.data
            if kind == "data_quality":  # the preprocessor keeps the project's own features
                event["record_preprocessor_uri"] = self._code(
                    "record-preprocessor",
                    "capture.py",  # jobkit/capture.py, one file
                )
                if data.kind == "image":
                    event["pixel_features"] = True
                else:
                    event |= {"numeric_features": list(data.numeric)} if data.numeric else {}
                    event |= (
                        {"categorical_features": list(data.categorical)} if data.categorical else {}
                    )
            if kind == "model_quality":
                event |= {
                    "ground_truth_uri": monitoring.model_quality.schedule.ground_truth_uri,
                    "problem_type": self.problem_type,
                    "inference_attribute": "0.label",
                    "probability_attribute": f"0.{PROBABILITY[self.positive is not None]}",
                }
                if self.positive:
                    event["positive_label"] = self.positive
                    event["probability_threshold_attribute"] = (
                        monitoring.model_quality.probability_threshold
                    )
            name = f"Schedule{kind.title().replace('_', '')}Monitor{suffix}"
            steps.append(
                self.lambda_step(
                    name, deployment.schedule_function_arn, event, "schedule_name", deploy
                )
            )
        return steps

    def metric(self, evaluation: ProcessingStep) -> JsonGet:
        return JsonGet(
            step_name=evaluation.name, property_file=self.report, json_path=self.cfg.gate.metric
        )

    def gate(
        self, label: str, candidate: _Candidate, data_quality: QualityCheckStep | None
    ) -> ConditionStep:
        metric = self.metric(candidate.evaluation)
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
                    f"RegisterPending{label}", "PendingManualApproval", candidate, data_quality
                )
            ],
            else_steps=[FailStep(name=f"Reject{label}", error_message=message)],
        )
        approved = self.register(f"RegisterApproved{label}", "Approved", candidate, data_quality)
        approve_branch: list[Any] = [approved]
        if self.cfg.deployment.enabled:
            deploy = self.deploy(f"Deploy{label}", approved)
            schedules = self.schedules(label, deploy, data_quality, candidate.model_quality)
            after_deploy: list[Any] = list(schedules)
            if schedules:
                after_deploy.append(self.succeeded(schedules, f"Monitoring{label}", []))
            approve_branch += [deploy, self.succeeded([deploy], f"Deploy{label}", after_deploy)]
        return ConditionStep(
            name=f"CheckApprove{label}",
            conditions=[ConditionGreaterThanOrEqualTo(left=metric, right=self.approve)],
            if_steps=approve_branch,
            else_steps=[pending],
        )

    def pipeline(self) -> Pipeline:
        training, monitoring = self.cfg.training, self.cfg.monitoring
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
        data_quality = None
        if monitoring.data_quality.enabled:
            data_quality = self.data_quality(preprocess)
            steps.append(data_quality)
        candidates = []
        for label, uri in models:
            suffix = "" if len(models) == 1 else label
            evaluation = self.evaluate(f"Evaluate{suffix}", uri, preprocess)
            steps.append(evaluation)
            model_quality = None
            if monitoring.model_quality.enabled:
                quality_steps = self.model_quality(suffix, uri, preprocess)
                steps += quality_steps
                model_quality = quality_steps[-1]
            candidates.append(_Candidate(label, uri, evaluation, model_quality))
        if len(candidates) == 1:
            steps.append(self.gate("", candidates[0], data_quality))
        else:
            first, second = candidates
            steps.append(
                ConditionStep(
                    name="SelectBestModel",
                    conditions=[
                        ConditionGreaterThanOrEqualTo(
                            left=self.metric(first.evaluation), right=self.metric(second.evaluation)
                        )
                    ],
                    if_steps=[self.gate(first.label, first, data_quality)],
                    else_steps=[self.gate(second.label, second, data_quality)],
                )
            )
        return Pipeline(
            name=self.cfg.project.pipeline_name,
            parameters=[self.parameters[name] for name in sorted(self.parameters)],
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
