"""Buying committees in compare_cohorts and the journey report: the committee table, its
joint FDR, the planted demo effect, the report section with and without drivers, and escaping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

import journeymine as jm
from journeymine import _stats as st
from journeymine._cli import main

OUT = jm.datasets.DEMO_OUTCOMES
COLUMNS = [
    "kind", "group_a", "group_b", "feature", "n_a", "n_b", "x_a", "x_b", "share_a", "share_b",
    "median_a", "median_b", "difference", "ci_low", "ci_high", "cohens_h", "rank_biserial", "ratio",
    "test", "p", "q",
]
EVIL = "<script>alert('x')</script>"
KEYS = dict(case="account_id", activity="touchpoint", timestamp="timestamp", case_attributes=["segment"])


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return jm.datasets.demo_b2b(n_accounts=400, random_state=0, as_frame=True)


@pytest.fixture(scope="module")
def demo3000() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)


def _section(html: str, name: str) -> str:
    part = html[html.index(f'<section id="{name}">'):]
    return part[: part.index("</section>")]


# -- compare_cohorts ---------------------------------------------------------------------------


def test_the_committee_table_and_one_adjustment_over_every_table(frame: pd.DataFrame) -> None:
    log = jm.JourneyLog.from_frame(frame, contact="contact_id", role="contact_role", **KEYS)
    cmp = jm.compare_cohorts(log, by="segment", outcomes=OUT, n_permutations=19, random_state=0)
    c = cmp.committee
    assert list(c.columns) == COLUMNS
    assert set(c["kind"]) == {"multi_threading", "committee_size", "role_coverage"}
    assert len(c) == 3 * (2 + 6)  # three comparisons: multi-threaded, size, six roles
    assert c["q"].between(0, 1).all() and (c["q"] >= c["p"] - 1e-12).all()
    shares = c[c["kind"] != "committee_size"]
    assert np.allclose(shares["share_a"], shares["x_a"] / shares["n_a"])
    assert ((shares["ci_low"] <= shares["difference"]) & (shares["difference"] <= shares["ci_high"])).all()
    sizes = c[c["kind"] == "committee_size"]
    assert (sizes["test"] == "mann-whitney").all() and sizes["share_a"].isna().all()
    # one Benjamini-Hochberg adjustment over every test of the call, committee included
    tables = [(cmp.transitions, "p", "q"), (cmp.activities, "p", "q"), (cmp.durations, "p", "q"),
              (cmp.outcomes, "p", "q"), (cmp.outcomes, "p_time", "q_time"), (cmp.variants, "p", "q"), (c, "p", "q")]
    p = np.concatenate([t[pc].to_numpy(dtype=float) for t, pc, _ in tables])
    q = np.concatenate([t[qc].to_numpy(dtype=float) for t, _, qc in tables])
    assert np.allclose(st.bh_qvalues(p), q, equal_nan=True)
    # everywhere the result goes
    assert {"multi_threading", "committee_size", "role_coverage"} <= set(cmp.to_dataframe()["kind"])
    assert len(json.loads(json.dumps(cmp.to_dict()))["committee"]) == len(c)
    assert "multi-threaded" in cmp.to_latex(kind="committee", significant_only=False)
    assert "committee" in cmp._repr_html_() and "multi-threaded" in cmp._repr_html_()


def test_the_demo_plants_multi_threading_in_enterprise(demo3000: jm.JourneyLog) -> None:
    for at in (None, "Proposal sent"):
        cmp = jm.compare_cohorts(demo3000, by="segment", committee_at=at, n_permutations=19, random_state=0)
        c = cmp.committee.set_index(["group_a", "feature"])
        ent = c.loc[("Enterprise", "multi-threaded")]
        assert ent["group_b"] == "(rest)" and ent["share_a"] > ent["share_b"] + 0.15 and ent["q"] < 0.05
        assert c.loc[("Enterprise", "contacts"), "median_a"] > c.loc[("Enterprise", "contacts"), "median_b"]
        said = " ".join([*cmp.summary["finding"], *(s for rel in cmp.summary["related"] for s in rel)])
        by = " by Proposal sent" if at else ""
        assert f"Enterprise accounts are multi-threaded (two or more contacts){by} 1." in said
        assert f"Enterprise accounts engage the Economic buyer role{by}" in said
    assert cmp.committee_at == "Proposal sent" and cmp.committee_at_kind == "activity"


def test_role_coverage_by_the_milestone_counts_what_was_engaged_by_then(demo3000: jm.JourneyLog) -> None:
    """Procurement joins late: over the whole journey it covers far more accounts than by
    Proposal sent, and by then only the accounts that reached it count."""
    whole = jm.compare_cohorts(demo3000, by="segment", n_permutations=0, random_state=0).committee
    by_then = jm.compare_cohorts(demo3000, by="segment", committee_at="Proposal sent", n_permutations=0,
                                 random_state=0).committee
    key = ["group_a", "feature"]
    w, b = whole.set_index(key), by_then.set_index(key)
    assert w.loc[("Enterprise", "Procurement"), "share_a"] > 2 * b.loc[("Enterprise", "Procurement"), "share_a"]
    bc = jm.buying_committee(demo3000, at="Proposal sent", by="segment")
    reached = bc.summary.set_index("cohort")["reached"]
    assert b.loc[("Enterprise", "Procurement"), "n_a"] == reached["Enterprise"]
    assert w.loc[("Enterprise", "Procurement"), "n_a"] == bc.summary.set_index("cohort").loc["Enterprise", "accounts"]


def test_without_contacts_the_table_is_empty_and_nothing_else_changes(frame: pd.DataFrame) -> None:
    plain = jm.JourneyLog.from_frame(frame, **KEYS)
    cmp = jm.compare_cohorts(plain, by="segment", outcomes=OUT, n_permutations=19, random_state=0)
    assert list(cmp.committee.columns) == COLUMNS and cmp.committee.empty
    assert cmp.to_dict()["committee"] == [] and cmp.committee_at is None
    assert not cmp.summary["kind"].isin(["multi_threading", "committee_size", "role_coverage"]).any()
    # with contacts, the other tests are the same (the committee draws from the generator last);
    # only their q moves, adjusted together with the committee's
    rich = jm.compare_cohorts(jm.JourneyLog.from_frame(frame, contact="contact_id", role="contact_role", **KEYS),
                              by="segment", outcomes=OUT, n_permutations=19, random_state=0)
    for name in ("transitions", "activities", "durations", "outcomes", "variants"):
        a, b = getattr(cmp, name), getattr(rich, name)
        pd.testing.assert_frame_equal(a.drop(columns=[c for c in a if c.startswith("q")]),
                                      b.drop(columns=[c for c in b if c.startswith("q")]))


def test_contacts_without_roles_compare_threading_and_size(frame: pd.DataFrame) -> None:
    log = jm.JourneyLog.from_frame(frame, contact="contact_id", **KEYS)
    c = jm.compare_cohorts(log, by="segment", committee_at=("stage", "decision"), n_permutations=0,
                           random_state=0).committee
    assert set(c["kind"]) == {"multi_threading", "committee_size"}


def test_committee_at_is_checked_like_at(frame: pd.DataFrame) -> None:
    plain = jm.JourneyLog.from_frame(frame, **KEYS)
    with pytest.raises(jm.SchemaError, match=r"compare_cohorts needs a contact column.*contact='contact_id'"):
        jm.compare_cohorts(plain, by="segment", committee_at="Proposal sent")
    with pytest.raises(jm.SchemaError, match=r"report needs a contact column"):
        jm.report(plain, committee_at="Proposal sent")
    log = jm.JourneyLog.from_frame(frame, contact="contact_id", **KEYS)
    for call, owner in ((lambda at: jm.compare_cohorts(log, by="segment", committee_at=at), "compare_cohorts"),
                        (lambda at: jm.report(log, committee_at=at), "report")):
        with pytest.raises(jm.InvalidParameterError,
                           match=rf"'committee_at' parameter of {owner} must be .*did you mean 'Proposal sent'"):
            call("Proposal snt")
        with pytest.raises(jm.InvalidParameterError, match=rf"'committee_at' parameter of {owner}"):
            call(3)
        with pytest.raises(jm.InvalidParameterError, match=r"must be a stage of the log"):
            call(("stage", "Proposal sent"))


# -- the report --------------------------------------------------------------------------------


def test_the_section_with_contacts_and_drivers_only_with_committee_at(frame: pd.DataFrame) -> None:
    log = jm.JourneyLog.from_frame(frame, contact="contact_id", role="contact_role", **KEYS)
    html = jm.report(log, by="segment", outcomes=OUT, generated=False, max_clusters=2)
    sec = _section(html, "committee")
    assert '<a href="#committee">Buying committee</a>' in html
    assert html.index('<section id="kpis">') < html.index('<section id="committee">') < html.index(
        '<section id="journeys">')
    assert "<svg" in sec and "Role coverage by stage" in sec and "Economic buyer" in sec
    assert "What goes with winning" not in sec and "pass committee_at=" in sec
    assert "Buying committee: an account" in _section(html, "methods")
    with_at = jm.report(log, by="segment", outcomes=OUT, committee_at="Proposal sent", generated=False, max_clusters=2)
    sec = _section(with_at, "committee")
    assert "What goes with winning, by Proposal sent" in sec and "pass committee_at=" not in sec
    bc = jm.buying_committee(log, outcomes=OUT, at="Proposal sent", by="segment", random_state=0)
    for sentence in bc.explain():
        assert str(escape(sentence)) in sec
    assert "<th>by Proposal sent</th>" in sec  # coverage by the milestone
    assert "committees by Proposal sent" in _section(with_at, "methods")
    # outcomes but no milestone, and a milestone but no outcomes: one sentence on how
    no_out = _section(jm.report(log, committee_at="Proposal sent", generated=False, max_clusters=2), "committee")
    assert "What goes with winning" not in no_out and "needs outcomes" in no_out


def test_no_section_without_contacts(frame: pd.DataFrame) -> None:
    html = jm.report(jm.JourneyLog.from_frame(frame, **KEYS), by="segment", outcomes=OUT, generated=False, max_clusters=2)
    assert '<section id="committee">' not in html and "Buying committee" not in html
    assert "committees" not in _section(html, "methods")


def test_hostile_roles_contacts_and_cohorts_are_escaped(frame: pd.DataFrame) -> None:
    evil = frame.copy()
    evil["contact_role"] = evil["contact_role"].replace({"Economic buyer": EVIL, "User": "<b>User</b>"})
    evil["contact_id"] = "<img src=x onerror=alert(1)>" + evil["contact_id"]
    evil["segment"] = evil["segment"].replace({"SMB": "<i>SMB</i>"})
    log = jm.JourneyLog.from_frame(evil, contact="contact_id", role="contact_role", **KEYS)
    html = jm.report(log, by="segment", outcomes=OUT, committee_at="Proposal sent", generated=False, max_clusters=2)
    sec = _section(html, "committee")
    assert "<script" not in html and "<b>User" not in html and "<img" not in html and "<i>SMB" not in html
    assert "&lt;script&gt;" in sec and "&lt;b&gt;User" in sec and "&lt;i&gt;SMB" in sec
    shown = jm.compare_cohorts(log, by="segment", n_permutations=0, random_state=0)._repr_html_()
    assert "<script" not in shown and "&lt;b&gt;User" in shown


def test_cli_maps_contacts_and_the_demo_shows_drivers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(200, random_state=0, as_frame=True).to_csv(src, index=False)
    out = tmp_path / "r.html"
    args = ["report", str(src), "--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp",
            "--contact", "contact_id", "--role", "contact_role", "--outcome", "won=Contract signed",
            "--outcome", "lost=Closed lost", "--committee-at", "Proposal sent", "-o", str(out)]
    assert main(args) == 0
    assert "What goes with winning, by Proposal sent" in _section(out.read_text(), "committee")
    assert main([*args[:8], "--committee-at", "Proposal sent", "-o", str(out)]) == 2
    assert "report needs a contact column" in capsys.readouterr().err
    demo = tmp_path / "demo.html"
    assert main(["demo", "--accounts", "150", "-o", str(demo)]) == 0
    assert "What goes with winning, by Proposal sent" in _section(demo.read_text(), "committee")
