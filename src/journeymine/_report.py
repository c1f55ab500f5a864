"""The journey report: one self-contained HTML file with every analysis of a log.

:func:`report` runs discovery per cohort, subway maps, clustering, cohort comparison, KPIs
and attribution, and renders them with a Jinja2 template (``templates/report.html.j2``)
whose autoescaping escapes every user-provided string. Pictures are inline SVG written by
journeymine's own escaping code, CSS is inline, and the page has no scripts and a
Content-Security-Policy that forbids any network request.

Sections that need what the log does not have are left out, never shown as placeholders:
KPIs and attribution need ``outcomes``; cohort differences need ``by``; the buying committee
needs a ``contact`` column, and its drivers ``outcomes`` and ``committee_at``.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ._display import visible_bidi
from ._log import JourneyLog
from ._output import check_output_path, write_atomic
from ._params import check_int, invalid
from ._report_sections import (
    attribution_section,
    clusters_section,
    committee_section,
    compare_section,
    data_method,
    data_quality,
    handoffs_section,
    journeys_section,
    kpi_section,
    positions_section,
    subway_section,
    value_section,
    variants_section,
)
from ._report_views import funnel_section, paths_section, time_section
from ._typing import CohortBy
from ._version import __version__
from .errors import JourneymineWarning

__all__ = ["report"]

_STEPS = (
    "data quality",
    "KPIs",
    "accounts to act on",
    "buying committee",
    "handoffs",
    "journey maps",
    "subway maps",
    "clusters",
    "cohort comparison",
    "variants",
    "attribution",
    "value and voice",
    "funnel and paths",
    "over time",
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


#: what JourneyLog.source says of an in-memory table: not a name to show
_IN_MEMORY = ("pandas.DataFrame", "polars.DataFrame", "polars.LazyFrame", "pyspark.sql.DataFrame")


def _default_title(source: str) -> str:
    """"Journey report: <file name>" for a log read from a file, else "Journey report"."""
    if not source or source in _IN_MEMORY:
        return "Journey report"
    return f"Journey report: {Path(source).name or source}"


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
    from ._cohorts import Period

    if isinstance(by, Period):
        return by.name.replace("_", " ")
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
    committee_at: str | tuple[str, str] | None = None,
    funnel: Sequence[Any] | None = None,
    funnel_window: Any = None,
    paths_around: str | Sequence[str] | None = None,
    retention_period: str | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    random_state: int = 0,
    max_clusters: int = 6,
    generated: dt.datetime | Literal[False] | None = None,
    value_kind: str | None = None,
    value_product: str | None = None,
    score: str | None = None,
    spend: Any = None,
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
    committee_at : str or (kind, name), optional
        The milestone of the buying-committee section (an activity or a stage, as ``at`` of
        :func:`buying_committee`; the log needs a ``contact`` column): with ``outcomes``, the
        section shows which roles, committee sizes and multi-threading **by** that milestone go
        with winning (what joins later is a consequence of winning, not a cause), and the cohort
        comparison compares the committees engaged by it. Without it the section shows sizes and
        role coverage over the whole journey and says how to get the drivers. The section is
        left out when the log has no contact column.
    funnel : list of steps, optional
        A "Funnel" section: the steps as :func:`funnel` takes them, per cohort, with
        ``funnel_window`` (e.g. ``"90D"``; default no limit) and the ``lost`` outcome's
        activities as drop-offs. Open accounts are censored, never counted as drop-offs.
    funnel_window : str, timedelta or list, optional
    paths_around : str, optional
        A "Paths" section: what happens before and after this activity (:func:`paths`),
        one Sankey per cohort on one layout.
    retention_period : {"D", "W", "M", "Q", "Y"}, optional
        Adds retention by start cohort and the lifecycle of active accounts to the "Over
        time" section (:func:`retention`); the section always has the dotted chart. With
        period cohorts (``by=jm.period("Q")`` or ``by="first_touch_quarter"``) the
        comparison compares each period with the one before (drift).
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
    value_kind, value_product : str, optional
        With a ``value`` column, a "Value and voice" section shows the revenue waterfall,
        revenue retention and lifetime value per cohort (:func:`revenue`,
        :func:`lifetime_value`; the ``churned`` outcome ends relationships): the event
        attributes of the value events' kinds and products, as ``kind`` and ``product``
        there (docs/value.md).
    score : str, optional
        An event attribute of survey scores (NPS 0–10): NPS by cohort, churn by score band
        and the pain points join the section (:func:`voice`).
    spend : DataFrame, optional
        Marketing spend (``channel``, ``month``, ``spend``): acquisition cost by channel and
        cohort and CLV:CAC join the section (:func:`acquisition_cost`, linear attribution of
        the ``won`` outcome).

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
    >>> html = jm.report(log, outcomes=jm.datasets.DEMO_OUTCOMES, committee_at="Proposal sent")
    >>> '<section id="committee">' in html and "engaged by Proposal sent" in html
    True
    >>> import datetime as dt
    >>> small = jm.datasets.demo_b2b(n_accounts=60, random_state=0)
    >>> "on 2025-01-31 09:30 UTC." in jm.report(small, generated=dt.datetime(2025, 1, 31, 9, 30))
    True
    """
    from ._cohorts import resolve
    from ._committee import resolve_milestone
    from ._journeymap import journey_map

    owner = "report"
    _check_options(log, path=path, random_state=random_state, max_clusters=max_clusters, owner=owner)
    if outcomes is not None:
        from ._outcomes import check_known_outcomes, normalize_outcomes, outcome_roles

        outcomes = normalize_outcomes(outcomes, owner)
        won, lost, churned = outcome_roles(outcomes, won, lost, churned, owner)
        check_known_outcomes(outcomes, log, owner)  # a typo is the report's error, before the work
    milestone = resolve_milestone(log, committee_at, owner, param="committee_at")  # before the work
    _check_views(log, funnel, funnel_window, paths_around, retention_period, owner)
    _check_value(log, value_kind, value_product, score, spend, owner)
    ctx = _front_matter(log, by=by, title=title, generated=generated, owner=owner)
    by = resolve(log, by)  # once: the sections below reuse these cohorts
    conversion = list(outcomes[won]) if outcomes else None
    with _progress(len(_STEPS)) as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneymineWarning)
        quality = data_quality(log)
        bar.update("data quality")
        kpi = kpi_section(log, outcomes, by=by, won=won, lost=lost, churned=churned)
        bar.update("KPIs")
        acting = positions_section(log, outcomes, by=by, lost=lost, churned=churned, won=won,
                                   random_state=random_state)
        bar.update("accounts to act on")
        committee = committee_section(log, outcomes, by=by, at=milestone, won=won, lost=lost,
                                      random_state=random_state)
        bar.update("buying committee")
        handing = handoffs_section(log, outcomes, lost=lost)
        bar.update("handoffs")
        maps = journey_map(log, by=by)
        journeys = journeys_section(log, maps, by)
        bar.update("journey maps")
        subway = subway_section(log, maps, conversion, ctx["by_label"])
        bar.update("subway maps")
        clusters = clusters_section(log, outcomes, random_state=random_state, max_clusters=max_clusters)
        bar.update("clusters")
        compare = compare_section(log, maps, by=by, outcomes=outcomes, committee_at=milestone,
                                  random_state=random_state)
        bar.update("cohort comparison")
        variants = variants_section(log)
        bar.update("variants")
        attribution = attribution_section(log, conversion)
        bar.update("attribution")
        value = value_section(log, outcomes, by=by, churned=churned, won=won, kind=value_kind,
                              product=value_product, score=score, spend=spend, random_state=random_state)
        bar.update("value and voice")
        funnel_part = funnel_section(log, funnel, window=funnel_window, by=by,
                                     lost=list(outcomes[lost]) if outcomes and lost else None)
        paths_part = paths_section(log, paths_around, by=by)
        bar.update("funnel and paths")
        over_time = time_section(log, by=by, period=retention_period)
        bar.update("over time")
        ctx |= {
            "quality": quality,
            "outcome_list": [(k, ", ".join(v)) for k, v in (outcomes or {}).items()],
            "kpis": kpi.content,
            "positions": acting.content,
            "handoffs": handing.content,
            "committee": committee.content,
            "journeys": {**journeys.content, **subway},
            "clusters": clusters.content,
            "compare": compare.content,
            "variants": variants,
            "attribution": attribution.content,
            "value": value.content,
            "funnel": funnel_part.content,
            "paths": paths_part.content,
            "over_time": over_time.content,
            "methods": [
                data_method(log),
                *(s.method for s in (kpi, acting, committee, handing, journeys, clusters, compare,
                                     attribution, value, funnel_part, paths_part, over_time) if s.method),
            ],
        }
        ctx["sections"] = _contents(ctx)
        html = _render(ctx)
        bar.update("rendering")
    if path is not None:
        write_atomic(path, lambda tmp: tmp.write_text(html, encoding="utf-8"), owner=owner,
                     inputs=log._inputs)
    return html


