"""jm.retention: hand-computed tiny logs, invariants, bad input, drawing, real logs."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine._cohorts import Cohorts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _ref_retention import check_equal, pandas_retention

from real_logs import LOGS

SCRIPT = "<script>alert(1)</script>"


def _log(rows: list[tuple[str, str, str]], **kw: object) -> jm.JourneyLog:
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts"])
    return jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny() -> jm.JourneyLog:
    """Starts in Jan (A, B), Mar (C), May (D); Feb and Apr start nobody; May is partial."""
    return _log([
        ("A", "x", "2024-01-05"), ("A", "x", "2024-02-10"), ("A", "x", "2024-04-01"),
        ("B", "x", "2024-01-20"), ("B", "x", "2024-03-15"),
        ("C", "x", "2024-03-02"),
        ("D", "x", "2024-05-10"),
    ])  # fmt: skip


def test_classic_matrix_by_hand(tiny: jm.JourneyLog) -> None:
    r = jm.retention(tiny, period="M")
    m = r.matrix()
    assert list(m.index) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]  # empty rows kept
    assert m["accounts"].tolist() == [2, 0, 1, 0, 1]
    assert m.loc["2024-01", [0, 1, 2, 3]].tolist() == [1.0, 0.5, 0.5, 0.5]
    assert math.isnan(m.loc["2024-01", 4])  # May not over: censored, not 0 %
    assert m.loc["2024-03", [0, 1]].tolist() == [1.0, 0.0]  # a real 0 % stays 0 %
    assert math.isnan(m.loc["2024-03", 2]) and math.isnan(m.loc["2024-05", 0])
    counts = r.matrix(counts=True)
    assert counts.loc["2024-05", 0] == 1  # active so far in the partial period
    cells = r.to_dataframe()
    assert list(cells.columns) == [
        "cohort", "start_period", "period_index", "calendar_period", "accounts", "active", "share", "censored"
    ]  # fmt: skip
    censored = cells[cells["censored"]]
    assert set(censored["calendar_period"]) == {"2024-05"}
    assert censored["share"].isna().all()
    assert not (cells.loc[~cells["censored"] & (cells["accounts"] > 0), "share"].isna()).any()
    empty = cells[cells["start_period"] == "2024-02"]
    assert (empty["accounts"] == 0).all() and empty["share"].isna().all() and len(empty) == 4


def test_rolling_by_hand(tiny: jm.JourneyLog) -> None:
    m = jm.retention(tiny, retention="rolling").matrix()
    assert m.loc["2024-01", [0, 1, 2, 3]].tolist() == [1.0, 1.0, 1.0, 0.5]
    assert m.loc["2024-03", [0, 1]].tolist() == [1.0, 0.0]


def test_lifecycle_by_hand(tiny: jm.JourneyLog) -> None:
    life = jm.retention(tiny, kind="lifecycle").lifecycle().set_index("calendar_period")
    cols = ["active", "new", "returning", "resurrecting", "dormant"]
    assert life.loc["2024-01", cols].tolist() == [2, 2, 0, 0, 0]
    assert life.loc["2024-02", cols].tolist() == [1, 0, 1, 0, 1]
    assert life.loc["2024-03", cols].tolist() == [2, 1, 0, 1, 1]
    assert life.loc["2024-04", cols].tolist() == [1, 0, 0, 1, 2]
    assert life.loc["2024-05", cols].tolist() == [1, 1, 0, 0, 1]
    assert life["partial"].tolist() == [False, False, False, False, True]


def test_curves_and_summary_weight_uncensored_rows(tiny: jm.JourneyLog) -> None:
    r = jm.retention(tiny)
    cur = r.curves().set_index("period_index")
    # index 1: Jan row (1 of 2) and Mar row (0 of 1) are over; May row is not reached
    assert cur.loc[1, ["at_risk", "active"]].tolist() == [3, 1]
    assert cur.loc[0, "at_risk"] == 3  # the May row's period 0 is censored
    s = r.summary.iloc[0]
    assert s["accounts"] == 4 and s["without_start"] == 0 and s["empty_start_periods"] == 2
    assert s["retention_1"] == pytest.approx(1 / 3) and s["at_risk_1"] == 3
    assert s["at_risk_12"] == 0 and math.isnan(s["retention_12"])


@pytest.fixture(scope="module")
def signed() -> jm.JourneyLog:
    return _log([
        ("A", "Visit", "2024-01-03"), ("A", "Signed", "2024-02-01"), ("A", "Use", "2024-03-05"),
        ("A", "Visit", "2024-04-02"),
        ("B", "Visit", "2024-01-10"), ("B", "Use", "2024-02-03"),
        ("C", "Signed", "2024-02-20"), ("C", "Use", "2024-02-25"), ("C", "Use", "2024-04-10"),
    ])  # fmt: skip


def test_start_and_active_filters(signed: jm.JourneyLog) -> None:
    r = jm.retention(signed, start="Signed", active="Use")
    m = r.matrix()
    assert list(m.index) == ["2024-02"] and m.loc["2024-02", "accounts"] == 2
    assert m.loc["2024-02", [0, 1]].tolist() == [0.5, 0.5]  # period 0 below 100 %: Signed is not activity
    assert math.isnan(m.loc["2024-02", 2])
    assert r.summary.loc[0, "without_start"] == 1  # B counted, not silently dropped
    assert "1 account without a start event left out" in r._repr_html_() and "without a start event" in repr(
        r
    )
    # any event counts, but A's January visit comes before its start
    m2 = jm.retention(signed, start=["Signed"]).matrix()
    assert m2.loc["2024-02", [0, 1]].tolist() == [1.0, 0.5]


def test_period_aliases_and_weeks() -> None:
    log = _log([("A", "x", "2024-01-07"), ("A", "x", "2024-01-08"), ("A", "x", "2024-01-22")])
    w = jm.retention(log, period="W-MON").to_dataframe()
    # Sunday 7 Jan is in ISO week 1, Monday 8 Jan starts week 2
    assert w["calendar_period"].tolist() == ["2024-W01", "2024-W02", "2024-W03", "2024-W04"]
    assert w["active"].tolist() == [1, 1, 0, 1] and w["censored"].tolist() == [False, False, False, True]
    assert jm.retention(log, period="monthly").period == "M"
    assert jm.retention(log, period="QS").period == "Q"


def test_end_extends_observation(tiny: jm.JourneyLog) -> None:
    r = jm.retention(tiny, end="2024-06-01")
    cells = r.to_dataframe()
    # May is over by 1 June; June has just begun: its cells exist and are censored
    assert (cells["censored"] == (cells["calendar_period"] == "2024-06")).all()
    assert cells["calendar_period"].max() == "2024-06"
    assert r.matrix().loc["2024-05", 0] == 1.0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"start": "Signd"}, r"'Signed'"),
        ({"active": ["Use", "Usee"]}, r"activity 'Usee' is not in the log"),
        ({"period": "fortnight"}, r"'period' parameter of retention must be one of 'D'"),
        ({"period": 3}, r"'period' parameter"),
        ({"kind": "growth"}, r"'kind' parameter of retention"),
        ({"retention": "unbounded"}, r"'retention' parameter of retention"),
        ({"end": "2024-01-01"}, r"at or after the log's last event"),
        ({"end": "not a date"}, r"'end' parameter"),
        ({"start": []}, r"non-empty list"),
    ],
)
def test_bad_input(signed: jm.JourneyLog, kw: dict[str, object], match: str) -> None:
    with pytest.raises(jm.InvalidParameterError, match=match):
        jm.retention(signed, **kw)  # type: ignore[arg-type]


def test_result_methods_bad_cohort() -> None:
    log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    r = jm.retention(log, by="segment")
    with pytest.raises(jm.InvalidParameterError, match="one of"):
        r.matrix()
    with pytest.raises(jm.InvalidParameterError, match=r"'kind' parameter of Retention\.draw"):
        r.draw(kind="bars")
    assert r.matrix("SMB").shape[0] >= 1


def test_empty_cohort_is_kept(tiny: jm.JourneyLog) -> None:
    cases = tiny.to_polars("cases").get_column("case")
    codes = pl.Series("cohort", [0, 0, 1, 1], dtype=pl.UInt32)
    cohorts = Cohorts(codes=codes, names=("early", "late", "zzz empty"), by="made up", cases=cases)
    r = jm.retention(tiny, by=cohorts)
    assert r.cohorts == ("early", "late", "zzz empty")
    s = r.summary.set_index("cohort")
    assert s.loc["zzz empty", ["accounts", "start_periods"]].tolist() == [0, 0]
    assert r.matrix("zzz empty").empty and r.matrix("zzz empty", counts=True).empty  # no start: no row
    assert r.svg.count('class="panel"') == 3
    assert r.draw(kind="lifecycle").count('class="panel"') == 3
    assert (r.lifecycle().query("cohort == 'zzz empty'")["active"] == 0).all()


def test_each_cohort_has_its_own_rows_and_columns(tiny: jm.JourneyLog) -> None:
    """Rows from the cohort's own first to its own last start, empty ones between kept;
    columns as far as its rows reach; no cell for another cohort's start periods."""
    cases = tiny.to_polars("cases").get_column("case")  # A, B (Jan) | C (Mar), D (May)
    codes = pl.Series("cohort", [0, 0, 1, 1], dtype=pl.UInt32)
    r = jm.retention(tiny, by=Cohorts(codes=codes, names=("early", "late"), by="made up", cases=cases))
    early, late = r.matrix("early"), r.matrix("late")
    assert list(early.index) == ["2024-01"] and list(early.columns) == ["accounts", 0, 1, 2, 3, 4]
    assert early.loc["2024-01"].tolist()[:5] == [2, 1.0, 0.5, 0.5, 0.5]
    assert list(late.index) == ["2024-03", "2024-04", "2024-05"]  # April: empty, kept
    assert late["accounts"].tolist() == [1, 0, 1] and list(late.columns) == ["accounts", 0, 1, 2]
    cells = r.to_dataframe()
    assert len(cells) == 5 + (3 + 2 + 1)  # each row reaches May
    assert cells.groupby("cohort")["start_period"].unique().map(list).to_dict() == {
        "early": ["2024-01"],
        "late": ["2024-03", "2024-04", "2024-05"],
    }
    s = r.summary.set_index("cohort")
    assert s["start_periods"].tolist() == [1, 3] and s["empty_start_periods"].tolist() == [0, 1]
    # the same numbers as the cells of the cohorts' rows without by
    whole = jm.retention(tiny).to_dataframe().set_index(["start_period", "period_index"])
    mine = cells.set_index(["start_period", "period_index"])
    assert (whole.loc[mine.index, "active"].to_numpy() == mine["active"].to_numpy()).all()
    assert r.svg.count('class="panel"') == 2


