"""Settings of the evaluate step: the report it writes and the contract conditions read."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from compiler.base import Settings

REPORT_SCHEMA = Path(__file__).with_name("report.schema.json")


class Report(Settings):
    """Where the evaluation report lands and what the pipeline calls it."""

    output: str = "evaluation"
    file: str = "evaluation.json"
    property_file: str = "EvaluationReport"


@cache
def report_contract() -> dict[str, Any]:
    """JSON schema of evaluation.json; every JSON path a condition reads must exist in it."""
    contract: dict[str, Any] = json.loads(REPORT_SCHEMA.read_text())
    return contract
