"""CSV export in pm4py's columns: ids and text round-trip, spreadsheets are opt-in safe.

:func:`write_csv` writes RFC 4180 CSV with polars: text cells are always quoted, so a
value holding the separator, a quote, ``\\r`` or ``\\n``, or leading and trailing spaces is
read back as the same text (by ``jm.read_csv``, pandas, polars or a spreadsheet); a missing
value is an empty unquoted field and an empty string ``""``, so the two stay apart. Ids,
activities, roles and timestamps come back exactly with ``jm.read_csv`` (it reads them as
text); other attribute columns are re-typed by whatever reads them (``"007"`` may come back
as the number 7), and case attributes come back under ``case:<name>``.

Spreadsheet formula injection: a spreadsheet opening the file treats a cell starting
with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) as a formula, so a hostile
value such as ``=HYPERLINK(...)`` in an activity name can run when the file is opened.
A machine-readable export must not alter values, so this is **off by default**;
``excel_safe=True`` prefixes such text cells with an apostrophe (``'=1+2``), which
spreadsheets show as text and which changes the value for any other reader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, cast

import polars as pl

from ._log import JourneyLog
from ._output import GzipOut, write_atomic
from ._params import invalid
from ._pm4py import pm4py_layout

__all__ = ["write_csv"]

ISO_UTC = "%Y-%m-%dT%H:%M:%S%.6f%:z"

#: what a spreadsheet reads as the start of a formula (OWASP's list)
FORMULA_START = r"^[=+\-@\t\r]"


def excel_safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with text cells that a spreadsheet would run as formulas prefixed by ``'``.

    Examples
    --------
    >>> excel_safe_frame(pl.DataFrame({"a": ["=1+2", "ok", "-3", None]}))["a"].to_list()
    ["'=1+2", 'ok', "'-3", None]
    """
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_csv(
    log: JourneyLog,
    path: str | os.PathLike[str],
    *,
    sep: str = ",",
    excel_safe: bool = False,
) -> None:
    """Write a log's events as CSV in pm4py's columns (``case:concept:name``,
    ``concept:name``, ``time:timestamp`` in ISO 8601 UTC, roles, ``case:<attribute>``),
    gzip-compressed when the path ends with ``.gz``.

    Text cells are quoted (RFC 4180), so ids, activities, roles and timestamps round-trip
    exactly through :func:`read_csv` (attribute columns are re-typed by the reader); the
    file is written atomically and never onto the log's source.

    Parameters
    ----------
    log : JourneyLog
    path : str or os.PathLike
    sep : str
        One-character field separator.
    excel_safe : bool
        Prefix text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
        with ``'`` so that spreadsheets show them as text instead of running them as
        formulas. Off by default: it changes the values for every other reader.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=5, random_state=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> jm.write_csv(log, path)
    >>> back = jm.read_csv(path, case="case:concept:name", activity="concept:name",
    ...                    timestamp="time:timestamp")
    >>> back.n_events == log.n_events
    True
    """
    from ._engine import require_embedded

    owner = "write_csv"
    if not isinstance(log, JourneyLog):
        raise invalid("log", owner, "a JourneyLog", type(log).__name__)
    require_embedded(log, owner)
    if not isinstance(sep, str) or len(sep.encode("utf-8")) != 1 or sep in "\"\r\n":
        raise invalid("sep", owner, "one single-byte character other than a quote or a line break", sep)
    frame = pm4py_layout(log)
    if excel_safe:
        frame = excel_safe_frame(frame)

    def write(tmp: Path) -> None:
        if not tmp.name.lower().endswith(".gz"):
            frame.write_csv(tmp, separator=sep, quote_style="non_numeric", datetime_format=ISO_UTC)
            return
        with GzipOut(tmp) as out:  # gzip, with no time or name in the header
            frame.write_csv(cast("IO[bytes]", out), separator=sep, quote_style="non_numeric",
                            datetime_format=ISO_UTC)

    write_atomic(path, write, owner=owner, inputs=log._inputs)
