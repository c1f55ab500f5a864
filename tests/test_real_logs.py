"""Every real public log loads with the figures in shared/data/SOURCES.md, and pm4py
finds the same directly-follows graph on our conversion as on its own reading."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import journeymine as jm
from real_logs import LOGS, crm_events, sepsis

pytestmark = pytest.mark.realdata


def _pm4py_reading(name: str, data: Path) -> pd.DataFrame:
    pm4py = pytest.importorskip("pm4py")
    if name == "sepsis":
        df = pd.read_csv(data / "sepsis.csv.gz", sep=";", keep_default_na=False, na_values=[""])
        return pm4py.format_dataframe(df, case_id="Case ID", activity_key="Activity",
                                      timestamp_key="Complete Timestamp")
    if name == "road_traffic_fines":
        df = pd.read_parquet(data / "road_traffic_fines.parquet")
        return pm4py.format_dataframe(df, case_id="case_id", activity_key="activity",
                                      timestamp_key="timestamp")
    file = {"running_example": "running_example.xes.gz", "receipt": "receipt.xes.gz",
            "bpic2012": "bpic2012.xes.gz",
            "bpic2019_variants": "bpic2019_one_trace_per_variant.xes.gz"}[name]
    return pm4py.read_xes(str(data / file))


@pytest.mark.parametrize("name", sorted(LOGS))
def test_real_log_counts_match_sources(name: str, shared_data: Path) -> None:
    reader, n_cases, n_events = LOGS[name]
    log = reader(shared_data, duplicates="keep")
    assert (log.n_cases, log.n_events, log.n_rejected) == (n_cases, n_events, 0)
    # the default also sets aside exact duplicate events: nothing is lost either way
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        strict = reader(shared_data)
    assert strict.n_events + strict.n_rejected == n_events
    assert set(strict.rejected["reason"]) <= {"duplicate event"}


def test_sepsis_keeps_case_named_na(shared_data: Path) -> None:
    with pytest.warns(jm.DataQualityWarning, match=r"1 of 15,214 input rows were set aside \(1 duplicate event"):
        log = sepsis(shared_data)
    assert "NA" in set(log.cases["case"])
    assert log.cases.set_index("case").loc["NA", "n_events"] == 24
    assert log.rejected["row"].tolist() == [7161]


def test_receipt_channel_is_a_case_attribute(shared_data: Path) -> None:
    log = jm.read_xes(shared_data / "receipt.xes.gz")
    assert "channel" in log.case_attributes
    assert set(log.cases["channel"]) == {"Internet", "Desk", "Post", "e-mail", "Intern"}
    assert sum(p.n_cases for p in log.cohorts(by="channel").values()) == 1_434


def test_crm_pipeline_as_account_journeys(shared_data: Path) -> None:
    events = crm_events(shared_data)
    with pytest.warns(jm.DataQualityWarning, match="missing timestamp"):
        log = jm.JourneyLog.from_frame(
            events, case="account", activity="touch", timestamp="at", resource="sales_agent",
            value="close_value", event_attributes=["opportunity_id", "deal_stage"],
        )
    assert (log.n_cases, log.n_events) == (85, 13_923)
    assert log.n_events + log.n_rejected == len(events)
    assert set(log.rejected["reason"]) == {"missing timestamp"}


@pytest.mark.parametrize("name", sorted(LOGS))
def test_to_pm4py_gives_pm4pys_own_dfg(name: str, shared_data: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    reader, _, _ = LOGS[name]
    ours = reader(shared_data, duplicates="keep").to_pm4py()
    theirs = _pm4py_reading(name, shared_data)
    dfg_a, start_a, end_a = pm4py.discover_dfg(ours)
    dfg_b, start_b, end_b = pm4py.discover_dfg(theirs)
    assert dict(dfg_a) == dict(dfg_b)
    assert dict(start_a) == dict(start_b)
    assert dict(end_a) == dict(end_b)
