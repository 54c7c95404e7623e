"""`python -m endpoint.accuracy`: the deployed model's accuracy on the test set, per class too.

Sends the preprocess step's `baseline/test.jsonl` in batches (one JSON list of records a request),
checks every answer against the inference contract (a JSON array, one prediction per record, in
order) and prints accuracy and per-class precision, recall, F1 and support. Exit 0 when every
batch was answered; 1 on the first bad answer (with the batch and why); 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from rich.console import Console
from rich.table import Table

from endpoint.common import (
    Clock,
    EndpointError,
    Pacer,
    Project,
    Reply,
    add_endpoint_arguments,
    batched,
    endpoint_name,
    failure_fix,
    features_of,
    invoke,
    make_parser,
    non_negative_float,
    paced_main,
    positive_float,
    positive_int,
    read_test_set,
    runtime_client,
    write_text,
)

MAX_BATCH = 1000  # the inference handler refuses more samples a request


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("accuracy", "Measure a deployed endpoint's accuracy on the test set.")
    add_endpoint_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=32, help="records a request")
    parser.add_argument(
        "--max-records", type=positive_int, default=10_000, help="use at most this many records"
    )
    parser.add_argument(
        "--max-seconds", type=positive_float, default=300.0, help="send no batch after this long"
    )
    parser.add_argument(
        "--rate", type=non_negative_float, default=10.0, help="requests a second (0: unpaced)"
    )
    parser.add_argument("--report", help="also write the figures as JSON here (file or s3://)")
    return parser


def _run(
    parser: argparse.ArgumentParser, args: argparse.Namespace, project: Project, clock: Clock
) -> int:
    if args.batch_size > MAX_BATCH:
        parser.error(f"--batch-size: the endpoint takes at most {MAX_BATCH} records a request")
    records = read_test_set(args.test_set, project, args.max_records)
    name = endpoint_name(args, project)
    names = ("--max-records", "--max-seconds")
    pacer = Pacer(clock, args.rate, len(records), args.max_seconds, names)
    truth: list[str] = []
    predicted: list[str] = []
    with closing(runtime_client(args.endpoint_url, project.region, args.timeout)) as client:
        for batch in batched(records, args.batch_size):
            if not pacer.next():
                break
            reply = invoke(client, name, [features_of(record) for record in batch])
            first, last = len(truth) + 1, len(truth) + len(batch)
            where = (
                f"endpoint {name}, request {pacer.count} (records {first}-{last} of the test set)"
            )
            fix = failure_fix(reply, args.endpoint_url, name)
            predicted.extend(labels_of(reply, len(batch), project, where, fix))
            truth.extend(str(record["ground_truth"]) for record in batch)
    if not predicted:
        raise EndpointError(
            f"endpoint {name}",
            "no record was sent",
            f"the time budget ended first ({pacer.stopped_by})",
            "raise --max-seconds",
        )
    report = {
        "endpoint": name,
        "requests": pacer.count,
        "stopped_early": pacer.stopped_by if len(predicted) < len(records) else "",
        **score(truth, predicted, project.classes),
    }
    print_report(report, project)
    if args.report:
        write_text(args.report, json.dumps(report, indent=2, sort_keys=True) + "\n", project.region)
    return 0


def labels_of(reply: Reply, expected: int, project: Project, where: str, fix: str) -> list[str]:
    """The predicted labels of one answer, checked against the inference contract.

    Raises:
        EndpointError: an error status, a body that is not JSON, the wrong number of predictions,
            or a prediction without one of the project's labels.
    """
    if not reply.ok:
        raise EndpointError(
            where, f"the endpoint answered {reply.status}", reply.message or "-", fix
        )
    try:
        answer = json.loads(reply.body)
    except ValueError:
        shown = reply.body[:80].decode("utf-8", "replace")
        raise EndpointError(where, "the answer is not JSON", f"it starts {shown!r}", fix) from None
    if not isinstance(answer, list) or len(answer) != expected:
        size = f"{len(answer)} items" if isinstance(answer, list) else type(answer).__name__
        why = f"sent {expected} records, got a JSON {size}; expected one prediction a record"
        raise EndpointError(where, "the answer has the wrong length", why, fix)
    labels = []
    for index, item in enumerate(answer):
        label = item.get("label") if isinstance(item, dict) else None
        if label not in project.classes:
            why = f"prediction {index} is {json.dumps(item)[:80]}; labels are {project.classes}"
            raise EndpointError(where, "a prediction has no known label", why, fix)
        labels.append(str(label))
    return labels


def score(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support, and their macro and weighted means.

    A class never predicted has precision 0 (and F1 0), as scikit-learn's zero_division=0.
    """
    total = len(truth)
    per_class: dict[str, dict[str, float]] = {}
    for name in classes:
        hits = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == name)
        support = sum(1 for t in truth if t == name)
        claimed = sum(1 for p in predicted if p == name)
        precision = hits / claimed if claimed else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    means = {}
    for kind in ("macro", "weighted"):
        weights = {
            name: (1 / len(classes) if kind == "macro" else per_class[name]["support"] / total)
            for name in classes
        }
        means[kind] = {
            metric: sum(weights[n] * per_class[n][metric] for n in classes)
            for metric in ("precision", "recall", "f1")
        }
    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    return {"accuracy": correct / total, "records": total, "per_class": per_class, **means}


def print_report(report: dict[str, Any], project: Project) -> None:
    console = Console(file=sys.stdout, width=100)
    note = f" (stopped early: {report['stopped_early']})" if report["stopped_early"] else ""
    print(
        f"endpoint {report['endpoint']}: accuracy {report['accuracy']:.4f} on "
        f"{report['records']} records in {report['requests']} requests{note}"
    )
    table = Table("class", "precision", "recall", "f1", "support")
    for name in project.classes:
        row = report["per_class"][name]
        table.add_row(name, *_figures(row), str(row["support"]))
    for kind in ("macro", "weighted"):
        table.add_row(f"{kind} avg", *_figures(report[kind]), str(report["records"]))
    console.print(table)


def _figures(row: dict[str, float]) -> list[str]:
    return [f"{row[metric]:.4f}" for metric in ("precision", "recall", "f1")]


main = paced_main(build_parser, _run)

if __name__ == "__main__":
    sys.exit(main())
