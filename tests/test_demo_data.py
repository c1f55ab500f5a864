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
