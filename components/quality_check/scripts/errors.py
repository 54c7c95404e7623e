"""What every analyzer module shares: the bad-input error, and a record with its origin."""

from __future__ import annotations

from typing import Any

Record = tuple[str, dict[str, Any]]  # (file:line, the record)


class InputError(Exception):
    """Bad input the user can fix: reported as one paragraph, exit 2, nothing written."""
