"""One executor per step type: a StepContext in, the step's properties out.

The table names modules, imported only when a step of that type runs, so a step type whose
executor is not installed fails its step with a clear message instead of breaking the engine.
"""

from __future__ import annotations

import importlib
from typing import cast

from engine.executors.base import Executor, StepFailed

MODULES = {
    # here: the job steps, conditions and Fail
    "Processing": "engine.executors.processing",
    "Training": "engine.executors.training",
    "Tuning": "engine.executors.tuning",
    "Condition": "engine.executors.condition",
    "Fail": "engine.executors.fail",
    # their own modules (the analyzer, the registry and the loopback endpoint)
    "QualityCheck": "engine.executors.quality_check",
    "Model": "engine.executors.model",
    "Transform": "engine.executors.transform",
    "RegisterModel": "engine.executors.register",
    "Lambda": "engine.executors.lambda_step",
}


def executor_for(step_name: str, step_type: str) -> Executor:
    """The `run` function of the step type's module.

    Raises:
        StepFailed: no executor for this step type (unknown type, or its module is not there).
    """
    module_name = MODULES.get(step_type)
    if module_name is None:
        raise StepFailed(
            f"step {step_name}: the local engine has no executor for step type {step_type!r} "
            f"(it runs {', '.join(sorted(MODULES))})"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise StepFailed(
            f"step {step_name}: no executor yet for step type {step_type} "
            f"({module_name} is not in this checkout)"
        ) from None
    return cast(Executor, module.run)
