"""JourneyOutcomeModel: prefixes without leakage, temporal evaluation, the estimator contract."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone

import journeymine as jm

OUT = jm.datasets.DEMO_OUTCOMES


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=1_500, random_state=4)


def won_times(log: jm.JourneyLog) -> pd.Series:
    """When each account first reached "won", by case id (accounts that never did: absent)."""
    ev = log.events
    return ev[ev["activity"].isin(OUT["won"])].groupby("case")["timestamp"].min()


def test_features_use_only_events_before_the_cutoff(demo: jm.JourneyLog) -> None:
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(demo)
    cutoff = pd.Timestamp("2024-03-01", tz="UTC")
    x1, _ = m._aligned(demo, cutoff)
    # rewrite every event after the cut-off: activities and timestamps
    ev = demo.to_polars("events")
    late = ev.get_column("timestamp") >= cutoff.to_pydatetime()
    changed = ev.with_columns(
        pl.when(pl.Series(late)).then(pl.lit("Webinar")).otherwise(pl.col("activity")).alias("activity"),
        pl.when(pl.Series(late)).then(pl.col("timestamp") + pl.duration(days=3)).otherwise(pl.col("timestamp"))
        .alias("timestamp"))
    attrs = demo.to_polars("cases").select("case", "segment", "product", "market")
    changed = changed.drop("row").join(attrs, on="case", how="left")
    other = jm.JourneyLog.from_frame(changed, case="case", activity="activity", timestamp="timestamp",
                                     case_attributes=["segment", "product", "market"], duplicates="keep")
    x2, _ = m._aligned(other, cutoff)
    common = x1.index.intersection(x2.index)
    assert len(common) > 100
    pd.testing.assert_frame_equal(x1.loc[common].sort_index(), x2.loc[common].sort_index(), check_exact=False)


def test_temporal_split_beats_base_rate_and_explains(demo: jm.JourneyLog) -> None:
    train = demo.filter_time(end="2024-06-01", mode="contained")
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(train)
    r = m.evaluate(demo, at="2024-09-01")  # a later period than any training label
    assert r["auc"] > 0.75 and r["brier"] < r["brier_base_rate"]
    assert {"predicted", "observed", "n"} <= set(r["calibration"].columns)
    ex = m.explain(5)
    assert list(ex.columns) == ["feature", "coefficient", "odds_ratio_per_sd", "direction"]
    assert ex["coefficient"].abs().is_monotonic_decreasing
    p = m.predict_proba(demo, at="2025-01-01")
    assert p.between(0, 1).all() and p.index.name == "case"
    won_before = set(demo.filter_time(end="2025-01-01", mode="events").filter_activities("Contract signed")
                     .cases["case"])
    assert not won_before & set(p.index)  # accounts already won are not scored


def test_halfway_cutoffs_and_contract(demo: jm.JourneyLog) -> None:
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon=None, random_state=0)
    twin = clone(m)
    assert twin.get_params() == m.get_params()
    m.fit(demo, at="halfway")
    # the examples, counted again: accounts with an event before their midpoint that had not
    # won by then; the label is whether they won later (horizon=None)
    cases = demo.cases.set_index("case")
    won_at = won_times(demo).reindex(cases.index)
    half = cases["start"] + (cases["end"] - cases["start"]) / 2
    open_ = (cases["start"] < half) & (won_at.isna() | (won_at > half))
    assert m.n_examples_ == int(open_.sum()) > 500
    assert m.base_rate_ == pytest.approx(won_at[open_].notna().mean())
    per_case = cases["start"] + pd.Timedelta(days=30)
    p = m.predict_proba(demo, at=per_case)
    # scored: every account not won by its cut-off (each has its first event before it)
    assert set(p.index) == set(cases.index[won_at.isna() | (won_at > per_case)])
    assert p.between(0, 1).all() and p.nunique() > 10
    # an account's score does not depend on which other accounts are scored with it
    some = per_case.loc[p.index[:40]]
    pd.testing.assert_series_equal(m.predict_proba(demo, at=some), p.loc[some.index])
    with pytest.raises(jm.NotFittedError, match="not fitted yet"):
        jm.JourneyOutcomeModel(outcomes=OUT).predict_proba(demo, at="2024-01-01")
    with pytest.raises(jm.InvalidParameterError, match=r"'target' parameter of JourneyOutcomeModel"):
        jm.JourneyOutcomeModel(outcomes=OUT, target="promoted").fit(demo)
    with pytest.raises(jm.InvalidParameterError, match=r"'horizon' parameter"):
        jm.JourneyOutcomeModel(outcomes=OUT, horizon="soon").fit(demo)
    with pytest.raises(jm.InvalidParameterError, match=r"'at' parameter"):
        m.predict_proba(demo, at="not a date")


@pytest.mark.realdata
def test_bpic2012_halfway_beats_recency_frequency(shared_data) -> None:  # type: ignore[no-untyped-def]
    log = jm.read_xes(shared_data / "bpic2012.xes.gz", transitions="complete")
    split = log.cases["start"].quantile(0.6)
    train = log.filter_cases(lambda c: c["start"] < split)
    later = log.filter_cases(lambda c: c["start"] >= split)
    outs = {"approved": ["A_APPROVED"], "declined": ["A_DECLINED"], "cancelled": ["A_CANCELLED"]}
    m = jm.JourneyOutcomeModel(outcomes=outs, target="approved", horizon=None, random_state=0)
    r = m.fit(train, at="halfway").evaluate(later, at="halfway")
    assert r["auc"] > r["auc_baseline"] + 0.03 and r["auc"] > 0.85
