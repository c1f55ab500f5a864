"""Warnings that point at the user's line, not at journeymine's internals."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def warn(message: str, category: type[Warning]) -> None:
    """Emit ``message`` attributed to the first caller outside the journeymine package."""
    level = 2  # 1 would be this function's own call to warnings.warn
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
