"""The command line: demo, inspect, convert, and their exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

import journeymine as jm
from journeymine._cli import main


def test_demo_prints_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--accounts", "50", "--summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<JourneyLog: 50 cases")
    assert "case attributes: segment, product, market" in out


def test_inspect_and_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(30, random_state=0, as_frame=True).to_csv(src, index=False)
    args = ["--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp",
            "--case-attr", "segment"]
    assert main(["inspect", str(src), *args]) == 0
    assert "rejected rows: none" in capsys.readouterr().out
    out = tmp_path / "events.xes.gz"
    assert main(["convert", str(src), *args, "--to", "xes", "-o", str(out)]) == 0
    assert jm.read_xes(out).n_cases == 30


def test_errors_exit_with_codes_and_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing.csv"), "--case", "a", "--activity", "b",
                 "--timestamp", "c"]) == 2
    err = capsys.readouterr().err
    assert "No such file" in err and "Traceback" not in err
    src = tmp_path / "events.csv"
    src.write_text("a,b,c\nx,y,not-a-date\n")
    assert main(["inspect", str(src), "--case", "a", "--activity", "b", "--timestamp", "c"]) == 1
    assert "None of the 1 input rows is usable" in capsys.readouterr().err
    assert main(["inspect", str(src), "--case", "a"]) == 2
    assert "needs --activity, --timestamp" in capsys.readouterr().err


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed command, in a subprocess: report, and the error paths with exit codes."""
    import os
    import subprocess
    import sys

    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(120, random_state=0, as_frame=True).to_csv(src, index=False)
    cols = ["--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "journeymine", *args], capture_output=True, text=True,
                              check=False, env={**os.environ, "JOURNEYMINE_PROGRESS": "0"})

    out = tmp_path / "report.html"
    done = run("report", str(src), *cols, "--case-attr", "segment", "--by", "segment",
               "--outcome", "won=Contract signed", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and "wrote the journey report" in done.stdout
    missing = run("inspect", str(tmp_path / "nope.csv"), *cols)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "No such file" in missing.stderr
    bad_col = run("inspect", str(src), "--case", "account", "--activity", "touchpoint", "--timestamp", "timestamp")
    assert bad_col.returncode == 2 and "account" in bad_col.stderr and "Traceback" not in bad_col.stderr
    usage = run("report")
    assert usage.returncode == 2 and "usage:" in usage.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("account_id,touchpoint,timestamp\nA,,not a date\n")
    nothing = run("inspect", str(empty), *cols)
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr
