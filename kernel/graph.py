"""Graph checks: every reference resolves, every JSON path is in its contract, no cycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.errors import CompileError, Problem
from kernel.ir import (
    STEP_NAME,
    STEP_PROPERTIES,
    JsonGet,
    ParameterRef,
    Pipeline,
    Step,
    StepRef,
    references,
)


def check_pipeline(pipeline: Pipeline) -> list[str]:
    """Check names, references and cycles; return the steps in a deterministic run order.

    Raises:
        CompileError: a duplicate or invalid name, a reference to a missing step, property,
            parameter or property file, a JSON path missing from the file's contract, or a cycle.
    """
    problems: list[Problem] = []
    steps = {}
    for step in pipeline.all_steps():
        if step.name in steps:
            problems.append(
                _graph_problem(
                    f"two steps are named '{step.name}'",
                    "SageMaker needs unique step names",
                    "rename one of them",
                )
            )
        if not STEP_NAME.match(step.name):
            problems.append(
                _graph_problem(
                    f"step name '{step.name}'",
                    "step names match [A-Za-z0-9-_]{1,64}",
                    "shorten it or drop other characters",
                )
            )
        steps[step.name] = step
    parameters = {p.name for p in pipeline.parameters}
    for p in pipeline.parameters:
        if not STEP_NAME.match(p.name):
            problems.append(
                _graph_problem(
                    f"parameter name '{p.name}'",
                    "parameter names match [A-Za-z0-9-_]{1,64}",
                    "shorten it or drop other characters",
                )
            )
    edges: dict[str, set[str]] = {name: set(s.depends_on) for name, s in steps.items()}
    for step in steps.values():
        for ref in references((step.arguments, step.extra)):
            problem = _check_reference(step, ref, steps, parameters)
            if problem:
                problems.append(problem)
            elif not isinstance(ref, ParameterRef):
                edges[step.name].add(ref.step)
        for dep in step.depends_on:
            if dep not in steps:
                problems.append(
                    _graph_problem(
                        f"step '{step.name}' depends on '{dep}'",
                        "there is no step of that name",
                        "depend on an existing step",
                    )
                )
    if problems:
        raise CompileError(problems)
    return _order(pipeline, edges)


def _check_reference(
    step: Step, ref: StepRef | JsonGet | ParameterRef, steps: dict[str, Step], parameters: set[str]
) -> Problem | None:
    if isinstance(ref, ParameterRef):
        if ref.name not in parameters:
            return _graph_problem(
                f"step '{step.name}' reads Parameters.{ref.name}",
                "no such pipeline parameter",
                "declare the parameter",
            )
        return None
    target = steps.get(ref.step)
    if target is None:
        return _graph_problem(
            f"step '{step.name}' reads from step '{ref.step}'",
            "there is no step of that name",
            "reference an existing step",
        )
    if ref.step == step.name:
        return _graph_problem(
            f"step '{step.name}' reads its own properties",
            "a step's properties exist only after it ran",
            "remove the reference",
        )
    if isinstance(ref, JsonGet):
        files = {f.name: f for f in target.property_files}
        if ref.property_file not in files:
            return _graph_problem(
                f"step '{step.name}' reads property file '{ref.property_file}' of '{ref.step}'",
                f"'{ref.step}' declares {sorted(files) or 'no property files'}",
                "read a declared property file",
            )
        # Conditions compare numbers (the schema checks gate paths); a message may join text.
        why = json_path_problem(files[ref.property_file].contract, ref.path, SCALARS)
        if why:
            return _graph_problem(
                f"step '{step.name}' reads '{ref.path}' from {ref.property_file}",
                why,
                f"use a path the contract of {ref.property_file} declares",
            )
        return None
    pattern = STEP_PROPERTIES.get(target.type)
    match = pattern.fullmatch(ref.path) if pattern else None
    if match:
        output = match.groupdict().get("output")
        if output is not None and output not in target.outputs:
            return _graph_problem(
                f"step '{step.name}' reads output '{output}' of '{ref.step}'",
                f"'{ref.step}' has outputs {list(target.outputs)}",
                "read an existing output",
            )
        return None
    return _graph_problem(
        f"step '{step.name}' reads Steps.{ref.step}.{ref.path}",
        f"a {target.type} step has no such property",
        "reference a property of that step type",
    )


SCALARS = ("number", "integer", "string", "boolean")


def json_path_problem(
    schema: Mapping[str, Any], path: str, types: tuple[str, ...] = ("number", "integer")
) -> str | None:
    """Why a dotted JSON path is not guaranteed by a JSON schema, or None when it is.

    A condition that reads a path the report may lack fails only at run time, after training,
    so the path must be required all the way down and end at a number.
    """
    node: Mapping[str, Any] = schema
    walked: list[str] = []
    for part in path.split("."):
        props = node.get("properties", {})
        if part not in props:
            known = sorted(props)
            at = ".".join(walked) or "the top level"
            return f"the contract has no '{part}' under {at} (it has {known})"
        if part not in node.get("required", []):
            return f"'{'.'.join([*walked, part])}' is optional in the report contract"
        node = props[part]
        walked.append(part)
    if node.get("type") not in types:
        if types == ("number", "integer"):
            return f"'{path}' is not a number in the contract, so it cannot be compared"
        return f"'{path}' is not {' or '.join(types)} in the contract"
    return None


def _order(pipeline: Pipeline, edges: dict[str, set[str]]) -> list[str]:
    """Topological order; ties keep declaration order, so the result never varies."""
    declared = [s.name for s in pipeline.all_steps()]
    done: list[str] = []
    remaining = list(declared)
    while remaining:
        ready = [n for n in remaining if edges[n] <= set(done)]
        if not ready:
            raise CompileError(
                [
                    _graph_problem(
                        "cycle: " + _cycle(edges, remaining),
                        "a step cannot wait for itself",
                        "remove one of the references in the loop",
                    )
                ]
            )
        done.append(ready[0])
        remaining.remove(ready[0])
    return done


def _cycle(edges: dict[str, set[str]], remaining: list[str]) -> str:
    start = remaining[0]
    path = [start]
    while True:
        nxt = sorted(e for e in edges[path[-1]] if e in remaining)[0]
        if nxt in path:
            loop = [*path[path.index(nxt) :], nxt]
            return " -> ".join(loop)
        path.append(nxt)


def _graph_problem(what: str, why: str, fix: str) -> Problem:
    return Problem(
        where="pipeline graph (built from the selected configs)", what=what, why=why, fix=fix
    )
