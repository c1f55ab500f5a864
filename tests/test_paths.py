"""jm.paths: the paths into and out of an event, with exact counts, and its Sankey."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine._cohorts import Cohorts
from journeymine._paths import END, START

S, E = START, END


def log_of(journeys: dict[str, list[str]], **attrs: dict[str, str]) -> jm.JourneyLog:
    """A log with one event a day per journey, in the order given."""
    rows = []
    for case, acts in journeys.items():
        for i, a in enumerate(acts):
            row = {
                "case": case,
                "activity": a,
                "at": pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=i),
            }
            row.update({k: v[case] for k, v in attrs.items()})
            rows.append(row)
    return jm.JourneyLog.from_frame(
        pd.DataFrame(rows), case="case", activity="activity", timestamp="at", case_attributes=list(attrs)
    )


#: D is the anchor; C never has it
SMALL = {
    "A": ["V", "V", "D", "P", "D", "C"],
    "B": ["D", "P"],
    "C": ["V", "P"],
    "D": ["W", "V", "D", "D", "P"],
}


def node_counts(p: jm.JourneyPaths, cohort: str = "(all)") -> dict[int, dict[str, int]]:
    n = p.nodes[p.nodes["cohort"] == cohort]
    out: dict[int, dict[str, int]] = {}
    for pos, node, count in zip(n["position"], n["node"], n[p.unit], strict=True):
        out.setdefault(int(pos), {})[node] = int(count)
    return out


def link_counts(p: jm.JourneyPaths, cohort: str = "(all)") -> dict[tuple[int, str, str], int]:
    ln = p.links[p.links["cohort"] == cohort]
    return {
        (int(a), f, t): int(c)
        for a, f, t, c in zip(ln["from_position"], ln["from"], ln["to"], ln[p.unit], strict=True)
    }


@pytest.fixture(scope="module")
def small() -> jm.JourneyLog:
    return log_of(SMALL)


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=400, random_state=0)


# -- hand-computed counts ----------------------------------------------------------------------


def test_first_occurrence_with_repeats_collapsed(small: jm.JourneyLog) -> None:
    # collapsed: A = V D P D C, B = D P, C = V P, D = W V D P
    p = jm.paths(small, "D", before=2, after=2)
    assert node_counts(p) == {
        -2: {"W": 1, S: 2},
        -1: {"V": 2, S: 1},
        0: {"D": 3},
        1: {"P": 3},
        2: {"D": 1, E: 2},
    }
    assert link_counts(p) == {
        (-2, "W", "V"): 1,
        (-2, S, "V"): 1,
        (-2, S, S): 1,
        (-1, "V", "D"): 2,
        (-1, S, "D"): 1,
        (0, "D", "P"): 3,
        (1, "P", "D"): 1,
        (1, "P", E): 2,
    }
    row = p.summary.iloc[0]
    assert (row["accounts"], row["with_anchor"], row["without_anchor"], row["anchors"]) == (4, 3, 1, 3)
    assert (row["distinct_before"], row["distinct_after"]) == (3, 2)  # (S,V) (S,S) (W,V); (P,D) (P,E)
    assert p.unit == "accounts" and "accounts" in p.links.columns
    assert p.layout[2] == (("D", "anchor"),)


def test_last_occurrence(small: jm.JourneyLog) -> None:
    p = jm.paths(small, "D", before=2, after=2, occurrence="last")
    # A's last D is after P: V D P [D] C
    assert node_counts(p) == {
        -2: {"D": 1, "W": 1, S: 1},
        -1: {"P": 1, "V": 1, S: 1},
        0: {"D": 3},
        1: {"C": 1, "P": 2},
        2: {E: 3},
    }


def test_every_occurrence_counts_occurrences(small: jm.JourneyLog) -> None:
    p = jm.paths(small, "D", before=1, after=1, occurrence="every")
    assert p.unit == "occurrences" and "occurrences" in p.links.columns and "accounts" not in p.links.columns
    assert node_counts(p) == {-1: {"V": 2, "P": 1, S: 1}, 0: {"D": 4}, 1: {"P": 3, "C": 1}}
    row = p.summary.iloc[0]
    assert (row["anchors"], row["with_anchor"], row["unit"]) == (4, 3, "occurrences")
    assert "occurrences" in repr(p)


def test_repeats_kept(small: jm.JourneyLog) -> None:
    p = jm.paths(small, "D", before=2, after=2, collapse_repeats=False, occurrence="every")
    # A: V V [D] P [D] C ; B: [D] P ; D: W V [D] [D] P
    assert node_counts(p)[-1] == {"V": 2, "P": 1, "D": 1, S: 1}
    assert node_counts(p)[1] == {"P": 3, "C": 1, "D": 1}
    assert p.summary["anchors"].iloc[0] == 5


def test_only_before_or_only_after(small: jm.JourneyLog) -> None:
    p = jm.paths(small, "D", before=0, after=1)
    assert p.positions == (0, 1) and link_counts(p) == {(0, "D", "P"): 3}
    q = jm.paths(small, "D", before=1, after=0)
    assert q.positions == (-1, 0) and link_counts(q) == {(-1, "V", "D"): 2, (-1, S, "D"): 1}
    assert q.summary["distinct_after"].iloc[0] == 1  # the anchor alone


def test_several_activities_as_one_anchor() -> None:
    log = log_of({"a": ["X", "Demo", "Trial", "Y"], "b": ["Trial", "Z"], "c": ["X", "Y"]})
    p = jm.paths(log, ["Trial", "Demo"], before=1, after=1)
    assert p.anchor == "Trial | Demo" and p.around == ("Trial", "Demo")
    # Demo, Trial in a row is one repeat of the anchor
    assert node_counts(p) == {-1: {"X": 1, S: 1}, 0: {"Trial | Demo": 2}, 1: {"Y": 1, "Z": 1}}
    assert jm.paths(log, {"Trial", "Demo"}, before=1, after=1).anchor == "Demo | Trial"  # a set is sorted


def test_other_groups_rare_activities_with_exact_counts() -> None:
    journeys = {f"c{i}": [a, "D", "Q"] for i, a in enumerate(["V"] * 5 + ["X"] * 2 + ["Y", "Z"])}
    p = jm.paths(log_of(journeys), "D", before=1, after=1, top=2)
    nodes = node_counts(p)
    assert nodes[-1] == {"V": 5, "X": 2, "other (2 activities)": 2}
    other = p.nodes[p.nodes["node"] == "other (2 activities)"]
    assert other["kind"].tolist() == ["other"] and other["grouped"].iloc[0].tolist() == ["Y", "Z"]
    assert link_counts(p)[(-1, "other (2 activities)", "D")] == 2
    assert p.summary["covered"].iloc[0] == pytest.approx(7 / 9)
    # ties go by name; min_share groups too
    q = jm.paths(log_of(journeys), "D", before=1, after=1, top=3, min_share=0.2)
    assert node_counts(q)[-1] == {"V": 5, "X": 2, "other (2 activities)": 2}


def test_special_node_names_never_clash_with_activities() -> None:
    log = log_of({"a": [S, "D", "x"], "b": ["D", "y"], "c": ["other (1 activity)", "D"]})
    p = jm.paths(log, "D", before=1, after=1, top=1)
    assert node_counts(p)[-1] == {S: 1, f"{S} (node)": 1, "other (1 activity) (node)": 1}
    assert p.layout[0] == ((S, "activity"), ("other (1 activity) (node)", "other"), (f"{S} (node)", "start"))


def test_paths_table_adds_up(small: jm.JourneyLog) -> None:
    p = jm.paths(small, "D", before=2, after=2, top_paths=1)
    t = p.paths
    assert t["accounts"].sum() == 3 and t["rank"].tolist() == [1, 0]
    assert t["before"].iloc[-1].startswith("other paths")
    full = jm.paths(small, "D", before=2, after=2).paths
    assert set(zip(full["before"], full["after"], strict=True)) == {
        (f"{S} → V", "P → D"),
        (S, f"P → {E}"),
        ("W → V", f"P → {E}"),
    }  # A: (start) V D P D; B: (start) (start) D P (end), the start written once; D: W V D P (end)
    assert (full["rank"] > 0).all() and full["share"].sum() == pytest.approx(1.0)


# -- cohorts ------------------------------------------------------------------------------------


def test_cohorts_share_one_layout_and_an_empty_cohort_stays(small: jm.JourneyLog) -> None:
    cases = small.to_polars("cases").get_column("case")
    keys = {"A": 0, "B": 0, "C": 1, "D": 1}
    codes = pl.Series("cohort", [keys[c] for c in cases], dtype=pl.UInt32)
    cohorts = Cohorts(codes=codes, names=("first", "second", "zempty"), by="test", cases=cases)
    p = jm.paths(small, "D", before=2, after=2, by=cohorts)
    assert p.cohorts == ("first", "second", "zempty")
    s = p.summary.set_index("cohort")
    assert s.loc["zempty", ["accounts", "anchors"]].tolist() == [0, 0] and np.isnan(
        s.loc["zempty", "covered"]
    )
    assert s.loc["second", ["accounts", "with_anchor", "without_anchor"]].tolist() == [2, 1, 1]
    assert node_counts(p, "first") == {
        -2: {S: 2},
        -1: {"V": 1, S: 1},
        0: {"D": 2},
        1: {"P": 2},
        2: {"D": 1, E: 1},
    }
    assert "zempty" not in set(p.nodes["cohort"])
    svg = p.svg
    assert svg.count('<g class="panel"') == 3 and "no accounts in this cohort" in svg
    assert p.draw("zempty").count('<g class="panel"') == 1
    with pytest.raises(jm.InvalidParameterError, match=r"'cohort' parameter of JourneyPaths\.draw"):
        p.draw("nope")


def test_cohort_layout_is_the_whole_logs(demo: jm.JourneyLog) -> None:
    whole = jm.paths(demo, "Demo")
    by = jm.paths(demo, "Demo", by="segment")
    assert by.layout == whole.layout
    # counts per cohort add up to the whole log's
    summed = by.links.groupby(["from_position", "from", "to"])["accounts"].sum()
    alone = whole.links.set_index(["from_position", "from", "to"])["accounts"]
    pd.testing.assert_series_equal(summed.sort_index(), alone.sort_index(), check_names=False)


# -- invariants on random logs ------------------------------------------------------------------

ACTS = st.sampled_from(["a", "b", "c", "d"])
JOURNEYS = st.lists(st.lists(ACTS, min_size=1, max_size=9), min_size=1, max_size=12)


def naive_windows(
    journeys: list[list[str]], anchor: str, before: int, after: int, occurrence: str, collapse: bool
) -> list[list[str]]:
    out = []
    for acts in journeys:
        if collapse:
            acts = [a for i, a in enumerate(acts) if i == 0 or acts[i - 1] != a]
        hits = [i for i, a in enumerate(acts) if a == anchor]
        if occurrence == "first":
            hits = hits[:1]
        elif occurrence == "last":
            hits = hits[-1:]
        for i in hits:
            out.append(
                [
                    acts[i + d] if 0 <= i + d < len(acts) else (S if d < 0 else E)
                    for d in range(-before, after + 1)
                ]
            )
    return out


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    journeys=JOURNEYS,
    before=st.integers(0, 3),
    after=st.integers(0, 3),
    top=st.integers(1, 4),
    occurrence=st.sampled_from(["first", "last", "every"]),
    collapse=st.booleans(),
    min_share=st.sampled_from([None, 0.1, 0.3]),
)
def test_counts_add_up_on_random_logs(
    journeys: list[list[str]],
    before: int,
    after: int,
    top: int,
    occurrence: str,
    collapse: bool,
    min_share: float | None,
) -> None:
    if before == after == 0:
        before = 1
    journeys = [[*j, "a"] if i == 0 else j for i, j in enumerate(journeys)]  # the anchor is in the log
    log = log_of(
        {f"c{i:02d}": j for i, j in enumerate(journeys)},
        group={f"c{i:02d}": "odd" if i % 2 else "even" for i in range(len(journeys))},
    )
    p = jm.paths(
        log,
        "a",
        before=before,
        after=after,
        top=top,
        occurrence=occurrence,  # type: ignore[arg-type]
        collapse_repeats=collapse,
        min_share=min_share,
        by="group",
    )
    unit = p.unit
    windows = naive_windows(journeys, "a", before, after, occurrence, collapse)
    assert p.summary["anchors"].sum() == len(windows)
    for cohort, row in p.summary.set_index("cohort").iterrows():
        n = row["anchors"]
        nodes = p.nodes[p.nodes["cohort"] == cohort]
        links = p.links[p.links["cohort"] == cohort]
        assert row["with_anchor"] + row["without_anchor"] == row["accounts"]
        assert (nodes.groupby("position")[unit].sum() == n).all()
        assert len(set(nodes["position"])) == (before + after + 1 if n else 0)
        for (pos, node), count in nodes.set_index(["position", "node"])[unit].items():
            into = links[(links["to_position"] == pos) & (links["to"] == node)][unit].sum()
            out = links[(links["from_position"] == pos) & (links["from"] == node)][unit].sum()
            assert into == (count if pos > -before else 0)
            assert out == (count if pos < after else 0)
        assert p.paths[p.paths["cohort"] == cohort][unit].sum() == n
    # per position, the shown activities and "other" hold exactly the naive counts
    total = p.nodes.groupby(["position", "node"])[unit].sum()
    for k, pos in enumerate(p.positions):
        naive = Counter(w[k] for w in windows)
        shown = {node for (q, node) in total.index if q == pos}
        grouped = sum(c for a, c in naive.items() if a not in shown)
        assert grouped == sum(c for (q, node), c in total.items() if q == pos and node.startswith("other ("))
        for a in shown:
            if not a.startswith("other ("):
                assert total[(pos, a)] == naive[a]
                if min_share is not None and pos != 0 and a not in (S, E):
                    assert naive[a] >= min_share * len(windows)
        assert len([a for a in shown if a not in (S, E) and not a.startswith("other (")]) <= max(top, 1)


# -- bad input ----------------------------------------------------------------------------------


def test_unknown_activity_suggests_close_matches(demo: jm.JourneyLog) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"'around' parameter of paths.*did you mean 'Demo'"):
        jm.paths(demo, "Dmeo")
    with pytest.raises(jm.InvalidParameterError, match=r"'around'.*Got 'Nothing like it'"):
        jm.paths(demo, ["Demo", "Nothing like it"])
    with pytest.raises(jm.InvalidParameterError, match=r"'around'.*non-empty"):
        jm.paths(demo, [])
    with pytest.raises(jm.InvalidParameterError, match=r"'around'"):
        jm.paths(demo, 3)  # type: ignore[arg-type]


def test_not_a_log() -> None:
    frame = pd.DataFrame({"case": ["a"], "activity": ["x"], "ts": ["2024-01-01"]})
    with pytest.raises(jm.InvalidParameterError, match=r"'log' parameter of paths.*a JourneyLog.*DataFrame"):
        jm.paths(frame, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"before": -1}, r"'before' parameter of paths must be an int >= 0. Got -1"),
        ({"after": -2}, r"'after' parameter of paths must be an int >= 0"),
        ({"before": 0, "after": 0}, r"'before'.*at least 1 when after=0"),
        ({"before": 1.5}, r"'before'"),
        ({"top": 0}, r"'top' parameter of paths must be an int >= 1. Got 0"),
        ({"top_paths": 0}, r"'top_paths'"),
        ({"occurrence": "all"}, r"'occurrence' parameter of paths must be one of"),
        ({"min_share": 1.5}, r"'min_share'.*\[0, 1\)"),
        ({"min_share": True}, r"'min_share'"),
        ({"collapse_repeats": "yes"}, r"'collapse_repeats'"),
    ],
)
def test_bad_options(demo: jm.JourneyLog, kw: dict[str, object], match: str) -> None:
    with pytest.raises(jm.InvalidParameterError, match=match):
        jm.paths(demo, "Demo", **kw)  # type: ignore[arg-type]


def test_result_options_are_checked(demo: jm.JourneyLog, tmp_path: Path) -> None:
    p = jm.paths(demo, "Demo")
    with pytest.raises(jm.InvalidParameterError, match=r"'kind' parameter of JourneyPaths.to_dataframe"):
        p.to_dataframe("edges")  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"\.svg, \.html or \.png"):
        p.save(tmp_path / "paths.pdf")


# -- drawing -------------------------------------------------------------------------------------


def test_svg_escapes_names_and_is_valid_xml() -> None:
    import xml.etree.ElementTree as ET

    bad = "<script>alert('x')</script> & \"q\""
    log = log_of({"a": ["x", bad, "<b>y</b>"], "b": [bad, "z"]}, seg={"a": "<i>one</i>", "b": "two & co"})
    p = jm.paths(log, bad, by="seg", before=1, after=1)
    svg = p.svg
    ET.fromstring(svg)  # well-formed
    assert "<script" not in svg and "<b>y" not in svg and "<i>one" not in svg
    assert "&lt;script&gt;" in svg and "two &amp; co" in svg
    html = p._repr_html_()
    assert "<script" not in html and "&lt;script&gt;" in html


def test_svg_is_deterministic_across_processes(demo: jm.JourneyLog) -> None:
    code = (
        "import hashlib, journeymine as jm\n"
        "log = jm.datasets.demo_b2b(n_accounts=400, random_state=0)\n"
        "p = jm.paths(log, ['Demo', 'Free trial'], by='segment', occurrence='every')\n"
        "print(hashlib.sha256((p.svg + repr(p.to_dict())).encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "POLARS_MAX_THREADS": "1" if seed == "0" else "2"}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    p = jm.paths(demo, ["Demo", "Free trial"], by="segment", occurrence="every")
    import hashlib

    digests.add(hashlib.sha256((p.svg + repr(p.to_dict())).encode()).hexdigest())
    assert len(digests) == 1


def test_svg_shape(demo: jm.JourneyLog) -> None:
    p = jm.paths(demo, "Demo", by="segment")
    svg = p.svg
    assert svg.startswith("<svg") and 'role="img"' in svg and "viewBox=" in svg and "<title>" in svg
    assert svg.count('class="anchor-band"') == 3
    n_links = len(p.links)
    assert svg.count('class="link"') == n_links
    assert svg.count('<g class="node"') == len(p.nodes)
    # every node too small for a label is listed under its column
    assert "small</text>" in svg and "Too small to label" in svg
    # the labels state the counts
    top = p.nodes[(p.nodes["cohort"] == "SMB") & (p.nodes["position"] == 0)]
    assert f"Demo · {int(top['accounts'].iloc[0]):,}" in p.draw("SMB")


def test_label_rules() -> None:
    from journeymine._paths_draw import _label_lines
    from journeymine._textsize import text_width

    assert _label_lines("Demo", 1234, 150, 12, bold=False) == ["Demo · 1,234"]
    long = "T05 Print and send confirmation of receipt"
    lines = _label_lines(long, 976, 150, 60, bold=False)
    assert " ".join(lines) == f"{long} · 976" and len(lines) in (2, 3, 4)
    assert all(text_width(t, 11) <= 150 for t in lines)
    one = _label_lines(long, 976, 150, 12, bold=False)
    assert len(one) == 1 and one[0].endswith("… · 976")


def test_save_and_display(demo: jm.JourneyLog, tmp_path: Path) -> None:
    p = jm.paths(demo, "Demo")
    assert p.save(tmp_path / "p.svg").read_text(encoding="utf-8") == p.svg
    page = p.save(tmp_path / "p.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page and "<svg" in page
    pytest.importorskip("cairosvg")
    png = p.save(tmp_path / "p.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    bundle = p._repr_mimebundle_()
    assert "<svg" in bundle["text/html"] and "Paths around Demo" in bundle["text/html"]
    assert p.to_dataframe().equals(p.links) and p.to_dataframe("paths").equals(p.paths)


# -- against the pandas reference and on real logs ----------------------------------------------


def test_agrees_with_the_pandas_reference(demo: jm.JourneyLog) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _ref_paths import check_equal, pandas_paths

    for around, k, top in (("Demo", 3, 8), ("Proposal sent", 2, 3), ("Website visit", 4, 5)):
        p = jm.paths(demo, around, before=k, after=k, top=top)
        check_equal(p.links, pandas_paths(demo.events, around, k, k, top))


@pytest.mark.parametrize(
    ("name", "around"),
    [
        ("bpic2012", "A_PREACCEPTED"),
        ("bpic2012", "O_SENT"),
        ("sepsis", "Admission NC"),
        ("receipt", "T02 Check confirmation of receipt"),
    ],
)
def test_real_logs(shared_data: Path, name: str, around: str) -> None:
    import warnings

    from real_logs import LOGS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log = LOGS[name][0](shared_data)
    p = jm.paths(log, around)
    n = int(p.summary["anchors"].iloc[0])
    assert n == log.filter_activities(around).n_cases  # one path per account that has it
    assert (p.nodes.groupby("position")["accounts"].sum() == n).all()
    assert p.summary["with_anchor"].iloc[0] + p.summary["without_anchor"].iloc[0] == log.n_cases
    assert p.svg.count('class="link"') == len(p.links)
