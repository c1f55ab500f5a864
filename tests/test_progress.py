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


def test_notebook_without_widgets_stays_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a Jupyter kernel tqdm draws a widget; without ipywidgets it would warn and leave text
    bars in the saved notebook, so no bar is shown there."""
    import importlib.util
    import sys
    import types

    monkeypatch.delenv("JOURNEYMINE_PROGRESS", raising=False)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    assert not interactive()
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "ipywidgets" else real(name, *a))
    assert interactive()
