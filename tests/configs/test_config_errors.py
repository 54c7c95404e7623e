"""Bad configurations and overrides: each gets one where/what/why/fix message, matched in full.

A case file `cases/<error>.txt` holds `overrides: ...`, a `---` line, then the whole message.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest

from compiler.compile import compile_overrides
from compiler.load import CONF_DIR, LoadedConfig, group_options, load_config
from compiler.validate import validate_config
from kernel.errors import CompileError, one_of

CASES = sorted((Path(__file__).parent / "cases").glob("*.txt"))


def read_case(path: Path, conf_dir: Path = CONF_DIR) -> tuple[list[str], str]:
    """The overrides and the expected message; `{options:<group>}` stands for the group's
    options as the message lists them, so no case names the projects or options of today."""
    head, expected = path.read_text().split("\n---\n", 1)
    expected = re.sub(
        r"\{options:(\w+)\}", lambda m: one_of(group_options(m[1], conf_dir)), expected
    )
    return head.removeprefix("overrides: ").split(), expected.rstrip("\n")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_error_message(case: Path) -> None:
    overrides, expected = read_case(case)
    with pytest.raises(CompileError) as raised:
        compile_overrides(overrides)
    assert raised.value.render() == expected


def test_errors_from_a_config_file_name_the_file_and_what_selected_it() -> None:
    loaded = load_config(["project=digits"])
    data = copy.deepcopy(loaded.data)
    data["gate"]["pending"] = 0.9  # as if conf/gate/default.yaml said so
    data["project"]["hyperparameters"]["epoch"] = 3  # a typo in conf/project/digits.yaml
    with pytest.raises(CompileError) as raised:
        validate_config(LoadedConfig(data, loaded.choices, loaded.overrides))
    assert raised.value.render() == (
        "error: 2 problems in the pipeline configuration\n\n"
        "conf/project/digits.yaml (selected by project=digits)\n"
        "  unknown key 'project.hyperparameters.epoch'\n"
        "  why: project.hyperparameters has no key 'epoch'; its keys are 'batch_size', "
        "'epochs', 'eta', 'learning_rate', 'max_depth', 'min_child_weight', 'num_round', "
        "'subsample'\n"
        "  fix: remove it or use an existing key (did you mean 'epochs'?)\n\n"
        "conf/gate/default.yaml (selected by gate=default)\n"
        "  gate.pending = 0.9\n"
        "  why: pending (0.9) must be below approve (0.7), or no model would ever wait for "
        "manual approval\n"
        "  fix: lower gate.pending or raise gate.approve"
    )


MODEL_MONITOR_FIX = (
    "use 'hourly', 'daily', 'cron(0 * ? * * *)', 'cron(0 3 ? * * *)' or 'cron(0 */6 ? * * *)', "
    "or monitoring.backend=builtin (any EventBridge expression)"
)
SCHEDULER_FIX = (
    "use cron(minutes hours day-of-month month day-of-week year) with '?' in one of the two "
    "day fields, e.g. 'cron(0 6 ? * MON *)', or 'rate(1 day)'"
)


@pytest.mark.parametrize(
    ("backend", "cron", "accepted"),
    [
        ("model_monitor", "hourly", "cron(0 * ? * * *)"),
        ("model_monitor", "daily", "cron(0 0 ? * * *)"),
        ("model_monitor", "cron(0 */6 ? * * *)", "cron(0 */6 ? * * *)"),
        ("model_monitor", "cron(0 3 ? * * *)", "cron(0 3 ? * * *)"),
        ("model_monitor", "cron(*/5 * ? * * *)", None),
        ("model_monitor", "cron(0 0 1 * ? *)", None),
        ("model_monitor", "rate(1 hour)", None),
        ("builtin", "hourly", "cron(0 * ? * * *)"),
        ("builtin", "cron(*/5 * ? * * *)", "cron(*/5 * ? * * *)"),
        ("builtin", "cron(0 0 1 * ? *)", "cron(0 0 1 * ? *)"),
        ("builtin", "rate(1 hour)", "rate(1 hour)"),
        ("builtin", "cron(0 * * * * *)", None),
        ("builtin", "every hour", None),
    ],
    ids=[
        "mm-hourly",
        "mm-daily",
        "mm-every-6-hours",
        "mm-at-3",
        "mm-every-5-minutes",
        "mm-monthly",
        "mm-rate",
        "builtin-hourly",
        "builtin-every-5-minutes",
        "builtin-monthly",
        "builtin-rate",
        "builtin-no-question-mark",
        "builtin-prose",
    ],
)
def test_monitoring_schedule_forms(backend: str, cron: str, accepted: str | None) -> None:
    """Each backend takes what its service takes: Model Monitor a few forms, EventBridge more."""
    loaded = load_config([f"monitoring.backend={backend}"])
    data = copy.deepcopy(loaded.data)
    data["monitoring"]["data_quality"]["schedule"]["cron"] = cron
    if accepted is not None:
        config = validate_config(LoadedConfig(data, loaded.choices, loaded.overrides))
        assert config.monitoring.data_quality.schedule.cron == accepted
        return
    with pytest.raises(CompileError) as raised:
        validate_config(LoadedConfig(data, loaded.choices, loaded.overrides))
    if backend == "builtin":
        why = f"'{cron}' is not an EventBridge Scheduler expression"
        fix = SCHEDULER_FIX
    else:
        why = f"SageMaker monitoring schedules run at most hourly, on the hour; '{cron}' is not "
        why += "one of its forms"
        fix = MODEL_MONITOR_FIX
    assert raised.value.render() == (
        "error: 1 problem in the pipeline configuration\n\n"
        "conf/monitoring/default.yaml (selected by monitoring=default)\n"
        f"  monitoring.data_quality.schedule.cron = {cron!r}\n"
        f"  why: {why} (monitoring.backend={backend})\n"
        f"  fix: {fix}"
    )


def test_a_key_typo_in_a_project_file_reads_like_the_same_typo_given_as_an_override(
    tmp_path: Path,
) -> None:
    """The schema lists every key the model takes, not only the keys the file happens to set, so
    the misspelt key's right spelling is listed and suggested (it was missing from both)."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    project = conf / "project" / "penguins.yaml"
    project.write_text(project.read_text().replace("  numeric:", "  numerc:"))
    with pytest.raises(CompileError) as in_file:
        validate_config(load_config(["project=penguins"], conf_dir=conf))
    with pytest.raises(CompileError) as as_override:
        compile_overrides(["project=penguins", "project.data.numerc=[island]"])
    why = (
        "  why: project.data has no key 'numerc'; its keys are 'categorical', 'kind', 'numeric', "
        "'target'\n"
    )
    assert in_file.value.render() == (
        "error: 1 problem in the pipeline configuration\n\n"
        "conf/project/penguins.yaml (selected by project=penguins)\n"
        "  unknown key 'project.data.numerc'\n"
        f"{why}"
        "  fix: remove it or use an existing key (did you mean 'numeric'?)"
    )
    assert as_override.value.render() == (
        "error: 1 problem in the pipeline configuration\n\n"
        "command line override project.data.numerc=[island]\n"
        "  unknown key 'project.data.numerc'\n"
        f"{why}"
        "  fix: use an existing key (did you mean 'numeric'?); see `python -m compiler --cfg job` "
        "for every key"
    )
