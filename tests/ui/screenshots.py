"""Screenshots of the web view's main pages into docs/screenshots/ (rerun after a change).

    python tests/ui/screenshots.py [OUTDIR]

Compiles the penguins PyTorch bundle (deployment and builtin monitoring on) and a variant
with another epoch count, runs the bundle twice on a fresh engine root (defaults; then
ApproveThreshold=1.01, which registers a pending model), runs the data-quality schedule once,
serves `python -m ui` over them and photographs each page in headless Chromium at 1280 px wide.
Execution ids and times differ from run to run; the pages do not.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from compiler.compile import compile_overrides, write_bundle  # noqa: E402
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, finish, serve, start_engine  # noqa: E402

PIPELINE = "penguins-pytorch-train"
SCHEDULE = "penguins-endpoint-data-quality"
OVERRIDES = [
    "project=penguins",
    "framework=pytorch",
    "monitoring.backend=builtin",
    "project.hyperparameters.epochs=2",
]


def main(outdir: Path) -> int:
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        build = Path(scratch) / "build"
        bundle = write_bundle(compile_overrides([*OVERRIDES, f"output_dir={build / PIPELINE}"]))
        variant = [*OVERRIDES, "project.hyperparameters.epochs=3"]
        write_bundle(compile_overrides([*variant, f"output_dir={build / 'epochs-3'}"]))
        root = build / "engine"
        finish(start_engine(bundle, root))
        finish(start_engine(bundle, root, "--from", "CheckApprove", "-p", "ApproveThreshold=1.01"))
        # A monitoring run before any traffic: its pipeline fails, saying nothing was captured.
        schedule = ["-m", "engine.schedule", "--root", str(root), "run", SCHEDULE]
        subprocess.run([sys.executable, *schedule], cwd=REPO, capture_output=True, check=False)
        older, newer = sorted(p.name for p in (root / "executions" / PIPELINE).iterdir())
        execution = f"/executions/{PIPELINE}/{older}"
        pages = {
            "pipelines": "/",
            "bundle": f"/bundles/{PIPELINE}",
            "execution": execution,
            "step": f"{execution}/steps/Evaluate",
            "compare": f"/compare?a={PIPELINE}/{newer}&b={PIPELINE}/{older}",
            "models": "/models",
            "monitoring": "/monitoring",
            "diff": f"/diff?a={PIPELINE}&b=epochs-3",
        }
        for served in serve(build, root):
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(served.login_url())
                for name, path in pages.items():
                    page.goto(served.url + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=outdir / f"{name}.png", full_page=True)
                    print(outdir / f"{name}.png")
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"))
