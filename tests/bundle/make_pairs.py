"""Write the committed bundle pairs under tests/bundle/pairs/<case>/{a,b}/ by compiling.

Run from the repository root after an intended change to the compiler:
`.venv/bin/python -m tests.bundle.make_pairs`, then
`.venv/bin/python -m pytest tests/bundle --update-goldens` and read `git diff tests/bundle`.

Each case is one kind of change: a new threshold default, a new step, a changed script, an instance
type, publish-level settings (schedule, tags, description, parallelism, Lambda role). The changed
script is made as an edit would make it: one asset's file gets new bytes, so its sha256, its
content-addressed S3 URI and the pipeline.json reference all change together (the compiler reads
scripts from the checkout, which this must not edit).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from compiler.compile import compile_overrides

PAIRS = Path(__file__).parent / "pairs"
REPO = Path(__file__).resolve().parents[2]
BASE = ["project=penguins", "framework=pytorch", "training=train"]
NO_DATA_QUALITY = [
    "monitoring.data_quality.enabled=false",
    "monitoring.data_quality.schedule.enabled=false",
]
EDITED_ASSET = "evaluate-code"
EDIT = b"\n# an edit: the changed-script pair\n"

# Publish-level settings only: the definition stays the same, publishing would not.
PUBLISH_SETTINGS = [
    "pipeline.schedule.enabled=true",
    "+pipeline.tags.team=forecasting",
    "pipeline.description=nightly retraining",
    "pipeline.max_parallel_steps=4",
    "deployment.lambda_role_arn=arn:aws:iam::111122223333:role/OtherLambdaRole",
]

CASES: dict[str, tuple[list[str], list[str]]] = {
    "threshold": (BASE, [*BASE, "gate.approve=0.8"]),
    "new-step": ([*BASE, *NO_DATA_QUALITY], BASE),
    "changed-script": (BASE, BASE),
    "instance-type": (BASE, [*BASE, "monitoring.instance_type=ml.c5.xlarge"]),
    "publish-settings": (BASE, [*BASE, *PUBLISH_SETTINGS]),
}


def canonical(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def edit_script(pipeline_json: str, assets_json: str) -> tuple[str, str]:
    """The bundle as it would compile after appending EDIT to EDITED_ASSET's one file."""
    manifest = json.loads(assets_json)
    asset = next(a for a in manifest["assets"] if a["name"] == EDITED_ASSET)
    (file,) = asset["files"]
    new_sha = hashlib.sha256((REPO / file["path"]).read_bytes() + EDIT).hexdigest()
    old_uri = asset["s3_uri"]
    asset["s3_uri"] = old_uri.replace(asset["sha256"], new_sha)
    asset["sha256"] = file["sha256"] = new_sha
    if old_uri not in pipeline_json:
        raise SystemExit(f"{old_uri} is not referenced by pipeline.json: pick another asset")
    return pipeline_json.replace(old_uri, asset["s3_uri"]), canonical(manifest)


def main() -> None:
    for case, (old, new) in CASES.items():
        for side, overrides in (("a", old), ("b", new)):
            bundle = compile_overrides(overrides)
            pipeline_json, assets_json = bundle.pipeline_json, bundle.assets_json
            if case == "changed-script" and side == "b":
                pipeline_json, assets_json = edit_script(pipeline_json, assets_json)
            folder = PAIRS / case / side
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "pipeline.json").write_text(pipeline_json, encoding="utf-8")
            (folder / "assets.json").write_text(assets_json, encoding="utf-8")
        (PAIRS / case / "overrides.txt").write_text(
            f"a: {' '.join(old)}\nb: {' '.join(new)}\n", encoding="utf-8"
        )
        print(f"wrote {PAIRS / case}")


if __name__ == "__main__":
    main()
