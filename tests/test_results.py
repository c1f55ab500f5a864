"""The one result contract, on every public result class; ``by=`` resolved once.

Every result has a read-only ``summary`` DataFrame, ``to_dataframe()``, a JSON-safe
``to_dict()`` and ``_repr_mimebundle_`` (text/plain always, text/html holding the drawing
of a result that draws itself, and image/svg+xml alone when HTML is excluded); it survives
``copy`` and ``pickle``, with every cohort and activity name escaped. This file is
also type-checked by mypy (pyproject ``[tool.mypy] files``): the ``assert_type`` lines pin
the overloads of the functions whose result depends on ``by``.
"""

from __future__ import annotations

import inspect
import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, assert_type

import pandas as pd
import pytest

import journeymine as jm

OUT = jm.datasets.DEMO_OUTCOMES
SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>SMB</b>"

#: every public result class, and how to build one from the hostile log
BUILDERS: dict[str, Callable[[jm.JourneyLog], Any]] = {
    "JourneyMap": lambda log: jm.journey_map(log),
    "JourneyMaps": lambda log: jm.journey_map(log, by="segment"),
    "ProcessModel": lambda log: jm.discover_process_model(log, miner="heuristics"),
    "ProcessModels": lambda log: jm.discover_process_model(log, miner="heuristics", by="segment"),
    "CohortComparison": lambda log: jm.compare_cohorts(log, by="segment", n_permutations=19, random_state=0),
    "StageDurations": lambda log: jm.stage_durations(log, by="segment"),
    "JourneyKPIs": lambda log: jm.kpis(log, outcomes=OUT, by="segment"),
    "Attribution": lambda log: jm.attribution(log, conversion=OUT["won"]),
    "SubwayMap": lambda log: jm.subway_map(jm.journey_map(log, by="segment")),
    "BuyingCommittee": lambda log: jm.buying_committee(log, outcomes=OUT, at="Proposal sent", by="segment"),
    "JourneyPaths": lambda log: jm.paths(log, SCRIPT, by="segment"),
    "ObjectCentricLog": lambda log: _hostile_ocel(),
    "Flattening": lambda log: _hostile_ocel().flattening(SCRIPT),
    "Funnel": lambda log: jm.funnel(log, [SCRIPT, "Proposal sent", "Contract signed"], window="60D", by="segment"),
    "Retention": lambda log: jm.retention(log, by="segment", period="Q"),
    "RevenueJourney": lambda log: jm.revenue(log, by="segment", churned="Churned"),
    "AcquisitionCost": lambda log: jm.acquisition_cost(
        log, costs=jm.datasets.demo_spend(300, random_state=0).assign(channel=lambda d: d["channel"].replace(
            {"Web": SCRIPT})), conversion="Contract signed", by="segment", churned="Churned"),
    "TouchMix": lambda log: jm.touch_mix(log, dim="role", by="segment"),
    "Handoffs": lambda log: jm.handoffs(log, team="role", by="segment", lost="Closed lost"),
    "Positions": lambda log: jm.positions(log, by="segment", ended=["Closed lost", "Churned"]),
    "Voice": lambda log: jm.voice(log, by="segment", churned="Churned", scores=pd.DataFrame({
        "case": log.cases["case"].iloc[:60], "timestamp": log.cases["end"].iloc[:60], "score": range(60)}).assign(
        score=lambda d: d["score"] % 11)),
    "LifetimeValue": lambda log: jm.lifetime_value(log, by="segment", churned="Churned", n_boot=20, random_state=0),
    "DottedChart": lambda log: jm.dotted_chart(log, by="segment"),
    "Explorer": lambda log: jm.explore(log, by="segment"),
    "OutcomeEvaluation": lambda log: _evaluation(log),
}


def _evaluation(log: jm.JourneyLog) -> jm.OutcomeEvaluation:
    """An outcome model's evaluation whose target is named as markup."""
    m = jm.JourneyOutcomeModel(outcomes={SCRIPT: ["Contract signed"]}, target=SCRIPT, horizon=None,
                               random_state=0).fit(log, at="halfway")
    return m.evaluate(log, at="halfway")


