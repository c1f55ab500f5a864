"""Hostile or faulty in-memory inputs: control characters, bad option values, column-name
clashes. Each must end in journeymine's own error or a documented, visible rule, never a
raw pandas/polars/Python error and never an invalid drawing."""

from __future__ import annotations

import warnings
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest

import journeymine as jm


def _frame(**overrides: list[object]) -> pd.DataFrame:
    data: dict[str, list[object]] = {
        "c": ["a", "a", "b", "b"],
        "act": ["x", "y", "x", "z"],
        "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def _build(df: pd.DataFrame, **kw: object) -> jm.JourneyLog:
    options: dict[str, object] = dict(case="c", activity="act", timestamp="ts")
    options.update(kw)
    return jm.JourneyLog.from_frame(df, **options)  # type: ignore[arg-type]


# -- control characters -------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1f", "\x0b", "\ufffe", "\uffff"])
@pytest.mark.parametrize("column", ["c", "act", "chan"])
def test_control_characters_in_ids_and_names_reject_the_row(bad: str, column: str) -> None:
    df = _frame(chan=["web", "web", "mail", "mail"])
    df.loc[1, column] = f"pre{bad}post"
    with pytest.warns(jm.DataQualityWarning, match=r"1 of 4 input rows were set aside \(1 control character"):
        log = _build(df, channel="chan")
    assert log.rejected["reason"].tolist() == ["control character"]
    assert log.rejected[column].tolist() == [f"pre{bad}post"]  # the raw value is kept
    assert log.n_events + len(log.rejected) == 4


def test_tabs_and_newlines_are_text_not_control_characters() -> None:
    log = _build(_frame(act=["x\ty", "multi\nline", "cr\rlf", "z"]))
    assert log.n_rejected == 0
    assert "multi\nline" in log.activities


def test_control_characters_in_attributes_are_replaced_visibly() -> None:
    df = _frame(note=["ok", "bad\x00note", "\x07bell", None], seg=["s\x01", "s\x01", "t", "t"])
    with pytest.warns(jm.DataQualityWarning, match=r"'note' \(2 values\), 'seg' \(2 values\) were replaced by U\+FFFD"):
        log = _build(df, case_attributes="seg")
    assert log.n_rejected == 0
    assert log.events["note"].tolist()[1:3] == ["bad\ufffdnote", "\ufffdbell"]
    assert log.cases["seg"].tolist() == ["s\ufffd", "t"]


def test_every_drawing_of_a_log_with_control_characters_is_valid_xml() -> None:
    df = _frame(act=["x", "y\x00", "x", "z"], seg=["S\x02", "S\x02", "E", "E"], note=["\x00", "a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log = _build(df, case_attributes=["seg"])
    svg = jm.subway_map(log, lines={"l": ["x", "z"]})._repr_svg_()
    ElementTree.fromstring(svg)  # raises on a character XML cannot carry
    html = jm.report(log, by="seg")
    assert "\x00" not in html and "\x02" not in html


# -- option values: journeymine's errors, naming the argument -------------------------------
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(valid_time=("soon", "later")), r"'valid_time' parameter of JourneyLog.from_frame must be a \(start, end\)"),
        (dict(valid_time=(None, "2030-01-01")), r"'valid_time' parameter .*not missing"),
        (dict(valid_time=(float("nan"), "2030-01-01")), r"'valid_time' parameter .*not missing"),
        (dict(valid_time=("2020-01-01",)), r"'valid_time' parameter"),
        (dict(valid_time="2020-01-01"), r"'valid_time' parameter"),
        (dict(valid_time=("2030-01-01", "2020-01-01")), r"'valid_time' parameter .*start before end"),
        (dict(case=None), r"The 'case' parameter of JourneyLog.from_frame must be a column name \(str\). Got None."),
        (dict(activity=3), r"'activity' parameter .*column name"),
        (dict(tz=5), r"'tz' parameter"),
        (dict(timestamp_format=5), r"'timestamp_format' parameter"),
        (dict(dayfirst="yes"), r"'dayfirst' parameter .*True, False or None"),
    ],
)
def test_bad_options_are_parameter_errors(kw: dict[str, object], match: str) -> None:
    with pytest.raises(jm.InvalidParameterError, match=match):
        _build(_frame(), **kw)


def test_input_columns_named_like_rejected_bookkeeping() -> None:
    df = _frame(row=[1, 2, 3, 4], row_input=[5, 6, 7, 8], reason=["r"] * 4, reason_input=["s"] * 4)
    df.loc[2, "c"] = None
    with pytest.warns(jm.DataQualityWarning):
        log = _build(df, event_attributes=[])
    rej = log.rejected
    assert list(rej.columns[:2]) == ["row", "reason"]
    assert rej["row_input_2"].tolist() == [3] and rej["row_input"].tolist() == [7]
    assert rej["reason_input_2"].tolist() == ["r"] and rej["reason"].tolist() == ["missing case id"]


def test_report_random_state_must_be_non_negative() -> None:
    log = jm.datasets.demo_b2b(40, random_state=0)
    with pytest.raises(jm.InvalidParameterError, match=r"'random_state' parameter of report must be an int >= 0. Got -1."):
        jm.report(log, random_state=-1)


# -- estimators: nothing learned survives a refit; explain stays small -----------------------
def test_clusterer_refit_then_explain_on_another_log() -> None:
    big = jm.datasets.demo_b2b(400, random_state=0)
    small = jm.datasets.demo_b2b(60, random_state=1)
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(big)
    first = est.explain()
    est.fit(small)
    again = est.explain()  # raised IndexError when a cache of the first log survived
    assert len(est.labels_) == 60
    assert set(again["cluster"]) <= set(range(est.n_clusters_))
    shares = again[again["kind"] == "activity"]["share_in_cluster"]
    assert ((shares >= 0) & (shares <= 1)).all()
    assert not first.equals(again)


def test_explain_counts_match_a_dense_computation() -> None:
    log = jm.datasets.demo_b2b(300, random_state=2)
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(log)
    got = est.explain(kinds=("activity",), top=50, min_share=0.0)
    ev = log.events[["case", "activity"]].drop_duplicates()
    has = pd.crosstab(ev["case"], ev["activity"]).reindex(est.labels_.index, fill_value=0) > 0
    labels = est.labels_.to_numpy()
    for row in got.itertuples():
        inside = labels == row.cluster
        col = has[row.feature].to_numpy()
        assert np.isclose(row.share_in_cluster, col[inside].mean())
        assert np.isclose(row.share_elsewhere, col[~inside].mean())
