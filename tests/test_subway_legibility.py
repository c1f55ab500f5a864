"""Subway-map legibility: the audit itself, then every real log, the demo and hostile labels
drawn with zero run-throughs, overlaps and clipped elements."""

from __future__ import annotations

import pytest

from journeymine._subway_audit import audit_svg
from journeymine._textsize import char_em, text_box, text_width

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
    import re

    import journeymine as jm

    log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    svg = jm.journey_map(log).draw(labels="both").svg  # type: ignore[union-attr]
    head = svg[: svg.index(">")]
    m = re.match(r'<svg width="100%" style="max-width: (\d+)px; height: auto"\s+viewBox="0.00 0.00 ([\d.]+) ', head)
    assert m is not None, head
    assert int(m.group(1)) == round(float(m.group(2)) * 4 / 3)  # natural size: points to CSS pixels
    assert "pt" not in head
