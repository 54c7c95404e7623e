"""Sessions 4 and 5: the PyTorch serving container's handler functions for the classifier.

CSV rows of features in; one JSON line per row out: the species and its probability.
"""

import json
import os

import numpy as np
import torch
from torch import nn

SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def model_fn(model_dir):
    saved = torch.load(os.path.join(model_dir, "model.pth"))
    model = nn.Sequential(nn.Linear(saved["inputs"], 8), nn.ReLU(), nn.Linear(8, 3))
    model.load_state_dict(saved["state"])
    return model.eval()


def input_fn(body, content_type):
    if content_type != "text/csv":
        raise ValueError(f"unsupported content type {content_type}")
    text = body.decode() if isinstance(body, bytes) else body
    return torch.tensor(np.loadtxt(text.splitlines(), delimiter=",", ndmin=2), dtype=torch.float32)


def predict_fn(data, model):
    with torch.no_grad():
        return torch.softmax(model(data), dim=1)


def output_fn(prediction, accept):
    lines = []
    for row in prediction.tolist():
        best = int(np.argmax(row))
        lines.append(json.dumps({"prediction": SPECIES[best], "confidence": round(row[best], 4)}))
    return "\n".join(lines) + "\n"
