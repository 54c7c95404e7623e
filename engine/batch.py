"""A batch transform job's work: split input files into records, call the model, assemble.

Runs as its own process (`python -m engine.batch SPEC.json`), started by the Transform executor,
so a job's framework, memory and log are its own and Ctrl-C stops it. What SageMaker does and
this copies:

- SplitType `Line` makes each non-blank line a record, `None` makes the whole file one.
- BatchStrategy `SingleRecord` sends one record a request; `MultiRecord` (also when absent) as
  many newline-joined records as fit in MaxPayloadInMB (default 6).
- DataProcessing: `InputFilter` picks what is sent of each record, `JoinSource: Input` joins
  each prediction to its whole input record (a JSON object gets it under `SageMakerOutput`; any
  other JSON record becomes `{"SageMakerInput": record, "SageMakerOutput": prediction}`, as the
  API reference's DataProcessing says; a CSV row gets it appended), `OutputFilter` picks what is
  written. JSONPath subset:
  `$`, `$.a.b`, `$['a','b']` (an object of those keys), `$[0]`, `$[1:]`, `$[0,2:4]`.
- Each input file gives `<file>.out`; AssembleWith `Line` ends each record with a newline,
  `None` concatenates.
- A request the model answers with another status than 200 fails the job, naming the file, the
  records and the model's message. Requests go one at a time (MaxConcurrentTransforms is 1).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.errors import ProblemError
from kernel.frameworks import Protocol

MEGABYTE = 1024 * 1024
FAILURE_FILE = "failure.txt"
_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"^\$(\.{_KEY})+$")
_QUOTED = re.compile(r"^\$\[\s*'[^']+'(\s*,\s*'[^']+')*\s*\]$")
_INDEXED = re.compile(r"^\$\[\s*-?\d*(:-?\d*)?(\s*,\s*-?\d*(:-?\d*)?)*\s*\]$")


class JobFailed(Exception):
    """The transform job fails with this reason."""


def check_path(path: str) -> None:
    """Raise ValueError for a JSONPath outside the subset SageMaker's DataProcessing supports."""
    if path == "$" or _DOTTED.match(path) or _QUOTED.match(path) or _INDEXED.match(path):
        return
    raise ValueError(
        f"JSONPath {path!r} is not supported; use $, $.field, $['a','b'], $[0], $[1:] or $[0,2:4]"
    )


def select(value: Any, path: str) -> Any:
    """Apply one JSONPath of the subset to a record's value (a dict or a list of columns).

    Raises:
        JobFailed: a key or index the record does not have.
    """
    try:
        if path == "$":
            return value
        if _DOTTED.match(path):
            for key in path[2:].split("."):
                value = value[key]
            return value
        inside = path[2:-1]
        if _QUOTED.match(path):
            keys = [part.strip().strip("'") for part in inside.split(",")]
            return value[keys[0]] if len(keys) == 1 else {key: value[key] for key in keys}
        picked: list[Any] = []
        parts = [part.strip() for part in inside.split(",")]
        for part in parts:
            if ":" in part:
                start, stop = (int(text) if text else None for text in part.split(":"))
                picked.extend(value[start:stop])
            else:
                picked.append(value[int(part)])
        return picked[0] if len(parts) == 1 and ":" not in parts[0] else picked
    except (KeyError, IndexError, TypeError) as error:
        raise JobFailed(f"the record has no {path} ({type(error).__name__}: {error})") from None


# --------------------------------------------------------------------------- records


