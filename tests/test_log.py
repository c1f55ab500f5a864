"""JourneyLog construction, validation, accessors and filters."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

import journeymine as jm


def frame(**overrides: list[object]) -> pd.DataFrame:
    data: dict[str, list[object]] = {
        "account": ["A", "A", "B", "B", "C"],
        "touch": ["Webinar", "Demo", "Webinar", "Proposal", "Visit"],
        "at": ["2024-01-02", "2024-01-09", "2024-01-03", "2024-02-01", "2024-03-01"],
        "segment": ["SMB", "SMB", "Enterprise", "Enterprise", "SMB"],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def build(df: pd.DataFrame | pl.DataFrame, **kwargs: object) -> jm.JourneyLog:
    options: dict[str, object] = dict(case="account", activity="touch", timestamp="at")
    options.update(kwargs)
    return jm.JourneyLog.from_frame(df, **options)  # type: ignore[arg-type]


# -- happy path --------------------------------------------------------------------------
def test_basic_counts_and_accessors() -> None:
    log = build(frame(), case_attributes=["segment"])
    assert (log.n_cases, log.n_events, log.n_rejected) == (3, 5, 0)
    assert log.activities[0] == "Webinar"  # most frequent first
    assert set(log.activities) == {"Webinar", "Demo", "Proposal", "Visit"}
    assert log.time_span.start == pd.Timestamp("2024-01-02", tz="UTC")
    assert log.time_span.duration == pd.Timedelta(days=59)
    assert list(log.events.columns) == ["case", "activity", "timestamp", "row"]
    assert list(log.cases.columns) == ["case", "segment", "n_events", "start", "end"]
    assert log.cases.set_index("case")["n_events"].to_dict() == {"A": 2, "B": 2, "C": 1}
    assert str(log.events["timestamp"].dtype) == "datetime64[us, UTC]"


def test_polars_and_lazy_input_give_the_same_log() -> None:
    pdf = frame()
    a = build(pdf)
    b = build(pl.from_pandas(pdf))
    c = build(pl.from_pandas(pdf).lazy())
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.events, c.events)
    assert b.source == "polars.DataFrame"


def test_repr_and_html_escape_user_strings() -> None:
    log = build(frame(touch=["<script>alert(1)</script>", "Demo", "Webinar", "a\"];x->y[", "V"]))
    assert repr(log) == "<JourneyLog: 3 cases, 5 events, 5 activities, 2024-01-02 → 2024-03-01>"
    html = log._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_log_is_immutable() -> None:
    log = build(frame())
    with pytest.raises(AttributeError, match="immutable"):
        log.foo = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="from_frame"):
        jm.JourneyLog()
    events = log.events
    events.loc[0, "activity"] = "changed"
    assert log.events.loc[0, "activity"] == "Webinar"


def test_to_polars_tables() -> None:
    log = build(frame())
    assert log.to_polars("events").height == 5
    assert log.to_polars("cases").height == 3
    with pytest.raises(jm.InvalidParameterError, match=r"'table' parameter of JourneyLog\.to_polars"):
        log.to_polars("nodes")  # type: ignore[arg-type]


# -- ordering ------------------------------------------------------------------------------
def test_events_sorted_by_case_then_time_with_ties_in_input_order() -> None:
    df = pd.DataFrame({
        "account": ["B", "A", "B", "A", "A"],
        "touch": ["b2", "a-tie-first", "b1", "a-tie-second", "a0"],
        "at": ["2024-01-05", "2024-01-02", "2024-01-01", "2024-01-02", "2024-01-01"],
    })
    ev = build(df).events
    # cases in order of first appearance, events by time, ties by input row
    assert ev["case"].tolist() == ["B", "B", "A", "A", "A"]
    assert ev["activity"].tolist() == ["b1", "b2", "a0", "a-tie-first", "a-tie-second"]


# -- ids and timestamps --------------------------------------------------------------------
def test_id_like_strings_stay_ids() -> None:
    df = frame(account=["NA", "null", "None", "0001", "1"])
    log = build(df)
    assert log.cases["case"].tolist() == ["NA", "null", "None", "0001", "1"]


def test_integer_and_float_case_ids_become_clean_strings() -> None:
    log = build(frame(account=[1, 1, 2, 2, 3]))
    assert log.cases["case"].tolist() == ["1", "2", "3"]
    with pytest.warns(jm.DataQualityWarning, match="1 missing case id"):
        log = build(frame(account=[1.0, 1.0, 2.0, np.nan, 3.0]))
    assert log.cases["case"].tolist() == ["1", "2", "3"]
    assert log.rejected["reason"].tolist() == ["missing case id"]


def test_mixed_offsets_naive_and_date_only_timestamps() -> None:
    df = frame(at=["2024-01-02T10:00:00+02:00", "2024-01-02T10:00:00-05:00",
                   "2024-01-03 08:30", "2024-01-04", "2024-01-05T00:00:00Z"])
    ts = build(df).events.set_index("row")["timestamp"]
    assert ts[0] == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    assert ts[1] == pd.Timestamp("2024-01-02 15:00", tz="UTC")
    assert ts[2] == pd.Timestamp("2024-01-03 08:30", tz="UTC")
    assert ts[3] == pd.Timestamp("2024-01-04", tz="UTC")
    assert ts[4] == pd.Timestamp("2024-01-05", tz="UTC")


def test_naive_timestamps_read_in_given_zone() -> None:
    log = build(frame(at=["2024-07-01 12:00"] * 5), duplicates="keep", tz="Europe/Amsterdam")
    assert log.events["timestamp"].iloc[0] == pd.Timestamp("2024-07-01 10:00", tz="UTC")


def test_datetime_columns_naive_aware_and_date() -> None:
    naive = pd.to_datetime(["2024-01-01 10:00"] * 2 + ["2024-01-02"] * 3, format="mixed")
    aware = naive.tz_localize("America/New_York")
    assert build(frame(at=list(naive)), duplicates="keep").events["timestamp"].iloc[0] == pd.Timestamp(
        "2024-01-01 10:00", tz="UTC")
    got = build(frame(at=aware), duplicates="keep").events["timestamp"].iloc[0]
    assert got == pd.Timestamp("2024-01-01 15:00", tz="UTC")
    dates = pl.DataFrame(frame().drop(columns="at")).with_columns(
        at=pl.Series([dt.date(2024, 1, d) for d in range(1, 6)]))
    assert build(dates).events["timestamp"].min() == pd.Timestamp("2024-01-01", tz="UTC")


def test_explicit_timestamp_format() -> None:
    log = build(frame(at=["02/01/2024"] * 2 + ["03/01/2024"] * 3), timestamp_format="%d/%m/%Y",
                duplicates="keep")
    assert log.events["timestamp"].min() == pd.Timestamp("2024-01-02", tz="UTC")


def test_numeric_timestamps_get_a_schema_error() -> None:
    with pytest.raises(jm.SchemaError, match=r"timestamp column 'at' .* pandas.to_datetime"):
        build(frame(at=[1, 2, 3, 4, 5]))


# -- rejected rows -------------------------------------------------------------------------
def test_row_problems_are_set_aside_with_reasons() -> None:
    df = pd.DataFrame({
        "account": ["A", None, "B", "B", "C", "C", "D", "", "A"],
        "touch": ["x", "x", None, "y", "y", "z", "w", "x", "x"],
        "at": ["2024-01-01", "2024-01-01", "2024-01-01", "not a date", None,
               "1850-01-01", "2024-01-01", "2024-01-01", "2024-01-01"],
    })
    with pytest.warns(jm.DataQualityWarning, match=r"7 of 9 input rows were set aside") as rec:
        log = build(df)
    assert "log.rejected" in str(rec[0].message)
    rej = log.rejected.set_index("row")["reason"].to_dict()
    assert rej == {
        1: "missing case id",
        2: "missing activity",
        3: "unparsable timestamp",
        4: "missing timestamp",
        5: "timestamp out of range",
        7: "missing case id",
        8: "duplicate event",
    }
    assert log.n_events + log.n_rejected == len(df)
    assert list(log.rejected.columns[:2]) == ["row", "reason"]
    assert log.rejected.loc[log.rejected.row == 3, "at"].item() == "not a date"


def test_on_invalid_raise() -> None:
    df = frame(at=["2024-01-01", "bad", "2024-01-01", "2024-01-01", "2024-01-01"])
    with pytest.raises(jm.DataQualityError, match=r"1 of 5 input rows cannot be used \(1 unparsable timestamp") as exc:
        build(df, on_invalid="raise")
    assert exc.value.rejected["row"].tolist() == [1]  # type: ignore[attr-defined]


def test_duplicates_keep() -> None:
    df = frame(account=["A"] * 5, touch=["x"] * 5, at=["2024-01-01"] * 5).drop(columns="segment")
    assert build(df, duplicates="keep").n_events == 5
    with pytest.warns(jm.DataQualityWarning, match="4 duplicate event"):
        assert build(df).n_events == 1


def test_valid_time_bounds() -> None:
    with pytest.warns(jm.DataQualityWarning, match="timestamp out of range"):
        log = build(frame(), valid_time=("2024-01-05", "2024-02-15"))
    assert log.n_events == 2


def test_value_column_non_numbers_warn_and_keep_events() -> None:
    df = frame(amount=["100", "1,000 EUR", None, "5.5", ""])
    with pytest.warns(jm.DataQualityWarning, match=r"'amount' \(value\): 1 value"):
        log = build(df, value="amount")
    assert log.n_events == 5
    assert log.events.set_index("row")["value"].tolist()[:2] == [100.0, pytest.approx(np.nan, nan_ok=True)]


def test_empty_input_and_nothing_usable() -> None:
    with pytest.raises(jm.EmptyLogError, match="no rows"):
        build(frame().iloc[:0])
    with pytest.raises(jm.EmptyLogError, match=r"None of the 5 input rows is usable \(5 missing timestamp"):
        build(frame(at=[None] * 5))


# -- schema errors ---------------------------------------------------------------------------
def test_missing_column_names_it_and_suggests() -> None:
    with pytest.raises(jm.SchemaError, match=r"Column 'acount' \(case\) not found.*Did you mean 'account'.*Available columns: 'account', 'touch'"):
        build(frame(), case="acount")


def test_column_playing_two_parts() -> None:
    with pytest.raises(jm.SchemaError, match="both as case and as activity"):
        build(frame(), activity="account")
    with pytest.raises(jm.SchemaError, match="both as case and as case attribute"):
        build(frame(), case_attributes=["account"])


def test_columns_named_after_roles_play_them_and_reserved_names_clash() -> None:
    log = build(frame(stage=["a"] * 5, channel=["Web"] * 5))
    assert (log.mapping.stage, log.mapping.channel) == ("stage", "channel")
    assert log.event_attributes == ("segment",)
    with pytest.raises(jm.SchemaError, match=r"Column\(s\) 'stage' would be kept as event attributes"):
        build(frame(stage=["a"] * 5, phase=["b"] * 5), stage="phase")
    with pytest.raises(jm.SchemaError, match=r"'row'"):
        build(frame(row=[1, 2, 3, 4, 5]))
    assert build(frame(stage=["a"] * 5), event_attributes=[]).mapping.stage is None


def test_bad_option_values_use_one_template() -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"The 'on_invalid' parameter of JourneyLog.from_frame must be one of \{'raise', 'reject'\}. Got 'ignore'."):
        build(frame(), on_invalid="ignore")
    with pytest.raises(jm.InvalidParameterError, match="'case_attributes' parameter"):
        build(frame(), case_attributes=[1, 2])  # type: ignore[list-item]
    with pytest.raises(jm.InvalidParameterError, match="'event_attributes' parameter"):
        build(frame(), event_attributes=7)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match="'frame' parameter"):
        jm.JourneyLog.from_frame([1, 2], case="a", activity="b", timestamp="c")  # type: ignore[arg-type]
    with pytest.raises(jm.SchemaError, match="Unknown time zone 'Mars/Base'"):
        build(frame(), tz="Mars/Base")


def test_stage_order_checked() -> None:
    df = frame(phase=["awareness", "decision", "awareness", "oops", "decision"])
    with pytest.raises(jm.SchemaError, match=r"value\(s\) \['oops'\] that are not in stage_order"):
        build(df, stage="phase", stage_order=["awareness", "decision"])
    log = build(df.assign(phase="awareness"), stage="phase", stage_order=["awareness", "decision"])
    assert log.stage_order == ("awareness", "decision")


def test_case_attribute_not_constant_warns_and_keeps_earliest() -> None:
    df = frame(segment=["SMB", "Enterprise", "Enterprise", "Enterprise", None])
    with pytest.warns(jm.DataQualityWarning, match=r"'segment' is not constant within 1 of 3 cases \(e.g. case 'A' has \['SMB', 'Enterprise'\]\)"):
        log = build(df, case_attributes=["segment"])
    got = log.cases.set_index("case")["segment"]
    assert got[["A", "B"]].tolist() == ["SMB", "Enterprise"] and pd.isna(got["C"])
    with pytest.raises(jm.DataQualityError, match="not constant"):
        build(df, case_attributes=["segment"], on_invalid="raise")


def test_mixed_type_object_column_is_read_as_text() -> None:
    df = frame(note=[1, "two", 3.5, None, "five"])
    log = build(df)
    got = log.events.set_index("row")["note"]
    assert got[[0, 1, 2, 4]].tolist() == ["1", "two", "3.5", "five"] and pd.isna(got[3])


def test_unicode_and_very_long_activity_names() -> None:
    long = "Démo " + "x" * 5000
    log = build(frame(touch=["Vidéo 🎥", long, "日本語", "Webinar", "Visit"]))
    assert long in log.activities and "日本語" in log.activities


def test_single_event_and_one_huge_case() -> None:
    log = build(frame().iloc[:1])
    assert (log.n_cases, log.n_events) == (1, 1)
    n = 100_000
    big = pl.DataFrame({
        "account": ["BIG"] * n,
        "touch": [f"t{i % 25}" for i in range(n)],
        "at": pl.datetime_range(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1) + dt.timedelta(minutes=n - 1),
                                interval="1m", eager=True),
    })
    log = build(big)
    assert (log.n_cases, log.n_events) == (1, n)
    assert log.events["timestamp"].is_monotonic_increasing


# -- filters and cohorts ---------------------------------------------------------------------
def test_filter_cases() -> None:
    log = build(frame(), case_attributes=["segment"])
    smb = log.filter_cases(segment="SMB")
    assert smb.cases["case"].tolist() == ["A", "C"]
    assert smb.n_events == 3
    assert log.filter_cases({"segment": ["SMB", "Enterprise"]}).n_cases == 3
    assert log.filter_cases(lambda c: c["n_events"] > 1).cases["case"].tolist() == ["A", "B"]
    with pytest.raises(jm.SchemaError, match=r"'market' is not a case attribute of this log. Case attributes: 'segment'"):
        log.filter_cases(market="NA")


def test_filter_time_modes() -> None:
    log = build(frame())
    assert log.filter_time("2024-01-04", "2024-02-15", mode="events").n_events == 2
    inter = log.filter_time("2024-01-04", "2024-02-15", mode="intersecting")
    assert inter.cases["case"].tolist() == ["A", "B"]
    assert inter.n_events == 4
    contained = log.filter_time("2024-01-01", "2024-01-10", mode="contained")
    assert contained.cases["case"].tolist() == ["A"]
    trimmed = log.filter_time(None, "2024-01-04", mode="events")
    assert trimmed.cases.set_index("case")["n_events"].to_dict() == {"A": 1, "B": 1}
    with pytest.raises(jm.InvalidParameterError, match="'start' parameter"):
        log.filter_time("yesterday-ish")


def test_filter_activities() -> None:
    log = build(frame())
    assert log.filter_activities("Webinar").cases["case"].tolist() == ["A", "B"]
    assert log.filter_activities(["Webinar", "Demo"], how="all").cases["case"].tolist() == ["A"]
    assert log.filter_activities("Webinar", how="none").cases["case"].tolist() == ["C"]
    with pytest.raises(jm.SchemaError, match="do not occur in this log"):
        log.filter_activities(["Nope", "Demo"], how="all")


def test_cohorts_by_column_several_and_callable() -> None:
    df = frame(segment=["SMB", "SMB", None, None, "SMB"], market=["NA"] * 5)
    log = build(df, case_attributes=["segment", "market"])
    by_seg = log.cohorts(by="segment")
    assert list(by_seg) == ["SMB", "(missing)"]
    assert by_seg["SMB"].n_cases == 2
    assert list(log.cohorts(by=["segment", "market"])) == ["SMB | NA", "(missing) | NA"]
    by_len = log.cohorts(by=lambda c: np.where(c["n_events"] > 1, "long", "short"))
    assert {k: v.n_cases for k, v in by_len.items()} == {"long": 2, "short": 1}
    with pytest.warns(jm.JourneymineWarning, match=r"fewer than min_cases=2 cases and are left out: '\(missing\)' \(1\)"):
        assert list(log.cohorts(by="segment", min_cases=2)) == ["SMB"]
    with pytest.raises(jm.SchemaError, match="not a case attribute"):
        log.cohorts(by="channel")


def test_sub_logs_partition_the_events() -> None:
    log = jm.datasets.demo_b2b(n_accounts=120, random_state=3)
    parts = log.cohorts(by="segment")
    assert sum(p.n_events for p in parts.values()) == log.n_events
    assert sum(p.n_cases for p in parts.values()) == log.n_cases


# -- the engine and the constructors' shared keywords --------------------------------------

def test_every_in_memory_log_has_the_embedded_engine() -> None:
    from journeymine._embedded import EmbeddedEngine
    from journeymine._engine import engine_of

    log = build(frame(), case_attributes=["segment"])
    subs = [log, log.filter_cases(segment="SMB"), log.filter_time("2024-01-01", "2024-02-01", mode="events"),
            log.filter_activities("Webinar"), *log.cohorts(by="segment").values()]
    for sub in subs:
        assert sub.engine == "embedded"
        assert isinstance(engine_of(sub), EmbeddedEngine)
        assert engine_of(sub).name == sub.engine
    with pytest.raises(AttributeError, match="immutable"):
        log._engine = None  # type: ignore[misc]


#: the options every log constructor shares with JourneyLog.from_frame
SHARED_OPTIONS = ("case_attributes", "event_attributes", "stage_order", "tz", "timestamp_format",
                  "valid_time", "duplicates", "on_invalid")


def test_constructors_take_the_same_role_keywords() -> None:
    import dataclasses
    import inspect

    from journeymine._validate import ROLE_KEYWORDS

    constructors = [jm.JourneyLog.from_frame, jm.read_csv, jm.read_parquet, jm.read_sql, jm.JourneyLog.from_spark]
    roles = [f.name for f in dataclasses.fields(jm.ColumnMapping)]
    assert list(ROLE_KEYWORDS) == roles
    reference = inspect.signature(jm.JourneyLog.from_frame).parameters
    for fn in constructors:
        params = inspect.signature(fn).parameters
        # the roles, keyword-only, in the same order, with the same types and defaults
        named = [p for p in params.values() if p.name in roles]
        assert [p.name for p in named] == roles, fn.__qualname__
        for p in named:
            assert p.kind is inspect.Parameter.KEYWORD_ONLY, (fn.__qualname__, p.name)
            assert (p.annotation, p.default) == (reference[p.name].annotation, reference[p.name].default), (
                fn.__qualname__, p.name)
        for name in SHARED_OPTIONS:
            p = params[name]
            assert (p.annotation, p.default) == (reference[name].annotation, reference[name].default), (
                fn.__qualname__, name)
        # and the docstring documents them (one parameter entry names the optional roles)
        assert ", ".join(roles[3:]) in (inspect.getdoc(fn) or ""), fn.__qualname__


def test_from_spark_refuses_an_unknown_role_keyword() -> None:
    # the signature is explicit (no **options): a misspelt role is a TypeError, not ignored
    with pytest.raises(TypeError, match="chanel"):
        jm.JourneyLog.from_spark(object(), case="a", activity="b", timestamp="c", chanel="x")  # type: ignore[call-arg]


def test_a_log_survives_pickle_and_copy_without_its_caches() -> None:
    import copy
    import pickle

    log = jm.datasets.demo_b2b(n_accounts=80, random_state=0)
    jm.journey_map(log)  # fills the caches
    assert log._cache
    for twin in (pickle.loads(pickle.dumps(log)), copy.copy(log), copy.deepcopy(log)):
        assert twin.events.equals(log.events) and twin.cases.equals(log.cases)
        assert twin.engine == "embedded" and twin.activities == log.activities
        assert jm.journey_map(twin).to_dict() == jm.journey_map(log).to_dict()
        with pytest.raises(AttributeError, match="immutable"):
            twin.x = 1  # type: ignore[attr-defined]
    assert not pickle.loads(pickle.dumps(log))._cache  # derived data is not pickled


def test_filter_cases_with_a_list_or_a_series_says_what_it_takes() -> None:
    log = jm.datasets.demo_b2b(50, random_state=0)
    ids = log.cases["case"].iloc[:5].tolist()
    for where in (ids, log.cases["case"].isin(ids)):
        with pytest.raises(jm.errors.InvalidParameterError, match=r"filter_cases.*isin\(ids\)"):
            log.filter_cases(where)
    assert log.filter_cases(lambda cases: cases["case"].isin(ids)).n_cases == 5


def test_split_episodes_by_hand() -> None:
    df = pd.DataFrame({
        "c": ["A"] * 6 + ["B"] * 2,
        "a": ["Visit", "Signed", "Use", "Renewal", "Use", "Visit", "Visit", "Demo"],
        "t": ["2024-01-01", "2024-01-10", "2024-02-01", "2024-12-01", "2024-12-05", "2026-01-01",
              "2024-01-01", "2024-01-02"],
        "seg": ["X"] * 6 + ["Y"] * 2,
    })
    log = jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t", case_attributes=["seg"])
    ep = log.split_episodes(on="Renewal", gap="365D", customer="Signed")
    c = ep.cases.set_index("case")
    # A: new business, a renewal cycle, then back after more than a year of silence
    assert list(c.index) == ["A#1", "A#2", "A#3", "B#1"]
    assert c["n_events"].tolist() == [3, 2, 1, 2] and ep.n_events == log.n_events
    assert c["existing_customer"].tolist() == [False, True, True, False]
    assert c.loc["A#3", "account"] == "A" and c.loc["A#3", "episode"] == 3 and c.loc["A#3", "seg"] == "X"
    with pytest.raises(jm.InvalidParameterError, match="gap="):
        log.split_episodes()
    with pytest.raises(jm.InvalidParameterError, match="on"):
        log.split_episodes(on="Renewl")
    with pytest.raises(jm.InvalidParameterError, match="gap"):
        log.split_episodes(gap="never")
