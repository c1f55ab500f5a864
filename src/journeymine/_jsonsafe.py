"""Turning result tables into JSON-safe Python values, for services."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

__all__ = ["jsonable", "records"]


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types: NaN and NaT become None, timestamps ISO text.

    Examples
    --------
    >>> import numpy as np
    >>> from journeymine._jsonsafe import jsonable
    >>> jsonable({"a": np.int64(3), "b": float("nan"), "c": (1, 2)})
    {'a': 3, 'b': None, 'c': [1, 2]}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    try:
        import pandas as pd

        if value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        if isinstance(value, pd.Timedelta):
            return value.total_seconds()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def records(frame: Any) -> list[dict[str, Any]]:
    """A pandas or polars frame as a list of JSON-safe row dicts."""
    rows = frame.to_dicts() if hasattr(frame, "to_dicts") else frame.to_dict(orient="records")
    return [jsonable(r) for r in rows]
