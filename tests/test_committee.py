"""Buying committees: planted effects are found, look-ahead is not, bad input is refused."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine.datasets import DEMO_OUTCOMES
from real_logs import LOGS

OUT = {"won": ["Signed"], "lost": ["Lost"]}
DAY = pd.Timedelta(days=1)


def planted(n: int = 1_500, seed: int = 0, *, open_share: float = 0.1) -> pd.DataFrame:
    """Accounts that reach "Proposal" (the milestone) on day 20. A Sponsor engaged before it
    (day 15, in 40% of accounts) raises the win rate from 35% to 70%; Procurement only ever
    signs (after the milestone, in won accounts): a consequence of winning, not a cause. A
    Sponsor who joins after the milestone (day 30) in a third of the other accounts changes
    nothing. ``open_share`` of the accounts are still open (no outcome yet)."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows: list[tuple[str, str, str, str, pd.Timestamp]] = []
    early = rng.random(n) < 0.4
    late = ~early & (rng.random(n) < 1 / 3)
    won = rng.random(n) < np.where(early, 0.7, 0.35)
    is_open = rng.random(n) < open_share
    user = rng.random(n) < 0.5
    for i in range(n):
        acc = f"A{i:05d}"
        start = t0 + int(rng.integers(0, 300)) * DAY
        rows.append((acc, f"{acc}-champ", "Champion", "Visit", start))
        rows.append((acc, f"{acc}-user" if user[i] else f"{acc}-champ", "User" if user[i] else "Champion",
                     "Demo", start + 10 * DAY))
        if early[i]:
            rows.append((acc, f"{acc}-sponsor", "Sponsor", "Meeting", start + 15 * DAY))
        rows.append((acc, f"{acc}-champ", "Champion", "Proposal", start + 20 * DAY))
        if late[i]:
            rows.append((acc, f"{acc}-sponsor", "Sponsor", "Meeting", start + 30 * DAY))
        if is_open[i]:
            continue
        if won[i]:
            rows.append((acc, f"{acc}-proc", "Procurement", "Signed", start + 40 * DAY))
        else:
            rows.append((acc, f"{acc}-champ", "Champion", "Lost", start + 40 * DAY))
    return pd.DataFrame(rows, columns=["account", "contact", "role", "activity", "time"])


def _log(frame: pd.DataFrame, **kw: object) -> jm.JourneyLog:
    args: dict[str, object] = {"case": "account", "activity": "activity", "timestamp": "time",
                               "contact": "contact", "role": "role"}
    args.update(kw)
    return jm.JourneyLog.from_frame(frame, **args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def planted_log() -> jm.JourneyLog:
    return _log(planted())


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)


# -- planted effects -------------------------------------------------------------------


def test_a_role_engaged_before_the_milestone_is_found(planted_log: jm.JourneyLog) -> None:
    bc = jm.buying_committee(planted_log, outcomes=OUT, at="Proposal", random_state=0)
    d = bc.drivers.set_index("feature")
    sponsor = d.loc["Sponsor"]
    assert sponsor["q"] < 0.001 and sponsor["rate_with"] > sponsor["rate_without"] + 0.2
    assert sponsor["ci_low"] > 0 and sponsor["cohens_h"] > 0.5
    # the planted rates (70% against 35%), within sampling error
    assert abs(sponsor["rate_with"] - 0.7) < 0.06 and abs(sponsor["rate_without"] - 0.35) < 0.06
    # open accounts are censored, not failures
    assert sponsor["open_with"] > 0 and sponsor["n_with"] + sponsor["open_with"] == (
        bc.accounts["roles_at"].dropna().map(lambda r: "Sponsor" in r).sum()
    )
    assert any(s.startswith("Accounts with a Sponsor engaged by Proposal win") for s in bc.explain())