def test_period_cohorts_stay_sparse() -> None:
    """Daily retention by week of first touch: each weekly cohort has at most 7 start days,
    not every start day of the log (which made 36M cells at 2,000 accounts)."""
    log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    r = jm.retention(log, by=jm.period("W"), period="D")
    cells = r.to_dataframe()
    rows = cells.drop_duplicates(["cohort", "start_period"])
    assert rows.groupby("cohort").size().max() <= 7
    last_day = pd.Timestamp(log.time_span.end).strftime("%Y-%m-%d")
    reach = (pd.Timestamp(last_day) - pd.to_datetime(rows["start_period"])).dt.days + 1
    assert len(cells) == int(reach.sum())  # every row as far as it reaches, nothing more
    assert int(r.summary["accounts"].sum()) == log.n_cases
    assert cells.loc[cells["period_index"] == 0, "active"].sum() == log.n_cases
    # by the same weeks with weekly retention: one start row per (non-empty) cohort
    w = jm.retention(log, by=jm.period("W"), period="W")
    assert (w.summary["start_periods"] == (w.summary["accounts"] > 0)).all()


def test_starts_before_1970_count() -> None:
    """Day and week ordinals before 1970 are negative: still a start, not 'without start'."""
    log = _log([("A", "x", "1969-12-30"), ("A", "x", "1970-01-02"), ("B", "x", "1970-01-01")])
    r = jm.retention(log, period="D")
    assert r.summary.loc[0, ["accounts", "without_start"]].tolist() == [2, 0]
    m = r.matrix(counts=True)
    assert list(m.index) == ["1969-12-30", "1969-12-31", "1970-01-01"]
    assert m.loc["1969-12-30", [0, 3]].tolist() == [1, 1]
    assert jm.retention(log, period="W").summary.loc[0, "accounts"] == 2


