"""The real public logs in ../shared/data, read one way for every test that uses them."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import journeymine as jm
from journeymine.datasets._public import crm_events as public_crm_events


def _public(name: str) -> Callable[..., jm.JourneyLog]:
    """The public loader, reading from the folder the tests found (checksum verified)."""

    def read(data: Path, **kw: object) -> jm.JourneyLog:
        return jm.datasets.load(name, data, **kw)

    read.__name__ = name
    return read


sepsis = _public("sepsis")
fines = _public("road_traffic_fines")

# (reader, cases, events) as published in SOURCES.md
LOGS: dict[str, tuple[Callable[..., jm.JourneyLog], int, int]] = {
    name: (_public(name), cases, events)
    for name, cases, events in (
        ("running_example", 6, 42),
        ("receipt", 1_434, 8_577),
        ("bpic2012", 13_087, 262_200),
        ("bpic2019_variants", 11_973, 338_247),
        ("sepsis", 1_050, 15_214),
        ("road_traffic_fines", 150_370, 561_470),
    )
}


def crm_events(data: Path) -> pd.DataFrame:
    """The CRM pipeline as account journeys, as jm.datasets.load("crm_accounts") builds them
    but without the accounts table (SOURCES.md: 85 accounts, 13,923 events)."""
    return public_crm_events(data, accounts=False)


def crm(data: Path, **kw: object) -> jm.JourneyLog:
    """The CRM account journeys; rows without a date are set aside (with a warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        return jm.JourneyLog.from_frame(
            crm_events(data), case="account", activity="touch", timestamp="at", resource="sales_agent",
            value="close_value", event_attributes=["opportunity_id", "deal_stage"], **kw,  # type: ignore[arg-type]
        )


#: every real log, including the CRM account journeys
ALL_LOGS: dict[str, Callable[..., jm.JourneyLog]] = {**{k: v[0] for k, v in LOGS.items()}, "crm_accounts": crm}


def crm_funnel(data: Path) -> jm.JourneyLog:
    """The Maven CRM pipeline as a two-step funnel: "Engage" at the engage date, then the
    deal's outcome ("Won" / "Lost") at the close date; open deals have no close."""
    pipe = pd.read_csv(data / "crm_sales_pipeline.csv.gz", keep_default_na=False, na_values=[""])
    engage = pipe[["opportunity_id", "product", "engage_date"]].rename(columns={"engage_date": "at"})
    engage = engage.assign(step="Engage")
    closed = pipe[pipe["deal_stage"].isin(["Won", "Lost"])]
    close = closed[["opportunity_id", "product", "close_date", "deal_stage"]].rename(
        columns={"close_date": "at", "deal_stage": "step"})
    events = pd.concat([engage, close], ignore_index=True)
    events = events[events["at"].notna()]
    return jm.JourneyLog.from_frame(events, case="opportunity_id", activity="step", timestamp="at",
                                    case_attributes="product")
