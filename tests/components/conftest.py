"""Fixtures for the component-script tests: real data, run as SageMaker would run it."""

from tests.components.fixtures_data import *  # noqa: F403
from tests.components.fixtures_models import *  # noqa: F403
