"""The files the schedule steps ship: the Lambda handler and the record preprocessor."""

from __future__ import annotations

HANDLER = "components/schedule/scripts/schedule.py"
RECORD_PREPROCESSOR = "components/schedule/scripts/record_preprocessor.py"
OUTPUT = "schedule_name"
