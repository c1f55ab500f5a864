"""The revenue journey: the waterfall and revenue retention, computed by hand on tiny logs;
the bridge's invariants on random logs (hypothesis); bad input; the demo."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeymine as jm


def _log(
    rows: list[tuple],
    *,
    columns: tuple[str, ...] = ("case", "activity", "time", "value", "segment"),
    **kw: object,
) -> jm.JourneyLog:
    df = pd.DataFrame(rows, columns=list(columns))
    extra = [c for c in columns if c not in ("case", "activity", "time", "value", "segment")]
    return jm.JourneyLog.from_frame(
        df,
        case="case",
        activity="activity",
        timestamp="time",
        value="value",
        case_attributes=["segment"],
        event_attributes=extra,
        **kw,
    )


HAND = [
    ("A", "Contract signed", "2024-01-10", 100.0, "X"),
    ("A", "Renewal", "2024-04-05", 150.0, "X"),  # up 50: expansion in Q2
    ("A", "Churned", "2024-08-01", None, "X"),  # churns 150 in Q3
    ("A", "Contract signed", "2024-11-01", 80.0, "X"),  # comes back: reactivation in Q4
    ("B", "Contract signed", "2024-02-01", 200.0, "X"),
    ("B", "Renewal", "2024-05-01", 120.0, "X"),  # down 80: contraction in Q2
    ("C", "Contract signed", "2024-03-01", -5.0, "Y"),  # negative: set aside
    ("C", "Contract signed", "2024-03-02", 50.0, "Y"),
    ("C", "Website visit", "2025-02-15", None, "Y"),  # the log's end
]


def _hand() -> jm.RevenueJourney:
    with pytest.warns(jm.DataQualityWarning, match=r"1 value event set aside.*negative value"):
        return jm.revenue(_log(HAND), period="Q", churned="Churned")


def test_the_waterfall_by_hand() -> None:
    w = _hand().waterfall.set_index("period")
    assert list(w.index) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1"]
    assert w["partial"].tolist() == [False, False, False, False, True]
    cols = ["opening", "new", "reactivation", "expansion", "contraction", "churned", "closing"]
    assert w.loc["2024-Q1", cols].tolist() == [0, 350, 0, 0, 0, 0, 350]
    assert w.loc["2024-Q2", cols].tolist() == [350, 0, 0, 50, 80, 0, 320]
    assert w.loc["2024-Q3", cols].tolist() == [320, 0, 0, 0, 0, 150, 170]
    assert w.loc["2024-Q4", cols].tolist() == [170, 0, 80, 0, 0, 0, 250]
    assert w.loc["2025-Q1", cols].tolist() == [250, 0, 0, 0, 0, 0, 250]
    assert w.loc["2024-Q2", "grr"] == pytest.approx(270 / 350)
    assert w.loc["2024-Q2", "nrr"] == pytest.approx(320 / 350)
    assert w.loc["2024-Q3", "nrr"] == pytest.approx(170 / 320)
    assert math.isnan(w.loc["2024-Q1", "nrr"])  # nothing to retain
    assert w.loc["2024-Q2", ["accounts_opening", "accounts_closing"]].tolist() == [3, 3]
    assert w.loc["2024-Q3", "accounts_closing"] == 2
    # twelve months before the log's end (2024-02-15) A paid 100 and B 200; now 80 and 120
    assert w.loc["2025-Q1", "nrr_12m"] == pytest.approx(200 / 300)
    assert w.loc["2025-Q1", "grr_12m"] == pytest.approx(200 / 300)
    assert math.isnan(w.loc["2024-Q4", "nrr_12m"])  # 2024-01-01: nobody paid yet


def test_accounts_events_and_problems_by_hand() -> None:
    rv = _hand()
    acc = rv.accounts.set_index("case")
    assert acc.loc["A", ["recurring_now", "new", "renewal", "relationships"]].tolist() == [80, 180, 150, 2]
    assert acc.loc["A", "last_churn"] == pd.Timestamp("2024-08-01", tz="UTC")
    assert acc.loc["B", "recurring_now"] == 120 and pd.isna(acc.loc["B", "last_churn"])
    ev = rv.events
    assert ev["kind"].fillna("-").tolist() == ["new", "renewal", "-", "new", "new", "renewal", "new"]
    assert ev["arr_after"].tolist() == [100, 150, 0, 80, 200, 120, 50]
    p = rv.problems
    assert p[["case", "value", "row"]].values.tolist() == [["C", -5.0, 6]]
    assert p["reason"].iloc[0].startswith("negative value")
    s = rv.summary.set_index("cohort")
    assert s.loc["(all)", "recurring_now"] == 250 and s.loc["(all)", "paying_now"] == 3
    assert repr(rv).startswith(
        "<RevenueJourney: 3 accounts with revenue, 3 paying at the end (250 recurring)"
    )


def test_kinds_from_a_column_and_a_contraction_past_zero() -> None:
    rows = [
        ("D", "Deal", "2024-01-05", 100.0, "X", "New"),
        ("D", "Upsell", "2024-02-10", 30.0, "X", " expansion "),
        ("D", "Downgrade", "2024-05-01", 50.0, "X", "CONTRACTION"),
        ("D", "Downgrade", "2024-08-01", 100.0, "X", "contraction"),  # more than the 80 left
        ("D", "Visit", "2024-12-01", None, "X", None),
    ]
    log = _log(rows, columns=("case", "activity", "time", "value", "segment", "deal_type"))
    with pytest.warns(jm.DataQualityWarning, match="stopped at 0"):
        rv = jm.revenue(log, kind="deal_type")
    w = rv.waterfall.set_index("period")
    assert w.loc["2024-Q1", ["new", "closing"]].tolist() == [130, 130]
    assert w.loc["2024-Q2", ["contraction", "closing"]].tolist() == [50, 80]
    assert w.loc["2024-Q3", ["churned", "closing"]].tolist() == [80, 0]
    assert rv.problems["reason"].tolist() == ["contraction larger than the recurring revenue: stopped at 0"]
    assert rv.rules == "kinds from the kind column"


def test_products_make_cross_sell_an_expansion() -> None:
    rows = [
        ("E", "Deal", "2024-01-05", 100.0, "X", "P1"),
        ("E", "Deal", "2024-02-10", 40.0, "X", "P2"),  # another product: expansion
        ("E", "Deal", "2024-05-01", 110.0, "X", "P1"),  # the same product again: renewal
        ("E", "Visit", "2024-06-30", None, "X", None),
    ]
    rv = jm.revenue(
        _log(rows, columns=("case", "activity", "time", "value", "segment", "product")), product="product"
    )
    assert rv.events["kind"].tolist() == ["new", "expansion", "renewal"]
    assert rv.events["arr_after"].tolist() == [100, 140, 150]
    w = rv.waterfall.set_index("period")
    assert w.loc["2024-Q2", ["expansion", "closing"]].tolist() == [10, 150]
    assert "expansion for a product not bought yet" in rv.rules


def test_bad_input_gets_specific_errors() -> None:
    log = _log(HAND[:2])
    with pytest.raises(jm.InvalidParameterError, match="'M' \\(month\\), 'Q' \\(quarter\\) or 'Y'"):
        jm.revenue(log, period="W")
    with pytest.raises(jm.InvalidParameterError, match="churned"):
        jm.revenue(log, churned="Churn")
    with pytest.raises(jm.SchemaError, match="event_attributes=\\['tier'\\]"):
        jm.revenue(log, kind="tier")
    no_value = jm.JourneyLog.from_frame(
        pd.DataFrame(HAND[:2], columns=["case", "activity", "time", "amt", "s"]),
        case="case",
        activity="activity",
        timestamp="time",
    )
    with pytest.raises(jm.SchemaError, match="value='amount'"):
        jm.revenue(no_value)
    unknown = _log(
        [("D", "Deal", "2024-01-05", 100.0, "X", "upsell"), ("D", "Deal", "2024-02-05", 1.0, "X", "new")],
        columns=("case", "activity", "time", "value", "segment", "deal_type"),
    )
    with pytest.raises(jm.SchemaError, match=r"'upsell' \(1\).*replace"):
        jm.revenue(unknown, kind="deal_type")
    only_bad = _log([("C", "Deal", "2024-03-01", -5.0, "Y"), ("C", "Visit", "2024-04-01", None, "Y")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        with pytest.raises(jm.SchemaError, match="no event has a usable value"):
            jm.revenue(only_bad)


@st.composite
def _random_logs(draw: st.DrawFn) -> list[tuple]:
    rows = []
    for a in range(draw(st.integers(1, 6))):
        for _ in range(draw(st.integers(1, 8))):
            day = draw(st.integers(0, 900))
            act = draw(st.sampled_from(["Deal", "Deal", "Renewal", "Churned", "Visit"]))
            # cents, as money is: sums of decimal fractions drift in binary floating point
            value = None if act in ("Churned", "Visit") else draw(st.integers(0, 50_000)) / 100
            rows.append(
                (
                    f"A{a}",
                    act,
                    str(pd.Timestamp("2023-01-01") + pd.Timedelta(days=day)),
                    value,
                    draw(st.sampled_from(["X", "Y"])),
                )
            )
    # one segment per account
    seg = {r[0]: r[4] for r in rows}
    return [(c, act, t, v, seg[c]) for c, act, t, v, _ in rows]


@settings(max_examples=60, deadline=None)
@given(_random_logs(), st.sampled_from(["M", "Q", "Y"]))
def test_the_bridge_adds_up_and_periods_chain(rows: list[tuple], period: str) -> None:
    if not any(r[3] for r in rows if r[3] is not None):
        return  # no positive value: nothing to type (an error, tested elsewhere)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)  # duplicate rows are set aside
        log = _log(rows)
        rv = jm.revenue(
            log, period=period, by="segment", churned="Churned" if "Churned" in log.activities else None
        )
    w = rv.waterfall
    moves = w["opening"] + w["new"] + w["reactivation"] + w["expansion"] - w["contraction"] - w["churned"]
    assert np.allclose(moves, w["closing"])
    for _, sub in w.groupby("cohort"):
        assert np.allclose(sub["opening"].to_numpy()[1:], sub["closing"].to_numpy()[:-1])
        assert sub["partial"].tolist() == [False] * (len(sub) - 1) + [True]
    last = w.groupby("cohort")["closing"].last()
    now = rv.accounts.groupby("cohort")["recurring_now"].sum()
    assert np.allclose(last.reindex(now.index), now)
    assert (w[["new", "reactivation", "expansion", "contraction", "churned"]] >= 0).all().all()
    assert (rv.events["arr_after"] >= 0).all()


def test_the_demo_and_its_drawing() -> None:
    log = jm.datasets.demo_b2b(600, random_state=0)
    rv = jm.revenue(log, period="Q", by="segment", churned="Churned")
    s = rv.summary.set_index("cohort")
    # the demo's deals are ~15x larger in Enterprise than in SMB
    assert s.loc["Enterprise", "recurring_now"] > 5 * s.loc["SMB", "recurring_now"]
    svg = rv.draw()
    assert svg.startswith("<svg") and svg.count('class="panel"') == 3 and "Enterprise" in svg
    assert "<svg" in rv._repr_html_()
    d = rv.to_dict()
    assert d["period"] == "Q" and len(d["waterfall"]) == len(rv.waterfall)
    with pytest.raises(jm.InvalidParameterError, match="one of"):
        rv.draw("Nope")


def test_names_in_the_drawing_are_escaped() -> None:
    rows = [(c, a, t, v, "<b>&x") for c, a, t, v, _ in HAND if v is None or v >= 0]
    svg = jm.revenue(_log(rows), by="segment").draw()
    assert "<b>&x" not in svg and "&lt;b&gt;&amp;x" in svg


def test_the_typed_events_are_kept_on_the_log_and_still_warned_about() -> None:
    log = _log(HAND)
    for _ in range(2):  # the second call reads the log's memo, and still says what was set aside
        with pytest.warns(jm.DataQualityWarning, match="negative value"):
            rv = jm.revenue(log, churned="Churned")
        assert len(rv.problems) == 1
    with pytest.warns(jm.DataQualityWarning):
        other = jm.revenue(log)  # other options: typed again (no churn: A never churns)
    assert other.waterfall["churned"].sum() == 0


def test_rounding_never_leaves_a_customer_paying_a_remainder() -> None:
    rows = [
        ("A", "Deal", "2024-01-05", 100.1, "X", "new", "X1"),
        ("A", "Deal", "2024-01-20", 200.2, "X", "expansion", "Y1"),
        ("A", "Deal", "2024-04-05", 200.2, "X", "contraction", "Y1"),
        ("A", "Deal", "2024-07-05", 100.1, "X", "contraction", "X1"),
        ("B", "Deal", "2024-01-05", 0.1, "X", "new", "P"),
        ("B", "Deal", "2024-02-05", 0.2, "X", "expansion", "P"),
        ("B", "Deal", "2024-05-05", 0.3, "X", "contraction", "P"),
        ("B", "Visit", "2024-12-01", None, "X", None, None),
    ]
    log = _log(rows, columns=("case", "activity", "time", "value", "segment", "kind", "prod"))
    rv = jm.revenue(log, kind="kind", product="prod")
    assert rv.events["arr_after"].tolist()[-1] == 0.0 and (rv.events["arr_after"] >= 0).all()
    w = rv.waterfall.set_index("period")
    assert w.loc["2024-Q3", "churned"] == pytest.approx(100.1) and w.loc["2024-Q3", "closing"] == 0
    assert w.loc["2024-Q2", "churned"] == pytest.approx(0.3)  # B: all of it, a churn
    assert w["accounts_closing"].iloc[-1] == 0


def test_zero_deals_churn_values_and_relationships() -> None:
    rows = [
        ("A", "Contract signed", "2024-01-10", 0.0, "X"),   # a placeholder: set aside
        ("A", "Renewal", "2024-04-10", 100.0, "X"),         # so this is A's first revenue: new
        ("B", "Churned", "2024-01-02", 5.0, "X"),           # a churn with a value: kept as a churn
        ("B", "Contract signed", "2024-02-01", 50.0, "X"),
        ("B", "Churned", "2024-03-01", None, "X"),
        ("B", "Churned", "2024-03-02", None, "X"),
        ("B", "Contract signed", "2024-05-01", 60.0, "X"),
        ("B", "Visit", "2024-09-01", None, "X"),
    ]
    with pytest.warns(jm.DataQualityWarning, match="zero value"):
        rv = jm.revenue(_log(rows), churned="Churned")
    w = rv.waterfall.set_index("period")
    assert w.loc["2024-Q2", "new"] == 100 and w.loc["2024-Q2", "reactivation"] == 60
    reasons = rv.problems.set_index("case")["reason"]
    assert reasons["A"].startswith("zero value") and reasons["B"].startswith("a value on a churn event")
    acc = rv.accounts.set_index("case")
    assert acc.loc["A", "first_revenue"] == pd.Timestamp("2024-04-10", tz="UTC")
    assert acc.loc["B", "relationships"] == 2  # two signings; three churns
