"""jm.funnel: hand-computed funnels (both orders, windows, lost, at), censoring, cohorts,
bad input, drawing."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import journeymine as jm
from journeymine import _stats as st

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01T09:00:00Z")

#: (case, activity, day); the log ends on day 100 (account G)
EVENTS = [
    ("A", "a", 0),
    ("A", "b", 5),
    ("A", "c", 40),
    ("B", "a", 0),
    ("B", "c", 1),
    ("B", "b", 2),
    ("C", "a", 90),
    ("D", "b", 3),
    ("E", "a", 80),
    ("E", "L", 82),
    ("F", "a", 0),
    ("F", "a", 50),
    ("F", "b", 55),
    ("G", "z", 100),
]


def _log(events=EVENTS, **kw):
    frame = pd.DataFrame(events, columns=["case", "activity", "day"])
    frame["timestamp"] = T0 + frame.pop("day") * DAY
    for k, v in kw.items():
        frame[k] = frame["case"].map(v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jm.JourneyLog.from_frame(
            frame, case="case", activity="activity", timestamp="timestamp", case_attributes=list(kw)
        )


def _row(f, step, cohort="(all)"):
    s = f.steps
    return s[(s["step"] == step) & (s["cohort"] == cohort)].iloc[0]


def _status(f):
    a = f.to_dataframe("accounts")
    return {(r.case, int(r.step)): r.status for r in a.itertuples()}


def test_strict_with_window_and_lost_by_hand():
    f = jm.funnel(_log(), ["a", "b", "c"], window="30D", lost="L")
    r1, r2, r3 = _row(f, 1), _row(f, 2), _row(f, 3)
    # A, B convert; C is open (day 90 + 30 > day 100); E lost; F's first "a" is day 0, "b" day 55
    assert (r1.entered, r1.converted, r1.dropped, r1.open) == (5, 2, 2, 1)
    assert (r2.entered, r2.converted, r2.dropped, r2.open) == (2, 0, 2, 0)
    assert (r3.entered, r3.converted, r3.dropped, r3.open) == (0, 0, 0, 0)
    assert _status(f)[("C", 1)] == "open" and _status(f)[("E", 1)] == "dropped"
    assert _status(f)[("F", 1)] == "dropped"
    # KM: events at 2 and 5 days among 5 at risk; C censored at 10 days; E and F at 30
    assert r1.conversion == pytest.approx(0.4)
    assert r1.converted_share == pytest.approx(0.4) and r1.closed_rate == pytest.approx(0.5)
    assert r1.median_days == pytest.approx(3.5)
    assert r1.share_of_start == 1.0 and r2.share_of_start == pytest.approx(0.4)
    assert "D" not in set(f.to_dataframe("accounts")["case"])  # never did step 1


def test_any_order_counts_a_step_done_earlier():
    f = jm.funnel(_log(), ["a", "b", "c"], window="30D", order="any", lost="L")
    r2 = _row(f, 2)
    # B did "c" (day 1) before reaching "b" (day 2): converted at once; A's "c" came 35 days on
    assert (r2.entered, r2.converted, r2.dropped) == (2, 1, 1)
    acc = f.to_dataframe("accounts")
    b = acc[(acc["case"] == "B") & (acc["step"] == 2)].iloc[0]
    assert b["days"] == 0.0
    assert _row(f, 3).entered == 1


def test_no_window_keeps_non_converters_open_unless_lost():
    f = jm.funnel(_log(), ["a", "b", "c"], lost="L")
    r1, r2 = _row(f, 1), _row(f, 2)
    assert (r1.converted, r1.dropped, r1.open) == (3, 1, 1)  # A, B, F; E lost; C open
    assert (r2.converted, r2.dropped, r2.open) == (1, 0, 2)  # A (35 days); B, F open
    assert f.windows == (None, None)
    assert f.steps.loc[0, "window"] == "no limit"


def test_at_sees_only_the_past_and_open_is_never_dropped():
    f = jm.funnel(_log(), ["a", "b", "c"], window="30D", at=T0 + 20 * DAY)
    r1, r2 = _row(f, 1), _row(f, 2)
    assert (r1.entered, r1.converted, r1.dropped, r1.open) == (3, 2, 0, 1)  # F: window to day 30
    assert (r2.entered, r2.converted, r2.dropped, r2.open) == (2, 0, 0, 2)
    assert f.at == T0 + 20 * DAY


def test_windows_per_step_and_stage_and_set_steps():
    f = jm.funnel(_log(), ["a", "b", "c"], window=["10D", None])
    assert f.windows == (10 * 86_400.0, None)
    r1 = _row(f, 1)
    assert (r1.converted, r1.dropped, r1.open) == (2, 3, 0)  # C: day 90 + 10 = the last day: closed
    g = jm.funnel(_log(), ["a", {"b", "c"}], window="30D")
    assert g.step_names == ("a", "b | c")
    assert _row(g, 1).converted == 2  # A (b, day 5) and B (c, day 1)


def test_cohorts_compared_with_fdr():
    log = jm.datasets.demo_b2b(n_accounts=1500, random_state=0)
    f = jm.funnel(
        log, ["Demo request", "Demo", "Proposal sent"], window="60D", by="segment", lost="Closed lost"
    )
    c = f.comparisons
    assert set(c["group_b"]) == {"(rest)"} and len(c) == 6
    assert ((c["q"] >= c["p"]) | c["q"].isna()).all()
    assert np.allclose(c["difference"], c["conversion_a"] - c["conversion_b"])
    assert (c["ci_low"] <= c["difference"]).all() and (c["difference"] <= c["ci_high"]).all()
    # each cohort's figures are its own funnel's
    alone = jm.funnel(
        log.filter_cases(segment="SMB"),
        ["Demo request", "Demo", "Proposal sent"],
        window="60D",
        lost="Closed lost",
    )
    mine = f.steps[f.steps["cohort"] == "SMB"].reset_index(drop=True)
    for col in ("entered", "converted", "dropped", "open"):
        assert list(mine[col]) == list(alone.steps[col])
    assert mine["conversion"].iloc[0] == pytest.approx(alone.steps["conversion"].iloc[0])


def test_period_cohorts_keep_empty_periods():
    ev = [("A", "a", 0), ("A", "b", 1), ("B", "a", 70), ("B", "b", 72), ("C", "a", 250)]
    f = jm.funnel(_log(ev), ["a", "b"], window="7D", by=jm.period("Q"), min_cases=1)
    assert list(dict.fromkeys(f.steps["cohort"])) == ["2024-Q1", "2024-Q2", "2024-Q3"]
    assert f.steps.set_index(["cohort", "step"]).loc[("2024-Q2", 1), "entered"] == 0
    assert "no accounts entered" in f.svg


def test_km_incidence_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    t = rng.exponential(10, 300).round(1) + 0.1
    e = rng.random(300) < 0.7
    est, lo, hi, _ = st.km_incidence_at(t, e, 8.0)
    sf = stats.ecdf(stats.CensoredData(uncensored=t[e], right=t[~e])).sf
    assert est == pytest.approx(1 - sf.evaluate(8.0))
    with warnings.catch_warnings():  # undefined where the curve is 0 or 1, not at 8
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(0.95, method="log-log")
    assert hi == pytest.approx(1 - ci.low.evaluate(8.0), abs=1e-9)
    assert lo == pytest.approx(1 - ci.high.evaluate(8.0), abs=1e-9)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"steps": ["a", "bb"]}, r"steps.*did you mean 'b'"),
        ({"steps": ["a"]}, "at least two steps"),
        ({"steps": "ab"}, "at least two steps"),
        ({"steps": ["a", "a"]}, "given twice"),
        ({"steps": ["a", 3]}, "each step"),
        ({"steps": ["a", "b"], "window": "-3D"}, "positive"),
        ({"steps": ["a", "b"], "window": 30}, "bare number has no unit"),
        ({"steps": ["a", "b"], "window": "soon"}, "duration"),
        ({"steps": ["a", "b"], "window": ["1D", "2D"]}, "one window per step transition"),
        ({"steps": ["a", "b"], "order": "loose"}, "order"),
        ({"steps": ["a", "b"], "lost": "Lx"}, "did you mean 'L'"),
        ({"steps": ["a", "b"], "at": "not a date"}, "timestamp"),
        ({"steps": ["a", "b"], "alpha": 2}, "alpha"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(jm.InvalidParameterError, match=match):
        jm.funnel(_log(), **kw)


def test_window_shorter_than_the_resolution():
    days = _log([(c, a, d) for c, a, d in EVENTS])  # every timestamp at 09:00: resolution 1 hour
    with pytest.raises(jm.InvalidParameterError, match="at least 1 hour"):
        jm.funnel(days, ["a", "b"], window="30min")
    frame = pd.DataFrame(
        {"case": ["x", "x"], "activity": ["a", "b"], "timestamp": ["2024-01-01", "2024-01-03"]}
    )
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="timestamp")
    with pytest.raises(jm.InvalidParameterError, match="at least 1 day"):
        jm.funnel(log, ["a", "b"], window="12h")
    assert _row(jm.funnel(log, ["a", "b"], window="2D"), 1).converted == 1


def test_a_name_that_is_both_activity_and_stage_is_an_error():
    log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    stage = log.to_polars("events").get_column("stage").drop_nulls()[0]
    f = jm.funnel(log, [stage, "Contract signed"], window="365D")
    assert f.step_names[0] == stage and _row(f, 1).entered > 0
    with pytest.raises(jm.InvalidParameterError, match="did you mean"):
        jm.funnel(log, ["Demo requst", "Demo"])


def test_result_contract_and_escaping():
    ev = [("A", "<script>x</script>", 0), ("A", "b", 1), ("B", "<script>x</script>", 3)]
    f = jm.funnel(_log(ev, seg={"A": "<b>", "B": "<b>"}), ["<script>x</script>", "b"], window="7D", by="seg")
    svg = f.svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    html = f._repr_html_()
    assert "<script>x" not in html
    bundle = f._repr_mimebundle_()
    assert "text/html" in bundle and bundle["text/plain"].startswith("<Funnel")
    assert pickle.loads(pickle.dumps(f)).steps.equals(f.steps)
    import json

    json.dumps(f.to_dict())
    assert f.summary.loc[0, "entered"] == 2


def test_same_bytes_twice():
    log = jm.datasets.demo_b2b(n_accounts=400, random_state=1)
    a = jm.funnel(log, ["Demo request", "Demo", "Contract signed"], window="90D", by="segment")
    b = jm.funnel(log, ["Demo request", "Demo", "Contract signed"], window="90D", by="segment")
    assert a.svg == b.svg
    pd.testing.assert_frame_equal(a.steps, b.steps)


def test_curve():
    f = jm.funnel(_log(), ["a", "b", "c"], window="30D", lost="L")
    c = f.curve(1)
    assert list(c["days"]) == [2.0, 5.0] and list(c["conversion"].round(3)) == [0.2, 0.4]
    with pytest.raises(jm.InvalidParameterError, match="step"):
        f.curve(3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hs.lists(
        hs.tuples(hs.integers(0, 7), hs.sampled_from("abcL"), hs.integers(0, 60)), min_size=1, max_size=40
    ),
    hs.integers(1, 30),
    hs.integers(0, 60),
    hs.sampled_from(["strict", "any"]),
)
def test_open_is_never_a_dropoff_and_counts_add_up(events, window, cut, order):
    ev = [(f"c{c}", a, d) for c, a, d in events] + [("zz", "z", 61)]
    log = _log(ev)
    if "a" not in log.activities or "b" not in log.activities:
        return
    steps = ["a", "b"] + (["c"] if "c" in log.activities else [])
    full = jm.funnel(
        log, steps, window=f"{window}D", order=order, lost="L" if "L" in log.activities else None
    )
    s = full.steps
    for k in range(1, len(steps)):
        r = s[s["step"] == k].iloc[0]
        assert r.entered == r.converted + r.dropped + r.open
        assert s[s["step"] == k + 1].iloc[0].entered == r.converted
        assert 0 <= r.conversion <= 1 or math.isnan(r.conversion)
    if cut >= 60 or cut < min(d for _, _, d in events):  # at before the first event is an error
        return
    early = jm.funnel(
        log,
        steps,
        window=f"{window}D",
        order=order,
        at=T0 + cut * DAY,
        lost="L" if "L" in log.activities else None,
    )
    final = _status(full)
    for key, status in _status(early).items():
        if status == "dropped":  # a drop-off is final: it was never an account still open
            assert final[key] == "dropped"
        elif status == "converted":
            assert final[key] == "converted"


def test_equals_the_pandas_reference(shared_data):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _ref_funnel import check_equal, pandas_funnel

    from real_logs import LOGS

    demo = jm.datasets.demo_b2b(n_accounts=3000, random_state=0)
    bpic = LOGS["bpic2012"][0](shared_data)
    cases = [
        (demo, ["Demo request", "Demo", "Proposal sent", "Contract signed"], "30D", ["Closed lost"]),
        (bpic, ["A_SUBMITTED", "A_PREACCEPTED", "A_ACCEPTED", "O_SENT", "A_APPROVED"], "7D", ["A_DECLINED"]),
    ]
    for log, steps, window, lost in cases:
        ev = log.to_polars("events").to_pandas()
        ref = pandas_funnel(ev, steps, window=pd.Timedelta(window), lost=lost)
        f = jm.funnel(log, steps, window=window, lost=lost)
        assert check_equal(f.steps, ref), (f.steps, ref)


def test_small_cohorts_warn_and_late_at_warns():
    ev = [("A", "a", 0), ("A", "b", 1), ("B", "a", 3), ("C", "a", 5), ("C", "b", 9)]
    log = _log(ev, seg={"A": "x", "B": "y", "C": "y"})
    with pytest.warns(jm.JourneymineWarning, match="fewer than min_cases=30"):
        jm.funnel(log, ["a", "b"], window="7D", by="seg")
    with pytest.warns(jm.JourneymineWarning, match="after the log's last event"):
        f = jm.funnel(log, ["a", "b"], window="7D", at=T0 + 40 * DAY)
    assert _row(f, 1).open == 0 and _row(f, 1).dropped == 1


def test_curve_of_a_funnel_with_cohorts_needs_the_cohort():
    log = _log(seg={c: "x" if c < "D" else "y" for c in "ABCDEFG"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = jm.funnel(log, ["a", "b"], window="30D", by="seg")
    with pytest.raises(jm.InvalidParameterError, match="this funnel has cohorts"):
        f.curve(1)
    assert list(f.curve(1, "x")["days"]) == [2.0, 5.0]


def test_consecutive_periods_leave_out_accounts_without_the_activity():
    ev = [("A", "a", 0), ("A", "b", 1), ("B", "a", 100), ("B", "b", 101), ("C", "a", 200), ("D", "a", 5)]
    log = _log(ev)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = jm.funnel(log, ["a", "b"], window="7D", by=jm.period("Q", of="b"), pairs="consecutive")
    assert "(missing)" not in set(f.comparisons["group_a"]) | set(f.comparisons["group_b"])
    assert list(zip(f.comparisons["group_a"], f.comparisons["group_b"], strict=True)) == [("2024-Q2", "2024-Q1")]


def test_a_group_not_followed_for_the_window_is_not_estimated_nor_tested():
    rows = [(f"q1_{i}", "a", 10) for i in range(40)] + [(f"q1_{i}", "b", 30) for i in range(40)]
    rows += [(f"q2_{i}", "a", 180 - (1 + i % 6)) for i in range(40)] + [("z", "z", 180)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = jm.funnel(_log(rows), ["a", "b"], window="30D", by=jm.period("Q"), pairs="consecutive")
    q2 = f.steps[(f.steps["cohort"] == "2024-Q2") & (f.steps["step"] == 1)].iloc[0]
    assert q2.open == 40 and math.isnan(q2.conversion) and q2.followed_days == 6.0
    c = f.comparisons.iloc[0]
    assert c["test"] == "not followed long enough" and math.isnan(c["p"]) and f.findings == []
    q1 = f.steps[(f.steps["cohort"] == "2024-Q1") & (f.steps["step"] == 1)].iloc[0]
    assert q1.conversion == 1.0  # every account converted: known, though followed 20 days


def test_any_order_refuses_steps_that_share_an_activity():
    with pytest.raises(jm.InvalidParameterError, match="both contain 'a'"):
        jm.funnel(_log(), ["a", ["a", "b"]], order="any")
    assert _row(jm.funnel(_log(), ["a", ["a", "b"]], window="30D"), 1).converted == 2  # strict: a later event


def test_period_cohorts_of_a_past_funnel_do_not_look_past_at():
    ev = [("A", "a", 0), ("A", "b", 200), ("B", "a", 1), ("B", "b", 2), ("C", "a", 250)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = jm.funnel(_log(ev), ["a", "b"], by=jm.period("Q", of="b"), at=T0 + 30 * DAY, min_cases=1)
    # on day 30, A has not done "b" yet: it is (missing), not the quarter of its later "b"
    acc = f.to_dataframe("accounts")
    assert dict(zip(acc["case"], acc["cohort"], strict=False))["A"] == "(missing)"
    assert set(f.steps["cohort"]) == {"(missing)", "2024-Q1"}


def test_a_lost_account_does_not_make_a_short_follow_up_look_long():
    # entered 10 days before the end; half lose on day 2, the rest are open: the 30-day
    # conversion is unknown, though the lost accounts are known never to convert
    rows = [(f"x{i}", "a", 90) for i in range(10)] + [(f"x{i}", "L", 92) for i in range(5)]
    rows += [("y", "a", 0), ("y", "b", 1), ("z", "z", 100)]
    f = jm.funnel(_log(rows), ["a", "b"], window="30D", lost="L")
    r = _row(f, 1)
    # y converted after a day: watched 1 day, so the longest watch is still 10 days
    assert (r.converted, r.dropped, r.open) == (1, 5, 5)
    assert math.isnan(r.conversion) and r.followed_days == 10.0
    assert "not known yet" in f.svg


def test_with_no_open_account_the_conversion_is_known():
    rows = [(f"c{i}", "a", 0) for i in range(4)] + [(f"c{i}", "b", 1) for i in range(2)]
    rows += [("c2", "L", 2), ("c3", "L", 3), ("z", "z", 100)]
    r = _row(jm.funnel(_log(rows), ["a", "b"], window="30D", lost="L"), 1)
    assert (r.converted, r.dropped, r.open) == (2, 2, 0) and r.conversion == pytest.approx(0.5)
