"""Shared fixtures: the real public logs, found once through one helper; and the one
question about the machine that a test must not stumble on."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from journeymine._testing import ENV_VAR, shared_data_dir


def _count_physical_cores_quietly() -> None:
    """Ask joblib for the number of physical cores once, before any test does.

    scikit-learn's KMeans sizes its thread pool with ``joblib.cpu_count(only_physical_cores=True)``,
    which runs ``lscpu`` (or reads /proc/cpuinfo) and, on a machine where neither answers (no
    ``lscpu``, or a sandbox whose ``lscpu`` lists no cores), warns once per process and falls
    back to the logical count. Under ``filterwarnings = error`` that warning would fail
    whichever test asked first, for a fact about the machine that changes no result. Asked
    here, the fallback is cached and later calls are silent. (``LOKY_MAX_CPU_COUNT`` set to
    the CPU count does not help: joblib trusts it only when it is below ``os.cpu_count()``.)
    """
    from joblib import cpu_count

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu_count(only_physical_cores=True)


_count_physical_cores_quietly()


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
