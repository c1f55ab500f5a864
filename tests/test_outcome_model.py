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
    assert list(ex.columns) == ["feature", "importance", "direction"] and m.learner_ == "blend"
    assert ex["importance"].is_monotonic_decreasing and (ex["importance"] > 0).all()
    logistic = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", learner="logistic",
                                      random_state=0).fit(train)
    ex = logistic.explain(5)
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


# -- issue 27: learners chosen on time-ordered folds, calibration, reasons ----------------------


def test_auto_chooses_on_time_ordered_folds_and_reports_it(demo: jm.JourneyLog) -> None:
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(demo)
    sel = m.selection_
    assert list(sel["learner"]) == ["blend", "boosting", "logistic", "baseline"]
    assert sel["chosen"].sum() == 1 and sel.loc[sel["chosen"], "learner"].item() == m.learner_
    assert (sel["folds"] == 2).all() and (sel["holdout_examples"] > 0).all()
    # the validation shown is the last fold: later cut-offs than any of its training examples
    assert m.validation_ is not None and 0 < m.validation_["n"] < m.n_examples_
    asked = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", learner="logistic",
                                   random_state=0).fit(demo)
    assert asked.learner_ == "logistic" and list(asked.selection_["learner"]) == ["logistic", "baseline"]


def test_auto_keeps_the_blend_unless_another_learner_is_clearly_better() -> None:
    from journeymine._outcome_model import _choose

    assert _choose({"blend": [0.80, 0.82], "boosting": [0.83, 0.81], "baseline": [0.79, 0.80]}) == "blend"
    # better on both folds but by less than 0.01 on average: noise
    assert _choose({"blend": [0.80, 0.82], "logistic": [0.805, 0.83]}) == "blend"
    # better on both folds and by more: the best of such learners; the baseline is never chosen
    assert _choose({"blend": [0.80, 0.82], "logistic": [0.82, 0.83], "baseline": [0.84, 0.85]}) == "logistic"
    assert _choose({"blend": [0.80, 0.82], "boosting": [0.83, 0.84], "logistic": [0.82, 0.83]}) == "boosting"
    assert _choose({"blend": [0.80, 0.82], "baseline": [0.90, 0.90]}) == "blend"
    # ranks better but its probabilities are further off (Brier worse than the blend's): kept out
    aucs = {"blend": [0.72, 0.72], "boosting": [0.74, 0.75], "logistic": [0.73, 0.74]}
    assert _choose(aucs, {"blend": 0.096, "boosting": 0.106, "logistic": 0.097}) == "blend"
    assert _choose(aucs, {"blend": 0.096, "boosting": 0.106, "logistic": 0.095}) == "logistic"
    assert _choose(aucs, {"blend": 0.096, "boosting": 0.096, "logistic": 0.095}) == "boosting"


def test_time_folds_never_train_on_labels_from_the_hold_out() -> None:
    import numpy as np

    from journeymine._outcome_model import _time_folds

    day = 86_400 * 10**9
    cut = np.repeat(np.arange(20) * 30 * day, 50)  # 20 monthly cut-offs, 50 examples each
    y = np.tile(np.r_[np.ones(10, dtype=int), np.zeros(40, dtype=int)], 20)
    reached = np.where(y == 1, cut + 10 * day, np.iinfo(np.int64).max)
    folds, dropped = _time_folds(cut, y, reached, 0.25, "90D")
    assert not dropped and len(folds) == 2
    for f in folds:
        assert cut[f.train].max() + 90 * day <= cut[f.hold].min() == f.start  # windows end before
        assert not (f.train & f.hold).any()
    assert cut[folds[0].hold].max() < cut[folds[1].hold].min()  # the second fold is later
    _, dropped = _time_folds(cut, np.zeros(len(cut), dtype=int), reached, 0.25, "90D")
    assert len(dropped) == 2 and "0 examples with the outcome" in dropped[0]


def test_without_a_horizon_training_labels_are_those_known_when_the_hold_out_starts() -> None:
    import numpy as np

    from journeymine._outcome_model import _time_folds

    day = 86_400 * 10**9
    cut = np.repeat(np.arange(20) * 30 * day, 50)
    y = np.tile(np.r_[np.ones(25, dtype=int), np.zeros(25, dtype=int)], 20)  # reached at some time
    reached = np.where(y == 1, cut + np.tile(np.arange(50), 20) * 20 * day, np.iinfo(np.int64).max)
    folds, _ = _time_folds(cut, y, reached, 0.25, None)
    for f in folds:
        # every training example is kept; a target reached after the hold-out starts was not known
        assert (f.y_train == ((y[f.train] == 1) & (reached[f.train] < f.start))).all()
        assert f.y_train.sum() < y[f.train].sum()


