"""Progress bars: on where a person watches, off in services."""

from __future__ import annotations

import pytest

from journeymine._progress import interactive, progress


def test_environment_switch(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JOURNEYMINE_PROGRESS", "0")
    assert not interactive()
    assert list(progress(range(10), total=10, desc="x")) == list(range(10))
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("JOURNEYMINE_PROGRESS", "1")
    assert interactive()
    assert list(progress(range(10), total=10, desc="counting")) == list(range(10))
    assert "counting" in capsys.readouterr().err
    # too little work for a bar
    assert list(progress(range(1), total=1, desc="tiny")) == [0]
    assert "tiny" not in capsys.readouterr().err
