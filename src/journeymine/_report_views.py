"""The report's funnel, paths and over-time sections: what each shows, as plain data for
the template (``templates/report.html.j2``), and what the Methods section says of it.

Like :mod:`journeymine._report_sections`, each function returns a
:class:`~journeymine._report_sections.Section`; one whose inputs were not given has no
content and is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._format import percent
from ._report_sections import Section

if TYPE_CHECKING:
    from ._cohorts import Cohorts
    from ._log import JourneyLog

__all__ = ["funnel_section", "paths_section", "time_section"]


def funnel_section(
    log: JourneyLog,
    steps: Sequence[Any] | None,
    *,
    window: Any,
    by: Cohorts | None,
    lost: Sequence[str] | None,
) -> Section:
    """The funnel of ``steps`` per cohort: the chart, the steps of the whole log and the
    significant cohort differences; left out without ``steps``."""
    if not steps:
        return Section(None)
    from ._funnel import funnel

    drift = by is not None and by.in_time  # period cohorts: each period against the one before
    f = funnel(log, list(steps), window=window, by=by, lost=list(lost) if lost else None,
               pairs="consecutive" if drift else "vs-rest")
    whole = f if by is None else funnel(log, list(steps), window=window, lost=list(lost) if lost else None)
    rows = []
    for r in whole.steps.to_dict("records"):
        last = int(r["step"]) == len(f.step_names)
        rows.append(
            {
                "name": r["name"],
                "entered": f"{int(r['entered']):,}",
                "share": percent(r["share_of_start"]),
                "converted": "" if last else f"{int(r['converted']):,}",
                "open": "" if last else f"{int(r['open']):,}",
                "dropped": "" if last else f"{int(r['dropped']):,}",
                "conversion": ""
                if last
                else f"{percent(r['conversion'])} ({percent(r['ci_low'])}–{percent(r['ci_high'])})",
                "naive": "" if last else percent(r["converted_share"]),
                "median": "" if last or r["median_days"] != r["median_days"] else f"{r['median_days']:,.1f}",
                "window": r["window"],
            }
        )
    content = {
        "chart": f.svg,
        "rows": rows,
        "findings": f.findings[:10],
        "tested": len(f.comparisons),
        "alpha": f.alpha,
        "lost": ", ".join(lost) if lost else "",
    }
    lost_text = f"; reaching {', '.join(lost)} before the next step is a drop-off" if lost else ""
    method = (
        f"Funnel ({f.order} order): an account enters at its first event of the first step and reaches each "
        "later step at its first event of it after the previous step; it converts when that happens within "
        f"the step's window, drops when the window closed by the end of the log{lost_text}, and is still "
        "open otherwise. Conversion is the Kaplan–Meier probability of the next step within the window, open "
        "accounts censored (log–log 95% interval, Greenwood's variance); cohorts are compared on it by the "
        "z-test of the difference (two-proportion test where a group has no variance), Benjamini–Hochberg "
        "over every step and cohort."
    )
    return Section(content, method)


def paths_section(log: JourneyLog, around: str | Sequence[str] | None, *, by: Cohorts | None) -> Section:
    """What happens before and after ``around``: the Sankey per cohort on one layout and
    the most frequent full paths; left out without ``around``."""
    if not around:
        return Section(None)
    from ._paths import paths

    p = paths(log, around, by=by)
    whole = p if by is None else paths(log, around)
    unit = whole.unit
    top = whole.paths.head(11)
    rows = [
        {"before": str(r["before"]), "after": str(r["after"]), "count": f"{int(r[unit]):,}",
         "share": percent(r["share"])}
        for r in top.to_dict("records")
    ]
    label = " | ".join(whole.around)
    content = {"chart": p.svg, "subtitle": p._subtitle(), "around": label, "rows": rows, "unit": unit}
    method = (
        f"Paths around {label}: the {p.before} steps before and {p.after} after the account's first "
        "event of it, consecutive repeats collapsed; at each position the most frequent activities, the rest "
        "grouped as \"other\" with their true count, so every column adds up to the accounts."
    )
    return Section(content, method)


def time_section(
    log: JourneyLog,
    *,
    by: Cohorts | None,
    period: str | None,
) -> Section:
    """Over time: the dotted chart (always) and, with ``period``, retention by start
    cohort and the lifecycle of active accounts."""
    from ._dotted import dotted_chart

    chart = dotted_chart(log, by=by)
    content: dict[str, Any] = {"dotted": chart.svg, "dotted_caption": chart.caption, "retention": None}
    method = (
        "Dotted chart: one row per account (sorted by first event), a dot per event coloured by touchpoint; "
        f"above {2_000:,} accounts a density view where every event of the drawn cohorts is counted. "
    )
    if period:
        from ._retention import retention

        r = retention(log, period=period)
        per = retention(log, period=period, by=by) if by is not None else r
        content["retention"] = {
            "heatmap": r.svg,
            "lifecycle": r.draw(kind="lifecycle"),
            "summary_head": _retention_head(per.summary),
            "summary": _retention_rows(per.summary),
        }
        method += (
            "Retention: accounts start at their first event; the share of a start cohort active (any event) "
            "n periods later, censored (not 0%) where the period had not ended at the end of the log; "
            "averages weight the uncensored start cohorts by their accounts."
        )
    return Section(content, method)


def _retention_head(summary: Any) -> list[str]:
    ks = [c for c in summary.columns if c.startswith("retention_")]
    return ["cohort", "accounts", *[f"after {c.removeprefix('retention_')}" for c in ks]]


def _retention_rows(summary: Any) -> list[list[str]]:
    ks = [c for c in summary.columns if c.startswith("retention_")]
    out = []
    for r in summary.to_dict("records"):
        cells = [str(r["cohort"]), f"{int(r['accounts']):,}"]
        for k in ks:
            n = r.get(k.replace("retention_", "at_risk_"), 0)
            cells.append("–" if r[k] != r[k] else f"{percent(r[k])} (n={int(n):,})")
        out.append(cells)
    return out
