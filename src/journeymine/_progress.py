"""Progress bars for long work: shown in a terminal or notebook, silent in services.

A bar is shown when standard error is a terminal, or in a Jupyter kernel that has
ipywidgets (tqdm's notebook widget; without it tqdm would print a warning and text bars that
stay in the saved notebook, so there is no bar), unless ``JOURNEYMINE_PROGRESS=0``;
``JOURNEYMINE_PROGRESS=1`` forces it on.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def interactive() -> bool:
    """Whether progress should be shown here."""
    setting = os.environ.get("JOURNEYMINE_PROGRESS", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    if "ipykernel" in sys.modules:
        return importlib.util.find_spec("ipywidgets") is not None
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def progress(items: Iterable[T], *, total: int, desc: str, min_total: int = 2) -> Iterator[T]:
    """Iterate over ``items``, with a tqdm bar when interactive and worth showing."""
    if total < min_total or not interactive():
        yield from items
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, total=total, desc=desc, leave=False)