def test_activity_and_attribute_names_never_collide_with_feature_columns() -> None:
    frame = jm.datasets.demo_b2b(300, random_state=0, as_frame=True)
    names = {"Demo": "case", "Webinar": "n_events", "Website visit": "_last", "Free trial": "_i"}
    frame["touchpoint"] = frame["touchpoint"].replace(names)
    frame["event source"] = frame["segment"].map({"SMB": "web: form", "Mid-market": "1", "Enterprise": "2"})
    log = jm.JourneyLog.from_frame(frame, case="account_id", activity="touchpoint", timestamp="timestamp",
                                   case_attributes=["segment", "event source"])
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon=None, random_state=0).fit(log, at="halfway")
    x, _ = m._aligned(log, "halfway")
    events = log.events
    cut = x.index.get_level_values("cutoff")
    case = x.index.get_level_values("case")[0]
    # the count of the activity named "n_events" is its own feature, not the events so far
    before = events[(events["case"] == case) & (events["timestamp"] < cut[0])]
    import numpy as np

    assert x["activity: n_events"].iloc[0] == pytest.approx(np.log1p((before["activity"] == "n_events").sum()))
    assert x["n_events"].iloc[0] == pytest.approx(np.log1p(len(before)))
    # an attribute whose name starts with "event " stays an attribute (aggregate encoding)
    assert {"event source = web: form", "event source = 1"} <= set(m.feature_names_)


def test_attribute_values_read_the_same_whatever_the_dtype() -> None:
    import numpy as np

    from journeymine._outcome_model import _as_text

    assert _as_text(pd.Series([1.0, 2.0, np.nan])).tolist() == ["1", "2", "nan"]
    assert _as_text(pd.Series([1, 2])).tolist() == ["1", "2"]
    assert _as_text(pd.Series(["a", 1.5])).tolist() == ["a", "1.5"]


def test_calibration_and_the_evaluation_result(demo: jm.JourneyLog) -> None:
    import numpy as np

    train = demo.filter_time(end="2024-06-01", mode="contained")
    raw = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", calibration=None,
                                 random_state=0).fit(train)
    iso = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", calibration="isotonic",
                                 random_state=0).fit(train)
    assert raw.calibrator_ is None and raw.validation_ is not None and not raw.validation_["calibrated"]
    # kept only when it helped the last hold-out; either way the result says which
    a, b = raw.evaluate(demo, at="2024-09-01"), iso.evaluate(demo, at="2024-09-01")
    assert a["learner"] == b["learner"] and b["calibrated"] == (iso.calibrator_ is not None)
    assert iso.validation_ is not None and iso.validation_["calibrated"] == (iso.calibrator_ is not None)
    pa, pb = raw.predict_proba(demo, at="2024-09-01"), iso.predict_proba(demo, at="2024-09-01")
    if iso.calibrator_ is None:
        pd.testing.assert_series_equal(pa, pb)
    else:  # calibration maps probabilities monotonically (isotonic's steps tie some, so AUC may fall)
        order = np.argsort(pa.to_numpy(), kind="stable")
        assert (np.diff(pb.to_numpy()[order]) >= -1e-12).all()
    assert isinstance(b, jm.OutcomeEvaluation) and "auc" in b
    assert b.summary["scorer"].tolist()[1:] == ["recency/frequency baseline", "base rate"]
    assert b.calibration["n"].sum() == b["n"]
    svg = b.draw()
    assert svg.startswith("<svg") and "Reliability: won" in svg
    with pytest.raises(KeyError, match="No 'nope' in the evaluation"):
        b["nope"]


@pytest.mark.parametrize("kind", ["sigmoid", "isotonic"])
def test_calibrators_are_monotone_and_fix_a_miscalibrated_score(kind: str) -> None:
    import numpy as np

    from journeymine._outcome_model import _Calibrator

    rng = np.random.default_rng(0)
    truth = rng.uniform(0.01, 0.6, 4_000)
    y = (rng.uniform(size=truth.size) < truth).astype(int)
    p = truth**2  # ranks right, too low
    c = _Calibrator(kind).fit(p, y)
    q = c.transform(p)
    order = np.argsort(p)
    assert (np.diff(q[order]) >= -1e-12).all()
    assert np.mean((q - y) ** 2) < np.mean((p - y) ** 2) - 0.01


