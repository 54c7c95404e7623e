"""Definitions shaped like the course's sessions 1 to 6, built offline with SDK 2.x calls.

"Machine Learning School"'s Penguins pipeline, rebuilt as a user's notebook builds it: local
scripts and source dirs (code/), the SDK's processors, estimators, tuner, models, property file,
conditions, step collections and Lambda step. The SDK uploads code while it builds a definition;
here those uploads land in a mocked S3 (moto, nothing leaves the machine), and `Built.map` says
which local file or folder stands for each uploaded URI, as a user's map would.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from sagemaker.clarify import BiasConfig, DataConfig
from sagemaker.inputs import TrainingInput
from sagemaker.lambda_helper import Lambda
from sagemaker.model_monitor import DatasetFormat
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.pytorch import PyTorch, PyTorchModel, PyTorchProcessor
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.transformer import Transformer
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner
from sagemaker.workflow.callback_step import (
    CallbackOutput,
    CallbackOutputTypeEnum,
    CallbackStep,
)
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.clarify_check_step import ClarifyCheckStep, DataBiasCheckConfig
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.workflow.emr_step import EMRStep, EMRStepConfig
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterFloat, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
from sagemaker.workflow.step_collections import RegisterModel
from sagemaker.workflow.steps import (
    CacheConfig,
    ProcessingStep,
    TrainingStep,
    TransformStep,
    TuningStep,
)

from tests.oracle.sdk_twin import pipeline_session

CODE = Path(__file__).resolve().parent / "code"
REGION = "us-east-1"
BUCKET = "mlschool"
PREFIX = "penguins"
ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerRole"
DATASET = f"s3://{BUCKET}/{PREFIX}/data/penguins.csv"
MODELS = f"s3://{BUCKET}/{PREFIX}/models"
GROUP = "penguins"
DEPLOY_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:deploy-penguins"
PYTORCH = {"framework_version": "2.1", "py_version": "py310"}
# What both registrations say of the model package (the RegisterModel step collection, and
# ModelStep with model.register()).
PACKAGE: dict[str, Any] = {
    "content_types": ["text/csv"],
    "response_types": ["application/json"],
    "inference_instances": ["ml.m5.large"],
    "transform_instances": ["ml.m5.large"],
    "model_package_group_name": GROUP,
    "approval_status": "Approved",
}
CACHE = CacheConfig(enable_caching=True, expire_after="PT1H")
SPLITS = ("train", "validation", "test", "baseline")
METRICS = [
    {"Name": "val_accuracy", "Regex": r"val_accuracy: ([0-9\.]+)"},
    {"Name": "val_loss", "Regex": r"val_loss: ([0-9\.]+)"},
]


@dataclass
class Built:
    """A definition as the SDK wrote it, and the local files that stand for what it uploaded."""

    name: str
    definition: dict[str, Any]
    map: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path, dataset: Path) -> Path:
        """pipeline.json and its map beside it (S3 URIs to local paths, the dataset included;
        the Lambda ARN to its handler), as a user would write them for `python -m engine run`."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pipeline.json").write_text(json.dumps(self.definition, indent=2))
        local = {
            "s3": {**self.map, DATASET: str(dataset)},
            "lambdas": {DEPLOY_ARN: f"{CODE / 'deploy' / 'deploy.py'}:lambda_handler"},
        }
        (folder / "map.json").write_text(json.dumps(local, indent=2))
        return folder / "pipeline.json"


class _Sdk:
    """One pipeline's SDK objects; the steps shared by several sessions."""

    def __init__(self, code: Path) -> None:
        self.code = code
        self.session = pipeline_session(REGION, BUCKET)
        self.dataset = ParameterString("dataset_location", default_value=DATASET)
        self.threshold = ParameterFloat("accuracy_threshold", default_value=0.7)
        self.report = PropertyFile("EvaluationReport", "evaluation", "evaluation.json")

    def preprocess(self) -> ProcessingStep:
        processor = SKLearnProcessor(
            framework_version="1.2-1",
            role=ROLE,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            sagemaker_session=self.session,
        )
        args = processor.run(
            code=str(self.code / "preprocess" / "preprocessor.py"),
            inputs=[ProcessingInput(source=self.dataset, destination="/opt/ml/processing/input")],
            outputs=[
                ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}")
                for name in SPLITS
            ],
        )
        return ProcessingStep("preprocess-data", step_args=args, cache_config=CACHE)

    def estimator(self) -> PyTorch:
        return PyTorch(
            entry_point="train.py",
            source_dir=str(self.code / "training"),
            role=ROLE,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            output_path=MODELS,
            hyperparameters={"epochs": 50},
            metric_definitions=METRICS,
            sagemaker_session=self.session,
            **PYTORCH,
        )

    def channels(self, preprocess: ProcessingStep) -> dict[str, TrainingInput]:
        outputs = preprocess.properties.ProcessingOutputConfig.Outputs
        return {
            name: TrainingInput(outputs[name].S3Output.S3Uri, content_type="text/csv")
            for name in ("train", "validation")
        }

    def framework_processor(self) -> PyTorchProcessor:
        return PyTorchProcessor(
            role=ROLE,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            sagemaker_session=self.session,
            **PYTORCH,
        )

    def check_job(self) -> CheckJobConfig:
        return CheckJobConfig(
            role=ROLE,
            instance_count=1,
            instance_type="ml.m5.xlarge",
            sagemaker_session=self.session,
        )

    def evaluate(self, name: str, preprocess: ProcessingStep, model_uri: Any) -> ProcessingStep:
        outputs = preprocess.properties.ProcessingOutputConfig.Outputs
        args = self.framework_processor().run(
            code="evaluation.py",
            source_dir=str(self.code / "evaluation"),
            inputs=[
                ProcessingInput(source=model_uri, destination="/opt/ml/processing/model"),
                ProcessingInput(
                    source=outputs["test"].S3Output.S3Uri, destination="/opt/ml/processing/test"
                ),
            ],
            outputs=[
                ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")
            ],
        )
        return ProcessingStep(name, step_args=args, property_files=[self.report])

    def accuracy(self, evaluation: ProcessingStep) -> JsonGet:
        return JsonGet(
            step_name=evaluation.name,
            property_file=self.report,
            json_path="metrics.accuracy.value",
        )

    def model(self, model_data: Any) -> PyTorchModel:
        return PyTorchModel(
            model_data=model_data,
            entry_point="inference.py",
            source_dir=str(self.code / "inference"),
            role=ROLE,
            sagemaker_session=self.session,
            **PYTORCH,
        )


