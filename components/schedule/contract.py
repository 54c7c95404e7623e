"""The files the schedule steps ship: the Lambda handlers and the record preprocessor."""

from __future__ import annotations

HANDLER = "components/schedule/scripts/schedule.py"  # Model Monitor schedules
PIPELINE_HANDLER = "components/schedule/scripts/pipeline_schedule.py"  # builtin: EventBridge
RECORD_PREPROCESSOR = "components/schedule/scripts/record_preprocessor.py"
OUTPUT = "schedule_name"