def test_not_a_log() -> None:
    frame = pd.DataFrame({"case": ["a"], "activity": ["x"], "ts": ["2024-01-01"]})
    with pytest.raises(
        jm.InvalidParameterError, match=r"'log' parameter of retention.*a JourneyLog.*DataFrame"
    ):
        jm.retention(frame)  # type: ignore[arg-type]


def test_one_call_draws_heatmap_and_lifecycle(tiny: jm.JourneyLog) -> None:
    """The report needs one retention(...) call: draw(kind=...) gives either drawing."""
    r = jm.retention(tiny, period="M")
    life = jm.retention(tiny, period="M", kind="lifecycle")
    assert r.draw(kind="lifecycle") == life.svg and r._caption("lifecycle") == life._caption()
    assert life.draw(kind="retention") == r.svg and life._caption("retention") == r._caption()


def test_svg_escaped_and_deterministic() -> None:
    frame = jm.datasets.demo_b2b(n_accounts=200, random_state=0, as_frame=True)
    frame["segment"] = frame["segment"].replace({"SMB": SCRIPT})
    frame["touchpoint"] = frame["touchpoint"].replace({"Demo": SCRIPT})
    log = jm.JourneyLog.from_frame(
        frame, case="account_id", activity="touchpoint", timestamp="timestamp", case_attributes=["segment"]
    )
    r = jm.retention(log, by="segment", start=SCRIPT, period="Q")
    for svg in (r.svg, r.draw(kind="lifecycle"), r._repr_html_()):
        assert SCRIPT not in svg and "&lt;script&gt;" in svg
    assert r.svg == jm.retention(log, by="segment", start=SCRIPT, period="Q").svg
    assert 'role="img"' in r.svg and "viewBox" in r.svg and "<title>" in r.svg


