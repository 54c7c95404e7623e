"""The pipeline picture: golden Mermaid and DOT text for compiled definitions, Graphviz accepts
the DOT, the Mermaid keeps to the flowchart syntax GitHub renders, and labels are escaped."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bundle.graph import main as graph_main
from kernel.picture import dot, mermaid, picture_files
from tests.goldens import check_golden

HERE = Path(__file__).parent
GOLDEN_DEFINITIONS = HERE.parent / "golden"
CASES = ("penguins-pytorch-train", "penguins-tensorflow-train_and_tune", "digits-pytorch-tune")
PAIR = HERE / "pairs" / "threshold" / "a"


def definition_of(case: str) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(
        (GOLDEN_DEFINITIONS / case / "pipeline.json").read_text()
    )
    return definition


def need_dot() -> str:
    """Graphviz's `dot`; CI must have it (a skip there would hide a broken picture)."""
    program = shutil.which("dot")
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz is missing in CI: `apt-get install -y graphviz` in .ci/run")
        pytest.skip("Graphviz's dot is not installed: apt-get install -y graphviz")
    return program


@pytest.mark.parametrize("case", CASES, ids=CASES)
@pytest.mark.parametrize("suffix", [".mmd", ".dot"], ids=["mermaid", "dot"])
def test_golden_picture(case: str, suffix: str, request: pytest.FixtureRequest) -> None:
    draw = mermaid if suffix == ".mmd" else dot
    check_golden(HERE / "pictures" / f"{case}{suffix}", draw(definition_of(case)), request)


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_graphviz_draws_the_dot(case: str) -> None:
    done = subprocess.run(
        [need_dot(), "-Tsvg"], input=dot(definition_of(case)).encode(), capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"<svg" in done.stdout
    assert done.stderr == b""


MERMAID_SHAPES = {
    ("[[", "]]"), ("([", "])"), ("{{", "}}"), ("{", "}"), (">", "]"), ("[/", "/]"),
    ("[(", ")]"), ("(", ")"), ("[\\", "\\]"), ("[/", "\\]"), ("[", "]"),
}  # fmt: skip
NODE = re.compile(
    r'(?P<id>[A-Za-z][\w]*)(?P<open>[\[\(\{>/\\]+)"(?P<label>[^"]*)"(?P<close>[\]\)\}/\\]+)'
)
SUBGRAPH = re.compile(r'subgraph (?P<id>[A-Za-z]\w*) \["(?P<label>[^"]*)"\]')
EDGE = re.compile(
    r"(?P<a>[A-Za-z]\w*) (?:-->|-\.->\|depends on\||-->\|if true\||-->\|else\|) (?P<b>[A-Za-z]\w*)"
)
CLASS_DEF = re.compile(r"classDef \w+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}")
CLASS = re.compile(r"class (?P<ids>[\w,]+) \w+")


def mermaid_problems(text: str) -> list[str]:
    """Check every line against the flowchart subset we emit; ids declared once, then used."""
    lines = text.splitlines()
    problems = [] if lines[0] == "flowchart TD" else ["first line is not `flowchart TD`"]
    declared: set[str] = set()
    depth = 0
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        node, subgraph = NODE.fullmatch(line), SUBGRAPH.fullmatch(line)
        found = node or subgraph
        label = found.group("label") if found else ""
        if re.search(r'[<>"]', label.replace("<br/>", "")):
            problems.append(f"line {number}: unescaped character in label {label!r}")
        if node:
            if (node["open"], node["close"]) not in MERMAID_SHAPES:
                problems.append(f"line {number}: unknown shape {node['open']}...{node['close']}")
            if node["id"] in declared:
                problems.append(f"line {number}: {node['id']} declared twice")
            declared.add(node["id"])
        elif subgraph:
            depth += 1
        elif line == "end":
            depth -= 1
        elif edge := EDGE.fullmatch(line):
            problems += [
                f"line {number}: {i} undeclared" for i in edge.groups() if i not in declared
            ]
        elif klass := CLASS.fullmatch(line):
            problems += [
                f"line {number}: {i} undeclared"
                for i in klass["ids"].split(",")
                if i not in declared
            ]
        elif not (line.startswith("%% ") or CLASS_DEF.fullmatch(line)):
            problems.append(f"line {number}: not flowchart syntax: {line!r}")
    return problems + ([f"{depth} subgraph(s) not closed"] if depth else [])


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_mermaid_keeps_to_flowchart_syntax(case: str) -> None:
    assert mermaid_problems(mermaid(definition_of(case))) == []


def test_the_syntax_check_catches_bad_lines() -> None:
    bad = 'flowchart TD\n  s_A["a"b"]\n  s_A --> s_B\n  subgraph x ["t"]\n'
    assert mermaid_problems(bad) == [
        'line 2: not flowchart syntax: \'s_A["a"b"]\'',
        "line 3: s_A undeclared",
        "line 3: s_B undeclared",
        "1 subgraph(s) not closed",
    ]


def test_conditions_show_comparisons_with_parameter_defaults() -> None:
    definition = definition_of("penguins-pytorch-train")
    approve = "Evaluate.EvaluationReport: metrics.accuracy.value >= ApproveThreshold (0.7)"
    assert f'"CheckApprove\\n{approve}"' in dot(definition)
    assert f'{{"CheckApprove<br/>{approve.replace(">", "#gt;")}"}}' in mermaid(definition)
    assert "Deploy.OutputParameters['statusCode'] == 200" in dot(definition)
    two = definition_of("penguins-tensorflow-train_and_tune")
    assert (
        "EvaluateTrain.EvaluationReport: metrics.accuracy.value >= "
        "EvaluateTune.EvaluationReport: metrics.accuracy.value"
    ) in dot(two)


def test_parameters_are_listed_with_type_and_default() -> None:
    text = dot(definition_of("penguins-pytorch-train"))
    assert "\\lApproveThreshold: Float = 0.7\\l" in text
    assert '\\lProcessingInstanceType: String = \\"ml.m5.xlarge\\"\\l' in text


def test_nested_branch_steps_sit_under_their_condition() -> None:
    text = mermaid(definition_of("penguins-pytorch-train"))
    if_box = text.index('subgraph b_CheckApprove_IfSteps ["CheckApprove: if true"]')
    else_box = text.index('subgraph b_CheckApprove_ElseSteps ["CheckApprove: else"]')
    assert if_box < text.index("s_RegisterApproved[(") < text.index("s_DeploySucceeded{") < else_box
    assert else_box < text.index("s_Reject>")
    assert "  s_CheckApprove -->|if true| s_RegisterApproved\n" in text
    assert "  s_CheckApprove -->|else| s_CheckPending\n" in text
    assert "  s_CheckApprove -->|if true| s_Deploy\n" not in text  # Deploy follows RegisterApproved
    assert "  s_RegisterApproved --> s_Deploy\n" in text


def test_edges_come_from_property_files_joins_and_depends_on() -> None:
    definition = {
        "Parameters": [],
        "Steps": [
            {"Name": "A", "Type": "Processing", "Arguments": {}},
            {"Name": "B", "Type": "Processing", "Arguments": {}},
            {
                "Name": "C",
                "Type": "Fail",
                "DependsOn": ["B"],
                "Arguments": {
                    "ErrorMessage": {
                        "Std:Join": {
                            "On": " ",
                            "Values": ["x", {"Get": "Steps.A.ProcessingJobName"}],
                        }
                    }
                },
            },
        ],
    }
    text = dot(definition)
    assert '  "A" -> "C";\n' in text
    assert '  "B" -> "C" [style=dashed, label="depends on"];\n' in text
    assert '"B" -> "A"' not in text and '"A" -> "B"' not in text


def test_labels_are_escaped() -> None:
    tricky = 'a "quoted" <b> [x] {y} #1 \\ & end'
    definition = {
        "Parameters": [{"Name": "Tricky", "Type": "String", "DefaultValue": tricky}],
        "Steps": [
            {
                "Name": "Gate",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "Equals",
                            "LeftValue": {"Get": "Parameters.Tricky"},
                            "RightValue": "<]",
                        }
                    ],
                    "IfSteps": [],
                    "ElseSteps": [{"Name": "end", "Type": "Fail", "Arguments": {}}],
                },
            }
        ],
    }
    text = mermaid(definition)
    assert mermaid_problems(text) == []
    assert "#quot;a \\#quot;quoted\\#quot; #lt;b#gt; [x] {y} #35;1 \\\\ #amp; end#quot;" in text
    done = subprocess.run(
        [need_dot(), "-Tsvg"], input=dot(definition).encode(), capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "a \\&quot;quoted\\&quot; &lt;b&gt; [x] {y} #1 \\\\ &amp; end" in done.stdout.decode()


def test_output_is_the_same_whatever_the_key_order() -> None:
    definition = definition_of("penguins-tensorflow-train_and_tune")

    def reversed_keys(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reversed_keys(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reversed_keys(v) for v in value]
        return value

    shuffled = reversed_keys(copy.deepcopy(definition))
    assert list(shuffled) != list(definition)
    assert mermaid(shuffled) == mermaid(definition)
    assert dot(shuffled) == dot(definition)


def test_picture_files_are_the_two_texts() -> None:
    definition = definition_of("penguins-pytorch-train")
    assert picture_files(definition) == {
        "pipeline.mmd": mermaid(definition),
        "pipeline.dot": dot(definition),
    }


@pytest.mark.parametrize("kind", ["mermaid", "dot"])
def test_graph_cli_prints_the_picture(
    kind: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert graph_main([str(PAIR), "--format", kind]) == 0
    definition = json.loads((PAIR / "pipeline.json").read_text())
    assert capsysbinary.readouterr().out.decode() == (mermaid if kind == "mermaid" else dot)(
        definition
    )


def test_graph_cli_writes_an_svg(tmp_path: Path) -> None:
    need_dot()
    out = tmp_path / "deep" / "pipeline.svg"
    assert graph_main([str(PAIR), "--format", "svg", "--output", str(out)]) == 0
    assert out.read_bytes().lstrip().startswith(b"<?xml")
    assert b"CheckApprove" in out.read_bytes()
    assert [p.name for p in out.parent.iterdir()] == ["pipeline.svg"]


def test_graph_cli_without_graphviz_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "pipeline.svg"
    assert graph_main([str(PAIR), "--format", "svg", "--output", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: {PAIR / 'pipeline.json'}\n"
        "  --format svg needs Graphviz's `dot` program\n"
        "  why: `dot` is not on PATH\n"
        "  fix: install Graphviz: `sudo apt-get install -y graphviz` (Debian, Ubuntu), "
        "`brew install graphviz` (macOS), or see https://graphviz.org/download/; "
        "or use --format mermaid or --format dot\n"
    )
    assert not out.exists()


def test_graph_cli_on_a_missing_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert graph_main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: {tmp_path / 'nope'}\n  no such bundle folder\n"
    )
