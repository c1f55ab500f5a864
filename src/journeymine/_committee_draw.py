"""The committee map: roles as lanes over the journey stages, as SVG.

Each lane is a buying-committee role, each column a stage; a disc in a cell shows the share
of accounts where the role makes a touch in that stage (its area), and its dark core the
share where the role *joins* there (makes its first touch). Several cohorts share one
layout: each gets a colour and its discs sit side by side in the cell. Every text from the
data is escaped. The renderer knows no log: it reads the ``engagement`` table.
"""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["committee_svg"]

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
_LANE_H = 46.0
_COL_W = 130.0
_LEFT = 170.0
_TOP = 70.0


def committee_svg(committee: Any) -> str:
    """SVG text of the committee map of a :class:`~journeymine.BuyingCommittee`."""
    eng = committee.engagement
    stages = list(committee.stages)
    cohorts = list(committee.cohorts)
    roles = sorted(set(eng["role"])) if len(eng) else []
    if roles:
        first = eng[eng["joined"] > 0].groupby("role")["share_joined"].idxmax()
        stage_of = {r: stages.index(eng.loc[i, "stage"]) for r, i in first.items()}
        roles.sort(key=lambda r: (stage_of.get(r, len(stages)), r))
    width = _LEFT + _COL_W * len(stages) + 20
    height = _TOP + _LANE_H * max(len(roles), 1) + 40 + 18 * len(cohorts)
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jm-committee" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="10" y="22" font-size="15" font-weight="bold">Buying committee: who joins when</text>',
        '<text x="10" y="40" fill="#555">Disc area: accounts where the role makes a touch in the stage; '
        "dark core: where it joins (first touch).</text>",
    ]
    for j, stage in enumerate(stages):
        x = _LEFT + _COL_W * (j + 0.5)
        out.append(
            f'<text x="{x:.1f}" y="{_TOP - 8:.1f}" text-anchor="middle" font-weight="bold">'
            f"{esc(stage)}</text>"
        )
    if not roles:
        out.append(f'<text x="{_LEFT:.1f}" y="{_TOP + 24:.1f}" fill="#555">No roles in this log.</text>')
    for i, role in enumerate(roles):
        y = _TOP + _LANE_H * (i + 0.5)
        fill = "#f4f4f4" if i % 2 == 0 else "#ffffff"
        out.append(
            f'<rect x="0" y="{y - _LANE_H / 2:.1f}" width="{width:.0f}" height="{_LANE_H:.1f}" '
            f'fill="{fill}"/>'
            f'<text x="10" y="{y + 4:.1f}" class="role">{esc(role)}</text>'
        )
        for j, stage in enumerate(stages):
            for k, cohort in enumerate(cohorts):
                row = eng[(eng["role"] == role) & (eng["stage"] == stage) & (eng["cohort"] == cohort)]
                if not len(row):
                    continue
                se, sj = float(row["share_engaged"].iloc[0]), float(row["share_joined"].iloc[0])
                cx = _LEFT + _COL_W * j + _COL_W * (k + 1) / (len(cohorts) + 1)
                r_out = 18 * math.sqrt(max(se, 0.0))
                r_in = 18 * math.sqrt(max(sj, 0.0))
                colour = _PALETTE[k % len(_PALETTE)]
                title = f"{cohort}: {role} in {stage}: engaged {se:.0%}, joins {sj:.0%}"
                out.append(
                    f'<g class="cell"><title>{esc(title)}</title>'
                    f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="{r_out:.1f}" fill="{colour}" fill-opacity="0.25" '
                    f'stroke="{colour}"/>'
                    f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="{r_in:.1f}" fill="{colour}"/></g>'
                )
    y0 = _TOP + _LANE_H * max(len(roles), 1) + 24
    for k, cohort in enumerate(cohorts):
        colour = _PALETTE[k % len(_PALETTE)]
        out.append(
            f'<circle cx="16" cy="{y0 + 18 * k - 4:.1f}" r="5" fill="{colour}"/>'
            f'<text x="28" y="{y0 + 18 * k:.1f}">{esc(cohort)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
