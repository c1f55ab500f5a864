"""The committee map: a lane per role and a column per stage, read back from the SVG; the
lane order; cohorts as tracks; hostile names escaped and shortened with a tooltip; the same
bytes twice; the milestone line and the win-rate badges; no overlapping or clipped text
(the subway audit reads any SVG's texts); saving."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine._committee_draw import committee_svg
from journeymine._subway_audit import audit_svg

try:
    from defusedxml.ElementTree import fromstring as parse_xml
except ImportError:  # our own output: the standard parser is fine
    parse_xml = ET.fromstring

NS = "{http://www.w3.org/2000/svg}"
STAGES = ["Discover", "Evaluate", "Buy", "Adopt"]
EVIL_ROLE = "<script>alert(1)</script>"
EVIL_COHORT = 'R&D "north" & <i>co</i>'
EVIL_STAGE = "Evaluate & <b>compare</b>"


def _frame(
    n_cases: int = 60,
    *,
    roles: dict[str, int] | None = None,
    stages: list[str] = STAGES,
    cohorts: tuple[str, ...] = ("North",),
    seed: int = 0,
) -> pd.DataFrame:
    """One contact per (account, role); role ``r`` makes its first touch in stage ``roles[r]``
    and one more in the next stage; every account starts with a Champion touch."""
    roles = roles if roles is not None else {"Champion": 0, "Technical evaluator": 1, "Economic buyer": 2}
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cases):
        t0 = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        region = cohorts[c % len(cohorts)]
        for i, (role, stage) in enumerate(roles.items()):
            if role != "Champion" and rng.random() < 0.3:
                continue
            for k in sorted({stage, min(stage + 1, len(stages) - 1)}):
                rows.append(
                    {
                        "account": f"a{c}",
                        "activity": f"touch {k}",
                        "at": t0 + pd.Timedelta(days=10 * k + int(rng.integers(0, 5)), hours=i),
                        "person": f"a{c}/{role}",
                        "role": role,
                        "stage": stages[k],
                        "region": region,
                    }
                )
    return pd.DataFrame(rows)


def _log(df: pd.DataFrame, *, stages: list[str] = STAGES, role: bool = True) -> jm.JourneyLog:
    return jm.JourneyLog.from_frame(
        df if role else df.drop(columns="role"),  # a column named "role" would play that part
        case="account",
        activity="activity",
        timestamp="at",
        contact="person",
        role="role" if role else None,
        stage="stage",
        stage_order=[s for s in stages if s in set(df["stage"])],
        case_attributes=["region"],
    )


def _parse(svg: str) -> ET.Element:
    root = parse_xml(svg)
    assert root.tag == f"{NS}svg"
    return root


def _groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if cls in (g.get("class") or "").split()]


def _texts(el: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in el.iter(f"{NS}text") if t.get("fill") != "none"]


def _titles(el: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in el.iter(f"{NS}title")]


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)


def test_a_lane_per_role_and_a_column_per_stage() -> None:
    bc = jm.buying_committee(_log(_frame()), random_state=0)
    root = _parse(bc.committee_map_svg())
    lanes = _groups(root, "lane")
    assert [g.get("data-role") for g in lanes] == ["Champion", "Technical evaluator", "Economic buyer"]
    assert [g.get("data-stage") for g in _groups(root, "stage")] == STAGES
    for lane in lanes:
        assert len(_groups(lane, "track")) == 1  # one cohort
        assert lane.get("data-role") in _texts(lane)
    # every stage a role touches has a disc; its label is the share engaged
    champion = lanes[0]
    assert len(_groups(champion, "cell")) == 2
    assert "100%" in _texts(champion)
    assert len(_groups(root, "join")) == 3
    assert audit_svg(bc.committee_map_svg()).empty


def test_lanes_follow_when_roles_join_not_their_names() -> None:
    roles = {"Zed early": 0, "Mid": 1, "Aardvark late": 2}
    bc = jm.buying_committee(_log(_frame(roles=roles)), random_state=0)
    lanes = _groups(_parse(bc.committee_map_svg()), "lane")
    assert [g.get("data-role") for g in lanes] == ["Zed early", "Mid", "Aardvark late"]


def test_three_cohorts_share_one_layout_largest_first() -> None:
    df = _frame(90, cohorts=("North", "South", "West"))
    df = df[~((df["region"] == "West") & (df["account"].str[1:].astype(int) > 60))]  # West smaller
    bc = jm.buying_committee(_log(df), by="region", random_state=0)
    svg = bc.committee_map_svg()
    root = _parse(svg)
    assert bc.cohorts[-1] == "West"
    for lane in _groups(root, "lane"):
        assert [t.get("data-cohort") for t in _groups(lane, "track")] == list(bc.cohorts)
    # each track's colour is its cohort's, the same in every lane
    colours = {
        (t.get("data-cohort"), c.get("fill"))
        for t in _groups(root, "track")
        for c in t.iter(f"{NS}circle")
        if c.get("r") == "4"
    }
    assert len(colours) == 3 and len({c for _, c in colours}) == 3
    assert audit_svg(svg).empty


def test_hostile_names_are_escaped_and_long_ones_shortened_with_a_tooltip() -> None:
    long_role = "Head of procurement and vendor management " * 6
    roles = {"Champion": 0, EVIL_ROLE: 1, long_role: 2, "A&B": 0}
    stages = ["Discover", EVIL_STAGE, "Buy", "Adopt"]
    df = _frame(80, roles=roles, stages=stages, cohorts=(EVIL_COHORT, "x" * 300))
    bc = jm.buying_committee(_log(df, stages=stages), by="region", at=EVIL_STAGE, random_state=0)
    svg = bc.committee_map_svg()
    root = _parse(svg)  # well-formed
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg and "A&amp;B" in svg
    assert {g.get("data-role") for g in _groups(root, "lane")} == set(roles)
    assert [g.get("data-stage") for g in _groups(root, "stage")] == stages
    assert {g.get("data-cohort") for g in _groups(root, "track")} == {EVIL_COHORT, "x" * 300}
    shown = _texts(root)
    assert EVIL_STAGE in " ".join(shown) or any(t.endswith("…") for t in shown)
    # the long role is cut with "…", and its whole name is the tooltip
    lane = next(g for g in _groups(root, "lane") if g.get("data-role") == long_role)
    assert any(t.endswith("…") for t in _texts(lane))
    assert long_role in _titles(lane)
    assert any(t.startswith("by ") for t in _texts(_groups(root, "milestone")[0]))
    assert audit_svg(svg).empty  # nothing overlaps, nothing leaves the drawing


def test_same_input_same_bytes() -> None:
    df = _frame(70, cohorts=("North", "South"))
    first = jm.buying_committee(_log(df), by="region", at="Buy", random_state=0).committee_map_svg()
    again = jm.buying_committee(_log(df), by="region", at="Buy", random_state=0).committee_map_svg()
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = jm.buying_committee(_log(shuffled), by="region", at="Buy", random_state=1).committee_map_svg()
    assert first == again == other


def test_without_a_role_column_the_map_says_so() -> None:
    bc = jm.buying_committee(_log(_frame(), role=False), random_state=0)
    svg = bc.committee_map_svg()
    root = _parse(svg)
    assert _groups(root, "lane") == []
    assert any(t.startswith("No roles in this log") for t in _texts(root))
    assert [g.get("data-stage") for g in _groups(root, "stage")] == STAGES
    assert audit_svg(svg).empty


def test_a_stage_milestone_is_a_dashed_line_labelled_by_it() -> None:
    log = _log(_frame())
    root = _parse(jm.buying_committee(log, at="Buy", random_state=0).committee_map_svg())
    (milestone,) = _groups(root, "milestone")
    assert "by Buy" in _texts(milestone)
    line = milestone.find(f"{NS}line")
    assert line is not None and line.get("stroke-dasharray")
    # at the start of the stage's column: the rule of that stage
    rule = _groups(root, "stage")[STAGES.index("Buy")].find(f"{NS}line")
    assert rule is not None and line.get("x1") == rule.get("x1")
    assert any(t == "by Buy" for t in _texts(root))
    assert _groups(_parse(jm.buying_committee(log, random_state=0).committee_map_svg()), "milestone") == []


def test_an_activity_milestone_is_drawn_where_its_stage_is_known(demo: jm.JourneyLog) -> None:
    bc = jm.buying_committee(demo, at="Proposal sent", random_state=0)
    assert bc.at_stage == "decision"  # the result records the activity's stage
    root = _parse(bc.committee_map_svg())
    (milestone,) = _groups(root, "milestone")
    assert "by Proposal sent" in _texts(milestone)
    assert committee_svg(bc, at_stage="decision") == bc.committee_map_svg()


def test_badges_for_the_roles_that_drive_the_win(demo: jm.JourneyLog) -> None:
    bc = jm.buying_committee(
        demo, outcomes=jm.datasets.DEMO_OUTCOMES, at="Proposal sent", by="segment", random_state=0
    )
    svg = bc.committee_map_svg()
    root = _parse(svg)
    roles = bc.roles
    sig = roles[roles["q"] < 0.05]
    assert len(sig) >= 3  # the demo plants the Economic buyer
    badges = [
        (lane.get("data-role"), track.get("data-cohort"), _texts(badge)[0])
        for lane in _groups(root, "lane")
        for track in _groups(lane, "track")
        for badge in _groups(track, "badge")
    ]
    expected = {
        (r.role, r.cohort, f"{r.rate_with:.0%} vs {r.rate_without:.0%}") for r in sig.itertuples(index=False)
    }
    assert set(badges) == expected and len(badges) == len(expected)
    # lanes in the order roles join: the champion first, procurement (joins while contracting) last
    order = [g.get("data-role") for g in _groups(root, "lane")]
    assert order[0] == "Champion" and order[-1] == "Procurement"
    assert audit_svg(svg).empty


@pytest.mark.parametrize(("n_cohorts", "n_roles", "n_stages"), [(1, 1, 2), (8, 12, 8), (5, 7, 3)])
def test_sizes_stay_legible(n_cohorts: int, n_roles: int, n_stages: int) -> None:
    stages = [f"Stage {i}" for i in range(n_stages)]
    roles = {f"Role {i:02d}": min(i * n_stages // max(n_roles, 1), n_stages - 1) for i in range(n_roles)}
    roles["Champion"] = 0
    df = _frame(
        16 * n_cohorts, roles=roles, stages=stages, cohorts=tuple(f"Cohort {i}" for i in range(n_cohorts))
    )
    bc = jm.buying_committee(_log(df, stages=stages), by="region", random_state=0)
    svg = bc.committee_map_svg()
    root = _parse(svg)
    assert len(_groups(root, "lane")) == len(roles)
    assert len(_groups(root, "stage")) == n_stages
    assert len(_groups(root, "track")) == len(roles) * n_cohorts
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))  # type: ignore[union-attr]
    assert 560 <= width <= 1700
    assert audit_svg(svg).empty


def test_save_writes_svg_or_html_whole(tmp_path: Path) -> None:
    bc = jm.buying_committee(_log(_frame(cohorts=("N", "S"))), by="region", random_state=0)
    svg = bc.save(tmp_path / "map.svg")
    assert svg == tmp_path / "map.svg"
    assert svg.read_text(encoding="utf-8") == bc.committee_map_svg()
    page = bc.save(tmp_path / "map.HTML").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and bc.committee_map_svg() in page and "<script" not in page
    with pytest.raises(jm.InvalidParameterError, match=r"'path' parameter of BuyingCommittee.save must be"):
        bc.save(tmp_path / "map.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.HTML", "map.svg"]  # no temporary file left
    html = bc._repr_mimebundle_()
    assert bc.committee_map_svg() in html["text/html"] and "text/plain" in html
