"""The sections of the journey report, one function each: what a section shows, as plain
data for the template (``templates/report.html.j2``), and what the Methods section says of it.

:func:`journeymine._report.report` runs them in order and renders the result. A section
that needs what the log does not have has no content (None) and is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._format import count as fmt_count
from ._format import duration, percent
from ._typing import CohortBy
from .errors import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

    from ._clustering import JourneyClusterer
    from ._journeymap import JourneyMap, JourneyMaps
    from ._log import JourneyLog

__all__ = [
    "Section",
    "attribution_section",
    "clusters_section",
    "committee_section",
    "compare_section",
    "data_method",
    "data_quality",
    "handoffs_section",
    "journeys_section",
    "kpi_section",
    "positions_section",
    "subway_section",
    "value_section",
    "variants_section",
]


@dataclass(frozen=True)
class Section:
    """One section: what it shows (None: left out) and its paragraph of the Methods section."""

    content: Any
    method: str | None = None


# -- data quality ------------------------------------------------------------------------------


def data_quality(log: JourneyLog) -> dict[str, Any]:
    """Headline counts, the log's roles and source, and the rows set aside by reason."""
    span = log.time_span
    return {
        "headline": [
            {"value": fmt_count(log.n_cases), "label": "accounts"},
            {"value": fmt_count(log.n_events), "label": "events"},
            {"value": str(len(log.activities)), "label": "touchpoints"},
            {"value": fmt_count(log.n_rejected), "label": "rows set aside"},
        ],
        "rows": [
            ("Source", log.source),
            ("Time span", f"{span.start} → {span.end}"),
            ("Roles", ", ".join(f"{k} ← {v}" for k, v in log.mapping.roles().items())),
            ("Case attributes", ", ".join(log.case_attributes) or "–"),
            ("Most frequent touchpoints", ", ".join(log.activities[:10])),
        ],
        "rejected": _rejected(log),
    }


def _rejected(log: JourneyLog) -> list[dict[str, Any]]:
    """One row per reason rows were set aside, with the first few row numbers."""
    rejected = []
    if log.n_rejected:
        rej = log.rejected
        for reason, group in rej.groupby("reason", sort=False):
            rows = ", ".join(str(r) for r in group["row"].head(8))
            rejected.append(
                {
                    "reason": reason,
                    "rows": f"{len(group):,}",
                    "examples": rows + (" …" if len(group) > 8 else ""),
                }
            )
    return rejected


def data_method(log: JourneyLog) -> str:
    """The first paragraph of the Methods section: what was read."""
    return (
        f"Data: {log.n_events:,} events of {log.n_cases:,} accounts from {log.source}; "
        f"{log.n_rejected:,} input rows set aside with a reason."
    )


# -- KPIs --------------------------------------------------------------------------------------

#: why a KPI of a cohort can be undefined ("–"), by KPI column
_UNDEFINED_REASONS = {
    "sales_cycle_days": "sales cycle: no account of the cohort had a touch of the second "
    "stage or later before its close",
    "time_to_purchase_among_won_days": "days to purchase: no account of the cohort won",
    "touches_before_purchase": "touches before purchase: no account of the cohort won",
    "conversion_rate": "conversion rate: no account of the cohort was decided",
    "churn_rate": "churn rate: no account of the cohort won",
}


def kpi_section(
    log: JourneyLog,
    outcomes: Mapping[str, Any] | None,
    *,
    by: CohortBy | None,
    won: str,
    lost: str | None,
    churned: str | None,
) -> Section:
    """The KPI table, one column per cohort (left out without outcomes)."""
    if not outcomes:
        return Section(None)
    from ._kpis import kpis

    k = kpis(log, outcomes=outcomes, by=by, won=won, lost=lost, churned=churned)
    wide = k.to_dataframe(wide=True)
    labels = _kpi_labels(lost)
    content = {
        "cohorts": [str(c) for c in wide.index],
        "rows": _kpi_rows(wide, labels),
        "undefined": "; ".join(_undefined_kpis(wide, labels)),
    }
    return Section(content, _kpi_method(won, lost, churned))


def _kpi_labels(lost: str | None) -> dict[str, tuple[str, str]]:
    """The KPIs the report shows: column → (label, format string or "pct")."""
    return {
        "accounts": ("accounts", "{:,.0f}"),
        "won": ("won", "{:,.0f}"),
        "open": ("open", "{:,.0f}"),
        "conversion_rate": (
            "conversion rate (won / decided)" if lost
            else "conversion rate (won by the end, censored)",
            "pct",
        ),
        "time_to_purchase_among_won_days": ("days to purchase (won accounts, median)", "{:,.0f}"),
        "sales_cycle_days": ("sales cycle, days (median)", "{:,.0f}"),
        "touches_before_purchase": ("touches before purchase", "{:,.1f}"),
        "churn_rate": ("churn rate (of won)", "pct"),
        "revenue_per_account": ("revenue per won account", "{:,.0f}"),
        "engagement_per_month": ("touches per active month", "{:,.1f}"),
    }


