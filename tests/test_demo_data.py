"""The demo generator: deterministic, shaped like B2B journeys, and validated."""

from __future__ import annotations

import pandas as pd
import pytest

import journeymine as jm
from journeymine.datasets import DEMO_STAGE_ORDER
from journeymine.datasets._demo import generate_demo_events


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return generate_demo_events(1_500, random_state=11)


def test_same_seed_same_log_other_seed_other_log() -> None:
    a = generate_demo_events(200, random_state=3)
    pd.testing.assert_frame_equal(a, generate_demo_events(200, random_state=3))
    assert not a.equals(generate_demo_events(200, random_state=4))


def test_columns_and_case_attributes(demo: pd.DataFrame) -> None:
    assert list(demo.columns) == ["account_id", "contact_id", "contact_role", "touchpoint", "channel",
                                  "stage", "timestamp", "segment", "product", "market", "value"]
    assert str(demo["timestamp"].dtype).startswith("datetime64") and demo["timestamp"].dt.tz is not None
    per_account = demo.groupby("account_id")[["segment", "product", "market"]].nunique()
    assert (per_account == 1).all().all()
    assert set(demo["stage"]) == set(DEMO_STAGE_ORDER)
    assert demo.groupby("account_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    paid = demo["touchpoint"].isin(["Contract signed", "Renewal"])
    assert demo.loc[paid, "value"].gt(0).all() and demo.loc[~paid, "value"].isna().all()


def test_journeys_are_non_linear_and_segments_differ(demo: pd.DataFrame) -> None:
    rank = demo["stage"].map({s: i for i, s in enumerate(DEMO_STAGE_ORDER)})
    back = (rank.groupby(demo["account_id"]).diff() < 0).groupby(demo["account_id"]).any()
    segment = demo.groupby("account_id")["segment"].first()
    share = back.groupby(segment).mean()
    assert share["Enterprise"] > share["SMB"] > 0.05
    length = demo.groupby("account_id").size().groupby(segment).median()
    assert length["Enterprise"] > length["SMB"]
    days = demo.groupby("account_id")["timestamp"].agg(lambda t: (t.max() - t.min()).days)
    assert days.groupby(segment).median()["Enterprise"] > 90  # B2B cycles of months
    contacts = demo.groupby("account_id")["contact_id"].nunique().groupby(segment).mean()
    assert contacts["Enterprise"] > contacts["SMB"]


def test_outcomes_and_open_accounts(demo: pd.DataFrame) -> None:
    touched = demo.groupby("account_id")["touchpoint"].agg(set)
    for outcome in ("Contract signed", "Closed lost", "Churned", "Re-engaged"):
        assert touched.map(lambda s, o=outcome: o in s).mean() > 0.02, outcome
    still_open = touched.map(lambda s: not ({"Contract signed", "Closed lost"} & s)).mean()
    assert 0.2 < still_open < 0.8


def test_demo_b2b_returns_a_mapped_log() -> None:
    log = jm.datasets.demo_b2b(n_accounts=50, random_state=0)
    assert log.n_cases == 50 and log.n_rejected == 0
    assert log.mapping.contact == "contact_id" and log.mapping.stage == "stage"
    assert log.stage_order == DEMO_STAGE_ORDER
    frame = jm.datasets.demo_b2b(n_accounts=50, random_state=0, as_frame=True)
    assert len(frame) == log.n_events


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_bad_arguments(bad: object) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"The 'n_accounts' parameter of demo_b2b must be an int >= 1"):
        jm.datasets.demo_b2b(n_accounts=bad)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match="'random_state' parameter"):
        jm.datasets.demo_b2b(10, random_state="seed")  # type: ignore[arg-type]


# -- version 2: money and voice (issue 25) --------------------------------------------------


@pytest.fixture(scope="module")
def v2() -> pd.DataFrame:
    return jm.datasets.demo_b2b(3_000, random_state=5, as_frame=True, version=2)


def test_version_2_keeps_version_1s_journeys(v2: pd.DataFrame) -> None:
    v1 = jm.datasets.demo_b2b(3_000, random_state=5, as_frame=True)
    added = v2["touchpoint"].isin(["NPS survey", "Expansion", "Contraction"])
    same = ["account_id", "contact_id", "contact_role", "touchpoint", "channel", "stage", "timestamp"]
    pd.testing.assert_frame_equal(v2.loc[~added, same].reset_index(drop=True), v1[same])
    assert v2.groupby("account_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert v2["timestamp"].max() < pd.Timestamp("2023-01-01", tz="UTC") + pd.Timedelta(days=1_095)
    assert set(v2["team"]) == {"Marketing", "SDR", "AE", "CSM"}
    pd.testing.assert_frame_equal(v2, jm.datasets.demo_b2b(3_000, random_state=5, as_frame=True, version=2))


def test_version_2_plants_its_effects(v2: pd.DataFrame) -> None:
    deals = v2[v2["deal_type"] == "new"]
    acc = v2.groupby("account_id")
    reviewed = acc["touchpoint"].apply(lambda t: "Security review" in set(t))
    per = deals.assign(reviewed=deals["account_id"].map(reviewed)).groupby(["segment", "reviewed"])["value"].median()
    assert per["Enterprise", True] > 1.15 * per["Enterprise", False]  # x1.3 planted
    # surveys: churned relationships answer lower, and promoters churn less
    nps = v2[v2["touchpoint"] == "NPS survey"]
    churned = acc["touchpoint"].apply(lambda t: "Churned" in set(t))
    first = nps.groupby("account_id")["nps"].first()
    churn_rate = churned.reindex(first.index).groupby(pd.cut(first, [-1, 6, 8, 10])).mean()
    assert churn_rate.iloc[0] > 2 * churn_rate.iloc[2]
    assert nps["nps"].between(0, 10).all() and (nps["nps"] % 1 == 0).all()
    kinds = v2.loc[v2["value"].notna(), "deal_type"]
    assert set(kinds) == {"new", "renewal", "expansion", "contraction"}
    exp = v2[v2["deal_type"] == "expansion"]
    assert (exp["deal_product"] != exp["product"]).all()  # a cross-sell: another product


def test_demo_spend_matches_the_log() -> None:
    spend = jm.datasets.demo_spend(1_000, random_state=2)
    log = jm.datasets.demo_b2b(1_000, random_state=2, version=2)
    assert list(spend.columns) == ["channel", "month", "spend"] and (spend["spend"] > 0).all()
    assert "Podcast" in set(spend["channel"]) and "Podcast" not in set(log.events["channel"])
    assert spend["month"].min() == "2023-01" and spend["month"].max() == "2025-12"
    pd.testing.assert_frame_equal(spend, jm.datasets.demo_spend(1_000, random_state=2))
    with pytest.raises(jm.InvalidParameterError, match="version"):
        jm.datasets.demo_b2b(10, version=3)
