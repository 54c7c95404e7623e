"""The definition check's rules of particular step types: Condition, Fail, Lambda, Tuning and
property files (kernel/check.py runs them from its pass over every step).

`StepTypeRules` is the part of that pass: it holds the findings, and reads the parameters, the
steps and the bundle's functions that the pass collects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from kernel.errors import Problem, did_you_mean, one_of
from kernel.limits import shown
from kernel.names import LAMBDA_ARN
from kernel.notation import PlacedStep

Scope = tuple[tuple[str, str], ...]  # the (Condition step, branch) pairs a step is nested in
GET_STEP = re.compile(r"^Steps\.(?P<step>[^.\[]+)\.(?P<path>.+)$")
OUTPUT_TYPES = ("String", "Integer", "Float", "Boolean")
COMPARISONS = ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")
CONDITIONS = (*COMPARISONS, "In", "Not", "Or")
RECOMPILE = "recompile the bundle (`python -m compiler ...`) instead of editing pipeline.json"
_OPERANDS = {"String": "string", "Integer": "number", "Float": "number", "Boolean": "boolean"}


@dataclass(frozen=True)
class Placed(PlacedStep):
    """A step with every branch it is nested in (not only the innermost)."""

    scope: Scope = ()


class StepTypeRules:
    """The rules of particular step types, and the findings of the whole pass."""

    functions: Collection[str] | None
    parameters: dict[str, dict[str, Any]]
    steps: dict[str, Placed]

    def __init__(self, functions: Collection[str] | None) -> None:
        self.functions = functions
        self.problems: list[Problem] = []

    def add(self, where: str, what: str, why: str, fix: str = RECOMPILE) -> None:
        self.problems.append(Problem(where, what, why, fix))

    def _conditions(
        self, placed: Placed, conditions: Any, path: str = "Arguments.Conditions"
    ) -> None:
        where = f"step {placed.name}"
        if not isinstance(conditions, list) or not conditions:
            self.add(
                where,
                f"{path} is {shown(conditions)}",
                "a Condition step decides on one or more conditions; with none it has nothing to "
                "decide on (the local engine said True and ran the if-branch ungated)",
                "give the conditions the branch depends on",
            )
            return
        for index, condition in enumerate(conditions):
            self._condition(placed, f"{path}[{index}]", condition)

    def _condition(self, placed: Placed, path: str, condition: Any) -> None:
        where = f"step {placed.name}"
        kind = condition.get("Type") if isinstance(condition, dict) else None
        if kind not in CONDITIONS:
            self.add(
                where,
                f"{path}.Type {shown(kind)}",
                f"SageMaker's condition types are {one_of(CONDITIONS)}",
                f"use one of them{did_you_mean(str(kind), CONDITIONS)}",
            )
            return
        assert isinstance(condition, dict)
        needs = {
            "In": ("QueryValue", "Values"),
            "Not": ("Condition",),
            "Or": ("Conditions",),
        }.get(kind, ("LeftValue", "RightValue"))
        missing = [key for key in needs if key not in condition]
        if missing:
            self.add(
                where,
                f"{path} ({kind}) has no {' and no '.join(missing)}",
                f"{kind} needs {', '.join(needs)}",
            )
            return
        if kind == "Not":
            self._condition(placed, f"{path}.Condition", condition["Condition"])
        elif kind == "Or":
            self._conditions(placed, condition["Conditions"], f"{path}.Conditions")
        elif kind == "In":
            values = condition["Values"]
            if not isinstance(values, list) or not values:
                self.add(where, f"{path}.Values is {shown(values)}", "In needs a list of values")
                return
            for index, value in enumerate(values):
                self._comparable(placed, f"{path}", kind, condition["QueryValue"], value, index)
        else:
            self._comparable(placed, path, kind, condition["LeftValue"], condition["RightValue"])

    def _comparable(
        self, placed: Placed, path: str, kind: str, left: Any, right: Any, index: int | None = None
    ) -> None:
        kinds = [self._operand(value) for value in (left, right)]
        if None in kinds:
            return  # a JsonGet or a step property: known only at run time (the engine checks)
        if kinds[0] != kinds[1] or (kind in COMPARISONS[1:] and kinds[0] == "boolean"):
            pair = f"a {kinds[0]} with a {kinds[1]}" if kinds[0] != kinds[1] else "booleans"
            self.add(
                f"step {placed.name}",
                f"{path} ({kind}) compares {pair}"
                + (f" (Values[{index}])" if index is not None else ""),
                "SageMaker does not document how it compares these (the local engine found "
                "Equals silently False while GreaterThanOrEqualTo failed the step), so the "
                "outcome cannot be known before it runs",
                "compare values of one type: numbers with numbers, texts with texts",
            )

    def _operand(self, value: Any) -> str | None:
        """The type a condition operand has at run time: boolean, number or string (None:
        known only at run time)."""
        if literal_type(value) is not None:
            return literal_type(value)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((function, body),) = value.items()
        if function == "Std:Join":
            return "string"
        if function != "Get" or not isinstance(body, str):
            return None
        if body.startswith("Execution."):
            return "string"
        if body.startswith("Parameters."):
            declared = self.parameters.get(body.removeprefix("Parameters."), {})
            return _OPERANDS.get(str(declared.get("Type", "String")))
        match = GET_STEP.match(body)
        output = re.fullmatch(r"OutputParameters\['(\w+)'\]", match["path"]) if match else None
        target = self.steps.get(match["step"]) if match else None
        if output and target and target.type == "Lambda":
            for declared in target.step.get("OutputParameters", []):
                if isinstance(declared, dict) and declared.get("OutputName") == output[1]:
                    return _OPERANDS.get(str(declared.get("OutputType", "String")))
        return None

    def _fail_message(self, placed: Placed, message: Any) -> None:
        if isinstance(message, str) or self._operand(message) == "string":
            return
        if isinstance(message, dict) and set(message) <= {"Get", "Std:JsonGet"}:
            return  # a parameter, property or report value: rendered as text at run time
        self.add(
            f"step {placed.name}",
            f"Arguments.ErrorMessage is {shown(message)}",
            "a Fail step's ErrorMessage is text: a string, a Std:Join, or a Get of a value",
            "write the message as text, or join its parts with Std:Join",
        )

    def _lambda(self, placed: Placed) -> None:
        step, where = placed.step, f"step {placed.name}"
        arn = step.get("FunctionArn")
        if not isinstance(arn, str) or not re.match(LAMBDA_ARN, arn):
            self.add(where, f"FunctionArn {shown(arn)}", "not a Lambda function ARN")
        elif self.functions is not None and arn not in self.functions:
            self.add(
                where,
                f"FunctionArn {arn}",
                "not one of the bundle's Lambda functions (assets.json `functions`: "
                f"{', '.join(sorted(self.functions)) or 'none'}), so publishing would not create "
                "it and the local engine has no code to run for it",
                "call one of the bundle's functions (" + RECOMPILE + ")",
            )
        outputs = step.get("OutputParameters", [])
        if not isinstance(outputs, list):
            self.add(where, f"OutputParameters is {shown(outputs)}", "OutputParameters is a list")
            return
        for index, output in enumerate(outputs):
            if (
                not isinstance(output, dict)
                or not isinstance(output.get("OutputName"), str)
                or output.get("OutputType", "String") not in OUTPUT_TYPES
            ):
                self.add(
                    where,
                    f"OutputParameters[{index}] is {shown(output)}",
                    f"an output has an OutputName and an OutputType among {one_of(OUTPUT_TYPES)}",
                )

    def _property_files(self, placed: Placed) -> None:
        where = f"step {placed.name}"
        files = placed.step["PropertyFiles"]
        outputs = output_names(placed.step) if placed.type == "Processing" else []
        if placed.type != "Processing" or not isinstance(files, list):
            self.add(
                where, "PropertyFiles", "only a Processing step declares a list of property files"
            )
            return
        for index, spec in enumerate(files):
            if not isinstance(spec, dict) or not all(
                isinstance(spec.get(k), str) and spec.get(k)
                for k in ("PropertyFileName", "OutputName", "FilePath")
            ):
                self.add(
                    where,
                    f"PropertyFiles[{index}] is {shown(spec)}",
                    "a property file has a PropertyFileName, an OutputName and a FilePath",
                )
            elif spec["OutputName"] not in outputs:
                self.add(
                    where,
                    f"PropertyFiles[{index}].OutputName {spec['OutputName']!r}",
                    f"the step's outputs are {outputs}",
                )
            elif ".." in spec["FilePath"].split("/") or spec["FilePath"].startswith("/"):
                self.add(
                    where,
                    f"PropertyFiles[{index}].FilePath {spec['FilePath']!r}",
                    "a property file lies inside its output",
                )

    def _tuning(self, where: str, arguments: dict[str, Any]) -> None:
        config = arguments.get("HyperParameterTuningJobConfig")
        ranges = config.get("ParameterRanges") if isinstance(config, dict) else None
        if not isinstance(ranges, dict):
            return  # the API check names a missing or mistyped config
        names: list[str] = []
        for kind, parse in (("ContinuousParameterRanges", float), ("IntegerParameterRanges", int)):
            for index, spec in enumerate(ranges.get(kind) or []):
                if isinstance(spec, dict):
                    names.append(str(spec.get("Name")))
                    self._range(where, f"{kind}[{index}]", spec, parse)
        for index, spec in enumerate(ranges.get("CategoricalParameterRanges") or []):
            if isinstance(spec, dict):
                names.append(str(spec.get("Name")))
                values = spec.get("Values")
                if isinstance(values, list) and len(set(map(str, values))) != len(values):
                    self.add(
                        where,
                        f"CategoricalParameterRanges[{index}].Values repeat a value",
                        "a tuning job's categorical values are distinct",
                    )
        static = (arguments.get("TrainingJobDefinition") or {}).get("StaticHyperParameters") or {}
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.add(
                where,
                f"hyperparameter {name} has two ranges",
                "a hyperparameter is tuned over one range",
            )
        for name in sorted(set(names) & set(static)):
            self.add(
                where,
                f"hyperparameter {name} is both tuned and static",
                "SageMaker refuses a hyperparameter in both ParameterRanges and "
                "StaticHyperParameters",
                f"drop {name} from one of them",
            )

    def _range(
        self, where: str, path: str, spec: dict[str, Any], parse: type[float] | type[int]
    ) -> None:
        text = {key: spec.get(key) for key in ("MinValue", "MaxValue")}
        values: dict[str, float] = {}
        kind = "integer" if parse is int else "number"
        for key, value in text.items():
            try:
                values[key] = parse(value) if isinstance(value, str) else math.nan
            except ValueError:
                values[key] = math.nan
            if not math.isfinite(values[key]):
                self.add(
                    where,
                    f"{path}.{key} is {shown(value)}",
                    f"a {path.split('[')[0]} bound is a finite {kind}, written as text",
                    f'write e.g. "{"3" if parse is int else "0.01"}"',
                )
                return
        low, high = values["MinValue"], values["MaxValue"]
        name = spec.get("Name")
        if low > high:
            self.add(
                where,
                f"{path} ({name}) has MinValue {text['MinValue']} above MaxValue "
                f"{text['MaxValue']}",
                "SageMaker refuses a range whose minimum exceeds its maximum (the local trials "
                "drew values outside both)",
                "swap the bounds",
            )
        scaling = spec.get("ScalingType", "Auto")
        if scaling == "Logarithmic" and low <= 0:
            self.add(
                where,
                f"{path} ({name}) is Logarithmic from {text['MinValue']}",
                "logarithmic scaling takes only ranges above 0",
                "raise MinValue above 0, or use Linear scaling",
            )
        if scaling == "ReverseLogarithmic" and (parse is int or low < 0 or high >= 1):
            self.add(
                where,
                f"{path} ({name}) is ReverseLogarithmic over "
                f"[{text['MinValue']}, {text['MaxValue']}]",
                "reverse logarithmic scaling takes only continuous ranges within 0 <= x < 1",
                "use Linear or Logarithmic scaling",
            )


def literal_type(value: Any) -> str | None:
    """A JSON scalar's type as a condition compares it: boolean, number or string (else None)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else None


def output_names(step: dict[str, Any]) -> list[str]:
    """Names a step's `output` properties may use: Processing outputs or Lambda outputs."""
    if step["Type"] == "Lambda":
        listed = step.get("OutputParameters", [])
        return [str(o.get("OutputName")) for o in listed if isinstance(o, dict)]
    config = (step.get("Arguments") or {}).get("ProcessingOutputConfig") or {}
    return [str(o.get("OutputName")) for o in config.get("Outputs", []) if isinstance(o, dict)]
