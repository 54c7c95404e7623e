"""Session 3: the model's accuracy on the test split, as a property file for the condition.

Run by a FrameworkProcessor (PyTorchProcessor) from its source dir, with the requirements.txt
beside it; it opens the container paths directly.
"""

import json
import tarfile
import tempfile
from pathlib import Path

import numpy as np

BASE = Path("/opt/ml/processing")


def main():
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(BASE / "model" / "model.tar.gz") as archive:
            archive.extractall(folder)
        model = dict(np.load(Path(folder) / "model.npz"))
    rows = np.loadtxt(BASE / "test" / "test.csv", delimiter=",")
    predicted = (rows[:, 1:] @ model["weights"] + model["bias"]).argmax(axis=1)
    accuracy = float((predicted == rows[:, 0]).mean())
    out = BASE / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps({"metrics": {"accuracy": {"value": accuracy}}}))
    print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