@pytest.mark.parametrize("kind", ["sigmoid", "isotonic"])
def test_calibration_is_judged_out_of_fold_on_the_latest_hold_out(kind: str) -> None:
    import numpy as np

    from journeymine._outcome_model import _cross_calibrated

    rng = np.random.default_rng(1)
    truth = rng.uniform(0.01, 0.4, 600)
    y = (rng.uniform(size=truth.size) < truth).astype(int)
    # a score that ranks right but is three times too high (an outcome rate that fell since
    # the model learned): calibrating helps out of fold
    high = np.clip(truth * 3, 0, 0.99)
    crossed = _cross_calibrated(high, y, kind, 0)
    assert np.mean((crossed - y) ** 2) < np.mean((high - y) ** 2) - 0.01
    # every prediction is out of fold: the same seed gives the same values, and none is the
    # in-sample fit (which would need the row's own label)
    assert np.array_equal(crossed, _cross_calibrated(high, y, kind, 0))
    # a calibrated score: a map learned on 4/5 of 600 rows gains no more than noise out of fold
    calibrated = _cross_calibrated(truth, y, kind, 0)
    assert np.mean((calibrated - y) ** 2) >= np.mean((truth - y) ** 2) - 0.003


def test_reasons_are_the_score_moves_of_single_features(demo: jm.JourneyLog) -> None:
    import numpy as np

    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(
        demo.filter_time(end="2024-06-01", mode="contained"))
    r = m.reasons(demo, at="2024-09-01", top=2)
    assert list(r.columns) == ["case", "probability", "rank", "feature", "value", "typical", "effect", "text"]
    assert all(("raises by" in t) == (e > 0) for t, e in zip(r["text"], r["effect"], strict=False))
    assert r.groupby("case")["rank"].max().le(2).all()
    # ranked by the size of the effect within each account
    firsts = r[r["rank"] == 1].set_index("case")["effect"].abs()
    seconds = r[r["rank"] == 2].set_index("case")["effect"].abs()
    assert (firsts.loc[seconds.index] >= seconds).all()
    # recompute one effect by hand: the feature alone set to its typical training value
    row = r.iloc[0]
    x, _ = m._aligned(demo, pd.Timestamp("2024-09-01", tz="UTC"))
    X = x.to_numpy()
    i = list(x.index.get_level_values("case")).index(row["case"])
    j = m.feature_names_.index(row["feature"])
    moved = X[i:i + 1].copy()
    moved[0, j] = m._reference[j]
    assert row["effect"] == pytest.approx(m._score(X[i:i + 1])[0] - m._score(moved)[0])
    assert row["probability"] == pytest.approx(m.predict_proba(demo, at="2024-09-01").loc[row["case"]])
    assert np.isfinite(r["value"]).all()
    with pytest.raises(jm.InvalidParameterError, match="'top' parameter"):
        m.reasons(demo, at="2024-09-01", top=0)


def test_list_of_calendar_cutoffs_scores_each_open_account_at_each(demo: jm.JourneyLog) -> None:
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(
        demo.filter_time(end="2024-06-01", mode="contained"))
    dates = ["2024-09-01", "2024-12-01"]
    p = m.predict_proba(demo, at=dates)
    assert p.index.names == ["case", "cutoff"]
    for d in dates:
        one = m.predict_proba(demo, at=d)
        got = p.xs(pd.Timestamp(d, tz="UTC"), level="cutoff")
        pd.testing.assert_series_equal(got.sort_index(), one.sort_index(), check_names=False)
    with pytest.raises(jm.InvalidParameterError, match="'at' parameter"):
        m.predict_proba(demo, at=[])


def test_bad_learner_settings_are_errors(demo: jm.JourneyLog) -> None:
    for params, name in (({"learner": "forest"}, "learner"), ({"calibration": "platt"}, "calibration"),
                         ({"validation": 0.9}, "validation"), ({"index_events": -1}, "index_events"),
                         ({"encoding": ("last",)}, "encoding"), ({"encoding": "aggregate, last"}, "encoding"),
                         ({"encoding": ("aggregate", "index"), "index_events": 0}, "index_events")):
        with pytest.raises(jm.InvalidParameterError, match=f"'{name}' parameter"):
            jm.JourneyOutcomeModel(outcomes=OUT, **params).fit(demo)