def _kpi_rows(wide: pd.DataFrame, labels: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per KPI the table has, its figures formatted ("–" when undefined)."""
    kpi_rows: list[dict[str, Any]] = []
    for col, (label, fmt) in labels.items():
        if col not in wide.columns:
            continue
        vals = [("–" if v != v else (percent(v) if fmt == "pct" else fmt.format(v))) for v in wide[col]]
        kpi_rows.append({"label": label, "cells": vals})
    return kpi_rows


def _undefined_kpis(wide: pd.DataFrame, labels: dict[str, tuple[str, str]]) -> list[str]:
    """Why each KPI that is undefined for some cohort is."""
    return [
        _UNDEFINED_REASONS.get(col, labels[col][0])
        for col in labels
        if col in wide.columns and wide[col].isna().any()
    ]


def _kpi_method(won: str, lost: str | None, churned: str | None) -> str:
    conversion_rule = (
        f"won / (won + lost), with won = {won!r} and lost = {lost!r}, open accounts left out"
        if lost
        else f"the Kaplan–Meier share reaching {won!r} by the end of the log (no lost "
        "outcome: open accounts are censored)"
    )
    return (
        f"KPIs: conversion rate = {conversion_rule}; time to purchase "
        "from the first touch; sales cycle from the first touch of the second stage on (other "
        "than the close itself) to the close"
        + (f"; churn rate = {churned!r} / won" if churned else "")
        + " (definitions in docs/kpis.md)."
    )


# -- buying committee --------------------------------------------------------------------------

#: how many driver rows the report lists (the smallest q first)
_DRIVER_ROWS = 12


def committee_section(
    log: JourneyLog,
    outcomes: Mapping[str, Any] | None,
    *,
    by: CohortBy | None,
    at: tuple[str, str] | None,
    won: str,
    lost: str | None,
    random_state: int,
) -> Section:
    """Who on the customer's side is involved: the committee map, sizes per cohort, role
    coverage by stage and, with outcomes and a milestone, the drivers; left out when the log
    has no contact column."""
    if "contact" not in log.mapping.roles():
        return Section(None)
    from ._committee import build_committee

    bc = build_committee(
        log, outcomes=outcomes, at=at, by=by, won=won, lost=lost, random_state=random_state,
        owner="report",
        param="committee_at",
    )
    milestone = bc.at
    has_roles = "role" in log.mapping.roles()
    drivers = _drivers(bc) if bc.has_drivers else None
    content = {
        "sentences": bc.explain(),
        "map": bc.committee_map_svg(),
        "at": milestone,
        "summary_head": _committee_head(has_roles, milestone),
        "summary": [_committee_summary_row(r, has_roles, milestone) for r in bc.summary.to_dict("records")],
        "stages": list(bc.stages),
        "coverage": _coverage(bc, milestone),
        "drivers": drivers,
        "drivers_note": _drivers_note(bc, len(drivers), lost) if drivers is not None else "",
        "no_drivers": _no_drivers(outcomes, milestone, drivers),
    }
    return Section(content, _committee_method(milestone, lost, bc.has_drivers))


def _committee_head(has_roles: bool, milestone: str | None) -> list[str]:
    head = ["cohort", "accounts", "with a known contact", "median contacts"]
    if has_roles:
        head.append("median roles")
    head += ["multi-threaded (2+ contacts)", "top contact's share of touches (median)"]
    if milestone is not None:
        head += [f"reached {milestone}", f"median contacts by {milestone}", f"multi-threaded by {milestone}"]
    return head


def _committee_summary_row(r: Mapping[Any, Any], has_roles: bool, milestone: str | None) -> list[str]:
    """A cohort's row of the committee summary, formatted."""
    row = [
        str(r["cohort"]),
        f"{r['accounts']:,}",
        f"{r['with_contacts']:,}",
        _median(r["median_contacts"]),
    ]
    if has_roles:
        row.append(_median(r["median_roles"]))
    row += [percent(r["share_multi_threaded"]), percent(r["median_top_contact_share"])]
    if milestone is not None:
        row += [f"{r['reached']:,}", _median(r["median_contacts_at"]), percent(r["share_multi_threaded_at"])]
    return row


def _median(x: float) -> str:
    return "–" if x != x else f"{x:g}"


def _coverage(bc: Any, milestone: str | None) -> list[dict[str, Any]]:
    """Per cohort, one row per role (in the committee map's order: by the stage where it most
    often joins): the share of accounts where it makes a touch in each stage (with a shade
    for the eye), over the whole journey and by the milestone."""
    eng = bc.engagement
    if not len(eng):
        return []
    stage_rank = {s: i for i, s in enumerate(bc.stages)}
    joins = eng.groupby(["role", "stage"], sort=True)["joined"].sum().reset_index()
    top = joins.sort_values(["role", "joined"], ascending=[True, False], kind="stable")
    top = top.drop_duplicates("role")
    order = sorted(zip(top["stage"].map(stage_rank), top["role"], strict=True))
    roles = bc.roles.set_index(["cohort", "role"])
    cells = eng.set_index(["cohort", "role", "stage"])["share_engaged"]
    out = []
    for cohort in bc.cohorts:
        rows = [
            {
                "role": str(role),
                "cells": [_shaded(float(cells[(cohort, role, s)])) for s in bc.stages],
                "overall": percent(roles.loc[(cohort, role), "share"]),
                "by_at": percent(roles.loc[(cohort, role), "share_at"]) if milestone is not None else "",
            }
            for _, role in order
            if (cohort, role) in roles.index
        ]
        out.append({"cohort": str(cohort), "rows": rows})
    return out


def _shaded(share: float) -> dict[str, str]:
    """A coverage cell: the share as text and a background as light as the share is small."""
    alpha = 0.0 if share != share else round(0.55 * share, 2)
    return {"text": percent(share), "bg": f"rgba(28,126,214,{alpha:.2f})"}


def _drivers(bc: Any) -> list[dict[str, Any]]:
    """The driver rows with the smallest q, formatted; left out: the rows without a test (no
    account on one side) and the "1 contact" rows that only turn the multi-threaded comparison
    round."""
    from ._committee import _mirrors_threading

    d = bc.drivers
    d = d[~_mirrors_threading(d) & d["q"].notna()]
    d = d.assign(_h=d["cohens_h"].abs())
    d = d.sort_values(["q", "_h", "cohort", "feature"], ascending=[True, False, True, True], kind="stable")
    km = (d["test"] == "log-rank").any()
    return [
        {
            "cohort": str(r["cohort"]),
            "feature": str(r["feature"]),
            "with": _rate(r["rate_with"], r["n_with"] + (r["open_with"] if km else 0)),
            "without": _rate(r["rate_without"], r["n_without"] + (r["open_without"] if km else 0)),
            "diff": "–" if r["difference"] != r["difference"] else (
                f"{r['difference']:+.0%} ({r['ci_low']:+.0%} to {r['ci_high']:+.0%})"
            ),
            "h": "–" if r["cohens_h"] != r["cohens_h"] else f"{r['cohens_h']:+.2f}",
            "test": str(r["test"]) or "–",
            "q": "–" if r["q"] != r["q"] else ("< 0.001" if r["q"] < 0.001 else f"{r['q']:.3f}"),
            "significant": bool(r["q"] < 0.05),
        }
        for r in d.head(_DRIVER_ROWS).to_dict("records")
    ]


def _rate(rate: float, n: int) -> str:
    return f"{percent(rate)} of {int(n):,}"


def _drivers_note(bc: Any, shown: int, lost: str | None) -> str:
    d = bc.drivers
    rate = (
        "win rate = won / (won + lost) among the accounts decided so far (open accounts left out)"
        if lost
        else "Kaplan–Meier probability of a win after the milestone (open accounts censored)"
    )
    return (
        f"Accounts that reached {bc.at} before any outcome, compared by the committee engaged at or "
        f"before it: with the role, size or multi-threading against without; {rate}. The {shown} "
        f"comparisons with the smallest q of {len(d)} (Benjamini–Hochberg over all of them; bold: "
        "q < 0.05); all in jm.buying_committee(...).drivers."
    )


def _no_drivers(
    outcomes: Mapping[str, Any] | None, milestone: str | None, drivers: list[dict[str, Any]] | None
) -> str:
    """One sentence: how to get the drivers, and why a milestone is needed (or why there are none)."""
    if drivers is not None:
        return "" if drivers else f"No comparison by {milestone} could be tested: too few accounts reach it."
    if milestone is None:
        need = ("outcomes and " if not outcomes else "") + "a milestone: pass committee_at="
        return (
            f"Which roles and committee sizes go with winning needs {need}'<an activity or stage>' "
            "(--committee-at on the command line"
            + ("" if outcomes else ", with --outcome")
            + "), so that accounts are compared by the committee engaged by then: over the whole journey, "
            "roles that join after the win (procurement, users) would look like its causes."
        )
    return (
        f"Which roles and committee sizes by {milestone} go with winning needs outcomes (outcomes=, or "
        "--outcome on the command line)."
    )


def _committee_method(milestone: str | None, lost: str | None, drivers: bool) -> str:
    text = (
        "Buying committee: an account's committee is the distinct contacts (and their roles) who made a "
        "touch; multi-threaded = two or more contacts; role coverage = the share of a cohort's accounts "
        "where the role made a touch in the stage"
        + (f", and by {milestone} among the accounts that reached it" if milestone else "")
    )
    if drivers:
        rate = "won / (won + lost), open accounts left out" if lost else (
            "the Kaplan–Meier probability of a win after the milestone, log-rank test"
        )
        text += (
            f". Drivers: accounts that reached {milestone} before any outcome, compared by the committee "
            f"engaged at or before it (no look-ahead); rate = {rate}; two-proportion z-test or Fisher's "
            "exact test, Newcombe 95% intervals, Cohen's h, Benjamini–Hochberg over every driver row"
        )
    return text + " (definitions in docs/committees.md)."


# -- journeys ----------------------------------------------------------------------------------

_JOURNEYS_METHOD = (
    "Journey maps: directly-follows steps between consecutive events of an account (events "
    "ordered by time, ties by input order); counts and durations equal pm4py's DFG and "
    "performance DFG. Simplified maps keep 60% of the activities (journeys projected onto "
    "them) and 30% of the paths plus a connected backbone."
)


def journeys_section(log: JourneyLog, maps: JourneyMap | JourneyMaps, by: CohortBy | None) -> Section:
    """The simplified map of all accounts and one summary row per cohort."""
    from ._journeymap import JourneyMap, JourneyMaps, journey_map

    whole = journey_map(log) if by is not None else maps
    assert_map = whole if isinstance(whole, JourneyMap) else None
    if assert_map is None:  # pragma: no cover - journey_map without by is one map
        raise TypeError("journey_map returned several maps")
    groups = maps.items() if isinstance(maps, JourneyMaps) else [("All accounts", maps)]
    content = {
        "note": (
            f"Stages ({assert_map.stage_source}): {' → '.join(assert_map.stages)}. "
            "A back-step goes to an "
            "earlier stage; rework is a touchpoint repeated in one account's journey."
        ),
        "summary_head": [
            "cohort",
            "accounts",
            "events",
            "paths",
            "step back",
            "back-steps per account",
            "rework",
            "self-loops",
        ],
        "summary": [_journey_summary(key, m) for key, m in groups],
        "map": assert_map.simplify(activities=0.6, paths=0.3).draw(labels="both").svg,
    }
    return Section(content, _JOURNEYS_METHOD)


def _journey_summary(key: Any, m: JourneyMap) -> list[str]:
    """A cohort's row of the journey summary: size, paths and how non-linear it is."""
    nl = m.nonlinearity
    return [
        str(key),
        f"{m.n_cases:,}",
        f"{m.n_events:,}",
        f"{len(m.edges):,}",
        percent(nl["backstep_share"]),
        f"{nl['mean_backsteps']:.2f}",
        percent(nl["rework_share"]),
        percent(nl["self_loop_share"]),
    ]


def subway_section(
    log: JourneyLog, maps: JourneyMap | JourneyMaps, conversion: list[str] | None, by_label: str
) -> dict[str, Any]:
    """The subway map of the journeys section: the representative journey of each cohort,
    else the most frequent journeys (none when no journey has two touchpoints)."""
    from ._journeymap import JourneyMaps
    from ._subway import subway_map

    try:  # a log where no journey has two touchpoints has no lines to draw
        if isinstance(maps, JourneyMaps) and len(maps) > 1:
            sm = subway_map(maps, timing=True, dropoff=True, conversion=conversion)
            subway_title = f"Subway map: the representative journey of each {by_label}"
        else:
            sm = subway_map(log, top=6, timing=True, dropoff=True, conversion=conversion)
            subway_title = "Subway map: the most frequent journeys"
        return {"subway": sm.to_html(), "subway_title": subway_title}
    except InvalidParameterError:
        return {"subway": None, "subway_title": ""}


# -- clusters ----------------------------------------------------------------------------------

_CHOSEN = "chosen by BIC"


def clusters_section(
    log: JourneyLog, outcomes: Mapping[str, Any] | None, *, random_state: int, max_clusters: int
) -> Section:
    """Journey types: a card per cluster and the clusters' subway map."""
    from ._clustering import JourneyClusterer
    from ._encoding import case_variants

    est = JourneyClusterer(random_state=random_state, max_clusters=max_clusters).fit(log)
    n_variants = int(case_variants(log).n_unique())
    content = {
        "note": _clusters_note(est, n_variants, max_clusters),
        "cards": _cluster_cards(est, outcomes),
        "subway": _cluster_subway(est),
    }
    return Section(content, _clusters_method(est, random_state, max_clusters))


def _cluster_cards(est: JourneyClusterer, outcomes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per cluster: its size, representative journey, duration, outcome shares and the
    rules that set it apart."""
    summary = est.summary(outcomes=outcomes)
    rules = est.explain(top=3, kinds=("transition", "attribute"))
    cards = []
    reps: dict[int, Any] = dict(
        zip(est.representatives_["cluster"], est.representatives_["variant"], strict=True)
    )
    for row in summary.to_dict("records"):
        c = int(row["cluster"])
        # only what sets the cluster apart: over-represented by at least a small effect
        mine = rules[
            (rules["cluster"] == c) & (rules["difference"] > 0) & (rules["cohens_h"].abs() >= 0.2)
        ]
        outs = [f"{percent(row[f'{o}_share'])} {o}" for o in (outcomes or {}) if f"{o}_share" in row]
        cards.append(
            {
                "cluster": c,
                "accounts": f"{row['accounts']:,}",
                "share": percent(row["share"]),
                "journey": " → ".join(map(str, reps[c])),
                "duration": duration(row["median_days"] * 86_400.0),
                "outcomes": outs,
                "rules": list(mine["rule"].head(4)),
                # the mean Jaccard of the cluster with its best match over bootstrap resamples
                "stability": "" if row["stability"] != row["stability"] else f"{row['stability']:.2f}",
                "unstable": bool(row["unstable"]),
            }
        )
    return cards


def _clusters_note(est: JourneyClusterer, n_variants: int, max_clusters: int) -> str:
    one = (
        " BIC found no distinct journey types: one model of all journeys fits better than "
        f"any split into 2–{max_clusters}, so the accounts are shown as one type. Fit "
        "jm.JourneyClusterer(n_clusters=k) to force a split, knowing the data do not support it."
        if est.n_clusters_ == 1 else ""
    )
    return (
        f"{est.n_clusters_} journey type{'s' if est.n_clusters_ != 1 else ''} among "
        f"{n_variants:,} distinct journeys (activity sequences; {est.n_units_:,} sequence × "
        "pace units), by a mixture of Markov chains with a pace model fitted "
        f"by EM; k {_CHOSEN}.{one}{_stability_note(est)}"
    )


def _stability_note(est: JourneyClusterer) -> str:
    if est.n_clusters_ == 1:
        return ""
    from ._clustering import _UNSTABLE

    shaky = [str(c) for c in est.cluster_stability_.index if est.cluster_stability_[c] < _UNSTABLE]
    said = (
        f" Cluster{'s' if len(shaky) > 1 else ''} {', '.join(shaky)} {'are' if len(shaky) > 1 else 'is'} "
        f"unstable (mean Jaccard below {_UNSTABLE} over bootstrap resamples)."
        if shaky
        else ""
    )
    low = f" — below {_UNSTABLE}, the data do not pin these types down" if est.stability_ < _UNSTABLE else ""
    return (
        f" Agreement between the EM runs (stability, adjusted Rand index): {est.stability_:.2f}"
        f"{low}.{said}"
    )


def _cluster_subway(est: JourneyClusterer) -> str | None:
    from ._subway import subway_map

    try:
        out: str = subway_map(est, timing=True).to_html()
    except InvalidParameterError:  # no cluster has a journey of two touchpoints
        return None
    return out


def _clusters_method(est: JourneyClusterer, random_state: int, max_clusters: int) -> str:
    return (
        f"Clusters: mixture of first-order Markov chains with a normal pace model (each gap against "
        f"its step's typical gap), EM on distinct "
        "(variant, pace) units, the likeliest of four consensuses of 20 EM runs each (co-association "
        "k-means, then EM), "
        f"k = {est.n_clusters_} ({_CHOSEN}, BIC compared 1–{max_clusters}); stability: mean adjusted Rand "
        "index between the runs; per cluster, mean best-match Jaccard over 20 bootstrap resamples "
        "(Hennig 2007; below 0.6 flagged unstable); "
        f"random_state = {random_state}. Explanations: shares in the cluster vs elsewhere with "
        "Cohen's h; a card lists what is over-represented by at least a small effect (h ≥ 0.2)."
    )


# -- cohort comparison -------------------------------------------------------------------------

_COMPARE_METHOD = (
    "Cohort comparison: account-level two-proportion z-tests (Fisher's exact for small "
    "counts) with Newcombe intervals and Cohen's h; Mann–Whitney U with bootstrap "
    "intervals for durations; Kaplan–Meier and log-rank for time to outcome; "
    "Jensen–Shannon with a permutation test for variants; one Benjamini–Hochberg "
    "adjustment over all tests."
)


def compare_section(
    log: JourneyLog,
    maps: JourneyMap | JourneyMaps,
    *,
    by: CohortBy | None,
    outcomes: Mapping[str, Any] | None,
    committee_at: tuple[str, str] | None,
    random_state: int,
) -> Section:
    """The strongest differences between cohorts (left out with fewer than two cohorts)."""
    from ._compare import compare_cohorts
    from ._journeymap import JourneyMaps

    if not (by is not None and isinstance(maps, JourneyMaps) and len(maps) > 1):
        return Section(None)
    drift = bool(getattr(by, "in_time", False))  # period cohorts: each period against the one before
    cmp = compare_cohorts(log, by=by, outcomes=outcomes, committee_at=committee_at, random_state=random_state,
                          pairs="consecutive" if drift else "vs-rest")
    top = cmp.transitions.sort_values(
        ["q", "cohens_h"], key=lambda s: s.abs() if s.name == "cohens_h" else s
    ).head(15)
    pairing = "each period against the one before it: drift" if drift else "each cohort against the rest"
    content = {
        "alpha": cmp.alpha,
        "note": (
            f"{len(cmp.to_dataframe()):,} tests over {len(cmp.comparisons)} comparisons ({pairing}), "
            f"Benjamini–Hochberg q < {cmp.alpha}; the largest effects first."
        ),
        "findings": _mixed_findings(cmp.summary, 15),
        "rows": [_comparison_row(r) for r in top.to_dict("records")],
    }
    committee = (
        f"; committees{' by ' + cmp.committee_at if cmp.committee_at else ''}: multi-threading and role "
        "coverage as shares (as transitions), contacts per account by Mann–Whitney (as durations)"
        if len(cmp.committee) else ""
    )
    return Section(content, _COMPARE_METHOD.replace("; one Benjamini", f"{committee}; one Benjamini"))


def _mixed_findings(summary: Any, limit: int) -> list[str]:
    """The strongest findings, taken in turn from each kind (transitions, activities,
    durations, stages, outcomes, variants), so one kind does not crowd out the others."""
    order = {
        "transition": 0,
        "activity": 1,
        "outcome": 2,
        "time_to_outcome": 3,
        "stage": 4,
        "duration": 5,
        "variants": 6,
        "multi_threading": 7,
        "committee_size": 8,
        "role_coverage": 9,
    }
    kinds = sorted(summary.groupby("kind", sort=False).groups, key=lambda k: order.get(k, 9))
    queues = {k: list(summary.loc[summary["kind"] == k, "finding"]) for k in kinds}
    out: list[str] = []
    while len(out) < limit and any(queues.values()):
        for k in kinds:
            if queues[k] and len(out) < limit:
                out.append(queues[k].pop(0))
    return out


def _comparison_row(r: Mapping[Any, Any]) -> dict[str, Any]:
    """A transition test as the table shows it."""
    return {
        "a": r["group_a"],
        "b": "rest" if r["group_b"] == "(rest)" else r["group_b"],
        "feature": r["feature"],
        "sa": percent(r["share_a"]),
        "sb": percent(r["share_b"]),
        "diff": f"{r['difference']:+.1%} ({r['ci_low']:+.1%} to {r['ci_high']:+.1%})",
        "h": f"{r['cohens_h']:+.2f}",
        "test": r["test"],
        "q": "< 0.001" if r["q"] < 0.001 else f"{r['q']:.3f}",
    }


# -- variants ----------------------------------------------------------------------------------


def variants_section(log: JourneyLog) -> list[dict[str, Any]]:
    """The ten most frequent journeys, each with the events of up to three example accounts."""
    from ._variants import variants

    v = variants(log, top=10, examples=3)
    ev = log.events
    extra_cols = [c for c in ("channel", "contact", "role") if c in ev.columns]
    by_case = {
        c: g for c, g in ev[ev["case"].isin({x for ex in v["examples"] for x in ex})].groupby("case")
    }
    return [
        {
            "rank": int(r["rank"]),
            "cases": f"{r['cases']:,}",
            "share": percent(r["share"]),
            "duration": duration(r["median_duration"]),
            "journey": " → ".join(r["variant"]),
            "examples": [
                {"case": c, "events": _example_events(by_case[c], extra_cols)}
                for c in r["examples"]
                if c in by_case
            ],
        }
        for r in v.to_dict("records")
    ]


def _example_events(events: pd.DataFrame, extra_cols: list[str]) -> list[dict[str, Any]]:
    """An example account's events: time, activity, and its channel, contact and role."""
    return [
        {
            "time": f"{e['timestamp']:%Y-%m-%d %H:%M}",
            "activity": e["activity"],
            "extra": " · ".join(
                str(e[x]) for x in extra_cols if e[x] == e[x] and e[x] is not None
            ),
        }
        for e in events.to_dict("records")
    ]


# -- attribution -------------------------------------------------------------------------------

_ATTRIBUTION_METHOD = (
    "Attribution: first/last touch, linear, time decay (half-life 7 days), position-based "
    "40/20/40, Markov removal effect (order 1), Shapley value (closed form); see "
    "docs/kpis.md."
)


def attribution_section(log: JourneyLog, conversion: list[str] | None) -> Section:
    """Credit for the conversions under every model, by channel (else by activity); left
    out without outcomes."""
    if not conversion:
        return Section(None)
    from ._attribution import attribution

    unit = "channel" if "channel" in log.events.columns else "activity"
    att = attribution(log, conversion=conversion, by=unit)
    wide = att.to_dataframe(wide=True)
    assisted = att.assisted.set_index("touch")["assisted_conversions"]
    content = {
        "unit": unit,
        "models": [m.replace("_", " ") for m in wide.columns],
        "note": (
            f"Share of the credit for {att.conversions:,} conversions ({', '.join(conversion)}) "
            "under "
            "seven models; assisted conversions count journeys where the touch appears before the "
            "conversion but is not the last touch."
        ),
        "rows": [
            {
                "touch": t,
                "cells": [percent(x) for x in wide.loc[t]],
                "assisted": f"{int(assisted.get(t, 0)):,}",
            }
            for t in wide.index
        ],
    }
    return Section(content, _ATTRIBUTION_METHOD)


# -- value and voice (issue 25) ----------------------------------------------------------------

_VALUE_METHOD = (
    "Value: recurring revenue per account from the value events (new and renewal set it, expansion adds, "
    "contraction takes off, a churn activity ends it), compared at calendar period starts (UTC); the "
    "waterfall's movements add up to the closing revenue; NRR and GRR over the trailing twelve months. "
    "Lifetime value: Kaplan–Meier survival of the customer relationship (censored at the log's end, an "
    "exponential tail past the observed tenures) × the mean recurring revenue by tenure, five years, with a "
    "seeded bootstrap interval. Acquisition cost: spend per channel and month shared among the acquired "
    "accounts' touches by linear attribution; unexplained spend listed. Voice: each response placed after "
    "the account's last journey event; churn by the band of the first response (Kaplan–Meier, log-rank). "
    "See docs/value.md."
)


def _money(v: float) -> str:
    if v != v:  # NaN
        return "–"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:,.0f}k"
    return f"{v:,.0f}"


def _pct(v: float) -> str:
    return "–" if v != v else percent(v)


def value_section(
    log: JourneyLog,
    outcomes: Mapping[str, Any] | None,
    *,
    by: CohortBy | None,
    churned: str | None,
    won: str,
    kind: str | None,
    product: str | None,
    score: str | None,
    spend: Any,
    random_state: int,
) -> Section:
    """Revenue (waterfall, NRR), lifetime value, acquisition cost (with ``spend``) and the
    voice of the customer (with ``score``); left out when the log has no value column and no
    score."""
    has_value = "value" in log.mapping.roles() and bool(
        log.to_polars("events").get_column("value").is_not_null().any()
    )
    if not has_value and score is None:
        return Section(None)
    from ._acquisition import acquisition_cost
    from ._lifetime import lifetime_value
    from ._revenue import revenue
    from ._voice import voice

    churn_acts = list(outcomes[churned]) if outcomes and churned and churned in outcomes else None
    kw: dict[str, Any] = {"churned": churn_acts, "kind": kind, "product": product}
    content: dict[str, Any] = {"revenue": None, "lifetime": None, "acquisition": None, "voice": None}
    if has_value:
        whole = revenue(log, period="Q", **kw)
        per = revenue(log, period="Q", by=by, **kw) if by is not None else whole
        s = per.summary
        churn_text = " or ".join(churn_acts) if churn_acts else "no churn activity (outcomes without churned)"
        content["revenue"] = {
            "svg": whole.draw(),
            "note": (
                f"Recurring revenue per quarter; {whole.rules}; churn: {churn_text}."
                + (
                    f" {len(whole.problems):,} value events set aside or adjusted."
                    if len(whole.problems)
                    else ""
                )
            ),
            "head": [
                "cohort",
                "recurring now",
                "paying",
                "new",
                "reactivation",
                "expansion",
                "contraction",
                "churned",
                "GRR 12m",
                "NRR 12m",
            ],
            "rows": [
                [
                    r["cohort"],
                    _money(r["recurring_now"]),
                    f"{r['paying_now']:,}",
                    _money(r["new"]),
                    _money(r["reactivation"]),
                    _money(r["expansion"]),
                    _money(r["contraction"]),
                    _money(r["churned"]),
                    _pct(r["grr_12m"]),
                    _pct(r["nrr_12m"]),
                ]
                for r in s.to_dict("records")
            ],
        }
        lv = lifetime_value(log, by=by, random_state=random_state, **kw)
        content["lifetime"] = {
            "head": [
                "cohort",
                "relationships",
                "churned",
                "survival 12m",
                "observed months",
                "revenue at start",
                "earned per account",
                "CLV (5 years)",
                "95% interval",
            ],
            "rows": [
                [
                    r["cohort"],
                    f"{r['relationships']:,}",
                    f"{r['churned']:,}",
                    _pct(r["survival_12m"]),
                    f"{r['observed_months']}",
                    _money(r["arr_at_start"]),
                    _money(r["earned_per_account"]),
                    _money(r["clv"]),
                    f"{_money(r['clv_low'])} – {_money(r['clv_high'])}",
                ]
                for r in lv.summary.to_dict("records")
            ],
        }
        conversion = list(outcomes[won]) if outcomes and won in outcomes else None
        if spend is not None and not (conversion and "channel" in log.mapping.roles()):
            content["acquisition"] = {
                "note": "The spend is not allocated: that needs a won outcome and a channel column.",
                "channels": [], "cohorts": [],
            }
        if spend is not None and conversion and "channel" in log.mapping.roles():
            cac = acquisition_cost(
                log, costs=spend, conversion=conversion, by=by, random_state=random_state, **kw
            )
            total = float(cac.by_channel["spend"].sum())
            lost = float(cac.unexplained["spend"].sum())
            content["acquisition"] = {
                "note": (
                    f"{_money(total)} of spend; {_money(lost)} ({_pct(lost / total) if total else '–'}) "
                    "explained by no acquired account's touch (channels absent from the log, or months whose "
                    "touched accounts have not converted)."
                ),
                "channels": [
                    [
                        r["channel"],
                        _money(r["spend"]),
                        _money(r["allocated"]),
                        _money(r["unexplained"]),
                        f"{r['conversions']:,.1f}",
                        _money(r["cac"]),
                    ]
                    for r in cac.by_channel.to_dict("records")
                ],
                "cohorts": [
                    [
                        r["cohort"],
                        f"{r['acquired']:,}",
                        _money(r["cac"]),
                        "–"
                        if r["median_payback_months"] != r["median_payback_months"]
                        else f"{r['median_payback_months']:.1f}",
                        _money(r["clv"]),
                        "–" if r["clv_to_cac"] != r["clv_to_cac"] else f"{r['clv_to_cac']:.1f}",
                    ]
                    for r in cac.summary.to_dict("records")
                ],
            }
    if score is not None:
        v = voice(
            log,
            score=score,
            by=by,
            churned=churn_acts,
            success=list(outcomes[won]) if outcomes and won in outcomes else None,
        )
        bands = [f"{b}s" for b in v.churn_by_band["band"]]
        content["voice"] = {
            "note": repr(v).strip("<>"),
            "head": ["cohort", "responses", "mean score", *bands, *(["NPS"] if v.scale == "nps" else [])],
            "rows": [
                [
                    r["cohort"],
                    f"{r['responses']:,}",
                    f"{r['mean_score']:.1f}",
                    *[_pct(r[b]) for b in bands],
                    *([f"{r['nps']:+.0f}"] if v.scale == "nps" else []),
                ]
                for r in v.by_cohort().to_dict("records")
            ],
            "churn": [
                [
                    r["band"],
                    f"{r['accounts']:,}",
                    f"{r['churned']:,}",
                    _pct(r["churn_12m"]),
                    f"{_pct(r['churn_12m_low'])} – {_pct(r['churn_12m_high'])}",
                ]
                for r in v.churn_by_band.to_dict("records")
            ],
            "logrank": "–" if v.logrank_p != v.logrank_p else f"{v.logrank_p:.2g}",
            "pains": [
                [
                    f"{r['rank']}",
                    r["station"],
                    f"{r['accounts']:,}",
                    f"{r['responses']:,}",
                    "–" if r["mean_score"] != r["mean_score"] else f"{r['mean_score']:.1f}",
                    _pct(r["drop_off"]),
                    _pct(r["rework"]),
                    "–" if r["dwell_days"] != r["dwell_days"] else f"{r['dwell_days']:.0f}",
                ]
                for r in v.pain_points.head(8).to_dict("records")
            ],
        }
    return Section(content, _VALUE_METHOD)


# -- accounts to act on (issue 26) ---------------------------------------------------------------

_POSITIONS_METHOD = (
    "Accounts to act on: each open account's stage at the log's end (from its last event; open: not ended "
    "by the lost or churned outcome, and an event within the last year), the days since it entered that "
    "stage against the Kaplan–Meier 90th percentile of the cohort's visits of the stage (visits still "
    "going on censored), and the likeliest next touchpoints from the cohort's moves (a first-order "
    "model). See docs/positions.md."
)


#: the report's outcome model trains on at most this many accounts (a seeded sample)
SCORE_ACCOUNTS = 1_500
_SCORE_HORIZON = "90D"
#: calendar cut-offs of the report's model, this far apart (bounds its time with the sample)
_SCORE_STEP = "60D"
#: reasons that move the probability less than this are not shown
_SHOWN_EFFECT = 0.005


def _scores(
    log: JourneyLog, outcomes: Mapping[str, Any], won: str, random_state: int, shown: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The won-within-90-days model of the report: probabilities and two reasons for every
    account open at the log's end, and the model's hold-out figures; None (with why) when
    it cannot be fitted."""
    import numpy as np
    import pandas as pd

    from ._outcome_model import JourneyOutcomeModel
    from .errors import JourneymineError

    train = log
    note = ""
    if log.n_cases > SCORE_ACCOUNTS:
        keep = set(np.random.default_rng(random_state).choice(
            log.cases["case"].astype(str).sort_values().to_numpy(), SCORE_ACCOUNTS, replace=False).tolist())
        train = log.filter_cases(lambda c: c["case"].astype(str).isin(keep))
        note = f" It was trained on {SCORE_ACCOUNTS:,} accounts drawn at random (seed {random_state})."
    model = JourneyOutcomeModel(
        outcomes=outcomes, target=won, horizon=_SCORE_HORIZON, step=_SCORE_STEP, random_state=random_state
    )
    try:
        model.fit(train)
    except JourneymineError as exc:
        return {"error": f"No scores: the {won} model could not be fitted ({exc})."}
    said = str(model.selection_["note"].iloc[0]).capitalize() + "." if model.validation_ is None else ""
    at = log.time_span.end + pd.Timedelta(seconds=1)
    try:
        p = model.predict_proba(log, at=at)
    except JourneymineError as exc:  # e.g. every account has reached the outcome
        return {"error": f"No scores: {exc}"}
    top = p.sort_values(ascending=False, kind="stable").head(10)
    # reasons only for the accounts the section shows (each account's features are its own)
    wanted = {str(c) for c in shown} | {str(c) for c in top.index}
    reasons = model.reasons(log.filter_cases(lambda c: c["case"].astype(str).isin(wanted)), at=at, top=2)
    reasons = reasons[reasons["effect"].abs() >= _SHOWN_EFFECT]  # moves under half a point are not reasons
    why = reasons.groupby("case", sort=False)["text"].agg("; ".join)
    v = model.validation_
    sel = model.selection_
    aucs = ", ".join(f"{r.learner} {r.auc:.3f}" for r in sel.itertuples())
    text = (
        f"P({won} in 90 days): the probability that the account reaches {won} within 90 days, from the "
        f"{model.learner_} model (jm.JourneyOutcomeModel: a blend of gradient boosting and a logistic model, "
        "unless one of them alone is clearly better on two time-ordered hold-outs; a recency/frequency "
        "baseline is the reference"
        + (f"; hold-out ROC AUC {aucs})" if v else ")")
        + (", calibrated on the latest hold-out (sigmoid)." if model.calibrator_ is not None else ".")
        + f" It learned from calendar cut-offs every 60 days.{note}"
        + (f" {said}" if said else "")
        + " Why: the (up to) two features that move the account's probability most, each against its typical "
        "value, when they move it by half a point or more. \"already\": the account has reached "
        f"{won} before (a returning customer)."
    )
    return {
        "p": p,
        "why": why,
        "note": text,
        "svg": v.draw() if v is not None else "",
        "top": [[str(c), percent(float(q)), why.get(c, "")] for c, q in top.items()],
        "won": won,
    }


def positions_section(
    log: JourneyLog, outcomes: Mapping[str, Any] | None, *, by: CohortBy | None, lost: str | None,
    churned: str | None, won: str | None = None, random_state: int = 0,
) -> Section:
    """The open accounts most overdue in their stage, with their likeliest next steps and,
    with a won outcome, the probability of winning within 90 days and its reasons."""
    from ._positions import positions

    ended = [a for k in (lost, churned) if outcomes and k and k in outcomes for a in outcomes[k]]
    pos = positions(log, by=by, ended=ended or None)
    t = pos.table
    if not len(t):
        return Section(None)
    s = pos.summary
    listed = [str(c) for c in t["case"].head(15)]
    sc: dict[str, Any] = {}
    if outcomes and won and won in outcomes:
        sc = _scores(log, outcomes, won, random_state, listed) or {}
    scored = "p" in sc

    def days(v: Any) -> str:
        return "–" if v is None or v != v else f"{v:.0f}"

    rows = []
    for r in t.head(15).to_dict("records"):
        nxt = [f"{r[f'next_{i}']} ({percent(r[f'next_{i}_share'])})" for i in range(1, 4)
               if r.get(f"next_{i}") is not None and r.get(f"next_{i}") == r.get(f"next_{i}")]
        verdict = "yes" if r["stalled"] is True else "no" if r["stalled"] is False else "–"
        row = [r["case"], r["cohort"], r["stage"], r["last_touchpoint"], days(r["days_in_stage"]),
               days(r["p90_days"]), verdict, ", ".join(nxt)]
        if scored:
            case = str(r["case"])
            q = sc["p"].get(case)
            row += ["already" if q is None else percent(float(q)), sc["why"].get(case, "")]
        rows.append(row)
    return Section(
        {
            "note": pos.rule + ".",
            "summary": [[r["cohort"], f"{r['open']:,}", f"{r['stalled']:,}", "–" if r["stalled_share"] != r[
                "stalled_share"] else percent(r["stalled_share"]), f"{r['closed']:,}", f"{r['dormant']:,}"]
                for r in s.to_dict("records")],
            "rows": rows,
            "scored": scored,
            "won": won,
            "score_note": sc.get("note") or sc.get("error", ""),
            "reliability": sc.get("svg", ""),
            "top": sc.get("top", []),
        },
        _POSITIONS_METHOD,
    )


# -- handoffs (issue 26) -----------------------------------------------------------------------

_HANDOFFS_METHOD = (
    "Handoffs: consecutive touches of an account by different teams (the resource column); lag between "
    "them; accounts lost within 90 days after each kind of handoff (Kaplan–Meier, open accounts censored). "
    "See docs/handoffs.md."
)


def handoffs_section(log: JourneyLog, outcomes: Mapping[str, Any] | None, *, lost: str | None) -> Section:
    """The swimlane of teams and the handoffs between them; left out without a resource column."""
    if "resource" not in log.mapping.roles():
        return Section(None)
    from ._handoffs import handoffs

    lost_acts = list(outcomes[lost]) if outcomes and lost and lost in outcomes else None
    h = handoffs(log, lost=lost_acts)
    s = h.summary
    if not len(s):
        return Section(None)

    def pct(v: Any) -> str:
        return "–" if v is None or v != v else percent(v)

    rows = []
    for r in s.head(12).to_dict("records"):
        lag = f"{r['median_lag_days']:.1f}"
        row = [r["from"], r["to"], f"{int(r['count']):,}", f"{int(r['accounts']):,}", lag]
        if lost_acts:
            row += [pct(r.get("lost_share")), f"{pct(r.get('lost_low'))} – {pct(r.get('lost_high'))}"]
        rows.append(row)
    head = ["from", "to", "handoffs", "accounts", "median lag (days)",
            *(["lost within 90 days", "95% interval"] if lost_acts else [])]
    return Section({"svg": h.draw(), "head": head, "rows": rows,
                    "note": f"{h.untouched:,} events without a team left out." if h.untouched else ""},
                   _HANDOFFS_METHOD)
