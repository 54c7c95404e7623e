"""`python -m endpoint.traffic`: send test records to an endpoint at a steady rate, for monitoring.

Each request holds one record drawn (seeded) from `baseline/test.jsonl` and carries an
`InferenceId` (`<prefix>-<seed>-<index>`), so data capture and ground truth can be joined later.
Some requests can be perturbed (numeric features moved far out of range, image pixels inverted) to
trip the data-quality monitor, or malformed (missing keys, wrong types) to exercise the endpoint's
error answers. Stops at `--max-requests` or `--max-seconds`, whichever comes first, and at once on
a failure every request would meet (no credentials, connection refused). Writes the
sent ids with their ground truth to `--ids-out` for `endpoint.ground_truth`.

Exit 0 when every well-formed request was answered with 200, else 1; 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from endpoint.common import (
    MAX_TEST_RECORDS,
    Clock,
    EndpointError,
    Pacer,
    Project,
    Reply,
    add_endpoint_arguments,
    endpoint_name,
    failure_fix,
    features_of,
    fraction,
    invoke,
    make_parser,
    paced_main,
    positive_float,
    positive_int,
    read_test_set,
    runtime_client,
    write_text,
)

PERTURB_SCALE = 10.0  # tabular: value * scale + shift, far outside anything seen in training
PERTURB_SHIFT = 1000.0
MAX_ID_LENGTH = 64  # InvokeEndpoint's limit on InferenceId


@dataclass(frozen=True)
class Planned:
    """One request to send: its id, body, the record's true class and how it was altered."""

    inference_id: str
    payload: Any
    ground_truth: str
    variant: str  # "clean", "perturbed" or "malformed"


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("traffic", "Send test records to an endpoint at a steady rate.")
    add_endpoint_arguments(parser)
    parser.add_argument("--rate", type=positive_float, default=5.0, help="requests a second")
    parser.add_argument("--max-requests", type=positive_int, default=100, help="send at most")
    parser.add_argument(
        "--max-seconds", type=positive_float, default=60.0, help="send nothing after this long"
    )
    parser.add_argument("--seed", type=int, default=0, help="draws records and alterations")
    parser.add_argument(
        "--perturb", type=fraction, default=0.0, help="fraction of requests moved out of range"
    )
    parser.add_argument(
        "--malformed", type=fraction, default=0.0, help="fraction with missing keys / wrong types"
    )
    parser.add_argument("--id-prefix", default="traffic", help="inference ids start with this")
    parser.add_argument(
        "--ids-out", help="write ids + ground truth here (JSON lines, file or s3://)"
    )
    return parser


def _run(
    parser: argparse.ArgumentParser, args: argparse.Namespace, project: Project, clock: Clock
) -> int:
    if args.perturb + args.malformed > 1.0:
        parser.error("--perturb and --malformed together must not exceed 1")
    longest = f"{args.id_prefix}-{args.seed}-{args.max_requests - 1:06d}"
    if len(longest) > MAX_ID_LENGTH or not args.id_prefix.isprintable() or " " in args.id_prefix:
        parser.error(
            f"--id-prefix: inference ids must be printable, without spaces, at most "
            f"{MAX_ID_LENGTH} characters ({longest!r})"
        )
    records = read_test_set(args.test_set, project, MAX_TEST_RECORDS)
    name = endpoint_name(args, project)
    pacer = Pacer(clock, args.rate, args.max_requests, args.max_seconds)
    plan = plan_requests(records, project, args.seed, args.perturb, args.malformed, args.id_prefix)
    sent: list[dict[str, Any]] = []
    with closing(runtime_client(args.endpoint_url, project.region, args.timeout)) as client:
        try:
            for request in plan:
                if not pacer.next():
                    break
                reply = invoke(client, name, request.payload, request.inference_id)
                if reply.repeats:
                    raise repeating_failure(reply, name, args.endpoint_url, pacer.count)
                sent.append(
                    {
                        "inferenceId": request.inference_id,
                        "ground_truth": request.ground_truth,
                        "variant": request.variant,
                        "status": reply.status,
                        "prediction": prediction_of(reply),
                    }
                )
        except KeyboardInterrupt:  # still report and keep the ids of what was sent
            pacer.stopped_by = "an interrupt"
    print_summary(sent, name, pacer)
    if args.ids_out:
        lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in sent)
        write_text(args.ids_out, lines, project.region)
        print(f"ids: {len(sent)} written to {args.ids_out}")
    failed = [row for row in sent if row["status"] != "200" and row["variant"] != "malformed"]
    return 1 if failed else 0