def session1(code: Path) -> Pipeline:
    """Preprocess only: an SKLearnProcessor whose input parameter names one file."""
    sdk = _Sdk(code)
    return Pipeline(
        name="session1-pipeline",
        parameters=[sdk.dataset],
        steps=[sdk.preprocess()],
        sagemaker_session=sdk.session,
    )


def session3(code: Path) -> Pipeline:
    """Train, evaluate, then register (with an inference script: a repack) or fail."""
    sdk = _Sdk(code)
    preprocess = sdk.preprocess()
    train = TrainingStep(
        "train-model",
        step_args=sdk.estimator().fit(sdk.channels(preprocess)),
        cache_config=CACHE,
    )
    model_uri = train.properties.ModelArtifacts.S3ModelArtifacts
    evaluate = sdk.evaluate("evaluate-model", preprocess, model_uri)
    register = RegisterModel(
        name="register-model",
        estimator=sdk.estimator(),
        model_data=model_uri,
        entry_point="inference.py",
        source_dir=str(sdk.code / "inference"),
        **PACKAGE,
    )
    fail = FailStep(
        "fail",
        error_message=Join(on=" ", values=["accuracy below", sdk.threshold]),
    )
    condition = ConditionStep(
        "check-model-accuracy",
        conditions=[ConditionGreaterThanOrEqualTo(sdk.accuracy(evaluate), sdk.threshold)],
        if_steps=[register],
        else_steps=[fail],
    )
    return Pipeline(
        name="session3-pipeline",
        parameters=[sdk.dataset, sdk.threshold],
        steps=[preprocess, train, evaluate, condition],
        sagemaker_session=sdk.session,
    )


def session4to6(code: Path) -> Pipeline:
    """Tuning, the top two models evaluated, the best served (ModelStep with an inference script:
    a repack), registered, a batch transform and a data quality check, and a Lambda deploy."""
    sdk = _Sdk(code)
    preprocess = sdk.preprocess()
    tuner = HyperparameterTuner(
        sdk.estimator(),
        objective_metric_name="val_loss",
        hyperparameter_ranges={"learning_rate": ContinuousParameter(0.01, 1.0)},
        metric_definitions=METRICS,
        objective_type="Minimize",
        max_jobs=3,
        max_parallel_jobs=2,
    )
    tune = TuningStep("tune-model", step_args=tuner.fit(sdk.channels(preprocess)))
    top = [
        tune.get_top_model_s3_uri(top_k=k, s3_bucket=BUCKET, prefix=f"{PREFIX}/models")
        for k in (0, 1)
    ]
    evaluate = [sdk.evaluate(f"evaluate-top-{k}", preprocess, top[k]) for k in (0, 1)]
    model = sdk.model(top[0])
    create = ModelStep("create-model", step_args=model.create(instance_type="ml.m5.large"))
    register = ModelStep(
        "register-model",
        step_args=sdk.model(top[0]).register(
            **PACKAGE,
        ),
    )
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs
    transformer = Transformer(
        model_name=create.properties.ModelName,
        instance_type="ml.m5.large",
        instance_count=1,
        accept="application/json",
        assemble_with="Line",
        output_path=f"s3://{BUCKET}/{PREFIX}/transform",
        sagemaker_session=sdk.session,
    )
    transform = TransformStep(
        "transform",
        step_args=transformer.transform(
            data=Join(on="/", values=[outputs["test"].S3Output.S3Uri, "test.csv"]),
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
        ),
    )
    quality = QualityCheckStep(
        "data-quality-baseline",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=outputs["baseline"].S3Output.S3Uri,
            dataset_format=DatasetFormat.csv(header=True),
            output_s3_uri=f"s3://{BUCKET}/{PREFIX}/data-quality",
        ),
        check_job_config=sdk.check_job(),
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=GROUP,
    )
    deploy = LambdaStep(
        "deploy",
        lambda_func=Lambda(function_arn=DEPLOY_ARN, session=sdk.session),
        inputs={"model_name": create.properties.ModelName, "endpoint_name": "penguins"},
        outputs=[LambdaOutput("endpoint", LambdaOutputTypeEnum.String)],
        depends_on=[register],
    )
    condition = ConditionStep(
        "check-best-accuracy",
        conditions=[ConditionGreaterThanOrEqualTo(sdk.accuracy(evaluate[0]), sdk.threshold)],
        if_steps=[create, register, transform, deploy],
        else_steps=[FailStep("fail", error_message="the best model is not accurate enough")],
    )
    return Pipeline(
        name="session4to6-pipeline",
        parameters=[sdk.dataset, sdk.threshold],
        steps=[preprocess, quality, tune, *evaluate, condition],
        sagemaker_session=sdk.session,
    )


