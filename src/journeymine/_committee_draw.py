"""The committee map: roles as lanes over the journey stages, as SVG.

Each lane is a buying-committee role; lanes are ordered by when the role joins (the stage
where most of its first touches fall, over all cohorts, then its mean join stage, then its
name). Within a lane each cohort has a track of its own, in its colour, so cohorts compare
on one layout. Along a track:

* per stage, a disc whose area is the share of the cohort's accounts where the role makes
  a touch in that stage (labelled, e.g. "62%"; a full disc is 100%), and a dark core whose
  area is the share where the role *joins* there (makes its first touch);
* a diamond at the stage where the role most often joins (``roles.typical_stage``) and a
  thin line from it to the last stage where the role still touches at least 1% of the
  accounts;
* on the right: the share of accounts where the role engages at all, its median day of
  joining (days from the account's first event), with a milestone the share of the
  accounts that reached it with the role engaged by then and, where the result has drivers,
  a badge with the win rate of accounts with the role engaged by the milestone against
  those without, for the roles whose ``q`` is below 0.05 (green when higher, red when lower).

A milestone whose stage is known (a stage milestone, or ``at_stage``) is a dashed vertical
line labelled "by <milestone>": at the start of the stage for a stage (its first event),
through the discs of its stage for an activity.

The renderer knows no log: it reads the result's ``engagement``, ``roles`` and ``summary``
tables. Every text from the data is shortened to its room, measured as
:mod:`journeymine._textsize` does (the whole text is then the element's ``<title>``
tooltip), and escaped. The same result gives the same bytes.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._textsize import shorten, svg_text, text_width

if TYPE_CHECKING:
    import pandas as pd

    from ._committee import BuyingCommittee

__all__ = ["committee_svg"]

#: cohort colours: the Okabe–Ito colour-blind-safe hues without black and yellow, then two more
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7F3C8D", "#8C8C3C")
_INK, _GREY, _FAINT, _BAND = "#212529", "#5c636a", "#dee2e6", "#f3f5f7"
_UP, _UP_BG, _DOWN, _DOWN_BG = "#1b6e3a", "#e3f4e8", "#a61e1e", "#fbe5e5"
_M = 20.0  # outer margin
_TITLE, _BODY, _SMALL, _TINY = 17.0, 12.0, 11.0, 10.0
_PAD = 7.0  # above the first and below the last track of a lane
_MIN_WIDTH = 560.0
_SPAN_MIN = 0.01  # the line runs on to the last stage where the role touches this share
_ALPHA = 0.05  # badges only for roles whose driver q is below this
_PCT_W = text_width("100%", _TINY)
_TITLE_TEXT = "Buying committee: who joins when"


# -- what to draw ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Track:
    """One role in one cohort."""

    engaged: tuple[float, ...]  # share of accounts with a touch of the role, per stage
    joined: tuple[float, ...]  # share whose first touch of the role is in the stage
    counts: tuple[tuple[int, int], ...]  # (engaged, joined) accounts per stage
    join: int | None  # the stage where it most often joins
    last: int | None  # the last stage touched in at least _SPAN_MIN of the accounts
    share: float  # engaged in any stage
    days: float  # median days to join
    share_at: float  # engaged by the milestone, of the accounts that reached it
    lift: tuple[float, float, float, str] | None  # rate_with, rate_without, q, test when q < _ALPHA


@dataclass(frozen=True)
class _Model:
    stages: tuple[str, ...]
    cohorts: tuple[str, ...]
    accounts: dict[str, int]  # per cohort
    roles: tuple[str, ...]  # in lane order
    tracks: dict[tuple[str, str], _Track]  # (role, cohort)
    at: str | None
    at_kind: str | None
    at_stage: int | None
    has_share_at: bool
    has_lift: bool


def _model(committee: BuyingCommittee, at_stage: str | None) -> _Model:
    stages = tuple(str(s) for s in committee.stages)
    summary = committee.summary
    cohorts = tuple(str(c) for c in summary["cohort"])
    accounts = {str(r.cohort): int(r.accounts) for r in _rows(summary)}
    cells: dict[tuple[str, str, str], tuple[int, int]] = {}
    for r in _rows(committee.engagement):
        cells[(str(r.role), str(r.cohort), str(r.stage))] = (int(r.engaged), int(r.joined))
    roles = committee.roles
    info = {(str(r.role), str(r.cohort)): r for r in _rows(roles)}
    names = sorted({k[0] for k in cells})
    tracks = {
        (role, c): _track(role, c, stages, accounts[c], cells, info.get((role, c)))
        for role in names
        for c in cohorts
    }
    if at_stage is None:
        at_stage = committee.at_stage
    return _Model(
        stages=stages,
        cohorts=cohorts,
        accounts=accounts,
        roles=_lane_order(names, stages, cells),
        tracks=tracks,
        at=committee.at,
        at_kind=committee.at_kind,
        at_stage=stages.index(at_stage) if at_stage in stages else None,
        has_share_at=committee.at is not None and "share_at" in roles.columns,
        has_lift="q" in roles.columns,
    )


def _track(
    role: str,
    cohort: str,
    stages: tuple[str, ...],
    accounts: int,
    cells: dict[tuple[str, str, str], tuple[int, int]],
    info: Any,
) -> _Track:
    counts = tuple(cells.get((role, cohort, s), (0, 0)) for s in stages)
    engaged = tuple(e / accounts if accounts else 0.0 for e, _ in counts)
    joined = tuple(j / accounts if accounts else 0.0 for _, j in counts)
    join = None
    if info is not None and str(info.typical_stage) in stages:
        join = stages.index(str(info.typical_stage))
    elif any(j for _, j in counts):
        join = max(range(len(stages)), key=lambda i: (counts[i][1], -i))
    touched = [i for i, s in enumerate(engaged) if s >= _SPAN_MIN]
    lift = None
    if info is not None and _number(getattr(info, "q", math.nan)) < _ALPHA:
        lift = (_number(info.rate_with), _number(info.rate_without), _number(info.q), str(info.test))
    return _Track(
        engaged=engaged,
        joined=joined,
        counts=counts,
        join=join,
        last=None if join is None else max([join, *touched]),
        share=_number(info.share) if info is not None else 0.0,
        days=_number(info.median_days_to_join) if info is not None else math.nan,
        share_at=_number(getattr(info, "share_at", math.nan)) if info is not None else math.nan,
        lift=lift,
    )


def _lane_order(
    roles: list[str], stages: tuple[str, ...], cells: dict[tuple[str, str, str], tuple[int, int]]
) -> tuple[str, ...]:
    """Roles by the stage where most of their joins fall (all cohorts), then by their mean
    join stage, then by name; roles that never join come last."""
    joins = {r: [0] * len(stages) for r in roles}
    index = {s: i for i, s in enumerate(stages)}
    for (role, _cohort, stage), (_e, j) in sorted(cells.items()):
        if stage in index:
            joins[role][index[stage]] += j

    def key(role: str) -> tuple[int, float, str]:
        per = joins[role]
        total = sum(per)
        if not total:
            return (len(stages), math.inf, role)
        top = max(range(len(stages)), key=lambda i: (per[i], -i))
        return (top, sum(i * j for i, j in enumerate(per)) / total, role)

    return tuple(sorted(roles, key=key))


def _rows(frame: pd.DataFrame) -> list[Any]:
    """The rows of ``frame`` as named tuples (typed loosely: their fields are the columns)."""
    return list(frame.itertuples(index=False))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# -- text ------------------------------------------------------------------------------------
def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)




def _wrap(text: str, width: float, size: float, *, bold: bool = False, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width``, broken at spaces; a line that is
    still too wide, and the last when the rest does not fit, end with "…"."""
    words = text[:500].split() or [""]
    out: list[str] = []
    cur = ""
    for w in words:
        trial = f"{cur} {w}" if cur else w
        if not cur or text_width(trial, size, bold=bold) <= width:
            cur = trial
        else:
            out.append(cur)
            cur = w
    out.append(cur)
    if len(out) > lines:
        rest = shorten(" ".join(out[lines - 1 :]), width, size, bold=bold)
        out = [*out[: lines - 1], rest]
    return [shorten(t, width, size, bold=bold) for t in out]