def is_csv(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "text/csv"


def parse_record(raw: str, content_type: str) -> Any:
    if is_csv(content_type):
        return next(csv.reader([raw]))
    return json.loads(raw)


def render_record(value: Any, content_type: str) -> str:
    """The record's text. A CSV cell that came from JSON (a model's JSON answer joined to a CSV
    row) is written as its JSON text, never as Python's spelling of it."""
    if is_csv(content_type):
        row = value if isinstance(value, list) else [value]
        cells = [cell if isinstance(cell, str) else compact_json(cell) for cell in row]
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        return out.getvalue()
    return compact_json(value)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def split_records(text: str, split_type: str) -> list[str]:
    if split_type == "Line":
        return [line for line in text.splitlines() if line.strip()]
    return [text] if text.strip() else []


def split_answer(body: str, content_type: str, count: int) -> list[str]:
    """The answer's records, one per record sent.

    Raises:
        JobFailed: the answer holds another number of records than were sent.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        value = json.loads(body)
        items = value if isinstance(value, list) else [value]
        if count == 1 and len(items) != 1:
            items = [value]
        records = [compact_json(item) for item in items]
    else:
        records = [line for line in body.splitlines() if line.strip()]
    if len(records) != count:
        raise JobFailed(
            f"the model answered {len(records)} records for {count} records sent; joining "
            f"predictions to inputs needs one answer record per input record"
        )
    return records


def join(input_value: Any, output_raw: str, content_type: str, accept: str) -> Any:
    """An input record with its prediction, as SageMaker joins them (JoinSource=Input). A joined
    JSON record is an object: an input that is not one (an array, a number) goes under
    `SageMakerInput`. A CSV row is a list of columns: the prediction's columns are appended."""
    output = parse_record(output_raw, accept)
    if not is_csv(content_type):
        if isinstance(input_value, dict):
            return {**input_value, "SageMakerOutput": output}
        return {"SageMakerInput": input_value, "SageMakerOutput": output}
    return [*input_value, *(output if isinstance(output, list) else [output])]


# --------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class Spec:
    """What the executor hands the job (written as JSON)."""

    model_dir: str
    protocol: Protocol  # the serving container's (engine.serving.protocol_of)
    files: list[tuple[str, str, str]]  # (input path, output path, name for messages)
    content_type: str
    accept: str
    split_type: str
    batch_strategy: str
    max_payload_mb: int
    assemble_with: str
    input_filter: str
    join_source: str
    output_filter: str


def batches(records: list[str], strategy: str, limit: int) -> Iterator[tuple[int, list[str]]]:
    """(index of the first record, records) of each request."""
    if strategy == "SingleRecord":
        yield from ((i, [record]) for i, record in enumerate(records))
        return
    start, size = 0, 0
    current: list[str] = []
    for index, record in enumerate(records):
        length = len(record.encode("utf-8")) + 1
        if length > limit:
            raise JobFailed(
                f"record {index + 1} has {length - 1} bytes, more than MaxPayloadInMB allows"
            )
        if current and size + length > limit:
            yield start, current
            start, current, size = index, [], 0
        current.append(record)
        size += length
    if current:
        yield start, current


def request_of(batch: list[str], spec: Spec) -> tuple[list[Any], bytes]:
    """The parsed records (when filters or the join need them) and the request body."""
    filters = (spec.input_filter, spec.output_filter)
    needs_values = spec.join_source == "Input" or filters != ("$", "$")
    values = [parse_record(raw, spec.content_type) for raw in batch] if needs_values else []
    if spec.input_filter != "$":
        batch = [render_record(select(v, spec.input_filter), spec.content_type) for v in values]
    return values, "\n".join(batch).encode("utf-8")


def assemble(values: list[Any], text: str, answer_type: str, spec: Spec) -> list[str]:
    """The output records of one answer: joined, filtered, each ended as AssembleWith says."""
    end = "\n" if spec.assemble_with == "Line" else ""
    if spec.join_source != "Input" and spec.output_filter == "$":
        return [text if not end or text.endswith(end) else text + end]
    pieces = []
    for value, output in zip(values, split_answer(text, answer_type, len(values)), strict=True):
        if spec.join_source == "Input":
            record, kind = join(value, output, spec.content_type, answer_type), spec.content_type
        else:
            record, kind = parse_record(output, answer_type), answer_type
        pieces.append(render_record(select(record, spec.output_filter), kind) + end)
    return pieces


def transform_file(model: Any, spec: Spec, source: Path, name: str) -> str:
    """The `.out` text of one input file.

    Raises:
        JobFailed: a request the model refused or records that do not parse, named.
    """
    records = split_records(source.read_text(encoding="utf-8"), spec.split_type)
    pieces: list[str] = []
    for first, batch in batches(records, spec.batch_strategy, spec.max_payload_mb * MEGABYTE):
        where = f"{name}, records {first + 1}-{first + len(batch)}"
        try:
            values, body = request_of(batch, spec)
            answer = model.invoke(body, spec.content_type, spec.accept, None)
            text = answer.body.decode("utf-8", errors="replace")
            if answer.status != 200:
                raise JobFailed(
                    f"ClientError: Bad HTTP status received from algorithm: {answer.status}: "
                    f"{text[:1000]}"
                )
            pieces += assemble(values, text, answer.content_type, spec)
        except JobFailed as error:
            raise JobFailed(f"{where}: {error}") from None
        except ValueError as error:
            raise JobFailed(f"{where}: not {spec.content_type} records ({error})") from None
    return "".join(pieces)


def run_job(spec: Spec) -> None:
    from engine.serving import load_model

    model = load_model(Path(spec.model_dir), spec.protocol)
    for source, target, name in spec.files:
        text = transform_file(model, spec, Path(source), name)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text, encoding="utf-8")
        print(f"{name}: wrote {Path(target).name} ({len(text)} characters)", flush=True)


def main(argv: list[str]) -> int:
    spec_path = Path(argv[0])
    spec = Spec(**json.loads(spec_path.read_text()))
    try:
        run_job(spec)
    except (JobFailed, ProblemError) as error:
        (spec_path.parent / FAILURE_FILE).write_text(str(error))
        print(f"transform failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
