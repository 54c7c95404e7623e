"""Datasets as the analyzer reads them: JSON lines, a JSON document, CSV, data capture."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from components.quality_check.scripts.errors import InputError, Record

CAPTURE_FORMAT = "sagemakerCaptureJson"


def parse_format(text: str | None) -> tuple[str, bool]:
    """('json', lines), ('csv', header) or ('capture', True) from dataset_format."""
    if text is None:
        return "json", True
    fix = (
        '  fix: use {"json": {"lines": true}}, {"csv": {"header": true}} or '
        '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
    )
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"setting dataset_format={text!r} is not JSON ({exc})\n{fix}") from None
    kinds = ("json", "csv", CAPTURE_FORMAT)
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in kinds:
        raise InputError(
            f"setting dataset_format={text!r}: expected one key, json, csv or {CAPTURE_FORMAT}\n"
            f"  why: this analyzer reads JSON (lines), CSV and data-capture datasets\n{fix}"
        )
    kind, options = next(iter(spec.items()))
    if kind == CAPTURE_FORMAT:
        return "capture", True
    option = "lines" if kind == "json" else "header"
    value = (options or {}).get(option, True) if isinstance(options, dict) else None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InputError(
            f"setting dataset_format={text!r}: {kind}.{option} must be true/false\n{fix}"
        )
    return kind, value


def dataset_files(source: Path, setting: str = "dataset_source") -> list[Path]:
    if source.is_file():
        return [source]
    files = (
        sorted(
            path
            for path in source.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(source).parts)
        )
        if source.is_dir()
        else []
    )
    if not files:
        raise InputError(
            f"setting {setting}={source}: no file there\n"
            f"  why: the data are read from that file or the files under that folder\n"
            f"  fix: point {setting} at the data (the job's input LocalPath)"
        )
    return files


def read_records(files: list[Path], kind: str, option: bool) -> list[Record]:
    records: list[Record] = []
    for path in files:
        if kind == "csv":
            records.extend(read_csv(path, header=option))
        elif kind == "capture" or option:
            records.extend(read_json_lines(path))
        else:
            records.extend(read_json_document(path))
    if not records:
        raise InputError(
            f"dataset {', '.join(str(f) for f in files)}: no records\n"
            f"  why: statistics need at least one record\n"
            f"  fix: check the dataset and dataset_format"
        )
    return records


def _record(where: str, value: Any) -> Record:
    if not isinstance(value, dict):
        raise InputError(
            f"{where}: a record must be a JSON object, not {type(value).__name__}\n"
            f'  fix: write one object per record, e.g. {{"feature": 1.5}}'
        )
    return where, value


def read_json_lines(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}:{number}: not JSON ({exc})\n"
                    f"  why: dataset_format says JSON lines, one object per line\n"
                    f"  fix: fix the line, or set dataset_format to the data's real format"
                ) from None
            yield _record(f"{path}:{number}", value)


def read_json_document(path: Path) -> Iterator[Record]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not a JSON document ({exc})\n"
            f'  fix: for one object per line set dataset_format to {{"json": {{"lines": true}}}}'
        ) from None
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        yield _record(f"{path}[{index}]", item)


def read_csv(path: Path, header: bool) -> Iterator[Record]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        names: list[str] | None = None
        for number, row in enumerate(rows, 1):
            if not row:
                continue
            if names is None:
                names = row if header else [f"_c{i}" for i in range(len(row))]
                if header:
                    continue
            if len(row) != len(names):
                raise InputError(
                    f"{path}:{number}: {len(row)} fields, the header has {len(names)}\n"
                    f"  fix: give every row one field per column (empty for missing)"
                )
            yield (
                f"{path}:{number}",
                {names[i]: (row[i] if row[i].strip() else None) for i in range(len(row))},
            )
