"""The evaluation report the gates read: where it lands, and the schema its paths obey."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

SCRIPT = "components/evaluate/scripts/evaluate.py"
OUTPUT = "evaluation"
FILE = "evaluation.json"
PROPERTY_FILE = "EvaluationReport"
REPORT_SCHEMA = Path(__file__).with_name("report.schema.json")
PER_CLASS = ("precision", "recall", "f1", "support")  # the metrics with a value per class
BINARY = ("roc_auc", "pr_auc")  # the metrics of a binary report, of its positive class


@cache
def report_schema() -> dict[str, Any]:
    """JSON schema of every evaluation.json, whatever the project (what the script writes)."""
    schema: dict[str, Any] = json.loads(REPORT_SCHEMA.read_text())
    return schema


@cache
def report_contract(
    classes: tuple[str, ...] = (), positive_class: str | None = None
) -> dict[str, Any]:
    """The schema of one project's evaluation.json; every path a condition reads must be in it.

    Each class of `classes` is a required per-class key; with a positive class the binary
    metrics are required too. Without classes it is the general schema.
    """
    contract = copy.deepcopy(report_schema())
    metrics = contract["properties"]["metrics"]
    for name in PER_CLASS if classes else ():
        per_class = metrics["properties"][name]["properties"]["per_class"]
        per_class["properties"] = dict.fromkeys(classes, per_class["additionalProperties"])
        per_class["required"] = list(classes)
    if positive_class is not None:
        metrics["required"] += list(BINARY)
    return contract
