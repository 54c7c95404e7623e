"""Warnings for the images AWS no longer patches: the compile goes on, the fix names what's next.

A warning, not an error: on 2026-12-06 AWS patches no TensorFlow or PyTorch inference image at
all (the last, 2.19 and 2.6, lapsed in March and June 2026), so an error would stop every
pipeline with nothing better to move to. Where a later image is patched, the fix gives its URI
for the config key that takes it (`framework.training_image`...); the dates and their sources are
kernel/image_environments.json's.
"""

from __future__ import annotations

from datetime import date

from compiler.schema import PipelineConfig
from kernel import images
from kernel.frameworks import SKLEARN_VERSION
from kernel.image_environments import image_key, lapse, successor_uri

WHY = "an unpatched image keeps the vulnerabilities found after its end of patch"


def _chosen_images(config: PipelineConfig) -> list[tuple[str, str, str | None]]:
    """(where, URI, the config key that replaces it) of each AWS image the pipeline runs.

    Images the config names itself are the user's to patch; images the rules refuse are
    reported there.
    """
    framework, region = config.framework, config.aws.region
    chosen: list[tuple[str, str, str | None]] = []
    for scope in ("training", "inference"):
        key = f"framework.{scope}_image"
        if getattr(framework, f"{scope}_image") is not None:
            continue
        instance = getattr(framework, f"{scope}_instance_type")
        try:
            uri = images.image_uri(
                framework.name, scope, framework.version, framework.py_version, region, instance
            )
        except ValueError:
            continue
        where = f"framework.version = '{framework.version}' ({framework.name}'s {scope} image)"
        chosen.append((where, uri, key))
    try:
        uri = images.scikit_learn_image(region, framework.processing_instance_type)
    except ValueError:
        return chosen
    where = f"the scikit-learn image {SKLEARN_VERSION} (preprocessing, the builtin monitor jobs)"
    return [*chosen, (where, uri, None)]


def image_warnings(config: PipelineConfig, today: date) -> list[str]:
    """One `warning:` text (where, what, why, fix) per image past its support on `today`."""
    warnings = []
    for where, uri, key in _chosen_images(config):
        gone = lapse(uri, today)
        if gone is None:
            continue
        repository = image_key(uri).split(":", 1)[0]
        move = "this compiler's version (kernel/frameworks.py SKLEARN_VERSION) must move"
        if gone.newer is None:
            fix = f"AWS patches no later {repository} image: " + (
                f"set {key} to an image you patch yourself, or keep this one knowingly"
                if key
                else f"{move} once AWS publishes one, or keep this one knowingly"
            )
        else:
            until = gone.newer.end_of_patch or "a date AWS has not published"
            fix = f"AWS patches {repository}:{gone.newer.version} until {until}: " + (
                f"set {key}={successor_uri(uri, gone.newer)}" if key else move
            )
        what = f"{image_key(uri)} is past its support: {gone.reason}"
        warnings.append(f"warning: {where}\n  {what}\n  why: {WHY}\n  fix: {fix}")
    return warnings
