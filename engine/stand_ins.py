"""Which local versions stand in for a job's image when it does not run on the image's own stack.

A definition names the image each job runs in (TensorFlow 2.6 on Python 3.8, say); without
`--containers` (or for an image without a known stack) the job runs on this machine's Python and
libraries, whose versions may behave differently (Keras 3 where the script expects Keras 2). The
run says so once per image, before any step runs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from importlib import metadata

from engine.environments import Interpreters
from kernel.image_environments import environment_for, image_key

# The library each framework image is named for: repository prefix -> distribution.
FRAMEWORKS = {
    "tensorflow-": "tensorflow",
    "pytorch-": "torch",
    "sagemaker-scikit-learn": "scikit-learn",
    "sagemaker-xgboost": "xgboost",
}
PYTHON_TAG = re.compile(r"-py(?P<major>\d)(?P<minor>\d+)\b")


def stand_in_notes(images: Iterable[str], interpreters: Interpreters) -> list[str]:
    """One line per image whose jobs run on this machine's Python rather than their own stack:
    the image's versions (kernel/image_environments.json, else what its tag says) and the local
    ones standing in for them."""
    here = f"this machine's Python {sys.version_info.major}.{sys.version_info.minor}"
    notes = []
    for uri in sorted(set(images)):
        if interpreters.chosen(uri) is not None:
            continue  # it runs on its own stack
        image, libraries = image_key(uri), _libraries(uri)
        if not libraries:
            notes.append(f"image {image}: versions not known here; running on {here}")
            continue
        theirs = ", ".join(f"{name} {version}" for name, version in libraries)
        ours = "".join(f", {name} {installed(name)}" for name, _ in libraries if name != "Python")
        env = environment_for(uri)
        own = (
            f" (--containers-only {image.split(':')[0]} runs its jobs on that stack)"
            if env is not None and env.python is not None
            else ""
        )
        notes.append(f"image {image} ({theirs}): running on {here}{ours}{own}")
    return notes


def installed(name: str) -> str:
    """The version of a library installed here ('not installed' when it is not)."""
    for distribution in (name, f"{name}-cpu"):  # tensorflow-cpu, xgboost-cpu
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _libraries(uri: str) -> list[tuple[str, str]]:
    """(name, version) of the image's Python and libraries, as far as they are known."""
    env = environment_for(uri)
    if env is not None and env.python is not None:
        return [("Python", env.python), *((p.name, p.version) for p in env.packages)]
    found = []
    python = PYTHON_TAG.search(uri.rsplit(":", 1)[-1])
    if python:
        found.append(("Python", f"{python['major']}.{python['minor']}"))
    repository, _, version = image_key(uri).partition(":")
    framework = next((d for p, d in FRAMEWORKS.items() if repository.startswith(p)), None)
    if framework and version:
        found.append((framework, version))
    return found
