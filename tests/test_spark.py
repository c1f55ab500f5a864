"""The Spark engine against the embedded one: same journeys, same numbers.

One local Spark session (``local[2]``) serves the whole module, which runs on one xdist
worker (``xdist_group``). Logs are read from the same Parquet file by both engines, so
input order, and so the tie-break of equal timestamps, is the same. With
``quantiles="exact"`` every number must be equal (floats to 1e-9); with the default
``"approx"`` counts are equal and quantiles are within the documented rank error.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import journeymine as jm
from journeymine._clustering import _OTHER, _PACE_BUCKETS, _Baseline, _units
from journeymine._cohorts import resolve
from journeymine._engine import engine_of
from journeymine._stages import activity_ranks, stage_assignment
from journeymine._testing import local_spark

try:
    import pyspark  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("pyspark is not installed (pip install 'journeymine[spark]')", allow_module_level=True)

pytestmark = [pytest.mark.xdist_group("spark"), pytest.mark.slow]

OUTCOMES = {"won": ["Contract signed"], "lost": ["Closed lost"], "churned": ["Churned"]}
NO_ROLE = "(no role)"
DEMO = dict(
    case="account", activity="touchpoint", timestamp="at", contact="contact", role="role",
    channel="channel", stage="stage", value="value", case_attributes=["segment", "product", "market"],
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = local_spark(
            "journeymine-tests",
            {
                "spark.sql.shuffle.partitions": "2",
                "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
            },
        )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = jm.datasets.demo_b2b(600, random_state=0)
    events = log.to_polars("events").join(log.to_polars("cases").drop("n_events", "start", "end"), on="case")
    path = tmp_path_factory.mktemp("spark") / "demo.parquet"
    events.drop("row").rename({"case": "account", "activity": "touchpoint", "timestamp": "at"}).write_parquet(
        path, row_group_size=500
    )
    return path


@pytest.fixture(scope="module")
def demo(spark: Any, demo_file: Path) -> tuple[jm.JourneyLog, jm.JourneyLog]:
    local = jm.read_parquet(demo_file, **DEMO)  # type: ignore[arg-type]
    remote = jm.JourneyLog.from_spark(spark.read.parquet(str(demo_file)), quantiles="exact", **DEMO)  # type: ignore[arg-type]
    return local, remote


@pytest.fixture(scope="module")
def bpic_file(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = jm.read_xes(shared_data / "bpic2012.xes.gz").to_pm4py()
    path = tmp_path_factory.mktemp("spark") / "bpic2012.parquet"
    pl.from_pandas(frame).write_parquet(path, row_group_size=50_000)
    return path


@pytest.fixture(scope="module")
def bpic(spark: Any, bpic_file: Path) -> tuple[jm.JourneyLog, jm.JourneyLog]:
    path = bpic_file
    roles = dict(case="case:concept:name", activity="concept:name", timestamp="time:timestamp",
                 resource="org:resource", lifecycle="lifecycle:transition", event_attributes=[])
    local = jm.read_parquet(path, **roles)  # type: ignore[arg-type]
    remote = jm.JourneyLog.from_spark(spark.read.parquet(str(path)), quantiles="exact", **roles)  # type: ignore[arg-type]
    return local, remote


@pytest.fixture(scope="module")
def holes(spark: Any, demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[jm.JourneyLog, jm.JourneyLog]]:
    """The demo with 8% of its events without a contact, 2% with a blank one and 5% without
    a role; read with the role column and without one."""
    frame = pl.read_parquet(demo_file)
    rng = np.random.default_rng(5)
    u, v = pl.Series(rng.random(frame.height)), pl.Series(rng.random(frame.height))
    frame = frame.with_columns(
        pl.when(u < 0.08).then(None).when(u < 0.10).then(pl.lit("  ")).otherwise(pl.col("contact")).alias("contact"),
        pl.when(v < 0.05).then(None).otherwise(pl.col("role")).alias("role"),
    )
    path = tmp_path_factory.mktemp("spark") / "holes.parquet"
    frame.write_parquet(path, row_group_size=500)
    logs = {}
    for name, role in (("holes", {"role": "role"}), ("no role", {})):
        kw = dict(case="account", activity="touchpoint", timestamp="at", contact="contact", stage="stage",
                  case_attributes=["segment"], event_attributes=[], **role)
        local = jm.read_parquet(path, **kw)  # type: ignore[arg-type]
        remote = jm.JourneyLog.from_spark(spark.read.parquet(str(path)), quantiles="exact", **kw)  # type: ignore[arg-type]
        logs[name] = (local, remote)
    return logs


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9, atol=1e-6
    )


def test_build_matches_the_embedded_log(demo: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = demo
    assert remote.n_events == local.n_events
    assert remote.n_cases == local.n_cases == 600
    assert remote.activities == local.activities
    same(remote.cases, local.cases)
    assert remote.time_span == local.time_span
    assert "Spark" in repr(remote) and "JourneyLog (Spark)" in remote._repr_html_()
    # the collected log is the embedded one, event for event
    back = remote.to_local()
    same(back.events.drop(columns="row"), local.events.drop(columns="row"))
    assert back.events["row"].is_unique


def test_event_level_access_says_how_to_get_it(demo: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = demo
    assert (remote.engine, local.engine, remote.to_local().engine) == ("spark", "embedded", "embedded")
    assert remote.to_polars("cases").height == remote.n_cases
    with pytest.raises(jm.UnsupportedOperationError, match=r"to_local\(\)"):
        _ = remote.events
    # one message: the operation, the engine, the number of events, the ways out
    calls = {
        "log.to_polars('events')": lambda: remote.to_polars("events"),
        "log.to_polars('rejected')": lambda: remote.to_polars("rejected"),
        "log.filter_time": lambda: remote.filter_time("2023-01-01"),
        "log.filter_activities": lambda: remote.filter_activities("Demo"),
        "log.filter_variants": lambda: remote.filter_variants(top=2),
        "write_xes": lambda: jm.write_xes(remote, "never-written.xes"),
        'subway_map(lines="roles")': lambda: jm.subway_map(remote, lines="roles"),
        "funnel": lambda: jm.funnel(remote, ["Demo request", "Demo"], window="30D"),
        "paths": lambda: jm.paths(remote, "Demo"),
        "retention": lambda: jm.retention(remote),
        "dotted_chart": lambda: jm.dotted_chart(remote),
    }
    for operation, call in calls.items():
        with pytest.raises(jm.UnsupportedOperationError) as info:
            call()
        text = str(info.value)
        assert text.startswith(f"{operation} needs every event in memory, and this log's {remote.n_events:,} events")
        for part in ("are in Spark", "log.to_local()", "log.filter_cases(...).to_local()", "log.spark_events"):
            assert part in text, (operation, part)
    with pytest.raises(jm.UnsupportedOperationError, match="in Spark"):
        remote.to_pm4py()
    with pytest.raises(jm.UnsupportedOperationError, match="predicate"):
        jm.kpis(remote, outcomes={"won": lambda ev: ev["activity"] == "Contract signed"}, lost=None, churned=None)
    calls = (
        lambda: jm.compare_cohorts(remote, by="segment"),
        lambda: jm.attribution(remote, conversion=["Contract signed"]),
        lambda: jm.report(remote),
    )
    for call in calls:
        with pytest.raises(jm.UnsupportedOperationError, match=r"JourneyClusterer\.fit run in Spark"):
            call()
    assert remote.spark_events.count() == remote.n_events


@pytest.mark.parametrize("by", [None, "segment"])
def test_journey_maps_are_equal(demo: tuple[jm.JourneyLog, jm.JourneyLog], by: str | None) -> None:
    local, remote = demo
    a, b = jm.journey_map(local, by=by), jm.journey_map(remote, by=by)
    maps_a = {None: a} if by is None else {k: a[k] for k in a}  # type: ignore[union-attr,index]
    maps_b = {None: b} if by is None else {k: b[k] for k in b}  # type: ignore[union-attr,index]
    assert maps_a.keys() == maps_b.keys()
    for key, m in maps_a.items():
        n = maps_b[key]
        for table in ("nodes", "edges", "start_activities", "end_activities"):
            same(getattr(n, table), getattr(m, table))
        assert (n.n_cases, n.n_events, n.stages) == (m.n_cases, m.n_events, m.stages)
        assert n.nonlinearity == pytest.approx(m.nonlinearity)


def test_variants_stages_and_subway_are_equal(demo: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = demo
    same(jm.variants(remote, by="segment"), jm.variants(local, by="segment"))
    a, b = jm.stage_durations(local, by="market"), jm.stage_durations(remote, by="market")
    same(b.summary, a.summary)
    same(b.transitions, a.transitions)
    same(b.per_account, a.per_account)
    assert jm.subway_map(remote, conversion=["Contract signed"])._repr_svg_() == jm.subway_map(
        local, conversion=["Contract signed"]
    )._repr_svg_()


def test_kpis_are_equal(demo: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = demo
    a = jm.kpis(local, outcomes=OUTCOMES, by="segment").to_dataframe()
    b = jm.kpis(remote, outcomes=OUTCOMES, by="segment").to_dataframe()
    same(b, a)


def test_clustering_features_and_labels_are_equal(demo: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = demo
    alphabet = {a: i for i, a in enumerate([*local.activities, _OTHER])}
    ba, bb = _Baseline.of(local), _Baseline.of(remote)
    assert bb.table.keys() == ba.table.keys()
    np.testing.assert_allclose(list(bb.table.values()), list(ba.table.values()), rtol=1e-9)
    ua, ub = _units(local, alphabet, ba), _units(remote, alphabet, ba)
    assert ua.variants == ub.variants
    np.testing.assert_array_equal(ua.pace, ub.pace)
    np.testing.assert_array_equal(ua.counts, ub.counts)
    np.testing.assert_array_equal(ua.case_unit, ub.case_unit)
    for attr in ("pace_n", "pace_s", "pace_sq"):
        np.testing.assert_allclose(getattr(ub, attr), getattr(ua, attr), rtol=1e-9)
    assert int(ua.pace.max()) <= _PACE_BUCKETS
    a = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(local)
    b = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(remote)
    pd.testing.assert_series_equal(a.labels_, b.labels_)
    same(b.explain(), a.explain())
    same(b.summary(outcomes={"won": ["Contract signed"]}), a.summary(outcomes={"won": ["Contract signed"]}))
    assert jm.subway_map(b)._repr_svg_() == jm.subway_map(a)._repr_svg_()


def _touches(log: jm.JourneyLog, ranks: np.ndarray, stage_rank: dict[str, int]) -> pl.DataFrame:
    touches = engine_of(log).committee_touches(log, ranks, stage_rank)
    return touches.sort("code", "contact", "role", "srank", nulls_last=True)


def test_committee_primitives_are_equal(
    demo: tuple[jm.JourneyLog, jm.JourneyLog], holes: dict[str, tuple[jm.JourneyLog, jm.JourneyLog]]
) -> None:
    for name, (local, remote) in {"demo": demo, **holes}.items():
        stages = stage_assignment(local)
        ranks, stage_rank = activity_ranks(local, stages), {s: i for i, s in enumerate(stages.order)}
        a, b = _touches(local, ranks, stage_rank), _touches(remote, ranks, stage_rank)
        assert a.schema == b.schema, name
        assert a.equals(b), name
        cohort = resolve(local, "segment").codes.cast(pl.UInt32)
        ha = engine_of(local).committee_handovers(local, cohort)
        hb = engine_of(remote).committee_handovers(remote, cohort)
        assert ha.schema == hb.schema, name
        same(hb.to_pandas(), ha.to_pandas())
        if name == "no role":
            assert a.get_column("role").null_count() == a.height and hb.height == 0
        else:
            assert hb.height > 0 and (name == "demo") == (NO_ROLE not in set(hb.get_column("source")))
        # the events without a contact (null or blank) are one row per account and stage
        assert (a.get_column("contact").null_count() > 0) == (name != "demo"), name


def test_buying_committee_is_equal(
    demo: tuple[jm.JourneyLog, jm.JourneyLog], holes: dict[str, tuple[jm.JourneyLog, jm.JourneyLog]]
) -> None:
    for name, (local, remote) in {"demo": demo, **holes}.items():
        results = []
        for log in (local, remote):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(
                    jm.buying_committee(log, outcomes=OUTCOMES, at="Proposal sent", by="segment", random_state=0)
                )
            assert bool(caught) == (name != "demo") and all("no contact" in str(w.message) for w in caught)
        a, b = results
        for table in ("accounts", "roles", "drivers", "engagement", "handover", "summary"):
            same(getattr(b, table), getattr(a, table))
        assert b.explain() == a.explain()
        assert (b.unassigned, b.shared_contacts, b.stages) == (a.unassigned, a.shared_contacts, a.stages)
        assert (b.unassigned > 0) == (name != "demo")
    # a predicate outcome needs the events: the one message, naming the function
    with pytest.raises(jm.UnsupportedOperationError, match=r"The outcome 'won' of buying_committee, a predicate"):
        jm.buying_committee(remote, outcomes={"won": lambda ev: ev["activity"] == "Contract signed"}, at="Demo")


def test_filters_and_cohorts_on_spark(demo: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = demo
    ent_a, ent_b = local.filter_cases(segment="Enterprise"), remote.filter_cases(segment="Enterprise")
    assert (ent_b.n_cases, ent_b.n_events) == (ent_a.n_cases, ent_a.n_events)
    assert ent_b.activities == ent_a.activities
    same(jm.journey_map(ent_b).edges, jm.journey_map(ent_a).edges)
    sizes = {k: v.n_events for k, v in remote.cohorts(by="market").items()}
    assert sizes == {k: v.n_events for k, v in local.cohorts(by="market").items()}


def test_approximate_quantiles_stay_within_their_rank_error(spark: Any, demo_file: Path) -> None:
    local = jm.read_parquet(demo_file, **DEMO)  # type: ignore[arg-type]
    accuracy = 50
    approx = jm.JourneyLog.from_spark(spark.read.parquet(str(demo_file)), accuracy=accuracy, **DEMO)  # type: ignore[arg-type]
    a, b = jm.journey_map(local).edges, jm.journey_map(approx).edges
    same(b.drop(columns=["median", "p90"]), a.drop(columns=["median", "p90"]))
    # every approximate quantile is a duration of that edge whose rank is within n / accuracy
    ev = local.to_polars("events")
    gaps = ev.with_columns(
        pl.col("activity").shift(-1).over("case").alias("target"),
        ((pl.col("timestamp").shift(-1).over("case") - pl.col("timestamp")).dt.total_microseconds() / 1e6).alias("s"),
    ).drop_nulls("target")
    values = {k: np.sort(g.get_column("s").to_numpy()) for k, g in gaps.group_by("activity", "target")}
    def within(v: np.ndarray, q: float, got: float, where: object) -> None:
        n, tol = v.size, 1e-12 * abs(got)  # days from seconds: a rounding apart
        lo, hi = np.searchsorted(v, got - tol, side="left"), np.searchsorted(v, got + tol, side="right")
        assert hi > lo, "an approximate quantile is one of the values"
        target = q * (n - 1)
        assert lo - n / accuracy - 1 <= target <= hi + n / accuracy, (where, q)

    for row in b.itertuples():
        for q, got in ((0.5, row.median), (0.9, row.p90)):
            within(values[(row.source, row.target)], q, got, (row.source, row.target))
    # buying committees: every table equal but the handover medians, which keep to the same bound
    ca = jm.buying_committee(local, outcomes=OUTCOMES, at="Proposal sent", random_state=0)
    cb = jm.buying_committee(approx, outcomes=OUTCOMES, at="Proposal sent", random_state=0)
    for table in ("accounts", "roles", "drivers", "engagement", "summary"):
        same(getattr(cb, table), getattr(ca, table))
    same(cb.handover.drop(columns="median_days"), ca.handover.drop(columns="median_days"))
    touches = ev.filter(pl.col("contact").is_not_null()).with_columns(
        pl.col("contact").shift(-1).over("case").alias("next"),
        pl.col("role").shift(-1).over("case").alias("target"),
        ((pl.col("timestamp").shift(-1).over("case") - pl.col("timestamp")).dt.total_microseconds() / 86_400e6)
        .alias("days"),
    ).filter(pl.col("next").is_not_null() & (pl.col("next") != pl.col("contact")))
    handovers = {k: np.sort(g.get_column("days").to_numpy()) for k, g in touches.group_by("role", "target")}
    assert len(handovers) == len(cb.handover)
    for row in cb.handover.itertuples():
        within(handovers[(row.source, row.target)], 0.5, row.median_days, (row.source, row.target))


def test_bad_rows_are_rejected_with_the_same_reasons(spark: Any) -> None:
    raw = pd.DataFrame(
        {
            "id": ["a", "a", None, "b", "b", "b", "c", "c", "  ", "d", "e"],
            "act": ["x", "y", "x", None, "x", "x", "x", "y", "x", "x", "nul\x00here"],
            "ts": ["2024-01-01T10:00:00+02:00", "2024-01-02 09:00", "2024-01-03", "2024-01-03", "nonsense",
                   "2024-01-04", "1800-01-01", "2024-01-05", "2024-01-06", "", "2024-01-07"],
        }
    )
    raw = pd.concat([raw, raw.iloc[[1]]], ignore_index=True)  # an exact repeat of row 1
    with pytest.warns(jm.DataQualityWarning, match="set aside"):
        local = jm.JourneyLog.from_frame(raw, case="id", activity="act", timestamp="ts")
    with pytest.warns(jm.DataQualityWarning, match="Spark DataFrame"):
        remote = jm.JourneyLog.from_spark(spark.createDataFrame(raw.astype(object).where(raw.notna(), None)),
                                          case="id", activity="act", timestamp="ts", quantiles="exact")
    assert remote.n_events + remote.n_rejected == len(raw)
    assert remote.n_events == local.n_events
    def key(values: tuple[Any, ...]) -> tuple[str, ...]:
        return tuple("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values)

    got = sorted(key((r["reason"], r["id"], r["ts"])) for r in remote.rejected.collect())
    want = sorted(key(tuple(t)) for t in local.rejected[["reason", "id", "ts"]].itertuples(index=False))
    assert got == want
    assert {r for r, *_ in got} == set(jm._validate.REASONS)  # every reason is exercised
    same(remote.cases, local.cases)
    # log.sources counts the same rows and reasons, the Spark log's counted in Spark
    counts = ["rows", "events", "no timestamp", "unmapped id", *jm._validate.REASONS]
    assert remote.sources[counts].to_dict("records") == local.sources[counts].to_dict("records")
    with pytest.raises(jm.DataQualityError, match="cannot be used") as err:
        jm.JourneyLog.from_spark(spark.createDataFrame(raw.astype(object).where(raw.notna(), None)),
                                 case="id", activity="act", timestamp="ts", on_invalid="raise")
    assert err.value.rejected.count() == remote.n_rejected  # type: ignore[attr-defined]


def test_timestamps_follow_the_same_rules(spark: Any) -> None:
    raw = pd.DataFrame({"id": ["a"] * 4, "act": list("wxyz"),
                        "ts": ["2024-03-01T10:00:00+01:00", "2024-03-01 10:00:00", "2024-03-02",
                               "2024-03-02T09:00:00.250Z"]})
    local = jm.JourneyLog.from_frame(raw, case="id", activity="act", timestamp="ts", tz="Europe/Amsterdam")
    remote = jm.JourneyLog.from_spark(spark.createDataFrame(raw), case="id", activity="act", timestamp="ts",
                                      tz="Europe/Amsterdam")
    assert list(remote.to_local().events["timestamp"]) == list(local.events["timestamp"])
    fmt = pd.DataFrame({"id": ["a", "a"], "act": ["x", "y"], "ts": ["01/03/2024 10:00", "02/03/2024 11:30"]})
    a = jm.JourneyLog.from_frame(fmt, case="id", activity="act", timestamp="ts", timestamp_format="%d/%m/%Y %H:%M")
    b = jm.JourneyLog.from_spark(spark.createDataFrame(fmt), case="id", activity="act", timestamp="ts",
                                 timestamp_format="%d/%m/%Y %H:%M")
    assert list(b.to_local().events["timestamp"]) == list(a.events["timestamp"])


def test_bad_arguments_are_named(spark: Any, demo_file: Path) -> None:
    sdf = spark.read.parquet(str(demo_file))
    with pytest.raises(jm.SchemaError, match=r"'acount'.*Did you mean 'account'"):
        jm.JourneyLog.from_spark(sdf, case="acount", activity="touchpoint", timestamp="at")
    with pytest.raises(jm.InvalidParameterError, match="quantiles"):
        jm.JourneyLog.from_spark(sdf, case="account", activity="touchpoint", timestamp="at", quantiles="tdigest")  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"pyspark\.sql\.DataFrame"):
        jm.JourneyLog.from_spark(pd.DataFrame(), case="a", activity="b", timestamp="c")
    log = jm.read_parquet(demo_file, engine="spark", spark=spark, **DEMO)  # type: ignore[arg-type]
    assert log.n_cases == 600


#: the demo's columns under names Spark would parse (dots, spaces, colons, a backtick,
#: unicode), and attributes named like the Spark engine's own columns ("ts", "Code": Spark
#: resolves names ignoring case)
HOSTILE = {"account": "case.id", "touchpoint": "activity name", "at": "time:stamp", "contact": "contact.id",
           "role": "role`s", "channel": "channel name", "stage": "stage:name", "value": "value (€)",
           "segment": "we`ird", "market": "a.b.c", "product": "ünïcødé"}
HOSTILE_ROLES = dict(case="case.id", activity="activity name", timestamp="time:stamp", contact="contact.id",
                     role="role`s", channel="channel name", stage="stage:name", value="value (€)",
                     resource="org.resource", lifecycle="life cycle", case_attributes=["we`ird", "a.b.c"])


@pytest.fixture(scope="module")
def hostile_file(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo under hostile column names, with two events without a case and an exact
    repeat of an event (three rows set aside)."""
    frame = pl.read_parquet(demo_file).rename(HOSTILE).with_columns(
        pl.int_range(0, pl.len(), dtype=pl.Int32).alias(".order"),
        pl.col("channel name").alias("org.resource"),
        pl.lit("complete").alias("life cycle"),
        pl.col("time:stamp").dt.to_string("%Y-%m-%d").alias("ts"),
        (pl.int_range(0, pl.len()) % 7).alias("Code"),
    )
    frame = pl.concat([frame, frame.head(2).with_columns(pl.lit(None, pl.String).alias("case.id")), frame.slice(5, 1)])
    path = tmp_path_factory.mktemp("spark") / "hostile names.parquet"
    frame.write_parquet(path, row_group_size=500)
    return path