def repeating_failure(reply: Reply, name: str, url: str | None, count: int) -> EndpointError:
    """A failure every further request would meet: stop at once rather than send the rest."""
    return EndpointError(
        f"endpoint {name} at {url or 'the AWS SageMaker runtime'}",
        f"request {count} failed: {reply.status}",
        f"{reply.message or '-'}; every further request would fail the same way, "
        "so no more were sent",
        failure_fix(reply, url, name),
    )


def plan_requests(
    records: Sequence[dict[str, Any]],
    project: Project,
    seed: int,
    perturb: float,
    malformed: float,
    prefix: str,
) -> Iterator[Planned]:
    """An endless, reproducible stream of requests: same arguments, same stream."""
    rng = random.Random(seed)
    index = 0
    while True:
        record = records[rng.randrange(len(records))]
        draw = rng.random()
        features = features_of(record)
        if draw < malformed:
            variant, payload = "malformed", malform(features, project, rng)
        elif draw < malformed + perturb:
            variant, payload = "perturbed", perturb_features(features, project)
        else:
            variant, payload = "clean", features
        truth = str(record["ground_truth"])
        yield Planned(f"{prefix}-{seed}-{index:06d}", payload, truth, variant)
        index += 1


def perturb_features(features: dict[str, Any], project: Project) -> dict[str, Any]:
    """Still a valid request, but far from the training data.

    Tabular: every numeric feature becomes `value * 10 + 1000` (missing stays missing). Image: the
    pixels are inverted (255 - p); the endpoint refuses values outside 0..255, so inverting is the
    strongest shift it still accepts.
    """
    changed = dict(features)
    if project.kind == "image":
        changed["pixels"] = [255 - p for p in features.get("pixels", [])]
        return changed
    for column in project.numeric:
        value = changed.get(column)
        if isinstance(value, int | float) and not isinstance(value, bool):
            changed[column] = value * PERTURB_SCALE + PERTURB_SHIFT
    return changed


def malform(features: dict[str, Any], project: Project, rng: random.Random) -> dict[str, Any]:
    """A request the inference handler must refuse with a 400: missing keys or a wrong type."""
    if rng.random() < 0.5:  # missing keys: the client uses the wrong column names
        return {f"x_{key}": value for key, value in features.items()}
    if project.kind == "image":
        return {"pixels": "not a list of pixels"}
    changed = dict(features)
    column = rng.choice(project.numeric) if project.numeric else next(iter(changed), "value")
    changed[column] = "not a number"
    return changed


def prediction_of(reply: Reply) -> str | None:
    """The label of a one-record answer, or None when there is none to read."""
    if not reply.ok:
        return None
    try:
        answer = json.loads(reply.body)
    except ValueError:
        return None
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict):
        label = answer[0].get("label")
        return str(label) if label is not None else None
    return None


def print_summary(sent: Sequence[dict[str, Any]], name: str, pacer: Pacer) -> None:
    ok = sum(1 for row in sent if row["status"] == "200")
    by_status = Counter(str(row["status"]) for row in sent)
    by_variant = Counter(str(row["variant"]) for row in sent)
    print(
        f"endpoint {name}: sent {len(sent)} in {pacer.elapsed():.1f} s "
        f"(stopped by {pacer.stopped_by or 'the plan'})"
    )
    print(f"ok {ok}, errors {len(sent) - ok}")
    print("by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items())))
    print("by variant: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_variant.items())))


main = paced_main(build_parser, _run)

if __name__ == "__main__":
    sys.exit(main())
