"""The inference output contract that the model-quality baseline reads (record.schema.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

RECORD_SCHEMA = Path(__file__).with_name("record.schema.json")


@cache
def record_contract() -> dict[str, Any]:
    contract: dict[str, Any] = json.loads(RECORD_SCHEMA.read_text())
    return contract
