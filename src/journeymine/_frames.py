"""Turning any supported in-memory table into a polars DataFrame, once."""

from __future__ import annotations

from typing import Any

import polars as pl

from ._params import invalid


class OwnedFrame:
    """A polars frame handed over by a reader: nothing else uses it, so validation may
    release its columns as soon as it no longer needs them (lowering the peak memory).
    ``rows``, when the frame holds some rows of a larger input, gives each its row there."""

    __slots__ = ("frame", "rows")

    def __init__(self, frame: pl.DataFrame, rows: pl.Series | None = None) -> None:
        self.frame = frame
        self.rows = rows


def to_polars_frame(frame: Any, *, owner: str) -> tuple[pl.DataFrame, str, bool]:
    """Return ``frame`` as a polars DataFrame, a short description of its source and
    whether the DataFrame is journeymine's own (a conversion or a reader's frame) rather
    than the caller's.

    pandas frames are converted column by column; an ``object`` column holding mixed
    Python types (say ints and strings) becomes text rather than failing.
    """
    if isinstance(frame, OwnedFrame):
        return frame.frame, "polars.DataFrame", True
    if isinstance(frame, pl.LazyFrame):
        return frame.collect(), "polars.LazyFrame", True
    if isinstance(frame, pl.DataFrame):
        return frame, "polars.DataFrame", False
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return _from_pandas(frame, pd), "pandas.DataFrame", True
    raise invalid("frame", owner, "a pandas or polars DataFrame", type(frame).__name__)


def _from_pandas(frame: Any, pd: Any) -> pl.DataFrame:
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):  # also 0 and "0", which are one name as text
        from .errors import SchemaError

        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SchemaError(
            f"The input has duplicate column names {dupes} (as text); rename them first."
        )
    frame = frame.reset_index(drop=True)
    frame.columns = names
    try:
        converted: pl.DataFrame = pl.from_pandas(frame)
        if converted.columns != names:  # polars renames an empty name to column_N
            converted.columns = names
        return converted
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        pass
    columns = {}
    for name in frame.columns:
        col = frame[name]
        try:
            columns[name] = pl.from_pandas(col)
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            text = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                    for v in col.tolist()]
            columns[name] = pl.Series(name, text, dtype=pl.String)
    return pl.DataFrame(columns)
