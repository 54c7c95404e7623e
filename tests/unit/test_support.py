"""The compiler warns, with the newer image in the fix, when an image is past AWS's support."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from compiler.load import load_config
from compiler.support import image_warnings
from compiler.validate import validate_config

TODAY = date(2026, 12, 6)
REPO = Path(__file__).resolve().parents[2]
ECR = "763104351884.dkr.ecr.us-east-1.amazonaws.com"


def warnings_for(overrides: list[str], today: date = TODAY) -> list[str]:
    return image_warnings(validate_config(load_config(overrides)), today)


def test_each_lapsed_image_is_one_warning_with_where_what_why_fix() -> None:
    warnings = warnings_for(
        [
            "project=penguins",
            "framework=tensorflow",
            "framework.version=2.19",
            "framework.inference_version=2.19",
        ]
    )

    assert warnings[0] == (
        "warning: framework.version = '2.19' (tensorflow's training image)\n"
        "  tensorflow-training:2.19 is past its support: AWS stopped patching it on 2026-03-11\n"
        "  why: an unpatched image keeps the vulnerabilities found after its end of patch\n"
        "  fix: AWS patches tensorflow-training:2.21 until 2027-07-10: set framework.version=2.21"
    )
    assert warnings[1].splitlines()[0] == (
        "warning: framework.inference_version = '2.19' (tensorflow's inference image)"
    )
    assert warnings[1].endswith(
        "  fix: AWS patches tensorflow-inference:2.20 until 2027-08-20: "
        "set framework.inference_version=2.20"
    )
    assert warnings[2].startswith("warning: the scikit-learn image 1.2-1 (preprocessing")
    assert "its Python 3.9 reached end of life on 2025-10-31" in warnings[2]
    assert len(warnings) == 3


def test_the_default_tensorflow_images_are_patched() -> None:
    warnings = warnings_for(["project=penguins", "framework=tensorflow"])

    assert [w.splitlines()[0] for w in warnings] == [
        "warning: the scikit-learn image 1.2-1 (preprocessing, the builtin monitor jobs)"
    ]


def test_pytorch_serving_is_warned_with_no_later_image_to_move_to() -> None:
    warnings = warnings_for(
        ["project=penguins", "framework=pytorch", "framework.training_instance_type=ml.g5.xlarge"]
    )

    assert warnings[0] == (
        "warning: framework.inference_version = '2.6' (pytorch's inference image)\n"
        "  pytorch-inference:2.6 is past its support: AWS stopped patching it on 2026-06-30\n"
        "  why: an unpatched image keeps the vulnerabilities found after its end of patch\n"
        "  fix: AWS patches no later pytorch-inference image: set framework.inference_image to "
        "an image you patch yourself, or keep this one knowingly"
    )
    assert len(warnings) == 2  # and the scikit-learn image: training 2.10 is patched


def test_a_null_inference_version_is_warned_at_the_version_that_chose_it() -> None:
    warnings = warnings_for(
        [
            "project=penguins",
            "framework=pytorch",
            "framework.version=2.6",
            "framework.inference_version=null",
        ]
    )

    assert [w.splitlines()[0] for w in warnings[:2]] == [
        "warning: framework.version = '2.6' (pytorch's training image)",
        "warning: framework.version = '2.6' (pytorch's inference image)",
    ]
    assert warnings[0].endswith("set framework.version=2.10")


def test_an_image_the_config_names_itself_is_not_warned_about() -> None:
    own = "framework.training_image=123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    warnings = warnings_for(
        ["project=penguins", "framework=xgboost", "framework.version=1.7-1", own]
    )

    assert [w.splitlines()[0] for w in warnings] == [
        "warning: framework.version = '1.7-1' (xgboost's inference image)",
        "warning: the scikit-learn image 1.2-1 (preprocessing, the builtin monitor jobs)",
    ]
    assert warnings[0].endswith(
        "fix: AWS patches sagemaker-xgboost:3.2-0 until 2027-05-13: "
        "set framework.inference_version=3.2-0"
    )


def test_the_default_xgboost_is_patched() -> None:
    warnings = warnings_for(["project=penguins", "framework=xgboost"])

    assert [w.splitlines()[0] for w in warnings] == [
        "warning: the scikit-learn image 1.2-1 (preprocessing, the builtin monitor jobs)"
    ]


def test_no_warning_while_every_image_is_patched() -> None:
    assert warnings_for(["project=penguins", "framework=pytorch"], date(2025, 6, 1)) == []


def test_the_compile_prints_the_warnings_and_still_writes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "project=penguins", f"output_dir={tmp_path}/out"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )

    assert proc.returncode == 0, proc.stderr
    # The default framework's images are patched; the scikit-learn image's Python is not.
    assert proc.stderr.count("warning: ") == 1, proc.stderr
    assert (tmp_path / "out" / "pipeline.json").is_file()
