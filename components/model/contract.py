"""What the model's serving code promises: the record each prediction joins (record.schema.json),
and the content types the model package lists."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

RECORD_SCHEMA = Path(__file__).with_name("record.schema.json")
SCRIPTS = "components/model/scripts"  # copied into every model.tar.gz by the training script
CONTENT_TYPES = ("application/json", "application/jsonlines")
RESPONSE_TYPES = ("application/json", "application/jsonlines")


@cache
def record_contract() -> dict[str, Any]:
    contract: dict[str, Any] = json.loads(RECORD_SCHEMA.read_text())
    return contract
