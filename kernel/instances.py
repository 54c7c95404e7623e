"""The instance types SageMaker accepts per job kind, from a table committed beside this file.

The table is botocore's SageMaker API model's enums, copied so that compiling never loads the
(large) service model; `python -m kernel.instances --refresh` rewrites it and a test checks that
it still equals the installed botocore's.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Literal

from kernel.errors import did_you_mean

TABLE = Path(__file__).with_name("instance_types.json")
InstanceKind = Literal["Training", "Processing", "ProductionVariant", "Transform"]
KINDS: tuple[InstanceKind, ...] = ("Training", "Processing", "ProductionVariant", "Transform")
USE = {
    "Training": "training",
    "Processing": "processing",
    "ProductionVariant": "endpoint",
    "Transform": "batch transform",
}


@cache
def instance_types(kind: InstanceKind) -> tuple[str, ...]:
    table: dict[str, list[str]] = json.loads(TABLE.read_text())
    return tuple(table[kind])


def instance_problem(value: str, kind: InstanceKind) -> str | None:
    """Why `value` is not an instance type of this kind (ending in '; fix: ...'), or None."""
    known = instance_types(kind)
    if value in known:
        return None
    return (
        f"'{value}' is not a SageMaker {USE[kind]} instance type; "
        f"fix: use e.g. 'ml.m5.xlarge'{did_you_mean(value, known)}"
    )


def botocore_table() -> dict[str, list[str]]:
    """The same enums, read from the installed botocore (slow: loads the service model)."""
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return {kind: list(model["shapes"][f"{kind}InstanceType"]["enum"]) for kind in KINDS}


if __name__ == "__main__":  # pragma: no cover - developer tool
    if sys.argv[1:] != ["--refresh"]:
        sys.exit("usage: python -m kernel.instances --refresh")
    TABLE.write_text(json.dumps(botocore_table(), indent=2) + "\n")
    print(f"wrote {TABLE}")
