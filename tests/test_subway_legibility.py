"""Subway-map legibility: the audit itself, then every real log, the demo and hostile labels
drawn with zero run-throughs, overlaps and clipped elements."""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import journeymine as jm
from journeymine._subway_audit import audit_svg
from journeymine._textsize import char_em, text_box, text_width
from real_logs import LOGS, crm, fines, sepsis

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200" width="100%">{}</svg>'


def _station(name: str, x: float, y: float, label: str = "") -> str:
    text = f'<text class="label" x="{x}" y="{y - 16}" font-size="11.5" text-anchor="middle">{label}</text>'
    return (
        f'<g class="station" data-station="{name}"><title>{name}</title>'
        f'<rect class="body" x="{x - 8}" y="{y - 10}" width="16" height="20" rx="8"/>{text if label else ""}</g>'
    )


def _line(name: str, d: str, width: float = 5) -> str:
    return (
        f'<g class="line" data-line="{name}"><title>{name}</title>'
        f'<path class="line-path" d="{d}" stroke-width="{width}" fill="none"/></g>'
    )


def test_text_extent_is_conservative_and_wider_for_cjk_and_emoji() -> None:
    assert text_width("abc", 10) == pytest.approx(19.5)  # 0.65 em each
    assert text_width("ABC", 10) == pytest.approx(24.0)  # capitals 0.8 em
    assert char_em("W") == char_em("m") == 1.0
    assert char_em("契") == 1.0 and char_em("🚀") == 1.25 and char_em("\u0301") == 0.0
    assert text_width("abc", 10, bold=True) > text_width("abc", 10)
    x0, y0, x1, y1 = text_box(100, 50, ["ab", "abcd"], 10, anchor="middle", line_height=13)
    assert (x1 - x0, x0) == (pytest.approx(26.0), pytest.approx(87.0))
    assert y0 == pytest.approx(50 - 9.2) and y1 == pytest.approx(50 + 13 + 2.6)


def test_audit_finds_a_line_running_through_a_station() -> None:
    stations = _station("A", 50, 100) + _station("C", 200, 100) + _station("B", 350, 100)
    through = SVG.format(_line("L", "M50,100 L350,100") + stations)
    found = audit_svg(through)
    assert found[["kind", "element", "other"]].values.tolist() == [
        ["run-through", "line 'L' A → B", "station 'C'"]
    ]
    around = SVG.format(_line("L", "M50,100 L120,100 L140,80 L260,80 L280,100 L350,100") + stations)
    assert audit_svg(around).empty  # passes 20 px above C: not a stop, and not through it
    stop = SVG.format(_line("L", "M50,100 L200,100 M200,100 L350,100") + stations)
    assert audit_svg(stop).empty  # two steps: A → C, C → B


def test_audit_finds_overlaps_and_clipping() -> None:
    halo = '<text x="60" y="40" font-size="10" fill="none" stroke="#fff">4.0 d</text>'
    texts = (
        '<g class="timing"><text x="60" y="40" font-size="10">4.0 d</text></g>'
        '<g class="timing"><text x="70" y="42" font-size="10">3.8 d</text></g>'
    )
    found = audit_svg(SVG.format(halo + texts))
    assert found[["kind", "element", "other"]].values.tolist() == [["overlap", "timing '4.0 d'", "timing '3.8 d'"]]
    on_line = SVG.format(_line("L", "M10,50 L390,50") + '<text x="100" y="53" font-size="10">label</text>')
    assert audit_svg(on_line)["other"].tolist() == ["line 'L'"]
    under_station = SVG.format(_station("A", 100, 100, "Name") + '<text x="100" y="105" font-size="10">12</text>')
    assert audit_svg(under_station)[["element", "other"]].values.tolist() == [["station 'A'", "text '12'"]]
    clipped = SVG.format('<text class="title" x="300" y="20" font-size="16">A title wider than the rest</text>')
    assert audit_svg(clipped)[["kind", "element"]].values.tolist() == [["clipped", "title 'A title wider than the rest'"]]
    assert audit_svg(SVG.format(_line("L", "M10,100 L420,100")))["kind"].tolist() == ["clipped"]


