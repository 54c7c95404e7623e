"""Sessions 4 and 5: the PyTorch serving container's handler functions for the classifier.

CSV rows of features in; one JSON line per row out: the species and its probability.
"""

import json
import os

import numpy as np

SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def model_fn(model_dir):
    return dict(np.load(os.path.join(model_dir, "model.npz")))


def input_fn(body, content_type):
    if content_type != "text/csv":
        raise ValueError(f"unsupported content type {content_type}")
    text = body.decode() if isinstance(body, bytes) else body
    return np.loadtxt(text.splitlines(), delimiter=",", ndmin=2)


def predict_fn(data, model):
    scores = data @ model["weights"] + model["bias"]
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


def output_fn(prediction, accept):
    lines = []
    for row in prediction.tolist():
        best = int(np.argmax(row))
        lines.append(json.dumps({"prediction": SPECIES[best], "confidence": round(row[best], 4)}))
    return "\n".join(lines) + "\n"
