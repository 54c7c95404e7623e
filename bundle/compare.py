"""A step-aware comparison of two pipeline definitions and their assets (pure; bundle/diff.py
is its command line).

Publishing applies more than the definition: the manifest's publish settings (schedule, tags,
description, parallelism, role, region, account) and each Lambda function's configuration are
compared too (`publish.schedule.cron`, `functions.<name>.timeout_seconds`).

Steps are matched by name wherever they sit (condition branches included); each changed step
lists the fields that changed, as paths like `Arguments.ProcessingInputs[code].S3Input.S3Uri`
(list items named by their InputName, OutputName, ChannelName, ... where they have one), and
says whether the change makes SageMaker run the step again on the next execution, by AWS's
cache key rules (bundle/cache.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bundle.cache import (
    cache_key_fields,
    cache_key_values,
    caching_enabled,
    changed_key_fields,
    field_name,
    is_cacheable,
)
from kernel.manifest import Asset, Manifest
from kernel.notation import all_steps, gets, is_expression, own_content, referenced_steps


class Absent:
    """The value of a field that one side does not have."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT = Absent()
NAME_KEYS = ("Name", "InputName", "OutputName", "ChannelName", "MetricName", "PropertyFileName")
STEP_FIELDS_IGNORED = ("Name",)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs; `old` or `new` is ABSENT where that side lacks it."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class CacheVerdict:
    """Whether the change makes SageMaker run the step again on the next execution.

    Attributes:
        cacheable: SageMaker can cache steps of this type at all.
        enabled: the new definition turns caching on for the step (CacheConfig.Enabled).
        key_fields: the cache key fields the change touches (empty: the key is unchanged).
        reruns: the next execution runs the step (always, unless it is cached and its key is
            unchanged).
        text: the verdict for people.
    """

    cacheable: bool
    enabled: bool
    key_fields: tuple[str, ...]
    reruns: bool
    text: str


@dataclass(frozen=True)
class StepChange:
    name: str
    type: str
    placement: str
    fields: tuple[FieldChange, ...] = ()
    cache: CacheVerdict | None = None


@dataclass(frozen=True)
class ParameterChange:
    name: str
    type: str
    fields: tuple[FieldChange, ...] = ()
    default: Any = ABSENT
    read_by: tuple[tuple[str, CacheVerdict], ...] = ()  # step -> what a new value does to it


@dataclass(frozen=True)
class AssetChange:
    name: str
    kind: str
    old_sha256: str | None = None
    new_sha256: str | None = None
    files: tuple[tuple[str, str], ...] = ()  # (path, "changed" | "added" | "removed")


@dataclass(frozen=True)
class Diff:
    """Everything that differs between an old and a new pipeline (old -> new)."""

    old: str
    new: str
    steps_added: tuple[StepChange, ...] = ()
    steps_removed: tuple[StepChange, ...] = ()
    steps_changed: tuple[StepChange, ...] = ()
    steps_rerun: tuple[StepChange, ...] = ()  # unchanged, cached, but their key reads a re-run
    parameters_added: tuple[ParameterChange, ...] = ()
    parameters_removed: tuple[ParameterChange, ...] = ()
    parameters_changed: tuple[ParameterChange, ...] = ()
    pipeline: tuple[FieldChange, ...] = ()
    publish: tuple[FieldChange, ...] = ()  # publish settings and Lambda functions' configuration
    publish_compared: bool = True
    assets_changed: tuple[AssetChange, ...] = ()
    assets_added: tuple[AssetChange, ...] = ()
    assets_removed: tuple[AssetChange, ...] = ()
    assets_compared: bool = True
    asset_names: dict[str, str] = field(default_factory=dict)  # S3 URI -> asset name

    @property
    def changed(self) -> bool:
        return any(
            (
                self.steps_added,
                self.steps_removed,
                self.steps_changed,
                self.parameters_added,
                self.parameters_removed,
                self.parameters_changed,
                self.pipeline,
                self.publish,
                self.assets_changed,
                self.assets_added,
                self.assets_removed,
            )
        )


