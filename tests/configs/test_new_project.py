"""A new project is one YAML: a throwaway project added to a copy of conf/ works everywhere.

The project (scikit-learn's breast cancer data: 30 numeric features, two classes) is what a user
would add: `conf/project/<name>.yaml`, plus `projects/<name>/` with its sample data and, here, its
own preprocess script. Nothing in the compiler or the suite names it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bundle.assets import asset_bytes
from compiler.compile import Bundle, compile_loaded
from compiler.load import CONF_DIR, group_options, load_config
from kernel.check import all_steps
from kernel.errors import CompileError
from tests.configs.test_config_errors import CASES, read_case
from tests.unit.test_compose import combinations

pytestmark = pytest.mark.integration  # it runs the packed preprocess script (pandas, sklearn)
REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = '''"""Write the breast cancer data set as one CSV with a `diagnosis` column."""
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer


def main(argv=None):
    out = Path((sys.argv[1:] if argv is None else argv)[0])
    out.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = [data.target_names[t] for t in frame["diagnosis"]]
    frame.to_csv(out / "cancer.csv", index=False)
    print(out / "cancer.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


@dataclass(frozen=True)
class Throwaway:
    name: str
    conf: Path
    folder: Path  # projects/<name>/ in this checkout
    features: list[str]


@pytest.fixture(scope="module")
def throwaway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Throwaway]:
    from sklearn.datasets import load_breast_cancer

    name = f"zz-throwaway-{uuid.uuid4().hex[:8]}"
    conf = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(CONF_DIR, conf)
    features = [str(f) for f in load_breast_cancer().feature_names]
    project = {
        "defaults": ["_base", "_self_"],
        "name": name,
        "classes": ["malignant", "benign"],
        "positive_class": "malignant",
        "data": {"kind": "tabular", "target": "diagnosis", "numeric": features},
        "split": {"validation": 0.15, "test": 0.15, "seed": 7},
        "hyperparameters": {"epochs": 5, "batch_size": 32, "learning_rate": 0.01},
        "scripts": {"preprocess": f"projects/{name}/preprocess.py"},
    }
    (conf / "project" / f"{name}.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    folder = REPO / "projects" / name
    folder.mkdir()
    try:
        (folder / "sample_data.py").write_text(SAMPLE_DATA)
        shutil.copy(
            REPO / "components/preprocess/scripts/preprocess_tabular.py", folder / "preprocess.py"
        )
        yield Throwaway(name, conf, folder, features)
    finally:
        shutil.rmtree(folder)


def compiled(throwaway: Throwaway, *overrides: str) -> Bundle:
    return compile_loaded(load_config([f"project={throwaway.name}", *overrides], throwaway.conf))


def test_every_combination_with_the_new_project_compiles(throwaway: Throwaway) -> None:
    combos = [c for c in combinations(throwaway.conf) if f"project={throwaway.name}" in c]
    assert len(combos) == len(combinations(CONF_DIR)) // len(group_options("project"))
    for overrides in combos:
        bundle = compile_loaded(load_config(overrides, throwaway.conf))
        assert bundle.config.project.name == throwaway.name
        assert "penguins" not in bundle.pipeline_json
        assert "Adelie" not in bundle.pipeline_json


def test_each_of_thirty_columns_is_its_own_short_argument(throwaway: Throwaway) -> None:
    definition = json.loads(compiled(throwaway).pipeline_json)
    (preprocess,) = [s for s in definition["Steps"] if s["Name"] == "Preprocess"]
    arguments = preprocess["Arguments"]["AppSpecification"]["ContainerArguments"]
    start = arguments.index("--numeric") + 1
    assert arguments[start : start + 30] == throwaway.features
    assert max(len(a) for a in arguments) <= 256


def test_the_projects_own_script_is_packed_and_keeps_the_contract(
    throwaway: Throwaway, tmp_path: Path
) -> None:
    bundle = compiled(throwaway)
    code = bundle.manifest.asset("preprocess-code")
    assert [f.path for f in code.files] == [f"projects/{throwaway.name}/preprocess.py"]
    assert asset_bytes(code) == (throwaway.folder / "preprocess.py").read_bytes()
    # Run the packed script as its job would, on the project's sample data.
    script = tmp_path / "code" / "preprocess.py"
    script.parent.mkdir()
    script.write_bytes(asset_bytes(code))
    subprocess.run(
        [sys.executable, str(throwaway.folder / "sample_data.py"), str(tmp_path / "input")],
        check=True,
        capture_output=True,
    )
    definition = json.loads(bundle.pipeline_json)
    (step,) = [s for s in definition["Steps"] if s["Name"] == "Preprocess"]
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    proc = subprocess.run(
        [sys.executable, str(script), "--base_dir", str(tmp_path), *arguments],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    classes = json.loads((tmp_path / "artifacts" / "classes.json").read_text())
    assert classes == ["malignant", "benign"]
    rows = sum(
        len((tmp_path / split / f"{split}.csv").read_text().splitlines()) - 1
        for split in ("train", "validation", "test")
    )
    assert rows == 569  # every record of the data set, none dropped
    header = (tmp_path / "train" / "train.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "label" and len(header) == 31


def test_config_errors_read_the_same_with_the_new_project(throwaway: Throwaway) -> None:
    """The error cases that list a group's options list the new project too."""
    (case,) = [c for c in CASES if c.stem == "unknown_group_option"]
    overrides, expected = read_case(case, throwaway.conf)
    assert f"'{throwaway.name}'" in expected
    with pytest.raises(CompileError) as raised:
        compile_loaded(load_config(overrides, throwaway.conf))
    assert raised.value.render() == expected


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ("project.data.numeric=[diagnosis,mean radius]", "the model would be given the answer"),
        ("project.classes=[0,1]", "class names must be text"),
        ("project.scripts.preprocess=projects/penguins/sample_data.py", "its own folder"),
        ("project.scripts.train=projects/{name}/missing.py", "there is no file"),
    ],
    ids=["target-as-feature", "numeric-classes", "script-of-another-project", "missing-script"],
)
def test_the_new_projects_mistakes_read_where_what_why_fix(
    throwaway: Throwaway, override: str, why: str
) -> None:
    override = override.format(name=throwaway.name)
    with pytest.raises(CompileError) as raised:
        compiled(throwaway, override)
    (problem,) = raised.value.problems
    assert problem.where == f"command line override {override}"
    assert why in problem.why


def test_the_schedules_get_the_projects_own_features(throwaway: Throwaway) -> None:
    """Data quality keeps the project's columns; model quality reads the endpoint's answer."""
    definition = json.loads(compiled(throwaway).pipeline_json)
    events = {
        s["Name"]: s["Arguments"] for s in all_steps(definition["Steps"]) if s["Type"] == "Lambda"
    }
    data_quality = events["ScheduleDataQualityMonitor"]
    assert data_quality["numeric_features"] == throwaway.features
    assert "categorical_features" not in data_quality and "record_preprocessor_uri" in data_quality
    assert "record_preprocessor_uri" not in events["ScheduleModelQualityMonitor"]
