"""The record preprocessor runs on Python 3.8 with the standard library alone, as here.

Model Monitor's analyzer container (closed source; its Python unpublished) imports the script, so
it keeps to what Python 3.8 offers and to the standard library (README.md, "Job code on the
containers' stacks"). The oldest interpreter AWS could plausibly use is 3.8: the script runs there
isolated (`-I -S`: no site-packages, no PYTHONPATH; warnings are errors) on captured requests of
every shape, and must answer exactly as it does under this machine's Python.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.environments import find_interpreter
from tests.components.runner import REPO

PREPROCESSOR = REPO / "jobkit/capture.py"  # Model Monitor loads it alone as the preprocessor
OLDEST = "3.8"
# Reads cases (environment, captured input) as JSON on stdin; prints the handler's answers.
DRIVER = """
import importlib.util, json, os, sys
from types import SimpleNamespace
spec = importlib.util.spec_from_file_location("record_preprocessor", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
answers = []
for case in json.load(sys.stdin):
    os.environ.update(case["env"])
    answers.append(module.preprocess_handler(SimpleNamespace(endpoint_input=SimpleNamespace(
        **case["input"]))))
    for name in case["env"]:
        del os.environ[name]
print("%d.%d" % sys.version_info[:2])
print(json.dumps(answers))
"""
TABULAR = {
    "MONITOR_NUMERIC_FEATURES": "culmen_length_mm,culmen_depth_mm,flipper_length_mm,body_mass_g",
    "MONITOR_CATEGORICAL_FEATURES": "island",
}


def case(env: dict[str, str], data: str, content_type: str, encoding: str) -> dict[str, Any]:
    return {
        "env": env,
        "input": {"data": data, "encoding": encoding, "observed_content_type": content_type},
    }


def cases(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Captured requests of every shape the handler meets: one, a list, lines, BASE64, pixels,
    numeric text, an unreadable body."""
    requests = [{k: v for k, v in row.items() if k != "ground_truth"} for row in rows]
    batch = json.dumps(requests)
    return [
        case(TABULAR, json.dumps(requests[0]), "application/json", "JSON"),
        case(TABULAR, batch, "application/json", "JSON"),
        case(TABULAR, "\n".join(map(json.dumps, requests)), "application/jsonlines", "JSON"),
        case(TABULAR, base64.b64encode(batch.encode()).decode(), "application/json", "BASE64"),
        case(TABULAR, '[{"island": "Dream", "body_mass_g": "3800.5"}]', "application/json", "JSON"),
        case(TABULAR, "not json", "application/json", "JSON"),
        case(
            {"MONITOR_PIXEL_FEATURES": "true"},
            json.dumps({"pixels": [[0, 16.0], [255, 3]]}),
            "application/json",
            "JSON",
        ),
    ]


def here(all_cases: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    spec = importlib.util.spec_from_file_location("record_preprocessor_here", PREPROCESSOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    answers = []
    for one in all_cases:
        with monkeypatch.context() as patch:
            for name, value in one["env"].items():
                patch.setenv(name, value)
            record = SimpleNamespace(endpoint_input=SimpleNamespace(**one["input"]))
            answers.append(module.preprocess_handler(record))
    return answers


def test_the_record_preprocessor_answers_alike_on_python_38(
    penguins_processed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = find_interpreter(OLDEST)
    assert python is not None, f"no Python {OLDEST}: `pyenv install {OLDEST}`"
    lines = (penguins_processed / "baseline" / "test.jsonl").read_text().splitlines()[:5]
    all_cases = cases([json.loads(line) for line in lines])

    done = subprocess.run(
        [str(python), "-I", "-S", "-W", "error", "-c", DRIVER, str(PREPROCESSOR)],
        input=json.dumps(all_cases),
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stderr
    version, answers = done.stdout.splitlines()
    assert version == OLDEST
    expected = here(all_cases, monkeypatch)
    assert json.loads(answers) == expected
    assert expected[0] == {k: v for k, v in json.loads(lines[0]).items() if k != "ground_truth"}
    assert expected[5] == [] and expected[6] == {"p0": 0, "p1": 16, "p2": 255, "p3": 3}