def _check_options(
    log: JourneyLog,
    *,
    path: str | os.PathLike[str] | None,
    random_state: int,
    max_clusters: int,
    owner: str,
) -> None:
    """Fail before the work: a log without events or in Spark, a bad seed, cluster count or path."""
    from ._encoding import require_events
    from ._engine import require_embedded

    require_events(log, owner)
    require_embedded(log, owner)
    check_int("random_state", owner, random_state, minimum=0)
    if path is not None:  # before the work: a path that cannot be written fails fast
        check_output_path(path, owner=owner, inputs=log._inputs)
    check_int("max_clusters", owner, max_clusters, minimum=2)


def _check_value(log: JourneyLog, kind: Any, product: Any, score: Any, spend: Any, owner: str) -> None:
    """Fail before the work on value and voice options that name no column of the log."""
    from .errors import SchemaError

    for param, name, events_only in (("value_kind", kind, True), ("value_product", product, False),
                                     ("score", score, True)):
        if name is None:
            continue
        known = [*log.event_attributes, *([] if events_only else log.case_attributes)]
        if not isinstance(name, str) or name not in known:
            raise SchemaError(
                f"{owner}: {param}={name!r} is not a column of the log "
                f"({known or 'it has no extra columns'}); "
                f"keep it when reading the log (event_attributes=[{name!r}])."
            )
    if spend is not None and not hasattr(spend, "columns"):
        raise invalid(
            "spend", owner, "a pandas or polars DataFrame of channel, month and spend", type(spend).__name__
        )