def test_graphviz_journey_map_scales_to_its_container() -> None:
    log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    svg = jm.journey_map(log).draw(labels="both").svg  # type: ignore[union-attr]
    head = svg[: svg.index(">")]
    m = re.match(r'<svg width="100%" style="max-width: (\d+)px; height: auto"\s+viewBox="0.00 0.00 ([\d.]+) ', head)
    assert m is not None, head
    assert int(m.group(1)) == round(float(m.group(2)) * 4 / 3)  # natural size: points to CSS pixels
    assert "pt" not in head


# -- maps of real logs, the demo and hostile labels: nothing to fix ---------------------------------
OVERLAYS = {"timing": True, "dropoff": True}
_CACHE: dict[str, jm.JourneyLog] = {}


def _cached(name: str, read: Callable[[], jm.JourneyLog]) -> jm.JourneyLog:
    """Each log is read once per module (BPI 2012 takes about 2 s)."""
    if name not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jm.DataQualityWarning)
            _CACHE[name] = read()
    return _CACHE[name]


def crm_funnel(data: Path) -> jm.JourneyLog:
    """The CRM pipeline as a two-step funnel per opportunity: Engage, then the deal stage
    (opportunities still engaging have one step; prospects without dates are set aside)."""
    pipe = pd.read_csv(data / "crm_sales_pipeline.csv.gz", keep_default_na=False, na_values=[""])
    engage = pipe.assign(step="Engage", at=pipe["engage_date"])
    close = pipe.assign(step=pipe["deal_stage"], at=pipe["close_date"])
    events = pd.concat([engage, close])[["opportunity_id", "step", "at", "product"]]
    events = events[events["at"].notna()]
    return jm.JourneyLog.from_frame(events, case="opportunity_id", activity="step", timestamp="at",
                                    case_attributes=["product"])


def _real(name: str, data: Path) -> jm.JourneyLog:
    readers: dict[str, Callable[[], jm.JourneyLog]] = {
        **{k: (lambda k=k: LOGS[k][0](data)) for k in LOGS},  # type: ignore[misc]
        "sepsis": lambda: sepsis(data, case_attributes=["InfectionSuspected"]),
        "road_traffic_fines": lambda: fines(data),
        "bpic2012_complete": lambda: jm.read_xes(data / "bpic2012.xes.gz", transitions="complete"),
        "crm_funnel": lambda: crm_funnel(data),
        "crm_accounts": lambda: crm(data),
    }
    return _cached(name, readers[name])


def _check(sm: jm.SubwayMap) -> None:
    problems = sm.audit()
    assert problems.empty, f"{sm.title}:\n{problems.to_string()}"
    head = sm.svg[: sm.svg.index(">")]
    assert 'width="100%"' in head and "max-width:" in head and "height: auto" in head
    assert "↘" not in sm.svg  # the drop-off mark is a path, not a glyph that some fonts lack
    ET.fromstring(sm.svg)


REAL_MAPS: dict[str, Callable[[Path], jm.SubwayMap]] = {
    **{
        f"{name} top {top}": (lambda data, name=name, top=top: jm.subway_map(_real(name, data), top=top, **OVERLAYS))
        for name in LOGS
        for top in (6, 12)
    },
    "receipt by channel": lambda data: jm.subway_map(jm.journey_map(_real("receipt", data), by="channel"), **OVERLAYS),
    "sepsis by InfectionSuspected": lambda data: jm.subway_map(
        jm.journey_map(_real("sepsis", data), by="InfectionSuspected"), **OVERLAYS),
    "road_traffic_fines by vehicleclass": lambda data: jm.subway_map(
        jm.journey_map(_real("road_traffic_fines", data), by="vehicleclass"), **OVERLAYS),
    "bpic2012 complete, converting to A_APPROVED": lambda data: jm.subway_map(
        _real("bpic2012_complete", data), top=6, conversion=["A_APPROVED"], **OVERLAYS),
    "crm funnel top 6, single steps too": lambda data: jm.subway_map(
        _real("crm_funnel", data), top=6, min_stations=1, **OVERLAYS),
    "crm funnel by product": lambda data: jm.subway_map(
        jm.journey_map(_real("crm_funnel", data), by="product"), **OVERLAYS),
    "crm accounts top 6": lambda data: jm.subway_map(_real("crm_accounts", data), top=6, **OVERLAYS),
}


