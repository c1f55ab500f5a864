"""KPIs and attribution: every figure checked against a hand computation."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import journeymine as jm

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _log(rows: list[tuple[str, str, int, str, str, float]], **kw: object) -> jm.JourneyLog:
    df = pd.DataFrame(rows, columns=["case", "activity", "day", "contact", "seg", "value"])
    df["ts"] = T0 + df["day"] * DAY
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="ts", contact="contact",
                                    value="value", case_attributes=["seg"], event_attributes=[], **kw)  # type: ignore[arg-type]


OUT = {"won": ["Signed"], "lost": ["Lost"], "churned": ["Churn"]}
ROWS = [
    # a: won on day 10 after 3 touches by 2 contacts, then churns; 100 revenue
    ("a", "Webinar", 0, "x", "S", np.nan), ("a", "Demo", 4, "y", "S", np.nan), ("a", "Proposal", 6, "x", "S", np.nan),
    ("a", "Signed", 10, "x", "S", 100.0), ("a", "Churn", 40, "x", "S", np.nan),
    # b: won on day 20 after 2 touches by 1 contact; 300 revenue
    ("b", "Webinar", 0, "z", "S", np.nan), ("b", "Demo", 5, "z", "S", np.nan), ("b", "Signed", 20, "z", "S", 300.0),
    # c: lost on day 8
    ("c", "Webinar", 0, "w", "S", np.nan), ("c", "Demo", 3, "w", "S", np.nan), ("c", "Lost", 8, "w", "S", np.nan),
    # d: open (no outcome), still touching on day 60
    ("d", "Webinar", 0, "v", "S", np.nan), ("d", "Webinar", 60, "v", "S", np.nan),
]


def test_kpis_by_hand() -> None:
    k = jm.kpis(_log(ROWS), outcomes=OUT, sales_start=["Demo"])
    v = {r["kpi"]: r["value"] for r in k.table.to_dict("records")}
    assert (v["accounts"], v["won"], v["lost"], v["open"]) == (4, 2, 1, 1)
    assert v["conversion_rate"] == pytest.approx(2 / 3)  # open account d left out
    row = k.table.set_index("kpi").loc["conversion_rate"]
    assert row["ci_low"] < 2 / 3 < row["ci_high"] and row["n"] == 3
    # Kaplan-Meier time to purchase: c (lost) and d (open) are censored at the end of the log
    # (day 60); won at 10 (4 at risk) and 20 (3 at risk): S(10) = .75, S(20) = .5 -> median 20 days
    assert v["time_to_purchase_days"] == pytest.approx(20)
    assert v["time_to_purchase_p25_days"] == pytest.approx(10)
    assert v["time_to_purchase_among_won_days"] == pytest.approx(15)
    # sales cycle: first Demo to close: a 4 -> 10 (6 d), b 5 -> 20 (15 d), c 3 -> 8 (5 d)
    assert v["sales_cycle_days"] == pytest.approx(6)
    assert v["touches_before_purchase"] == pytest.approx(2.5)  # a: 3, b: 2
    assert v["contacts_before_purchase"] == pytest.approx(1.5)  # a: 2, b: 1
    assert v["churn_rate"] == pytest.approx(0.5)
    assert v["purchase_frequency"] == pytest.approx(1.0)
    assert v["revenue_per_account"] == pytest.approx(200.0)
    # engagement: events per active month (at least one month): a 5/1, b 3/1, c 3/1, d 2/1.97
    assert v["engagement_per_month"] == pytest.approx(3.0)
    assert k.value("won") == 2
    json.dumps(k.to_dict())
    assert "conversion_rate" in k._repr_html_()
    assert k.to_dataframe(wide=True).loc["(all)", "won"] == 2


def test_kpis_cohorts_and_errors() -> None:
    log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    k = jm.kpis(log, outcomes=jm.datasets.DEMO_OUTCOMES, by="segment")
    wide = k.to_dataframe(wide=True)
    assert set(wide.index) == {"Enterprise", "Mid-market", "SMB"}
    assert wide["accounts"].sum() == 600
    assert (wide["won"] + wide["lost"] + wide["open"] == wide["accounts"]).all()
    assert {"dwell_decision_days", "sales_cycle_days", "revenue_per_account"} <= set(wide.columns)
    with pytest.raises(jm.InvalidParameterError, match=r"'won' parameter of kpis"):
        jm.kpis(log, outcomes={"purchase": ["Contract signed"]})
    with pytest.raises(jm.SchemaError, match=r"none of the activities \['Teleport'\]"):
        jm.kpis(log, outcomes={"won": ["Teleport"], "lost": ["Closed lost"], "churned": ["Churned"]})
    with pytest.raises(jm.InvalidParameterError, match=r"'kpi' parameter of JourneyKPIs.value"):
        k.value("happiness", "SMB")


PATHS = [
    ("1", ["A", "B", "Conv"]), ("2", ["A", "Conv"]), ("3", ["B"]), ("4", ["A", "B"]),
]


def _paths_log(paths: list[tuple[str, list[str]]]) -> jm.JourneyLog:
    rows = [(c, a, T0 + i * DAY) for c, acts in paths for i, a in enumerate(acts)]
    df = pd.DataFrame(rows, columns=["case", "activity", "ts"])
    df["channel"] = df["activity"]
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="ts", channel="channel")


def test_every_attribution_model_by_hand() -> None:
    a = jm.attribution(_paths_log(PATHS), conversion=["Conv"], half_life=86_400.0)
    w = a.to_dataframe(wide=True)
    # conversions: path 1 (A, B) and path 2 (A)
    assert w.loc["A", "first_touch"] == 1.0 and w.loc["B", "first_touch"] == 0.0
    assert w.loc["A", "last_touch"] == 0.5 and w.loc["B", "last_touch"] == 0.5
    assert w.loc["A", "linear"] == pytest.approx(0.75)  # (0.5 + 1) / 2
    assert w.loc["A", "position_based"] == pytest.approx(0.75)  # two touches: 50/50, then 1
    # time decay, half-life 1 day: path 1 touches 2 d and 1 d before: weights 1/4, 1/2 -> 1/3, 2/3
    assert w.loc["A", "time_decay"] == pytest.approx((1 / 3 + 1) / 2)
    # Markov removal effects (worked out in docs/attribution.md): P = 1/2, without A 1/12, without B 1/4
    assert w.loc["A", "markov"] == pytest.approx(0.625)
    assert w.loc["B", "markov"] == pytest.approx(0.375)
    # Shapley: {A, B} -> 1/2 each, {A} -> 1 to A
    assert w.loc["A", "shapley"] == pytest.approx(0.75)
    assert a.conversions == 2 and a.paths == 4
    assisted = a.assisted.set_index("touch")
    assert assisted.loc["A", "assisted_conversions"] == 1 and assisted.loc["B", "assisted_conversions"] == 0
    assert assisted.loc["A", "last_touch_conversions"] == 1
    credits = a.credits.groupby("model")["conversions"].sum()
    assert np.allclose(credits.to_numpy(), 2.0)


def test_position_based_and_second_order_markov() -> None:
    paths = [("1", ["A", "B", "C", "D", "Conv"]), ("2", ["C", "A", "Conv"]), ("3", ["B", "C"])]
    a = jm.attribution(_paths_log(paths), conversion=["Conv"], models=["position_based", "markov"], order=2)
    w = a.to_dataframe(wide=True)
    # path 1: A .4, B .1, C .1, D .4; path 2: C .5, A .5 -> A .45, B .05, C .3, D .2
    assert w.loc["A", "position_based"] == pytest.approx(0.45)
    assert w.loc["C", "position_based"] == pytest.approx(0.30)
    assert w["markov"].sum() == pytest.approx(1.0)
    assert (w["markov"] >= 0).all()


def test_attribution_on_demo_channels_and_errors() -> None:
    log = jm.datasets.demo_b2b(n_accounts=500, random_state=0)
    a = jm.attribution(log, conversion=["Contract signed"], by="channel")
    assert set(a.credits["model"]) == set(jm._attribution.MODELS)
    assert "Attribution: 7 models" in repr(a) and "<table>" in a._repr_html_()
    json.dumps(a.to_dict())
    with pytest.raises(jm.SchemaError, match="none of the conversion activities"):
        jm.attribution(log, conversion=["Teleport"])
    with pytest.raises(jm.InvalidParameterError, match=r"'models' parameter of attribution"):
        jm.attribution(log, conversion=["Contract signed"], models=["magic"])
    with pytest.raises(jm.InvalidParameterError, match=r"'conversion' parameter"):
        jm.attribution(log, conversion=[])
    one = jm.attribution(log, conversion="Contract signed", models="linear")  # one string is a list of one
    assert one.credits.equals(jm.attribution(log, conversion=["Contract signed"], models=["linear"]).credits)
    no_channel = _paths_log(PATHS).to_polars("events").drop("channel")
    plain = jm.JourneyLog.from_frame(no_channel, case="case", activity="activity", timestamp="timestamp",
                                     event_attributes=[])
    with pytest.raises(jm.SchemaError, match="needs a channel column"):
        jm.attribution(plain, conversion=["Conv"], by="channel")


# -- the vectorised models against the loops they replaced (bit for bit) ---------------------


def _loop_heuristic(paths: list[list[str]], lags: list[list[float]], model: str, half_life: float) -> dict[str, float]:
    credit: dict[str, float] = {}
    for path, lag in zip(paths, lags, strict=True):
        n = len(path)
        if model == "first_touch":
            w = [1.0] + [0.0] * (n - 1)
        elif model == "last_touch":
            w = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            w = [1.0 / n] * n
        elif model == "time_decay":
            raw = [2.0 ** (-(x - min(lag)) / half_life) for x in lag]
            w = [r / sum(raw) for r in raw]
        else:
            w = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
        for t, x in zip(path, w, strict=True):
            credit[t] = credit.get(t, 0.0) + x
    return credit


def _loop_markov_counts(paths: list[list[str]], converted: list[bool], order: int) -> dict[tuple[object, object], int]:
    counts: dict[tuple[object, object], int] = {}
    for path, conv in zip(paths, converted, strict=True):
        states: list[object] = [("(start)",)]
        states += [tuple(path[max(0, i - order + 1) : i + 1]) for i in range(len(path))]
        states.append("(conversion)" if conv else "(null)")
        for a, b in itertools.pairwise(states):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_attribution_equals_the_loops(seed: int) -> None:
    from journeymine import _attribution as at

    rng = np.random.default_rng(seed)
    rows = []
    for case in range(rng.integers(1, 60)):
        acts = list(rng.choice(["A", "B", "C", "D", "Conv"], size=rng.integers(1, 9), p=[.3, .25, .2, .1, .15]))
        days = np.sort(rng.integers(0, 6, size=len(acts)))  # ties in time
        rows += [(str(case), a, T0 + int(d) * DAY + int(rng.integers(0, 3)) * pd.Timedelta(hours=5))
                 for a, d in zip(acts, days, strict=True)]
    df = pd.DataFrame(rows, columns=["case", "activity", "ts"]).drop_duplicates()
    if not (df["activity"] == "Conv").any():
        return
    log = jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="ts")
    p = at._paths(log, ["Conv"], "activity")
    paths = [[p.names[c] for c in p.code[p.path == i]] for i in range(p.n_paths)]
    lags = [p.lag[p.path == i].tolist() for i in range(p.n_paths)]
    conv = p.touches(converted_only=True)
    keep = [i for i in range(p.n_paths) if p.converted[i] and paths[i]]
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
        got = at._heuristic(conv, model, 3_600.0 * (seed + 1))
        want = _loop_heuristic([paths[i] for i in keep], [lags[i] for i in keep], model, 3_600.0 * (seed + 1))
        assert {t: got[t] for t in want} == want and all(got[t] == 0.0 for t in set(got) - set(want))
    shapley: dict[str, float] = {}
    for i in keep:
        for t in dict.fromkeys(paths[i]):
            shapley[t] = shapley.get(t, 0.0) + 1.0 / len(set(paths[i]))
    got = at._shapley(conv)
    assert {t: got[t] for t in shapley} == shapley
    for order in (1, 2, 3):
        assert at._markov_counts(p, order) == _loop_markov_counts(paths, p.converted.tolist(), order)
    assisted = at._assisted(conv).set_index("touch")
    for t in p.names:
        assert assisted.loc[t, "last_touch_conversions"] == sum(paths[i][-1] == t for i in keep)
        assert assisted.loc[t, "assisted_conversions"] == sum(
            t in set(paths[i][:-1]) - {paths[i][-1]} for i in keep)


def test_attribution_by_any_event_attribute() -> None:
    log = jm.datasets.demo_b2b(400, random_state=0, version=2)
    a = jm.attribution(log, conversion="Contract signed", by="team", models=["linear", "markov"])
    linear = a.credits[a.credits["model"] == "linear"].set_index("touch")
    assert set(linear.index) <= {"Marketing", "SDR", "AE", "CSM", "(missing)"}
    assert linear["share"].sum() == pytest.approx(1.0)
    with pytest.raises(jm.InvalidParameterError, match="event attribute"):
        jm.attribution(log, conversion="Contract signed", by="campaign")
    same = jm.attribution(log, conversion="Contract signed", by="resource", models=["linear"])
    assert same.credits["share"].tolist() == linear["share"].tolist()  # "team" is read as the resource


@pytest.mark.parametrize("name", ["end", "start", "case", "code", "_close", "events"])
def test_an_outcome_may_be_named_like_a_column_of_the_case_table(name: str) -> None:
    # an outcome named "end" used to read the accounts' last event as its time: every
    # account "won" (KPIs) and the outcome rows of compare_cohorts were wrong
    log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    signed = ["Contract signed"]
    ref = jm.kpis(log, outcomes={"won": signed}, won="won", by="segment").to_dataframe()
    got = jm.kpis(log, outcomes={name: signed}, won=name, by="segment").to_dataframe()
    pd.testing.assert_frame_equal(got, ref)
    assert got.set_index(["cohort", "kpi"])["value"].xs("won", level="kpi").sum() < log.n_cases
    ref_cmp = jm.compare_cohorts(log, by="segment", outcomes={"won": signed}, random_state=0, n_permutations=99)
    got_cmp = jm.compare_cohorts(log, by="segment", outcomes={name: signed}, random_state=0, n_permutations=99)
    pd.testing.assert_frame_equal(got_cmp.outcomes.drop(columns="feature"), ref_cmp.outcomes.drop(columns="feature"))
    keys = jm.by_outcome({name: signed}).resolve_keys(log)[0]
    assert keys.value_counts().sort("count").get_column("count").to_list() == [103, 197]


def test_a_predicate_outcome_of_the_wrong_length_is_named_before_it_is_used() -> None:
    log = jm.datasets.demo_b2b(100, random_state=1)
    short = {"won": lambda e: (e["activity"] == "Contract signed").to_numpy()[:-1], "lost": ["Closed lost"]}
    with pytest.raises(jm.InvalidParameterError, match=f"predicate returning {log.n_events} booleans"):
        jm.kpis(log, outcomes=short, churned=None)
    # a predicate outcome named "code" works like any other
    signed = {"code": lambda e: (e["activity"] == "Contract signed").to_numpy()}
    # (purchases named: a predicate win names no purchase activities of its own)
    got = jm.kpis(log, outcomes=signed, won="code", lost=None, churned=None,
                  purchases="Contract signed").to_dataframe()
    ref = jm.kpis(log, outcomes={"won": ["Contract signed"]}, won="won", lost=None, churned=None).to_dataframe()
    pd.testing.assert_frame_equal(got, ref)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_large_markov_chains_are_solved_sparse_with_the_same_effects(
    order: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large chains are solved as sparse systems: the removal effects equal the dense
    solve's to rounding."""
    from journeymine import _attribution

    log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    conv = list(log.activities)[6]
    monkeypatch.setattr(_attribution, "_DENSE_STATES", 10**9)
    monkeypatch.setattr(_attribution, "_DENSE_WORK", float("inf"))
    dense = jm.attribution(log, conversion=[conv], models="markov", order=order).credits
    monkeypatch.setattr(_attribution, "_DENSE_STATES", 0)
    sparse = jm.attribution(log, conversion=[conv], models="markov", order=order).credits
    assert dense.columns.tolist() == sparse.columns.tolist() and len(dense) == len(sparse) > 3
    numeric = [c for c in dense.columns if dense[c].dtype.kind == "f"]
    np.testing.assert_allclose(sparse[numeric].to_numpy(), dense[numeric].to_numpy(), rtol=1e-9, atol=1e-12)


def test_markov_attribution_of_a_thousand_distinct_touches() -> None:
    """Every event a different touch (the dense solve per touch took 160 s here): touches on
    no converting path get no credit, the converting path's touches share it."""
    rows = [(f"C{c}", f"act{c * 5 + i}", pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=c * 10 + i))
            for c in range(200) for i in range(5)]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "activity", "ts"]),
                                   case="case", activity="activity", timestamp="ts")
    table = jm.attribution(log, conversion=["act4"], models="markov").credits
    credited = table[table["share"] > 0]
    assert sorted(credited["touch"]) == ["act0", "act1", "act2", "act3"]
    assert credited["share"].sum() == pytest.approx(1.0) and credited["conversions"].sum() == pytest.approx(1.0)
