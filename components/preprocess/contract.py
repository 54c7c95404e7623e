"""What the preprocess step promises the steps after it: its name, outputs and baseline files."""

from __future__ import annotations

NAME = "Preprocess"
OUTPUTS = ("train", "validation", "test", "artifacts", "baseline")
DATA_QUALITY_RECORDS = "data-quality.csv"  # in `baseline`: train records without labels, CSV
TEST_RECORDS = "test.jsonl"  # in `baseline`: test records with their ground truth
SCRIPTS = {
    "tabular": "components/preprocess/scripts/preprocess_tabular.py",
    "image": "components/preprocess/scripts/preprocess_image.py",
}
