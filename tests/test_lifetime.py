"""Lifetime value: hand-computed on a tiny log with censoring; bad input; the demo's
planted differences; seeded intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine import _lifetime

ROWS = [
    ("A", "Contract signed", "2024-01-01", 120.0, "X"),
    ("A", "Churned", "2024-07-01", None, "X"),  # 181 days: churns in month 6
    ("B", "Contract signed", "2024-01-01", 240.0, "X"),
    ("B", "Visit", "2025-01-01", None, "X"),  # the log's end: B is censored, running
]


def _log() -> jm.JourneyLog:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "value", "segment"])
    return jm.JourneyLog.from_frame(
        df, case="case", activity="activity", timestamp="time", value="value", case_attributes=["segment"]
    )


def test_lifetime_value_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lifetime, "_MIN_AT_RISK", 1)  # two relationships make the curve
    lv = jm.lifetime_value(_log(), churned="Churned", horizon=1, n_boot=0)
    s = lv.summary.iloc[0]
    assert (s["relationships"], s["churned"], s["accounts"]) == (2, 1, 2)
    # S = 1 for months 0-5, 1/2 from month 6 (A churns at 5.9 months, B is censored at 12);
    # mean recurring revenue 180 for months 0-5 (both), 240 from month 6 (B alone)
    assert s["clv"] == pytest.approx((6 * 180 * 1 + 6 * 240 * 0.5) / 12)
    assert s["survival_12m"] == pytest.approx(0.5) and s["arr_at_start"] == pytest.approx(180)
    acc = lv.accounts.set_index("case")
    assert acc.loc["A", "earned"] == pytest.approx(120 * 182 / 365.25)  # 2024 is a leap year
    assert acc.loc["B", "earned"] == pytest.approx(240 * 366 / 365.25)
    assert not acc.loc["A", "running"] and acc.loc["A", "expected_future"] == 0
    # B: running at month 12, the last observed month; past it survival falls at the hazard of
    # the observed year, 1 - (S(12) / S(0))^(1/12) = 1 - 0.5^(1/12) a month
    h = 1 - 0.5 ** (1 / 12)
    future = 240 * sum((1 - h) ** m for m in range(12)) / 12
    assert acc.loc["B", "expected_future"] == pytest.approx(future)
    assert acc.loc["B", "lifetime_value"] == pytest.approx(acc.loc["B", "earned"] + future)
    c = lv.curves
    assert c["at_risk"].tolist()[:8] == [2, 2, 2, 2, 2, 2, 1, 1]


def test_few_relationships_use_one_mean_and_no_tail() -> None:
    lv = jm.lifetime_value(_log(), churned="Churned", horizon=1, n_boot=0)
    # under 10 relationships at every month: the mean over all observed months (19 of them)
    mean = (6 * 360 + 7 * 240) / 19
    assert lv.summary.iloc[0]["clv"] == pytest.approx((6 * 1 + 6 * 0.5) * mean / 12)
    assert lv.summary.iloc[0]["observed_months"] == 0


def test_bad_options() -> None:
    log = _log()
    for bad in ({"horizon": 0}, {"horizon": 21}, {"n_boot": -1}, {"horizon": 2.5}):
        with pytest.raises(jm.InvalidParameterError):
            jm.lifetime_value(log, **bad)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match="churned"):
        jm.lifetime_value(log, churned="Nope")


def test_the_demo_segments_and_the_seeded_interval() -> None:
    log = jm.datasets.demo_b2b(1_500, random_state=3, version=2)
    kw = {"by": "segment", "churned": "Churned", "kind": "deal_type", "product": "deal_product"}
    a = jm.lifetime_value(log, random_state=1, **kw)
    b = jm.lifetime_value(log, random_state=1, **kw)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    s = a.summary.set_index("cohort")
    # Enterprise deals are ~15x SMB's (the demo's medians 120k and 8k)
    assert s.loc["Enterprise", "clv_low"] > 5 * s.loc["SMB", "clv_high"]
    assert (s["survival_12m"] < 1).all() and (s["churned"] > 0).all()
    html = a._repr_html_()
    assert "Enterprise" in html and "LifetimeValue" in repr(a)
    assert a.to_dict()["horizon"] == 5


def test_no_churn_at_all_keeps_everyone() -> None:
    df = pd.DataFrame(ROWS[2:], columns=["case", "activity", "time", "value", "segment"])
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", value="value")
    lv = jm.lifetime_value(log, horizon=1, n_boot=0)
    assert lv.summary.iloc[0]["survival_12m"] == 1.0
    assert lv.summary.iloc[0]["clv"] == pytest.approx(240)  # a year of 240, surely


@pytest.fixture(scope="module")
def fitted() -> tuple[jm.JourneyLog, jm.JourneyOutcomeModel]:
    log = jm.datasets.demo_b2b(1_200, random_state=2, version=2)
    m = jm.JourneyOutcomeModel(outcomes={"churned": ["Churned"], "won": ["Contract signed"]}, target="churned",
                               horizon="180D", random_state=0)
    return log, m.fit(log.filter_time(end="2024-12-31", mode="events"))


def test_value_at_risk_stakes(fitted: tuple[jm.JourneyLog, jm.JourneyOutcomeModel]) -> None:
    log, m = fitted
    kw = {"churned": "Churned", "kind": "deal_type", "product": "deal_product"}
    risk = jm.value_at_risk(m, log, at="2025-01-01", by="segment", **kw)
    assert risk["expected"].tolist() == pytest.approx((risk["probability"] * risk["stake"]).tolist())
    assert risk["expected"].is_monotonic_decreasing and risk["case"].is_unique
    # the stake is the recurring revenue after the account's last event before the cut-off
    ev = jm.revenue(log, **kw).events
    ev = ev[ev["timestamp"] < pd.Timestamp("2025-01-01", tz="UTC")]
    last = ev.groupby("case")["arr_after"].last()
    got = risk.set_index("case")["stake"]
    common = got.index.intersection(last.index)
    assert len(common) > 50
    assert got[common].tolist() == pytest.approx(last[common].tolist())
    assert (got[~got.index.isin(last.index)] == 0).all()  # never paid before: nothing at risk
    given = pd.Series(1000.0, index=risk["case"])
    fixed = jm.value_at_risk(m, log, at="2025-01-01", stake=given)
    assert fixed["expected"].tolist() == pytest.approx((fixed["probability"] * 1000).tolist())
    deal = jm.value_at_risk(m, log, at="2025-01-01", stake="deal", by="segment", **kw)
    assert deal.groupby("cohort")["stake"].nunique().eq(1).all()  # one median deal per cohort


def test_value_at_risk_bad_input(fitted: tuple[jm.JourneyLog, jm.JourneyOutcomeModel]) -> None:
    log, m = fitted
    with pytest.raises(jm.InvalidParameterError, match="fitted JourneyOutcomeModel"):
        jm.value_at_risk(object(), log, at="2025-01-01")
    other = jm.JourneyOutcomeModel(outcomes={"renewed": ["Renewal"]}, target="renewed", horizon="180D",
                                   random_state=0).fit(log.filter_time(end="2024-12-31", mode="events"))
    with pytest.raises(jm.InvalidParameterError, match="stake"):
        jm.value_at_risk(other, log, at="2025-01-01")
    with pytest.raises(jm.InvalidParameterError, match="stake"):
        jm.value_at_risk(m, log, at="2025-01-01", stake="gold")


def test_the_batched_bootstrap_is_the_value_of_each_resample() -> None:
    import numpy as np

    from journeymine._lifetime import _clv, _clv_weighted

    rng = np.random.default_rng(0)
    for n in (3, 40, 400):
        months_alive = np.round(rng.exponential(20, n), 1)
        churned = rng.random(n) < 0.4
        arr = rng.uniform(10, 100, (n, 61))
        for i in range(n):  # running until its end
            arr[i, int(months_alive[i]) + 1 :] = np.nan
        picks = rng.integers(0, n, (5, n))
        w = np.stack([np.bincount(p, minlength=n) for p in picks]).astype(float)
        got = _clv_weighted(months_alive, churned, arr, 60, w)
        want = [_clv(months_alive[p], churned[p], arr[p], 60)[0] for p in picks]
        assert got == pytest.approx(want, rel=1e-10)


def test_expected_future_past_the_horizon_keeps_falling() -> None:
    # a relationship older than the horizon: its future still churns at the tail's hazard
    from journeymine._lifetime import _survival

    s = _survival(np.array([1.0, 0.9, 0.81]), 0.1, 5)
    assert s.tolist() == pytest.approx([1.0, 0.9, 0.81, 0.729, 0.6561, 0.59049])
    log = jm.datasets.demo_b2b(1_000, random_state=0, version=2)
    lv = jm.lifetime_value(log, churned="Churned", kind="deal_type", product="deal_product", horizon=1,
                           n_boot=0)
    acc = lv.accounts[lv.accounts["running"] & (lv.accounts["recurring_now"] > 0)]
    old = acc[acc["tenure_months"] >= 12]
    assert len(old) > 10 and (old["expected_future"] < old["recurring_now"]).all()


def test_a_cohort_without_revenue_is_nan_not_zero() -> None:
    rows = [*ROWS, ("C", "Visit", "2024-06-01", None, "Y")]
    df = pd.DataFrame(rows, columns=["case", "activity", "time", "value", "segment"])
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", value="value",
                                   case_attributes=["segment"])
    s = jm.lifetime_value(log, by="segment", churned="Churned", n_boot=0).summary.set_index("cohort")
    assert s.loc["Y", "relationships"] == 0 and np.isnan(s.loc["Y", "clv"]) and np.isnan(s.loc["Y", "survival_12m"])


def test_value_at_risk_stake_keyed_by_numbers(fitted: tuple[jm.JourneyLog, jm.JourneyOutcomeModel]) -> None:
    import warnings

    log, m = fitted
    cases = jm.value_at_risk(m, log, at="2025-01-01", stake=pd.Series(1.0, index=log.cases["case"]))["case"]
    with pytest.raises(jm.InvalidParameterError, match="none of its"):
        jm.value_at_risk(m, log, at="2025-01-01", stake=pd.Series(1.0, index=range(len(cases))))
    partial = pd.Series(5.0, index=list(cases[:10]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        risk = jm.value_at_risk(m, log, at="2025-01-01", stake=partial)
    assert any("have no amount in stake" in str(w.message) for w in caught)
    assert risk["stake"].notna().sum() == 10