def list_key(*lists: list[Any]) -> str | None:
    """The field that names every item of these lists uniquely (e.g. InputName), if any."""
    items = [item for items in lists for item in items]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in NAME_KEYS:
        if all(isinstance(item.get(key), str) for item in items) and all(
            len({item[key] for item in items}) == len(items) for items in lists
        ):
            return key
    return None


def children(value: Any, path: str, key: str | None) -> Iterator[tuple[str, str, Any]]:
    """(child id, child path, child) of a dict or list, list items named by `key` if given."""
    if isinstance(value, dict):
        for name in sorted(value):
            yield name, f"{path}.{name}" if path else name, value[name]
    else:
        for index, item in enumerate(value):
            name = item[key] if key else str(index)
            yield name, f"{path}[{name}]", item


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """The leaves that differ; expressions and lists that changed length compare whole."""
    if old == new:
        return []
    both_dicts = isinstance(old, dict) and isinstance(new, dict)
    both_lists = isinstance(old, list) and isinstance(new, list)
    if is_expression(old) or is_expression(new) or not (both_dicts or both_lists):
        return [FieldChange(path, old, new)]
    key = list_key(old, new) if both_lists else None
    if both_lists and key is None and len(old) != len(new):
        return [FieldChange(path, old, new)]
    olds = {name: (sub, item) for name, sub, item in children(old, path, key)}
    news = {name: (sub, item) for name, sub, item in children(new, path, key)}
    changes = []
    for name in sorted(olds.keys() | news.keys(), key=lambda n: (n not in olds, n)):
        sub = (olds.get(name) or news[name])[0]
        changes += field_changes(
            olds[name][1] if name in olds else ABSENT,
            news[name][1] if name in news else ABSENT,
            sub,
        )
    return changes


def reads_of(value: Any, wanted: str, path: str = "") -> list[str]:
    """The paths inside `value` whose expressions read `wanted` (e.g. `Parameters.X`)."""
    if is_expression(value) or not isinstance(value, dict | list):
        hit = any(g == wanted or g.startswith(wanted + ".") for g in gets(value))
        return [path] if hit else []
    key = list_key(value) if isinstance(value, list) else None
    return [p for _, sub, item in children(value, path, key) for p in reads_of(item, wanted, sub)]


def short(kind: str, fields: tuple[str, ...]) -> str:
    return ", ".join(field_name(kind, f) for f in fields)


def cache_verdict(step: dict[str, Any], paths: list[str]) -> CacheVerdict:
    """Whether changes at `paths` of the (new) step make SageMaker run it again."""
    kind = str(step.get("Type"))
    touched = changed_key_fields(kind, paths)
    if not is_cacheable(kind):
        text = f"runs on every execution: SageMaker never caches {kind} steps"
        return CacheVerdict(False, False, touched, True, text)
    key = f"cache key changed ({short(kind, touched)})" if touched else "no cache key field changed"
    if caching_enabled(step):
        if touched:
            return CacheVerdict(True, True, touched, True, f"re-runs: its {key}")
        text = f"can be reused from the cache: {key} (key: {short(kind, cache_key_fields(kind))})"
        return CacheVerdict(True, True, touched, False, text)
    would = "would" if touched else "would not"
    text = "runs on every execution (no CacheConfig); "
    text += f"with caching on, this change {would} re-run it: {key}"
    return CacheVerdict(True, False, touched, True, text)


