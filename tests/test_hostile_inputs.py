"""Hostile or faulty in-memory inputs: control characters, bad option values, column-name
clashes. Each must end in journeymine's own error or a documented, visible rule, never a
raw pandas/polars/Python error and never an invalid drawing."""

from __future__ import annotations

import sys
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


@pytest.mark.parametrize("kind", ["category", "blank-padded"])
def test_control_characters_in_categorical_or_blank_ids_reject_the_row(kind: str) -> None:
    # ids scanned as text first: a categorical column is looked at row by row only when its
    # values hold one; a blank text id is missing whatever whitespace it is made of
    acts = ["x", "y\x1fz", "x", "\x0b "]
    df = _frame(act=pd.Categorical(acts) if kind == "category" else acts)
    with pytest.warns(jm.DataQualityWarning, match=r"2 of 4 input rows were set aside \(1 control character, "
                      r"1 missing activity"):
        log = _build(df)
    assert sorted(log.rejected["reason"].tolist()) == ["control character", "missing activity"]


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
# forced k on the small demo logs: the fit warns that the clusters depend on the start
@pytest.mark.filterwarnings("ignore:The clusters depend on the start")
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


# -- found on a second read (each once a bug) -----------------------------------------------
def test_write_atomic_keeps_permissions_writes_through_links_and_short_temp_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import stat

    from journeymine._output import write_atomic

    private = tmp_path / "private.csv"
    private.write_text("old")
    private.chmod(0o600)
    write_atomic(private, lambda p: p.write_text("new"), owner="t")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text() == "new"
    target, link = tmp_path / "target.txt", tmp_path / "link.txt"
    target.write_text("t")
    link.symlink_to(target)
    write_atomic(link, lambda p: p.write_text("via link"), owner="t")
    assert link.is_symlink() and target.read_text() == "via link"
    long = tmp_path / ("x" * 240 + ".csv")  # a legal name: the temporary one must be legal too
    write_atomic(long, lambda p: p.write_text("ok"), owner="t")
    assert long.read_text() == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["private.csv", "target.txt", "link.txt", long.name])


def test_nothing_is_written_inside_an_input_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    folder = tmp_path / "parts"
    folder.mkdir()
    pl.DataFrame({"c": ["a", "a"], "act": ["x", "y"], "ts": ["2024-01-01", "2024-01-02"]}).write_parquet(
        folder / "part-0.parquet")
    log = jm.read_parquet(folder, case="c", activity="act", timestamp="ts")
    before = (folder / "part-0.parquet").read_bytes()
    with pytest.raises(jm.InvalidParameterError, match="inside the input folder"):
        jm.write_csv(log, folder / "part-0.parquet")
    with pytest.raises(jm.InvalidParameterError, match="inside the input folder"):
        jm.write_xes(log, folder / "new.xes")
    assert (folder / "part-0.parquet").read_bytes() == before and len(list(folder.iterdir())) == 1


