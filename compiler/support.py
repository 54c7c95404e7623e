"""Warnings for the images AWS no longer patches: the compile goes on, the fix names what's next.

A warning, not an error: on 2026-12-06 AWS patches no PyTorch inference image at all (the last,
2.6, lapsed in June 2026), so an error would stop every PyTorch pipeline with nothing better to
move to. Where a later image is patched, the fix names it: the version key that picks it when
this compiler's table holds it (`framework.inference_version=2.20`), else its URI for the key
that takes one (`framework.training_image`...); the dates and their sources are
kernel/image_environments.json's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from compiler.schema import PipelineConfig
from kernel import images
from kernel.frameworks import SCOPES, SKLEARN_VERSION
from kernel.image_environments import Successor, image_key, lapse, successor_uri

WHY = "an unpatched image keeps the vulnerabilities found after its end of patch"
MOVE = "this compiler's version (kernel/frameworks.py SKLEARN_VERSION) must move"


@dataclass(frozen=True)
class Chosen:
    """An AWS image the pipeline runs, and the config keys that move it (None: the compiler's).

    Attributes:
        where: the key that chose it, as the user reads it.
        uri: the image.
        version_key: the key naming its version, e.g. `framework.inference_version`.
        image_key: the key taking an image URI instead, e.g. `framework.inference_image`.
        versions: the versions `version_key` takes.
    """

    where: str
    uri: str
    version_key: str | None = None
    image_key: str | None = None
    versions: tuple[str, ...] = ()

    def fix(self, newer: Successor) -> str:
        """How to move to `newer`: its version where the table holds it, else its URI."""
        if self.version_key and newer.version in self.versions:
            return f"set {self.version_key}={newer.version}"
        if self.image_key:
            return f"set {self.image_key}={successor_uri(self.uri, newer)}"
        return MOVE


def _chosen_images(config: PipelineConfig) -> list[Chosen]:
    """Each AWS image the pipeline runs.

    Images the config names itself are the user's to patch; images the rules refuse are
    reported there.
    """
    framework, region = config.framework, config.aws.region
    chosen = []
    for scope in SCOPES:
        if getattr(framework, f"{scope}_image") is not None:
            continue
        version = framework.image_version(scope)
        try:
            uri = framework.aws_image(scope, region)
        except ValueError:
            continue
        version_key = "framework.version" if scope == "training" else "framework.inference_version"
        # A null inference_version takes the training version: that key chose the image.
        set_by = "framework.version" if framework.inference_version is None else version_key
        chosen.append(
            Chosen(
                f"{set_by} = '{version}' ({framework.name}'s {scope} image)",
                uri,
                version_key,
                f"framework.{scope}_image",
                tuple(images.known_versions(framework.name, scope)),
            )
        )
    try:
        uri = images.scikit_learn_image(region, framework.processing_instance_type)
    except ValueError:
        return chosen
    where = f"the scikit-learn image {SKLEARN_VERSION} (preprocessing, the builtin monitor jobs)"
    return [*chosen, Chosen(where, uri)]


def image_warnings(config: PipelineConfig, today: date) -> list[str]:
    """One `warning:` text (where, what, why, fix) per image past its support on `today`."""
    warnings = []
    for chosen in _chosen_images(config):
        gone = lapse(chosen.uri, today)
        if gone is None:
            continue
        repository = image_key(chosen.uri).split(":", 1)[0]
        if gone.newer is None:
            fix = f"AWS patches no later {repository} image: " + (
                f"set {chosen.image_key} to an image you patch yourself, or keep this one knowingly"
                if chosen.image_key
                else f"{MOVE} once AWS publishes one, or keep this one knowingly"
            )
        else:
            until = gone.newer.end_of_patch or "a date AWS has not published"
            fix = f"AWS patches {repository}:{gone.newer.version} until {until}: " + chosen.fix(
                gone.newer
            )
        what = f"{image_key(chosen.uri)} is past its support: {gone.reason}"
        warnings.append(f"warning: {chosen.where}\n  {what}\n  why: {WHY}\n  fix: {fix}")
    return warnings
