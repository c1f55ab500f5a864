"""Acquisition cost: spend through attribution credits, by hand; unexplained spend and
unusable rows reported; the demo."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import journeymine as jm

ROWS = [
    ("P", "Visit", "2024-01-05", None, "Web"),
    ("P", "Event", "2024-01-20", None, "Event"),
    ("P", "Contract signed", "2024-02-01", 1200.0, "Sales call"),
    ("Q", "Visit", "2024-02-10", None, "Web"),
    ("Q", "Contract signed", "2024-03-01", 600.0, "Sales call"),
    ("R", "Event", "2024-01-25", None, "Event"),  # never converts: its touch gets no credit
]
COSTS = pd.DataFrame({
    "channel": ["Web", "Web", "Event", "Podcast", "Email"],
    "month": ["2024-01", "2024-02", "2024-01", "2024-01", "2024-01"],
    "spend": [100.0, 60.0, 300.0, 50.0, -5.0],
})


def _log() -> jm.JourneyLog:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "value", "channel"])
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", value="value",
                                    channel="channel")


def _cac(**kw: object) -> jm.AcquisitionCost:
    with pytest.warns(jm.DataQualityWarning, match="1 spend row could not be used \\(negative spend\\)"):
        return jm.acquisition_cost(_log(), costs=COSTS, conversion="Contract signed", **kw)  # type: ignore[arg-type]


def test_linear_credits_by_month_by_hand() -> None:
    cac = _cac(model="linear", period="M")
    acc = cac.accounts.set_index("case")
    # P: half of Web's January (100 / 0.5 credit) and Event's January (300 / 0.5) per credit
    assert acc.loc["P", "acquisition_cost"] == pytest.approx(0.5 * 200 + 0.5 * 600)
    assert acc.loc["Q", "acquisition_cost"] == pytest.approx(60)
    assert acc.loc["P", "payback_months"] == pytest.approx(400 / (1200 / 12))
    assert acc.loc["Q", "payback_months"] == pytest.approx(60 / (600 / 12))
    ch = cac.by_channel.set_index("channel")
    assert ch.loc["Web", ["spend", "allocated", "conversions"]].tolist() == pytest.approx([160, 160, 1.5])
    assert ch.loc["Event", "cac"] == pytest.approx(600)
    un = cac.unexplained
    assert un[["channel", "period", "spend"]].values.tolist() == [["Podcast", "2024-01", 50.0]]
    assert un["reason"].iloc[0] == "the channel never occurs in the log"
    assert cac.problems[["channel", "row", "reason"]].values.tolist() == [["Email", 4, "negative spend"]]
    total = cac.by_channel["allocated"].sum() + cac.unexplained["spend"].sum()
    assert total == pytest.approx(COSTS["spend"][COSTS["spend"] > 0].sum())


def test_the_whole_log_as_one_period() -> None:
    acc = _cac(model="linear", period=None).accounts.set_index("case")
    # Web: 160 over 1.5 credits; Event: 300 over 0.5
    assert acc.loc["P", "acquisition_cost"] == pytest.approx(0.5 * 160 / 1.5 + 300)
    assert acc.loc["Q", "acquisition_cost"] == pytest.approx(160 / 1.5)


def test_spend_in_a_month_without_credited_touches_is_unexplained() -> None:
    costs = pd.concat([COSTS.iloc[:3], pd.DataFrame({"channel": ["Event"], "month": ["2024-03"], "spend": [70.0]})])
    cac = jm.acquisition_cost(_log(), costs=costs, conversion="Contract signed", model="last_touch")
    un = cac.unexplained.set_index(["channel", "period"])
    # last touch: P's conversion goes to its Event touch, so Web's January has no credit
    assert un.loc[("Web", "2024-01"), "spend"] == 100
    assert un.loc[("Event", "2024-03"), "reason"].startswith("no acquired account was touched")
    assert cac.accounts.set_index("case").loc["P", "acquisition_cost"] == pytest.approx(300)


@pytest.mark.parametrize("model", ["markov", "shapley", "time_decay", "position_based", "first_touch"])
def test_every_model_shares_spend_without_losing_any(model: str) -> None:
    log = jm.datasets.demo_b2b(800, random_state=1, version=2)
    spend = jm.datasets.demo_spend(800, random_state=1)
    cac = jm.acquisition_cost(log, costs=spend, conversion="Contract signed", model=model, by="segment",
                              churned="Churned", kind="deal_type", product="deal_product")
    total = cac.by_channel["allocated"].sum() + cac.unexplained["spend"].sum()
    assert total == pytest.approx(spend["spend"].sum())
    assert cac.by_channel["conversions"].sum() == pytest.approx(len(cac.accounts))
    assert (cac.accounts["acquisition_cost"] >= 0).all()
    s = cac.summary.set_index("cohort")
    assert s["acquired"].sum() == len(cac.accounts) and (s["clv_to_cac"] > 0).all()


def test_bad_input() -> None:
    log = _log()
    with pytest.raises(jm.SchemaError, match="missing \\['spend'\\]"):
        jm.acquisition_cost(log, costs=COSTS.drop(columns="spend"), conversion="Contract signed")
    with pytest.raises(jm.InvalidParameterError, match="costs"):
        jm.acquisition_cost(log, costs=[1, 2], conversion="Contract signed")
    with pytest.raises(jm.SchemaError, match="none of the conversion activities"):
        jm.acquisition_cost(log, costs=COSTS, conversion="Won")
    with pytest.raises(jm.InvalidParameterError, match="model"):
        jm.acquisition_cost(log, costs=COSTS, conversion="Contract signed", model="magic")
    with pytest.raises(jm.InvalidParameterError, match="margin"):
        jm.acquisition_cost(log, costs=COSTS, conversion="Contract signed", margin=0)
    bad = COSTS.assign(month=["2024-01", "someday", "2024-Q1", "2024", "2024-01"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cac = jm.acquisition_cost(log, costs=bad, conversion="Contract signed", period="Y")
    assert any("not a date or a period name" in str(w.message) for w in caught)
    assert set(cac.problems["row"]) == {1, 4}
    no_channel = jm.JourneyLog.from_frame(pd.DataFrame(ROWS, columns=["case", "activity", "time", "value", "ch"]),
                                          case="case", activity="activity", timestamp="time")
    with pytest.raises(jm.SchemaError, match="channel="):
        jm.acquisition_cost(no_channel, costs=COSTS, conversion="Contract signed")


def test_without_values_payback_is_nan() -> None:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "amount", "channel"])
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", channel="channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        cac = jm.acquisition_cost(log, costs=COSTS, conversion="Contract signed")
    assert np.isnan(cac.accounts["payback_months"]).all() and np.isnan(cac.summary["clv_to_cac"]).all()
    assert "AcquisitionCost" in repr(cac) and "<table" in cac._repr_html_()


def test_spend_keyed_by_campaign() -> None:
    rows = [(c, a, t, v, ch, camp) for (c, a, t, v, ch), camp in zip(ROWS, ["Q1-webinars", "Q1-expo", None,
                                                                           "Q1-webinars", None, "Q1-expo"],
                                                                  strict=True)]
    df = pd.DataFrame(rows, columns=["case", "activity", "time", "value", "channel", "campaign"])
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", value="value",
                                   channel="channel", event_attributes=["campaign"])
    costs = pd.DataFrame({"campaign": ["Q1-webinars", "Q1-expo", "Q1-radio"], "period": ["2024"] * 3,
                          "spend": [90.0, 40.0, 10.0]})
    cac = jm.acquisition_cost(log, costs=costs, conversion="Contract signed", touch="campaign", period="Y")
    acc = cac.accounts.set_index("case")
    # linear: P's two touches (webinars, expo) get 1/2 each, Q's one (webinars) 1; so
    # webinars' 90 over 1.5 credits is 60 per credit, expo's 40 over 0.5 is 80
    assert acc.loc["Q", "acquisition_cost"] == pytest.approx(60)
    assert acc.loc["P", "acquisition_cost"] == pytest.approx(0.5 * 60 + 0.5 * 80)
    assert cac.unexplained["reason"].tolist() == ["the campaign never occurs in the log"]
    with pytest.raises(jm.InvalidParameterError, match="touch"):
        jm.acquisition_cost(log, costs=costs, conversion="Contract signed", touch="utm_source")
    with pytest.raises(jm.SchemaError, match="missing \\['channel'\\]"):
        jm.acquisition_cost(log, costs=costs, conversion="Contract signed")


def test_quarterly_spend_is_not_spread_over_months_by_guess() -> None:
    costs = pd.DataFrame({"channel": ["Web", "Event"], "period": ["2024-Q1", "2024-Q1"], "spend": [900.0, 300.0]})
    with pytest.raises(jm.InvalidParameterError, match="per quarter \\('2024-Q1', 2 rows\\): pass period='Q'"):
        jm.acquisition_cost(_log(), costs=costs, conversion="Contract signed")  # period="M" by default
    cac = jm.acquisition_cost(_log(), costs=costs, conversion="Contract signed", period="Q")
    total = cac.by_channel["allocated"].sum() + cac.unexplained["spend"].sum()
    assert total == pytest.approx(1200)