def _text(x: float, y: float, text: str, *, size: float, cls: str, fill: str = _INK, **kw: Any) -> str:
    """One ``<text>`` (escaped), over a white halo when ``halo``."""
    return svg_text(x, y, text, size=size, cls=cls, fill=fill, **kw)


def _lines(
    x: float,
    y: float,
    full: str,
    shown: list[str],
    *,
    size: float,
    cls: str,
    step: float,
    anchor: str = "start",
    bold: bool = False,
    fill: str = _INK,
) -> str:
    """Lines of text from the baseline ``y`` down; the whole text is the tooltip when cut."""
    body = "".join(
        _text(x, y + k * step, t, size=size, cls=cls, anchor=anchor, bold=bold, fill=fill)
        for k, t in enumerate(shown)
    )
    cut = " ".join(shown) != " ".join(full.split())
    return f"<g><title>{_esc(full)}</title>{body}</g>" if cut else body


def _pct(x: float) -> str:
    if x != x:
        return "–"
    if 0 < x < 0.005:
        return "<1%"
    return f"{x:.0%}"


# -- geometry --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    width: float
    subtitle: tuple[str, ...]
    role_w: float
    cohort_x: float
    name_w: float  # of a cohort's name; its account count follows
    count_w: float
    plot_x: float
    col_w: float
    track_h: float
    lane_h: float
    r_max: float
    panel: tuple[tuple[str, tuple[str, str], float, float], ...]  # key, header lines, x, width
    header_y: float  # the first baseline of the stage names
    lanes_y: float  # the top of the first lane

    def col_x(self, j: int) -> float:
        return self.plot_x + j * self.col_w

    def disc_x(self, j: int) -> float:
        """The centre of stage ``j``'s discs: join marker, disc and label centred together."""
        group = 2 * self.r_max + 13 + _PCT_W
        return self.col_x(j) + (self.col_w - group) / 2 + self.r_max + 9

    def marker_x(self, j: int) -> float:
        return self.disc_x(j) - self.r_max - 5.5


