"""ISO 8601 times and windows as the monitoring job reads them from its environment."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc  # noqa: UP017 (Python 3.9 has no datetime.UTC)
WINDOW_RE = re.compile(r"^P(?:(?P<days>\d{1,5})D)?(?:T(?P<hours>\d{1,6})H)?$")
TIME_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?P<fraction>\.\d+)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (Z or an offset; none means UTC) as an aware UTC datetime.

    Raises:
        ValueError: not such a time.
    """
    match = TIME_RE.match(text.strip())
    if not match:
        raise ValueError(text)
    clock = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    zone = match["zone"] or "+00:00"
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    fraction = (match["fraction"] or ".0")[1:7].ljust(6, "0")
    moment = datetime.fromisoformat(f"{match['date']}T{clock}.{fraction}{zone}")
    return moment.astimezone(UTC)


def parse_window(text: str) -> timedelta:
    """PT1H, P1D, P1DT6H...: whole days and hours, more than zero.

    Raises:
        ValueError: another duration.
    """
    match = WINDOW_RE.match(text.strip())
    if not match or not (match["days"] or match["hours"]):
        raise ValueError(text)
    window = timedelta(days=int(match["days"] or 0), hours=int(match["hours"] or 0))
    if window <= timedelta(0):
        raise ValueError(text)
    return window
