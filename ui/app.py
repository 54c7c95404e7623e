"""The web application: pages over `ui.sources`, live updates as server-sent events.

Pages are Jinja2 templates with autoescape on, so names, logs and messages are shown as text.
Everything is looked up by id among what `Sources` lists; a request never names a path.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.executions import FINAL, Execution
from kernel.notation import all_steps, show
from ui.graph import picture
from ui.security import COOKIE, Guard
from ui.sources import Sources, duration

HERE = Path(__file__).parent
POLL_SECONDS = 0.3
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,  # records differ by step type: a missing key shows empty
)
TEMPLATES.filters["show"] = show
TEMPLATES.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True, default=str)
TEMPLATES.globals.update(duration=duration, picture=picture)


def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    guard: Guard = request.app.state.guard
    found = sources(request)
    html = TEMPLATES.get_template(name).render(token=guard.token, sources=found, **values)
    return HTMLResponse(html, status_code=status)


def not_found(request: Request, what: str) -> HTMLResponse:
    return page(request, "error.html", 404, message=f"{what} is not among those listed here")


def sources(request: Request) -> Sources:
    found: Sources = request.app.state.sources
    return found


# ---------------------------------------------------------------------------------- pages


async def index(request: Request) -> Response:
    found = sources(request)
    return page(
        request,
        "index.html",
        bundles=found.bundles(),
        pipelines=found.pipelines(),
        executions=found.all_executions()[:15],
    )


async def bundle_page(request: Request) -> Response:
    found = sources(request)
    bundle = found.bundle(request.path_params["bundle"])
    if bundle is None:
        return not_found(request, "this bundle")
    return page(
        request,
        "bundle.html",
        bundle=bundle,
        bundle_id=request.path_params["bundle"],
        steps=[(p, step_settings(p.step)) for p in all_steps(bundle.definition)],
        monitors=found.monitors(bundle),
        executions=found.executions(bundle.name),
    )


async def executions_page(request: Request) -> Response:
    found = sources(request)
    pipeline = request.path_params["pipeline"]
    if pipeline not in found.pipelines():
        return not_found(request, "this pipeline")
    return page(
        request,
        "executions.html",
        pipeline=pipeline,
        executions=found.executions(pipeline),
    )


async def execution_page(request: Request) -> Response:
    found = sources(request)
    execution = find_execution(request)
    if execution is None:
        return not_found(request, "this execution")
    definition = found.definition_of(execution)
    records = found.records(execution)
    types = {p.name: p.type for p in all_steps(definition)}
    return page(
        request,
        "execution.html",
        execution=execution,
        describe=execution.describe(),
        definition=definition,
        records=records,
        step_names=[*types, *(name for name in records if name not in types)],
        types=types,
        gate=found.gate(execution),
    )


async def execution_events(request: Request) -> Response:
    """Each change of the execution's steps, as one JSON event, until the execution ends."""
    execution = find_execution(request)
    if execution is None:
        return not_found(request, "this execution")
    found = sources(request)

    async def changes() -> AsyncIterator[str]:
        last = None
        while not await request.is_disconnected():
            state = execution_state(execution, found)
            if state != last:
                yield f"data: {json.dumps(state, sort_keys=True)}\n\n"
                last = state
            if state["status"] in FINAL:
                yield "event: end\ndata: {}\n\n"
                return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(changes(), media_type="text/event-stream", headers=NO_CACHE)


async def step_page(request: Request) -> Response:
    found = sources(request)
    execution = find_execution(request)
    if execution is None:
        return not_found(request, "this step")
    name = request.path_params["step"]
    record = found.records(execution).get(name)
    if record is None:  # a step of the definition that has not started (yet)
        steps = {p.name: p.type for p in all_steps(found.definition_of(execution))}
        if name not in steps:
            return not_found(request, "this step")
        record = {"StepName": name, "StepType": steps[name], "StepStatus": "NotStarted"}
    log = found.step_log(execution, record["StepName"])
    return page(
        request,
        "step.html",
        execution=execution,
        record=record,
        reports=found.reports(record),
        inputs=step_inputs(record.get("Properties") or {}),
        outputs=step_outputs(record.get("Properties") or {}),
        log_known=log is not None,
    )