def test_many_periods_readable() -> None:
    """60 monthly start rows: no text in cells, labels thinned, every cell with a title."""
    frame = pd.DataFrame({
        "case": [f"c{i}" for i in range(60) for _ in range(2)],
        "activity": "x",
        "ts": [t for i in range(60) for t in (pd.Timestamp("2020-01-15") + pd.DateOffset(months=i),
                                                pd.Timestamp("2020-01-15") + pd.DateOffset(months=i + 1))],
    })  # fmt: skip
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts")
    svg = jm.retention(log).svg
    panel = svg.split('<g class="legend">')[0]
    assert "%</text>" not in panel
    # every reached cell has a title with its counts: row r (of 60) reaches 61 - r months
    assert panel.count("</title></rect>") == sum(61 - r for r in range(60))
    assert svg.count(">2020-01<") == 1 and svg.count(">2020-02<") == 0  # thinned row labels


def test_few_rows_reaching_far_are_cut_at_120_columns() -> None:
    """One start day reaching 201 days: the heatmap draws the first 120 and says so."""
    log = _log([("A", "x", "2024-01-01"), ("A", "x", "2024-07-19"), ("B", "x", "2024-01-01")])
    r = jm.retention(log, period="D")
    assert r.matrix().shape == (1, 1 + 201)
    svg = r.svg
    panel = svg.split('<g class="legend">')[0]
    assert panel.count("</title></rect>") == 120
    assert "Only the first 120 days since the start are drawn (81 later ones" in svg


