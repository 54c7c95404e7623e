"""Write the Palmer penguins data in the raw layout the preprocess step reads, without a download.

The course uploads `penguins.csv` (culmen_* column names); the `palmerpenguins` package ships the
same measurements under bill_* names, so tests and demos rebuild the course's file from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

COLUMNS = [
    "species",
    "island",
    "culmen_length_mm",
    "culmen_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
]


def write_penguins_csv(directory: str | Path) -> Path:
    """Write `<directory>/penguins.csv`, missing values as empty cells, and return its path."""
    import palmerpenguins  # here, not at import time: only this function needs it

    frame = palmerpenguins.load_penguins().rename(
        columns={"bill_length_mm": "culmen_length_mm", "bill_depth_mm": "culmen_depth_mm"}
    )
    frame = frame[COLUMNS].copy()
    # Whole numbers in the course's file; nullable ints keep the missing cells empty.
    for column in ("flipper_length_mm", "body_mass_g"):
        frame[column] = frame[column].round().astype("Int64")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "penguins.csv"
    frame.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m projects.penguins.sample_data OUTDIR`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m projects.penguins.sample_data OUTDIR", file=sys.stderr)
        return 2
    print(write_penguins_csv(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