async def step_log(request: Request) -> Response:
    """The step's log from the start, then what is appended, until the step has ended."""
    found = sources(request)
    execution = find_execution(request)
    step = request.path_params["step"]
    log = found.step_log(execution, step) if execution else None
    if execution is None or log is None:
        return not_found(request, "this step")

    async def tail() -> AsyncIterator[str]:
        offset = 0
        while not await request.is_disconnected():
            record = execution.record(step) or {}
            status = execution.describe().get("PipelineExecutionStatus")
            ended = record.get("StepStatus") in FINAL or status in FINAL
            chunk = read_from(log, offset)
            if chunk:
                offset += len(chunk)
                text = chunk.decode("utf-8", errors="replace")
                yield f"data: {json.dumps(text)}\n\n"
            elif ended:
                yield "event: end\ndata: {}\n\n"
                return
            else:
                await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(tail(), media_type="text/event-stream", headers=NO_CACHE)


async def compare_page(request: Request) -> Response:
    """Two executions side by side: parameters, gate values, steps; what differs marked."""
    found = sources(request)
    chosen = [request.query_params.get(side, "") for side in ("a", "b")]
    pair = [lookup_execution(found, text) for text in chosen]
    options = [f"{e.folder.parent.name}/{e.id}" for e in found.all_executions()]
    if None in pair:
        return page(request, "compare.html", options=options, chosen=chosen, rows=None)
    rows = comparison_rows(found, [e for e in pair if e is not None])
    return page(request, "compare.html", options=options, chosen=chosen, rows=rows)


async def models_page(request: Request) -> Response:
    found = sources(request)
    return page(request, "models.html", groups=found.packages())


async def set_model_status(request: Request) -> Response:
    """Approve or reject a listed model package (POST arn, status, token)."""
    guard: Guard = request.app.state.guard
    form = await small_form(request)
    if not guard.has_token(request, form.get("token")):
        return PlainTextResponse("refused: this request does not carry the token", 403)
    status = str(form.get("status", ""))
    if status not in ("Approved", "Rejected"):
        return PlainTextResponse("refused: status is Approved or Rejected", 400)
    if not sources(request).set_status(str(form.get("arn", "")), status):
        return PlainTextResponse("no such model package in this registry", 404)
    return RedirectResponse("/models", status_code=303)


async def monitoring_page(request: Request) -> Response:
    found = sources(request)
    return page(
        request,
        "monitoring.html",
        endpoints=found.endpoints(),
        schedules=found.schedules(),
    )


async def diff_page(request: Request) -> Response:
    """`bundle.diff A B` of two listed bundles, as text with changed lines marked."""
    found = sources(request)
    chosen = [request.query_params.get(side, "") for side in ("a", "b")]
    text = found.diff(chosen[0], chosen[1])
    return page(request, "diff.html", bundles=sorted(found.bundles()), chosen=chosen, text=text)


# ---------------------------------------------------------------------------------- helpers