def test_too_few_examples_for_folds_fits_uncalibrated_and_says_why() -> None:
    small = jm.datasets.demo_b2b(n_accounts=120, random_state=1)
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(small)
    assert m.learner_ == "blend" and m.calibrator_ is None and m.validation_ is None
    note = m.selection_["note"].item()
    assert note.startswith("no time-ordered hold-out: the ") and "uncalibrated" in note
    assert m.selection_["folds"].item() == 0


def test_reason_text_says_what_the_account_shows() -> None:
    from journeymine._outcome_model import reason_text

    assert reason_text("recency_days", 12.0, 80.4, 0.0834) == (
        "12 days since the last event (typically 80): raises by 8.3 pts")
    assert reason_text("last: Demo", 1.0, 0.0, -0.02) == "last touchpoint Demo: lowers by 2.0 pts"
    assert reason_text("event 2: Webinar", 0.0, 1.0, 0.01) == "touchpoint 2 was not Webinar: raises by 1.0 pts"
    assert reason_text("segment = SMB", 1.0, 0.0, 0.05) == "segment is SMB: raises by 5.0 pts"
    assert reason_text("step: Demo → Proposal sent", 2.0, 0.0, 0.1) == (
        "Demo → Proposal sent ×2 (typically ×0): raises by 10.0 pts")


def test_positions_carry_the_model_scores_and_reasons(demo: jm.JourneyLog) -> None:
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(
        demo.filter_time(end="2025-01-01", mode="events"))
    pos = jm.positions(demo, at="2025-03-01", ended=["Closed lost", "Churned"], model=m)
    t = pos.table.set_index("case")
    p = m.predict_proba(demo, at="2025-03-01")
    scored = t.index.intersection(p.index)
    assert len(scored) > 10
    assert (t.loc[scored, "probability"] == p.loc[scored]).all()
    # accounts that have won already (customers still open) get no probability
    assert t.loc[t.index.difference(p.index), "probability"].isna().all()
    assert t["reasons"].fillna("").str.contains("pts").any()
    with pytest.raises(jm.InvalidParameterError, match="'model' parameter of positions"):
        jm.positions(demo, model=object())


def test_scoring_a_log_where_no_account_reached_the_target(demo: jm.JourneyLog) -> None:
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(demo)
    never = demo.filter_activities(OUT["won"], how="none")  # accounts that never signed
    p = m.predict_proba(never, at="2025-01-01")
    assert len(p) > 10 and p.between(0, 1).all()
    assert set(m.reasons(never, at="2025-01-01")["case"]) <= set(p.index)
    with pytest.raises(jm.SchemaError, match="none of the activities"):  # fitting still checks the names
        jm.JourneyOutcomeModel(outcomes=OUT, target="won").fit(never)


@pytest.mark.parametrize("top", [0.2, 0.25, 1.0])
def test_reliability_axis_title_clears_the_tick_labels(top: float) -> None:
    import re

    from journeymine._outcome_draw import ReliabilitySeries, reliability_svg
    from journeymine._textsize import text_width

    series = ReliabilitySeries(name="model", predicted=[0.01, top], observed=[0.0, top], n=[5, 5])
    svg = reliability_svg([series], title="Reliability", caption="")
    title_x = float(re.search(r'<text x="([\d.]+)"[^>]*rotate\(-90[^>]*>observed share', svg).group(1))
    # tick labels on the y axis: end-anchored at the same x, left of the plot
    ends = {float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" font-size="10" text-anchor="end"', svg)}
    labels = re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', svg)
    left = min(ends) - max(text_width(t, 10) for t in labels)
    assert title_x + 6 < left  # half the rotated title's height (10 px) and a gap


def test_a_log_shorter_than_the_horizon_is_named_as_such() -> None:
    """The message named a reversed range of cut-offs ("between 2024-01-01 and 2023-10-06")."""
    t = pd.Timestamp("2024-01-01", tz="UTC")
    df = pd.DataFrame([("A", "Visit", t), ("A", "Won", t + pd.Timedelta(days=2)),
                       ("B", "Visit", t), ("B", "Lost", t + pd.Timedelta(days=3))], columns=["case", "activity", "ts"])
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="ts")
    with pytest.raises(jm.InvalidParameterError, match=r"'horizon' .* shorter than the log, which spans 3 days"):
        jm.JourneyOutcomeModel(outcomes={"won": ["Won"], "lost": ["Lost"]}, random_state=0).fit(log)
