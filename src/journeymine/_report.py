"""The journey report: one self-contained HTML file with every analysis of a log.

:func:`report` runs discovery per cohort, subway maps, clustering, cohort comparison, KPIs
and attribution, and renders them with a Jinja2 template (``templates/report.html.j2``)
whose autoescaping escapes every user-provided string. Pictures are inline SVG written by
journeymine's own escaping code, CSS is inline, and the page has no scripts and a
Content-Security-Policy that forbids any network request.

Sections that need what the log does not have are left out, never shown as placeholders:
KPIs and attribution need ``outcomes``; cohort differences need ``by``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ._format import count as fmt_count
from ._format import duration
from ._log import JourneyLog
from ._output import check_output_path, write_atomic
from ._params import check_int, invalid
from ._typing import CohortBy
from ._version import __version__
from .errors import InvalidParameterError, JourneymineWarning

__all__ = ["report"]

_STEPS = (
    "data quality",
    "KPIs",
    "journey maps",
    "subway maps",
    "clusters",
    "cohort comparison",
    "variants",
    "attribution",
    "rendering",
)


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    from ._progress import interactive

    if not interactive():

        class _Quiet:
            def update(self, _label: str) -> None:
                return None

        yield _Quiet()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="journey report", leave=False)

    class _Bar:
        def update(self, label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

    try:
        yield _Bar()
    finally:
        bar.close()


def _pct(x: float) -> str:
    return "–" if x != x else f"{x:.0%}"


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
    }
    kinds = sorted(summary.groupby("kind", sort=False).groups, key=lambda k: order.get(k, 9))
    queues = {k: list(summary.loc[summary["kind"] == k, "finding"]) for k in kinds}
    out: list[str] = []
    while len(out) < limit and any(queues.values()):
        for k in kinds:
            if queues[k] and len(out) < limit:
                out.append(queues[k].pop(0))
    return out


#: what JourneyLog.source says of an in-memory table: not a name to show
_IN_MEMORY = ("pandas.DataFrame", "polars.DataFrame", "polars.LazyFrame", "pyspark.sql.DataFrame")


def _default_title(source: str) -> str:
    """"Journey report: <file name>" for a log read from a file, else "Journey report"."""
    if not source or source in _IN_MEMORY:
        return "Journey report"
    return f"Journey report: {Path(source).name or source}"


def _cluster_subway(est: Any, subway_map: Any) -> str | None:
    try:
        out: str = subway_map(est, timing=True).to_html()
    except InvalidParameterError:  # no cluster has a journey of two touchpoints
        return None
    return out


def _generated_at(generated: object, owner: str) -> str | None:
    """The "generated on" time as shown (None: not shown); see ``generated`` of :func:`report`."""
    from ._sourcedate import source_date

    if generated is False:
        return None
    if generated is None:
        at = source_date(owner) or dt.datetime.now(dt.timezone.utc)
    elif isinstance(generated, dt.datetime):
        at = generated if generated.tzinfo is not None else generated.replace(tzinfo=dt.timezone.utc)
    else:
        raise invalid("generated", owner, "a datetime, False or None", generated)
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _by_label(by: CohortBy | None) -> str:
    if by is None:
        return ""
    if callable(by):
        return getattr(by, "__name__", "cohort")
    return by if isinstance(by, str) else " × ".join(by)


def report(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    outcomes: Mapping[str, str | Sequence[str]] | None = None,
    won: str = "won",
    lost: str | None = "lost",
    churned: str | None = "churned",
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    random_state: int = 0,
    max_clusters: int = 6,
    generated: dt.datetime | Literal[False] | None = None,
) -> str:
    """Write the journey report: one self-contained HTML file.

    Parameters
    ----------
    log : JourneyLog
    by : str, list of str or callable, optional
        Cohorts: maps and KPIs per cohort, the cohort subway map, and the comparison.
    outcomes : mapping, optional
        Outcome name → activities (``{"won": [...], "lost": [...], "churned": [...]}``):
        KPIs, outcome shares per cluster, and attribution of the ``won`` outcome.
    won, lost, churned : str
        Which outcomes play these parts, by name, as in :func:`kpis`: ``won`` must name
        an outcome when ``outcomes`` are given (the first outcome is never taken for a
        win); ``lost`` and ``churned`` are left out when the log has no outcome of that
        name.
    path : path, optional
        Where to write the HTML; the text is returned either way. The file is written
        atomically (a temporary file renamed when complete) and never onto the log's
        source file.
    title : str, optional
    random_state : int
        Non-negative seed of clustering, bootstrap and permutations (the report is reproducible).
    max_clusters : int
        Largest number of journey types the clustering considers.
    generated : datetime, False or None
        The time the report says it was generated (shown to the minute, in UTC; a naive
        datetime is taken as UTC). None: the time in the environment variable
        ``SOURCE_DATE_EPOCH`` (seconds since 1970-01-01 UTC) when it is set, as
        reproducible builds do, else the current time. False: no time is written. With
        a fixed time the same log and ``random_state`` give the same bytes.

    Returns
    -------
    str
        The HTML.

    Raises
    ------
    InvalidParameterError
        ``generated`` is not a datetime, False or None, or ``SOURCE_DATE_EPOCH`` is set but
        not an integer.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> html = jm.report(log, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES)
    >>> html.startswith("<!DOCTYPE html>") and "Journey types" in html
    True
    >>> import datetime as dt
    >>> small = jm.datasets.demo_b2b(n_accounts=60, random_state=0)
    >>> "on 2025-01-31 09:30 UTC." in jm.report(small, generated=dt.datetime(2025, 1, 31, 9, 30))
    True
    """
    import warnings

    import jinja2

    from ._attribution import attribution
    from ._clustering import JourneyClusterer
    from ._compare import compare_cohorts
    from ._encoding import case_variants, require_events
    from ._engine import require_embedded
    from ._journeymap import JourneyMap, JourneyMaps, journey_map
    from ._kpis import kpis
    from ._subway import subway_map
    from ._variants import variants

    owner = "report"
    require_events(log, owner)
    require_embedded(log, "report")
    check_int("random_state", owner, random_state, minimum=0)
    if path is not None:  # before the work: a path that cannot be written fails fast
        check_output_path(path, owner=owner, inputs=[log.source])
    check_int("max_clusters", owner, max_clusters, minimum=2)
    if outcomes is not None:
        from ._outcomes import normalize_outcomes, outcome_roles

        outcomes = normalize_outcomes(outcomes, owner)
        won, lost, churned = outcome_roles(outcomes, won, lost, churned, owner)
    name = title or _default_title(log.source)
    ctx: dict[str, Any] = {
        "title": name,
        "version": __version__,
        "generated": _generated_at(generated, owner),
        "by_label": _by_label(by),
    }
    span = log.time_span
    ctx["subtitle"] = (
        f"{log.n_cases:,} accounts · {log.n_events:,} events · {len(log.activities)} touchpoints · "
        f"{span.start:%Y-%m-%d} → {span.end:%Y-%m-%d}"
    )
    methods: list[str] = []
    with _progress(len(_STEPS)) as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneymineWarning)
        # -- data quality ---------------------------------------------------------------
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
        ctx["quality"] = {
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
            "rejected": rejected,
        }
        bar.update("data quality")
        # -- KPIs ----------------------------------------------------------------------------
        outcome_list = [(k, ", ".join(v)) for k, v in (outcomes or {}).items()]
        ctx["outcome_list"] = outcome_list
        ctx["kpis"] = None
        if outcomes:
            k = kpis(log, outcomes=outcomes, by=by, won=won, lost=lost, churned=churned)
            wide = k.to_dataframe(wide=True)
            labels = {
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
            kpi_rows: list[dict[str, Any]] = []
            for col, (label, fmt) in labels.items():
                if col not in wide.columns:
                    continue
                vals = [("–" if v != v else (_pct(v) if fmt == "pct" else fmt.format(v))) for v in wide[col]]
                kpi_rows.append({"label": label, "cells": vals})
            reasons = {
                "sales_cycle_days": "sales cycle: no account of the cohort had a touch of the second "
                "stage or later before its close",
                "time_to_purchase_among_won_days": "days to purchase: no account of the cohort won",
                "touches_before_purchase": "touches before purchase: no account of the cohort won",
                "conversion_rate": "conversion rate: no account of the cohort was decided",
                "churn_rate": "churn rate: no account of the cohort won",
            }
            undefined = [
                reasons.get(col, labels[col][0])
                for col in labels
                if col in wide.columns and wide[col].isna().any()
            ]
            ctx["kpis"] = {
                "cohorts": [str(c) for c in wide.index], "rows": kpi_rows, "undefined": "; ".join(undefined),
            }
            conversion_rule = (
                f"won / (won + lost), with won = {won!r} and lost = {lost!r}, open accounts left out"
                if lost
                else f"the Kaplan–Meier share reaching {won!r} by the end of the log (no lost "
                "outcome: open accounts are censored)"
            )
            methods.append(
                f"KPIs: conversion rate = {conversion_rule}; time to purchase "
                "from the first touch; sales cycle from the first touch of the second stage on (other "
                "than the close itself) to the close"
                + (f"; churn rate = {churned!r} / won" if churned else "")
                + " (definitions in docs/kpis.md)."
            )
        bar.update("KPIs")
        # -- journeys ------------------------------------------------------------------------
        maps = journey_map(log, by=by)
        whole = journey_map(log) if by is not None else maps
        assert_map = whole if isinstance(whole, JourneyMap) else None
        if assert_map is None:  # pragma: no cover - journey_map without by is one map
            raise TypeError("journey_map returned several maps")
        journeys: dict[str, Any] = {
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
            "summary": [],
            "map": assert_map.simplify(activities=0.6, paths=0.3).draw(labels="both").svg,
        }
        groups = maps.items() if isinstance(maps, JourneyMaps) else [("All accounts", maps)]
        for key, m in groups:
            nl = m.nonlinearity
            journeys["summary"].append(
                [
                    str(key),
                    f"{m.n_cases:,}",
                    f"{m.n_events:,}",
                    f"{len(m.edges):,}",
                    _pct(nl["backstep_share"]),
                    f"{nl['mean_backsteps']:.2f}",
                    _pct(nl["rework_share"]),
                    _pct(nl["self_loop_share"]),
                ]
            )
        bar.update("journey maps")
        conversion = list(outcomes[won]) if outcomes else None
        journeys["subway"] = None
        try:  # a log where no journey has two touchpoints has no lines to draw
            if isinstance(maps, JourneyMaps) and len(maps) > 1:
                sm = subway_map(maps, timing=True, dropoff=True, conversion=conversion)
                journeys["subway_title"] = f"Subway map: the representative journey of each {ctx['by_label']}"
            else:
                sm = subway_map(log, top=6, timing=True, dropoff=True, conversion=conversion)
                journeys["subway_title"] = "Subway map: the most frequent journeys"
            journeys["subway"] = sm.to_html()
        except InvalidParameterError:
            journeys["subway_title"] = ""
        ctx["journeys"] = journeys
        methods.append(
            "Journey maps: directly-follows steps between consecutive events of an account (events "
            "ordered by time, ties by input order); counts and durations equal pm4py's DFG and "
            "performance DFG. Simplified maps keep 60% of the activities (journeys projected onto "
            "them) and 30% of the paths plus a connected backbone."
        )
        bar.update("subway maps")
        # -- clusters ------------------------------------------------------------------------
        est = JourneyClusterer(random_state=random_state, max_clusters=max_clusters).fit(log)
        chosen = "chosen by BIC"
        n_variants = int(case_variants(log).n_unique())
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
            outs = [f"{_pct(row[f'{o}_share'])} {o}" for o in (outcomes or {}) if f"{o}_share" in row]
            cards.append(
                {
                    "cluster": c,
                    "accounts": f"{row['accounts']:,}",
                    "share": _pct(row["share"]),
                    "journey": " → ".join(map(str, reps[c])),
                    "duration": duration(row["median_days"] * 86_400.0),
                    "outcomes": outs,
                    "rules": list(mine["rule"].head(4)),
                }
            )
        one = (
            " BIC found no distinct journey types: one model of all journeys fits better than "
            f"any split into 2–{max_clusters}, so the accounts are shown as one type. Fit "
            "jm.JourneyClusterer(n_clusters=k) to force a split, knowing the data do not support it."
            if est.n_clusters_ == 1 else ""
        )
        ctx["clusters"] = {
            "note": (
                f"{est.n_clusters_} journey type{'s' if est.n_clusters_ != 1 else ''} among "
                f"{n_variants:,} distinct journeys (activity sequences; {est.n_units_:,} sequence × "
                "pace units), by a mixture of Markov chains with a pace model fitted "
                f"by EM; k {chosen}.{one}"
            ),
            "cards": cards,
            "subway": _cluster_subway(est, subway_map),
        }
        methods.append(
            f"Clusters: mixture of first-order Markov chains with a normal pace model (each gap against "
            f"its step's typical gap), EM on distinct "
            f"(variant, pace) units, k = {est.n_clusters_} ({chosen}, BIC compared 1–{max_clusters}); "
            f"random_state = {random_state}. Explanations: shares in the cluster vs elsewhere with "
            "Cohen's h; a card lists what is over-represented by at least a small effect (h ≥ 0.2)."
        )
        bar.update("clusters")
        # -- comparison ----------------------------------------------------------------------
        ctx["compare"] = None
        if by is not None and isinstance(maps, JourneyMaps) and len(maps) > 1:
            cmp = compare_cohorts(log, by=by, outcomes=outcomes, random_state=random_state)
            top = cmp.transitions.sort_values(
                ["q", "cohens_h"], key=lambda s: s.abs() if s.name == "cohens_h" else s
            ).head(15)
            ctx["compare"] = {
                "alpha": cmp.alpha,
                "note": (
                    f"{len(cmp.to_dataframe()):,} tests over {len(cmp.comparisons)} comparisons (each cohort "
                    f"against the rest), Benjamini–Hochberg q < {cmp.alpha}; the largest effects first."
                ),
                "findings": _mixed_findings(cmp.summary, 15),
                "rows": [
                    {
                        "a": r["group_a"],
                        "b": "rest" if r["group_b"] == "(rest)" else r["group_b"],
                        "feature": r["feature"],
                        "sa": _pct(r["share_a"]),
                        "sb": _pct(r["share_b"]),
                        "diff": f"{r['difference']:+.1%} ({r['ci_low']:+.1%} to {r['ci_high']:+.1%})",
                        "h": f"{r['cohens_h']:+.2f}",
                        "test": r["test"],
                        "q": "< 0.001" if r["q"] < 0.001 else f"{r['q']:.3f}",
                    }
                    for r in top.to_dict("records")
                ],
            }
            methods.append(
                "Cohort comparison: account-level two-proportion z-tests (Fisher's exact for small "
                "counts) with Newcombe intervals and Cohen's h; Mann–Whitney U with bootstrap "
                "intervals for durations; Kaplan–Meier and log-rank for time to outcome; "
                "Jensen–Shannon with a permutation test for variants; one Benjamini–Hochberg "
                "adjustment over all tests."
            )
        bar.update("cohort comparison")
        # -- variants ------------------------------------------------------------------------
        v = variants(log, top=10, examples=3)
        ev = log.events
        extra_cols = [c for c in ("channel", "contact", "role") if c in ev.columns]
        by_case = {
            c: g for c, g in ev[ev["case"].isin({x for ex in v["examples"] for x in ex})].groupby("case")
        }
        ctx["variants"] = [
            {
                "rank": int(r["rank"]),
                "cases": f"{r['cases']:,}",
                "share": _pct(r["share"]),
                "duration": duration(r["median_duration"]),
                "journey": " → ".join(r["variant"]),
                "examples": [
                    {
                        "case": c,
                        "events": [
                            {
                                "time": f"{e['timestamp']:%Y-%m-%d %H:%M}",
                                "activity": e["activity"],
                                "extra": " · ".join(
                                    str(e[x]) for x in extra_cols if e[x] == e[x] and e[x] is not None
                                ),
                            }
                            for e in by_case[c].to_dict("records")
                        ],
                    }
                    for c in r["examples"]
                    if c in by_case
                ],
            }
            for r in v.to_dict("records")
        ]
        bar.update("variants")
        # -- attribution ---------------------------------------------------------------------
        ctx["attribution"] = None
        if conversion:
            unit = "channel" if "channel" in ev.columns else "activity"
            att = attribution(log, conversion=conversion, by=unit)  # type: ignore[arg-type]
            wide = att.to_dataframe(wide=True)
            assisted = att.assisted.set_index("touch")["assisted_conversions"]
            ctx["attribution"] = {
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
                        "cells": [_pct(x) for x in wide.loc[t]],
                        "assisted": f"{int(assisted.get(t, 0)):,}",
                    }
                    for t in wide.index
                ],
            }
            methods.append(
                "Attribution: first/last touch, linear, time decay (half-life 7 days), position-based "
                "40/20/40, Markov removal effect (order 1), Shapley value (closed form); see "
                "docs/kpis.md."
            )
        bar.update("attribution")
        methods.insert(
            0,
            f"Data: {log.n_events:,} events of {log.n_cases:,} accounts from {log.source}; "
            f"{log.n_rejected:,} input rows set aside with a reason.",
        )
        ctx["methods"] = methods
        ctx["sections"] = [
            s
            for s in (
                {"id": "data", "title": "Data quality"},
                {"id": "kpis", "title": "KPIs"} if ctx["kpis"] else None,
                {"id": "journeys", "title": "Journeys"},
                {"id": "clusters", "title": "Journey types"},
                {"id": "differences", "title": "Differences"} if ctx["compare"] else None,
                {"id": "variants", "title": "Variants"},
                {"id": "attribution", "title": "Attribution"} if ctx["attribution"] else None,
                {"id": "methods", "title": "Methods"},
            )
            if s
        ]
        template_text = resources.files("journeymine").joinpath("templates/report.html.j2").read_text("utf-8")
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        html = env.from_string(template_text).render(**ctx)
        bar.update("rendering")
    if path is not None:
        write_atomic(path, lambda tmp: tmp.write_text(html, encoding="utf-8"), owner=owner,
                     inputs=[log.source])
    return html
