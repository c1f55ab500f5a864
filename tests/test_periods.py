"""Period cohorts (jm.period, by="first_touch_quarter"): drift over time, empty periods kept."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import journeymine as jm

#: accounts starting in 2024-Q1, Q1, Q3 (Q2 empty) and 2025-Q1
EVENTS = [
    ("A", "a", "2024-01-05"), ("A", "b", "2024-01-09"), ("A", "c", "2024-05-01"),
    ("B", "a", "2024-03-31T23:59:59"), ("B", "b", "2024-04-02"),
    ("C", "a", "2024-08-15"), ("C", "c", "2024-08-20"),
    ("D", "b", "2025-02-01"), ("D", "a", "2025-02-03"),
]


def _log(events=EVENTS, **attrs):
    frame = pd.DataFrame(events, columns=["case", "activity", "timestamp"])
    for k, v in attrs.items():
        frame[k] = frame["case"].map(v)
    return jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="timestamp",
                                    case_attributes=list(attrs))


@pytest.mark.parametrize(
    ("freq", "names"),
    [
        ("Y", ["2024", "2025"]),
        ("Q", ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1"]),
        ("quarter", ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1"]),
        ("M", [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]),
    ],
)
def test_every_period_from_first_to_last(freq, names):
    from journeymine._cohorts import resolve

    c = resolve(_log(), jm.period(freq))
    assert list(c.names) == names and c.in_time
    b = dict(zip(["A", "B", "C", "D"], c.keys, strict=True))["B"]  # 23:59:59 UTC on 31 March
    assert b == {"Y": "2024", "M": "2024-03"}.get(freq, "2024-Q1")


def test_iso_weeks_and_days():
    from journeymine._cohorts import resolve

    log = _log([("A", "a", "2024-12-30"), ("B", "a", "2025-01-06")])
    assert list(resolve(log, jm.period("W")).names) == ["2025-W01", "2025-W02"]  # ISO year of Monday 30 Dec
    assert len(resolve(log, jm.period("D")).names) == 8


def test_journey_maps_keep_time_order_and_show_empty_periods():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = jm.journey_map(_log(), by="first_touch_quarter")
    assert list(maps) == ["2024-Q1", "2024-Q3", "2025-Q1"]
    assert maps.excluded == {"2024-Q2": 0, "2024-Q4": 0}
    assert any("2024-Q2" in str(w.message) for w in caught)
    assert maps.by == "first_touch_quarter"


def test_an_attribute_of_that_name_wins():
    log = _log(first_touch_quarter={"A": "x", "B": "x", "C": "y", "D": "y"})
    assert set(jm.journey_map(log, by="first_touch_quarter")) == {"x", "y"}


def test_last_touch_and_activity_periods():
    from journeymine._cohorts import resolve

    c = resolve(_log(), "last_touch_year")
    assert list(c.keys) == ["2024", "2024", "2024", "2025"]
    c = resolve(_log(), jm.period("Q", of="c"))
    assert list(c.names) == ["(missing)", "2024-Q2", "2024-Q3"]
    assert list(c.keys) == ["2024-Q2", "(missing)", "2024-Q3", "(missing)"]


def test_compare_consecutive_periods():
    log = jm.datasets.demo_b2b(n_accounts=800, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)
        cmp = jm.compare_cohorts(log, by=jm.period("Y"), pairs="consecutive", n_permutations=19, random_state=0)
    assert cmp.comparisons == (("2024", "2023"),)
    assert cmp.by == "first_touch_year"
    d = cmp.differential_map(0)
    assert d.svg.startswith("<svg")


def test_subway_and_kpis_by_period():
    log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    sm = jm.subway_map(jm.journey_map(log, by=jm.period("Y")))
    assert [ln.name for ln in sm.lines] == ["2023", "2024"]
    k = jm.kpis(log, outcomes=jm.datasets.DEMO_OUTCOMES, by=jm.period("Y"))
    assert list(dict.fromkeys(k.table["cohort"])) == ["2023", "2024"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"freq": "fortnight"}, "freq"), ({"freq": 3}, "freq"), ({"freq": "Q", "of": ""}, "of")],
)
def test_bad_period(kw, match):
    with pytest.raises(jm.InvalidParameterError, match=match):
        jm.period(**kw)


def test_unknown_activity_period():
    with pytest.raises(jm.InvalidParameterError, match="did you mean 'c'"):
        jm.journey_map(_log(), by=jm.period("Q", of="cc"))


def test_repr_and_equality():
    assert repr(jm.period("Q")) == "jm.period('Q')"
    assert jm.period("quarter") == jm.period("Q") and hash(jm.period("Q")) == hash(jm.period("Q"))
    assert jm.period("M", of="Contract signed").name == "month of first Contract signed"


def test_consecutive_pairs_of_non_period_cohorts_are_in_name_order():
    log = jm.datasets.demo_b2b(n_accounts=400, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)
        cmp = jm.compare_cohorts(log, by="segment", pairs="consecutive", n_permutations=9, random_state=0)
    assert cmp.comparisons == (("Mid-market", "Enterprise"), ("SMB", "Mid-market"))


def test_kpis_show_an_empty_period():
    k = jm.kpis(_log(), outcomes={"won": ["c"]}, by=jm.period("Q"))
    wide = k.to_dataframe(wide=True)
    assert list(dict.fromkeys(k.table["cohort"])) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1"]
    assert wide.loc["2024-Q2", "accounts"] == 0 and wide.loc["2024-Q4", "won"] == 0
    assert wide.loc["2024-Q1", "accounts"] == 2
