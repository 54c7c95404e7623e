"""The evaluation report the gates read: where it lands, and the schema its paths obey."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCRIPT = "components/evaluate/scripts/evaluate.py"
OUTPUT = "evaluation"
FILE = "evaluation.json"
PROPERTY_FILE = "EvaluationReport"
REPORT_SCHEMA = Path(__file__).with_name("report.schema.json")


@cache
def report_contract() -> dict[str, Any]:
    """JSON schema of evaluation.json; every JSON path a condition reads must exist in it."""
    contract: dict[str, Any] = json.loads(REPORT_SCHEMA.read_text())
    return contract