def test_save_png_svg_html(tmp_path: Path, tiny: jm.JourneyLog) -> None:
    r = jm.retention(tiny, kind="lifecycle")
    assert r.save(tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert r.save(tmp_path / "r.svg").read_text().startswith("<svg")
    assert "journeymine-retention" in r.save(tmp_path / "r.html").read_text()
    with pytest.raises(jm.InvalidParameterError, match="suffix"):
        r.save(tmp_path / "r.pdf")


def test_agrees_with_pandas_reference() -> None:
    from journeymine.datasets._demo import generate_demo_events

    events = generate_demo_events(600, random_state=0)
    log = jm.JourneyLog.from_frame(events, case="account_id", activity="touchpoint", timestamp="timestamp")
    for period in ("D", "W", "M", "Q", "Y"):
        check_equal(jm.retention(log, period=period).to_dataframe(), pandas_retention(events, period))


_days = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 200), st.sampled_from(["a", "b", "c"])),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=_days,
    period=st.sampled_from(["D", "W", "M", "Q"]),
    start=st.sampled_from([None, "a"]),
    active=st.sampled_from([None, ["b", "c"]]),
)
def test_invariants(
    rows: list[tuple[int, int, str]], period: str, start: str | None, active: list[str] | None
) -> None:
    base = pd.Timestamp("2024-01-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "case": [f"k{c}" for c, _, _ in rows],
            "activity": [a for _, _, a in rows],
            "ts": [base + pd.Timedelta(hours=6 * d) for _, d, _ in rows],
        }
    ).drop_duplicates()
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts")
    acts = set(log.activities)
    if (start is not None and start not in acts) or (active is not None and not set(active) <= acts):
        with pytest.raises(jm.InvalidParameterError):
            jm.retention(log, period=period, start=start, active=active)
        return
    r = jm.retention(log, period=period, start=start, active=active)
    cells = r.to_dataframe()
    s = r.summary.iloc[0]
    assert s["accounts"] + s["without_start"] == log.n_cases
    assert cells.loc[cells["censored"], "share"].isna().all()
    assert (cells["active"] <= cells["accounts"]).all()
    rolling = jm.retention(log, period=period, start=start, active=active, retention="rolling").to_dataframe()
    assert (rolling["active"].to_numpy() >= cells["active"].to_numpy()).all()
    if active is None:  # the start event is activity: period 0 is full
        zero = cells[(cells["period_index"] == 0) & ~cells["censored"] & (cells["accounts"] > 0)]
        assert (zero["share"] == 1.0).all()
    life = r.lifecycle()
    assert (life["new"] + life["returning"] + life["resurrecting"] == life["active"]).all()
    prev = life["active"].shift(1, fill_value=0)
    assert (life["dormant"] == prev - life["returning"]).all()
    assert life["new"].sum() <= s["accounts"]
    # lifecycle activity equals the retention cells' activity, period by period
    per_cal = cells.groupby("calendar_period")["active"].sum()
    assert per_cal.reindex(life["calendar_period"], fill_value=0).tolist() == life["active"].tolist()


@pytest.mark.parametrize("name", ["sepsis", "receipt", "bpic2012"])
def test_real_logs(shared_data: Path, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log = LOGS[name][0](shared_data)
    r = jm.retention(log, period="M")
    cells = r.to_dataframe()
    assert r.summary.loc[0, "accounts"] == log.n_cases
    assert cells.loc[cells["period_index"] == 0, "active"].sum() == log.n_cases
    assert cells.loc[cells["censored"], "share"].isna().all()
    life = r.lifecycle()
    assert life["new"].sum() == log.n_cases
    assert np.all(life["dormant"].to_numpy() >= 0)
    assert r.svg.startswith("<svg")


def test_centuries_of_weeks_are_refused_before_the_memory_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log spanning 1700-2200 by week made 340 million cells (24 GB, then killed); past
    what the memory limit allows (here 1 GB: 7.2 million cells) the call names the span,
    the cohorts when they are the cause, and the fix."""
    monkeypatch.setenv("JOURNEYMINE_MAX_BYTES", "1G")
    rows = [(f"c{i}", "x", f"{1700 + 20 * i}-03-0{1 + i % 5}") for i in range(26)] + [("c0", "x", "2200-01-01")]
    log = _log(rows, valid_time=("1600-01-01", "2300-01-01"))
    with pytest.raises(jm.InvalidParameterError, match=r"spans 26,\d{3} periods of 'W' .*more than the 7,158,278 .*"
                       r"Pass a longer period \('M' or 'Q' or 'Y'\)"):
        jm.retention(log, period="W")
    with pytest.raises(jm.InvalidParameterError, match=r"periods of 'D' .*filter the log to the years that matter"):
        jm.retention(log, period="D")
    assert jm.retention(log, period="Y").matrix().shape[0] >= 20  # years are fine
    # cohorts as the cause are named (a tiny limit, so that a small log meets it)
    from journeymine import _retention

    monkeypatch.setattr(_retention, "_MIN_CELLS", 40)
    monkeypatch.setenv("JOURNEYMINE_MAX_BYTES", "1K")
    small = _log([(c, "x", f"{y}-06-01") for c in ("a", "b", "c", "d", "e") for y in (2015, 2024)])
    assert jm.retention(small, period="Y").matrix().shape == (1, 11)
    with pytest.raises(jm.InvalidParameterError, match=r"Most of them come from the 5 cohorts of by="):
        jm.retention(small, period="Y", by=lambda cases: cases["case"])
