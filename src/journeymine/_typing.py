"""Type aliases for the inputs journeymine accepts, in one place."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

#: A path on disk, as a string or :class:`os.PathLike`.
PathLike = Union[str, "os.PathLike[str]"]

#: An in-memory table: a pandas or polars DataFrame (a polars LazyFrame is collected).
FrameLike = Union["pd.DataFrame", "pl.DataFrame", "pl.LazyFrame"]

#: What to do with rows that cannot be used.
OnInvalid = Literal["reject", "raise"]

#: How to split a log into cohorts: a case attribute, several, or a function of the case
#: table returning one key per case.
CohortBy = Union[str, Sequence[str], Callable[["pd.DataFrame"], Any]]  # noqa: UP007

#: A timestamp given by the user: a string understood by pandas, or a datetime-like.
TimeLike = Union[str, "pd.Timestamp", Any]

__all__ = ["CohortBy", "FrameLike", "OnInvalid", "PathLike", "TimeLike"]
