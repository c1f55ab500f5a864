"""Timestamp parsing: one ISO pass, chunked parallel parsing, then the rest by rule."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from journeymine import _timestamps as ts
from journeymine.errors import SchemaError


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


def parse(values: list[str | None], **kw: object) -> list[str | None]:
    """Parse as column 't' (tz UTC unless given) and show each result as ISO text."""
    opts: dict[str, object] = {"tz": None, "fmt": None, **kw}
    got = ts.parse_timestamps(pl.Series("t", values, dtype=pl.String), column="t", **opts)  # type: ignore[arg-type]
    return got.dt.to_string("%Y-%m-%d %H:%M:%S%.6f").to_list()


def day(d: dt.date, time: str = "00:00:00.000000") -> str:
    return f"{d.isoformat()} {time}"


# -- day/month order: decided once per column ------------------------------------------
def test_month_first_column_is_read_exactly() -> None:
    """The old per-value guess read 33 of these 90 dates day-month swapped."""
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(90)]
    assert parse([d.strftime("%m/%d/%Y") for d in dates]) == [day(d) for d in dates]
    assert parse([d.strftime("%d/%m/%Y") for d in dates]) == [day(d) for d in dates]


def test_a_column_that_cannot_tell_day_from_month_is_refused() -> None:
    values = ["01/02/2024", "02/03/2024 10:00", "03/04/2024", "04/05/2024", "05/06/2024", "06/07/2024"]
    with pytest.raises(SchemaError, match=r"column 't' cannot tell day from month: 6 rows") as err:
        parse(values)
    msg = str(err.value)
    assert "'01/02/2024', '02/03/2024 10:00', '03/04/2024', '04/05/2024', '05/06/2024')" in msg
    assert "'06/07/2024'" not in msg  # five examples at most
    assert "dayfirst=True to read '01/02/2024' as 1 February 2024" in msg
    assert "dayfirst=False to read it as January 2, 2024" in msg
    assert "timestamp_format='%d/%m/%Y'" in msg
    assert parse(values[:1], dayfirst=True) == ["2024-02-01 00:00:00.000000"]
    assert parse(values[:1], dayfirst=False) == ["2024-01-02 00:00:00.000000"]


def test_one_value_reads_the_same_wherever_it_stands() -> None:
    """The column decides, not the first row nor a sample of 1,000."""
    feb_1 = "2024-02-01 00:00:00.000000"
    assert parse(["01/02/2024", "13/02/2024"])[0] == feb_1
    assert parse(["13/02/2024", "01/02/2024"])[1] == feb_1
    assert parse(["2024-05-05"] * 1_500 + ["01/02/2024", "25/12/2024"])[1_500] == feb_1
    assert parse(["01/02/2024", "02/13/2024"])[0] == "2024-01-02 00:00:00.000000"


def test_a_column_mixing_both_orders_is_refused_with_examples() -> None:
    values = ["01/02/2024", "13/03/2024", "03/14/2024", "05/15/2024 09:30"]
    with pytest.raises(SchemaError, match=r"column 't' mixes two date orders: 1 row can only be "
                       r"day/month/year \(e\.g\. '13/03/2024'\) and 2 rows only month/day/year "
                       r"\(e\.g\. '03/14/2024', '05/15/2024 09:30'\)"):
        parse(values)
    # dayfirst decides; what cannot be read that way is unparsable, never swapped
    assert parse(values, dayfirst=True) == ["2024-02-01 00:00:00.000000", "2024-03-13 00:00:00.000000", None, None]


def test_dayfirst_makes_impossible_dates_unparsable() -> None:
    assert parse(["13/01/2024", "01/13/2024"], dayfirst=False) == [None, "2024-01-13 00:00:00.000000"]
    assert parse(["31/02/2024", "29/02/2024"]) == [None, "2024-02-29 00:00:00.000000"]


def test_year_first_dates_are_never_swapped() -> None:
    assert parse(["2024-13-01", "2024/13/01", "2024.01.13", "2024-02-30"]) == [
        None, None, "2024-01-13 00:00:00.000000", None]


# -- the numeric shapes ------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("25.12.2024", "2024-12-25 00:00:00.000000"),
    ("25-12-2024", "2024-12-25 00:00:00.000000"),
    ("15.1.2024", "2024-01-15 00:00:00.000000"),
    ("25/12/24", "2024-12-25 00:00:00.000000"),
    ("31/12/68", "2068-12-31 00:00:00.000000"),  # the strptime %y pivot: 00-68 are 20xx
    ("31/12/69", "1969-12-31 00:00:00.000000"),  # 69-99 are 19xx
    ("25/12/2024 14:30", "2024-12-25 14:30:00.000000"),
    ("25/12/2024 14:30:05", "2024-12-25 14:30:05.000000"),
    ("25/12/2024 14:30:05.25", "2024-12-25 14:30:05.250000"),
    ("25/12/2024 14:30:05,123456789", "2024-12-25 14:30:05.123456"),
    ("25/12/2024T14:30:05", "2024-12-25 14:30:05.000000"),
    ("25/12/2024 2:30 PM", "2024-12-25 14:30:00.000000"),
    ("25/12/2024 12:05 am", "2024-12-25 00:05:00.000000"),
    ("25/12/2024 12:05 p.m.", "2024-12-25 12:05:00.000000"),
    ("25/12/2024 13:05 PM", None),
    ("25/12/2024 14:30+02:00", "2024-12-25 12:30:00.000000"),
    ("25/12/2024 14:30:05 -0500", "2024-12-25 19:30:05.000000"),
    ("25/12/2024 14:30Z", "2024-12-25 14:30:00.000000"),
    ("2024/12/25 14:30:05.000", "2024-12-25 14:30:05.000000"),
    ("2024-12-25T14:30+02", "2024-12-25 12:30:00.000000"),
    ("2024-12-25 2:30 PM", "2024-12-25 14:30:00.000000"),
])
def test_numeric_shapes(text: str, expected: str | None) -> None:
    assert parse([text]) == [expected]


def test_iso_mixes_stay_supported() -> None:
    values = ["2024-01-02", "2024-01-02 10:00", "2024-01-02T10:00:00", "2024-01-02T10:00:00Z",
              "2024-01-02 10:00:00.5+01:00", "2024-01-02T10:00:00-0500", "25/12/2024"]
    assert parse(values) == [
        "2024-01-02 00:00:00.000000", "2024-01-02 10:00:00.000000", "2024-01-02 10:00:00.000000",
        "2024-01-02 10:00:00.000000", "2024-01-02 09:00:00.500000", "2024-01-02 15:00:00.000000",
        "2024-12-25 00:00:00.000000",
    ]


def test_xes_timestamps() -> None:
    assert parse(["2011-10-01T00:38:44.546+02:00", "2010-12-30T11:02:00.000+01:00", "2011-10-01T00:38:44+02:00",
                  "2011-10-01T00:38:44Z"]) == [
        "2011-09-30 22:38:44.546000", "2010-12-30 10:02:00.000000", "2011-09-30 22:38:44.000000",
        "2011-10-01 00:38:44.000000"]


def test_month_names_and_compact_forms_go_to_pandas_only() -> None:
    assert parse(["Jan 2, 2024", "2 February 2024 10:00", "Tue, 02 Jan 2024 10:00:00 +0100", "20240102T1030",
                  "20241301", "01 02 2024", "10:00", "2 Feb", "1/2"]) == [
        "2024-01-02 00:00:00.000000", "2024-02-02 10:00:00.000000", "2024-01-02 09:00:00.000000",
        "2024-01-02 10:30:00.000000", None, None, None, None, None]


# -- zones ------------------------------------------------------------------------------
def test_zone_names_are_read_per_row() -> None:
    values = ["2024-01-02 10:00 UTC", "2024-01-02 10:00 GMT", "2024-01-02 10:00 GMT+2", "2024-01-02 10:00 UTC+2",
              "2024-01-02 10:00 UTC-05:30", "2024-01-02 10:00 Europe/Berlin", "2024-07-02 10:00 America/New_York",
              "02/01/2024 10:00 PM Europe/Berlin", "Jan 2, 2024 10:00 CET", "2024-01-02 10:00 Mars/Olympus",
              "2024-01-02 10:00 PST", "2024-01-02 10:00"]
    assert parse(values, tz="Asia/Tokyo", dayfirst=False) == [
        "2024-01-02 10:00:00.000000", "2024-01-02 10:00:00.000000",
        "2024-01-02 08:00:00.000000", "2024-01-02 08:00:00.000000",  # GMT+2 is ahead of UTC
        "2024-01-02 15:30:00.000000", "2024-01-02 09:00:00.000000", "2024-07-02 14:00:00.000000",
        "2024-02-01 21:00:00.000000", "2024-01-02 09:00:00.000000",
        None, None,  # unknown zones: unparsable, no error
        "2024-01-02 01:00:00.000000",  # naive: in tz
    ]


def test_impossible_offsets_make_the_time_unparsable_not_local() -> None:
    """+25:00 or +01:99 was dropped and the time read in tz, as if it had no offset."""
    values = ["2024-01-01T10:00:00+01:00", "2024-01-01T10:00:00+25:00", "2024-01-01T10:00:00+24:00",
              "2024-01-01T10:00:00+01:99", "2024-01-01T10:00:00-25:00", "2024-01-01 10:00:00+99",
              "2024-01-01T10:00:00+23:59", "01/02/2024 10:00 +25:00", "01/02/2024 10:00 +0100"]
    assert parse(values, dayfirst=True) == [
        "2024-01-01 09:00:00.000000", None, None, None, None, None, "2023-12-31 10:01:00.000000",
        None, "2024-02-01 09:00:00.000000"]


def test_zone_name_rows_follow_daylight_saving() -> None:
    assert parse(["2024-03-31 02:30 Europe/Berlin", "2024-10-27 02:30 Europe/Berlin"]) == [
        None, "2024-10-27 00:30:00.000000"]  # the gap is unparsable; the repeat takes the earlier


def test_unknown_tz_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="Unknown time zone 'Mars/Base' for naive timestamps in column 't'"):
        parse(["2024-01-02"], tz="Mars/Base")


# -- strictness and robustness ----------------------------------------------------------
def test_a_given_format_is_strict() -> None:
    assert parse(["01/02/2024", "2024-02-01", "02/13/2024", "01/02/2024 10:00"], fmt="%d/%m/%Y") == [
        "2024-02-01 00:00:00.000000", None, None, None]
    assert parse(["2024-01-02 10:00 UTC"], fmt="%Y-%m-%d %H:%M") == [None]


def test_no_pandas_error_escapes() -> None:
    values = ["Jan 2, 2024 10:00 +01:00", "Jan 2, 2024 10:00", "Jan 2, 2024 10:00 +0100 (CET)", "Jan 2, 99999",
              "Jan 99999999999999999999 2024", "31/12/9999 23:59", "0001-01-01 00:00 Europe/Berlin"]
    got = parse(values)
    assert got[:5] == ["2024-01-02 09:00:00.000000", "2024-01-02 10:00:00.000000", "2024-01-02 09:00:00.000000",
                       None, None]
    assert got[5] == "9999-12-31 23:59:00.000000" and got[6] is not None
    # the vectorised call raises on mixed zones; each value is then read alone
    local, offset = ts._pandas_mixed(pl.Series(values[:2]), utc=False)
    assert local.to_list() == [dt.datetime(2024, 1, 2, 9), dt.datetime(2024, 1, 2, 10)]
    assert offset.to_list() == [0, None]


def test_other_dtypes_are_kept() -> None:
    assert ts.parse_timestamps(pl.Series([None, None]), column="t", tz=None, fmt=None).dtype == ts.UTC_US
    dates = pl.Series([dt.date(2024, 1, 2)])
    assert ts.parse_timestamps(dates, column="t", tz="Europe/Berlin", fmt=None).to_list() == [
        dt.datetime(2024, 1, 1, 23, tzinfo=dt.timezone.utc)]
    with pytest.raises(SchemaError, match="timestamp column 't' holds values of type Int64"):
        ts.parse_timestamps(pl.Series([1, 2]), column="t", tz=None, fmt=None)
