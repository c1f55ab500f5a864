"""Journey stages (_stages): positions, the stage rules, flow order and time in stage, on
small hand-built logs with known answers, and invariants on generated logs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import journeymine as jm
from journeymine._embedded import _relative_positions
from journeymine._stages import (
    DERIVED_STAGES,
    activity_ranks,
    flow_order,
    stage_assignment,
    stage_durations,
)

DAY = 86400.0


def _log(rows: list[tuple[str, str, str, str | None]], **kw: object) -> jm.JourneyLog:
    df = pd.DataFrame(rows, columns=["case", "act", "ts", "stage"])
    if all(r[3] is None for r in rows) and "stage" not in kw:
        df = df.drop(columns="stage")
    return jm.JourneyLog.from_frame(df, case="case", activity="act", timestamp="ts", **kw)  # type: ignore[arg-type]


def _plain(journeys: dict[str, list[str]]) -> jm.JourneyLog:
    rows = [(c, a, f"2024-01-{j + 1:02d}", None) for c, seq in journeys.items() for j, a in enumerate(seq)]
    return _log(rows)


def test_relative_positions_by_hand() -> None:
    log = _plain({"x": ["A", "B", "C"], "y": ["A"], "z": ["A", "C"]})
    assert _relative_positions(log).to_list() == [0.0, 0.5, 1.0, 0.0, 0.0, 1.0]


def test_derived_stages_are_position_bands() -> None:
    # typical positions: A 0, B 0.5, C 1 (and D at 0.25 in a five-event journey)
    log = _plain({"x": ["A", "B", "C"], "y": ["A", "B", "C"], "z": ["A", "D", "B", "B", "C"]})
    s = stage_assignment(log)
    assert s.source == "derived from positions"
    assert s.activity_position == {"A": 0.0, "B": 0.5, "C": 1.0, "D": 0.25}
    assert s.activity_stage == {"A": "early", "B": "middle", "C": "late", "D": "early-middle"}
    assert s.order == ("early", "early-middle", "middle", "late")  # the empty band is left out
    assert set(s.order) <= set(DERIVED_STAGES)
    assert s.activity_order() == ["A", "D", "B", "C"]
    assert activity_ranks(log, s).tolist() == [s.rank(a) for a in log.activities]
    assert stage_assignment(log) is s  # cached on the log


def test_stage_column_majority_ties_and_activities_without_a_stage() -> None:
    rows = [
        ("x", "Ad", "2024-01-01", "aware"), ("x", "Call", "2024-01-02", "consider"),
        ("x", "Quote", "2024-01-03", "decide"), ("x", "Note", "2024-01-04", None),
        ("y", "Ad", "2024-01-01", "aware"), ("y", "Call", "2024-01-02", "decide"),
        ("y", "Quote", "2024-01-03", "decide"), ("y", "Note", "2024-01-04", None),
    ]
    s = stage_assignment(_log(rows, stage="stage", stage_order=["aware", "consider", "decide"]))
    assert s.source == "stage column" and s.order == ("aware", "consider", "decide")
    assert s.activity_stage["Call"] == "consider"  # one event each way: the earlier stage
    assert s.activity_stage["Note"] == "decide"  # no stage: nearest median position (1.0 vs 2/3)
    derived = stage_assignment(_log(rows, stage="stage"))
    assert derived.source == "stage column, order derived" and derived.order == ("aware", "consider", "decide")


def test_stage_assignment_bad_input() -> None:
    log = _plain({"x": ["A", "B"]})
    with pytest.raises(jm.InvalidParameterError, match=r"'stage_order' parameter of stage_assignment must be a sequence of distinct"):
        stage_assignment(_log([("x", "A", "2024-01-01", "s")], stage="stage"), ["s", "s"])
    with pytest.raises(jm.InvalidParameterError, match=r"'stage_order' parameter of stage_assignment must be a str or a list"):
        stage_assignment(log, 3)  # type: ignore[arg-type]
    with pytest.raises(jm.SchemaError, match="stage_order was given, but the log has no stage column"):
        stage_assignment(log, ["a", "b"])
    empty_stage = _log([("x", "A", "2024-01-01", None), ("x", "B", "2024-01-02", None)], stage="stage")
    with pytest.warns(jm.DataQualityWarning, match="stage column has no values"):
        s = stage_assignment(empty_stage)
    assert s.source == "derived from positions"


def test_flow_order_by_hand() -> None:
    pos = {"A": 0.5, "B": 0.5, "C": 0.5}
    # a cycle A → B → C → A, weakest at C → A: that step is the one to point backwards
    assert flow_order(["C", "B", "A"], {("A", "B"): 10, ("B", "C"): 10, ("C", "A"): 1}, pos) == ["A", "B", "C"]
    # no steps: ties by typical position, then by name
    assert flow_order(["C", "B", "A"], {}, {"A": 0.9, "B": 0.1, "C": 0.1}) == ["B", "C", "A"]
    # steps to activities outside the stage and self-loops do not count
    w = {("A", "Z"): 50, ("B", "B"): 50, ("B", "A"): 1}
    assert flow_order(["A", "B"], w, pos) == ["B", "A"]
    assert flow_order([], w, pos) == []


@settings(max_examples=100, deadline=None)
@given(hs.permutations(list("ABCDEFG")), hs.data())
def test_flow_order_of_acyclic_steps_has_no_backward_step(topo: list[str], data: hs.DataObject) -> None:
    pairs = [(topo[i], topo[j]) for i, j in itertools.combinations(range(len(topo)), 2)]
    chosen = data.draw(hs.lists(hs.sampled_from(pairs), unique=True))
    weights = {p: data.draw(hs.integers(1, 20)) for p in chosen}
    pos = {a: data.draw(hs.floats(0, 1)) for a in topo}
    order = flow_order(sorted(topo), weights, pos)
    assert sorted(order) == sorted(topo)
    at = {a: i for i, a in enumerate(order)}
    assert all(at[a] < at[b] for a, b in weights)
    assert flow_order(sorted(topo, reverse=True), weights, pos) == order  # deterministic


def test_stage_column_missing_value_counts_in_the_activitys_stage() -> None:
    rows = [
        ("x", "Ad", "2024-01-01", "aware"), ("x", "Call", "2024-01-03", None),
        ("x", "Quote", "2024-01-06", "decide"), ("y", "Call", "2024-01-01", "consider"),
        ("y", "Quote", "2024-01-02", "decide"),
    ]
    sd = stage_durations(_log(rows, stage="stage", stage_order=["aware", "consider", "decide"]))
    per = sd.per_account.set_index(["case", "stage"])["seconds"]
    assert per[("x", "aware")] == 2 * DAY and per[("x", "consider")] == 3 * DAY  # Call is 'consider'
    assert per[("x", "decide")] == 0.0 and per[("y", "consider")] == DAY


def test_matrix_needs_a_known_cohort() -> None:
    rows = [(c, a, f"2024-01-0{j + 1}", None) for c in ("x", "y") for j, a in enumerate("AB")]
    df = pd.DataFrame(rows, columns=["case", "act", "ts", "stage"]).drop(columns="stage")
    df["seg"] = df["case"].map({"x": "S", "y": "E"})
    log = jm.JourneyLog.from_frame(df, case="case", activity="act", timestamp="ts", case_attributes=["seg"])
    sd = stage_durations(log, by="seg")
    with pytest.raises(jm.InvalidParameterError, match=r"'cohort' parameter of StageDurations\.matrix must be one of \['E', 'S'\]\. Got None"):
        sd.matrix()
    with pytest.raises(jm.InvalidParameterError, match=r"Got 'Nope'"):
        sd.matrix("Nope")
    assert int(sd.matrix("S").to_numpy().sum()) == 1


@settings(max_examples=40, deadline=None)
@given(
    hs.lists(
        hs.lists(hs.tuples(hs.sampled_from(["W", "D", "P", "S"]), hs.integers(0, 72)), min_size=1, max_size=6),
        min_size=1,
        max_size=15,
    )
)
def test_time_in_stages_adds_up_to_each_journeys_duration(journeys: list[list[tuple[str, int]]]) -> None:
    rows = []
    for i, seq in enumerate(journeys):
        t = pd.Timestamp("2024-01-01")
        for a, hours in seq:
            t += pd.Timedelta(hours=hours)
            rows.append((f"c{i:02d}", a, str(t), None))
    log = _log(rows, duplicates="keep")
    sd = stage_durations(log)
    per = sd.per_account.groupby("case").agg(seconds=("seconds", "sum"), events=("events", "sum"))
    cases = log.cases.set_index("case")
    span = (cases["end"] - cases["start"]).dt.total_seconds()
    assert per["seconds"].to_numpy() == pytest.approx(span[per.index].to_numpy())
    assert (per["events"] == cases.loc[per.index, "n_events"]).all()
    assert (sd.per_account["visits"] >= 1).all()
    assert set(sd.per_account["stage"]) <= set(sd.order)
    assert np.all(sd.summary["accounts"] <= log.n_cases)


def test_the_stage_summary_does_not_depend_on_the_order_of_the_per_account_rows() -> None:
    # engines return the per-account rows in an order that varies from run to run (parallel
    # group-bys); a mean of floats summed in that order differed in its last digits
    import polars as pl

    from journeymine._embedded import summarise_stages

    rng = np.random.default_rng(0)
    n = 20_000
    per = pl.DataFrame({
        "cohort": rng.integers(0, 3, n).astype(np.uint32),
        "code": np.arange(n, dtype=np.uint32),
        "srank": rng.integers(0, 4, n).astype(np.int32),
        "seconds": rng.lognormal(10, 3, n),
        "visits": rng.integers(1, 4, n).astype(np.uint32),
        "events": rng.integers(1, 9, n).astype(np.uint32),
    })
    first = summarise_stages(per).sort("cohort", "srank")
    for seed in range(5):
        shuffled = per.sample(fraction=1.0, shuffle=True, seed=seed)
        assert summarise_stages(shuffled).sort("cohort", "srank").equals(first)