def test_roles_that_join_after_the_milestone_are_not_drivers(planted_log: jm.JourneyLog) -> None:
    bc = jm.buying_committee(planted_log, outcomes=OUT, at="Proposal", random_state=0)
    roles = bc.roles.set_index("role")
    procurement = roles.loc["Procurement"]
    # by the milestone no account has Procurement: nothing to compare, no finding
    assert procurement["share_at"] == 0 and not procurement["q"] < 0.05
    assert not any("Procurement engaged by" in s for s in bc.explain())
    (trap,) = [s for s in bc.explain() if s.startswith("Procurement only joins after Proposal")]
    assert "by it in none" in trap and "win 100% against 0%: look-ahead" in trap
    # ... while over the whole journey it would look like the strongest driver of all
    acc = bc.accounts[bc.accounts["outcome"] != "open"]
    ever = acc["first_Procurement"].notna()
    won = acc["outcome"] == "won"
    assert won[ever].mean() == 1.0 and won[~ever].mean() == 0.0
    # a Sponsor who joins late is not counted by the milestone
    late = bc.accounts[bc.accounts["first_Sponsor"] > bc.accounts["milestone"]]
    assert len(late) > 100 and not late["roles_at"].map(lambda r: "Sponsor" in r).any()


def test_the_demo_plants_an_economic_buyer_effect(demo: jm.JourneyLog) -> None:
    bc = jm.buying_committee(demo, outcomes=DEMO_OUTCOMES, at="Proposal sent", by="segment", random_state=0)
    d = bc.drivers
    eb = d[(d["kind"] == "role") & (d["feature"] == "Economic buyer")]
    assert len(eb) == 3 and (eb["q"] < 0.05).all() and (eb["difference"] > 0.15).all()
    proc = d[(d["kind"] == "role") & (d["feature"] == "Procurement")]
    assert not (proc["q"] < 0.05).any()
    # Enterprise committees are larger than SMB ones (3–8 contacts against 1–3)
    s = bc.summary.set_index("cohort")
    assert s.loc["Enterprise", "median_contacts"] > s.loc["SMB", "median_contacts"]
    assert s.loc["Enterprise", "share_multi_threaded"] > s.loc["SMB", "share_multi_threaded"]


def test_without_a_lost_outcome_rates_are_kaplan_meier(planted_log: jm.JourneyLog) -> None:
    bc = jm.buying_committee(planted_log, outcomes={"won": ["Signed"]}, at="Proposal", random_state=0)
    sponsor = bc.drivers.set_index("feature").loc["Sponsor"]
    assert sponsor["test"] == "log-rank" and sponsor["q"] < 0.001
    assert sponsor["rate_with"] > sponsor["rate_without"]
    assert 0 <= sponsor["rate_without"] <= sponsor["rate_with"] <= 1


def test_a_stage_milestone(demo: jm.JourneyLog) -> None:
    bc = jm.buying_committee(demo, outcomes=DEMO_OUTCOMES, at="decision", random_state=0)
    assert bc.at_kind == "stage"
    acc = bc.accounts
    # the decision stage's first event, never later than the first proposal
    by_act = jm.buying_committee(demo, at="Proposal sent").accounts["milestone"]
    both = acc["milestone"].notna() & by_act.notna()
    assert (acc.loc[both, "milestone"] <= by_act[both]).all()
    assert bc.drivers.set_index("feature").loc["Economic buyer", "q"] < 0.05


# -- the tables ----------------------------------------------------------------------------


def test_tables_on_a_tiny_log() -> None:
    t = pd.Timestamp("2024-01-01", tz="UTC")
    df = pd.DataFrame({
        "account": ["A"] * 5 + ["B"] * 2,
        "contact": ["a1", "a2", "a1", "a3", "a2", "b1", "b1"],
        "role": ["Champion", "User", "Champion", "Economic buyer", "User", "Champion", "Champion"],
        "activity": ["Visit", "Demo", "Proposal", "Pricing", "Signed", "Visit", "Lost"],
        "time": [t + k * DAY for k in (0, 2, 4, 6, 8)] + [t, t + DAY],
    })
    bc = jm.buying_committee(_log(df), outcomes=OUT, at="Proposal")
    a = bc.accounts.set_index("case")
    assert a.loc["A", "contacts"] == 3 and a.loc["A", "roles"] == 3 and a.loc["A", "touches"] == 5
    assert a.loc["A", "top_contact_share"] == pytest.approx(2 / 5)
    assert a.loc["A", "contacts_at"] == 2 and a.loc["A", "roles_at"] == ("Champion", "User")
    assert a.loc["A", "size_band_at"] == "2 contacts" and bool(a.loc["A", "multi_threaded_at"])
    assert a.loc["A", "outcome"] == "won" and a.loc["B", "outcome"] == "lost"
    assert a.loc["A", "first_Economic buyer"] == t + 6 * DAY and pd.isna(a.loc["B", "first_User"])
    assert pd.isna(a.loc["B", "milestone"]) and a.loc["B", "roles_at"] is None
    assert a.loc["B", "top_contact_share"] == 1.0 and not a.loc["B", "multi_threaded"]
    # handovers: a1→a2 (Champion→User), a2→a1, a1→a3, a3→a2; B never changes contact
    h = bc.handover.set_index(["source", "target"])["count"].to_dict()
    assert h == {("Champion", "User"): 1, ("User", "Champion"): 1, ("Champion", "Economic buyer"): 1,
                 ("Economic buyer", "User"): 1}
    g = bc.handover_graph()
    assert g.number_of_edges() == 4 and g["Champion"]["User"]["median_days"] == pytest.approx(2.0)
    r = bc.roles.set_index("role")
    assert r.loc["Champion", "engaged"] == 2 and r.loc["Economic buyer", "share"] == 0.5
    assert r.loc["Economic buyer", "median_days_to_join"] == pytest.approx(6.0)


