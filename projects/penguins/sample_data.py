"""Write the Palmer penguins data in the raw layout the preprocess step reads, without a download.

The course uploads `penguins.csv` (culmen_* column names); the `palmerpenguins` package ships the
same measurements under bill_* names, so tests and demos rebuild the course's file from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from projects.sample import command, write_csvs

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
    return write_csvs(directory, {"penguins.csv": frame})[0]


main = command("projects.penguins.sample_data", write_penguins_csv)

if __name__ == "__main__":
    sys.exit(main())
