"""What each container image holds, as data: its Python, our job code's libraries, its support.

`image_environments.json` is keyed by image as `kernel.images` emits it, `repository:version`
(the processor and Python tags dropped: `sagemaker-scikit-learn:1.2-1-cpu-py3` is
`sagemaker-scikit-learn:1.2-1`); every value names its source (a Dockerfile, a requirements file,
AWS's support table). The local engine builds a virtual environment from it (`--containers`),
and `lapse` says when an image is past AWS's end of patch (or its Python past end of life) and
which later version is still patched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("image_environments.json")
_TAG = re.compile(r"^(?P<version>.+?)(?:-(?:cpu|gpu|neuronx?|inf)(?:-.*)?)?$")


@dataclass(frozen=True)
class Package:
    """A library the job code imports; `version` is exact ("1.24.1") or a specifier ("<2")."""

    name: str
    version: str
    source: str

    @property
    def requirement(self) -> str:
        """As pip takes it: `numpy==1.24.1`, `numpy<2`."""
        exact = self.version[:1].isdigit()
        return f"{self.name}{'==' if exact else ''}{self.version}"


@dataclass(frozen=True)
class Successor:
    """A later version of an image; `python` where its tag names another Python ("3.13")."""

    version: str
    end_of_patch: date | None
    python: str | None = None


@dataclass(frozen=True)
class ImageEnvironment:
    """One image's stack. `python` is None where AWS does not publish it (closed images)."""

    image: str
    python: str | None
    python_source: str
    packages: tuple[Package, ...]
    pip_index: str | None
    end_of_patch: date | None
    end_of_patch_source: str
    python_end_of_life: date | None
    successors: tuple[Successor, ...]


@dataclass(frozen=True)
class Lapse:
    """Why an image is no longer patched on a date, and the version to move to (None: none is)."""

    image: str
    reason: str
    since: date
    newer: Successor | None


def image_key(uri: str) -> str:
    """`repository:version` of an image URI (registry, processor and Python tags dropped)."""
    name = uri.rsplit("/", 1)[-1]
    repository, _, tag = name.partition(":")
    if not tag:
        return repository
    match = _TAG.match(tag)
    return f"{repository}:{match['version'] if match else tag}"


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _environment(key: str, entry: dict[str, Any]) -> ImageEnvironment:
    life = entry.get("python_end_of_life") or {}
    return ImageEnvironment(
        image=key,
        python=entry["python"]["version"],
        python_source=entry["python"]["source"],
        packages=tuple(
            Package(name, spec["version"], spec["source"])
            for name, spec in sorted(entry["packages"].items())
        ),
        pip_index=entry.get("pip_index"),
        end_of_patch=_date(entry["end_of_patch"]["date"]),
        end_of_patch_source=entry["end_of_patch"]["source"],
        python_end_of_life=_date(life.get("date")),
        successors=tuple(
            Successor(s["version"], _date(s["end_of_patch"]), s.get("python"))
            for s in entry["successors"]
        ),
    )


@cache
def environments() -> dict[str, ImageEnvironment]:
    """Every image in the table, by `repository:version`."""
    table = json.loads(TABLE.read_text())
    return {key: _environment(key, entry) for key, entry in sorted(table["images"].items())}


def environment_for(uri: str) -> ImageEnvironment | None:
    """The stack of the image at `uri`, or None when the table does not hold it."""
    return environments().get(image_key(uri))


def lapse(uri: str, today: date) -> Lapse | None:
    """Why the image at `uri` is unsupported on `today`, or None (supported, or not known).

    An image lapses on AWS's end-of-patch date, or, where AWS publishes none, when its Python
    reaches end of life. The newer version is the latest successor patched past `today` (one
    with no published date counts as patched).
    """
    env = environment_for(uri)
    if env is None:
        return None
    if env.end_of_patch is not None and env.end_of_patch < today:
        reason, since = f"AWS stopped patching it on {env.end_of_patch}", env.end_of_patch
    elif env.python_end_of_life is not None and env.python_end_of_life < today:
        reason = f"its Python {env.python} reached end of life on {env.python_end_of_life}"
        since = env.python_end_of_life
    else:
        return None
    patched = [s for s in env.successors if s.end_of_patch is None or s.end_of_patch >= today]
    return Lapse(env.image, reason, since, patched[-1] if patched else None)


def successor_uri(uri: str, successor: Successor) -> str:
    """The image at `uri` moved to `successor`'s version (and Python tag): same registry and
    repository, the processor kept, by the SDK's tag convention (`pytorch-training:2.6-cpu-py312`
    -> `pytorch-training:2.10-cpu-py313`). A version kernel/images.py holds is named by its
    version key instead: its tag may follow AWS's list (`2.21-cpu-py312-sagemaker`)."""
    head, _, tag = uri.rpartition(":")
    match = _TAG.match(tag)
    rest = tag[len(match["version"]) :] if match else ""
    if successor.python and re.search(r"-py\d+$", rest):
        rest = re.sub(r"-py\d+$", "-py" + successor.python.replace(".", ""), rest)
    return f"{head}:{successor.version}{rest}"
