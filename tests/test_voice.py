"""Voice of the customer: placement of responses on the journey, bands and NPS, churn by
band, pain points, responses from a frame, bad input."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

import journeymine as jm

ROWS = [
    # case, activity, time, nps, stage
    ("A", "Onboarding", "2024-01-01", None, "retention"),
    ("A", "Survey", "2024-01-10", 10, "retention"),  # station Onboarding: promoter
    ("A", "QBR", "2024-02-01", None, "retention"),
    ("A", "Survey", "2024-02-05", 9, "retention"),  # station QBR: promoter
    ("B", "Onboarding", "2024-01-01", None, "retention"),
    ("B", "Survey", "2024-01-15", 3, "retention"),  # station Onboarding: detractor
    ("B", "Churned", "2024-03-01", None, "retention"),
    ("C", "Onboarding", "2024-01-01", None, "retention"),
    ("C", "Survey", "2024-01-20", 7, "retention"),  # passive
    ("C", "QBR", "2024-06-01", None, "retention"),
    ("C", "Survey", "2024-06-02", 12, "retention"),  # outside 0-10: set aside
]


def _log() -> jm.JourneyLog:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "nps", "stage"])
    return jm.JourneyLog.from_frame(
        df, case="case", activity="activity", timestamp="time", stage="stage", event_attributes=["nps"]
    )


def _voice(**kw: object) -> jm.Voice:
    with pytest.warns(jm.DataQualityWarning, match="1 response set aside \\(1 outside the scale 0-10\\)"):
        return jm.voice(_log(), score="nps", **kw)  # type: ignore[arg-type]


def test_responses_are_placed_after_the_last_journey_event() -> None:
    v = _voice(churned="Churned")
    r = v.responses
    assert r["station"].tolist() == ["Onboarding", "QBR", "Onboarding", "Onboarding"]
    assert r["band"].tolist() == ["promoter", "promoter", "detractor", "passive"]
    assert v.problems[["case", "given", "reason"]].values.tolist() == [["C", "12.0", "outside the scale 0-10"]]
    st = v.by_station().set_index("station")
    assert st.loc["Onboarding", "responses"] == 3 and st.loc["Onboarding", "mean_score"] == pytest.approx(
        20 / 3
    )
    assert st.loc["Onboarding", "nps"] == pytest.approx(100 * (1 / 3 - 1 / 3))
    assert v.by_cohort().iloc[0]["nps"] == pytest.approx(100 * (2 / 4 - 1 / 4))
    assert repr(v) == "<Voice: 4 responses from 3 accounts, scale nps, NPS +25>"


def test_churn_by_the_band_of_the_first_response() -> None:
    c = _voice(churned="Churned").churn_by_band.set_index("band")
    assert c["accounts"].tolist() == [1, 1, 1] and c["churned"].tolist() == [1, 0, 0]
    assert c.loc["detractor", "churn_12m"] == pytest.approx(1.0)
    assert c.loc["promoter", "churn_12m"] == pytest.approx(0.0)
    assert math.isnan(_voice().logrank_p)  # without churn activities there is no test


def test_pain_points_rank_low_scores_drop_off_rework_and_dwell() -> None:
    p = _voice(churned="Churned", min_responses=1).pain_points.set_index("station")
    # Churned: every account that reaches it ends there (drop-off 1)
    assert p.loc["Churned", "drop_off"] == 1.0
    assert p.loc["Onboarding", "accounts"] == 3 and p.loc["Onboarding", "responses"] == 3
    assert p.loc["QBR", "mean_score"] == 9.0
    assert list(p["rank"]) == sorted(p["rank"])  # ranked
    assert p["pain"].is_monotonic_increasing


def test_scores_from_a_frame_by_contact_or_case() -> None:
    df = pd.DataFrame(
        {
            "case": ["A", "A", "B"],
            "activity": ["Onboarding", "QBR", "Onboarding"],
            "time": ["2024-01-01", "2024-02-01", "2024-01-01"],
            "who": ["a1", "a2", "b1"],
        }
    )
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", contact="who")
    scores = pd.DataFrame(
        {
            "contact": ["a1", "b1", "zz"],
            "timestamp": ["2024-01-05", "2024-01-02", "2024-01-02"],
            "score": [4, 5, 3],
        }
    )
    with pytest.warns(jm.DataQualityWarning, match="unknown account"):
        v = jm.voice(log, scores=scores, scale="csat")
    r = v.responses
    assert r["case"].tolist() == ["A", "B"] and r["band"].tolist() == ["satisfied", "satisfied"]
    assert v.problems["row"].tolist() == [2]
    by_case = pd.DataFrame({"case": ["A"], "timestamp": ["2024-03-01"], "score": [1.5]})
    v2 = jm.voice(log, scores=by_case, scale=(1, 4))
    early = jm.voice(log, scores=by_case.assign(timestamp="2023-06-01"), scale=(1, 4))
    assert early.responses[["station", "stage"]].values.tolist() == [["(before the journey)"] * 2]
    assert v2.responses["station"].tolist() == ["QBR"] and v2.responses["band"].tolist() == ["low"]


def test_bad_input() -> None:
    log = _log()
    with pytest.raises(jm.InvalidParameterError, match="one of the two"):
        jm.voice(log)
    with pytest.raises(jm.InvalidParameterError, match="scale"):
        jm.voice(log, score="nps", scale="stars")
    with pytest.raises(jm.SchemaError, match="event_attributes=\\['csat'\\]"):
        jm.voice(log, score="csat")
    with pytest.raises(jm.SchemaError, match="missing \\['score'\\]"):
        jm.voice(log, scores=pd.DataFrame({"case": ["A"], "timestamp": ["2024-01-01"]}))
    with pytest.raises(jm.InvalidParameterError, match="churned"):
        jm.voice(log, score="nps", churned="Gone")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        with pytest.raises(jm.SchemaError, match="no usable response"):
            jm.voice(log, score="nps", scale=(20, 30))


def test_the_demo_plants_promoters_renewing_more() -> None:
    log = jm.datasets.demo_b2b(1_500, random_state=4, version=2)
    v = jm.voice(log, score="nps", churned="Churned", success=["Contract signed", "Renewal"], by="segment",
                 renewal="Renewal")
    c = v.churn_by_band.set_index("band")
    assert c.loc["detractor", "churn_12m_low"] > c.loc["promoter", "churn_12m_high"]
    assert c.loc["promoter", "renewal_12m"] > c.loc["detractor", "renewal_12m"] + 0.1  # and renew more
    assert v.logrank_p < 1e-6
    assert set(v.by_cohort()["cohort"]) == {"Enterprise", "Mid-market", "SMB"}
    assert "<table" in v._repr_html_() and v.to_dict()["scale"] == "nps"


def test_the_voice_on_the_subway_map() -> None:
    log = jm.datasets.demo_b2b(1_000, random_state=0, version=2)
    v = jm.voice(log, score="nps", churned="Churned")
    sm = jm.subway_map(jm.journey_map(log, by="segment"), scores=v)
    svg = sm.svg
    assert "Voice (NPS after the station)" in svg and 'class="channel"' in svg
    tips = [t for t in svg.split("<title>") if "responses after it" in t]
    assert tips and all("NPS " in t for t in tips)
    assert sm.audit().empty
    with pytest.raises(jm.InvalidParameterError, match="channels"):
        jm.subway_map(log, scores=v, channels=True)
    with pytest.raises(jm.InvalidParameterError, match="voice"):
        jm.subway_map(log, scores=v.by_station())


def test_exit_scores_on_churn_events_and_churn_at_the_response() -> None:
    rows = []
    for i in range(6):
        rows += [(f"d{i}", "Signed", "2024-01-01", None, "retention"),
                 (f"d{i}", "Churned", "2024-03-01 12:00", 2, "retention")]   # the exit score on the churn
    for i in range(6):
        rows += [(f"p{i}", "Signed", "2024-01-01", None, "retention"),
                 (f"p{i}", "Survey", "2024-02-01", 10, "retention"),
                 (f"p{i}", "QBR", "2024-09-01", None, "retention")]
    df = pd.DataFrame(rows, columns=["case", "activity", "time", "nps", "stage"])
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", stage="stage",
                                   event_attributes=["nps"])
    v = jm.voice(log, score="nps", churned="Churned")
    c = v.churn_by_band.set_index("band")
    assert c.loc["detractor", "churned"] == 6 and c.loc["detractor", "churn_12m"] == pytest.approx(1.0)
    assert c.loc["promoter", "churned"] == 0 and v.logrank_p < 0.01
    assert set(v.responses[v.responses["band"] == "detractor"]["station"]) == {"Signed"}


def test_scores_after_the_log_end_are_kept_and_censored_at_once() -> None:
    log = _log()
    late = pd.DataFrame({"case": ["A", "B"], "timestamp": ["2024-02-01", "2030-01-01"], "score": [8, 9]})
    v = jm.voice(log, scores=late, churned="Churned")
    assert v.responses["case"].tolist() == ["A", "B"]
    assert (v.churn_by_band["churn_12m"].dropna() >= 0).all()