def _check_views(
    log: JourneyLog, funnel: Any, window: Any, around: Any, period: Any, owner: str
) -> None:
    """Fail before the work on a bad funnel, window, paths anchor or retention period."""
    from ._funnel import _resolve_steps, _windows
    from ._params import close_matches
    from ._periods import resolve_period

    if funnel is not None:
        steps = _resolve_steps(log, funnel, owner, param="funnel")
        _windows(window, len(steps) - 1, owner, log, param="funnel_window")
    elif window is not None:
        raise invalid("funnel_window", owner, "given only with funnel=[...] (the steps)", window)
    if around is not None:
        names = [around] if isinstance(around, str) or not isinstance(around, Sequence) else list(around)
        for a in names:
            if a not in log.activities:
                near = close_matches(str(a), log.activities)
                hint = f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""
                raise invalid("paths_around", owner, f"an activity of the log{hint}", a)
    if period is not None:
        resolve_period(period, owner, "retention_period")


def _front_matter(
    log: JourneyLog, *, by: CohortBy | None, title: str | None, generated: object, owner: str
) -> dict[str, Any]:
    """The page's title, subtitle, version and generation time."""
    return {
        "title": title or _default_title(log.source),
        "version": __version__,
        "generated": _generated_at(generated, owner),
        "by_label": _by_label(by),
        "subtitle": _subtitle(log),
    }


def _subtitle(log: JourneyLog) -> str:
    span = log.time_span
    return (
        f"{log.n_cases:,} accounts · {log.n_events:,} events · {len(log.activities)} touchpoints · "
        f"{span.start:%Y-%m-%d} → {span.end:%Y-%m-%d}"
    )


def _contents(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    """The table of contents: every section that has content."""
    return [
        s
        for s in (
            {"id": "data", "title": "Data quality"},
            {"id": "kpis", "title": "KPIs"} if ctx["kpis"] else None,
            {"id": "act", "title": "Accounts to act on"} if ctx["positions"] else None,
            {"id": "committee", "title": "Buying committee"} if ctx["committee"] else None,
            {"id": "handoffs", "title": "Handoffs"} if ctx["handoffs"] else None,
            {"id": "funnel", "title": "Funnel"} if ctx["funnel"] else None,
            {"id": "journeys", "title": "Journeys"},
            {"id": "paths", "title": "Paths"} if ctx["paths"] else None,
            {"id": "clusters", "title": "Journey types"},
            {"id": "differences", "title": "Differences"} if ctx["compare"] else None,
            {"id": "variants", "title": "Variants"},
            {"id": "attribution", "title": "Attribution"} if ctx["attribution"] else None,
            {"id": "value", "title": "Value and voice"} if ctx["value"] else None,
            {"id": "time", "title": "Over time"},
            {"id": "methods", "title": "Methods"},
        )
        if s
    ]


def _render(ctx: Mapping[str, Any]) -> str:
    """The HTML page: ``templates/report.html.j2`` with autoescaping."""
    import jinja2

    template_text = resources.files("journeymine").joinpath("templates/report.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    # the template holds no such character: every one shown comes from the data
    return visible_bidi(env.from_string(template_text).render(**ctx))
