"""Pins the public surface, so nothing leaks or disappears by accident."""

from __future__ import annotations

import inspect
import subprocess
import sys

import journeymine as jm

EXPECTED = [
    "AcquisitionCost",
    "Attribution",
    "BuyingCommittee",
    "CohortComparison",
    "Column",
    "ColumnMapping",
    "DataQualityError",
    "DataQualityWarning",
    "DatabaseError",
    "DottedChart",
    "EmptyLogError",
    "EventSpec",
    "Explorer",
    "FileFormatError",
    "Flattening",
    "Funnel",
    "Handoffs",
    "IdMap",
    "InvalidParameterError",
    "JourneyClusterer",
    "JourneyKPIs",
    "JourneyLog",
    "JourneyMap",
    "JourneyMaps",
    "JourneyOutcomeModel",
    "JourneyPaths",
    "JourneymineError",
    "JourneymineWarning",
    "LifetimeValue",
    "Lookup",
    "MissingDependencyError",
    "NotFittedError",
    "ObjectCentricLog",
    "OutcomeEvaluation",
    "Period",
    "Positions",
    "ProcessModel",
    "ProcessModels",
    "Retention",
    "RevenueJourney",
    "SchemaError",
    "StageDurations",
    "SubwayLine",
    "SubwayMap",
    "TimeSpan",
    "TouchMix",
    "UnsupportedOperationError",
    "Voice",
    "__version__",
    "acquisition_cost",
    "attribution",
    "buying_committee",
    "by_outcome",
    "compare_cohorts",
    "concat",
    "datasets",
    "discover_process_model",
    "dotted_chart",
    "errors",
    "explore",
    "from_tables",
    "funnel",
    "handoffs",
    "journey_map",
    "kpis",
    "lifetime_value",
    "paths",
    "period",
    "positions",
    "read_csv",
    "read_ocel",
    "read_parquet",
    "read_sql",
    "read_xes",
    "report",
    "retention",
    "revenue",
    "stage_durations",
    "subway_map",
    "touch_mix",
    "value_at_risk",
    "variants",
    "voice",
    "write_csv",
    "write_ocel",
    "write_xes",
]


def test_all_is_pinned_and_sorted() -> None:
    assert jm.__all__ == EXPECTED
    assert sorted(jm.__all__) == jm.__all__
    for name in jm.__all__:
        assert hasattr(jm, name), name


def test_datasets_surface() -> None:
    assert jm.datasets.__all__ == [
        "DEMO_OUTCOMES", "DEMO_STAGE_ORDER", "PUBLIC_LOGS", "PublicLog", "data_home", "demo_b2b", "demo_spend", "load",
    ]


def test_errors_derive_from_base_and_builtins() -> None:
    for name in jm.errors.__all__:
        cls = getattr(jm.errors, name)
        if name.endswith("Warning"):
            assert issubclass(cls, jm.JourneymineWarning)
        else:
            assert issubclass(cls, jm.JourneymineError)
    assert issubclass(jm.SchemaError, ValueError)
    assert issubclass(jm.MissingDependencyError, ImportError)
    assert issubclass(jm.NotFittedError, AttributeError)


def test_import_does_not_import_pm4py_or_graphviz() -> None:
    code = (
        "import sys, journeymine as jm; log = jm.datasets.demo_b2b(20); log.to_pm4py(); "
        "jm.journey_map(log, by='segment'); jm.variants(log); jm.stage_durations(log); "
        "print(sorted(m for m in ('pm4py', 'graphviz', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_has_an_example() -> None:
    """Every public class and function documents itself with a runnable ``Examples`` section
    (exceptions other than the base JourneymineError are exempt)."""
    missing: list[str] = []
    for prefix, module in (("jm.", jm), ("jm.datasets.", jm.datasets)):
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj is not jm.JourneymineError:
                continue
            doc = inspect.getdoc(obj) or ""
            examples = doc.partition("Examples\n--------")[2]
            if ">>>" not in examples:
                missing.append(prefix + name)
    assert not missing, f"public names without an Examples section with a doctest: {missing}"
