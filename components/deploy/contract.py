"""What the deploy step hands on: the endpoint's name, as an output of its Lambda step."""

from __future__ import annotations

HANDLER = "components/deploy/scripts/deploy.py"
OUTPUT = "endpoint_name"
