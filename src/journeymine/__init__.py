"""journeymine: process mining for B2B customer journeys.

Read an event log once into a validated :class:`JourneyLog`, then discover, compare and
measure the journeys in it.

>>> import journeymine as jm
>>> log = jm.datasets.demo_b2b(n_accounts=100, random_state=0)
>>> log.n_cases
100
"""

from __future__ import annotations

from . import datasets, errors
from ._acquisition import AcquisitionCost, acquisition_cost
from ._attribution import Attribution, attribution
from ._clustering import JourneyClusterer
from ._cohorts import Period, period
from ._committee import BuyingCommittee, buying_committee
from ._compare import CohortComparison, compare_cohorts
from ._dotted import DottedChart, dotted_chart
from ._explore import Explorer, explore
from ._export import write_csv
from ._funnel import Funnel, funnel
from ._handoffs import Handoffs, handoffs
from ._io import read_csv, read_parquet, read_xes, write_xes
from ._journeymap import JourneyMap, JourneyMaps, journey_map
from ._kpis import JourneyKPIs, kpis
from ._lifetime import LifetimeValue, lifetime_value, value_at_risk
from ._log import JourneyLog, TimeSpan
from ._mapping import ColumnMapping
from ._models import ProcessModel, ProcessModels, discover_process_model
from ._ocel import Flattening, ObjectCentricLog, read_ocel, write_ocel
from ._outcome_model import JourneyOutcomeModel, OutcomeEvaluation
from ._outcomes import by_outcome
from ._paths import JourneyPaths, paths
from ._positions import Positions, positions
from ._report import report
from ._retention import Retention, retention
from ._revenue import RevenueJourney, revenue
from ._sql import read_sql
from ._stages import StageDurations, stage_durations
from ._subway import SubwayLine, SubwayMap, subway_map
from ._tables import Column, EventSpec, IdMap, Lookup, concat, from_tables
from ._touchmix import TouchMix, touch_mix
from ._variants import variants
from ._version import __version__
from ._voice import Voice, voice
from .errors import (
    DatabaseError,
    DataQualityError,
    DataQualityWarning,
    EmptyLogError,
    FileFormatError,
    InvalidParameterError,
    JourneymineError,
    JourneymineWarning,
    MissingDependencyError,
    NotFittedError,
    SchemaError,
    UnsupportedOperationError,
)

__all__ = [
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