def _hostile_ocel() -> jm.ObjectCentricLog:
    """A one-event object-centric log whose object type and activity are markup."""
    doc = {
        "objectTypes": [{"name": SCRIPT, "attributes": []}],
        "eventTypes": [{"name": BOLD, "attributes": []}],
        "objects": [{"id": "o1", "type": SCRIPT}],
        "events": [{"id": "e1", "type": BOLD, "time": "2024-01-01T00:00:00Z",
                    "relationships": [{"objectId": "o1", "qualifier": SCRIPT}]}],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.jsonocel"
        path.write_text(json.dumps(doc))
        return jm.read_ocel(path)
#: the results that draw themselves, so their bundle holds an SVG
DRAWN = {
    "JourneyMap", "ProcessModel", "SubwayMap", "BuyingCommittee", "Funnel", "Retention", "DottedChart", "JourneyPaths",
    "RevenueJourney", "Handoffs", "OutcomeEvaluation",
}
#: public classes that are not results: the log and its parts, estimators, values, errors
NOT_RESULTS = {
    "ColumnMapping", "JourneyLog", "TimeSpan", "JourneyClusterer", "JourneyOutcomeModel", "SubwayLine",
    "Column", "EventSpec", "IdMap", "Lookup",  # the declarations of from_tables
    "Period",  # a by= value (jm.period)
}


@pytest.fixture(scope="module")
def hostile() -> jm.JourneyLog:
    """The demo log with a cohort and an activity named as markup."""
    frame = jm.datasets.demo_b2b(n_accounts=300, random_state=0, as_frame=True)
    frame["segment"] = frame["segment"].replace({"SMB": BOLD, "Enterprise": SCRIPT})
    frame["touchpoint"] = frame["touchpoint"].replace({"Demo": SCRIPT})
    frame["contact_role"] = frame["contact_role"].replace({"Economic buyer": SCRIPT})
    return jm.JourneyLog.from_frame(frame, case="account_id", activity="touchpoint", timestamp="timestamp",
                                    channel="channel", contact="contact_id", role="contact_role",
                                    case_attributes=["segment"])


@pytest.fixture(scope="module")
def results(hostile: jm.JourneyLog) -> dict[str, Any]:
    return {name: build(hostile) for name, build in BUILDERS.items()}


def test_every_public_result_class_is_covered() -> None:
    classes = {name for name in jm.__all__ if inspect.isclass(getattr(jm, name))}
    errors = {name for name in classes if issubclass(getattr(jm, name), BaseException)}
    assert classes - errors - NOT_RESULTS == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_result_contract(name: str, results: dict[str, Any]) -> None:
    result = results[name]
    assert type(result).__name__ == name
    # summary: a read-only property giving a DataFrame
    assert isinstance(inspect.getattr_static(type(result), "summary"), property)
    summary = result.summary
    assert isinstance(summary, pd.DataFrame) and len(summary)
    with pytest.raises(AttributeError):
        result.summary = summary
    before = result.summary.copy(deep=True)
    summary["changed"] = 1  # a copy: the result keeps its own, values included
    summary.iloc[0, 0] = -1 if pd.api.types.is_numeric_dtype(summary.dtypes.iloc[0]) else "changed"
    assert "changed" not in result.summary.columns
    pd.testing.assert_frame_equal(result.summary, before)
    # exports
    assert isinstance(result.to_dataframe(), pd.DataFrame)
    payload = result.to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    # display: one bundle, text always, HTML, and SVG for a drawing
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] == repr(result)
    assert bundle["text/html"] == result._repr_html_()
    assert "image/svg+xml" not in bundle  # the HTML holds the drawing: stored once
    assert "<svg" in bundle["text/html"] or name not in DRAWN
    alone = result._repr_mimebundle_(exclude=["text/html"])
    assert ("image/svg+xml" in alone) == (name in DRAWN)
    assert result._repr_mimebundle_(include=["text/plain"]) == {"text/plain": repr(result)}
    assert "text/html" not in result._repr_mimebundle_(exclude=["text/html"])


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_display_escapes_markup_in_names(name: str, results: dict[str, Any]) -> None:
    bundle = results[name]._repr_mimebundle_()
    svg = results[name]._repr_mimebundle_(exclude=["text/html"]).get("image/svg+xml", "")
    for text in (bundle["text/html"], svg):
        assert "<script" not in text.lower() and "<b>SMB" not in text
    assert "&lt;script&gt;" in bundle["text/html"]


