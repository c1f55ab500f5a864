"""Validation at the boundary (_validate), function by function: id text, option checks,
role columns, ordering, repeats, the case table and the reports. The public paths
(JourneyLog.from_frame and the readers) are tested in test_log.py, test_trust.py,
test_hostile_inputs.py and test_properties.py."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import journeymine as jm
from journeymine._mapping import ColumnMapping
from journeymine._validate import (
    REASONS,
    ROLE_KEYWORDS,
    _as_id_strings,
    _drop_repeats,
    _order,
    _reason_counts,
    _split_cases,
    build,
    check_build_options,
    check_valid_time,
    report_rejected,
    report_varying,
    resolve_mapping,
)

MAPPING = ColumnMapping(case="c", activity="a", timestamp="t")


def _ids(values: list[object], dtype: pl.DataType, blanks: bool = True) -> list[str | None]:
    s = pl.Series("x", values, dtype=dtype)
    return pl.DataFrame([s]).select(_as_id_strings(pl.col("x"), dtype, blanks)).to_series().to_list()


def test_id_strings_by_hand() -> None:
    assert _ids([7.0, 1.5, float("nan"), None, -0.0, 1e20, float("inf")], pl.Float64()) == [
        "7", "1.5", None, None, "0", "1e+20", "inf"
    ]
    assert _ids([" ", "", "a", None], pl.String()) == [None, None, "a", None]
    assert _ids([" ", "a"], pl.String(), blanks=False) == [" ", "a"]  # told there are none: untouched
    assert _ids([3, -2], pl.Int64()) == ["3", "-2"]
    assert _ids([True, False], pl.Boolean()) == ["true", "false"]


@settings(max_examples=300, deadline=None)
@given(hs.floats(allow_nan=False))
def test_float_ids_are_integers_when_integral_else_round_trip(x: float) -> None:
    (text,) = _ids([x], pl.Float64())
    assert text is not None
    if math.isfinite(x) and x == round(x) and abs(x) < 2.0**63:
        assert text == str(int(x))
    else:
        assert float(text) == x  # polars' shortest text reads back as the same float


def test_check_valid_time_gives_utc_bounds() -> None:
    lo, hi = check_valid_time(["2024-01-01T02:00:00+02:00", dt.datetime(2025, 1, 1)], "f")
    assert lo == pd.Timestamp("2024-01-01 00:00", tz="UTC") and hi == pd.Timestamp("2025-01-01", tz="UTC")
    assert str(lo.tz) == "UTC" and str(hi.tz) == "UTC"
    with pytest.raises(jm.InvalidParameterError, match=r"'valid_time' parameter of f must be a \(start, end\) pair.*Got \('2024-01-01', '2024-01-01'\)"):
        check_valid_time(("2024-01-01", "2024-01-01"), "f")  # empty range
    with pytest.raises(jm.InvalidParameterError, match=r"not missing"):
        check_valid_time((pd.NaT, "2024-01-01"), "f")


def _roles(**given: object) -> dict[str, object]:
    """Every role keyword, as a constructor passes them: the required ones, the rest None."""
    roles: dict[str, object] = {name: None for name in ROLE_KEYWORDS}
    roles.update(case="c", activity="a", timestamp="t")
    roles.update(given)
    return roles


def test_check_build_options_returns_lists() -> None:
    assert check_build_options("f", "reject", "keep", "seg", "note", roles=_roles()) == (["seg"], ["note"])
    assert check_build_options("f", "raise", "reject", (), "all", roles=_roles()) == ([], "all")
    with pytest.raises(jm.InvalidParameterError, match=r"'case' parameter of f must be a column name \(str\)\. Got 3"):
        check_build_options("f", "reject", "reject", (), "all", roles=_roles(case=3))
    with pytest.raises(jm.InvalidParameterError, match=r"'on_invalid' parameter of f must be one of \{'raise', 'reject'\}"):
        check_build_options("f", "ignore", "reject", (), "all", roles=_roles())
    with pytest.raises(jm.InvalidParameterError, match=r"'tz' parameter of f must be a non-empty str or None\. Got ''"):
        check_build_options("f", "reject", "reject", (), "all", roles=_roles(), tz="")


def test_resolve_mapping_takes_columns_named_after_free_roles() -> None:
    cols = ["c", "a", "t", "channel", "resource", "contact"]
    m = resolve_mapping(cols, _roles(), case_attributes=["contact"], event_attributes="all")
    assert (m.channel, m.resource, m.contact) == ("channel", "resource", None)  # contact is a case attribute
    m = resolve_mapping(cols, _roles(resource="contact"), case_attributes=[], event_attributes=["channel"])
    assert (m.channel, m.resource) == ("channel", "contact")  # 'resource' is left out of the attributes


def _work(rows: list[tuple[str | None, str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": list(range(len(rows))),
            "case": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            "note": [r[3] for r in rows],
            "__reason": [None if r[0] else REASONS[0] for r in rows],
        }
    )


def test_order_sorts_usable_rows_by_first_appearance_time_and_row() -> None:
    work = _work([
        ("B", "x", 5, ""), ("A", "x", 9, ""), (None, "x", 0, ""), ("B", "y", 1, ""), ("A", "y", 9, ""),
        ("C", "x", 0, ""),
    ])
    ok = work.get_column("__reason").is_null()
    o = _order(work, ok)
    assert o.order.to_list() == [3, 0, 1, 4, 5]  # B (first at row 0), A (row 1), C; the rejected row 2 is out
    assert o.case.to_list() == ["B", "B", "A", "A", "C"] and o.timestamp.to_list() == [1, 5, 9, 9, 0]
    keep = pl.Series([True, False, True, True, True])
    assert o.without(keep).order.to_list() == [3, 1, 4, 5]


@settings(max_examples=60, deadline=None)
@given(
    hs.lists(
        hs.tuples(hs.sampled_from(["A", "B", "C", None]), hs.sampled_from([-(2**62), -1, 0, 1, 2, 2**62])),
        min_size=1, max_size=30,
    )
)
def test_order_equals_a_sort_by_first_row_time_and_row(rows: list[tuple[str | None, int]]) -> None:
    # the single packed sort key (ties in time, times far apart) orders as the three columns do
    work = _work([(c, "x", t, "") for c, t in rows])
    ok = work.get_column("__reason").is_null()
    want = (
        work.filter(ok)
        .with_columns(pl.col("row").min().over("case").alias("first"))
        .sort("first", "timestamp", "row")
    )
    got = _order(work, ok)
    assert got.order.to_list() == want.get_column("row").to_list()
    assert got.case.to_list() == want.get_column("case").to_list()
    assert got.timestamp.to_list() == want.get_column("timestamp").to_list()


def test_drop_repeats_keeps_the_first_of_exact_repeats_only() -> None:
    work = _work([
        ("A", "x", 1, "n"), ("A", "x", 1, "n"), ("A", "x", 1, "other"), ("A", "x", 2, "n"), ("B", "x", 1, "n"),
        ("A", "x", 1, "n"),
    ])
    ordered, repeats = _drop_repeats(work, _order(work, work.get_column("__reason").is_null()))
    assert sorted(repeats.to_list()) == [1, 5]  # row 2 differs in 'note', rows 3 and 4 in time or case
    assert ordered.order.to_list() == [0, 2, 3, 4]
    clean = _work([("A", "x", 1, "n"), ("A", "y", 1, "n")])
    kept, none = _drop_repeats(clean, _order(clean, clean.get_column("__reason").is_null()))
    assert none.len() == 0 and kept.order.to_list() == [0, 1]


def test_split_cases_by_hand() -> None:
    events = pl.DataFrame({
        "case": ["A", "A", "A", "B"], "activity": ["x", "y", "z", "x"], "timestamp": [1, 2, 7, 3],
        "seg": [None, "S", "S", "E"], "tier": ["1", "1", "1", "2"], "row": [0, 1, 2, 3],
    })
    ev, cases = _split_cases(events, ["seg", "tier"], "raise")
    assert cases.to_dicts() == [
        {"case": "A", "seg": "S", "tier": "1", "n_events": 3, "start": 1, "end": 7},
        {"case": "B", "seg": "E", "tier": "2", "n_events": 1, "start": 3, "end": 3},
    ]
    assert ev.columns == ["case", "activity", "timestamp", "row"]
    varying = events.with_columns(pl.Series("seg", ["S", "E", "S", "E"]))
    with pytest.raises(jm.DataQualityError, match=r"'seg' is not constant within 1 of 2 cases \(e\.g\. case 'A' has \['S', 'E'\]\)"):
        _split_cases(varying, ["seg"], "raise")
    with pytest.warns(jm.DataQualityWarning, match="keeps the value of its earliest event"):
        _, cases = _split_cases(varying, ["seg"], "reject")
    assert cases.get_column("seg").to_list() == ["S", "E"]


def test_reports_raise_with_the_rows_or_warn_where_they_are() -> None:
    rejected = pl.DataFrame({"row": [4, 1, 2], "reason": ["missing activity", "duplicate event", "duplicate event"]})
    assert _reason_counts(rejected) == "2 duplicate event, 1 missing activity"
    with pytest.raises(jm.DataQualityError, match=r"3 of 1,000 input rows cannot be used \(s; first rows: \[4, 1\]\)") as err:
        report_rejected(3, 1000, "s", [4, 1], "raise", rejected="the rows")
    assert err.value.rejected == "the rows"  # type: ignore[attr-defined]
    with pytest.warns(jm.DataQualityWarning, match=r"3 of 1,000 input rows were set aside .* They are in elsewhere"):
        report_rejected(3, 1000, "s", [4, 1], "reject", where="elsewhere")
    with pytest.raises(jm.DataQualityError, match=r"'seg' is not constant within 2 of 9 cases \(e\.g\. case X\)\. Map it"):
        report_varying("seg", 2, 9, "X", "raise")


def test_build_leaves_a_borrowed_frame_whole_and_releases_an_owned_one() -> None:
    frame = pl.DataFrame({"c": ["A", "A", None], "a": ["x", "y", "z"], "t": ["2024-01-02", "2024-01-01", "2024-01-03"]})
    with pytest.warns(jm.DataQualityWarning, match="1 of 3 input rows were set aside"):
        built = build(frame, mapping=MAPPING)
    assert frame.columns == ["c", "a", "t"] and frame.height == 3
    assert built.rows_read == 3 and built.events.get_column("activity").to_list() == ["y", "x"]
    assert built.rejected.select("row", "reason", "c").to_dicts() == [{"row": 2, "reason": "missing case id", "c": None}]
    owned = frame.clone()
    with pytest.warns(jm.DataQualityWarning):
        build(owned, mapping=MAPPING, owned=True)
    assert owned.columns == []


def test_build_reasons_are_checked_in_order() -> None:
    frame = pl.DataFrame({
        "c": [None, "A", "A\x01", "A", "A", "A", "A", "A"],
        "a": [None, None, "x", "x", "x", "x", "x", "x"],
        "t": ["nope", "2024-01-01", "2024-01-01", " ", "nope", "1800-01-01", "2024-01-01", "2024-01-01"],
    })
    with pytest.warns(jm.DataQualityWarning):
        built = build(frame, mapping=MAPPING)
    assert built.rejected.get_column("reason").to_list() == list(REASONS)
    assert built.events.get_column("row").to_list() == [6]
