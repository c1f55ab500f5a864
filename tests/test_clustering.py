"""JourneyClusterer: planted journey types, the estimator contract, explanations, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

import journeymine as jm

TYPES = {
    # same touchpoints, different order / loops / pace
    "demo-first": (["Webinar", "Demo", "Proposal", "Negotiation", "Signed"], 2.0),
    "trial-first": (["Webinar", "Trial", "Proposal", "Demo", "Signed"], 2.0),
    "looping": (["Webinar", "Demo", "Proposal", "Demo", "Proposal", "Demo", "Signed"], 2.0),
}


def planted(
    n: int = 240, seed: int = 0, slow_copy: bool = False, slow_factor: float = 12.0, sigma: float = 0.3
) -> tuple[jm.JourneyLog, pd.Series]:
    rng = np.random.default_rng(seed)
    names = list(TYPES) + (["demo-first-slow"] if slow_copy else [])
    sizes = rng.multinomial(n, [0.5, 0.3, 0.2] if not slow_copy else [0.4, 0.25, 0.2, 0.15])
    rows, truth = [], {}
    i = 0
    for t, size in zip(names, sizes, strict=True):
        acts, days = TYPES[t.replace("-slow", "")]
        if t.endswith("slow"):
            days *= slow_factor
        for _ in range(size):
            seq = list(acts)
            if rng.random() < 0.1:  # noise: drop one step
                del seq[rng.integers(1, len(seq))]
            ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
                np.cumsum(rng.lognormal(np.log(days), sigma, len(seq))), unit="D")
            case = f"acc{i:04d}"
            truth[case] = t
            rows += [(case, a, s, rng.choice(["SMB", "Enterprise"], p=[0.8, 0.2] if t == "looping" else [0.3, 0.7]))
                     for a, s in zip(seq, ts, strict=True)]
            i += 1
    df = pd.DataFrame(rows, columns=["case", "activity", "ts", "segment"])
    df["segment"] = df.groupby("case")["segment"].transform("first")
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="ts", case_attributes=["segment"])
    return log, pd.Series(truth)


def test_recovers_planted_types_with_auto_k() -> None:
    log, truth = planted()
    est = jm.JourneyClusterer(random_state=0).fit(log)
    assert est.n_clusters_ == 3
    assert adjusted_rand_score(truth.loc[est.labels_.index], est.labels_) > 0.9
    assert list(est.selection_scores_["k"]) == list(range(1, 9))
    assert est.selection_scores_["bic"].idxmin() == 2


def test_pace_separates_same_order_different_speed() -> None:
    log, truth = planted(n=400, slow_copy=True)
    est = jm.JourneyClusterer(n_clusters=4, random_state=1).fit(log)
    assert adjusted_rand_score(truth.loc[est.labels_.index], est.labels_) > 0.8


@pytest.mark.parametrize("seed", [0, 3])
def test_auto_k_finds_a_type_that_differs_only_by_being_4x_slower(seed: int) -> None:
    # paces overlap (log-normal sigma 1 per gap, 4x apart), so the slow twin of demo-first
    # is told apart only by pooling every gap of an account (fine pace units) and only
    # by an EM start run near convergence
    log, truth = planted(n=600, seed=seed, slow_copy=True, slow_factor=4.0, sigma=1.0)
    est = jm.JourneyClusterer(random_state=0).fit(log)
    assert est.n_clusters_ == 4
    assert adjusted_rand_score(truth.loc[est.labels_.index], est.labels_) > 0.8


def test_pace_is_read_against_each_steps_typical_gap() -> None:
    # every gap of every account 10x longer: each gap's residual against its transition's
    # typical gap is unchanged, so the Markov mixture gives the same units and labels
    log, _ = planted(n=400, seed=2, slow_copy=True, slow_factor=4.0, sigma=1.0)
    ev = log.to_polars("events").select("case", "activity", "timestamp").to_pandas()
    first = ev.groupby("case")["timestamp"].transform("min")
    ev["timestamp"] = first + (ev["timestamp"] - first) * 10
    slower = jm.JourneyLog.from_frame(ev, case="case", activity="activity", timestamp="timestamp")
    a = jm.JourneyClusterer(n_clusters=4, random_state=0).fit(log)
    b = jm.JourneyClusterer(n_clusters=4, random_state=0).fit(slower)
    assert b.n_units_ == a.n_units_
    pd.testing.assert_series_equal(b.labels_, a.labels_)
    # the typical gaps moved by log10(10) = 1, and the fitted model reads the new log alike
    base_a, base_b = a._baseline, b._baseline
    assert base_b.default == pytest.approx(base_a.default + 1)
    assert {k: v - 1 for k, v in base_b.table.items()} == pytest.approx(base_a.table)
    pd.testing.assert_series_equal(a.predict(log), a.labels_)


def test_a_step_that_is_slow_for_everyone_does_not_split_journeys() -> None:
    # Demo → Proposal takes 10x longer for every account. demo-first and looping take that
    # step once and three times, so raw gaps would call looping "slow" and split on it
    # (ARI 0.66 between the two fits with raw gaps); against the step's typical gap,
    # nothing changed
    log, truth = planted(n=400, seed=0, slow_copy=True, slow_factor=4.0, sigma=1.0)
    ev = log.to_polars("events").select("case", "activity", "timestamp").to_pandas()
    gap = ev.groupby("case")["timestamp"].diff().fillna(pd.Timedelta(0))
    step = (ev.groupby("case")["activity"].shift() == "Demo") & (ev["activity"] == "Proposal")
    ev["timestamp"] = ev.groupby("case")["timestamp"].transform("min") + gap.where(~step, gap * 10).groupby(
        ev["case"]
    ).cumsum()
    slowed = jm.JourneyLog.from_frame(ev, case="case", activity="activity", timestamp="timestamp")
    a = jm.JourneyClusterer(n_clusters=4, random_state=0).fit_predict(log)
    b = jm.JourneyClusterer(n_clusters=4, random_state=0).fit_predict(slowed)
    assert adjusted_rand_score(a, b.loc[a.index]) > 0.95
    assert adjusted_rand_score(truth.loc[b.index], b) > 0.8


def test_each_transitions_typical_gap_is_its_own_mean_and_unseen_ones_get_the_overall_mean() -> None:
    from journeymine._clustering import _Baseline

    days = {"A": 0, "B": 1, "C": 2}  # A→B and B→C take one day
    rows = [(f"c{i}", a, pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)) for i in range(40) for a, d in days.items()]
    rows += [("slow", "A", pd.Timestamp("2024-01-01")), ("slow", "C", pd.Timestamp("2024-04-10"))]  # A→C once, 100 days
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["c", "a", "t"]), case="c", activity="a", timestamp="t")
    base = _Baseline.of(log)
    day, slow = np.log10(86_400), np.log10(100 * 86_400)
    assert base.default == pytest.approx((80 * day + slow) / 81)
    assert base.table[("A", "B")] == pytest.approx(day)
    # a transition seen once is typical of itself: its one gap reads as a residual of 0,
    # not as an extreme pace that a cluster would form around
    assert base.table[("A", "C")] == pytest.approx(slow)
    assert set(base.table) == {("A", "B"), ("B", "C"), ("A", "C")}
    # a new log's transitions are coded by name; C→A was never fitted and is left to the default
    table, default = base.codes(["C", "A", "B"])
    got = {(r["act"], r["tgt"]): r["base"] for r in table.iter_rows(named=True)}
    assert got == pytest.approx({(1, 2): day, (2, 0): day, (1, 0): slow})
    assert default == base.default


@pytest.mark.parametrize("representation", ["markov", "profile", "ngram", "profile+timing"])
def test_every_representation_fits_and_predicts(representation: str) -> None:
    log, truth = planted(n=150, seed=3)
    est = jm.JourneyClusterer(n_clusters=3, representation=representation, random_state=0)  # type: ignore[arg-type]
    labels = est.fit_predict(log)
    assert set(labels) == {0, 1, 2}
    assert list(est.cluster_sizes_.index) == [0, 1, 2]
    assert list(est.cluster_sizes_) == sorted(est.cluster_sizes_, reverse=True)  # 0 = largest
    pd.testing.assert_series_equal(est.predict(log), labels)
    assert adjusted_rand_score(truth.loc[labels.index], labels) > 0.5


def test_deterministic_and_sklearn_protocol() -> None:
    log, _ = planted(n=120, seed=5)
    a = jm.JourneyClusterer(random_state=7).fit(log).labels_
    b = jm.JourneyClusterer(random_state=7).fit(log).labels_
    pd.testing.assert_series_equal(a, b)
    est = jm.JourneyClusterer(n_clusters=2, max_clusters=5, random_state=1)
    assert est.get_params()["max_clusters"] == 5
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    est.set_params(n_clusters=3)
    assert est.n_clusters == 3
    assert repr(est) == "JourneyClusterer(n_clusters=3, max_clusters=5, random_state=1)"
    with pytest.raises(jm.InvalidParameterError, match=r"'colour' parameter of JourneyClusterer\.set_params"):
        est.set_params(colour="red")


def test_not_fitted_and_bad_parameters() -> None:
    log, _ = planted(n=60)
    with pytest.raises(jm.NotFittedError, match="not fitted yet; call fit"):
        jm.JourneyClusterer().predict(log)
    with pytest.raises(jm.InvalidParameterError, match=r"The 'n_clusters' parameter of JourneyClusterer must be an int >= 1\. Got 0\."):
        jm.JourneyClusterer(n_clusters=0).fit(log)
    with pytest.raises(jm.InvalidParameterError, match=r"'representation' parameter"):
        jm.JourneyClusterer(representation="bag").fit(log)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"at most the number of accounts \(60\)"):
        jm.JourneyClusterer(n_clusters=61).fit(log)
    with pytest.raises(jm.InvalidParameterError, match=r"'log' parameter of JourneyClusterer.fit must be a JourneyLog"):
        jm.JourneyClusterer().fit(pd.DataFrame())  # type: ignore[arg-type]


def test_identical_journeys_give_one_cluster_with_a_warning() -> None:
    rows = [(f"c{i}", a, f"2024-01-{d + 1:02d}") for i in range(30) for d, a in enumerate(["A", "B", "C"])]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["c", "a", "t"]), case="c", activity="a", timestamp="t")
    with pytest.warns(jm.JourneymineWarning, match="chose one cluster"):
        est = jm.JourneyClusterer(random_state=0).fit(log)
    assert est.n_clusters_ == 1
    with pytest.raises(jm.InvalidParameterError, match="distinct journeys"):
        jm.JourneyClusterer(n_clusters=2).fit(log)


def test_predict_handles_unseen_activities() -> None:
    log, _ = planted(n=120)
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(log)
    other = pd.DataFrame({"case": ["x", "x", "x", "y"], "activity": ["Webinar", "Teleport", "Signed", "Moon"],
                          "ts": ["2024-01-01", "2024-01-03", "2024-01-09", "2024-02-01"]})
    pred = est.predict(jm.JourneyLog.from_frame(other, case="case", activity="activity", timestamp="ts"))
    assert list(pred.index) == ["x", "y"] and pred.between(0, 2).all()


def test_explanations_summary_maps_and_subway() -> None:
    log, truth = planted(n=240)
    est = jm.JourneyClusterer(random_state=0).fit(log)
    looping = est.labels_[truth.loc[est.labels_.index] == "looping"].mode()[0]
    ex = est.explain()
    mine = ex[(ex["cluster"] == looping) & (ex["kind"] == "transition")]
    assert "Proposal → Demo" in set(mine["feature"])
    row = mine.set_index("feature").loc["Proposal → Demo"]
    assert row["share_in_cluster"] > 0.8 and row["cohens_h"] > 0.8 and row["lift"] > 1
    attrs = ex[(ex["cluster"] == looping) & (ex["kind"] == "attribute")].set_index("feature")
    assert attrs.loc["segment = SMB", "difference"] > 0.3  # looping accounts are mostly SMB
    s = est.summary(outcomes={"won": ["Signed"]})
    assert list(s["cluster"]) == [0, 1, 2] and s["won_share"].between(0.8, 1).all()
    # the planted types are recovered exactly here, so each cluster has its type's accounts
    planted_type = {c: truth.loc[est.labels_.index[est.labels_ == c]].mode()[0] for c in range(3)}
    assert list(s["accounts"]) == [int((truth == planted_type[c]).sum()) for c in range(3)]
    # shares and durations, counted again from the events and cases of the log
    signed = set(log.events.loc[log.events["activity"] == "Signed", "case"])
    cases = log.cases.set_index("case")
    days = (cases["end"] - cases["start"]).dt.total_seconds() / 86_400
    for c in range(3):
        members = est.labels_.index[est.labels_ == c]
        row = s.set_index("cluster").loc[c]
        assert row["won_share"] == pytest.approx(np.mean([m in signed for m in members]))
        assert row["median_days"] == pytest.approx(days.loc[members].median())
    reps = est.representatives_.set_index("cluster")
    assert reps.loc[looping, "variant"] == tuple(TYPES["looping"][0])
    maps = est.maps()
    assert list(maps) == [f"Cluster {c}" for c in range(3)]
    sm = jm.subway_map(est)
    assert [ln.name for ln in sm.lines] == ["Cluster 0", "Cluster 1", "Cluster 2"]
    assert {ln.kind for ln in sm.lines} == {"cluster"}
    assert "Cluster" in est._repr_html_()


@pytest.mark.realdata
def test_sepsis_clusters(shared_data) -> None:  # type: ignore[no-untyped-def]
    from real_logs import sepsis

    log = sepsis(shared_data, duplicates="keep")
    est = jm.JourneyClusterer(random_state=0, max_clusters=6).fit(log)
    scores = est.selection_scores_
    assert est.n_clusters_ == int(scores.loc[scores["bic"].idxmin(), "k"]) > 1  # the k of least BIC
    assert list(est.labels_.index) == list(log.cases["case"])  # every account, in case order
    assert "NA" in est.labels_.index  # a case id, not a missing value
    pd.testing.assert_series_equal(est.predict(log), est.labels_)
    # each activity's share in a cluster, counted again from the events
    ev = log.events
    shown = est.explain(kinds=("activity",), top=3)
    assert len(shown) > 0
    for row in shown.itertuples():
        members = set(est.labels_.index[est.labels_ == row.cluster])
        having = set(ev.loc[ev["activity"] == row.feature, "case"])
        assert row.share_in_cluster == pytest.approx(len(members & having) / len(members))
        others = log.n_cases - len(members)
        assert row.share_elsewhere == pytest.approx(len(having - members) / others)


def test_warns_when_the_best_k_is_the_largest_tried() -> None:
    log, _ = planted(n=240)
    with pytest.warns(jm.JourneymineWarning, match=r"chose k=2, the largest k it tried.*Raise max_clusters"):
        est = jm.JourneyClusterer(max_clusters=2, random_state=0).fit(log)
    assert est.n_clusters_ == 2


def random_journeys(n: int = 300, seed: int = 0) -> jm.JourneyLog:
    """Journeys without types: each a random sequence of random length over six touchpoints."""
    rng = np.random.default_rng(seed)
    acts = ["Webinar", "Demo", "Trial", "Proposal", "Call", "Signed"]
    rows = []
    for i in range(n):
        days = np.cumsum(rng.lognormal(0.5, 1.0, int(rng.integers(2, 7))))
        rows += [(f"c{i:04d}", str(rng.choice(acts)), pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)) for d in days]
    return jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["c", "a", "t"]), case="c", activity="a", timestamp="t")


def test_the_consensus_gives_the_same_clusters_whatever_the_seed() -> None:
    log, truth = planted(n=400, seed=1, slow_copy=True)
    fits = [jm.JourneyClusterer(n_clusters=4, random_state=s).fit(log) for s in range(3)]
    for a in fits:
        for b in fits:
            assert adjusted_rand_score(a.labels_, b.labels_) >= 0.9
        assert adjusted_rand_score(truth.loc[a.labels_.index], a.labels_) > 0.8
        assert a.stability_ > 0.8  # the runs agree: the data pin the types down
        cs = a.cluster_stability_
        assert cs.name == "stability" and list(cs.index) == [0, 1, 2, 3] and cs.index.name == "cluster"
        assert cs.between(0.75, 1).all()  # every planted type is a stable cluster (Hennig's 0.75)


def test_stability_is_low_and_said_on_journeys_without_types() -> None:
    log = random_journeys()
    with pytest.warns(jm.JourneymineWarning, match=r"depend on the start: stability_ = 0\.\d\d .*20 runs"):
        est = jm.JourneyClusterer(n_clusters=4, random_state=0).fit(log)
    assert est.stability_ < 0.6
    assert est.cluster_stability_.between(0, 1).all() and (est.cluster_stability_ < 0.6).any()
    s = est.summary()
    assert list(s["stability"]) == list(est.cluster_stability_)
    assert list(s["unstable"]) == list(est.cluster_stability_ < 0.6)
    ex = est.explain()
    assert list(ex["unstable"]) == [bool(est.cluster_stability_[c] < 0.6) for c in ex["cluster"]]
    names = [ln.name for ln in jm.subway_map(est).lines]
    flagged = [f"Cluster {c} (unstable)" for c in est.cluster_stability_.index if est.cluster_stability_[c] < 0.6]
    assert set(flagged) <= set(names)


def test_selection_scores_show_stability_beside_bic() -> None:
    log, _ = planted()
    est = jm.JourneyClusterer(random_state=0).fit(log)
    scores = est.selection_scores_
    assert list(scores.columns) == ["k", "accounts", "log_likelihood", "n_params", "bic", "stability"]
    assert scores.loc[0, "stability"] == 1.0  # k = 1: every run agrees
    assert scores.set_index("k").loc[3, "stability"] > 0.8
    assert est.stability_ > 0.8


def test_best_likelihood_rule_and_no_resamples() -> None:
    log, truth = planted()
    old = jm.JourneyClusterer(n_clusters=3, consensus=False, n_resamples=0, random_state=0).fit(log)
    assert adjusted_rand_score(truth.loc[old.labels_.index], old.labels_) > 0.9
    assert old.cluster_stability_.isna().all() and len(old.cluster_stability_) == 3
    assert 0.8 < old.stability_ <= 1  # the agreement of its 4 starts
    assert old.summary()["unstable"].tolist() == [False] * 3  # not known is not flagged
    one = jm.JourneyClusterer(n_clusters=3, n_init=1, random_state=0).fit(log)
    assert np.isnan(one.stability_)  # one run agrees with nothing


def test_consensus_parameters_are_validated() -> None:
    log, _ = planted(n=60)
    for name, value, expected in [
        ("n_init", 0, "an int >= 1 or 'auto'"),
        ("n_init", "many", "an int >= 1 or 'auto'"),
        ("consensus", "yes", "a bool"),
        ("n_resamples", -1, "an int >= 0"),
        ("max_activities", 0, "an int >= 1"),
    ]:
        with pytest.raises(jm.InvalidParameterError, match=rf"^The '{name}' parameter of JourneyClusterer must be {expected}\. Got {value!r}\.$"):
            jm.JourneyClusterer(**{name: value}).fit(log)  # type: ignore[arg-type]


def test_plot_selection_shows_bic_and_stability() -> None:
    import matplotlib

    matplotlib.use("Agg")
    log, _ = planted(n=120)
    est = jm.JourneyClusterer(max_clusters=4, random_state=0).fit(log)
    ax = est.plot_selection()
    assert ax.get_xlabel() == "number of clusters k"
    assert len(ax.figure.axes) == 2  # BIC on the left, stability on the right
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3, 4]
    assert list(ax.figure.axes[1].get_lines()[0].get_ydata()) == list(est.selection_scores_["stability"])


@pytest.mark.parametrize("representation", ["profile", "ngram", "profile+timing"])
def test_kmeans_representations_fit_logs_with_few_distinct_journeys(representation: str) -> None:
    """A bootstrap resample can hold fewer distinct journeys than k; the fit still works."""
    rows = [("a", "x", 0), ("a", "y", 1), ("b", "x", 0), ("b", "z", 1), ("c", "x", 0), ("c", "y", 1), ("c", "z", 2)]
    df = pd.DataFrame(rows, columns=["case", "act", "day"])
    df["ts"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["day"], unit="D")
    log = jm.JourneyLog.from_frame(df, case="case", activity="act", timestamp="ts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)
        est = jm.JourneyClusterer(n_clusters=2, representation=representation, random_state=0).fit(log)
    assert est.n_clusters_ == 2 and len(est.labels_) == 3
    assert ((est.cluster_stability_ >= 0) & (est.cluster_stability_ <= 1)).all()


def test_rare_activities_beyond_max_activities_share_one_state() -> None:
    """A log of thousands of distinct activities ran out of memory (a transition table per
    cluster, activities squared); beyond max_activities the rarest share one state."""
    rows = [(f"C{c}", f"act{c * 5 + i}", pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=c * 10 + i))
            for c in range(1_000) for i in range(5)]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "activity", "ts"]),
                                   case="case", activity="activity", timestamp="ts")
    with pytest.warns(jm.JourneymineWarning) as caught:
        est = jm.JourneyClusterer(random_state=0, n_resamples=0).fit(log)
    assert any("5,000 activities; the 4,800 rarest (96.0% of the steps" in str(w.message) for w in caught)
    assert est.labels_.size == 1_000
    assert est._model.log_trans.shape[1:] == (201, 202)  # 200 activities and the shared state
    demo = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    few = jm.JourneyClusterer(n_clusters=3, random_state=0, n_resamples=0, max_activities=5)
    with pytest.warns(jm.JourneymineWarning, match=r"the \d+ rarest"):
        few.fit(demo)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        full = jm.JourneyClusterer(n_clusters=3, random_state=0, n_resamples=0).fit(demo)
    assert not [w for w in caught if "rarest" in str(w.message)]  # within the cap: no word of it
    assert full._model.log_trans.shape[1] == len(demo.activities) + 1


def test_an_activity_named_like_the_shared_state_stays_apart() -> None:
    log = jm.datasets.demo_b2b(n_accounts=150, random_state=0)
    events = log.events[["case", "activity", "timestamp"]].copy()
    events.loc[events["activity"] == "Demo", "activity"] = "(other activity)"
    renamed = jm.JourneyLog.from_frame(events, case="case", activity="activity", timestamp="timestamp")
    est = jm.JourneyClusterer(n_clusters=2, random_state=0, n_resamples=0, max_activities=5)
    with pytest.warns(jm.JourneymineWarning, match=r"share one \"\(other activity\)'\" state"):
        est.fit(renamed)
    assert est._alphabet["(other activity)"] != len(est._alphabet) - 1
    assert est.predict(renamed).equals(est.labels_)
