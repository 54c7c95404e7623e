"""What the model's serving code promises: the record each prediction joins (record.schema.json),
the content types the model package lists, and how its container learns the positive class."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

RECORD_SCHEMA = Path(__file__).with_name("record.schema.json")
CONTENT_TYPES = ("application/json", "application/jsonlines")
RESPONSE_TYPES = ("application/json", "application/jsonlines")
# The serving container's variable naming a binary model's positive class (serving.py reads it);
# set on the CreateModel and RegisterModel containers, so batch transform and the deployed
# endpoint (created from the package) answer with that class's probability.
POSITIVE_CLASS_ENV = "INFERENCE_POSITIVE_CLASS"
PROBABILITY = "probability"  # the response field with the positive class's probability
CONFIDENCE = "confidence"  # the response field with the predicted class's probability


def serving_environment(framework: dict[str, str], positive_class: str | None) -> dict[str, str]:
    """The serving container's environment: the framework's, plus a binary model's positive
    class."""
    return framework | ({} if positive_class is None else {POSITIVE_CLASS_ENV: positive_class})


def probability_field(binary: bool) -> str:
    """The response field model quality reads as the probability of its problem type."""
    return PROBABILITY if binary else CONFIDENCE


@cache
def record_contract(binary: bool = False) -> dict[str, Any]:
    """JSON schema of a joined record; a binary model's records always carry `probability`."""
    contract: dict[str, Any] = json.loads(RECORD_SCHEMA.read_text())
    if not binary:
        return contract
    with_probability = copy.deepcopy(contract)
    with_probability["properties"]["SageMakerOutput"]["required"].append(PROBABILITY)
    return with_probability
