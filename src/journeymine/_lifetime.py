"""Customer lifetime value: revenue earned so far plus the revenue a relationship can be
expected to bring, from a survival model of the relationship.

Built on :func:`journeymine.revenue`'s typed events and recurring revenue (the same kinds,
churn activities and rows set aside). The rules (docs/value.md has them with examples):

* A **relationship** runs from its first revenue to its churn event, or is censored at
  the log's end (an account that churns and comes back has two).
* **Earned** revenue accrues the account's recurring revenue over time: an amount of
  recurring revenue held for a quarter earns a quarter of it (values are annual, ARR).
  ``booked`` sums the amounts of the new, renewal and expansion events.
* **Survival** S(m) is the Kaplan–Meier probability that a relationship lasts more than
  m months (Greenwood-free point estimate; open relationships censored at the log's end).
* **Lifetime value of a new customer** over the horizon H: Σ over months m < 12·H of
  S(m) · R(m) / 12, where R(m) is the mean recurring revenue of the relationships still
  running at m months (expansions and contractions included). Past the last month with at
  least 10 running relationships (``observed_months``) R is carried forward and S falls at
  the constant monthly hazard of the last twelve observed months (an exponential tail: a
  flat Kaplan–Meier tail would mean nobody ever churns again). The 95% interval resamples
  the cohort's relationships (seeded percentile bootstrap).
* **Expected future value** of a running relationship, tenure τ months: its recurring
  revenue now · Σ over the next 12·H months of S(τ + m) / S(τ) / 12.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from . import _stats as st
from ._cohorts import resolve
from ._display import Displayed, note, section, table
from ._encoding import ALL
from ._log import JourneyLog
from ._params import check_int, invalid
from ._revenue import _prepare
from ._typing import CohortBy
from ._warnings import warn
from .errors import DataQualityWarning

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LifetimeValue", "lifetime_value", "value_at_risk"]

_US = 1_000_000
_MONTH_US = 365.25 / 12 * 86_400 * _US
_MIN_AT_RISK = 10


def lifetime_value(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    churned: str | list[str] | None = None,
    kind: str | None = None,
    product: str | None = None,
    horizon: int = 5,
    n_boot: int = 200,
    random_state: int | None = None,
) -> LifetimeValue:
    """Lifetime value per cohort: earned revenue, relationship survival and projected value.

    Parameters
    ----------
    log : JourneyLog
        A log with a ``value`` column, as for :func:`revenue`.
    by : str, list of str or callable, optional
        Cohorts of accounts; for journey types pass the clusters, e.g.
        ``by=lambda cases: est.labels_.reindex(cases["case"]).map("type {}".format)``.
    churned, kind, product
        As for :func:`revenue`: the activities that end a relationship, the column of the
        value events' kinds, the column of their products.
    horizon : int
        Years of future revenue counted in the lifetime value (1 to 20).
    n_boot : int
        Bootstrap resamples of the relationships for the interval (0: none).
    random_state : int, optional
        Seed of the bootstrap.

    Returns
    -------
    LifetimeValue

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0, version=2)
    >>> lv = jm.lifetime_value(log, by="segment", churned="Churned", kind="deal_type",
    ...                        product="deal_product", random_state=0)
    >>> s = lv.summary.set_index("cohort")
    >>> bool(s.loc["Enterprise", "clv"] > s.loc["SMB", "clv"])
    True
    >>> bool((s["clv_low"] <= s["clv"]).all() and (s["clv"] <= s["clv_high"]).all())
    True
    """
    owner = "lifetime_value"
    check_int("horizon", owner, horizon, minimum=1)
    if horizon > 20:
        raise invalid("horizon", owner, "at most 20 years", horizon)
    check_int("n_boot", owner, n_boot, minimum=0)
    prep = _prepare(log, churned, kind, product, owner, "LifetimeValue")
    cohorts = resolve(log, by)
    names = cohorts.names if cohorts is not None else (ALL,)
    cohort_of = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    _, end = log.time_span
    end_us = int(end.timestamp() * _US) + 1
    tl = prep.timeline
    rel = _relationships(tl, end_us)
    months = 12 * horizon
    arr = _arr_by_tenure(tl, rel, months)
    earned, booked = _earned(tl, end_us, log.n_cases)
    rng = np.random.default_rng(random_state)
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    survival: dict[int, tuple[np.ndarray, float]] = {}
    rel_cohort = cohort_of[rel["code"]]
    for c, name in enumerate(names):
        mine = np.flatnonzero(rel_cohort == c)
        if not mine.size:  # a cohort without revenue: nothing to estimate
            rows.append(_empty_row(name, int(((cohort_of == c) & (booked > 0)).sum())))
            survival[c] = (np.ones(months + 1), 0.0)
            continue
        est = _clv(rel["months"][mine], rel["churned"][mine], arr[mine], months)
        lo = hi = math.nan
        if n_boot and mine.size >= 2:
            draws = _bootstrap_clv(rel["months"][mine], rel["churned"][mine], arr[mine], months, n_boot, rng)
            lo, hi = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
        clv, surv, mean_arr, at_risk, hazard = est
        survival[c] = (surv, hazard)
        accounts = np.flatnonzero((cohort_of == c) & (booked > 0))
        median = (
            st.km_quantiles(rel["months"][mine], rel["churned"][mine], (0.5,))[0] if mine.size else math.nan
        )
        rows.append(
            {
                "cohort": name,
                "relationships": int(mine.size),
                "churned": int(rel["churned"][mine].sum()),
                "accounts": int(accounts.size),
                "median_lifetime_months": median,
                "survival_12m": float(surv[12]) if surv.size > 12 else math.nan,
                "observed_months": int(np.flatnonzero(at_risk >= _MIN_AT_RISK)[-1])
                if (at_risk >= _MIN_AT_RISK).any()
                else 0,
                "arr_at_start": float(mean_arr[0]) if mean_arr.size else math.nan,
                "earned_per_account": float(earned[accounts].mean()) if accounts.size else math.nan,
                "clv": clv,
                "clv_low": lo,
                "clv_high": hi,
            }
        )
        curves.extend(
            {
                "cohort": name,
                "month": m,
                "at_risk": int(at_risk[m]),
                "survival": float(surv[m]),
                "mean_recurring": float(mean_arr[m]),
            }
            for m in range(surv.size)
        )
    import pandas as pd

    acc = _accounts(log, tl, rel, cohort_of, names, earned, booked, months, survival)
    return LifetimeValue(
        horizon=horizon,
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(names),
        churned=tuple(prep.churned),
        end=end.to_pydatetime() if hasattr(end, "to_pydatetime") else end,
        rules=prep.rules,
        _summary=pd.DataFrame(rows),
        _curves=pd.DataFrame(curves),
        _accounts=acc,
        _problems=prep.problems.to_pandas(),
    )


def _relationships(tl: pl.DataFrame, end_us: int) -> dict[str, np.ndarray]:
    """Per relationship with revenue: ``code``, ``start`` (µs), ``months`` (duration, to
    its churn or the log's end), ``churned`` (bool), in (account, relationship) order."""
    per = (
        tl.group_by("code", "rel")
        .agg(
            pl.col("us").filter(~pl.col("churn")).min().alias("start"),
            pl.col("us").filter(pl.col("churn")).min().alias("stop"),
        )
        .filter(pl.col("start").is_not_null())
        .sort("code", "rel")
    )
    start = per.get_column("start").to_numpy()
    stop = per.get_column("stop").fill_null(end_us).to_numpy()
    return {
        "code": per.get_column("code").to_numpy(),
        "rel": per.get_column("rel").to_numpy(),
        "start": start,
        "stop": stop,
        "months": np.maximum(stop - start, 0) / _MONTH_US,
        "churned": per.get_column("stop").is_not_null().to_numpy(),
    }


def _arr_by_tenure(tl: pl.DataFrame, rel: dict[str, np.ndarray], months: int) -> np.ndarray:
    """Relationships × months: the account's recurring revenue at each month of tenure
    (NaN once the relationship has ended or the log has)."""
    code = tl.get_column("code").to_numpy().astype(np.int64)
    sec = (tl.get_column("us").to_numpy() // _US).astype(np.int64)
    base = int(sec.min()) if sec.size else 0
    key = (code << 32) + (sec - base)
    arr = tl.get_column("arr_after").to_numpy()
    out = np.full((rel["code"].size, months + 1), np.nan)
    rcode = rel["code"].astype(np.int64)
    for m in range(months + 1):
        at = rel["start"] + m * _MONTH_US
        running = at < rel["stop"]
        if not running.any():
            break
        q = (rcode << 32) + (np.floor(at / _US).astype(np.int64) - base) + 1  # events up to that second
        idx = np.searchsorted(key, q, side="left") - 1
        ok = running & (idx >= 0)
        ok[ok] &= code[idx[ok]] == rcode[ok]
        out[ok, m] = arr[idx[ok]]
    return out


def _clv(
    months_alive: np.ndarray, churned: np.ndarray, arr: np.ndarray, months: int
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float]:
    """The lifetime value over ``months`` of one set of relationships, with the monthly
    survival, the mean recurring revenue by month, the relationships at risk and the
    monthly hazard of the tail (0 without one), which extends the survival further."""
    surv = np.ones(months + 1)
    if months_alive.size and churned.any():  # without a churn the curve stays at 1
        t, s = st.km_curve(months_alive, churned.astype(float))
        idx = np.searchsorted(t, np.arange(months + 1), side="right") - 1
        surv = np.where(idx >= 0, s[np.maximum(idx, 0)], 1.0)
    seen = ~np.isnan(arr)
    at_risk = seen.sum(axis=0) if arr.size else np.zeros(months + 1, dtype=np.int64)
    total = np.where(seen, arr, 0.0).sum(axis=0) if arr.size else np.zeros(months + 1)
    mean = np.divide(total, at_risk, out=np.zeros(months + 1), where=at_risk > 0)
    reliable = np.flatnonzero(at_risk >= _MIN_AT_RISK)
    hazard = 0.0
    if reliable.size:
        last = int(reliable[-1])
        mean[last + 1 :] = mean[last]
        # past the observed tenures: the monthly hazard of the last twelve observed months,
        # constant (an exponential tail), instead of a flat curve that would never churn
        back = max(last - 12, 0)
        ratio = surv[last] / surv[back] if surv[back] > 0 and last > back else 1.0
        hazard = 1.0 - ratio ** (1.0 / (last - back)) if last > back else 0.0
        if last < months:
            surv[last + 1 :] = surv[last] * (1.0 - hazard) ** np.arange(1, months - last + 1)
    else:  # too few relationships for a curve: their mean recurring revenue throughout
        mean[:] = float(total.sum() / at_risk.sum()) if at_risk.sum() else 0.0
    clv = float((surv[:months] * mean[:months]).sum() / 12)
    return clv, surv, mean, at_risk, hazard


def _empty_row(name: str, accounts: int) -> dict[str, Any]:
    return {
        "cohort": name,
        "relationships": 0,
        "churned": 0,
        "accounts": accounts,
        "median_lifetime_months": math.nan,
        "survival_12m": math.nan,
        "observed_months": 0,
        "arr_at_start": math.nan,
        "earned_per_account": math.nan,
        "clv": math.nan,
        "clv_low": math.nan,
        "clv_high": math.nan,
    }


def _survival(surv: np.ndarray, hazard: float, upto: int) -> np.ndarray:
    """``surv`` (months 0..len-1) continued to month ``upto`` with the tail's hazard."""
    if upto < surv.size:
        return surv
    extra = surv[-1] * (1.0 - hazard) ** np.arange(1, upto - surv.size + 2)
    return np.concatenate([surv, extra])


#: most resample weights held at once (resamples × relationships), to bound memory
_BOOT_CELLS = 4_000_000


def _bootstrap_clv(
    months_alive: np.ndarray,
    churned: np.ndarray,
    arr: np.ndarray,
    months: int,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """:func:`_clv` of ``n_boot`` resamples of the relationships (with replacement), as
    weights: every resample's Kaplan–Meier curve and mean revenue by month at once (a
    resample is a count per relationship), in blocks of at most :data:`_BOOT_CELLS`."""
    n = months_alive.size
    picks = rng.integers(0, n, size=(n_boot, n))
    block = max(1, _BOOT_CELLS // max(n, 1))
    return np.concatenate(
        [
            _clv_weighted(months_alive, churned, arr, months, _counts(picks[i : i + block], n))
            for i in range(0, n_boot, block)
        ]
    )


def _counts(picks: np.ndarray, n: int) -> np.ndarray:
    rows = picks.shape[0]
    flat = (np.arange(rows)[:, None] * n + picks).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def _clv_weighted(
    months_alive: np.ndarray, churned: np.ndarray, arr: np.ndarray, months: int, w: np.ndarray
) -> np.ndarray:
    """:func:`_clv` for each row of weights ``w`` (resamples × relationships): the same rules
    (Kaplan–Meier with ties, the mean revenue by month, the reliable months, the tail)."""
    rows = w.shape[0]
    order = np.argsort(months_alive, kind="stable")
    t, e, ws = months_alive[order], churned[order].astype(float), w[:, order]
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]]) if t.size else np.zeros(0, np.int64)
    at_risk_t = np.cumsum(ws[:, ::-1], axis=1)[:, ::-1][:, starts]
    deaths = np.add.reduceat(ws * e, starts, axis=1) if t.size else np.zeros((rows, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk_t > 0, (at_risk_t - deaths) / at_risk_t, 1.0)
    curve = np.cumprod(factor, axis=1)
    idx = np.searchsorted(t[starts], np.arange(months + 1), side="right") - 1
    surv = np.where(idx >= 0, curve[:, np.maximum(idx, 0)] if curve.shape[1] else 1.0, 1.0)
    seen = ~np.isnan(arr)
    at_risk = w @ seen.astype(float)
    total = w @ np.where(seen, arr, 0.0)
    mean = np.divide(total, at_risk, out=np.zeros_like(total), where=at_risk > 0)
    reliable = at_risk >= _MIN_AT_RISK
    out = np.empty(rows)
    for r in range(rows):  # the tail: one scalar rule per resample
        rel = np.flatnonzero(reliable[r])
        m, s = mean[r], surv[r]
        if rel.size:
            last = int(rel[-1])
            m[last + 1 :] = m[last]
            if last < months:
                back = max(last - 12, 0)
                ratio = s[last] / s[back] if s[back] > 0 and last > back else 1.0
                hazard = 1.0 - ratio ** (1.0 / (last - back)) if last > back else 0.0
                s[last + 1 :] = s[last] * (1.0 - hazard) ** np.arange(1, months - last + 1)
        else:
            m[:] = float(total[r].sum() / at_risk[r].sum()) if at_risk[r].sum() else 0.0
        out[r] = float((s[:months] * m[:months]).sum() / 12)
    return out


def _earned(tl: pl.DataFrame, end_us: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per account (all accounts): recurring revenue accrued to the log's end, and booked
    amounts (new, renewal, expansion)."""
    code = tl.get_column("code").to_numpy()
    us = tl.get_column("us").to_numpy()
    arr = tl.get_column("arr_after").to_numpy()
    nxt = np.empty_like(us)
    nxt[:-1] = us[1:]
    last = np.ones(code.size, dtype=bool)
    last[:-1] = code[1:] != code[:-1]
    nxt[last] = end_us
    years = (nxt - us) / (365.25 * 86_400 * _US)
    earned = np.bincount(code, weights=arr * years, minlength=n)
    kind = tl.get_column("kind").to_numpy()
    value = tl.get_column("value").fill_null(0.0).to_numpy()
    booked = np.bincount(
        code, weights=np.where(np.isin(kind, ["new", "renewal", "expansion"]), value, 0.0), minlength=n
    )
    return earned, booked


def _accounts(
    log: JourneyLog,
    tl: pl.DataFrame,
    rel: dict[str, np.ndarray],
    cohort_of: np.ndarray,
    names: Any,
    earned: np.ndarray,
    booked: np.ndarray,
    months: int,
    survival: dict[int, tuple[np.ndarray, float]],
) -> pd.DataFrame:
    """Per account with revenue: earned, booked, recurring now, tenure of its running
    relationship and its expected future value."""
    import pandas as pd

    case_ids = log.to_polars("cases").get_column("case").to_numpy()
    last_rel = np.r_[rel["code"][1:] != rel["code"][:-1], True] if rel["code"].size else np.zeros(0, bool)
    code = rel["code"][last_rel]
    running = ~rel["churned"][last_rel]
    tenure = rel["months"][last_rel]
    tl_code = tl.get_column("code").to_numpy()
    ends = (
        np.r_[np.flatnonzero(tl_code[1:] != tl_code[:-1]), tl_code.size - 1]
        if tl_code.size
        else np.zeros(0, int)
    )
    arr_last = dict(
        zip(tl_code[ends].tolist(), tl.get_column("arr_after").to_numpy()[ends].tolist(), strict=True)
    )
    arr_now = np.array([arr_last.get(int(c), 0.0) for c in code])
    future = np.zeros(code.size)
    for i, c in enumerate(code):
        if not running[i] or arr_now[i] <= 0:
            continue
        curve, hazard = survival[int(cohort_of[c])]
        tau = int(tenure[i])
        # the survival past the horizon's months, for a relationship already that old
        s = _survival(curve, hazard, tau + months)
        future[i] = arr_now[i] * float((s[tau : tau + months] / max(s[tau], 1e-12)).sum()) / 12
    out = pd.DataFrame(
        {
            "case": case_ids[code],
            "cohort": np.asarray(names, dtype=object)[cohort_of[code]],
            "earned": earned[code],
            "booked": booked[code],
            "recurring_now": arr_now,
            "running": running,
            "tenure_months": tenure,
            "expected_future": future,
        }
    )
    out["lifetime_value"] = out["earned"] + out["expected_future"]
    return out


@dataclass(frozen=True, eq=False, repr=False)
class LifetimeValue(Displayed):
    """Lifetime value per cohort (rules in :func:`lifetime_value` and docs/value.md).

    Attributes
    ----------
    horizon : int
        Years of future revenue counted.
    by : str, tuple of str or None
    cohorts : tuple of str
    churned : tuple of str
    end : datetime.datetime
        The log's end, where running relationships are censored.
    rules : str
        How the value events' kinds were decided.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0, version=2)
    >>> lv = jm.lifetime_value(log, churned="Churned", kind="deal_type", product="deal_product",
    ...                        random_state=0)
    >>> lv
    <LifetimeValue: 55 accounts with revenue, 58 relationships (16 churned), 1 cohort, 5-year horizon>
    >>> lv.summary[["cohort", "accounts", "churned", "clv", "clv_low", "clv_high"]].round(0)
      cohort  accounts  churned       clv   clv_low  clv_high
    0  (all)        55       16  180320.0  118174.0  243778.0
    """

    horizon: int
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    churned: tuple[str, ...]
    end: dt.datetime
    rules: str
    _summary: pd.DataFrame
    _curves: pd.DataFrame
    _accounts: pd.DataFrame
    _problems: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """Per cohort: ``relationships``, ``churned``, ``accounts`` (with revenue),
        ``median_lifetime_months`` (Kaplan–Meier; NaN when fewer than half have ended),
        ``survival_12m``, ``observed_months`` (the last month of tenure with 10 relationships
        running: the survival beyond it is extrapolated), ``arr_at_start`` (mean recurring
        revenue of a new relationship),
        ``earned_per_account`` (so far), and ``clv`` with its 95% interval ``clv_low``,
        ``clv_high`` (the value of a new customer over :attr:`horizon` years)."""
        return self._summary.copy()

    @property
    def curves(self) -> pd.DataFrame:
        """Per cohort and month of tenure: ``at_risk`` (relationships running and
        observed), ``survival`` and ``mean_recurring`` (as used in the value)."""
        return self._curves.copy()

    @property
    def accounts(self) -> pd.DataFrame:
        """Per account with revenue: ``earned``, ``booked``, ``recurring_now``, ``running``,
        ``tenure_months`` (of its last relationship), ``expected_future`` and
        ``lifetime_value`` (earned + expected future)."""
        return self._accounts.copy()

    @property
    def problems(self) -> pd.DataFrame:
        """Value events set aside or adjusted (as :attr:`RevenueJourney.problems`)."""
        return self._problems.copy()

    def to_dataframe(self) -> pd.DataFrame:
        """The summary."""
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary, curves and accounts."""
        from ._jsonsafe import jsonable, records

        return {
            "horizon": self.horizon,
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "churned": list(self.churned),
            "end": self.end.isoformat(),
            "rules": self.rules,
            "summary": records(self._summary),
            "curves": records(self._curves),
            "accounts": records(self._accounts),
        }

    def __repr__(self) -> str:
        s = self._summary
        n = int(s["accounts"].sum())
        return (
            f"<LifetimeValue: {n:,} accounts with revenue, {int(s['relationships'].sum()):,} relationships "
            f"({int(s['churned'].sum()):,} churned), {len(self.cohorts)} "
            f"cohort{'s' if len(self.cohorts) != 1 else ''}, "
            f"{self.horizon}-year horizon>"
        )

    def _display_html(self, svg: str | None) -> str:
        money = {
            c: (lambda v: "–" if v != v else f"{v:,.0f}")
            for c in ("arr_at_start", "earned_per_account", "clv", "clv_low", "clv_high")
        }
        share = {
            "survival_12m": lambda v: "–" if v != v else f"{v:.0%}",
            "median_lifetime_months": lambda v: "not reached" if v != v else f"{v:.1f}",
        }
        parts = [table(self.summary, formats={**money, **share})]
        if len(self._problems):
            parts.append(note(f"{len(self._problems):,} value events set aside or adjusted: see .problems."))
        return section("lifetime", repr(self), *parts)


def value_at_risk(
    model: Any,
    log: JourneyLog,
    *,
    at: Any,
    stake: str | pd.Series | None = None,
    by: CohortBy | None = None,
    churned: str | list[str] | None = None,
    kind: str | None = None,
    product: str | None = None,
) -> pd.DataFrame:
    """Open accounts ranked by probability × value: revenue at risk, or the opportunity.

    Parameters
    ----------
    model : JourneyOutcomeModel
        Fitted; its target is what is at stake (``churned``: losing the revenue; ``won``:
        winning a deal).
    log : JourneyLog
        The accounts to score (those open at ``at``, as :meth:`JourneyOutcomeModel.predict_proba`).
    at : timestamp
        The cut-off: what is known then.
    stake : {"recurring", "deal"} or pandas.Series, optional
        What each account brings or loses: ``"recurring"``, its recurring revenue at ``at``
        (renewal and churn risk; :func:`revenue`'s rules); ``"deal"``, the median first deal
        of the accounts of its cohort won before ``at`` (a prospect's opportunity); or a
        Series of amounts per case (a CRM's pipeline values). Default: ``"recurring"`` for a
        model whose target is named ``churned``, ``"deal"`` for ``won``; any other target
        must say.
    by : str, list of str or callable, optional
        Cohorts: ``"deal"`` values per cohort, and the ``cohort`` column.
    churned, kind, product
        As for :func:`revenue` (used to compute the stakes).

    Returns
    -------
    pandas.DataFrame
        One row per account open at ``at``, largest ``expected`` first: ``case``,
        ``cohort``, ``probability``, ``stake`` and ``expected`` (probability × stake). Summed
        per cohort, ``expected`` is the size of the renewal prize (or of the pipeline).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_500, random_state=0, version=2)
    >>> m = jm.JourneyOutcomeModel(outcomes={"churned": ["Churned"]}, target="churned", horizon="180D",
    ...                            random_state=0).fit(log.filter_time(end="2024-12-31", mode="events"))
    >>> risk = jm.value_at_risk(m, log, at="2025-01-01", churned="Churned", kind="deal_type",
    ...                         product="deal_product", by="segment")
    >>> list(risk.columns)
    ['case', 'cohort', 'probability', 'stake', 'expected']
    >>> bool(risk["expected"].is_monotonic_decreasing)
    True
    """
    import pandas as pd

    owner = "value_at_risk"
    if not hasattr(model, "predict_proba") or not hasattr(model, "_params"):
        raise invalid("model", owner, "a fitted JourneyOutcomeModel", type(model).__name__)
    target = str(model._params["target"]) if hasattr(model, "_params") else ""
    if stake is None:
        stake = {"churned": "recurring", "won": "deal"}.get(target)
        if stake is None:
            raise invalid(
                "stake",
                owner,
                f"'recurring', 'deal' or a Series of amounts (the target {target!r} does not say which)",
                None,
            )
    p = model.predict_proba(log, at=at)
    cases = list(p.index)
    cohorts = resolve(log, by)
    names = cohorts.names if cohorts is not None else (ALL,)
    codes = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    case_ids = log.to_polars("cases").get_column("case").to_list()
    cohort_of_case = dict(zip(case_ids, np.asarray(names, dtype=object)[codes].tolist(), strict=True))
    stamp = pd.Timestamp(at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    at_us = int(stamp.value // 1_000)
    if isinstance(stake, pd.Series):
        # the log's case ids are text: a Series keyed by the source's numbers matches them
        given = pd.Series(stake.to_numpy(), index=[str(i) for i in stake.index])
        if given.index.duplicated().any():
            raise invalid(
                "stake", owner, "a Series with one amount per case (its index has repeats)", "stake"
            )
        amounts = given.reindex(cases).astype(float).to_numpy()
        missing = int(np.isnan(amounts).sum())
        if missing == len(cases) and len(cases):
            raise invalid(
                "stake",
                owner,
                f"a Series indexed by the log's case ids (e.g. {cases[:3]}); none of its {len(given):,} ids "
                "is one",
                "stake",
            )
        if missing:
            warn(
                f"{owner}: {missing:,} of {len(cases):,} open accounts have no amount in stake (e.g. "
                f"{[c for c, a in zip(cases, amounts, strict=True) if np.isnan(a)][:3]}); their expected "
                "value is NaN.",
                DataQualityWarning,
            )
    elif stake in ("recurring", "deal"):
        prep = _prepare(log, churned, kind, product, owner, "the revenue")
        tl = prep.timeline
        if stake == "recurring":
            from ._revenue import _Snapshots

            snap = _Snapshots(tl, log.n_cases).at(at_us)
            pos = {c: i for i, c in enumerate(case_ids)}
            amounts = np.array([snap[pos[c]] for c in cases])
        else:
            first = (
                tl.filter((pl.col("kind") == "new") & (pl.col("us") < at_us))
                .group_by("code")
                .agg(pl.col("value").first())
            )
            deal = pd.Series(
                first.get_column("value").to_numpy(),
                index=np.asarray(names, dtype=object)[codes[first.get_column("code").to_numpy()]],
            )
            median = deal.groupby(level=0).median()
            overall = float(deal.median()) if len(deal) else math.nan
            amounts = np.array([float(median.get(cohort_of_case[c], overall)) for c in cases])
    else:
        raise invalid("stake", owner, "'recurring', 'deal' or a Series of amounts per case", stake)
    out = pd.DataFrame(
        {
            "case": cases,
            "cohort": [cohort_of_case.get(c) for c in cases],
            "probability": p.to_numpy(),
            "stake": amounts,
        }
    )
    out["expected"] = out["probability"] * out["stake"]
    return out.sort_values(["expected", "case"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
