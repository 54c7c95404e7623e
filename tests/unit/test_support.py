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
    assert len(warnings) == 2  # the scikit-learn image 1.9-0 is patched until 2027-07-16


def test_the_scikit_learn_image_is_warned_about_once_past_its_end_of_patch() -> None:
    warnings = warnings_for(["project=penguins", "framework=xgboost"], date(2027, 7, 17))

    assert len(warnings) == 3  # XGBoost 3.2-0's training and inference image lapsed in May
    assert warnings[2:] == [
        "warning: the scikit-learn image 1.9-0 (preprocessing, the builtin monitor jobs)\n"
        "  sagemaker-scikit-learn:1.9-0 is past its support: AWS stopped patching it on "
        "2027-07-16\n"
        "  why: an unpatched image keeps the vulnerabilities found after its end of patch\n"
        "  fix: AWS patches no later sagemaker-scikit-learn image: this compiler's version "
        "(kernel/frameworks.py SKLEARN_VERSION) must move once AWS publishes one, or keep this "
        "one knowingly"
    ]


def test_the_default_tensorflow_images_are_patched() -> None:
    assert warnings_for(["project=penguins", "framework=tensorflow"]) == []


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
    assert len(warnings) == 1  # training 2.10 and the scikit-learn image 1.9-0 are patched


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
    ]
    assert warnings[0].endswith(
        "fix: AWS patches sagemaker-xgboost:3.2-0 until 2027-05-13: "
        "set framework.inference_version=3.2-0"
    )


def test_the_default_xgboost_and_scikit_learn_images_are_patched() -> None:
    assert warnings_for(["project=penguins", "framework=xgboost"]) == []


def test_no_warning_while_every_image_is_patched() -> None:
    assert warnings_for(["project=penguins", "framework=pytorch"], date(2025, 6, 1)) == []


def test_the_compile_prints_the_warnings_and_still_writes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "compiler",
            "project=penguins",
            "framework=pytorch",
            f"output_dir={tmp_path}/out",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )

    assert proc.returncode == 0, proc.stderr
    # Only PyTorch's serving image is past its date: AWS publishes no later one.
    assert proc.stderr.count("warning: ") == 1, proc.stderr
    assert (tmp_path / "out" / "pipeline.json").is_file()
