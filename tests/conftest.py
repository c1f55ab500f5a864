"""Shared fixtures: the real public logs, found once through one helper."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from journeymine._testing import ENV_VAR, shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public event logs (``$JOURNEYMINE_DATA`` or ``../shared/data``).

    Skips where it is truly absent; under ``CI=true`` its absence fails the test.
    """
    folder = shared_data_dir()
    if folder is None:
        message = (
            f"real event logs not found: set {ENV_VAR} or place them in ../shared/data"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder
