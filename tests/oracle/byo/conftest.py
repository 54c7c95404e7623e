"""The SDK is imported here only as an oracle: without its v2 deprecation notice (warnings fail)."""

import os

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
