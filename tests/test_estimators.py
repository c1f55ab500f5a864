"""The estimator contract shared by JourneyClusterer and JourneyOutcomeModel: parameters from
``__init__``, learned state replaced whole by every fit, and nothing used before fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import journeymine as jm

OUT = jm.datasets.DEMO_OUTCOMES
# the demo logs have little structure at the k these tests force: a clusterer warns that its
# clusters depend on the start, which is beside the point of the contract tested here
pytestmark = pytest.mark.filterwarnings("ignore:The clusters depend on the start:journeymine.JourneymineWarning")


@pytest.fixture(scope="module")
def logs() -> tuple[jm.JourneyLog, jm.JourneyLog]:
    """Two different logs: other accounts, other sizes and a smaller alphabet in the second."""
    a = jm.datasets.demo_b2b(n_accounts=400, random_state=1)
    b = jm.datasets.demo_b2b(n_accounts=250, random_state=2)
    b = b.filter_activities(["Trade show", "Referral", "Free trial"], how="none")
    assert set(b.activities) < set(a.activities)
    return a, b


def clusterer_outputs(est: jm.JourneyClusterer, logs: tuple[jm.JourneyLog, jm.JourneyLog]) -> dict[str, Any]:
    """Everything a fitted clusterer shows."""
    return {
        "labels_": est.labels_,
        "n_clusters_": est.n_clusters_,
        "cluster_sizes_": est.cluster_sizes_,
        "selection_scores_": est.selection_scores_,
        "representatives_": est.representatives_,
        "n_units_": est.n_units_,
        "stability_": est.stability_,
        "cluster_stability_": est.cluster_stability_,
        "summary": est.summary(outcomes=OUT),
        "explain": est.explain(),
        "maps": est.maps().to_dataframe(),
        "predict a": est.predict(logs[0]),
        "predict b": est.predict(logs[1]),
        "subway": jm.subway_map(est).svg,
        "html": est._repr_html_(),
    }


def assert_same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], value, obj=key)
        elif isinstance(value, pd.Series):
            pd.testing.assert_series_equal(got[key], value, obj=key)
        elif isinstance(value, dict):
            assert_same(got[key], value)
        else:
            assert got[key] == value, key


@pytest.mark.parametrize(("first", "second"), [("profile", "markov"), ("markov", "ngram")])
def test_a_clusterer_refit_on_another_log_is_a_fresh_fit(
    logs: tuple[jm.JourneyLog, jm.JourneyLog], first: str, second: str
) -> None:
    a, b = logs
    est = jm.JourneyClusterer(n_clusters=4, representation=first, random_state=0).fit(a)  # type: ignore[arg-type]
    clusterer_outputs(est, logs)  # every method used on the first fit
    est.set_params(n_clusters=3, representation=second).fit(b)
    fresh = jm.JourneyClusterer(n_clusters=3, representation=second, random_state=0).fit(b)  # type: ignore[arg-type]
    assert_same(clusterer_outputs(est, logs), clusterer_outputs(fresh, logs))
    assert sorted(vars(est)) == sorted(vars(fresh))  # no attribute of the first fit is left
    assert est._log is b


def outcome_outputs(m: jm.JourneyOutcomeModel, log: jm.JourneyLog) -> dict[str, Any]:
    """Everything a fitted outcome model shows."""
    r = m.evaluate(log, at="2024-09-01")
    return {
        "feature_names_": m.feature_names_,
        "n_examples_": m.n_examples_,
        "base_rate_": m.base_rate_,
        "selection_": m.selection_,
        "predict_proba": m.predict_proba(log, at="2024-06-01"),
        "evaluate": {k: r[k] for k in r.keys() if "calibration" not in k},
        "calibration": r["calibration"],
        "explain": m.explain(),
    }


def test_an_outcome_model_refit_on_another_log_is_a_fresh_fit(logs: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    a, b = logs
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", random_state=0).fit(a)
    outcome_outputs(m, a)
    m.set_params(target="lost", n_transitions=10).fit(b, at="halfway")
    fresh = jm.JourneyOutcomeModel(outcomes=OUT, target="lost", n_transitions=10, random_state=0)
    fresh.fit(b, at="halfway")
    assert_same(outcome_outputs(m, b), outcome_outputs(fresh, b))
    assert sorted(vars(m)) == sorted(vars(fresh))
    # the second log lacks three activities: none of the first fit's features is left
    assert not any("Free trial" in f for f in m.feature_names_)


def test_a_fit_that_raises_leaves_the_earlier_fit_whole(logs: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    a, b = logs
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(a)
    before = clusterer_outputs(est, logs)
    with pytest.raises(jm.InvalidParameterError, match=rf"at most the number of accounts \({b.n_cases}\)"):
        est.set_params(n_clusters=b.n_cases + 1).fit(b)
    est.set_params(n_clusters=3)  # the repr in the HTML shows the parameters
    assert_same(clusterer_outputs(est, logs), before)
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", random_state=0).fit(a)
    shown = outcome_outputs(m, a)
    never = b.filter_activities(OUT["churned"], how="none")
    with pytest.raises(jm.SchemaError, match=r"none of the activities \['Churned'\]"):  # raised mid-fit
        m.set_params(target="churned").fit(never, at="halfway")
    m.set_params(target="won")
    assert_same(outcome_outputs(m, a), shown)


def test_set_params_after_fit_changes_nothing_until_the_next_fit(
    logs: tuple[jm.JourneyLog, jm.JourneyLog],
) -> None:
    a, _ = logs
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(a)
    est.set_params(representation="profile", n_clusters=2)
    pd.testing.assert_series_equal(est.predict(a), est.labels_)  # still the fitted Markov mixture
    m = jm.JourneyOutcomeModel(outcomes=OUT, target="won", horizon="90D", random_state=0).fit(a)
    p = m.predict_proba(a, at="2024-06-01")
    m.set_params(target="churned", horizon=None, n_transitions=0)
    pd.testing.assert_series_equal(m.predict_proba(a, at="2024-06-01"), p)


ESTIMATORS = [
    (jm.JourneyClusterer, {"n_clusters": 3, "random_state": 0}, "JourneyClusterer(n_clusters=3, random_state=0)"),
    (
        jm.JourneyOutcomeModel,
        {"outcomes": {"won": ["Contract signed"]}, "horizon": None},
        "JourneyOutcomeModel(outcomes={'won': ['Contract signed']}, horizon=None)",
    ),
]


@pytest.mark.parametrize(("cls", "params", "shown"), ESTIMATORS)
def test_parameters_come_from_init(cls: type[Any], params: dict[str, Any], shown: str) -> None:
    est = cls(**params)
    assert repr(cls()) == f"{cls.__name__}()"  # defaults are not shown
    assert repr(est) == shown
    got = est.get_params()
    assert list(got) == [n for n in cls.__init__.__code__.co_varnames[1 : 1 + len(got)]]  # signature order
    assert {k: got[k] for k in params} == params
    twin = clone(est)
    assert twin is not est and twin.get_params() == got
    assert est.set_params(random_state=5) is est and est.random_state == 5
    name = cls.__name__
    with pytest.raises(
        jm.InvalidParameterError,
        match=rf"^The 'colour' parameter of {name}\.set_params must be one of the parameters of {name} "
        r"\(.*'random_state'\)\. Got 'colour'\.$",
    ):
        est.set_params(random_state=9, colour="red")
    assert est.random_state == 5  # a bad name sets nothing


def test_clone_of_a_fitted_estimator_is_unfitted(logs: tuple[jm.JourneyLog, jm.JourneyLog]) -> None:
    est = jm.JourneyClusterer(n_clusters=2, random_state=0)
    assert not est.__sklearn_is_fitted__()
    est.fit(logs[1])
    assert est.__sklearn_is_fitted__()
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "labels_") and not hasattr(twin, "_log") and not twin.__sklearn_is_fitted__()
    assert "(not fitted)" in twin._repr_html_()


@pytest.mark.parametrize(
    ("est", "call", "what"),
    [
        (jm.JourneyClusterer(), lambda e, log: e.predict(log), "predict"),
        (jm.JourneyClusterer(), lambda e, log: e.explain(), "explain"),
        (jm.JourneyClusterer(), lambda e, log: e.summary(), "summary"),
        (jm.JourneyClusterer(), lambda e, log: e.maps(), "maps"),
        (jm.JourneyClusterer(), lambda e, log: e._subway_source(), "drawing a subway map"),
        (jm.JourneyOutcomeModel(outcomes=OUT), lambda e, log: e.predict_proba(log, at="2024-06-01"), "predict_proba"),
        (jm.JourneyOutcomeModel(outcomes=OUT), lambda e, log: e.evaluate(log, at="2024-06-01"), "evaluate"),
        (jm.JourneyOutcomeModel(outcomes=OUT), lambda e, log: e.explain(), "explain"),
    ],
)
def test_every_method_needs_fit(
    logs: tuple[jm.JourneyLog, jm.JourneyLog], est: Any, call: Any, what: str
) -> None:
    name = type(est).__name__
    with pytest.raises(jm.NotFittedError, match=rf"^This {name} is not fitted yet; call fit\(log\) before {what}\.$"):
        call(est, logs[0])
    with pytest.raises(AttributeError):  # NotFittedError is also an AttributeError, as in sklearn
        call(est, logs[0])


def test_cluster_ids_are_integers_and_names_are_only_shown() -> None:
    # more than 10 clusters: "Cluster 10" sorts before "Cluster 2" as text, never as an id
    log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    est = jm.JourneyClusterer(n_clusters=11, representation="profile", random_state=0).fit(log)
    ids = list(range(11))
    assert est.labels_.dtype.kind == "i" and sorted(set(est.labels_)) == ids
    assert list(est.representatives_["cluster"]) == ids
    assert list(est.summary()["cluster"]) == ids
    flag = {c: " (unstable)" if est.cluster_stability_[c] < 0.6 else "" for c in ids}
    assert [ln.name for ln in est._subway_lines()] == [f"Cluster {c}{flag[c]}" for c in ids]
    assert sorted(est.maps()) == sorted(f"Cluster {c}" for c in ids)
    ex = est.explain(kinds=("transition",))
    assert ex["cluster"].dtype.kind == "i"
    assert all(r.startswith(f"Cluster {c}{flag[c]}: ") for c, r in zip(ex["cluster"], ex["rule"], strict=True))
    # a representative's accounts follow its journey exactly, in its own cluster
    variants = jm.variants(log, examples=0).set_index("variant")["cases"]
    for row in est.representatives_.itertuples():
        assert set(est.labels_.loc[row.cases]) == {row.cluster}
        assert row.accounts <= variants.loc[[row.variant]].iloc[0]
    assert np.array_equal(est.cluster_sizes_.index, ids)