def test_cohort_containers_share_one_contract(results: dict[str, Any]) -> None:
    maps, models = results["JourneyMaps"], results["ProcessModels"]
    for container, one in ((maps, "JourneyMap"), (models, "ProcessModel")):
        assert list(container.summary["cohort"]) == list(container)
        first = next(iter(container))
        row = container[first].summary
        assert list(row.columns) == list(container.summary.columns) and row["cohort"].iloc[0] == first
        assert container.by == "segment" and container.to_dict()["by"] == "segment"
        assert container.excluded == {}
        with pytest.raises(AttributeError, match="immutable"):
            container.x = 1
        assert type(container[first]).__name__ == one
    assert results["JourneyMap"].summary["cohort"].iloc[0] == "(all)"


# -- by= is resolved once ---------------------------------------------------------------------


class _Counted:
    """A ``by`` function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.__name__ = "segment_of"

    def __call__(self, cases: pd.DataFrame) -> pd.Series:
        self.calls += 1
        return cases["segment"]


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=300, random_state=0)


def test_a_by_function_is_called_once_per_public_call(demo: jm.JourneyLog) -> None:
    by = _Counted()
    maps = jm.journey_map(demo, by=by)
    assert by.calls == 1
    simpler = maps.simplify(activities=0.5, paths=0.5)  # recomputes each cohort's map
    jm.subway_map(simpler)
    jm.subway_map(simpler["SMB"])
    assert by.calls == 1  # the results carry the cohorts, not the recipe
    assert maps.by == simpler.by == "<function segment_of>"
    for call in (
        lambda: jm.compare_cohorts(demo, by=by, n_permutations=9, random_state=0),
        lambda: jm.kpis(demo, outcomes=OUT, by=by),
        lambda: jm.stage_durations(demo, by=by),
        lambda: jm.discover_process_model(demo, by=by, miner="heuristics"),
    ):
        by.calls = 0
        call()
        assert by.calls == 1


def test_simplified_cohort_maps_match_a_map_of_the_cohort(demo: jm.JourneyLog) -> None:
    maps = jm.journey_map(demo, by=_Counted())
    alone = jm.journey_map(demo.filter_cases(segment="SMB"))
    a = maps["SMB"].simplify(activities=0.5)
    b = alone.simplify(activities=0.5)
    pd.testing.assert_frame_equal(a.edges, b.edges)
    assert jm.subway_map(maps["SMB"]).svg == jm.subway_map(alone).svg


# -- overloads: mypy checks these lines --------------------------------------------------------


def test_overloads_follow_by(demo: jm.JourneyLog) -> None:
    one = assert_type(jm.journey_map(demo), jm.JourneyMap)
    many = assert_type(jm.journey_map(demo, by="segment"), jm.JourneyMaps)
    assert isinstance(one, jm.JourneyMap) and isinstance(many, jm.JourneyMaps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's own deprecation notices, if any
        model = assert_type(jm.discover_process_model(demo, miner="heuristics"), jm.ProcessModel)
        models = assert_type(jm.discover_process_model(demo, miner="heuristics", by="segment"), jm.ProcessModels)
    assert isinstance(model, jm.ProcessModel) and isinstance(models, jm.ProcessModels)
    summary = assert_type(many.summary, pd.DataFrame)
    assert list(summary["cohort"]) == list(many)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_results_survive_copy_and_pickle(name: str, results: dict[str, Any]) -> None:
    import copy
    import pickle

    result = results[name]
    for twin in (copy.copy(result), copy.deepcopy(result), pickle.loads(pickle.dumps(result))):
        assert type(twin) is type(result)
        pd.testing.assert_frame_equal(twin.summary, result.summary)
        assert twin.to_dict() == result.to_dict()


def test_cohorts_refuse_another_log(demo: jm.JourneyLog) -> None:
    from journeymine._cohorts import resolve

    cohorts = resolve(demo, "segment")
    assert resolve(demo, cohorts) is cohorts
    frame = jm.datasets.demo_b2b(n_accounts=300, random_state=0, as_frame=True)
    renamed = jm.JourneyLog.from_frame(  # as many cases, other ids
        frame.assign(account_id="x" + frame["account_id"].astype(str)), case="account_id",
        activity="touchpoint", timestamp="timestamp", case_attributes=["segment"],
    )
    assert renamed.n_cases == demo.n_cases
    for other in (renamed, demo.filter_cases(segment="SMB")):
        with pytest.raises(jm.InvalidParameterError, match=r"resolved on another log"):
            jm.journey_map(other, by=cohorts)