def _frame(m: _Model) -> _Frame:
    n = len(m.cohorts)
    track_h = {1: 44.0, 2: 32.0, 3: 27.0, 4: 23.0, 5: 21.0}.get(n, 19.0)
    r_max = min(18.0, track_h / 2 - 2.5)
    role_w = min(190.0, max([96.0, *(text_width(r, _BODY, bold=True) for r in m.roles)]))
    cohort_x = _M + role_w + 12
    name_w = count_w = 0.0
    if n > 1:
        name_w = min(120.0, max(text_width(c, _SMALL) for c in m.cohorts))
        count_w = max(text_width(f"{v:,}", _TINY) for v in m.accounts.values())
    plot_x = cohort_x + (12 + name_w + 8 + count_w + 12 if n > 1 else 0)
    word = max((text_width(w, _BODY, bold=True) for s in m.stages for w in s.split()), default=0.0)
    col_w = min(140.0 if len(m.stages) <= 6 else 124.0, max(2 * r_max + 23 + _PCT_W, 100.0, word + 10))
    panel, x = [], plot_x + col_w * len(m.stages) + 18
    for key, head, w in _panel_columns(m):
        panel.append((key, head, x, w))
        x += w + 8
    width = max(_MIN_WIDTH, x - 8 + _M)
    subtitle = tuple(line for text in _subtitle(m) for line in _wrap(text, width - 2 * _M, _SMALL))
    header_y = _M + 16 + 20 + 16 * len(subtitle) + 8
    return _Frame(
        width=width,
        subtitle=subtitle,
        role_w=role_w,
        cohort_x=cohort_x,
        name_w=name_w,
        count_w=count_w,
        plot_x=plot_x,
        col_w=col_w,
        track_h=track_h,
        lane_h=n * track_h + 2 * _PAD,
        r_max=r_max,
        panel=tuple(panel),
        header_y=header_y,
        lanes_y=header_y + 2 * 15 + 6 + (18 if m.at_stage is not None else 0),
    )


