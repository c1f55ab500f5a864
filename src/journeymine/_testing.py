"""Helpers for journeymine's own tests and benchmarks (not part of the public API)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV_VAR = "JOURNEYMINE_DATA"


def shared_data_dir() -> Path | None:
    """Return the folder of real public event logs, or None when it is absent.

    ``$JOURNEYMINE_DATA`` when set, else ``../shared/data`` next to the repository root
    (found from this file and from the working directory).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = Path(__file__).resolve()
    candidates = [parent.parent / "shared" / "data" for parent in here.parents]
    candidates.append(Path.cwd().parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "SOURCES.md").is_file():
            return candidate
    return None


LOOPBACK = "127.0.0.1"


def local_spark(app_name: str, config: dict[str, str]) -> Any:
    """A quiet ``local[2]`` Spark session for tests and benchmarks: no UI, no progress
    bars, log level ERROR, and the Spark settings in ``config``.

    The driver binds to and advertises 127.0.0.1, and ``SPARK_LOCAL_IP`` is set to it for
    the JVM that pyspark starts, so a machine whose host name does not resolve runs it too.
    """
    os.environ["SPARK_LOCAL_IP"] = LOOPBACK
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.driver.bindAddress", LOOPBACK)
        .config("spark.driver.host", LOOPBACK)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    for key, value in config.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
