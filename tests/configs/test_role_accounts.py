"""Every role and function ARN is in the account of aws.role_arn, and bundle/PUBLISH.md's first
step sets every such key (the message itself: cases/role_in_another_account.txt)."""

from __future__ import annotations

import re
from pathlib import Path

from compiler.load import load_config
from compiler.rules import arn_settings
from compiler.validate import validate_config

PUBLISH_MD = Path(__file__).resolve().parents[2] / "bundle" / "PUBLISH.md"


def first_step_overrides() -> list[str]:
    """The overrides of PUBLISH.md's step 1 command (`# 1. ...` up to the blank line)."""
    text = PUBLISH_MD.read_text()
    block = text.split("\n# 1.", 1)[1].split("\n\n", 1)[0]
    command = re.sub(r"\\\n", " ", "\n".join(line for line in block.splitlines()[1:]))
    command = "\n".join(line for line in command.splitlines() if not line.startswith("#"))
    words = command.split()
    assert words[:3] == [".venv/bin/python", "-m", "compiler"], words
    return words[3:]


def test_the_default_config_keeps_every_arn_in_one_account() -> None:
    keys = {".".join(loc) for loc, _ in arn_settings(validate_config(load_config([])))}
    assert {
        "aws.role_arn",
        "pipeline.schedule.role_arn",
        "monitoring.scheduler_role_arn",
        "deployment.lambda_role_arn",
        "deployment.deploy_function_arn",
        "deployment.schedule_function_arn",
    } <= keys


def test_publish_md_first_step_sets_every_account_specific_key() -> None:
    """Compiling with its overrides (another account than the placeholders') passes the rule:
    no ARN is left in the placeholder account; and it names no key that is not an ARN setting."""
    overrides = first_step_overrides()
    config = validate_config(load_config(overrides))  # a CompileError on an ARN left elsewhere
    arn_keys = {".".join(loc) for loc, _ in arn_settings(config)}
    named = {o.split("=", 1)[0] for o in overrides if o.split("=", 1)[0].endswith("_arn")}
    assert named <= arn_keys
    assert {arn.split(":")[4] for _, arn in arn_settings(config)} == {"123456789012"}