@pytest.mark.parametrize("encoding", ["rot13", "hex", "zlib"])
def test_codecs_that_are_not_text_encodings_are_refused(tmp_path, encoding: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "e.csv"
    path.write_text("a,b,c\nx,y,2024-01-01\n")
    with pytest.raises(jm.InvalidParameterError, match="Python text codec name"):
        jm.read_csv(path, case="a", activity="b", timestamp="c", encoding=encoding)


def test_multibyte_separators_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "e.csv"
    path.write_text("a§b§c\nx§y§2024-01-01\n")
    with pytest.raises(jm.InvalidParameterError, match="single-byte character"):
        jm.read_csv(path, case="a", activity="b", timestamp="c", sep="§")
    log = jm.datasets.demo_b2b(5, random_state=0)
    with pytest.raises(jm.InvalidParameterError, match="single-byte character"):
        jm.write_csv(log, tmp_path / "o.csv", sep="§")


def test_control_characters_in_categorical_attributes_are_replaced() -> None:
    df = _frame(seg=pd.Categorical(["S\x00MB", "S\x00MB", "E", "E"]))
    with pytest.warns(jm.DataQualityWarning, match=r"'seg' \(2 values\) were replaced"):
        log = _build(df, case_attributes="seg")
    assert log.cases["seg"].tolist() == ["S\ufffdMB", "E"]
    assert "\x00" not in jm.report(log, by="seg", generated=False)


def test_a_callable_won_outcome_does_not_open_its_own_sales_cycle() -> None:
    df = pd.DataFrame({"c": ["a", "a", "b", "b"], "act": ["Visit", "Won", "Visit", "Won"],
                       "ts": ["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-09"]})
    log = _build(df)
    as_list = jm.kpis(log, outcomes={"won": ["Won"]}).value("sales_cycle_days")
    as_callable = jm.kpis(log, outcomes={"won": lambda e: e["activity"] == "Won"}).value("sales_cycle_days")
    assert np.isnan(as_list) and np.isnan(as_callable)


@pytest.mark.filterwarnings("ignore:The clusters depend on the start")
def test_cluster_summary_outcomes_take_a_string_or_a_predicate() -> None:
    log = jm.datasets.demo_b2b(300, random_state=0)
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(log)
    as_list = est.summary(outcomes={"won": ["Contract signed"]})["won_share"]
    as_str = est.summary(outcomes={"won": "Contract signed"})["won_share"]
    as_fn = est.summary(outcomes={"won": lambda e: e["activity"] == "Contract signed"})["won_share"]
    assert as_list.gt(0).any()
    assert as_list.tolist() == as_str.tolist() == as_fn.tolist()


def test_single_touch_journeys_compare_and_report() -> None:
    df = pd.DataFrame({"c": [str(i) for i in range(40)], "a": ["x"] * 40, "t": ["2024-01-01"] * 40,
                       "g": ["A"] * 20 + ["B"] * 20})
    log = _build(df.rename(columns={"a": "act", "t": "ts"}), case_attributes="g")
    cmp = jm.compare_cohorts(log, by="g", outcomes={"won": "x"}, random_state=0, min_cases=10)
    assert cmp.transitions.empty and list(cmp.transitions.columns[3:5]) == ["source", "target"]
    a = jm.attribution(log, conversion="x")
    assert a.credits.empty and a.to_dataframe(wide=True).empty
    html = jm.report(log, by="g", outcomes={"won": "x"}, generated=False)
    assert html.startswith("<!DOCTYPE html>") and "Journey types" in html


# -- hostile inputs of the embedded engine and read_parquet (each once a raw error) ----------
ENGINES = ["embedded", "duckdb"]
PQ = dict(case="c", activity="act", timestamp="ts")


def _table(**extra: object) -> dict[str, object]:
    import datetime as dt

    base: dict[str, object] = {
        "c": ["a", "a", "b"], "act": ["x", "y", "x"],
        "ts": [dt.datetime(2024, 1, 1, h) for h in range(3)],
    }
    base.update(extra)
    return base


def _read(path: object, engine: str, **kw: object) -> jm.JourneyLog:
    if engine == "duckdb":
        pytest.importorskip("duckdb")
    log = jm.read_parquet(path, engine=engine, **{**PQ, **kw})  # type: ignore[arg-type]
    return log.to_local() if engine == "duckdb" else log


def test_attributes_may_take_the_names_of_work_columns() -> None:
    df = _frame(row=[7, 7, 9, 9], activity=["A", "A", "B", "B"], __reason=["p", "q", "r", "s"],
                __ts_missing=[1, 2, 3, 4])
    df[" attribute 0"] = ["u", "v", "w", "x"]
    log = _build(df, case_attributes=["row", "activity"])
    assert log.cases[["case", "row", "activity"]].to_dict("list") == {
        "case": ["a", "b"], "row": [7, 9], "activity": ["A", "B"]}
    assert log.event_attributes == ("__reason", "__ts_missing", " attribute 0")
    assert log.events["__reason"].tolist() == ["p", "q", "r", "s"]
    assert log.events["row"].tolist() == [0, 1, 2, 3]  # the input row, as always
    varying = _frame(row=[7, 8, 9, 9])
    with pytest.warns(jm.DataQualityWarning, match=r"Case attribute 'row' is not constant within 1 of 2"):
        assert _build(varying, case_attributes="row").cases["row"].tolist() == [7, 9]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_case_attribute_named_row_is_read(tmp_path, engine: str) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    pl.DataFrame(_table(row=[7, 7, 9])).write_parquet(tmp_path / "e.parquet")
    log = _read(tmp_path / "e.parquet", engine, case_attributes=["row"])
    assert log.cases["row"].tolist() == [7, 9] and log.events["row"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_column_named_empty_is_an_event_attribute(tmp_path, engine: str) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    frame = pl.DataFrame(_table(**{"": [1, 2, 3]}))
    assert jm.JourneyLog.from_frame(frame, **PQ).events[""].tolist() == [1, 2, 3]  # type: ignore[arg-type]
    frame.write_parquet(tmp_path / "e.parquet")
    log = _read(tmp_path / "e.parquet", engine)
    assert log.event_attributes == ("",) and log.events[""].tolist() == [1, 2, 3]


def test_a_categorical_value_column_is_read_as_its_text() -> None:
    df = _frame(v=pd.Categorical(["1.5", "x", "2", None]))
    with pytest.warns(jm.DataQualityWarning, match=r"Column 'v' \(value\): 1 value\(s\) are not numbers .*rows \[1\]"):
        log = _build(df, value="v")
    assert log.events["value"].tolist()[::2] == [1.5, 2.0] and log.events["value"].isna().sum() == 2


def test_a_dictionary_value_column_in_parquet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = pa.array(["1", "2", "3"], pa.dictionary(pa.int8(), pa.string()))
    pq.write_table(pa.table(_table(v=values)), tmp_path / "e.parquet")
    assert _read(tmp_path / "e.parquet", "embedded", value="v").events["value"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(("values", "kind"), [
    ([[1], [2], [3], [4]], r"List\(Int64\)"),
    ([{"a": 1}] * 4, r"Struct"),
    (pd.to_datetime(["2024-01-01"] * 4), r"Datetime"),
    (pd.to_timedelta([1, 2, 3, 4], unit="D"), r"Duration"),
])
def test_a_value_column_of_no_amounts_is_a_schema_error(values: object, kind: str) -> None:
    import polars as pl

    df = pl.from_pandas(_frame()).with_columns(pl.Series("v", values))
    with pytest.raises(jm.SchemaError, match=rf"Column 'v' \(value\) holds values of type {kind}.* in 4 rows; "
                       r"the value column must hold numbers"):
        jm.JourneyLog.from_frame(df, case="c", activity="act", timestamp="ts", value="v")


def test_duration_ids_are_a_schema_error_naming_the_kinds_allowed() -> None:
    df = _frame(c=pd.to_timedelta([1, 1, 2, 2], unit="D"))
    with pytest.raises(jm.SchemaError, match=r"Column 'c' \(case\) holds durations .* in 4 rows, which are not "
                       r"ids or names; a case column may hold text, categories, integers"):
        _build(df)


@pytest.mark.parametrize(("kw", "error", "match"), [
    (dict(event_attributes=["n", "n"]), jm.InvalidParameterError,
     r"The 'event_attributes' parameter of {owner} must be a list of distinct column names \('n' listed "
     r"more than once\)\. Got \['n', 'n'\]\."),
    (dict(case_attributes=["m", "n", "m"]), jm.InvalidParameterError,
     r"The 'case_attributes' parameter of {owner} must be a list of distinct column names \('m' listed"),
    (dict(case_attributes="n", event_attributes=["m", "n"]), jm.SchemaError,
     r"Column 'n' is given both as case attribute and as event attribute"),
])
@pytest.mark.parametrize("reader", ["from_frame", "embedded", "duckdb"])
def test_an_attribute_named_twice_is_a_clear_error(tmp_path, kw: dict[str, object], error: type[Exception],  # type: ignore[no-untyped-def]
                                                   match: str, reader: str) -> None:
    import polars as pl

    data = _table(n=[1, 1, 2], m=[3, 3, 4])
    if reader == "from_frame":
        with pytest.raises(error, match=match.format(owner=r"JourneyLog\.from_frame")):
            jm.JourneyLog.from_frame(pl.DataFrame(data), **PQ, **kw)  # type: ignore[arg-type]
        return
    pl.DataFrame(data).write_parquet(tmp_path / "e.parquet")
    with pytest.raises(error, match=match.format(owner="read_parquet")):
        _read(tmp_path / "e.parquet", reader, **kw)


@pytest.mark.skipif(sys.platform == "win32", reason="'*' and '?' cannot be in Windows file names")
@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_paths_are_names_not_patterns(tmp_path, engine: str) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    folder = tmp_path / "f[1]"
    folder.mkdir()
    for name, case in (("a[1]", "a"), ("*", "b"), ("?", "c")):
        pl.DataFrame(_table(c=[case] * 3)).write_parquet(folder / f"{name}.parquet")
    pl.DataFrame(_table(c=["z"] * 3)).write_parquet(folder / "1.parquet")  # what the patterns match
    log = _read(folder, engine)
    assert (log.n_events, log.n_rejected) == (12, 0)
    for name, case in (("a[1]", "a"), ("*", "b"), ("?", "c")):
        one = _read(folder / f"{name}.parquet", engine)
        assert (one.n_events, one.cases["case"].tolist()) == (3, [case])


@pytest.mark.parametrize("engine", ENGINES)
def test_timestamps_in_a_fixed_offset_zone_are_read_as_instants(tmp_path, engine: str) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    india = dt.timezone(dt.timedelta(hours=5, minutes=30))
    stamps = [dt.datetime(2024, 1, 1, 9, 30, tzinfo=india) + dt.timedelta(hours=h) for h in range(3)]
    folder = tmp_path / "zones"
    folder.mkdir()
    pq.write_table(pa.table(_table(ts=pa.array(stamps, pa.timestamp("us", "+05:30")),
                                   seen=pa.array(stamps, pa.timestamp("ms", "-03:30")))), folder / "1.parquet")
    pq.write_table(pa.table({"c": ["d"], "act": ["z"], "ts": pa.array(stamps[:1], pa.timestamp("us", "UTC")),
                             "seen": pa.array(stamps[:1], pa.timestamp("ms", "UTC"))}), folder / "2.parquet")
    utc = [pd.Timestamp("2024-01-01 04:00", tz="UTC") + pd.Timedelta(hours=h) for h in range(3)]
    one = _read(folder / "1.parquet", engine)
    assert one.events["timestamp"].tolist() == utc and one.events["seen"].tolist() == utc
    both = _read(folder, engine)
    assert both.events["timestamp"].tolist() == [*utc, utc[0]]
    assert both.cases["case"].tolist() == ["a", "b", "d"]
    # a file with the same columns in another order joins the others (pyarrow's concat
    # needs one order)
    pq.write_table(pa.table({"seen": pa.array(stamps[:1], pa.timestamp("ms", "UTC")), "act": ["z"],
                             "ts": pa.array(stamps[:1], pa.timestamp("us", "UTC")), "c": ["e"]}),
                   folder / "3.parquet")
    assert _read(folder, engine).cases["case"].tolist() == ["a", "b", "d", "e"]


@pytest.mark.parametrize("engine", ["embedded", "duckdb"])
def test_attributes_given_as_an_iterator_are_read(tmp_path, engine: str) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    pl.DataFrame({"account": ["a", "a"], "act": ["x", "y"], "ts": ["2024-01-01", "2024-01-02"],
                  "seg": ["s", "s"], "m": [1, 2]}).write_parquet(tmp_path / "g.parquet")
    log = jm.read_parquet(tmp_path / "g.parquet", case="account", activity="act", timestamp="ts",
                          engine=engine, case_attributes=(c for c in ["seg"]),
                          event_attributes=iter(["m"]))
    assert tuple(log.case_attributes) == ("seg",) and tuple(log.event_attributes) == ("m",)


def test_pandas_column_names_are_kept_as_text_and_clashes_named() -> None:
    import pandas as pd

    frame = pd.DataFrame({"account": ["a", "a"], "act": ["x", "y"], "ts": ["2024-01-01", "2024-01-02"],
                          "": ["p", "q"]})
    log = jm.JourneyLog.from_frame(frame, case="account", activity="act", timestamp="ts")
    assert "" in log.events.columns  # polars alone renames it column_3
    assert log.events[""].tolist() == ["p", "q"]
    clash = pd.DataFrame({0: ["a", "a"], "0": ["x", "y"], "ts": ["2024-01-01", "2024-01-02"]})
    with pytest.raises(jm.SchemaError, match=r"duplicate column names \['0'\] \(as text\)"):
        jm.JourneyLog.from_frame(clash, case="0", activity="0", timestamp="ts")