def test_any_column_name_works(spark: Any, hostile_file: Path) -> None:
    with pytest.warns(jm.DataQualityWarning, match="set aside"):
        local = jm.read_parquet(hostile_file, **HOSTILE_ROLES)  # type: ignore[arg-type]
    builds = {}
    with pytest.warns(jm.DataQualityWarning, match="Spark DataFrame"):
        builds["from_spark"] = jm.JourneyLog.from_spark(
            spark.read.parquet(str(hostile_file)), quantiles="exact", **HOSTILE_ROLES  # type: ignore[arg-type]
        )
    with pytest.warns(jm.DataQualityWarning, match="Spark DataFrame"):
        builds["read_parquet"] = jm.read_parquet(hostile_file, engine="spark", spark=spark, **HOSTILE_ROLES)  # type: ignore[arg-type]
    attributes = ("ünïcødé", ".order", "ts", "Code")
    assert local.event_attributes == attributes and local.case_attributes == ("we`ird", "a.b.c")
    for how, remote in builds.items():
        approx = {"edges": ["median", "p90"], "nodes": ["position"]} if how == "read_parquet" else {}
        assert (remote.n_cases, remote.n_events, remote.n_rejected) == (local.n_cases, local.n_events, 3), how
        assert remote.event_attributes == local.event_attributes, how
        same(remote.cases, local.cases)
        same(remote.to_local().events.drop(columns="row"), local.events.drop(columns="row"))
        assert remote.spark_events.columns[-5:] == [*attributes, "row"]
        rejected = remote.rejected.toArrow()
        assert rejected.column_names == ["row", "reason", *pl.read_parquet_schema(hostile_file)]
        for column in ("reason", ".order", "we`ird"):
            assert sorted(rejected.column(column).to_pylist()) == sorted(local.rejected[column]), column
        maps_a, maps_b = jm.journey_map(local, by="we`ird"), jm.journey_map(remote, by="we`ird")
        assert sorted(maps_b) == sorted(maps_a) == ["Enterprise", "Mid-market", "SMB"]
        for key in maps_a:  # type: ignore[union-attr]
            m, n = maps_a[key], maps_b[key]  # type: ignore[index]
            for table in ("edges", "nodes"):  # read_parquet(engine="spark"): approximate quantiles
                drop = approx.get(table, [])
                same(getattr(n, table).drop(columns=drop), getattr(m, table).drop(columns=drop))
    remote = builds["from_spark"]
    same(jm.variants(remote, by="we`ird"), jm.variants(local, by="we`ird"))
    a, b = jm.stage_durations(local, by="a.b.c"), jm.stage_durations(remote, by="a.b.c")
    for table in ("summary", "transitions", "per_account"):
        same(getattr(b, table), getattr(a, table))
    assert jm.subway_map(remote)._repr_svg_() == jm.subway_map(local)._repr_svg_()
    same(jm.kpis(remote, outcomes=OUTCOMES, by="we`ird").to_dataframe(),
         jm.kpis(local, outcomes=OUTCOMES, by="we`ird").to_dataframe())
    ca = jm.buying_committee(local, outcomes=OUTCOMES, at="Proposal sent", by="we`ird", random_state=0)
    cb = jm.buying_committee(remote, outcomes=OUTCOMES, at="Proposal sent", by="we`ird", random_state=0)
    for table in ("accounts", "roles", "drivers", "engagement", "handover", "summary"):
        same(getattr(cb, table), getattr(ca, table))
    fit_a = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(local)
    fit_b = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(remote)
    pd.testing.assert_series_equal(fit_a.labels_, fit_b.labels_)
    sub_a, sub_b = local.filter_cases({"we`ird": "Enterprise"}), remote.filter_cases({"we`ird": "Enterprise"})
    assert (sub_b.n_cases, sub_b.n_events) == (sub_a.n_cases, sub_a.n_events)
    same(sub_b.to_local().events.drop(columns="row"), sub_a.events.drop(columns="row"))
    sizes = {k: v.n_events for k, v in remote.cohorts(by="a.b.c").items()}
    assert sizes == {k: v.n_events for k, v in local.cohorts(by="a.b.c").items()}


