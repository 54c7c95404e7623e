"""The definition check: what SageMaker refuses in a definition, and what it must mean to be run.

It reads the JSON itself, not the graph, so it holds for definitions written by hand or by the
SageMaker SDK too. The compiler runs it on what it emits (a finding there is a compiler bug), the
local engine before any step runs and publishing in its preflight (a finding there is bad input:
exit 2, nothing run or written). Every finding is a Problem whose `where` is a place inside the
definition ("step Train, Arguments.ResourceConfig.InstanceType"); callers add the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from kernel.check_steps import (
    GET_STEP,
    Placed,
    Scope,
    StepTypeRules,
    output_names,
)
from kernel.check_steps import RECOMPILE as RECOMPILE  # also the engine's fix
from kernel.emit import MAX_DEFINITION_CHARS
from kernel.errors import Problem, did_you_mean, one_of
from kernel.ir import STEP_NAME, STEP_PROPERTIES
from kernel.limits import OPERATIONS, json_type, limit_problems, shown
from kernel.names import PIPELINE_NAME as PIPELINE_NAME_PATTERN
from kernel.names import s3_uri_problem
from kernel.notation import placed_steps

FORMAT_VERSION = "2020-12-01"
PIPELINE_NAME = re.compile(PIPELINE_NAME_PATTERN)
PROPERTY_FILE = re.compile(r"PropertyFiles\.(?P<file>\w+)")  # what a JsonGet reads
EXECUTION = {
    "PipelineName",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "StartDateTime",
    "CurrentDateTime",
    "PipelineArn",
}
STEP_TYPES = (  # the SageMaker SDK's StepTypeEnum: every type a definition may hold
    "AutoML",
    "Callback",
    "ClarifyCheck",
    "Condition",
    "EMR",
    "Endpoint",
    "EndpointConfig",
    "Fail",
    "InferenceComponent",
    "Lambda",
    "Lineage",
    "Model",
    "Processing",
    "QualityCheck",
    "RegisterModel",
    "Training",
    "Transform",
    "Tuning",
)
PARAMETER_TYPES = {"String": (str,), "Integer": (int,), "Float": (int, float), "Boolean": (bool,)}
BRANCHES = ("IfSteps", "ElseSteps")
EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")
PLACEHOLDER = "placeholder"  # stands for a run-time value inside a Std:Join checked as a URI


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step, nested condition branches included, in definition order."""
    return (placed.step for placed in placed_steps(steps))


def check_definition(
    definition: dict[str, Any],
    pipeline_name: str,
    text: str,
    functions: Collection[str] | None = None,
) -> list[str]:
    """Every rule broken by one emitted definition, one line each (empty when it is sound)."""
    problems = []
    if len(text) > MAX_DEFINITION_CHARS:
        problems.append(
            f"definition has {len(text)} characters; CreatePipeline takes {MAX_DEFINITION_CHARS}"
        )
    if not PIPELINE_NAME.match(pipeline_name):
        problems.append(f"pipeline name {pipeline_name!r} breaks {PIPELINE_NAME.pattern}")
    problems += [
        f"{p.where}: {p.what}: {p.why}" for p in definition_problems(definition, functions)
    ]
    return problems


def definition_problems(definition: Any, functions: Collection[str] | None = None) -> list[Problem]:
    """Everything in a parsed pipeline.json that SageMaker would refuse, or that cannot mean one
    run: each with where (inside the definition), what, why and fix.

    `functions` are the ARNs of the bundle's Lambda functions (None: not checked).
    """
    if not isinstance(definition, dict):
        return [Problem("the definition", "is not a JSON object", "a definition is one", RECOMPILE)]
    return _Checker(definition, functions).problems


def placed_at(file: object, problems: list[Problem]) -> list[Problem]:
    """Each problem with its place prefixed by the file it is in."""
    return [Problem(f"{file}, {p.where}", p.what, p.why, p.fix) for p in problems]


def rendered_at(file: object, problems: list[Problem]) -> list[str]:
    """Each problem as where/what/why/fix, its place prefixed by the file it is in."""
    return [p.render() for p in placed_at(file, problems)]