def test_contacts_without_roles() -> None:
    frame = planted(300, 1).drop(columns="role")
    bc = jm.buying_committee(_log(frame, role=None), outcomes=OUT, at="Proposal")
    assert len(bc.roles) == 0 and len(bc.handover) == 0 and len(bc.engagement) == 0
    assert set(bc.drivers["kind"]) == {"size", "threading"}
    assert "first_Champion" not in bc.accounts.columns and bc.accounts["contacts"].min() >= 1
    assert "roles" not in bc.explain()[0]


def test_drivers_need_outcomes_and_a_milestone(planted_log: jm.JourneyLog) -> None:
    bc = jm.buying_committee(planted_log, outcomes=OUT)
    assert not bc.has_drivers and "share_at" not in bc.roles.columns and "rate_with" not in bc.roles.columns
    with pytest.raises(jm.UnsupportedOperationError, match=r"drivers need outcomes= and at=.*look like its causes"):
        _ = bc.drivers
    bc2 = jm.buying_committee(planted_log, at="Proposal")
    assert "share_at" in bc2.roles.columns and not bc2.has_drivers


def test_cohorts_are_largest_first_and_display_escapes() -> None:
    frame = planted(400, 2)
    frame["role"] = frame["role"].replace({"Sponsor": "<script>x</script>"})
    frame["region"] = np.where(frame["account"] < "A00100", "R&D <b>", "Ops")
    log = _log(frame, case_attributes=["region"])
    bc = jm.buying_committee(log, outcomes=OUT, at="Proposal", by="region", random_state=0)
    assert bc.cohorts == ("Ops", "R&D <b>") and list(bc.summary["accounts"]) == [300, 100]
    html = bc._repr_html_()
    assert "<script>x" not in html and "&lt;script&gt;x" in html and "R&amp;D &lt;b&gt;" in html
    assert bc.handover_graph("R&D <b>").graph["cohort"] == "R&D <b>"
    with pytest.raises(jm.InvalidParameterError, match="cohort"):
        bc.handover_graph("nope")
    assert "<script>x" not in bc.committee_map_svg()


def test_same_input_same_bytes(planted_log: jm.JourneyLog) -> None:
    one = jm.buying_committee(planted_log, outcomes=OUT, at="Proposal", random_state=3)
    two = jm.buying_committee(planted_log, outcomes=OUT, at="Proposal", random_state=3)
    assert json.dumps(one.to_dict(), sort_keys=True) == json.dumps(two.to_dict(), sort_keys=True)
    pd.testing.assert_frame_equal(one.accounts, two.accounts)
    json.dumps(one.to_dict(), allow_nan=False)  # JSON-safe


# -- bad input -----------------------------------------------------------------------------


def test_no_contact_column_names_the_role_to_map() -> None:
    log = jm.datasets.demo_b2b(n_accounts=50, random_state=0)
    no_contact = jm.JourneyLog.from_frame(
        log.events, case="case", activity="activity", timestamp="timestamp", event_attributes=[]
    )
    with pytest.raises(jm.SchemaError, match=r"buying_committee needs a contact column.*contact='contact_id'"):
        jm.buying_committee(no_contact)