def test_a_column_name_used_twice_is_named(spark: Any) -> None:
    sdf = spark.createDataFrame([("a", "x", "2024-01-01", 1, 2)], ["id", "act", "ts", "n", "n"])
    with pytest.raises(jm.SchemaError, match=r"column name\(s\) 'n' more than once"):
        jm.JourneyLog.from_spark(sdf, case="id", activity="act", timestamp="ts")


@pytest.mark.realdata
def test_bpic2012_committee_with_resources_as_contacts(spark: Any, bpic_file: Path) -> None:
    """No public log has the customer's people; BPI 2012's resources play the contacts: many
    events without one, people shared by thousands of cases, no role column."""
    roles = dict(case="case:concept:name", activity="concept:name", timestamp="time:timestamp",
                 contact="org:resource", lifecycle="lifecycle:transition", event_attributes=[])
    local = jm.read_parquet(bpic_file, **roles)  # type: ignore[arg-type]
    remote = jm.JourneyLog.from_spark(spark.read.parquet(str(bpic_file)), **roles)  # type: ignore[arg-type]
    outcomes = {"won": ["A_APPROVED"], "lost": ["A_DECLINED"]}
    results = []
    for log in (local, remote):
        with pytest.warns(jm.DataQualityWarning) as caught:
            results.append(jm.buying_committee(log, outcomes=outcomes, at="A_PREACCEPTED", random_state=0))
        text = " ".join(str(w.message) for w in caught)
        assert "18,010 of 262,200 events" in text and "have no contact" in text and "more than one account" in text
    a, b = results
    for table in ("accounts", "drivers", "summary"):
        same(getattr(b, table), getattr(a, table))
    assert b.roles.empty and b.handover.empty and b.engagement.empty
    assert (b.unassigned, b.shared_contacts) == (a.unassigned, a.shared_contacts) and b.shared_contacts > 10


