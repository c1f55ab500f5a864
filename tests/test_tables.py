"""Events from wide tables (jm.from_tables) and jm.concat: every row accounted for."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeymine as jm

REASON_COLUMNS = ["unmapped id", "missing case id", "missing activity", "control character",
                  "missing timestamp", "unparsable timestamp", "timestamp out of range", "duplicate event"]


def _quiet(fn, *args, **kw):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        return fn(*args, **kw)


def _accounted(log: jm.JourneyLog) -> None:
    """Every row read is an event, has no timestamp, or is in log.rejected: per source."""
    src = log.sources
    assert (src["rows"] == src["events"] + src["no timestamp"] + src[REASON_COLUMNS].sum(axis=1)).all()
    assert src["events"].sum() == log.n_events
    assert src[REASON_COLUMNS].sum().sum() == log.n_rejected
    if log.n_rejected:
        per = log.rejected.groupby(["source", "reason"]).size()
        for (source, reason), n in per.items():
            assert src.set_index("source").loc[source, reason] == n


@pytest.fixture
def deals() -> pd.DataFrame:
    return pd.DataFrame({
        "deal": ["d1", "d2", "d3", "d4", "d5"],
        "account": ["A", "B", None, "A", "C"],
        "engaged": ["2024-01-02", "2024-01-05", "2024-01-07", None, "2024-01-09"],
        "closed": ["2024-02-01", None, None, None, "not a date"],
        "stage": ["Won", "Engaging", "Engaging", "Prospecting", "Lost"],
        "amount": [100, None, None, None, 0],
    })


def _specs(deals: pd.DataFrame, **kw: object) -> list[jm.EventSpec]:
    return [
        jm.EventSpec(deals, name="engage", timestamp="engaged", activity="Engage", **kw),  # type: ignore[arg-type]
        jm.EventSpec(deals, name="close", timestamp="closed", activity=jm.Column("stage"), value="amount",
                     **kw),  # type: ignore[arg-type]
    ]


def test_every_row_is_an_event_no_timestamp_unmapped_or_rejected(deals: pd.DataFrame) -> None:
    with pytest.warns(jm.DataQualityWarning) as caught:
        log = jm.from_tables(_specs(deals, case="account"), case="account")
    summary = [str(w.message) for w in caught if "from_tables:" in str(w.message)]
    assert len(summary) == 1
    assert summary[0].startswith("from_tables: 10 rows in 2 source(s) gave 4 events; not events: "
                                 "4 without a timestamp (engage: 1, close: 3); 1 with an unmapped id "
                                 "(engage: 1); 1 rejected (1 unparsable timestamp).")
    _accounted(log)
    src = log.sources.set_index("source")
    assert src.loc["engage", ["first_row", "rows", "events", "no timestamp", "unmapped id"]].tolist() == [0, 5, 3, 1, 1]
    assert src.loc["close", ["first_row", "rows", "events", "no timestamp", "unparsable timestamp"]].tolist() == [
        5, 5, 1, 3, 1]
    # rows are numbered spec after spec; rejected rows keep their spec's input columns
    rej = log.rejected
    assert rej[["row", "reason", "source"]].values.tolist() == [
        [2, "unmapped id", "engage"], [9, "unparsable timestamp", "close"]]
    assert rej.loc[rej["reason"] == "unparsable timestamp", "closed"].tolist() == ["not a date"]
    assert log.events[["case", "activity", "row"]].values.tolist() == [
        ["A", "Engage", 0], ["A", "Won", 5], ["B", "Engage", 1], ["C", "Engage", 4]]
    assert log.events["value"].tolist()[1] == 100
    assert log.mapping.case == "account"


def test_case_through_a_mapping_table_and_case_attributes(deals: pd.DataFrame) -> None:
    owners = pl.DataFrame({"Id": ["d1", "d2", "d3", "d4", "d5", "d6"],
                           "AccountId": ["A", "B", None, "A", "Z", "Q"]})
    accounts = pd.DataFrame({"account": ["A", "B"], "sector": ["retail", "software"], "employees": [10, 20]})
    with pytest.warns(jm.DataQualityWarning) as caught:
        log = jm.from_tables(
            _specs(deals.drop(columns="account"), via="deal"), case="account",
            mappings={"deal": jm.IdMap(owners, id="Id", case="AccountId")},
            case_tables=[jm.Lookup(accounts, key="account")],
        )
    messages = [str(w.message) for w in caught]
    assert any("1 of 3 accounts have no row in case table 0 (key 'account') ('Z')" in m for m in messages)
    assert any("1 with an unmapped id (engage: 1, e.g. 'd3')" in m for m in messages)
    assert log.sources.set_index("source").loc["engage", "unmapped examples"].tolist() == ["d3"]
    unmapped = log.rejected[log.rejected["reason"] == "unmapped id"]
    assert unmapped["deal"].tolist() == ["d3"]
    assert log.case_attributes == ("sector", "employees")
    cases = log.cases.set_index("case")
    assert cases.loc["A", ["sector", "employees", "n_events"]].tolist() == ["retail", 10, 2]
    assert pd.isna(cases.loc["Z", "sector"])
    _accounted(log)


def test_a_plain_frame_as_mapping_and_one_idmap_under_two_names() -> None:
    tasks = pd.DataFrame({"WhoId": ["c1", "c2"], "Subject": ["Call", "Email"],
                          "ActivityDate": ["2024-03-01", "2024-03-02"]})
    roles = pd.DataFrame({"ContactId": ["c1"], "Role": ["Decision Maker"], "CreatedDate": ["2024-02-01"]})
    contacts = jm.IdMap(pd.DataFrame({"Id": ["c1", "c2"], "AccountId": ["A", "B"]}), id="Id", case="AccountId")
    log = jm.from_tables(
        [jm.EventSpec(tasks, timestamp="ActivityDate", activity=jm.Column("Subject"), via="WhoId",
                      contact="WhoId"),
         jm.EventSpec(roles, timestamp="CreatedDate", activity="Contact role added", via="ContactId",
                      contact="ContactId", role="Role")],
        case="account", mappings={"WhoId": contacts, "ContactId": contacts},
    )
    assert log.events[["case", "activity", "contact", "role"]].fillna("-").values.tolist() == [
        ["A", "Contact role added", "c1", "Decision Maker"], ["A", "Call", "c1", "-"], ["B", "Email", "c2", "-"]]
    plain = jm.from_tables(
        jm.EventSpec(tasks, timestamp="ActivityDate", activity="Task", via="WhoId"),
        case="AccountId", mappings={"WhoId": pd.DataFrame({"WhoId": ["c1", "c2"], "AccountId": ["A", "B"]})},
    )
    assert plain.cases["case"].tolist() == ["A", "B"]


def test_timestamps_are_read_as_read_csv_reads_them(tmp_path: Path) -> None:
    table = pd.DataFrame({"account": ["A", "A", "B"], "act": ["x", "y", "z"],
                          "at": ["03/02/2024", "25/12/2024", "2024-01-05 10:30"]})
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    csv = jm.read_csv(path, case="account", activity="act", timestamp="at", tz="Europe/Berlin")
    ours = jm.from_tables(jm.EventSpec(table, timestamp="at", activity=jm.Column("act"), case="account"),
                          case="account", tz="Europe/Berlin")
    assert ours.events["timestamp"].tolist() == csv.events["timestamp"].tolist()
    assert str(ours.events["timestamp"].iloc[0]) == "2024-02-02 23:00:00+00:00"  # date-only: midnight in tz


def test_repeats_across_specs_are_duplicate_events_with_their_input_values() -> None:
    a = pd.DataFrame({"acct": ["A", "A"], "at": ["2024-01-01", "2024-01-01"]})
    b = pd.DataFrame({"acct": ["A"], "when": ["2024-01-01"]})
    with pytest.warns(jm.DataQualityWarning, match=r"2 rejected \(2 duplicate event\)"):
        log = jm.from_tables([jm.EventSpec(a, timestamp="at", activity="Visit", case="acct"),
                              jm.EventSpec(b, timestamp="when", activity="Visit", case="acct")], case="account")
    assert log.n_events == 1
    assert log.rejected[["row", "reason", "source"]].values.tolist() == [
        [1, "duplicate event", "at"], [2, "duplicate event", "when"]]
    assert log.rejected["when"].tolist()[1] == "2024-01-01"
    _accounted(log)
    kept = jm.from_tables([jm.EventSpec(a, timestamp="at", activity="Visit", case="acct")], case="account",
                          duplicates="keep")
    assert kept.n_events == 2


def test_event_lookups_and_their_misses() -> None:
    pipe = pd.DataFrame({"acct": ["A", "B"], "product": ["GTX Pro", "GTXPro"], "at": ["2024-01-01"] * 2})
    products = pd.DataFrame({"product": ["GTX Pro"], "series": ["GTX"], "sales_price": [4821]})
    with pytest.warns(jm.DataQualityWarning) as caught:
        log = jm.from_tables(jm.EventSpec(pipe, timestamp="at", activity=jm.Column("series"), case="acct",
                                          lookups=jm.Lookup(products, key="product")), case="account")
    assert ("EventSpec 'at': 1 row(s) have a 'product' that the lookup table does not hold ('GTXPro'), so "
            "their 'series', 'sales_price' are missing") in str(caught[0].message)
    # the lookup's attribute is the activity: the row it missed has none, and is rejected
    assert log.events["activity"].tolist() == ["GTX"]
    assert log.rejected["reason"].tolist() == ["missing activity"]


# -- bad input ----------------------------------------------------------------------------
def test_unknown_column_names_it_the_spec_and_close_matches(deals: pd.DataFrame) -> None:
    spec = jm.EventSpec(deals, name="close", timestamp="close_date", activity="Close", case="account")
    with pytest.raises(jm.SchemaError, match=r"Column 'close_date' \(timestamp\) not found in EventSpec 'close'\. "
                       r"Close matches: 'closed'"):
        jm.from_tables(spec, case="account")
    spec = jm.EventSpec(deals, timestamp="closed", activity=jm.Column("stge"), case="account")
    with pytest.raises(jm.SchemaError, match=r"'stge' \(activity\) not found in EventSpec 'closed'.*'stage'"):
        jm.from_tables(spec, case="account")


def test_case_and_via_exactly_one(deals: pd.DataFrame) -> None:
    with pytest.raises(jm.InvalidParameterError, match="one of case= and via="):
        jm.EventSpec(deals, timestamp="closed", activity="Close", case="account", via="deal")
    with pytest.raises(jm.InvalidParameterError, match="one of case= and via="):
        jm.EventSpec(deals, timestamp="closed", activity="Close")


def test_fixed_activity_that_is_a_column_asks_for_column(deals: pd.DataFrame) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"activity=jm.Column\('stage'\)"):
        jm.from_tables(jm.EventSpec(deals, timestamp="closed", activity="stage", case="account"), case="account")


def test_spec_names_must_differ_and_via_needs_a_mapping(deals: pd.DataFrame) -> None:
    spec = jm.EventSpec(deals, timestamp="closed", activity="Close", case="account")
    with pytest.raises(jm.InvalidParameterError, match="repeated: \\['closed'\\]"):
        jm.from_tables([spec, spec], case="account")
    with pytest.raises(jm.SchemaError, match="mappings has no table for 'deal'"):
        jm.from_tables(jm.EventSpec(deals, timestamp="closed", activity="Close", via="deal"), case="account")


def test_mapping_one_id_to_two_cases_names_the_ids(deals: pd.DataFrame) -> None:
    owners = pd.DataFrame({"deal": ["d1", "d1", "d2", "d2", "d3"], "account": ["A", "B", "B", "C", "C"]})
    with pytest.raises(jm.SchemaError, match=r"maps 2 id\(s\) to more than one account: 'd1', 'd2' "
                       r"\(e\.g\. 'd1' → \['A', 'B'\]\)"):
        jm.from_tables(_specs(deals.drop(columns="account"), via="deal"), case="account",
                       mappings={"deal": owners})


def test_lookup_with_repeated_keys_names_them(deals: pd.DataFrame) -> None:
    accounts = pd.DataFrame({"account": ["A", "A", "B"], "sector": ["x", "y", "z"]})
    with pytest.raises(jm.SchemaError, match=r"Key 'account' of case table 0 .* 1 key\(s\) occur more than once "
                       r"\('A'\)"):
        _quiet(jm.from_tables, _specs(deals, case="account"), case="account",
               case_tables=jm.Lookup(accounts, key="account"))


def test_raise_and_empty(deals: pd.DataFrame) -> None:
    with pytest.raises(jm.DataQualityError, match="1 with an unmapped id") as info:
        jm.from_tables(_specs(deals, case="account"), case="account", on_invalid="raise")
    assert set(info.value.rejected["reason"]) == {"unmapped id", "unparsable timestamp"}  # type: ignore[attr-defined]
    empty = deals.assign(engaged=None)
    with pytest.raises(jm.EmptyLogError, match="None of the 5 input rows gave an event"):
        _quiet(jm.from_tables, jm.EventSpec(empty, timestamp="engaged", activity="E", case="account"),
               case="account")


def test_from_frame_logs_have_one_source_row() -> None:
    df = pd.DataFrame({"a": ["A", "A", None], "t": ["x", "y", "z"], "ts": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    log = _quiet(jm.JourneyLog.from_frame, df, case="a", activity="t", timestamp="ts")
    assert log.sources[["source", "rows", "events", "missing case id"]].values.tolist() == [
        ["pandas.DataFrame", 3, 2, 1]]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["A", "B", None, ""]), st.sampled_from(["o1", "o2", "o3", None]),
                          st.sampled_from(["2024-01-01", "2024-01-02", None, "", "bad"]),
                          st.sampled_from(["2024-02-01", None])), min_size=1, max_size=12))
def test_property_every_row_is_counted_once(rows: list[tuple[object, ...]]) -> None:
    table = pd.DataFrame(rows, columns=["account", "opp", "t1", "t2"])
    mapping = pd.DataFrame({"opp": ["o1", "o2"], "account": ["A", "B"]})
    specs = [jm.EventSpec(table, timestamp="t1", activity="One", case="account"),
             jm.EventSpec(table, timestamp="t2", activity="Two", via="opp")]
    try:
        log = _quiet(jm.from_tables, specs, case="account", mappings={"opp": mapping})
    except jm.EmptyLogError as exc:
        src = exc.sources  # type: ignore[attr-defined]
        assert (src["events"] == 0).all()
        assert (src["rows"] == src["no timestamp"] + src[REASON_COLUMNS].sum(axis=1)).all()
        return
    _accounted(log)
    assert (log.sources["rows"] == len(table)).all()


# -- concat -------------------------------------------------------------------------------
def _log(rows: list[tuple[str, str, str]], **kw: object) -> jm.JourneyLog:
    df = pd.DataFrame(rows, columns=["account", "touch", "at"])
    for k, v in kw.items():
        df[k] = v
    return jm.JourneyLog.from_frame(df, case="account", activity="touch", timestamp="at",
                                    case_attributes=list(kw))


def test_concat_merges_and_sets_repeats_aside() -> None:
    jan = _log([("A", "Webinar", "2024-01-10"), ("B", "Webinar", "2024-01-12")], segment="SMB")
    feb = _log([("A", "Webinar", "2024-01-10"), ("A", "Demo", "2024-02-01"), ("C", "Demo", "2024-02-02")])
    with pytest.warns(jm.DataQualityWarning, match=r"concat: 1 event\(s\) repeat an event of an earlier log"):
        both = jm.concat([jan, feb])
    assert both.events[["case", "activity", "row"]].values.tolist() == [
        ["A", "Webinar", 0], ["A", "Demo", 3], ["B", "Webinar", 1], ["C", "Demo", 4]]
    assert both.rejected[["row", "reason", "source", "case"]].values.tolist() == [
        [2, "duplicate event", "pandas.DataFrame (2)", "A"]]
    assert both.sources[["first_row", "rows", "events", "duplicate event"]].values.tolist() == [
        [0, 2, 2, 0], [2, 3, 2, 1]]
    assert both.cases.set_index("case")["segment"].fillna("-").to_dict() == {"A": "SMB", "B": "SMB", "C": "-"}
    _accounted(both)
    assert jm.concat([jan, feb], duplicates="keep").n_events == 5


def test_concat_refuses_disagreeing_case_attributes_and_roles() -> None:
    a = _log([("A", "Webinar", "2024-01-10")], segment="SMB")
    b = _log([("A", "Demo", "2024-02-01")], segment="Enterprise")
    with pytest.raises(jm.DataQualityError, match=r"Case attribute 'segment' differs between the logs for 1 "
                       r"case\(s\), e\.g\. case 'A': \['SMB', 'Enterprise'\] in logs \[0, 1\]"):
        jm.concat([a, b])
    c = jm.JourneyLog.from_frame(pd.DataFrame({"account": ["A"], "touch": ["x"], "at": ["2024-01-01"],
                                               "channel": ["web"]}), case="account", activity="touch", timestamp="at")
    with pytest.raises(jm.SchemaError, match="concat merges logs with the same roles"):
        jm.concat([a, c])
    with pytest.raises(jm.InvalidParameterError, match="'logs' parameter of concat"):
        jm.concat(a)  # type: ignore[arg-type]


def test_concat_of_spec_logs_is_from_tables_of_the_specs(deals: pd.DataFrame) -> None:
    engage, close = _specs(deals, case="account")
    engage = jm.EventSpec(deals, name="engage", timestamp="engaged", activity="Engage", value="amount",
                          case="account")
    whole = _quiet(jm.from_tables, [engage, close], case="account")
    parts = _quiet(jm.concat, [_quiet(jm.from_tables, engage, case="account"),
                               _quiet(jm.from_tables, close, case="account")])
    assert parts.to_polars("events").equals(whole.to_polars("events"))
    assert parts.to_polars("rejected").equals(whole.to_polars("rejected"))
    pd.testing.assert_frame_equal(parts.sources, whole.sources)


# -- the Maven CRM tables ------------------------------------------------------------------
def _crm_tables(data: Path) -> dict[str, pd.DataFrame]:
    read = {"keep_default_na": False, "na_values": [""]}
    return {name: pd.read_csv(data / f"crm_{name}.csv.gz", **read)  # type: ignore[arg-type]
            for name in ("sales_pipeline", "accounts", "products", "sales_teams")}


@pytest.mark.realdata
def test_crm_opportunity_journeys_match_sources(shared_data: Path) -> None:
    pipe = _crm_tables(shared_data)["sales_pipeline"]
    assert len(pipe) == 8_800
    with pytest.warns(jm.DataQualityWarning, match="2,589 without a timestamp"):
        log = jm.from_tables(
            [jm.EventSpec(pipe, name="engage", timestamp="engage_date", activity="Engage", case="opportunity_id"),
             jm.EventSpec(pipe, name="close", timestamp="close_date", activity=jm.Column("deal_stage"),
                          case="opportunity_id", value="close_value")],
            case="opportunity",
        )
    assert (log.n_cases, log.n_events, log.n_rejected) == (8_300, 15_011, 0)  # SOURCES.md
    assert log.sources.set_index("source")["events"].to_dict() == {"engage": 8_300, "close": 6_711}
    assert set(log.activities) == {"Engage", "Won", "Lost"}


@pytest.mark.realdata
def test_crm_account_journeys_from_the_four_tables(shared_data: Path) -> None:
    t = _crm_tables(shared_data)
    pipe = t["sales_pipeline"]
    lookups = [jm.Lookup(t["products"], key="product", attributes="series"),
               jm.Lookup(t["sales_teams"], key="sales_agent", attributes=["manager", "regional_office"])]
    common = dict(via="opportunity_id", resource="sales_agent", attributes=["opportunity_id", "product"],
                  lookups=lookups)
    with pytest.warns(jm.DataQualityWarning) as caught:
        log = jm.from_tables(
            [jm.EventSpec(pipe, name="engage", timestamp="engage_date", activity="Engage", **common),
             jm.EventSpec(pipe, name="close", timestamp="close_date", activity=jm.Column("deal_stage"),
                          value="close_value", **common)],
            case="account",
            mappings={"opportunity_id": jm.IdMap(pipe, id="opportunity_id", case="account")},
            case_tables=jm.Lookup(t["accounts"], key="account"),
        )
    messages = " ".join(str(w.message) for w in caught)
    assert "have a 'product' that the lookup table does not hold ('GTXPro')" in messages  # SOURCES.md quirk
    assert (log.n_cases, log.n_events) == (85, 13_923)  # SOURCES.md, per account
    src = log.sources.set_index("source")
    # 8,300 opportunities have an engage date: 1,088 of them (Engaging) have no account
    assert src.loc["engage", ["rows", "events", "no timestamp", "unmapped id"]].tolist() == [8_800, 7_212, 500, 1_088]
    assert src.loc["close", ["rows", "events", "no timestamp", "unmapped id"]].tolist() == [8_800, 6_711, 2_089, 0]
    unmapped = log.rejected[log.rejected["reason"] == "unmapped id"]
    assert len(unmapped) == 1_088 and unmapped["opportunity_id"].notna().all()
    assert set(pipe.loc[pipe["opportunity_id"].isin(unmapped["opportunity_id"]), "deal_stage"]) == {"Engaging"}
    _accounted(log)
    assert log.case_attributes == ("sector", "year_established", "revenue", "employees", "office_location",
                                   "subsidiary_of")
    assert "technolgy" in set(log.cases["sector"])  # kept as spelled (SOURCES.md)
    assert {"series", "manager", "regional_office"} <= set(log.event_attributes)
    assert log.events["regional_office"].notna().all()


@pytest.mark.realdata
def test_crm_builder_has_the_hand_built_events_but_orders_same_day_ties_otherwise(shared_data: Path) -> None:
    """tests/real_logs.py builds the CRM account log with pandas (rows without an account
    dropped first). The builder gives the same events and cases, but a different order of
    same-day events (spec by spec, not opportunity by opportunity) and rows numbered per
    table: so real_logs.crm keeps its hand-written pandas."""
    sys.path.insert(0, str(Path(__file__).parent))
    from real_logs import crm

    hand = crm(shared_data)
    pipe = _crm_tables(shared_data)["sales_pipeline"]
    pipe = pipe.assign(engage_touch="Engage:" + pipe["product"], close_touch=pipe["deal_stage"] + ":" + pipe["product"])
    common = dict(case="account", resource="sales_agent", value="close_value",
                  attributes=["opportunity_id", "deal_stage"])
    built = _quiet(jm.from_tables, [
        jm.EventSpec(pipe, name="engage", timestamp="engage_date", activity=jm.Column("engage_touch"), **common),
        jm.EventSpec(pipe, name="close", timestamp="close_date", activity=jm.Column("close_touch"), **common),
    ], case="account")
    a, b = hand.to_polars().drop("row"), built.to_polars().drop("row")
    key = ["case", "timestamp", "activity", "opportunity_id"]
    assert a.sort(key).equals(b.sort(key))
    assert hand.to_polars("cases").sort("case").equals(built.to_polars("cases").sort("case"))
    assert not a.equals(b)  # the order of same-day events differs


def test_plain_frame_mappings_never_share_a_table() -> None:
    # three mappings given as plain frames: each via reads its own table, every time (the
    # wrappers made for them must not share a cache entry)
    t = "2024-01-01"
    frames = {v: pd.DataFrame({v: [v.upper()[0]], "account": [f"ACC-{v.upper()[0]}"]}) for v in ("a_id", "b_id", "c_id")}
    events = [
        jm.EventSpec(pd.DataFrame({v: [v.upper()[0]], "at": [t]}), name=v, timestamp="at", activity=f"touch {v}",
                     via=v)
        for v in frames
    ]
    for _ in range(5):
        log = jm.from_tables(events, case="account", mappings=frames)
        pairs = sorted(zip(log.events["case"], log.events["activity"], strict=True))
        assert pairs == [("ACC-A", "touch a_id"), ("ACC-B", "touch b_id"), ("ACC-C", "touch c_id")]


def test_concat_counts_a_filtered_input_where_its_rows_are() -> None:
    t = pd.Timestamp("2024-01-01", tz="UTC")
    frame = pd.DataFrame({"c": ["A", "A", "A", "B", "B", "B"], "a": list("xyzxyz"),
                          "t": [t + pd.Timedelta(days=i) for i in range(6)]})
    full = jm.JourneyLog.from_frame(frame, case="c", activity="a", timestamp="t")
    only_b = full.filter_cases(lambda cases: cases["case"] == "B")  # rows 3-5 keep their numbers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        both = jm.concat([full, only_b])
    s = both.sources
    assert both.n_events == 6 and both.n_rejected == 3
    assert s["events"].tolist() == [6, 0] and s["duplicate event"].tolist() == [0, 3]
    assert (s["rows"] == s["events"] + s["duplicate event"]).all()
    assert both.rejected["source"].nunique() == 1