def test_unknown_or_ambiguous_milestones(planted_log: jm.JourneyLog) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"did you mean 'Proposal'"):
        jm.buying_committee(planted_log, at="Proposl")
    with pytest.raises(jm.InvalidParameterError, match=r"'at' parameter"):
        jm.buying_committee(planted_log, at=3)  # type: ignore[arg-type]
    frame = planted(100, 3)
    frame["stage"] = np.where(frame["activity"].isin(["Visit", "Demo"]), "Demo", "Close")
    log = _log(frame, stage="stage")
    with pytest.raises(jm.InvalidParameterError, match=r"both an activity and a stage.*at=\('activity', 'Demo'\)"):
        jm.buying_committee(log, at="Demo")
    assert jm.buying_committee(log, at=("stage", "Demo")).at_kind == "stage"
    assert jm.buying_committee(log, at=("activity", "Demo")).at_kind == "activity"
    with pytest.raises(jm.InvalidParameterError, match=r"a stage of the log"):
        jm.buying_committee(log, at=("stage", "Visit"))


def test_outcome_names_are_checked(planted_log: jm.JourneyLog) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"'won' parameter"):
        jm.buying_committee(planted_log, outcomes={"signed": ["Signed"]}, at="Proposal")
    with pytest.raises(jm.SchemaError, match="none of the activities"):
        jm.buying_committee(planted_log, outcomes={"won": ["Nope"]}, at="Proposal")


def test_shared_and_missing_contacts_are_counted_and_warned() -> None:
    frame = planted(200, 4)
    consultant = frame["activity"] == "Demo"
    frame.loc[consultant & (frame["account"] < "A00050"), "contact"] = "consultant@agency"
    frame.loc[frame.index[:7], "contact"] = None
    with pytest.warns(jm.DataQualityWarning) as record:
        bc = jm.buying_committee(_log(frame), outcomes=OUT, at="Proposal")
    text = " ".join(str(w.message) for w in record)
    assert "7 of" in text and "have no contact" in text
    assert "1 contact made touches in more than one account" in text and "'consultant@agency' in" in text
    assert bc.unassigned == 7 and bc.shared_contacts == 1


def test_an_empty_log_is_refused(planted_log: jm.JourneyLog) -> None:
    with pytest.raises(jm.EmptyLogError):
        jm.buying_committee(planted_log.filter_activities(["Nope"]))


def test_a_predicate_outcome(planted_log: jm.JourneyLog) -> None:
    by_list = jm.buying_committee(planted_log, outcomes=OUT, at="Proposal").drivers
    by_predicate = jm.buying_committee(
        planted_log, outcomes={"won": lambda e: e["activity"] == "Signed", "lost": ["Lost"]}, at="Proposal"
    ).drivers
    pd.testing.assert_frame_equal(by_list, by_predicate)


# -- invariants ------------------------------------------------------------------------------


