"""Data- and model-quality analysis in SageMaker Model Monitor's formats, without Model Monitor.

Does what the `sagemaker-model-monitor-analyzer` container does for a QualityCheck step or a
monitoring job: reads a dataset (JSON lines, JSON or CSV), writes `statistics.json` and
`constraints.json` (the suggested baseline) and, when a baseline is given, checks the dataset
against it and writes `constraint_violations.json`. It reads the container's environment
variables (`dataset_format`, `dataset_source`, `output_path`, `analysis_type`, ...); each can also
be given as the argument `--<name>`, which wins. See README.md beside this file.

Runs in the scikit-learn processing container (1.9-0: Python 3.12; 3.9 syntax kept for 1.2-1) and on
the local engine, uploaded as a folder: this entry script with the modules it imports beside it
(standard library and numpy only): reading (datasets), captured (data capture, with
jobkit/capture.py), data_quality, model_quality and report (the files written). Exit status: 0 when
the files are written (violations or not), 2 on bad input (one paragraph on stderr, nothing
written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

from components.quality_check.scripts.captured import CapturedRecords, merged_records
from components.quality_check.scripts.data_quality import (
    check_data_quality,
    data_quality,
    domain_features,
)
from components.quality_check.scripts.errors import InputError, Record
from components.quality_check.scripts.model_quality import check_model_quality, model_quality
from components.quality_check.scripts.reading import Dataset, dataset_files, parse_format
from components.quality_check.scripts.report import (
    cloudwatch_records,
    read_baseline,
    render,
    write_atomically,
)

DATA_QUALITY = "DATA_QUALITY"
MODEL_QUALITY = "MODEL_QUALITY"
DEFAULT_METRICS_DIR = "/opt/ml/output/metrics/cloudwatch"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"bad argument: {message}\n  fix: see `analyzer.py --help`")


SETTINGS = {
    "dataset_format": 'how to read dataset_source: {"json": {"lines": true}} (default), '
    '{"json": {"lines": false}} or {"csv": {"header": true|false}}',
    "dataset_source": "the dataset: a file, or a folder read recursively (required)",
    "output_path": "folder the report files are written to (required)",
    "analysis_type": "DATA_QUALITY (default) or MODEL_QUALITY",
    "problem_type": "MODEL_QUALITY: BinaryClassification, MulticlassClassification or Regression",
    "inference_attribute": "MODEL_QUALITY: path of the prediction in a record, e.g. "
    "SageMakerOutput.label (a CSV column name)",
    "probability_attribute": "MODEL_QUALITY binary: path of the positive class's probability",
    "probability_threshold_attribute": "MODEL_QUALITY binary: probability at or above which a "
    "record is predicted positive; when given it decides over inference_attribute (default 0.5, "
    "used when inference_attribute is not set)",
    "ground_truth_attribute": "MODEL_QUALITY: path of the true label in a record",
    "positive_label": "MODEL_QUALITY binary: the label that counts as positive (1); without it "
    "labels must be 0/1 or true/false (an extension: Model Monitor has no such setting)",
    "ground_truth_source": "MODEL_QUALITY over sagemakerCaptureJson: the ground-truth files (a "
    "file or folder) to join on the inference id (an extension; Model Monitor merges in a job "
    "of its own)",
    "record_preprocessor_script": "sagemakerCaptureJson: a Python file whose "
    "preprocess_handler(inference_record[, logger]) turns a captured event into a record (a "
    "dict), several (a list) or none ([])",
    "baseline_statistics": "check: the baseline's statistics.json (drift check)",
    "baseline_constraints": "check: the baseline's constraints.json; giving it asks for a check",
    "publish_cloudwatch_metrics": "Enabled or Disabled (default): write CloudWatch metric "
    "records to cloudwatch_metrics_directory",
    "cloudwatch_metrics_directory": f"where metric records go (default {DEFAULT_METRICS_DIR})",
    "sagemaker_endpoint_name": "dimension Endpoint of the metric records",
    "sagemaker_monitoring_schedule_name": "dimension MonitoringSchedule of the metric records",
    "end_time": "timestamp of the metric records (ISO 8601; default: now)",
}


def parse_settings(argv: Sequence[str] | None) -> dict[str, str | None]:
    """Arguments over environment variables of the same names."""
    parser = _Parser(description=__doc__.split("\n\n")[0])
    for name, help_text in SETTINGS.items():
        parser.add_argument(f"--{name}", default=os.environ.get(name), help=help_text)
    # Accepted and ignored: the local engine gives every processing script its root this way;
    # the analyzer's paths are dataset_source and output_path.
    parser.add_argument("--base_dir", help=argparse.SUPPRESS)
    settings: dict[str, str | None] = vars(parser.parse_args(argv))
    del settings["base_dir"]
    for name, value in settings.items():
        if value is not None and not value.strip():
            settings[name] = None
    for name in ("dataset_source", "output_path"):
        if settings[name] is None:
            raise InputError(
                f"setting {name} is missing\n  why: the analyzer needs {SETTINGS[name]}\n"
                f"  fix: set the environment variable {name} or pass --{name}"
            )
    return settings


def analyze(settings: dict[str, str | None]) -> list[dict[str, str]]:
    """Run the analysis the settings ask for, write its files; returns the violations."""
    analysis = (settings["analysis_type"] or DATA_QUALITY).upper()
    if analysis not in (DATA_QUALITY, MODEL_QUALITY):
        raise InputError(
            f"setting analysis_type={settings['analysis_type']!r}\n"
            f"  fix: use DATA_QUALITY or MODEL_QUALITY"
        )
    kind, option = parse_format(settings["dataset_format"])
    assert settings["dataset_source"] is not None and settings["output_path"] is not None
    files = dataset_files(Path(settings["dataset_source"]))
    dataset = Dataset(files, kind, option)  # read as it is analysed, never held whole
    if next(iter(dataset), None) is None:
        raise dataset.empty()
    records: Iterable[Record] = dataset
    captured = None
    if kind == "capture" and analysis == MODEL_QUALITY:
        records = merged_records(dataset, settings)
        settings = {
            **settings,
            "inference_attribute": "prediction" if settings["inference_attribute"] else None,
            "probability_attribute": "probability" if settings["probability_attribute"] else None,
            "ground_truth_attribute": "ground_truth",
        }
    elif kind == "capture":
        records = captured = CapturedRecords(dataset, settings["record_preprocessor_script"])
        if next(iter(captured), None) is None:
            raise InputError(
                f"dataset {settings['dataset_source']}: no record left after preprocessing\n"
                f"  why: statistics need at least one record\n"
                f"  fix: capture some traffic, or check what preprocess_handler returns"
            )
    elif settings["record_preprocessor_script"]:
        raise InputError(
            "setting record_preprocessor_script is given for a dataset that is not data capture\n"
            '  fix: use it with dataset_format {"sagemakerCaptureJson": {...}}, or drop it'
        )
    baseline_constraints = read_baseline(settings["baseline_constraints"], "baseline_constraints")
    baseline_statistics = read_baseline(settings["baseline_statistics"], "baseline_statistics")
    distances: dict[str, float] = {}
    violations: list[dict[str, str]] | None = None
    if analysis == DATA_QUALITY:
        columns, statistics, constraints = data_quality(
            records, texts_for=domain_features(baseline_constraints)
        )
        if captured is not None:
            captured.report()
        if baseline_constraints is not None:
            if not isinstance(baseline_constraints.get("features"), list):
                raise InputError(
                    f"setting baseline_constraints={settings['baseline_constraints']}: "
                    f"no features list\n"
                    f"  why: a data-quality check needs a data-quality constraints.json\n"
                    f"  fix: give the DATA_QUALITY baseline's constraints.json"
                )
            try:
                violations, distances = check_data_quality(
                    columns, statistics, baseline_constraints, baseline_statistics
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InputError(
                    f"settings baseline_statistics={settings['baseline_statistics']} and "
                    f"baseline_constraints={settings['baseline_constraints']}: not in Model "
                    f"Monitor's format ({type(exc).__name__}: {exc})\n"
                    f"  fix: give the statistics.json and constraints.json of a DATA_QUALITY "
                    f"baseline job"
                ) from None
    else:
        statistics, constraints = model_quality(records, settings)
        if baseline_constraints is not None:
            violations = check_model_quality(
                statistics, baseline_constraints, str(settings["baseline_constraints"])
            )
    output = Path(str(settings["output_path"]))
    files_out = {
        output / "statistics.json": render(statistics),
        output / "constraints.json": render(constraints),
    }
    if violations is not None:
        files_out[output / "constraint_violations.json"] = render({"violations": violations})
    if (settings["publish_cloudwatch_metrics"] or "Disabled") == "Enabled":
        directory = Path(settings["cloudwatch_metrics_directory"] or DEFAULT_METRICS_DIR)
        lines = "".join(
            json.dumps(r) + "\n" for r in cloudwatch_records(statistics, distances, settings)
        )
        files_out[directory / "cloudwatch_metrics.jsonl"] = lines
    write_atomically(files_out)
    count = statistics["dataset"]["item_count"]
    print(
        f"analyzer: {analysis} of {count} records from {len(files)} file(s) -> "
        f"{', '.join(sorted(p.name for p in files_out))} in {output}"
    )
    for violation in violations or []:
        subject = violation.get("feature_name") or violation.get("metric_name")
        check = violation["constraint_check_type"]
        print(f"violation: {subject}: {check}: {violation['description']}")
    return violations or []


def main(argv: Sequence[str] | None = None) -> int:
    try:
        analyze(parse_settings(argv))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
