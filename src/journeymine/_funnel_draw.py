"""The funnel chart, as SVG: one panel per cohort, one bar per step.

Each bar's height is the share of the cohort's accounts that entered the first step and
reached this step (the same scale in every panel, so panels compare). A step's bar is split
into the accounts that went on to the next step (dark, bottom), those still open (hatched:
their window had not closed at the end of observation) and those that dropped (pale red,
top). Between two bars, the step's conversion (Kaplan–Meier, open accounts censored) with
its 95% interval, the window, and the median time to convert. The renderer knows no log:
it reads the result's ``steps`` table. Every text from the data is shortened to its room
(the whole text is the element's ``<title>`` tooltip) and escaped; the same table gives the
same bytes.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from ._textsize import text_width

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_PANELS", "fit", "funnel_svg"]

_INK, _GREY, _FAINT = "#212529", "#5c636a", "#dee2e6"
_CONV, _OPEN, _DROP, _LAST = "#0072B2", "#9ecae1", "#f4c7c3", "#0b3d66"
_UP, _DOWN = "#1b6e3a", "#a61e1e"
_M = 20.0
_TITLE, _BODY, _SMALL = 16.0, 12.0, 11.0
_BAR_W, _GAP = 64.0, 112.0
_BAR_H = 170.0
_FONT = "Helvetica, Arial, sans-serif"
#: cohorts drawn at most (the largest, in their order); the tables keep every cohort
MAX_PANELS = 12


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fit(text: str, width: float, size: float) -> str:
    """``text`` shortened with "…" to fit ``width`` points at font ``size``."""
    if text_width(text, size) <= width:
        return text
    out = text
    while out and text_width(out + "…", size) > width:
        out = out[:-1]
    return out + "…"


def _count(n: float) -> str:
    return f"{int(n):,}"


def _pct(x: float) -> str:
    return "–" if x != x else f"{x:.0%}"


def _days(x: float) -> str:
    if x != x:
        return "–"
    return f"{x:.1f} d" if x < 10 else f"{x:,.0f} d"


def funnel_svg(
    steps: pd.DataFrame,
    *,
    step_names: tuple[str, ...] | list[str],
    windows: list[str],
    cohorts: list[str],
    title: str,
    subtitle: str = "",
    flags: dict[tuple[str, int], str] | None = None,
) -> str:
    """The chart of a :class:`~journeymine.Funnel`'s ``steps`` table; ``flags`` maps
    (cohort, step) to a short note on a significant difference ("▲ vs the rest|q = 0.003":
    two lines)."""
    left_out = ""
    if len(cohorts) > MAX_PANELS:
        size = {
            c: int(steps.loc[(steps["cohort"] == c) & (steps["step"] == 1), "entered"].sum()) for c in cohorts
        }
        keep = set(sorted(cohorts, key=lambda c: (-size[c], cohorts.index(c)))[:MAX_PANELS])
        empty = sum(1 for c in cohorts if size[c] == 0)
        left_out = (
            f"{len(cohorts) - MAX_PANELS:,} of {len(cohorts):,} cohorts not drawn"
            f"{f' ({empty:,} of them empty)' if empty else ''}: the {MAX_PANELS} largest are; "
            "every cohort is in the steps table"
        )
        cohorts = [c for c in cohorts if c in keep]
    n = len(step_names)
    plot_w = n * _BAR_W + (n - 1) * _GAP
    width = max(560.0, plot_w + 2 * _M + 40)
    x0 = (width - plot_w) / 2
    panel_h = _BAR_H + 84.0
    head = [
        f'<text x="{_M}" y="{_M + 14}" font-size="{_TITLE}" font-weight="bold" fill="{_INK}">'
        f"{_esc(fit(title, width - 2 * _M, _TITLE))}<title>{_esc(title)}</title></text>",
    ]
    y = _M + 14
    for line in _wrap(subtitle, width - 2 * _M, _SMALL, lines=3) if subtitle else []:
        y += 16
        head.append(f'<text x="{_M}" y="{y:.1f}" font-size="{_SMALL}" fill="{_GREY}">{_esc(line)}</text>')
    y += 22
    lx = _M
    for label, fill in (
        ("went on to the next step", _CONV),
        ("still open (window not over)", "url(#jm-open)"),
        ("dropped", _DROP),
        ("reached the last step", _LAST),
    ):
        w = 17 + text_width(label, _SMALL) + 18
        if lx + w > width - _M:
            lx, y = _M, y + 18
        head.append(
            f'<rect x="{lx:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{fill}" stroke="{_GREY}" '
            'stroke-width="0.5"/>'
        )
        head.append(
            f'<text x="{lx + 17:.1f}" y="{y:.1f}" font-size="{_SMALL}" fill="{_GREY}">{_esc(label)}</text>'
        )
        lx += w
    if left_out:
        y += 20
        head.append(
            f'<text x="{_M}" y="{y:.1f}" font-size="{_SMALL}" fill="{_GREY}" class="left-out">'
            f"{_esc(fit(left_out, width - 2 * _M, _SMALL))}<title>{_esc(left_out)}</title></text>"
        )
    top = y + 16
    height = top + panel_h * len(cohorts) + _M
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_FONT}" role="img" '
        f'aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        '<defs><pattern id="jm-open" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<rect width="3" height="6" fill="{_OPEN}"/></pattern></defs>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        *head,
    ]
    for i, cohort in enumerate(cohorts):
        part = steps[steps["cohort"] == cohort].sort_values("step")
        out.append(
            _panel(
                part,
                cohort,
                step_names,
                windows,
                x0,
                top + i * panel_h,
                width,
                multi=len(cohorts) > 1,
                flags=flags or {},
            )
        )
    out.append("</svg>")
    return "".join(out)


def _panel(
    part: pd.DataFrame,
    cohort: str,
    step_names: Any,
    windows: list[str],
    x0: float,
    y: float,
    width: float,
    *,
    multi: bool,
    flags: dict[tuple[str, int], str],
) -> str:
    rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in part.to_dict("records")]
    start = float(rows[0]["entered"]) if rows else 0.0
    out = [f'<g class="panel" data-cohort="{_esc(cohort)}">']
    head = f"{cohort} · {_count(start)} accounts entered" if multi else f"{_count(start)} accounts entered"
    out.append(
        f'<text x="{_M}" y="{y + 14:.1f}" font-size="{_BODY}" font-weight="bold" fill="{_INK}">'
        f"<title>{_esc(head)}</title>{_esc(fit(head, width - 2 * _M, _BODY))}</text>"
    )
    base = y + 36 + _BAR_H
    out.append(f'<line x1="{_M}" y1="{base:.1f}" x2="{width - _M:.1f}" y2="{base:.1f}" stroke="{_FAINT}"/>')
    if start <= 0:
        out.append(
            f'<text x="{width / 2:.1f}" y="{base - _BAR_H / 2:.1f}" text-anchor="middle" '
            f'font-size="{_BODY}" fill="{_GREY}">no accounts entered the first step</text>'
        )
    for k, name in enumerate(step_names):
        x = x0 + k * (_BAR_W + _GAP)
        empty: dict[str, Any] = {"entered": 0, "converted": 0, "open": 0, "dropped": 0}
        r = rows[k] if k < len(rows) else empty
        if start > 0:
            out.extend(_bar(r, x, base, start, last=k == len(step_names) - 1))
        label_w = _BAR_W + _GAP - 12
        lines = _wrap(str(name), label_w, _SMALL)
        for j, line in enumerate(lines):
            out.append(
                f'<text x="{x + _BAR_W / 2:.1f}" y="{base + 15 + 13 * j:.1f}" text-anchor="middle" '
                f'font-size="{_SMALL}" fill="{_INK}"><title>{_esc(name)}</title>{_esc(line)}</text>'
            )
        if k < len(step_names) - 1 and start > 0 and r["entered"]:
            out.extend(_between(r, x + _BAR_W, base, windows[k], flags.get((cohort, k + 1))))
    out.append("</g>")
    return "".join(out)


def _bar(r: dict[str, Any], x: float, base: float, start: float, *, last: bool) -> list[str]:
    scale = _BAR_H / start
    entered = float(r["entered"])
    out = []
    tip = (
        f"{r.get('name', '')}: {_count(entered)} accounts entered ({_pct(entered / start)} of the first step)"
    )
    if last:
        parts = [(entered, _LAST, "reached the last step")]
    else:
        parts = [
            (float(r["converted"]), _CONV, "went on to the next step"),
            (float(r["open"]), "url(#jm-open)", "still open: window not over"),
            (float(r["dropped"]), _DROP, "dropped"),
        ]
    yy = base
    for value, fill, what in parts:
        h = value * scale
        if value <= 0:
            continue
        yy -= h
        out.append(
            f'<rect x="{x:.1f}" y="{yy:.1f}" width="{_BAR_W:.1f}" height="{max(h, 0.6):.1f}" fill="{fill}" '
            f'stroke="#ffffff" stroke-width="0.5">'
            f"<title>{_esc(tip)}; {_count(value)} {_esc(what)}</title></rect>"
        )
    label = f"{_count(entered)} · {_pct(entered / start)}"
    out.append(
        f'<text x="{x + _BAR_W / 2:.1f}" y="{base - entered * scale - 5:.1f}" text-anchor="middle" '
        f'font-size="{_SMALL}" font-weight="bold" fill="{_INK}">'
        f"<title>{_esc(tip)}</title>{_esc(label)}</text>"
    )
    return out


def _between(r: dict[str, Any], x: float, base: float, window: str, flag: str | None) -> list[str]:
    cx = x + _GAP / 2
    y = base - _BAR_H * 0.62
    conv = r["conversion"]
    lines = [
        (f"{_pct(conv)} →", _BODY, "bold", _INK),
        (f"CI {_pct(r['ci_low'])}–{_pct(r['ci_high'])}", _SMALL, "normal", _GREY)
        if conv == conv
        else (f"only {_days(r.get('followed_days', float('nan')))} seen", _SMALL, "normal", _GREY),
        (f"within {window}" if window != "no limit" else "no time limit", _SMALL, "normal", _GREY),
        (f"median {_days(r['median_days'])}", _SMALL, "normal", _GREY),
    ]
    if r["open"]:
        lines.append((f"{_count(r['open'])} open", _SMALL, "normal", _GREY))
    tip = (
        f"{_count(r['converted'])} of {_count(r['entered'])} went on ({_pct(r['converted_share'])}); "
        f"{_count(r['dropped'])} dropped, {_count(r['open'])} still open. Conversion {_pct(conv)} "
        f"(Kaplan–Meier, open accounts censored; 95% CI {_pct(r['ci_low'])}–{_pct(r['ci_high'])}). "
        f"Time to convert: median {_days(r['median_days'])}, p25 {_days(r['p25_days'])}, "
        f"p75 {_days(r['p75_days'])}, p90 {_days(r['p90_days'])}."
    )
    if conv != conv:
        tip += (
            " No account was watched for the whole window (the longest: "
            f"{_days(r.get('followed_days', math.nan))}), so the conversion within it is not known yet."
        )
    if flag:
        up = flag.startswith("▲")
        vs, q = flag.split("|", 1)
        lines.append((vs, _SMALL, "bold", _UP if up else _DOWN))
        lines.append((q, _SMALL, "normal", _UP if up else _DOWN))
        tip += f" Different from the comparison group: {vs}, {q}."
    out = [f"<g><title>{_esc(tip)}</title>"]
    for j, (text, size, weight, fill) in enumerate(lines):
        out.append(
            f'<text x="{cx:.1f}" y="{y + 15 * j:.1f}" text-anchor="middle" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}">{_esc(fit(text, _GAP - 6, size))}</text>'
        )
    out.append("</g>")
    return out


def _wrap(text: str, width: float, size: float, lines: int = 2) -> list[str]:
    words = text.split()
    out: list[str] = []
    current = ""
    for i, w in enumerate(words):
        trial = f"{current} {w}".strip()
        if text_width(trial, size) <= width or not current:
            current = trial
            continue
        out.append(current)
        current = w
        if len(out) == lines - 1:
            current = " ".join(words[i:])
            break
    out.append(current)
    return [fit(line, width, size) for line in out[:lines]]