@pytest.mark.realdata
@pytest.mark.parametrize("case", list(REAL_MAPS))
def test_real_log_maps_have_nothing_to_fix(case: str, shared_data: Path) -> None:
    _check(REAL_MAPS[case](shared_data))


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=2_000, random_state=0)


def test_demo_maps_have_nothing_to_fix(demo: jm.JourneyLog) -> None:
    won = jm.datasets.DEMO_OUTCOMES["won"]
    _check(jm.subway_map(jm.journey_map(demo, by="segment"), channels=True, conversion=won, **OVERLAYS))
    _check(jm.subway_map(demo, top=6, **OVERLAYS))
    _check(jm.subway_map(demo, top=12, conversion=won, **OVERLAYS))
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(demo)
    _check(jm.subway_map(est, **OVERLAYS))
    _check(jm.subway_map(demo, top=3, title="A title much wider than a map of three journeys through few stations"))


HOSTILE = [
    "Website visit " + "x" * 60,
    "ウェビナー参加申込み完了のお知らせメール送信",
    "📧 Email 🚀 opened 🎉",
    "Supercalifragilisticexpialidocious-demo-request-form",
    "契約締結",
    "A",
    "Ø",
    "💰💰💰💰",
    "Proposal sent to the procurement department of the customer",
    "<script>alert(1)</script> & Closed",
]


def _log_of(journeys: list[tuple[list[str], int]]) -> jm.JourneyLog:
    rows = [(f"j{i}-{n}", a, k * 3600 + n) for i, (acts, count) in enumerate(journeys)
            for n in range(count) for k, a in enumerate(acts)]
    df = pd.DataFrame(rows, columns=["case", "activity", "t"])
    df["t"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(df["t"], unit="s")
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="t")


def test_hostile_labels_have_nothing_to_fix() -> None:
    log = _log_of([([HOSTILE[(i + k) % len(HOSTILE)] for k in range(6)], 30 - 3 * i) for i in range(8)])
    sm = jm.subway_map(log, top=8, **OVERLAYS)
    _check(sm)
    assert len(sm.stations) == len(HOSTILE)
    long_name = jm.subway_map(log, lines={"x" * 200: HOSTILE[:3], "契約" * 30: HOSTILE[2:5]}, **OVERLAYS)
    _check(long_name)


@pytest.mark.parametrize(("n_activities", "n_lines"), [(40, 12), (60, 20)])
def test_forty_stations_and_twelve_lines_have_nothing_to_fix(n_activities: int, n_lines: int) -> None:
    journeys = []
    for i in range(n_lines):  # as in benchmarks/bench_subway.py: 12 stops, a back-step in every third
        acts = [f"Touchpoint {(i * 3 + k) % n_activities:02d}" for k in range(12)]
        if i % 3 == 0:
            acts = [*acts[:6], acts[3], *acts[6:]]
        journeys.append((acts, max(400 // (i + 1), 1)))
    sm = jm.subway_map(_log_of(journeys), top=n_lines, **OVERLAYS)
    assert len(sm.stations) == min(n_activities, 40) and len(sm.lines) == 12
    _check(sm)


def test_self_loops_of_several_lines_stay_apart() -> None:
    stops = ["Webinar", "Demo", "Demo", "Proposal sent"]
    log = _log_of([(stops, 30), (["Webinar", "Demo", "Demo", "Closed lost"], 20), (["Demo", "Demo"], 10)])
    sm = jm.subway_map(log, top=3, **OVERLAYS)
    _check(sm)
    tips = []
    for d in re.findall(r'class="line-path" d="([^"]+)"', sm.svg):
        loop = re.search(r"M[\d.]+,[\d.]+ C([\d.]+),([\d.]+) ([\d.]+),([\d.]+)", d)
        assert loop is not None
        tips.append(((float(loop[1]) + float(loop[3])) / 2, (float(loop[2]) + float(loop[4])) / 2))
    assert len(tips) == 3
    assert min(abs(a[0] - b[0]) + abs(a[1] - b[1]) for i, a in enumerate(tips) for b in tips[i + 1:]) > 10