NO_CACHE = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def small_form(request: Request, limit: int = 16 * 1024) -> dict[str, str]:
    """An HTML form's fields (application/x-www-form-urlencoded, as the page's forms post)."""
    body = await request.body()
    fields = parse_qs(body[:limit].decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def find_execution(request: Request) -> Execution | None:
    params = request.path_params
    return sources(request).execution(params["pipeline"], params["execution"])


def lookup_execution(found: Sources, text: str) -> Execution | None:
    """`pipeline/execution-id`, among the listed executions."""
    pipeline, _, execution_id = text.partition("/")
    return found.execution(pipeline, execution_id)


def read_from(path: Path, offset: int, limit: int = 256 * 1024) -> bytes:
    if not path.is_file():
        return b""
    with path.open("rb") as log:
        log.seek(offset)
        return log.read(limit)


def execution_state(execution: Execution, found: Sources) -> dict[str, Any]:
    describe = execution.describe()
    steps = {
        name: {
            "status": r["StepStatus"],
            "cached": "CacheHitResult" in r,
            "failure": r.get("FailureReason", ""),
        }
        for name, r in found.records(execution).items()
    }
    gate = [
        {"head": f"{d.step}: {d.outcome} → {d.branch}", "lines": [c.text for c in d.comparisons]}
        for d in found.gate(execution)
    ]
    return {
        "status": describe.get("PipelineExecutionStatus"),
        "failure": describe.get("FailureReason", ""),
        "steps": steps,
        "gate": gate,
    }


def step_settings(step: dict[str, Any]) -> dict[str, str]:
    """What a step runs on and how: instance type and count, cache, retries, DependsOn."""
    arguments = step.get("Arguments", {})
    found = {}
    for key in ("InstanceType", "InstanceCount"):
        value = first_key(arguments, key)
        if value is not None:
            found[key] = show(value)
    for key in ("CacheConfig", "RetryPolicies", "DependsOn"):
        if key in step:
            found[key] = show(step[key])
    return found


def step_inputs(properties: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, S3 URI) of what a job read: processing inputs, training channels."""
    found = [
        (str(i.get("InputName")), str(i.get("S3Input", {}).get("S3Uri", "")))
        for i in properties.get("ProcessingInputs", [])
    ]
    found += [
        (str(c.get("ChannelName")), str(first_key(c, "S3Uri") or ""))
        for c in properties.get("InputDataConfig", [])
    ]
    return found


def step_outputs(properties: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, S3 URI) of what a job wrote: processing outputs, model, transform, baselines."""
    outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", {})
    found = [(str(n), str(o.get("S3Output", {}).get("S3Uri", ""))) for n, o in outputs.items()]
    for key in ("S3ModelArtifacts", "S3OutputPath", "ModelPackageArn", "ModelArn"):
        value = first_key(properties, key)
        if isinstance(value, str):
            found.append((key, value))
    found += [
        (key, str(value))
        for key, value in sorted(properties.items())
        if key.startswith("Calculated") and isinstance(value, str)
    ]
    return found


def first_key(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            hit = first_key(item, key)
            if hit is not None:
                return hit
    return None


def comparison_rows(found: Sources, pair: list[Execution]) -> list[tuple[str, str, str, str]]:
    """(section, name, A, B) rows: parameters, status, gate values, training metrics, steps."""
    first, second = (side_values(found, execution) for execution in pair)
    rows = []
    for section in first.keys() | second.keys():
        a, b = first.get(section, {}), second.get(section, {})
        names = sorted(a.keys() | b.keys())
        rows += [(section, name, a.get(name, ""), b.get(name, "")) for name in names]
    order = ["execution", "parameters", "gate", "metrics", "steps"]
    return sorted(rows, key=lambda row: order.index(row[0]))


def side_values(found: Sources, execution: Execution) -> dict[str, dict[str, str]]:
    describe = execution.describe()
    records = found.records(execution)
    metrics = {
        f"{name}: {m['MetricName']}": f"{m['Value']:g}"
        for name, r in records.items()
        for m in r.get("Properties", {}).get("FinalMetricDataList", [])
    }
    return {
        "execution": {
            "pipeline": str(describe.get("PipelineName", "")),
            "status": str(describe.get("PipelineExecutionStatus", "")),
            "duration": duration(describe),
            "failure": str(describe.get("FailureReason", "")),
        },
        "parameters": {p["Name"]: str(p["Value"]) for p in describe.get("PipelineParameters", [])},
        "gate": {
            f"{d.step} Conditions[{index}]": f"{c.text}: {show(c.result)}"
            for d in found.gate(execution)
            for index, c in enumerate(d.comparisons)
        }
        | {d.step: f"{d.outcome} ({d.branch})" for d in found.gate(execution)},
        "metrics": metrics,
        "steps": {
            name: r["StepStatus"] + (" (cache hit)" if "CacheHitResult" in r else "")
            for name, r in records.items()
        },
    }


# ---------------------------------------------------------------------------------- the app


class Guarded(BaseHTTPMiddleware):
    """Every request passes the guard (ui.security) before it reaches a page."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        guard: Guard = request.app.state.guard
        reason = guard.wrong_host(request)
        if reason is None and request.method == "GET" and guard.login(request):
            login = RedirectResponse(request.url.path, status_code=303)
            login.set_cookie(COOKIE, guard.session, httponly=True, samesite="strict")
            return login
        reason = reason or guard.refusal(request)
        if reason is not None:
            return PlainTextResponse(f"refused: {reason}", 403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Origin null
        return response


# Only this server's own files: no inline script, no other origin, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

EXECUTION = "/executions/{pipeline}/{execution}"


def create_app(found: Sources, guard: Guard) -> Starlette:
    """The application over `found`, guarded by `guard`."""
    routes = [
        Route("/", index),
        Route("/bundles/{bundle}", bundle_page),
        Route("/executions/{pipeline}", executions_page),
        Route(EXECUTION, execution_page),
        Route(f"{EXECUTION}/events", execution_events),
        Route(f"{EXECUTION}/steps/{{step}}", step_page),
        Route(f"{EXECUTION}/steps/{{step}}/log", step_log),
        Route("/compare", compare_page),
        Route("/models", models_page),
        Route("/models/status", set_model_status, methods=["POST"]),
        Route("/monitoring", monitoring_page),
        Route("/diff", diff_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guarded)])
    app.state.sources, app.state.guard = found, guard
    return app
