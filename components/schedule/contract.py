"""The files the schedule steps ship: the Lambda handlers and the record preprocessor."""

from __future__ import annotations

HANDLER = "components/schedule/scripts/schedule.py"  # Model Monitor schedules
PIPELINE_HANDLER = "components/schedule/scripts/pipeline_schedule.py"  # builtin: EventBridge
# Model Monitor loads the record preprocessor as one file: the capture module is that file.
RECORD_PREPROCESSOR = "jobkit/capture.py"
OUTPUT = "schedule_name"
