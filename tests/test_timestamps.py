"""Timestamp parsing: one ISO pass, chunked parallel parsing, then the rest by rule."""

from __future__ import annotations

import polars as pl
import pytest

from journeymine import _timestamps as ts


def test_iso_format_is_read_from_the_sample_and_only_year_first() -> None:
    iso = pl.Series(["2024-01-01T10:00:00+02:00", "2024-01-02T11:00:00.5-05:00", "2024-01-03T00:00:00Z"])
    assert ts._iso_format(iso) == "%Y-%m-%dT%H:%M:%S%.f%#z"
    assert ts._iso_format(pl.Series(["2024-01-01", "2024-02-03"])) == "%Y-%m-%d"
    assert ts._iso_format(pl.Series(["01/02/2024"])) is None  # day or month first: not an ISO form
    assert ts._iso_format(pl.Series(["12/10/11"])) is None  # %Y/%m/%d would read the year 12


def test_chunked_parse_equals_single_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    values = pl.Series("t", [f"2024-01-{d:02d}T{h:02d}:00:00+01:00" for d in range(1, 29) for h in range(24)])
    whole = ts.parse_timestamps(values, column="t", tz=None, fmt=None)
    monkeypatch.setattr(ts, "_CHUNK", 50)
    chunked = ts.parse_timestamps(values, column="t", tz=None, fmt=None)
    assert chunked.equals(whole)
    assert whole.null_count() == 0 and whole.dtype == pl.Datetime("us", "UTC")


def test_blank_padding_and_mixed_rows_fall_back() -> None:
    values = pl.Series("t", ["  2024-01-01 10:00:00 ", "", "2024-01-02", "3 March 2024", "nonsense"])
    got = ts.parse_timestamps(values, column="t", tz="Europe/Amsterdam", fmt=None).to_list()
    assert [g.isoformat() if g else None for g in got] == [
        "2024-01-01T09:00:00+00:00", None, "2024-01-01T23:00:00+00:00", "2024-03-02T23:00:00+00:00", None,
    ]


def test_daylight_saving_gap_is_unparsable() -> None:
    got = ts.parse_timestamps(pl.Series(["2024-03-31 02:30:00"]), column="t", tz="Europe/Amsterdam", fmt=None)
    assert got.to_list() == [None]
