"""Publishing's preflight: the bundle against the files on disk and itself, then the AWS target
against the bundle. A finding stops the publish before anything is applied (exit 2)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from bundle.assets import REPO, AssetObject, StaleBundleError, asset_objects
from bundle.aws import Aws
from bundle.read import Bundle
from bundle.watch import ParameterError, as_parameter_value, check_parameters
from kernel.check import definition_problems, placed_at
from kernel.errors import Problem, ProblemError
from kernel.manifest import Publish

RECOMPILE = "recompile the bundle with `python -m compiler ...`"


class PublishError(ProblemError):
    """The bundle does not match the files on disk or itself; nothing was applied."""

    topic = " in the bundle"


class TargetError(PublishError):
    """The caller's AWS account or region, or an asset bucket, is not the bundle's."""

    topic = " with the AWS target"


def check_bundle(bundle: Bundle, repo: Path = REPO) -> dict[str, AssetObject]:
    """Re-check the bundle against the files on disk and against itself; its objects by name.

    Raises:
        PublishError: pipeline.json edited since the compile, a source file changed, an asset
            key that is not its content address, a Lambda function that does not match the
            assets and the definition, or schedule parameter values the definition refuses.
    """
    problems = []
    definition = bundle.root / "pipeline.json"
    manifest = str(bundle.root / "assets.json")
    if hashlib.sha256(definition.read_bytes()).hexdigest() != bundle.manifest.definition_sha256:
        problems.append(
            Problem(
                str(definition),
                "its sha256 is not assets.json's definition_sha256",
                "the definition was edited after the compile, so it may not be what the config "
                "describes",
                "recompile the bundle with `python -m compiler ...` (change the config, not the "
                "JSON)",
            )
        )
    try:
        objects = {obj.name: obj for obj in asset_objects(bundle.assets, repo)}
    except StaleBundleError as exc:
        problems += exc.problems
        objects = {}
    for i, asset in enumerate(bundle.assets):
        if asset.sha256 not in asset.s3_uri.split("/"):
            problems.append(
                Problem(
                    f"{manifest} assets[{i}].s3_uri",
                    f"{asset.s3_uri} does not name the asset's sha256 {asset.sha256}",
                    "publishing skips an object already at its key, which is safe only for "
                    "content-addressed keys",
                    RECOMPILE,
                )
            )
    problems += _function_problems(bundle, manifest)
    functions = [f.function_arn for f in bundle.manifest.functions]
    problems += placed_at(  # the definition check the compiler and the engine run
        definition, definition_problems(bundle.definition, functions)
    )
    schedule = bundle.manifest.publish.schedule
    if schedule is not None:
        values = {k: as_parameter_value(v) for k, v in schedule.parameters.items()}
        try:
            check_parameters(bundle.definition, values, f"{manifest} publish.schedule.parameters")
        except ParameterError as exc:
            problems += exc.problems
    if problems:
        raise PublishError.of(problems)
    return objects


def _function_problems(bundle: Bundle, manifest: str) -> list[Problem]:
    problems = []
    lambda_assets = {a.name for a in bundle.assets if a.kind == "lambda"}
    functions, publish = bundle.manifest.functions, bundle.manifest.publish
    for i, function in enumerate(functions):
        arn = function.function_arn
        wanted = f"arn:aws:lambda:{publish.region}:{publish.account}:function:"
        wanted += function.function_name
        if function.asset not in lambda_assets:
            problems.append(
                Problem(
                    f"{manifest} functions[{i}].asset",
                    f"{function.asset!r} is not a Lambda asset",
                    f"the bundle's Lambda assets are {', '.join(sorted(lambda_assets))}",
                    RECOMPILE,
                )
            )
        if arn != wanted:
            problems.append(
                Problem(
                    f"{manifest} functions[{i}].function_arn",
                    arn,
                    f"publishing creates {wanted} (the function name in publish's region and "
                    "account)",
                    "set deployment's function ARNs to the configured aws account and region, "
                    "then recompile",
                )
            )
    return problems


def check_target(aws: Aws, target: Publish, objects: Iterable[AssetObject]) -> None:
    """The caller's account and region, and every asset bucket's region, against the bundle.

    Raises:
        TargetError: a mismatch (nothing is applied).
        AwsError: a call failed (e.g. no credentials).
    """
    problems = []
    if aws.region != target.region:
        problems.append(
            Problem(
                f"AWS region {aws.region}",
                f"the bundle is for {target.region}",
                "the pipeline, its functions and its assets must be in the configured region",
                f"pass --region {target.region} (or set AWS_DEFAULT_REGION), or recompile with "
                f"aws.region={aws.region}",
            )
        )
    account = aws.account()
    if account != target.account:
        problems.append(
            Problem(
                f"AWS account {account} (the caller's credentials)",
                f"the bundle is for account {target.account}",
                "the bundle's role and function ARNs name that account",
                f"use credentials of account {target.account}, or recompile with the roles and "
                f"function ARNs of account {account}",
            )
        )
    for bucket in sorted({obj.bucket for obj in objects}):
        region = aws.bucket_region(bucket)
        if region != target.region:
            problems.append(
                Problem(
                    f"s3://{bucket} (the bundle's asset bucket)",
                    f"is in {region}",
                    f"SageMaker jobs in {target.region} read their code from it; the bundle is "
                    f"for {target.region}",
                    f"use a bucket in {target.region} (aws.bucket=...) and recompile",
                )
            )
    if problems:
        raise TargetError.of(problems)
