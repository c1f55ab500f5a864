"""The notebooks in notebooks/ are executed, so they never rot.

Cells run with ``allow_errors=True`` so that every failing cell is collected and named
with its source (nbclient would otherwise stop at the first error with a traceback of
the kernel's, not of the notebook's). A notebook that runs but shows nothing where its
committed copy showed something has rotted too: each cell with output in the committed
copy must still produce output of the same kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SHOWN = ("execute_result", "display_data", "stream")


def _cell(i: int, cell: Any) -> str:
    lines = cell.source.splitlines()
    return f"cell {i} ({lines[0] if lines else ''!r}{' …' if len(lines) > 1 else ''})"


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5, [p.name for p in NOTEBOOKS]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, shared_data: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    errors = [
        f"{_cell(i, c)}: {o.get('ename')}: {o.get('evalue')}"
        for i, c in code for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: " + "; ".join(errors)
    assert all(c.get("execution_count") is not None for _, c in code), f"{path.name}: a code cell did not run"
    silent = [
        _cell(i, c) for (i, c), before in zip(code, [c for c in committed.cells if c.cell_type == "code"], strict=True)
        if {o["output_type"] for o in before.get("outputs", []) if o["output_type"] in SHOWN}
        - {o["output_type"] for o in c.get("outputs", [])}
    ]
    assert not silent, f"{path.name}: these cells no longer show what the committed notebook shows: {silent}"
