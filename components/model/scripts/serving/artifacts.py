"""What inference needs besides the model: class names and the fitted transformer."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

# A binary model's positive class (set on the container by the pipeline): each answer then also
# carries "probability", that class's probability, which binary model quality reads.
POSITIVE_CLASS_ENV = "INFERENCE_POSITIVE_CLASS"


class Artifacts:
    """What inference needs besides the model: class names and the fitted transformer.

    Attributes:
        classes: class names; index = class index = model output column.
        transformer: the parsed `transformer.json`.
        kind: "tabular" or "image".
        n_features: width of the feature matrix the model takes.
        positive: index of a binary model's positive class, else None.
    """

    def __init__(
        self,
        classes: Sequence[str],
        transformer: dict[str, Any],
        positive_class: str | None = None,
    ) -> None:
        self.classes = [str(name) for name in classes]
        self.transformer = transformer
        self.kind = transformer.get("kind")
        self.n_features = len(transformer.get("features", []))
        if not self.classes:
            raise ValueError("classes.json lists no classes")
        self.positive = None
        if positive_class:
            if len(self.classes) != 2 or positive_class not in self.classes:
                raise ValueError(
                    f"{POSITIVE_CLASS_ENV}={positive_class!r} is not one of the model's two "
                    f"classes {self.classes}; set it to the project's positive_class, or unset "
                    "it for a model of more than two classes"
                )
            self.positive = self.classes.index(positive_class)
        if self.kind == "tabular":
            self.numeric = list(transformer.get("numeric", []))
            self.categorical = list(transformer.get("categorical", []))
            width = len(self.numeric) + sum(len(c["categories"]) for c in self.categorical)
            if width != self.n_features:
                raise ValueError(
                    f"transformer.json is inconsistent: {len(self.numeric)} numeric and "
                    f"one-hot columns make {width} features, but 'features' lists "
                    f"{self.n_features}"
                )
            self.columns = [spec["name"] for spec in self.numeric + self.categorical]
        elif self.kind == "image":
            self.side = int(transformer["side"])
            self.scale = float(transformer.get("scale", 255.0))
            if self.side * self.side != self.n_features:
                raise ValueError(
                    f"transformer.json is inconsistent: side {self.side} needs "
                    f"{self.side * self.side} features, 'features' lists {self.n_features}"
                )
        else:
            raise ValueError(f"transformer.json has unknown kind {self.kind!r}")


def load_artifacts(folder: str | Path) -> Artifacts:
    """Read `classes.json` and `transformer.json` from `folder` (the model's `code/artifacts`),
    and the positive class from the container's environment."""
    folder = Path(folder)
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    transformer = json.loads((folder / "transformer.json").read_text(encoding="utf-8"))
    return Artifacts(classes, transformer, os.environ.get(POSITIVE_CLASS_ENV) or None)


_loaded: dict[Path, Artifacts] = {}


def artifacts_in(folder: str | Path) -> Artifacts:
    """`load_artifacts(folder)`, read once: a handler needs them on every request."""
    folder = Path(folder)
    if folder not in _loaded:
        _loaded[folder] = load_artifacts(folder)
    return _loaded[folder]