@st.composite
def committee_logs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    acts = ["Visit", "Demo", "Proposal", "Signed", "Lost"]
    rows = []
    t = pd.Timestamp("2024-01-01", tz="UTC")
    for _ in range(n):
        case = draw(st.sampled_from([f"A{i}" for i in range(8)]))
        contact = draw(st.one_of(st.none(), st.sampled_from(["c1", "c2", "c3", "c4"])))
        role = draw(st.sampled_from(["Champion", "User", "Buyer"]))
        act = draw(st.sampled_from(acts))
        rows.append((case, f"{case}-{contact}" if contact else None, role, act,
                     t + draw(st.integers(0, 50)) * DAY))
    return pd.DataFrame(rows, columns=["account", "contact", "role", "activity", "time"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(committee_logs())
def test_invariants(frame: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log = _log(frame)
        at = "Proposal" if "Proposal" in set(frame["activity"]) else None
        outcomes = OUT if {"Signed", "Lost"} <= set(frame["activity"]) else None
        bc = jm.buying_committee(log, outcomes=outcomes, at=at, random_state=0)
    acc = bc.accounts
    assert len(acc) == log.n_cases and list(acc["case"]) == list(log.cases["case"])
    assert (acc["touches"] <= log.cases.set_index("case").loc[acc["case"], "n_events"].to_numpy()).all()
    has = acc["contacts"] > 0
    assert ((acc.loc[has, "top_contact_share"] > 0) & (acc.loc[has, "top_contact_share"] <= 1)).all()
    assert bc.unassigned == int(log.events["contact"].isna().sum())
    if at is not None:
        reached = acc["milestone"].notna()
        assert (acc.loc[reached, "contacts_at"] <= acc.loc[reached, "contacts"]).all()
        assert acc.loc[~reached, "contacts_at"].isna().all()
    r = bc.roles
    assert ((r["share"] >= 0) & (r["share"] <= 1)).all() and (r["engaged"] <= r["accounts"]).all()
    # handovers: consecutive touches (events with a contact) by different contacts, counted naively
    ev = log.events
    ev = ev[ev["contact"].notna()]
    expected = 0
    for _, g in ev.groupby("case", sort=False):
        c = g["contact"].tolist()
        expected += sum(a != b for a, b in itertools.pairwise(c))
    assert int(bc.handover["count"].sum()) == expected
    if bc.has_drivers and len(bc.drivers):
        d = bc.drivers.dropna(subset=["p"])
        assert ((d["q"] >= d["p"] - 1e-12) & (d["q"] <= 1)).all()
    check_role_lists(bc)


# -- real logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["receipt", "sepsis", "running_example"])
def test_real_logs_with_their_resource_as_contact(name: str, shared_data: Path) -> None:
    """No public log has the customer's people, so the resource plays the contact here: a
    check that real distributions (shared people, missing values) go through, with warnings."""
    reader, n_cases, _ = LOGS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log = reader(shared_data)
        events = log.events
        assert "resource" in events.columns
        log2 = jm.JourneyLog.from_frame(  # events the same but for the resource are duplicates now
            events, case="case", activity="activity", timestamp="timestamp", contact="resource",
            event_attributes=[],
        )
    with pytest.warns(jm.DataQualityWarning, match="more than one account"):
        bc = jm.buying_committee(log2, at=log2.activities[0])
    assert len(bc.accounts) == log2.n_cases <= n_cases
    assert bc.shared_contacts > 0 and bc.summary["median_contacts"].iloc[0] >= 1


# -- the computation: role lists, bootstrap -----------------------------------------------------


def check_role_lists(bc: jm.BuyingCommittee) -> None:
    """``roles_by_<stage>`` grow stage by stage to every role of the account, in the order of
    their first touches (ties by name); ``roles_at`` holds those that touched by the milestone."""
    acc = bc.accounts
    roles = sorted(c.removeprefix("first_") for c in acc.columns if c.startswith("first_"))
    if not roles:
        return
    by = [f"roles_by_{s}" for s in bc.stages]
    for row in acc.to_dict("records"):
        joined = sorted((row[f"first_{r}"], r) for r in roles if not pd.isna(row[f"first_{r}"]))
        assert row[by[-1]] == tuple(r for _, r in joined) and len(joined) == row["roles"]
        for early, late in itertools.pairwise(by):
            assert all(r in row[late] for r in row[early])
            assert [r for r in row[late] if r in row[early]] == list(row[early])
        if "roles_at" in row:
            if pd.isna(row["milestone"]):
                assert row["roles_at"] is None
            else:
                assert row["roles_at"] == tuple(r for t, r in joined if t <= row["milestone"])


def test_role_lists_follow_the_first_touches(demo: jm.JourneyLog, planted_log: jm.JourneyLog) -> None:
    check_role_lists(jm.buying_committee(demo, outcomes=DEMO_OUTCOMES, at="Proposal sent", random_state=0))
    check_role_lists(jm.buying_committee(planted_log, at="Proposal", random_state=0))
    check_role_lists(jm.buying_committee(demo, random_state=0))


def test_bootstrap_medians_drawn_directly_match_resampling() -> None:
    """Above ``_RESAMPLE_MAX`` values each bootstrap median is drawn from its exact
    distribution instead of resampling every value: the two agree (odd and even n, ties)."""
    from scipy import stats

    from journeymine._committee import _RESAMPLE_MAX, _bootstrap_median, _direct_medians

    rng = np.random.default_rng(0)
    for n in (7, 8, 1_001, 1_002):
        values = np.sort(np.round(rng.lognormal(2.0, 1.0, n), 1))
        direct = _direct_medians(values, np.random.default_rng(1), 4_000)
        idx = np.random.default_rng(2).integers(0, n, size=(4_000, n))
        resampled = np.median(values[idx], axis=1)
        assert stats.ks_2samp(direct, resampled).pvalue > 0.01, n
        if n % 2:
            assert set(direct) <= set(values)
    big = np.sort(rng.lognormal(2.0, 1.0, _RESAMPLE_MAX + 1))
    lo, hi = _bootstrap_median(big, np.random.default_rng(3))
    assert lo < np.median(big) < hi and (lo, hi) == _bootstrap_median(big, np.random.default_rng(3))


@pytest.mark.parametrize("n", [2, 3, 8, 9, 500, 1_001, 4_096, 9_999, 10_000])
def test_bootstrap_median_equals_resampling_the_values(n: int) -> None:
    """The middle indices of each resample give np.median of the resampled values, bit for
    bit (odd and even n, ties; every size up to ``_RESAMPLE_MAX``)."""
    from journeymine._committee import _bootstrap_median

    values = np.sort(np.round(np.random.default_rng(n).lognormal(2.0, 1.0, n), 1))
    rng = np.random.default_rng(7)
    meds = np.median(values[rng.integers(0, n, size=(200, n))], axis=1)
    lo, hi = np.percentile(meds, [2.5, 97.5])
    assert _bootstrap_median(values, np.random.default_rng(7)) == (float(lo), float(hi))


# -- regressions from the second read ------------------------------------------------------


def _frame(rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


T0 = pd.Timestamp("2024-01-01", tz="UTC")


def test_an_outcome_at_the_milestone_is_not_engagement_by_it() -> None:
    # the first "decision" event is the outcome itself, made by Procurement when won: an
    # analysis that kept those accounts would find Procurement winning 100% against 0%
    rows = []
    for i in range(40):
        c = f"A{i}"
        rows.append((c, "Visit", T0 + i * DAY, f"{c}-1", "Champion", "awareness"))
        if i % 2 == 0:
            rows.append((c, "Won", T0 + (i + 5) * DAY, f"{c}-2", "Procurement", "decision"))
        else:
            rows.append((c, "Lost", T0 + (i + 5) * DAY, f"{c}-1", "Champion", "decision"))
    log = _log(_frame(rows, ["account", "activity", "time", "contact", "role", "stage"]), stage="stage")
    bc = jm.buying_committee(log, outcomes={"won": ["Won"], "lost": ["Lost"]}, at="decision")
    d = bc.drivers
    assert (d["n_with"] + d["n_without"] + d["open_with"] + d["open_without"] == 0).all()
    assert not any("Procurement engaged by" in s for s in bc.explain())
    with pytest.raises(jm.InvalidParameterError, match=r"'Won' is an activity of the outcome 'won'"):
        jm.buying_committee(log, outcomes={"won": ["Won"], "lost": ["Lost"]}, at="Won")


def test_the_outcome_counts_as_kpis_do() -> None:
    # lost, re-engaged, won: kpis counts it as won, and so does the committee
    rows = [("A", "Visit", T0, "a1", "Champion"), ("A", "Lost", T0 + DAY, "a1", "Champion"),
            ("A", "Visit", T0 + 30 * DAY, "a2", "User"), ("A", "Signed", T0 + 40 * DAY, "a2", "User")]
    bc = jm.buying_committee(_log(_frame(rows, ["account", "activity", "time", "contact", "role"])), outcomes=OUT)
    assert bc.accounts["outcome"].tolist() == ["won"] and bc.accounts["closed"].iloc[0] == T0 + 40 * DAY


def test_accounts_without_a_known_contact_are_not_in_the_drivers() -> None:
    frame = planted(300, 5)
    unknown = frame["account"] < "A00030"
    frame.loc[unknown, "contact"] = None
    with pytest.warns(jm.DataQualityWarning, match="have no contact"):
        bc = jm.buying_committee(_log(frame), outcomes=OUT, at="Proposal")
    d = bc.drivers.set_index("feature").loc["Champion"]
    reached = bc.accounts[bc.accounts["milestone"].notna() & (bc.accounts["contacts"] > 0)]
    assert d["n_with"] + d["open_with"] + d["n_without"] + d["open_without"] == len(reached) == 270


def test_kaplan_meier_rates_at_one_horizon_with_open_accounts_censored_at_the_log_end() -> None:
    # group "with" (Sponsor by the proposal) is followed for 10 days, "without" for 300:
    # both rates are read at 10 days, where "without" has won nothing yet
    rows = []
    for i in range(30):
        c = f"S{i}"
        rows += [(c, "Meeting", T0, f"{c}-s", "Sponsor"), (c, "Proposal", T0 + DAY, f"{c}-c", "Champion")]
        if i < 20:
            rows.append((c, "Signed", T0 + 11 * DAY, f"{c}-c", "Champion"))
    for i in range(30):
        c = f"N{i}"
        rows.append((c, "Proposal", T0 + DAY, f"{c}-c", "Champion"))
        if i < 20:
            rows.append((c, "Signed", T0 + 301 * DAY, f"{c}-c", "Champion"))
    log = _log(_frame(rows, ["account", "activity", "time", "contact", "role"]))
    bc = jm.buying_committee(log, outcomes={"won": ["Signed"]}, at="Proposal")
    sponsor = bc.drivers.set_index("feature").loc["Sponsor"]
    # the open "with" accounts are censored at the log's end (day 301), not at their own
    # last event (day 1), so "with" is followed for 300 days too and the horizon is 300
    assert sponsor["horizon_days"] == pytest.approx(300.0)
    assert sponsor["rate_with"] == pytest.approx(20 / 30) and sponsor["rate_without"] == pytest.approx(20 / 30)
    assert sponsor["test"] == "log-rank" and sponsor["p"] < 0.05  # sooner, not more often
    assert not any(s.startswith("Accounts with a Sponsor") for s in bc.explain())  # the CI spans 0


def test_a_role_that_joins_before_the_milestone_is_not_called_late() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(600):
        c, reach = f"A{i}", i < 300
        rows.append((c, "Visit", T0 + i * DAY, f"{c}-1", "Champion"))
        if rng.random() < (0.1 if reach else 0.8):
            rows.append((c, "Webinar", T0 + (i + 1) * DAY, f"{c}-3", "User"))  # before any milestone
        if reach:
            rows.append((c, "Proposal", T0 + (i + 5) * DAY, f"{c}-1", "Champion"))
            rows.append((c, "Signed" if rng.random() < 0.5 else "Lost", T0 + (i + 9) * DAY, f"{c}-1", "Champion"))
    bc = jm.buying_committee(_log(_frame(rows, ["account", "activity", "time", "contact", "role"])),
                             outcomes=OUT, at="Proposal")
    assert not any("joins after" in s for s in bc.explain())


def test_report_with_no_testable_driver() -> None:
    rows = []
    for i in range(12):
        c = f"A{i}"
        rows += [(c, "Visit", T0 + i * DAY, f"{c}-1", "Champion"),
                 (c, "Proposal", T0 + (i + 1) * DAY, f"{c}-2", "Economic buyer"),
                 (c, "Signed", T0 + (i + 3) * DAY, f"{c}-1", "Champion")]
    log = _log(_frame(rows, ["account", "activity", "time", "contact", "role"]))
    html = jm.report(log, outcomes={"won": ["Signed"]}, lost=None, committee_at="Proposal", generated=False)
    assert "Buying committee" in html and "could be tested" in html


@pytest.mark.parametrize("at", [None, "Proposal sent", "decision"])
def test_committee_arrays_equal_the_accounts_table(demo: jm.JourneyLog, at: str | None) -> None:
    # what compare_cohorts reads, computed without the accounts table, is that table's values
    from journeymine._committee import build_committee, committee_arrays

    bc = build_committee(demo, outcomes=None, at=at, by=None, won="won", lost="lost", random_state=0,
                         owner="compare_cohorts", param="committee_at")
    acc, roles = bc.accounts, sorted(set(bc.roles["role"]))
    sized, size, engaged = committee_arrays(demo, at=at, owner="compare_cohorts", param="committee_at")
    if at is None:
        want_sized, want_size = (acc["contacts"] > 0).to_numpy(), acc["contacts"].to_numpy(float)
        want = {r: acc[f"first_{r}"].notna().to_numpy() for r in roles}
    else:
        want_sized, want_size = acc["milestone"].notna().to_numpy(), acc["contacts_at"].fillna(0).to_numpy(float)
        want = {r: np.array([bool(v) and r in v for v in acc["roles_at"]]) for r in roles}
    assert 0 < sized.sum() and np.array_equal(sized, want_sized) and np.array_equal(size, want_size)
    assert list(engaged) == roles and all(np.array_equal(engaged[r], want[r]) for r in roles)