def _panel_columns(m: _Model) -> list[tuple[str, tuple[str, str], float]]:
    """The figures right of the stages: key, header (two lines), width."""
    if not m.roles:
        return []
    out: list[tuple[str, tuple[str, str], float]] = [
        ("share", ("Engaged", "in any stage"), 84.0),
        ("days", ("Joins on", "day (median)"), 92.0),
    ]
    if m.has_share_at and m.at is not None:
        out.append(
            ("at", ("Engaged", f"by {m.at}"), min(120.0, max(70.0, text_width(f"by {m.at}", _TINY) + 6)))
        )
    if m.has_lift:
        out.append(("lift", ("Win rate with", "vs without role"), 112.0))
    return out


def _subtitle(m: _Model) -> list[str]:
    if not m.roles:
        return []
    out = ["Roles as lanes, ordered by the stage where they most often join"]
    if len(m.cohorts) > 1:
        out[0] += "; one track per cohort (with its number of accounts)."
    else:
        out[0] += f"; shares are of the {sum(m.accounts.values()):,} accounts."
    if m.at is not None and m.at_kind == "stage":
        out.append(f"Milestone: the first event of the stage {m.at}.")
    elif m.at is not None:
        out.append(f"Milestone: {m.at}; \u201cengaged by\u201d is of the accounts that reached it.")
    return out


# -- the drawing -----------------------------------------------------------------------------
def committee_svg(committee: BuyingCommittee, *, at_stage: str | None = None) -> str:
    """SVG text of the committee map of a :class:`~journeymine.BuyingCommittee`.

    ``at_stage`` is the stage of the milestone when it is an activity (a stage milestone
    is its own stage); without it such a milestone has no line, but the share engaged by
    it and the badges are shown.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> svg = jm.buying_committee(log, by="segment", random_state=0).committee_map_svg()
    >>> svg.startswith("<svg"), svg.count('<g class="lane"'), svg.count('<g class="stage"')
    (True, 6, 5)
    """
    m = _model(committee, at_stage)
    f = _frame(m)
    y = f.lanes_y
    bands, lanes = [], []
    for i, role in enumerate(m.roles):
        fill = _BAND if i % 2 == 0 else "#ffffff"
        bands.append(
            f'<rect x="{_M / 2:.1f}" y="{y:.1f}" width="{f.width - _M:.1f}" height="{f.lane_h:.1f}" '
            f'fill="{fill}"/>'
        )
        lanes.append(_lane(m, f, role, y))
        y += f.lane_h
    if not m.roles:
        lanes.append(_no_roles(f))
        y += 44
    legend, legend_h = _legend(m, f, y + 18) if m.roles else ("", 0.0)
    height = y + 18 + legend_h + _M
    label = f"{_TITLE_TEXT}: {len(m.roles)} roles over {len(m.stages)} stages, {len(m.cohorts)} cohort(s)"
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="jm-committee" viewBox="0 0 {f.width:.0f} '
            f'{height:.0f}" width="100%" style="max-width: {f.width:.0f}px; height: auto" '
            f'font-family="Helvetica, Arial, sans-serif" role="img" aria-label="{_esc(label)}">',
            f"<title>{_esc(label)}</title>",
            '<rect width="100%" height="100%" fill="#ffffff"/>',
            _text(_M, _M + 16, _TITLE_TEXT, size=_TITLE, cls="title", bold=True),
            *(
                _text(_M, _M + 38 + 16 * k, line, size=_SMALL, cls="subtitle", fill=_GREY)
                for k, line in enumerate(f.subtitle)
            ),
            f'<g class="lane-bands">{"".join(bands)}</g>',
            _columns(m, f, y),
            _milestone(m, f, y),
            *lanes,
            _panel_headers(f),
            legend,
            "</svg>",
        ]
    )


def _no_roles(f: _Frame) -> str:
    text = (
        "No roles in this log: the committee map needs each contact's buying-committee role, "
        "e.g. JourneyLog.from_frame(..., contact='contact_id', role='contact_role')."
    )
    shown = _wrap(text, f.width - 2 * _M, _BODY, lines=4)
    body = _lines(_M, f.lanes_y + 20, text, shown, size=_BODY, cls="empty-text", step=16, fill=_GREY)
    return f'<g class="empty">{body}</g>'