def unsatisfied(code: Path) -> Pipeline:
    """A FrameworkProcessor whose source dir's requirements.txt needs a package not installed."""
    sdk = _Sdk(code)
    args = sdk.framework_processor().run(code="report.py", source_dir=str(code / "unsatisfied"))
    return Pipeline(
        name="unsatisfied-pipeline",
        steps=[ProcessingStep("report", step_args=args)],
        sagemaker_session=sdk.session,
    )


def refused(code: Path) -> Pipeline:
    """Session 1 with steps of types the engine has no executor for (SageMaker would run
    them): a Clarify bias check, a callback to an SQS queue, an EMR step."""
    sdk = _Sdk(code)
    preprocess = sdk.preprocess()
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs
    clarify = ClarifyCheckStep(
        "data-bias",
        clarify_check_config=DataBiasCheckConfig(
            data_config=DataConfig(
                s3_data_input_path=outputs["train"].S3Output.S3Uri,
                s3_output_path=f"s3://{BUCKET}/{PREFIX}/bias",
                label=0,
                dataset_type="text/csv",
            ),
            data_bias_config=BiasConfig(label_values_or_threshold=[0], facet_name=1),
        ),
        check_job_config=sdk.check_job(),
        skip_check=True,
        register_new_baseline=True,
    )
    callback = CallbackStep(
        "approve-by-hand",
        sqs_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
        inputs={"data": outputs["train"].S3Output.S3Uri},
        outputs=[CallbackOutput("approved", CallbackOutputTypeEnum.Boolean)],
    )
    emr = EMRStep(
        "spark-features",
        display_name="spark-features",
        description="features on a cluster",
        cluster_id="j-1ABCDEFGHIJKL",
        step_config=EMRStepConfig(jar="command-runner.jar", args=["spark-submit", "job.py"]),
    )
    return Pipeline(
        name="refused-pipeline",
        parameters=[sdk.dataset],
        steps=[preprocess, clarify, callback, emr],
        sagemaker_session=sdk.session,
    )


SESSIONS: dict[str, Callable[[Path], Pipeline]] = {
    "session1": session1,
    "session3": session3,
    "session4to6": session4to6,
    "unsatisfied": unsatisfied,
    "refused": refused,
}


def build(session: str, folder: Path) -> Built:
    """The session's definition, built from a copy of the code under `folder` (the SDK writes
    its repack scripts into an inference source dir), the objects it uploaded written there."""
    code = folder / "code"
    if not code.is_dir():
        shutil.copytree(CODE, code, ignore=shutil.ignore_patterns("__pycache__"))
    with mock_aws(), warnings.catch_warnings():
        # The SDK's notices to a notebook user (no job starts in a PipelineSession; its own
        # RegisterModel builds a TrainingStep the deprecated way) are not the definition's.
        warnings.simplefilter("ignore")
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        pipeline = SESSIONS[session](code)
        definition = json.loads(pipeline.definition())
        built = Built(pipeline.name, definition)
        s3 = boto3.client("s3", region_name=REGION)
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            uri = f"s3://{BUCKET}/{item['Key']}"
            built.map[uri] = str(_local(s3, item["Key"], code, folder / "uploaded"))
    return built


def _local(s3: Any, key: str, code: Path, uploaded: Path) -> Path:
    """The local stand-in for an uploaded object, as a user's map names it: the code folder a
    source dir archive was packed from (the map packs it again, as the SDK does), the script
    uploaded as it is, else the uploaded bytes in a file."""
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if key.endswith("/sourcedir.tar.gz"):
        with tarfile.open(fileobj=io.BytesIO(body)) as archive:
            members = {m.name for m in archive.getmembers() if m.isfile()}
        for folder in sorted(code.iterdir()):
            if members == {p.relative_to(folder).as_posix() for p in _files(folder)}:
                return folder
    same = [p for p in _files(code) if p.read_bytes() == body]
    if same:  # a script the SDK uploaded as it is
        return same[0]
    path = uploaded / key  # what the SDK wrote itself (runproc.sh)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
