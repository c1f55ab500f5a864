"""Helpers for journeymine's own tests and benchmarks (not part of the public API)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV_VAR = "JOURNEYMINE_DATA"


def shared_data_dir() -> Path | None:
    """Return the folder of real public event logs, or None when it is absent.

    The public finder, :func:`journeymine.datasets.data_home`: ``$JOURNEYMINE_DATA`` when
    set, else the first ``shared/data`` folder holding a ``SOURCES.md`` above the working
    directory or this file.
    """
    from .datasets import data_home

    return data_home()


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


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed (or cannot run here)."""


def _postgres_bindir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else Debian's
    ``/usr/lib/postgresql/<version>/bin`` (the newest)."""
    import shutil

    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not versions:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb): `make test` installs it (apt-get install postgresql)"
        )
    return versions[-1].parent


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def throwaway_postgres(password: str = "jm-test-password") -> Iterator[str]:
    """A PostgreSQL cluster of its own, for one test session or benchmark; yields its URI.

    ``initdb`` makes it in a new temporary folder (superuser ``jm`` with ``password``,
    password login over TCP), ``pg_ctl`` starts it on a free port of 127.0.0.1 with its
    Unix socket in that folder and durability off (``fsync=off``), and it is stopped and
    deleted on leaving, whatever happened. PostgreSQL refuses to run as root: as root the
    server runs as ``nobody`` (``runuser``), who owns the folder.
    """
    import shutil
    import subprocess
    import tempfile

    bindir = _postgres_bindir()
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="jm-postgres-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable("running as root without `runuser`, so PostgreSQL cannot start")
        as_user = [runuser, "-u", "nobody", "--"]
        shutil.chown(root, user="nobody")
    (root / "pw").write_text(password + "\n")
    if as_user:
        shutil.chown(root / "pw", user="nobody")
    data, started = root / "data", False

    def run(*args: str) -> None:
        out = subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            log = (root / "log").read_text()[-2000:] if (root / "log").exists() else ""
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {out.stderr[-2000:]}{log}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "jm", f"--pwfile={root / 'pw'}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        for attempt in range(3):  # a free port may be taken before the server binds it
            port = _free_port()
            options = (f"-p {port} -k {root} -c listen_addresses={LOOPBACK} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            try:
                run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
                    "-o", options, "start")
            except PostgresUnavailable:
                if attempt == 2:
                    raise
                continue
            started = True
            break
        yield f"postgresql://jm:{password}@{LOOPBACK}:{port}/postgres"
    finally:
        if started:
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