@pytest.mark.realdata
def test_bpic2012_is_equal_on_both_engines(bpic: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    local, remote = bpic
    assert (remote.n_cases, remote.n_events) == (13_087, 262_200) == (local.n_cases, local.n_events)
    a, b = jm.journey_map(local), jm.journey_map(remote)
    for table in ("nodes", "edges", "start_activities", "end_activities"):
        same(getattr(b, table), getattr(a, table))
    assert b.stages == a.stages and b.nonlinearity == pytest.approx(a.nonlinearity)
    same(jm.variants(remote), jm.variants(local))
    alphabet = {x: i for i, x in enumerate([*local.activities, _OTHER])}
    base = _Baseline.of(local)
    assert _Baseline.of(remote).table == pytest.approx(base.table, rel=1e-9)
    ua, ub = _units(local, alphabet, base), _units(remote, alphabet, base)
    assert ua.variants == ub.variants
    np.testing.assert_array_equal(ua.case_unit, ub.case_unit)
    np.testing.assert_allclose(ub.pace_s, ua.pace_s, rtol=1e-9)
    outcomes = {"won": ["A_APPROVED"], "lost": ["A_DECLINED"], "churned": ["A_CANCELLED"]}
    same(jm.kpis(remote, outcomes=outcomes).to_dataframe(), jm.kpis(local, outcomes=outcomes).to_dataframe())


@pytest.mark.realdata
def test_road_traffic_fines_reads_on_spark(spark: Any, shared_data: Path) -> None:
    """Its last column is named '.order', which Spark would parse as a field of a struct."""
    path = shared_data / "road_traffic_fines.parquet"
    roles = dict(case="case_id", activity="activity", timestamp="timestamp")
    local = jm.read_parquet(path, **roles)  # type: ignore[arg-type]
    remote = jm.read_parquet(path, engine="spark", spark=spark, **roles)  # type: ignore[arg-type]
    assert (remote.n_cases, remote.n_events) == (150_370, 561_470) == (local.n_cases, local.n_events)
    assert remote.event_attributes == local.event_attributes and ".order" in remote.event_attributes
    same(remote.cases, local.cases)
    # read_parquet(engine="spark") has approximate quantiles: every other number is equal
    a, b = jm.journey_map(local), jm.journey_map(remote)
    same(b.edges.drop(columns=["median", "p90"]), a.edges.drop(columns=["median", "p90"]))
    same(b.nodes.drop(columns="position"), a.nodes.drop(columns="position"))
    for table in ("start_activities", "end_activities"):
        same(getattr(b, table), getattr(a, table))
    durations = ["median_duration", "p90_duration"]
    same(jm.variants(remote).drop(columns=durations), jm.variants(local).drop(columns=durations))
