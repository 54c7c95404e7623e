"""SageMaker's and AWS's own rules for names, ARNs and URIs, and one checker for them."""

from __future__ import annotations

import re

PIPELINE_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
GROUP_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # model package groups, endpoints
ROLE_ARN = r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@\-/]{1,512}$"
LAMBDA_ARN = (
    r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:[0-9]{12}:function:[A-Za-z0-9\-_]{1,64}"
    r"(:[A-Za-z0-9$_\-]+)?$"
)
BUCKET = r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$"
S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"
# An ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest].
ECR_IMAGE = (
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9\-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/\-]*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}|@sha256:[a-f0-9]{64})?$"
)


MAX_LENGTH = {PIPELINE_NAME: 256, GROUP_NAME: 63}
SCHEDULER_NAME = r"^[0-9a-zA-Z\-_.]{1,64}$"  # EventBridge Scheduler schedule names
# EventBridge Scheduler: cron(minutes hours day-of-month month day-of-week year), rate(), at().
SCHEDULER_EXPRESSION = (
    r"^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\([1-9][0-9]* (minute|hour|day)s?\)"
    r"|at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\))$"
)


def scheduler_expression_problem(expression: str) -> str | None:
    """Why EventBridge Scheduler would refuse `expression` (ending in a fix), or None."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if re.match(SCHEDULER_EXPRESSION, expression) and (
        not expression.startswith("cron(") or "?" in (fields[2], fields[4])
    ):
        return None
    return (
        f"'{expression}' is not an EventBridge Scheduler expression; fix: use "
        "cron(minutes hours day-of-month month day-of-week year) with '?' in one of the "
        "two day fields, e.g. 'cron(0 6 ? * MON *)', or 'rate(1 day)'"
    )


def name_problem(value: str, pattern: str, what: str) -> str | None:
    """Why `value` is not a SageMaker name of `what` (ending in a suggested fix), or None."""
    if re.match(pattern, value):
        return None
    limit = MAX_LENGTH[pattern]
    suggestion = re.sub(r"[^A-Za-z0-9]+", "-", value).strip("-")[:limit] or "my-pipeline"
    return (
        f"SageMaker {what} allow only letters, digits and hyphens (no '_', "
        f"no leading or trailing '-'), at most {limit} characters; "
        f"fix: use e.g. '{suggestion.strip('-')}'"
    )


def s3_uri_problem(uri: str) -> str | None:
    """Why `uri` is not an s3://bucket/key URI S3 would take, or one whose key climbs out of its
    bucket (a '.' or '..' segment), or None."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not re.match(BUCKET, bucket) or ".." in bucket or re.fullmatch(r"[\d.]+", bucket):
        return (
            f"bucket {bucket!r} breaks S3's bucket name rules (3 to 63 lowercase letters, "
            "digits, '.' and '-', starting and ending with a letter or digit, no '..', not an "
            "IP address)"
        )
    if {".", ".."} & set(key.split("/")):
        return "its key has a '.' or '..' segment, which climbs out of where it points"
    return None
