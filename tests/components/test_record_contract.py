"""The model-quality attribute paths are checked against record.schema.json; this keeps that
schema honest: what the real handler answers to a jsonlines request validates against it."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import jsonschema
import numpy as np

from components.model.contract import record_contract
from tests.components.runner import REPO
from tests.components.runner import load_serving as load_package

SCRIPTS = REPO / "components/model/scripts"


def load_serving() -> ModuleType:
    return load_package("serving_for_contract")


def test_joined_transform_records_follow_the_contract(penguins_processed: Path) -> None:
    serving = load_serving()
    artifacts = serving.load_artifacts(penguins_processed / "artifacts")
    lines = (penguins_processed / "baseline/test.jsonl").read_text().splitlines()[:5]

    def predict(features: np.ndarray) -> np.ndarray:
        probabilities = np.full((len(features), 3), 0.1)
        probabilities[:, 1] = 0.8
        return probabilities

    validator = jsonschema.Draft202012Validator(record_contract())
    for line in lines:  # a batch transform sends one line a request (SplitType=Line)
        status, body, content_type = serving.invoke(
            predict, artifacts, line, "application/jsonlines", "application/jsonlines"
        )
        assert (status, content_type) == (200, "application/jsonlines")
        joined = {**json.loads(line), "SageMakerOutput": json.loads(body)}  # JoinSource=Input
        assert list(validator.iter_errors(joined)) == []
        assert joined["SageMakerOutput"]["label"] == "Chinstrap"