def diff_steps(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[list[StepChange], list[StepChange], list[StepChange]]:
    """(added, removed, changed) steps, nested branch steps included, in definition order."""
    olds = {p.name: p for p in all_steps(old)}
    news = {p.name: p for p in all_steps(new)}
    added = [StepChange(n, p.type, p.placement) for n, p in news.items() if n not in olds]
    removed = [StepChange(n, p.type, p.placement) for n, p in olds.items() if n not in news]
    changed = []
    for name, placed in news.items():
        if name not in olds:
            continue
        before = {
            k: v for k, v in own_content(olds[name].step).items() if k not in STEP_FIELDS_IGNORED
        }
        after = {k: v for k, v in own_content(placed.step).items() if k not in STEP_FIELDS_IGNORED}
        if olds[name].placement != placed.placement:
            before["(placement)"], after["(placement)"] = olds[name].placement, placed.placement
        fields = field_changes(before, after)
        if fields:
            verdict = cache_verdict(placed.step, [f.path for f in fields])
            changed.append(StepChange(name, placed.type, placed.placement, tuple(fields), verdict))
    return added, removed, changed


def key_reads(step: dict[str, Any]) -> set[str]:
    """The steps whose properties the step's cache key reads."""
    return set().union(*map(referenced_steps, cache_key_values(step).values()))


def follow_reruns(
    new: dict[str, Any], added: list[StepChange], changed: list[StepChange]
) -> tuple[list[StepChange], list[StepChange]]:
    """Cached steps re-run when their cache key reads a step that runs again (its job name and
    output locations are new): correct the verdicts of changed steps, and list the unchanged
    cached steps that the change makes run again.

    Returns:
        (changed with corrected verdicts, unchanged cached steps the change re-runs)
    """
    steps = all_steps(new)
    always = {p.name for p in steps if not caching_enabled(p.step)}
    by_change = {s.name for s in added} | {c.name for c in changed if c.cache and c.cache.reruns}
    verdicts = {c.name: c for c in changed}
    knock_on: dict[str, StepChange] = {}
    grew = True
    while grew:
        grew = False
        for placed in steps:
            if placed.name in by_change | always or not caching_enabled(placed.step):
                continue
            upstream = sorted(key_reads(placed.step) & (by_change | always))
            if not upstream or (placed.name not in verdicts and not set(upstream) & by_change):
                continue  # unchanged, and whatever it reads runs regardless of this change
            verb = "runs" if len(upstream) == 1 else "run"
            text = f"re-runs: its cache key reads {', '.join(upstream)}, which {verb} again"
            verdict = CacheVerdict(True, True, (), True, text)
            if placed.name in verdicts:
                verdicts[placed.name] = replace(verdicts[placed.name], cache=verdict)
            else:
                knock_on[placed.name] = StepChange(
                    placed.name, placed.type, placed.placement, (), verdict
                )
            by_change.add(placed.name)
            grew = True
    order = [p.name for p in steps]
    return [verdicts[c.name] for c in changed], sorted(
        knock_on.values(), key=lambda s: order.index(s.name)
    )


def parameter_change(
    parameter: dict[str, Any], definition: dict[str, Any], fields: list[FieldChange] | None = None
) -> ParameterChange:
    """The parameter, with what a new value does to each step of `definition` that reads it."""
    read_by = []
    for placed in all_steps(definition):
        paths = reads_of(own_content(placed.step), f"Parameters.{parameter['Name']}")
        if paths:
            read_by.append((placed.name, cache_verdict(placed.step, paths)))
    kind, default = str(parameter.get("Type", "String")), parameter.get("DefaultValue", ABSENT)
    return ParameterChange(parameter["Name"], kind, tuple(fields or ()), default, tuple(read_by))


def diff_parameters(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[list[ParameterChange], list[ParameterChange], list[ParameterChange]]:
    """(added, removed, changed) parameters by name."""
    olds = {p["Name"]: p for p in old.get("Parameters", [])}
    news = {p["Name"]: p for p in new.get("Parameters", [])}
    added = [parameter_change(p, new) for n, p in sorted(news.items()) if n not in olds]
    removed = [parameter_change(p, old) for n, p in sorted(olds.items()) if n not in news]
    changed = []
    for name, parameter in sorted(news.items()):
        fields = field_changes(olds.get(name, parameter), parameter)
        if fields:
            changed.append(parameter_change(parameter, new, fields))
    return added, removed, changed


def diff_assets(
    old: Sequence[Asset], new: Sequence[Asset]
) -> tuple[list[AssetChange], list[AssetChange], list[AssetChange]]:
    """(changed, added, removed) assets by name: a new sha256, and which of its files changed."""
    olds = {a.name: a for a in old}
    news = {a.name: a for a in new}
    changed = []
    for name in sorted(olds.keys() & news.keys()):
        before, after = olds[name], news[name]
        if before.sha256 == after.sha256 and before.s3_uri == after.s3_uri:
            continue
        old_files = {f.path: f.sha256 for f in before.files}
        new_files = {f.path: f.sha256 for f in after.files}
        files = [
            (
                path,
                "added"
                if path not in old_files
                else "removed"
                if path not in new_files
                else "changed",
            )
            for path in sorted(old_files.keys() | new_files.keys())
            if old_files.get(path) != new_files.get(path)
        ]
        changed.append(AssetChange(name, after.kind, before.sha256, after.sha256, tuple(files)))
    added = [
        AssetChange(n, a.kind, None, a.sha256) for n, a in sorted(news.items()) if n not in olds
    ]
    removed = [AssetChange(n, a.kind, a.sha256) for n, a in sorted(olds.items()) if n not in news]
    return changed, added, removed


def publish_settings(manifest: Manifest) -> dict[str, Any]:
    """What publishing applies besides the definition and the assets' content, as plain data:
    the publish settings, and each function's configuration by function name."""
    functions = {
        f.function_name: {k: v for k, v in dataclasses.asdict(f).items() if k != "function_name"}
        for f in manifest.functions
    }
    return {"publish": dataclasses.asdict(manifest.publish), "functions": functions}


def diff_definitions(
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    old_name: str,
    new_name: str,
    old_assets: Sequence[Asset] | None = None,
    new_assets: Sequence[Asset] | None = None,
    old_manifest: Manifest | None = None,
    new_manifest: Manifest | None = None,
) -> Diff:
    """Compare two definitions (and their assets.json lists, and publish settings, when both
    sides have them)."""
    steps_added, steps_removed, steps_changed = diff_steps(old, new)
    steps_changed, steps_rerun = follow_reruns(new, steps_added, steps_changed)
    parameters_added, parameters_removed, parameters_changed = diff_parameters(old, new)
    rest_old = {k: v for k, v in old.items() if k not in ("Steps", "Parameters")}
    rest_new = {k: v for k, v in new.items() if k not in ("Steps", "Parameters")}
    compared = old_assets is not None and new_assets is not None
    changed, added, removed = (
        diff_assets(old_assets or [], new_assets or []) if compared else ([], [], [])
    )
    every_asset = [*(old_assets or []), *(new_assets or [])]
    publish = (
        field_changes(publish_settings(old_manifest), publish_settings(new_manifest))
        if old_manifest is not None and new_manifest is not None
        else []
    )
    return Diff(
        old_name,
        new_name,
        steps_added=tuple(steps_added),
        steps_removed=tuple(steps_removed),
        steps_changed=tuple(steps_changed),
        steps_rerun=tuple(steps_rerun),
        parameters_added=tuple(parameters_added),
        parameters_removed=tuple(parameters_removed),
        parameters_changed=tuple(parameters_changed),
        pipeline=tuple(field_changes(rest_old, rest_new)),
        publish=tuple(publish),
        publish_compared=old_manifest is not None and new_manifest is not None,
        assets_changed=tuple(changed),
        assets_added=tuple(added),
        assets_removed=tuple(removed),
        assets_compared=compared,
        asset_names={a.s3_uri: a.name for a in every_asset},
    )
