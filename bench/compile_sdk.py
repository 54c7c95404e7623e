"""The SDK side of bench/compile: build one pipeline with the SageMaker SDK 2.x, cold.

    python bench/compile_sdk.py CONFIG_JSON ASSETS_JSON OUT_DIR

Reads a validated PipelineConfig (JSON) and the assets' S3 URIs, builds the same pipeline as our
compiler with tests/oracle/sdk_twin.py, calls `definition()` and writes it to OUT_DIR. Writes
its own phase timings to OUT_DIR/timings.json, so the caller can subtract the time spent reading
our config, which an SDK user's script would not spend.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

START = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str]) -> int:
    config_path, assets_path, out = argv
    from compiler.schema import PipelineConfig

    config = PipelineConfig.model_validate_json(Path(config_path).read_text())
    assets = json.loads(Path(assets_path).read_text())
    loaded = time.perf_counter()
    from tests.oracle import sdk_twin

    imported = time.perf_counter()
    definition = sdk_twin.sdk_definition(config, assets)
    (Path(out) / "pipeline.json").write_text(json.dumps(definition, indent=2, sort_keys=True))
    done = time.perf_counter()
    timings = {
        "load_config_s": loaded - START,
        "import_sdk_s": imported - loaded,
        "build_s": done - imported,
    }
    (Path(out) / "timings.json").write_text(json.dumps(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