class _Checker(StepTypeRules):
    """One pass over a definition, collecting Problems."""

    def __init__(self, definition: dict[str, Any], functions: Collection[str] | None) -> None:
        super().__init__(functions)
        self._version(definition.get("Version"))
        self.parameters = self._parameters(definition.get("Parameters", []))
        steps = definition.get("Steps")
        if not isinstance(steps, list):
            self.add("Steps", f"is {shown(steps)}", "a definition lists its steps", RECOMPILE)
            steps = []
        self.placed = list(self._placed(steps, ()))
        self.steps = {p.name: p for p in self.placed}
        self._names()
        for placed in self.placed:
            self._step(placed)

    # ----------------------------------------------------------------- the definition's parts

    def _version(self, version: Any) -> None:
        if version != FORMAT_VERSION:
            self.add(
                "Version",
                f"is {shown(version)}",
                f"SageMaker reads pipeline definition format {FORMAT_VERSION!r} only",
                f'set "Version": "{FORMAT_VERSION}"',
            )

    def _parameters(self, declared: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(declared, list):
            self.add("Parameters", f"is {shown(declared)}", "Parameters is a list")
            return {}
        found: dict[str, dict[str, Any]] = {}
        for index, parameter in enumerate(declared):
            name = parameter.get("Name") if isinstance(parameter, dict) else None
            where = f"Parameters[{index}]" + (f" ({name})" if isinstance(name, str) else "")
            if not isinstance(name, str) or not STEP_NAME.match(name):
                self.add(
                    where, f"Name {shown(name)}", f"a parameter name matches {STEP_NAME.pattern}"
                )
                continue
            if name in found:
                self.add(where, f"{name} is declared twice", "parameter names are unique")
            kind = parameter.get("Type", "String")
            if kind not in PARAMETER_TYPES:
                self.add(
                    where,
                    f"Type {shown(kind)}",
                    f"SageMaker's parameter types are {one_of(PARAMETER_TYPES)}",
                    f"use one of them{did_you_mean(str(kind), PARAMETER_TYPES)}",
                )
                continue
            default = parameter.get("DefaultValue")
            if default is not None and not _is_a(default, PARAMETER_TYPES[kind]):
                self.add(
                    where,
                    f"DefaultValue {shown(default)} is not of Type {kind}",
                    f"SageMaker refuses a {kind} parameter whose default is a {json_type(default)}",
                    f"give a {kind} default (e.g. {_EXAMPLES[kind]}), or change the Type",
                )
            elif isinstance(default, str) and default.startswith("s3://"):
                self._s3_uri(where, "DefaultValue", default)
            found[name] = parameter
        return found

    def _placed(self, steps: Any, scope: Scope) -> Iterator[Placed]:
        if not isinstance(steps, list):
            where = f"step {scope[-1][0]}, Arguments.{scope[-1][1]}" if scope else "Steps"
            self.add(where, f"is {shown(steps)}", "a branch is a list of steps")
            return
        for index, step in enumerate(steps):
            if not (
                isinstance(step, dict)
                and isinstance(step.get("Name"), str)
                and isinstance(step.get("Type"), str)
            ):
                place = f"{scope[-1][0]}.{scope[-1][1]}[{index}]" if scope else f"Steps[{index}]"
                self.add(place, f"is {shown(step)}", "every step has a string Name and Type")
                continue
            parent, branch = scope[-1] if scope else (None, None)
            yield Placed(step, parent, branch, scope)
            if step["Type"] == "Condition":
                arguments = step.get("Arguments")
                arguments = arguments if isinstance(arguments, dict) else {}
                for branch in BRANCHES:
                    yield from self._placed(
                        arguments.get(branch, []), (*scope, (step["Name"], branch))
                    )

    def _names(self) -> None:
        seen: set[str] = set()
        for placed in self.placed:
            if not STEP_NAME.match(placed.name):
                self.add(
                    f"step {placed.name!r}", "Name", f"a step name matches {STEP_NAME.pattern}"
                )
            if placed.name in seen:
                self.add(f"step {placed.name}", "is named twice", "step names are unique")
            seen.add(placed.name)

    # --------------------------------------------------------------------------- one step

    def _step(self, placed: Placed) -> None:
        step, where = placed.step, f"step {placed.name}"
        if placed.type not in STEP_TYPES:
            self.add(
                where,
                f"Type {placed.type!r}",
                "not a SageMaker step type",
                f"use one of {one_of(STEP_TYPES)}{did_you_mean(placed.type, STEP_TYPES)}",
            )
            return
        self._depends_on(placed)
        arguments = step.get("Arguments", {})
        if not isinstance(arguments, dict):
            self.add(where, f"Arguments is {shown(arguments)}", "a step's Arguments is an object")
            return
        own = {
            k: v for k, v in arguments.items() if k not in BRANCHES or placed.type != "Condition"
        }
        self._expressions(placed, "Arguments", own)
        for problem in limit_problems(placed.type, own, self.parameters):
            self.add(
                f"{where} ({placed.type})",
                f"Arguments.{problem}",
                f"SageMaker's {OPERATIONS[placed.type]} refuses it, so the step would fail when it "
                "starts",
            )
        if placed.type == "Condition":
            self._conditions(placed, own.get("Conditions"))
        elif placed.type == "Fail":
            self._fail_message(placed, own.get("ErrorMessage", ""))
        elif placed.type == "Lambda":
            self._lambda(placed)
        elif placed.type == "Tuning":
            self._tuning(where, arguments)
        if "PropertyFiles" in step:
            self._property_files(placed)

    def _depends_on(self, placed: Placed) -> None:
        depends = placed.step.get("DependsOn", [])
        where = f"step {placed.name}"
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            self.add(where, f"DependsOn is {shown(depends)}", "DependsOn is a list of step names")
            return
        for target in depends:
            if target == placed.name:
                self.add(
                    where,
                    f"DependsOn names the step itself ({target})",
                    "a step cannot wait for itself",
                )
            elif (
                self.steps.get(target, None) is not None and self.steps[target].type == "Condition"
            ):
                self.add(
                    where,
                    f"DependsOn names Condition step {target}",
                    "SageMaker refuses a dependency on a Condition step (aws/sagemaker-python-sdk"
                    "#3565); a Condition has no outcome to wait for beyond its branches",
                    "depend on the steps the Condition reads, or move this step into a branch",
                )
            else:
                self._reachable(placed, target, "DependsOn names")

    def _reachable(self, placed: Placed, target: str, how: str) -> None:
        """A step may wait for or read only a step that has run on every path that reaches it:
        a step at its own level or an enclosing one, never one inside another branch."""
        other = self.steps.get(target)
        where = f"step {placed.name}"
        if other is None:
            self.add(
                where,
                f"{how} step {target!r}, which is not in the definition"
                + did_you_mean(target, self.steps),
                "SageMaker refuses a definition that names steps it does not hold",
                "correct the step name (" + RECOMPILE + ")",
            )
            return
        if placed.scope[: len(other.scope)] != other.scope:
            self.add(
                where,
                f"{how} step {target}, inside {_scope_text(other.scope)}",
                f"{placed.name} is {_scope_text(placed.scope) or 'at the top level'}, "
                f"so {target} may not have run when it starts: SageMaker refuses references "
                "across condition branches (and a step waiting for a branch not taken never "
                "starts)",
                f"move {placed.name} into the branch that holds {target}, or read what it needs "
                "from a step both paths run",
            )

    # --------------------------------------------------------------------------- expressions

    def _expressions(self, placed: Placed, path: str, value: Any) -> None:
        """Every expression's shape and reference, every literal S3 URI, under `value`."""
        where = f"step {placed.name}"
        if isinstance(value, list):
            for index, item in enumerate(value):
                self._expressions(placed, f"{path}[{index}]", item)
            return
        if isinstance(value, str):
            if value.startswith("s3://"):
                self._s3_uri(where, path, value)
            return
        if not isinstance(value, dict):
            return
        functions = [k for k in value if k in EXPRESSIONS]
        if not functions:
            for key, item in value.items():
                self._expressions(placed, f"{path}.{key}", item)
            return
        if len(value) != 1:
            self.add(
                where,
                f"{path} mixes {functions[0]} with other keys ({', '.join(sorted(value))})",
                "an expression is an object with exactly one key",
            )
            return
        ((function, body),) = value.items()
        if function == "Get":
            self._get(placed, path, body, in_json_get=False)
        elif function == "Std:Join":
            self._join(placed, path, body)
        else:
            self._json_get(placed, path, body)

    def _get(self, placed: Placed, path: str, ref: Any, *, in_json_get: bool) -> None:
        where = f"step {placed.name}"
        if not isinstance(ref, str):
            self.add(where, f"{path}.Get is {shown(ref)}", "a Get holds a reference as text")
            return
        problem = self._reference(placed, ref)
        if problem:
            self.add(
                where,
                f"{path}: Get {ref}",
                problem,
                "name an existing step, property, "
                "parameter or execution variable (" + RECOMPILE + ")",
            )
            return
        match = GET_STEP.match(ref)
        if match and PROPERTY_FILE.fullmatch(match["path"]) and not in_json_get:
            self.add(
                where,
                f"{path}: Get {ref} is a property file",
                "a property file is a JSON document, not a value: only Std:JsonGet reads it",
                f'use {{"Std:JsonGet": {{"PropertyFile": {{"Get": "{ref}"}}, "Path": "..."}}}}',
            )
        elif in_json_get and not (match and PROPERTY_FILE.fullmatch(match["path"])):
            self.add(
                where,
                f"{path}.PropertyFile: Get {ref}",
                "Std:JsonGet reads a property file (Steps.<step>.PropertyFiles.<name>)",
            )

    def _reference(self, placed: Placed, ref: str) -> str | None:
        """Why `ref` names nothing this step may read, or None."""
        if ref.startswith("Parameters."):
            name = ref.removeprefix("Parameters.")
            return (
                None
                if name in self.parameters
                else (f"no such parameter{did_you_mean(name, self.parameters)}")
            )
        if ref.startswith("Execution."):
            name = ref.removeprefix("Execution.")
            return (
                None if name in EXECUTION else f"no such execution variable ({one_of(EXECUTION)})"
            )
        match = GET_STEP.match(ref)
        if not match:
            return "not a Steps, Parameters or Execution reference"
        target = self.steps.get(match["step"])
        if target is None:
            return f"no step named {match['step']!r}{did_you_mean(match['step'], self.steps)}"
        if target.name == placed.name:
            return "a step cannot read its own properties"
        self._reachable(placed, target.name, "a Get reads")
        if target.type == "Processing" and (prop := PROPERTY_FILE.fullmatch(match["path"])):
            files = [
                f.get("PropertyFileName")
                for f in target.step.get("PropertyFiles", [])
                if isinstance(f, dict)
            ]
            return (
                None if prop["file"] in files else f"{target.name} declares property files {files}"
            )
        pattern = STEP_PROPERTIES.get(target.type)
        prop = pattern.fullmatch(match["path"]) if pattern else None
        if prop is None:
            return f"{target.type} steps have no such property"
        output = prop.groupdict().get("output")
        if output is not None:
            outputs = output_names(target.step)
            if output not in outputs:
                return f"{target.name} has outputs {outputs}"
        return None

    def _join(self, placed: Placed, path: str, body: Any) -> None:
        where = f"step {placed.name}"
        values = body.get("Values") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or set(body) - {"On", "Values"}
            or not isinstance(body.get("On", ""), str)
            or not isinstance(values, list)
            or not values
        ):
            self.add(
                where,
                f"{path}: Std:Join {shown(body)}",
                'Std:Join is {"On": text, "Values": [one or more values]}',
            )
            return
        for index, item in enumerate(values):
            if isinstance(item, dict) and len(item) == 1 and set(item) <= set(EXPRESSIONS):
                self._expressions(placed, f"{path}.Std:Join.Values[{index}]", item)
            elif not isinstance(item, str | int | float) or isinstance(item, dict | list):
                self.add(
                    where,
                    f"{path}.Std:Join.Values[{index}] is {shown(item)}",
                    "Std:Join joins texts, numbers, booleans and expressions",
                )
        joined = str(body.get("On", "")).join(
            PLACEHOLDER if isinstance(v, dict) else _text(v) for v in values
        )
        if joined.startswith("s3://"):
            self._s3_uri(where, path, joined, joined=True)

    def _json_get(self, placed: Placed, path: str, body: Any) -> None:
        where = f"step {placed.name}"
        if (
            not isinstance(body, dict)
            or set(body) != {"PropertyFile", "Path"}
            or not isinstance(body["Path"], str)
            or not body["Path"]
            or not isinstance(body["PropertyFile"], dict)
            or set(body["PropertyFile"]) != {"Get"}
        ):
            self.add(
                where,
                f"{path}: Std:JsonGet {shown(body)}",
                'Std:JsonGet is {"PropertyFile": {"Get": "Steps.<step>.PropertyFiles.<name>"}, '
                '"Path": "a.b.c"}',
            )
            return
        self._get(placed, f"{path}.Std:JsonGet", body["PropertyFile"]["Get"], in_json_get=True)

    def _s3_uri(self, where: str, path: str, uri: str, *, joined: bool = False) -> None:
        problem = s3_uri_problem(uri)
        if problem:
            shown = f"joins to {uri!r}" if joined else repr(uri)
            self.add(
                where,
                f"{path} = {shown}",
                problem,
                "use s3://<bucket>/<key> with a valid bucket name and no '.' or '..' path segments",
            )


_EXAMPLES = {"String": '"text"', "Integer": "3", "Float": "0.8", "Boolean": "true"}


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scope_text(scope: Scope) -> str:
    """Where a step is nested, e.g. "CheckApprove's IfSteps > DeploySucceeded's ElseSteps"."""
    return " > ".join(f"{step}'s {branch}" for step, branch in scope)
