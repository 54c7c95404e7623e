"""A pipeline comparison (bundle.compare.Diff) as text, Markdown (a pull-request comment) or JSON.

Marks: `+` added, `-` removed, `~` changed, `=` unchanged but re-run (a cached step whose cache
key reads a step that the change makes run again).

Values are shown as written in the definition: expressions by name (`Parameters.X`,
`join("/", ...)`, `jsonget(Evaluate.EvaluationReport, metrics.accuracy.value)`), literals as
JSON; an S3 URI that is a bundle asset is followed by the asset's name.
"""

from __future__ import annotations

import json
from typing import Any

from bundle.compare import ABSENT, AssetChange, CacheVerdict, Diff, FieldChange, StepChange
from kernel.notation import show

PUBLISH_NOT_COMPARED = (  # a deployed pipeline's are not read; a bare definition has none
    "not compared: only two bundles' schedule, tags and functions are compared"
)
NOT_COMPARED = (  # a deployed pipeline and a bare definition have no assets.json
    "not compared: only two bundles' assets.json are compared "
    "(changed S3 URIs above name their assets)"
)


def value_text(value: Any) -> str:
    return "(absent)" if value is ABSENT else show(value)


def asset_of(change: FieldChange, diff: Diff) -> str | None:
    """The asset whose S3 URI the field holds after the change (or before, if removed)."""
    for value in (change.new, change.old):
        if isinstance(value, str) and value in diff.asset_names:
            return diff.asset_names[value]
    return None


def counts(added: int, removed: int, changed: int) -> str:
    if not (added or removed or changed):
        return "no change"
    return f"{added} added, {removed} removed, {changed} changed"


def field_json(change: FieldChange, diff: Diff) -> dict[str, Any]:
    old = None if change.old is ABSENT else show(change.old)
    new = None if change.new is ABSENT else show(change.new)
    return {"path": change.path, "old": old, "new": new, "asset": asset_of(change, diff)}


def verdict_json(verdict: CacheVerdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "cacheable": verdict.cacheable,
        "caching_enabled": verdict.enabled,
        "key_fields_changed": list(verdict.key_fields),
        "reruns": verdict.reruns,
        "text": verdict.text,
    }


def asset_json(change: AssetChange) -> dict[str, Any]:
    return {
        "name": change.name,
        "kind": change.kind,
        "old_sha256": change.old_sha256,
        "new_sha256": change.new_sha256,
        "files": [{"path": path, "change": how} for path, how in change.files],
    }