def _columns(m: _Model, f: _Frame, bottom: float) -> str:
    """The stage names and the faint rules between the stages."""
    out = ['<g class="stages">']
    for j, stage in enumerate(m.stages):
        x0 = f.col_x(j)
        shown = _wrap(stage, f.col_w - 8, _BODY, bold=True)
        y = f.header_y + (15 if len(shown) == 1 else 0)
        name = _lines(
            x0 + f.col_w / 2,
            y,
            stage,
            shown,
            size=_BODY,
            cls="stage-name",
            step=15,
            anchor="middle",
            bold=True,
        )
        rule = _rule(x0, f.lanes_y, bottom) if m.roles else ""
        out.append(f'<g class="stage" data-stage="{_esc(stage)}">{name}{rule}</g>')
    if m.stages and m.roles:
        out.append(_rule(f.col_x(len(m.stages)), f.lanes_y, bottom))
    out.append("</g>")
    return "".join(out)


def _rule(x: float, top: float, bottom: float) -> str:
    return f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{_FAINT}"/>'


def _lane(m: _Model, f: _Frame, role: str, top: float) -> str:
    """A role's name and its tracks, one per cohort."""
    shown = _wrap(role, f.role_w, _BODY, bold=True, lines=max(1, min(3, int((f.lane_h - 6) // 15))))
    first = top + f.lane_h / 2 - (len(shown) - 1) * 7.5 + 4.5
    out = [
        f'<g class="lane" data-role="{_esc(role)}">',
        _lines(_M, first, role, shown, size=_BODY, cls="role", step=15, bold=True),
    ]
    for k, cohort in enumerate(m.cohorts):
        cy = top + _PAD + f.track_h * (k + 0.5)
        colour = _PALETTE[k % len(_PALETTE)]
        track = m.tracks[(role, cohort)]
        out.append(f'<g class="track" data-cohort="{_esc(cohort)}">')
        if len(m.cohorts) > 1:
            out.append(_cohort_label(m, f, cohort, colour, cy))
        out += _marks(m, f, role, cohort, track, colour, cy)
        out += _figures(m, f, role, cohort, track, colour, cy)
        out.append("</g>")
    out.append("</g>")
    return "".join(out)


def _cohort_label(m: _Model, f: _Frame, cohort: str, colour: str, cy: float) -> str:
    name = shorten(cohort, f.name_w, _SMALL)
    x = f.cohort_x + 12
    count = f.cohort_x + 12 + f.name_w + 8 + f.count_w
    tip = f"{cohort}: {m.accounts[cohort]:,} accounts"
    return (
        f"<g><title>{_esc(tip)}</title>"
        f'<circle cx="{f.cohort_x + 4:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"/>'
        + _text(x, cy + 4, name, size=_SMALL, cls="cohort")
        + _text(
            count,
            cy + 3.6,
            f"{m.accounts[cohort]:,}",
            size=_TINY,
            cls="cohort-accounts",
            anchor="end",
            fill=_GREY,
        )
        + "</g>"
    )


def _marks(m: _Model, f: _Frame, role: str, cohort: str, t: _Track, colour: str, cy: float) -> list[str]:
    """The span line, the discs, the join diamond and the share labels of one track."""
    out = []
    if t.join is not None and t.last is not None:
        x0, x1 = f.marker_x(t.join), f.disc_x(t.last)
        out.append(
            f'<line class="span" x1="{x0:.1f}" y1="{cy:.1f}" x2="{x1:.1f}" y2="{cy:.1f}" '
            f'stroke="{colour}" stroke-width="2" stroke-opacity="0.7"/>'
        )
    labels = []
    n = m.accounts[cohort]
    for j, stage in enumerate(m.stages):
        se, sj = t.engaged[j], t.joined[j]
        if se <= 0:
            continue
        cx = f.disc_x(j)
        e, jn = t.counts[j]
        tip = (
            f"{cohort}: {role} in {stage}: a touch in {se:.1%} of accounts ({e:,} of {n:,}); "
            f"joins there in {sj:.1%} ({jn:,})"
        )
        r_out, r_in = max(1.5, f.r_max * math.sqrt(se)), max(1.0, f.r_max * math.sqrt(sj))
        core = f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r_in:.1f}" fill="{colour}"/>' if sj > 0 else ""
        out.append(
            f'<g class="cell"><title>{_esc(tip)}</title>'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r_out:.1f}" fill="{colour}" '
            f'fill-opacity="0.22" stroke="{colour}" stroke-width="1.2"/>{core}</g>'
        )
        labels.append(_text(cx + f.r_max + 3, cy - 2.5, _pct(se), size=_TINY, cls="share", halo=True))
    if t.join is not None:
        x, s = f.marker_x(t.join), 4.5
        days = "" if t.days != t.days else f", on day {t.days:,.0f} (median)"
        tip = f"{cohort}: {role} joins most often in {m.stages[t.join]}{days}"
        out.append(
            f'<g class="join"><title>{_esc(tip)}</title><path d="M{x - s:.1f},{cy:.1f} L{x:.1f},{cy - s:.1f} '
            f'L{x + s:.1f},{cy:.1f} L{x:.1f},{cy + s:.1f} Z" fill="{colour}" stroke="#ffffff" '
            'stroke-width="1"/></g>'
        )
    return out + labels


def _figures(m: _Model, f: _Frame, role: str, cohort: str, t: _Track, colour: str, cy: float) -> list[str]:
    """The figures right of the stages for one track."""
    out = []
    base = cy + 0.36 * _SMALL
    for key, _head, x, w in f.panel:
        if key == "share":
            bar = 40.0 * max(0.0, min(1.0, t.share))
            out.append(
                f'<rect class="share-bar" x="{x:.1f}" y="{cy - 4:.1f}" width="40" height="8" '
                f'fill="{_FAINT}"/>'
                f'<rect x="{x:.1f}" y="{cy - 4:.1f}" width="{bar:.1f}" height="8" fill="{colour}"/>'
                + _text(x + 46, base, _pct(t.share), size=_SMALL, cls="figure")
            )
        elif key == "days":
            text = "–" if t.days != t.days else f"day {t.days:,.0f}"
            out.append(_text(x, base, shorten(text, w - 4, _SMALL), size=_SMALL, cls="figure"))
        elif key == "at":
            out.append(_text(x, base, _pct(t.share_at), size=_SMALL, cls="figure"))
        elif key == "lift" and t.lift is not None:
            out.append(_badge(m, x, cy, w, f"{cohort}: accounts with {role}", t.lift))
    return out


def _badge(m: _Model, x: float, cy: float, w: float, who: str, lift: tuple[float, float, float, str]) -> str:
    rw, ro, q, test = lift
    ink, bg = (_UP, _UP_BG) if rw >= ro else (_DOWN, _DOWN_BG)
    text = shorten(f"{_pct(rw)} vs {_pct(ro)}", w - 12, _TINY, bold=True)
    bw, h = text_width(text, _TINY, bold=True) + 12, 16.0
    km = " (Kaplan–Meier)" if test == "log-rank" else ""
    qt = "q < 0.001" if q < 0.001 else f"q = {q:.3f}"
    tip = f"{who} engaged by {m.at} win{km} {_pct(rw)}; without it {_pct(ro)} ({qt})"
    return (
        f'<g class="badge"><title>{_esc(tip)}</title>'
        f'<rect x="{x:.1f}" y="{cy - h / 2:.1f}" width="{bw:.1f}" height="{h:.1f}" rx="{h / 2:.1f}" '
        f'fill="{bg}" stroke="{ink}" stroke-width="0.8"/>'
        + _text(x + 6, cy + 3.5, text, size=_TINY, cls="badge-text", bold=True, fill=ink)
        + "</g>"
    )


def _panel_headers(f: _Frame) -> str:
    out = ['<g class="figure-heads">']
    for _key, head, x, w in f.panel:
        shown = [shorten(t, w - 4, _TINY) for t in head]
        out.append(
            _lines(
                x, f.header_y + 2, " ".join(head), shown, size=_TINY, cls="figure-head", step=13, fill=_GREY
            )
        )
    out.append("</g>")
    return "".join(out)


def _milestone(m: _Model, f: _Frame, bottom: float) -> str:
    """The dashed line at the milestone's stage, labelled "by <milestone>"."""
    if m.at_stage is None or m.at is None or not m.roles:
        return ""
    j = m.at_stage
    # a stage begins with its first event; an activity falls somewhere in its stage's column
    x = f.col_x(j) if m.at_kind == "stage" else f.disc_x(j)
    top = f.lanes_y - 16
    text = f"by {m.at}"
    right, left = f.col_x(len(m.stages)) - x - 6, x - f.plot_x - 6
    on_right = right >= 80 or right >= left
    shown = shorten(text, right if on_right else left, _SMALL, bold=True)
    label = _text(
        x + 5 if on_right else x - 5,
        top + 9,
        shown,
        size=_SMALL,
        cls="milestone-label",
        anchor="start" if on_right else "end",
        bold=True,
    )
    if shown != text:
        label = f"<g><title>{_esc(text)}</title>{label}</g>"
    return (
        f'<g class="milestone"><line x1="{x:.1f}" y1="{top - 2:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
        f'stroke="{_INK}" stroke-width="1.4" stroke-dasharray="5 4"/>{label}</g>'
    )


# -- the legend ------------------------------------------------------------------------------
def _legend(m: _Model, f: _Frame, top: float) -> tuple[str, float]:
    """The keys in as many columns as fit the width; returns the SVG and its height."""
    items = _keys(m, f)
    gap, room = 24.0, f.width - 2 * _M
    widths = [min(room, gw + 6 + text_width(text, _SMALL)) for gw, _, text in items]
    n_cols = next(
        n
        for n in range(len(items), 0, -1)
        if n == 1 or sum(max(widths[c::n]) for c in range(n)) + gap * (n - 1) <= room
    )
    cols = [max(widths[c::n_cols]) for c in range(n_cols)]
    out = ['<g class="legend">']
    y = top + 10
    for row in range(0, len(items), n_cols):
        tallest = 1
        for c, (gw, glyph, text) in enumerate(items[row : row + n_cols]):
            x = _M + sum(cols[:c]) + gap * c
            shown = _wrap(text, cols[c] - gw - 6, _SMALL, lines=2)
            tallest = max(tallest, len(shown))
            out.append(
                f'<g class="key" transform="translate({x:.1f},{y:.1f})">{glyph}</g>'
                + _lines(x + gw + 6, y + 4, text, shown, size=_SMALL, cls="legend-text", step=14, fill=_GREY)
            )
        y += 8 + 14 * tallest
    out.append("</g>")
    return "".join(out), y - top


def _keys(m: _Model, f: _Frame) -> list[tuple[float, str, str]]:
    """The legend's keys: glyph width, glyph (drawn with its left middle at 0,0), text."""
    c = _PALETTE[0] if len(m.cohorts) == 1 else "#6c757d"
    r = min(f.r_max, 9.0)
    disc = (
        f'<circle cx="{r:.1f}" cy="0" r="{r:.1f}" fill="{c}" fill-opacity="0.22" stroke="{c}" '
        'stroke-width="1.2"/>'
    )
    out = [
        (
            2 * r,
            disc,
            "share of accounts where the role makes a touch in the stage (area and %; full disc 100%)",
        ),
        (
            2 * r,
            disc + f'<circle cx="{r:.1f}" cy="0" r="{r * 0.6:.1f}" fill="{c}"/>',
            "dark core: share of accounts where the role joins in the stage (its first touch)",
        ),
        (
            30.0,
            f'<line x1="4" y1="0" x2="30" y2="0" stroke="{c}" stroke-width="2" stroke-opacity="0.7"/>'
            f'<path d="M0,0 L4.5,-4.5 L9,0 L4.5,4.5 Z" fill="{c}" stroke="#ffffff" stroke-width="1"/>',
            "the stage where the role most often joins; the line runs on to the last stage where it "
            f"touches {_SPAN_MIN:.0%} or more of the accounts",
        ),
    ]
    if m.at_stage is not None and m.at is not None:
        out.append(
            (
                14.0,
                f'<line x1="7" y1="-8" x2="7" y2="8" stroke="{_INK}" stroke-width="1.4" '
                'stroke-dasharray="5 4"/>',
                f"the milestone: {m.at}",
            )
        )
    if m.has_lift and m.at is not None:
        out.append(
            (
                26.0,
                f'<rect x="0" y="-6" width="26" height="12" rx="6" fill="{_UP_BG}" stroke="{_UP}" '
                'stroke-width="0.8"/>',
                f"win rate of accounts with the role engaged by {m.at} vs without it, where q < {_ALPHA:g}",
            )
        )
    return out
