"""Process models: discovery per cohort, scores, safe drawing, stable export, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import journeymine as jm
from journeymine._models import (
    ALIGNMENTS_MAX_VARIANTS,
    ProcessModel,
    ProcessModels,
    discover_process_model,
)

pytest.importorskip("pm4py")

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = 'a"];x->y['


@pytest.fixture(scope="module")
def demo300() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=300, random_state=0)


@pytest.fixture(scope="module")
def demo200() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=200, random_state=0)


@pytest.fixture(scope="module")
def hostile() -> jm.JourneyLog:
    """Three small journeys whose activity and segment names are markup and DOT syntax."""
    rows = [
        ("1", SCRIPT, "<b>x</b>"), ("1", BREAKOUT, "<b>x</b>"), ("1", "back\\slash", "<b>x</b>"),
        ("2", SCRIPT, "<b>x</b>"), ("2", BREAKOUT, "<b>x</b>"),
        ("3", SCRIPT, "plain"), ("3", "back\\slash", "plain"), ("3", BREAKOUT, "plain"),
    ]
    df = pd.DataFrame(rows, columns=["c", "a", "seg"])
    df["t"] = pd.date_range("2024-01-01", periods=len(df), freq="D")
    return jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t", case_attributes=["seg"])


@pytest.fixture(scope="module")
def small_model(hostile: jm.JourneyLog) -> ProcessModel:
    return discover_process_model(hostile, noise=0.0)


# -- discovery and scores ------------------------------------------------------------------
def test_inductive_noise_zero_fits_every_journey(demo300: jm.JourneyLog) -> None:
    model = discover_process_model(demo300, miner="inductive", noise=0.0)
    assert isinstance(model, ProcessModel)
    assert (model.n_cases, model.n_events) == (demo300.n_cases, demo300.n_events)
    assert model.cohort is None and model.process_tree is not None
    assert set(model.activities) == set(demo300.activities)
    fit = model.fitness(method="token")
    # the inductive miner without noise filtering guarantees a model that replays the log
    assert fit["method"] == "token"
    assert fit["fitness"] == pytest.approx(1.0, abs=1e-12)
    assert fit["percentage_of_fitting_traces"] == pytest.approx(100.0)
    # the log has many variants, so "auto" picks token replay (and reuses the result)
    assert model.n_variants > ALIGNMENTS_MAX_VARIANTS
    assert model.fitness() == fit


def test_heuristics_builds_and_scores_in_unit_interval(demo200: jm.JourneyLog) -> None:
    model = discover_process_model(demo200, miner="heuristics", noise=0.5)
    assert model.miner == "heuristics" and model.process_tree is None
    assert model.to_dict()["parameters"] == {"dependency_threshold": 0.5}
    s = model.scores()
    assert s["method"] == "token"
    assert 0.0 <= s["fitness"] <= 1.0
    assert 0.0 <= s["percentage_of_fitting_traces"] <= 100.0
    assert 0.0 <= s["precision"] <= 1.0


def test_small_log_is_scored_with_alignments(small_model: ProcessModel) -> None:
    assert small_model.n_variants <= ALIGNMENTS_MAX_VARIANTS
    fit = small_model.fitness()
    assert fit["method"] == "alignments"
    assert fit["fitness"] == pytest.approx(1.0)
    assert small_model.fitness(method="token")["fitness"] == pytest.approx(1.0)
    assert 0.0 < small_model.precision() <= 1.0
    assert small_model.scores()["method"] == "alignments"


def test_scoring_against_another_log(demo200: jm.JourneyLog) -> None:
    model = discover_process_model(demo200, noise=0.2)
    later = jm.datasets.demo_b2b(n_accounts=40, random_state=1)
    fit = model.fitness(later, method="token")
    assert 0.0 < fit["fitness"] <= 1.0
    assert 0.0 < model.precision(later, method="token") <= 1.0
    with pytest.raises(jm.InvalidParameterError, match=r"The 'log' parameter of ProcessModel\.fitness "
                       r"must be a JourneyLog or None .*Got 'DataFrame'\."):
        model.fitness(later.events)  # type: ignore[arg-type]


def test_cohorts_one_model_each_with_scores(demo200: jm.JourneyLog) -> None:
    models = discover_process_model(demo200, by="segment", noise=0.2)
    assert isinstance(models, ProcessModels)
    sizes = demo200.cases["segment"].value_counts()
    assert list(models) == list(sizes.index)  # largest cohort first
    for key, model in models.items():
        assert model.cohort == key and model.n_cases == sizes[key]
    scores = models.scores()
    assert list(scores["cohort"]) == list(models)
    assert list(scores.columns[:5]) == ["cohort", "n_cases", "n_variants", "method", "fitness"]
    assert scores["n_cases"].sum() == demo200.n_cases
    assert scores["fitness"].between(0.9, 1.0).all()
    assert scores["precision"].between(0.0, 1.0, inclusive="right").all()
    assert set(scores["method"]) == {"token"}
    assert len(models.summary) == len(models) == len(models.to_dict()["models"])
    assert set(models.to_dataframe()["cohort"]) == set(models)
    with pytest.raises(KeyError, match="No model for cohort 'Startup'"):
        models["Startup"]
    with pytest.raises(AttributeError, match="immutable"):
        models.noise = 0.5  # type: ignore[misc]


def test_min_cases_leaves_small_cohorts_out(demo200: jm.JourneyLog) -> None:
    smallest = demo200.cases["segment"].value_counts()
    cut = int(smallest.iloc[-1]) + 1
    with pytest.warns(jm.JourneymineWarning, match=f"fewer than min_cases={cut}"):
        models = discover_process_model(demo200, by="segment", min_cases=cut, miner="heuristics")
    assert models.excluded == {smallest.index[-1]: int(smallest.iloc[-1])}
    assert smallest.index[-1] not in models and len(models) == len(smallest) - 1
    assert "fewer cases than min_cases" in models._repr_html_()


def test_callable_by_is_called_once(demo200: jm.JourneyLog) -> None:
    calls = []

    def big_deal(cases: pd.DataFrame) -> pd.Series:
        calls.append(1)
        return cases["segment"].eq("Enterprise").map({True: "enterprise", False: "other"})

    models = discover_process_model(demo200, by=big_deal, miner="heuristics")
    assert len(calls) == 1
    assert set(models) == {"enterprise", "other"}
    assert models.to_dict()["by"] == "<function big_deal>"


# -- options and errors --------------------------------------------------------------------
@pytest.mark.parametrize("miner", ["alpha", "Inductive", None, 1])
def test_bad_miner_gives_the_standard_message(hostile: jm.JourneyLog, miner: object) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"^The 'miner' parameter of discover_process_model "
                       r"must be one of \{'heuristics', 'inductive'\}\. Got "):
        discover_process_model(hostile, miner=miner)  # type: ignore[call-overload]


@pytest.mark.parametrize("noise", [-0.1, 1.5, float("nan"), "0.2", True, None])
def test_bad_noise_gives_the_standard_message(hostile: jm.JourneyLog, noise: object) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"^The 'noise' parameter of discover_process_model "
                       r"must be a float in \[0, 1\]\. Got .*\.$"):
        discover_process_model(hostile, noise=noise)  # type: ignore[call-overload]


def test_noise_bounds_and_ints_are_accepted(hostile: jm.JourneyLog) -> None:
    assert discover_process_model(hostile, noise=1).noise == 1.0
    assert discover_process_model(hostile, noise=0, miner="heuristics").noise == 0.0


def test_other_bad_options(small_model: ProcessModel, hostile: jm.JourneyLog) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"The 'min_cases' parameter of discover_process_model "
                       r"must be an int >= 1\. Got 0\."):
        discover_process_model(hostile, by="seg", min_cases=0)
    with pytest.raises(jm.InvalidParameterError, match=r"The 'method' parameter of ProcessModel\.fitness must "
                       r"be one of \{'alignments', 'auto', 'token'\}\. Got 'exact'\."):
        small_model.fitness(method="exact")  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"'method' parameter of ProcessModel\.precision"):
        small_model.precision(method="tbr")  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"The 'log' parameter of discover_process_model must "
                       r"be a JourneyLog\. Got 'DataFrame'\."):
        discover_process_model(hostile.events)  # type: ignore[call-overload]


def test_unknown_by_attribute_is_a_schema_error(demo200: jm.JourneyLog) -> None:
    with pytest.raises(jm.SchemaError, match=r"'industry' is not a case attribute of this log\. "
                       r"Case attributes: 'segment', 'product', 'market'"):
        discover_process_model(demo200, by="industry")


def test_missing_pm4py_names_the_extra(hostile: jm.JourneyLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pm4py", None)  # makes `import pm4py` fail
    with pytest.raises(jm.MissingDependencyError,
                       match=r"discover_process_model needs pm4py.*pip install 'journeymine\[pm4py\]'"):
        discover_process_model(hostile)


def test_importing_journeymine_does_not_import_pm4py() -> None:
    code = "import sys, journeymine, journeymine._models; print('pm4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- drawing and export --------------------------------------------------------------------
def test_labels_are_escaped_in_dot_and_svg(small_model: ProcessModel) -> None:
    dot = small_model.to_dot()
    assert '"a\\"];x->y["' in dot and '"back\\\\slash"' in dot
    svg = small_model._repr_svg_()
    assert svg is not None and svg.startswith("<svg")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "<script" not in svg.lower()
    assert "a&quot;];x&#45;&gt;y[" in svg
    # the activity names added no node or edge: exactly the net's arcs are drawn
    assert svg.count('class="edge"') == len(small_model.to_dict()["arcs"])
    assert svg.count('class="node"') == small_model.n_places + small_model.n_transitions


def test_cohort_headings_are_escaped(hostile: jm.JourneyLog) -> None:
    models = discover_process_model(hostile, by="seg", noise=0.0)
    page = models._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "<script" not in page.lower()
    assert repr(models).startswith("<ProcessModels inductive (noise=0.0) by 'seg': 2 cohorts, 3 cases;")


def test_to_dict_is_json_and_matches_the_net(demo200: jm.JourneyLog) -> None:
    model = discover_process_model(demo200, miner="heuristics")
    d = model.to_dict()
    back = json.loads(json.dumps(d))
    assert back == d
    net = model.net
    assert d["n_places"] == len(net.places) == len(d["places"])
    assert d["n_transitions"] == len(net.transitions) == len(d["transitions"])
    assert d["n_arcs"] == len(net.arcs) == len(d["arcs"])
    labels = Counter(t["label"] for t in d["transitions"] if not t["silent"])
    assert labels == Counter(t.label for t in net.transitions if t.label is not None)
    places = {p["id"] for p in d["places"]}
    transitions = {t["id"] for t in d["transitions"]}
    for arc in d["arcs"]:  # a Petri net is bipartite
        assert (arc["source"] in places) != (arc["source"] in transitions)
        assert (arc["source"] in places) == (arc["target"] in transitions)
    assert sum(d["initial_marking"].values()) == 1 and sum(d["final_marking"].values()) == 1
    assert len(model.to_dataframe()) == d["n_arcs"]
    assert repr(model) == (f"<ProcessModel heuristics (noise=0.2): {d['n_transitions']} transitions "
                           f"({d['n_silent']} silent), {d['n_places']} places, 200 cases>")


def test_export_is_deterministic(demo200: jm.JourneyLog) -> None:
    a = discover_process_model(demo200, noise=0.2)
    b = discover_process_model(demo200, noise=0.2)
    assert a.to_dict() == b.to_dict()
    assert a.to_dot() == b.to_dot()
    # pm4py names the inductive miner's transitions with random UUIDs; ours do not depend on them
    assert {t.name for t in a.net.transitions} != {t.name for t in b.net.transitions}


def test_export_is_the_same_in_another_process(demo200: jm.JourneyLog) -> None:
    code = (
        "import json, journeymine as jm\n"
        "from journeymine._models import discover_process_model\n"
        "log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)\n"
        "print(json.dumps(discover_process_model(log, noise=0.2).to_dict(), sort_keys=True))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    here = discover_process_model(demo200, noise=0.2).to_dict()
    assert json.loads(out.stdout) == here


def test_save_by_suffix(small_model: ProcessModel, tmp_path: Path) -> None:
    svg = small_model.save(tmp_path / "model.svg")
    assert svg.read_text(encoding="utf-8").startswith("<svg")
    assert small_model.save(tmp_path / "model.dot").read_text(encoding="utf-8") == small_model.to_dot()
    assert small_model.save(tmp_path / "model.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(jm.InvalidParameterError, match=r"The 'path' parameter of ProcessModel\.save must be "
                       r"a file name ending in \.svg, \.png, \.pdf, \.dot or \.gv\. Got '.*model\.jpg'\."):
        small_model.save(tmp_path / "model.jpg")


# -- a real log ----------------------------------------------------------------------------
@pytest.mark.realdata
def test_receipt_log_inductive(shared_data: Path) -> None:
    log = jm.read_xes(shared_data / "receipt.xes.gz")
    model = discover_process_model(log, miner="inductive", noise=0.2)
    s = model.scores()
    assert s["method"] == "token"  # over a hundred variants: alignments would be slow
    assert s["fitness"] > 0.9
    assert 0.0 < s["precision"] <= 1.0


def test_alignments_need_a_net_that_can_finish() -> None:
    # a heuristics net with a high threshold on a few journeys: no path to the final marking
    log = jm.datasets.demo_b2b(n_accounts=15, random_state=0)
    model = discover_process_model(log, miner="heuristics", noise=0.8)
    assert model.n_variants <= ALIGNMENTS_MAX_VARIANTS
    assert model.fitness()["method"] == "token"  # "auto" falls back to token replay
    assert 0.0 <= model.precision() <= 1.0
    with pytest.raises(jm.InvalidParameterError, match=r"The 'method' parameter of ProcessModel\.fitness must "
                       r"be 'token' or 'auto' for this net: it has no path from its initial to its final "
                       r"marking, which alignments need\. Got 'alignments'\."):
        model.fitness(method="alignments")