def as_json(diff: Diff) -> str:
    """Everything in the diff as one JSON document (sorted keys, 2-space indent)."""

    def step(change: StepChange) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": change.name,
            "type": change.type,
            "placement": change.placement,
        }
        if change.cache is not None:
            out["fields"] = [field_json(f, diff) for f in change.fields]
            out["cache"] = verdict_json(change.cache)
        return out

    def parameter(change: Any) -> dict[str, Any]:
        return {
            "name": change.name,
            "type": change.type,
            "default": None if change.default is ABSENT else show(change.default),
            "fields": [field_json(f, diff) for f in change.fields],
            "read_by": [{"step": s, "cache": verdict_json(v)} for s, v in change.read_by],
        }

    document = {
        "old": diff.old,
        "new": diff.new,
        "changed": diff.changed,
        "parameters": {
            "added": [parameter(p) for p in diff.parameters_added],
            "removed": [parameter(p) for p in diff.parameters_removed],
            "changed": [parameter(p) for p in diff.parameters_changed],
        },
        "steps": {
            "added": [step(s) for s in diff.steps_added],
            "removed": [step(s) for s in diff.steps_removed],
            "changed": [step(s) for s in diff.steps_changed],
            "rerun": [step(s) for s in diff.steps_rerun],
        },
        "assets": {
            "compared": diff.assets_compared,
            "added": [asset_json(a) for a in diff.assets_added],
            "removed": [asset_json(a) for a in diff.assets_removed],
            "changed": [asset_json(a) for a in diff.assets_changed],
        },
        "pipeline": [field_json(f, diff) for f in diff.pipeline],
        "publish": {
            "compared": diff.publish_compared,
            "changed": [field_json(f, diff) for f in diff.publish],
        },
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def field_line(change: FieldChange, diff: Diff) -> str:
    asset = asset_of(change, diff)
    suffix = f"  [asset {asset}]" if asset else ""
    return f"{change.path}: {value_text(change.old)} -> {value_text(change.new)}{suffix}"


def asset_summary(change: AssetChange) -> str:
    old, new = (change.old_sha256 or "")[:12], (change.new_sha256 or "")[:12]
    return f"{change.name} ({change.kind}): sha256 {old} -> {new}"


def as_text(diff: Diff) -> str:
    """For a terminal: one section each for parameters, steps, assets and the pipeline."""
    lines = [f"--- {diff.old}", f"+++ {diff.new}"]
    if not diff.changed:
        return "\n".join([*lines, "no changes"]) + "\n"
    added, removed, changed = (
        diff.parameters_added,
        diff.parameters_removed,
        diff.parameters_changed,
    )
    lines.append(f"parameters: {counts(len(added), len(removed), len(changed))}")
    for mark, group in (("+", added), ("-", removed), ("~", changed)):
        for parameter in group:
            default = value_text(parameter.default)
            lines.append(f"  {mark} {parameter.name} ({parameter.type}, default {default})")
            lines += [f"      {field_line(f, diff)}" for f in parameter.fields]
            if mark != "-":
                lines += [f"      read by {s}: {v.text}" for s, v in parameter.read_by]
    steps = (diff.steps_added, diff.steps_removed, diff.steps_changed)
    lines.append(f"steps: {counts(*map(len, steps))}")
    for mark, step_group in zip("+-~=", (*steps, diff.steps_rerun), strict=True):
        for step in step_group:
            lines.append(f"  {mark} {step.name} ({step.type}, {step.placement})")
            lines += [f"      {field_line(f, diff)}" for f in step.fields]
            if step.cache is not None:
                lines.append(f"      cache: {step.cache.text}")
    if not diff.assets_compared:
        lines.append(f"assets: {NOT_COMPARED}")
    else:
        assets = (diff.assets_added, diff.assets_removed, diff.assets_changed)
        lines.append(f"assets: {counts(*map(len, assets))}")
        lines += [f"  + {a.name} ({a.kind})" for a in diff.assets_added]
        lines += [f"  - {a.name} ({a.kind})" for a in diff.assets_removed]
        for asset in diff.assets_changed:
            lines.append(f"  ~ {asset_summary(asset)}")
            lines += [f"      {how} {path}" for path, how in asset.files]
    if diff.pipeline:
        lines.append(f"pipeline: {len(diff.pipeline)} field(s) changed")
        lines += [f"  ~ {field_line(f, diff)}" for f in diff.pipeline]
    if not diff.publish_compared:
        lines.append(f"publish: {PUBLISH_NOT_COMPARED}")
    elif diff.publish:
        lines.append(f"publish: {len(diff.publish)} setting(s) changed")
        lines += [f"  ~ {field_line(f, diff)}" for f in diff.publish]
    return "\n".join(lines) + "\n"


def code(text: str) -> str:
    """A Markdown code span that survives a table cell."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def field_rows(changes: tuple[FieldChange, ...], diff: Diff) -> list[list[str]]:
    rows = []
    for change in changes:
        asset = asset_of(change, diff)
        note = f" (asset {code(asset)})" if asset else ""
        rows.append(
            [code(change.path), code(value_text(change.old)), code(value_text(change.new)) + note]
        )
    return rows


def as_markdown(diff: Diff) -> str:
    """For a pull-request comment: summary tables, then each changed step's fields."""
    lines = ["### Pipeline diff", "", f"{code(diff.old)} → {code(diff.new)}", ""]
    if not diff.changed:
        return "\n".join([*lines, "No changes."]) + "\n"
    parameters = (diff.parameters_added, diff.parameters_removed, diff.parameters_changed)
    lines += [f"**Parameters**: {counts(*map(len, parameters))}", ""]
    rows = []
    for mark, group in zip("+-~", parameters, strict=True):
        for p in group:
            change = "; ".join(
                f"{f.path} {code(value_text(f.old))} → {code(value_text(f.new))}" for f in p.fields
            )
            readers = (
                "<br>".join(f"{code(s)}: {v.text}" for s, v in p.read_by) if mark != "-" else ""
            )
            rows.append([mark, code(p.name), p.type, code(value_text(p.default)), change, readers])
    if rows:
        lines += table(["", "parameter", "type", "default", "change", "read by"], rows)
    steps = (diff.steps_added, diff.steps_removed, diff.steps_changed)
    lines += [f"**Steps**: {counts(*map(len, steps))}", ""]
    rows = []
    for mark, step_group in zip("+-~=", (*steps, diff.steps_rerun), strict=True):
        for s in step_group:
            cache = s.cache.text if s.cache else {"+": "new step", "-": "removed"}[mark]
            rows.append([mark, code(s.name), s.type, s.placement, cache])
    if rows:
        lines += table(["", "step", "type", "where", "cache"], rows)
    for step in diff.steps_changed:
        lines += [f"#### {code(step.name)} ({step.type})", ""]
        lines += table(["field", "old", "new"], field_rows(step.fields, diff))
    if not diff.assets_compared:
        lines += [f"**Assets**: {NOT_COMPARED}", ""]
    else:
        assets = (diff.assets_added, diff.assets_removed, diff.assets_changed)
        lines += [f"**Assets**: {counts(*map(len, assets))}", ""]
        rows = []
        for mark, asset_group in zip("+-~", assets, strict=True):
            for a in asset_group:
                sha = f"{code((a.old_sha256 or '')[:12])} → {code((a.new_sha256 or '')[:12])}"
                files = "<br>".join(f"{how} {code(path)}" for path, how in a.files)
                rows.append([mark, code(a.name), a.kind, sha, files])
        if rows:
            lines += table(["", "asset", "kind", "sha256", "files"], rows)
    if diff.pipeline:
        lines += ["**Pipeline**", ""]
        lines += table(["field", "old", "new"], field_rows(diff.pipeline, diff))
    if not diff.publish_compared:
        lines += [f"**Publish**: {PUBLISH_NOT_COMPARED}", ""]
    elif diff.publish:
        lines += ["**Publish**", ""]
        lines += table(["setting", "old", "new"], field_rows(diff.publish, diff))
    return "\n".join(lines).rstrip("\n") + "\n"


RENDERERS = {"text": as_text, "markdown": as_markdown, "json": as_json}
