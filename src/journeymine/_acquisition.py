"""Acquisition cost: marketing spend allocated to the accounts it acquired through the
attribution credits, cost per acquired account by channel and cohort, payback and CLV:CAC.

The rules (docs/value.md has them with a worked example):

* An account is **acquired** at its first conversion event. Its **touches** are those of
  :func:`journeymine.attribution` with ``by="channel"``: its events before that conversion.
* Each acquired account's one conversion is shared among its touches by the attribution
  ``model``: the position and time models give every touch its weight directly; for
  ``markov`` and ``shapley`` the account's conversion is shared among the channels on its
  path in proportion to their model credit, and each channel's part equally among its
  touches there.
* **Spend** (``costs``: channel, period, spend) is matched to the credited touches of the
  same channel in the same calendar ``period`` (or over the whole log with
  ``period=None``). A channel-period's spend is divided among its credited touches in
  proportion to their credit, so an account's **acquisition cost** is the sum over its
  touches of credit × the channel-period's spend per unit of credit.
* Spend that no credited touch explains is reported in ``unexplained`` with the reason (the
  channel never occurs in the log; no acquired account was touched through it in that
  period, e.g. accounts still open), never spread over other channels or hidden. Spend
  rows that cannot be read (missing, negative, an unknown period) are in ``problems``.
* **Payback** in months: the acquisition cost over the monthly recurring revenue the
  account started with (× ``margin``). **CLV:CAC** per cohort: the lifetime value of a new
  customer (:func:`journeymine.lifetime_value`, same options) over the mean acquisition
  cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._attribution import MODELS, _markov_removal, _paths, _shapley, touch_column, touch_weights
from ._cohorts import resolve
from ._display import Displayed, note, section, table
from ._encoding import ALL, require_events
from ._engine import require_embedded
from ._lifetime import lifetime_value
from ._log import JourneyLog
from ._params import as_names, check_choice, invalid
from ._periods import period_label, resolve_period
from ._typing import CohortBy
from ._warnings import warn
from .errors import DataQualityWarning, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AcquisitionCost", "acquisition_cost"]


def acquisition_cost(
    log: JourneyLog,
    *,
    costs: Any,
    conversion: str | Sequence[str],
    model: str = "linear",
    period: str | None = "M",
    by: CohortBy | None = None,
    churned: str | Sequence[str] | None = None,
    kind: str | None = None,
    product: str | None = None,
    margin: float = 1.0,
    touch: str = "channel",
    half_life: float = 7 * 86_400.0,
    order: int = 1,
    horizon: int = 5,
    random_state: int | None = None,
) -> AcquisitionCost:
    """Spend allocated to acquired accounts through attribution: CAC by channel and cohort.

    Parameters
    ----------
    log : JourneyLog
        A log with a ``channel`` column (and a ``value`` column for payback and CLV:CAC).
    costs : pandas or polars DataFrame
        One row per spend: the ``touch`` column (``channel`` by default), ``period`` (or
        ``month``: a calendar period name such as ``2024-03``, ``2024-Q1``, ``2024``, or any
        timestamp in it) and ``spend``. Rows of the same touch and period are added up.
    conversion : str or list of str
        The activities that acquire an account (e.g. ``"Contract signed"``).
    model : str
        The attribution model sharing each conversion among its touches: one of
        ``first_touch``, ``last_touch``, ``linear``, ``time_decay``, ``position_based``,
        ``markov``, ``shapley`` (docs/kpis.md).
    period : {"M", "Q", "Y"} or None
        Match spend to touches of the same calendar period, or over the whole log (None).
    by : str, list of str or callable, optional
        Cohorts of accounts.
    churned, kind, product, horizon, random_state
        For the lifetime value behind CLV:CAC (as :func:`lifetime_value`); without a
        ``value`` column payback and CLV:CAC are NaN.
    margin : float
        Gross margin applied to revenue for payback and CLV:CAC (0 < margin ≤ 1).
    touch : str
        What spend is keyed by and credit goes to: ``"channel"`` (the mapped channel column)
        or any event attribute of the log, e.g. ``"campaign"`` (the costs frame then has a
        ``campaign`` column).
    half_life, order
        Of the ``time_decay`` and ``markov`` models.

    Returns
    -------
    AcquisitionCost

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0, version=2)
    >>> spend = jm.datasets.demo_spend(n_accounts=1_000, random_state=0)
    >>> cac = jm.acquisition_cost(log, costs=spend, conversion="Contract signed", by="segment",
    ...                           churned="Churned", kind="deal_type", product="deal_product")
    >>> "Podcast" in set(cac.unexplained["channel"])  # spend without a touch is listed
    True
    >>> bool(abs(cac.by_channel["allocated"].sum() + cac.unexplained["spend"].sum()
    ...          - spend["spend"].sum()) < 1e-3)
    True
    """
    owner = "acquisition_cost"
    require_events(log, owner)
    require_embedded(log, owner)
    if touch == "channel" and "channel" not in log.mapping.roles():
        raise SchemaError(
            f"{owner} shares spend among channels: map the log's channel column when reading it "
            "(channel='your_column'), or key the spend by another event attribute (touch='campaign')."
        )
    conversion = as_names(conversion, "conversion", owner, what="activities")
    if not any(a in set(log.activities) for a in conversion):
        raise SchemaError(
            f"{owner}: none of the conversion activities {list(conversion)} occurs in the log. Known "
            f"activities include: {list(log.activities[:10])}."
        )
    check_choice("model", owner, model, MODELS)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin <= 1:
        raise invalid("margin", owner, "a number in (0, 1]", margin)
    code = None if period is None else resolve_period(period, owner)
    if code is not None and code not in ("M", "Q", "Y"):
        raise invalid("period", owner, "'M', 'Q', 'Y' or None (the whole log)", period)
    costs_column = touch  # the costs frame's column; the events' may be a role (team -> resource)
    touch = touch_column(log, touch, owner, param="touch")
    spend, problems = _spend(costs, code, owner, costs_column)
    if len(problems):
        warn(
            f"{owner}: {len(problems):,} spend row{'s' if len(problems) != 1 else ''} could not be used "
            f"({'; '.join(sorted(set(problems['reason'])))}); they are in AcquisitionCost.problems.",
            DataQualityWarning,
        )

    paths = _paths(log, conversion, touch)
    conv = paths.touches(converted_only=True)
    weights = _weights(paths, conv, model, float(half_life), int(order))
    names = paths.names
    touches = pl.DataFrame(
        {
            "path": conv.path,
            "channel": np.asarray(names, dtype=object)[conv.code].tolist() if conv.code.size else [],
            "credit": weights,
            "us": conv.at if conv.at is not None else np.zeros(0, np.int64),
        },
        schema={"path": pl.Int64, "channel": pl.String, "credit": pl.Float64, "us": pl.Int64},
    )
    touches = touches.with_columns(_period_of(pl.col("us"), code).alias("period"))
    # spend per unit of credit in each channel-period
    credit = touches.group_by("channel", "period").agg(pl.col("credit").sum().alias("credit"))
    matched = spend.join(credit, on=["channel", "period"], how="left")
    in_log = set(names)
    matched = matched.with_columns(
        pl.when(~pl.col("channel").is_in(list(in_log)))
        .then(pl.lit(f"the {costs_column} never occurs in the log"))
        .when(pl.col("credit").is_null() | (pl.col("credit") <= 0))
        .then(pl.lit(f"no acquired account was touched through this {costs_column} in this period"))
        .otherwise(None)
        .alias("reason")
    )
    unexplained = matched.filter(pl.col("reason").is_not_null()).select(
        "channel", "period", "spend", "reason"
    )
    rate = matched.filter(pl.col("reason").is_null()).select(
        "channel", "period", (pl.col("spend") / pl.col("credit")).alias("per_credit")
    )
    touches = touches.join(rate, on=["channel", "period"], how="left").with_columns(
        (pl.col("credit") * pl.col("per_credit").fill_null(0.0)).alias("cost")
    )
    # per acquired account
    cases = paths.cases if paths.cases is not None else np.zeros(0, dtype=object)
    conv_paths = np.flatnonzero(paths.converted)
    per_path = np.bincount(
        touches.get_column("path").to_numpy(),
        weights=touches.get_column("cost").to_numpy(),
        minlength=paths.n_paths,
    )
    cohorts = resolve(log, by)
    case_index = log.to_polars("cases").get_column("case").to_list()
    pos = {c: i for i, c in enumerate(case_index)}
    cohort_names = cohorts.names if cohorts is not None else (ALL,)
    cohort_codes = cohorts.codes.to_numpy() if cohorts is not None else np.zeros(len(case_index), np.int64)
    import pandas as pd

    acc_case = cases[conv_paths]
    acc_cohort = np.asarray(cohort_names, dtype=object)[cohort_codes[[pos[c] for c in acc_case]]]
    conv_at = paths.converted_at[conv_paths] if paths.converted_at is not None else np.zeros(0, np.int64)
    accounts = pd.DataFrame(
        {
            "case": acc_case,
            "cohort": acc_cohort,
            "acquired_at": pd.to_datetime(conv_at, unit="us", utc=True),
            "acquisition_cost": per_path[conv_paths],
        }
    )
    lv = _value(log, accounts, by, churned, kind, product, horizon, random_state)
    accounts["recurring_at_start"] = lv["start"] if lv is not None else math.nan
    monthly = accounts["recurring_at_start"] * margin / 12
    accounts["payback_months"] = np.where(monthly > 0, accounts["acquisition_cost"] / monthly, math.nan)
    by_channel = _by_channel(touches, spend, unexplained)
    by_cohort = _by_cohort(accounts, cohort_names, lv["clv"] if lv is not None else None, margin)
    return AcquisitionCost(
        model=model,
        period=code,
        margin=float(margin),
        conversion=tuple(conversion),
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(cohort_names),
        _by_channel=by_channel,
        _by_cohort=by_cohort,
        _accounts=accounts,
        _unexplained=unexplained.sort("channel", "period").to_pandas(),
        _problems=problems,
    )


def _period_of(us: pl.Expr, code: str | None) -> pl.Expr:
    if code is None:
        return pl.lit("(all)")
    return period_label(us.cast(pl.Datetime("us", "UTC")), code)


def _spend(
    costs: Any, code: str | None, owner: str, touch: str = "channel"
) -> tuple[pl.DataFrame, pd.DataFrame]:
    """The spend per (channel, period) and the rows that could not be used (the ``touch``
    column of ``costs`` is read as the channel)."""
    import pandas as pd

    if isinstance(costs, pl.DataFrame):
        frame = costs.to_pandas()
    elif isinstance(costs, pd.DataFrame):
        frame = costs.copy()
    else:
        raise invalid(
            "costs",
            owner,
            "a pandas or polars DataFrame with channel, period (or month) and spend",
            type(costs).__name__,
        )
    when = "period" if "period" in frame.columns else "month" if "month" in frame.columns else None
    missing = [c for c in (touch, "spend") if c not in frame.columns] + ([] if when else ["period"])
    if missing or when is None:
        raise SchemaError(
            f"{owner}: costs needs the columns {touch}, period (or month) and spend; missing {missing} "
            f"(it has {list(frame.columns)})."
        )
    frame = frame.reset_index(drop=True)
    if touch != "channel":
        frame = frame.drop(columns=[c for c in ("channel",) if c in frame.columns]).rename(
            columns={touch: "channel"}
        )
    spend = pd.to_numeric(frame["spend"], errors="coerce")
    stamp = _period_start(frame[when])
    _check_granularity(frame[when], code, when, owner)
    reason = pd.Series(None, index=frame.index, dtype=object)
    reason[frame["channel"].isna()] = f"no {touch}"
    reason[reason.isna() & ~np.isfinite(spend.to_numpy(dtype=float, na_value=np.nan))] = (
        "spend is not a number"
    )
    reason[reason.isna() & (spend < 0)] = "negative spend"
    reason[reason.isna() & stamp.isna()] = f"{when} is not a date or a period name (2024-03, 2024-Q1, 2024)"
    bad = reason.notna()
    problems = frame[bad].assign(row=frame.index[bad], reason=reason[bad]).reset_index(drop=True)
    good = pl.DataFrame(
        {
            "channel": frame.loc[~bad, "channel"].astype(str).tolist(),
            "us": (stamp[~bad].astype("int64") // 1_000).tolist(),
            "spend": spend[~bad].astype(float).tolist(),
        },
        schema={"channel": pl.String, "us": pl.Int64, "spend": pl.Float64},
    )
    good = good.with_columns(_period_of(pl.col("us"), code).alias("period"))
    return good.group_by("channel", "period").agg(pl.col("spend").sum()).sort("channel", "period"), problems


_GRAIN = {"M": 0, "Q": 1, "Y": 2}


def _check_granularity(values: pd.Series, code: str | None, column: str, owner: str) -> None:
    """Spend given per quarter or year cannot be matched to months (nor per year to
    quarters) without guessing how it was spent within: an error that says what to do."""
    if code is None:
        return
    text = values.astype(str).str.strip()
    grains = {"Q": text.str.fullmatch(r"\d{4}-Q[1-4]"), "Y": text.str.fullmatch(r"\d{4}")}
    coarse = [(g, text[m]) for g, m in grains.items() if m.any() and _GRAIN[g] > _GRAIN[code]]
    if coarse:
        grain, examples = coarse[-1]
        unit = {"Q": "quarter", "Y": "year"}[grain]
        raise invalid(
            "period",
            owner,
            f"no finer than the costs' {column} column, which gives spend per {unit} "
            f"({', '.join(map(repr, examples.unique()[:3]))}, {int(examples.size):,} rows): pass "
            f"period={grain!r} (or None), or give the spend per month",
            code,
        )


def _period_start(values: pd.Series) -> pd.Series:
    """A timestamp in each period: period names (2024-03, 2024-Q1, 2024) and dates."""
    import pandas as pd

    text = values.astype(str).str.strip()
    quarter = text.str.fullmatch(r"\d{4}-Q[1-4]")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if quarter.any():
        q = text[quarter]
        out[quarter] = pd.to_datetime(
            q.str[:4] + "-" + ((q.str[-1].astype(int) - 1) * 3 + 1).astype(str) + "-01", utc=True
        )
    year = text.str.fullmatch(r"\d{4}")
    if year.any():
        out[year] = pd.to_datetime(text[year] + "-01-01", utc=True)
    rest = ~(quarter | year)
    if rest.any():
        out[rest] = pd.to_datetime(text[rest], utc=True, errors="coerce", format="mixed")
    return out


def _weights(paths: Any, conv: Any, model: str, half_life: float, order: int) -> np.ndarray:
    """Each converting touch's share of its account's conversion under ``model``."""
    if model not in ("markov", "shapley"):
        return touch_weights(conv, model, half_life)
    credit = (
        _shapley(conv) if model == "shapley" else (_markov_removal(paths, order) if conv.code.size else {})
    )
    share = np.array([credit.get(n, 0.0) for n in paths.names])
    n = len(paths.names)
    key = conv.path * max(n, 1) + conv.code
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    # per path, the credit of its distinct channels
    upath, ucode = uniq // max(n, 1), uniq % max(n, 1)
    total = np.bincount(upath, weights=share[ucode], minlength=conv.n_paths)
    # a path whose channels all have no credit shares its conversion equally among them
    n_distinct = np.bincount(upath, minlength=conv.n_paths)
    part = np.where(
        total[upath] > 0,
        share[ucode] / np.where(total[upath] > 0, total[upath], 1.0),
        1.0 / n_distinct[upath],
    )
    out: np.ndarray = part[inverse] / counts[inverse]
    return out


def _value(
    log: JourneyLog,
    accounts: pd.DataFrame,
    by: Any,
    churned: Any,
    kind: Any,
    product: Any,
    horizon: int,
    random_state: int | None,
) -> dict[str, Any] | None:
    """Each acquired account's recurring revenue at the start of its first relationship,
    and the lifetime value per cohort; None without a value column."""
    if "value" not in log.mapping.roles() or not bool(
        log.to_polars("events").get_column("value").is_not_null().any()
    ):
        return None
    lv = lifetime_value(
        log,
        by=by,
        churned=churned,
        kind=kind,
        product=product,
        horizon=horizon,
        n_boot=0,
        random_state=random_state,
    )
    # an account's starting revenue: the recurring revenue after its first value event
    first = _first_recurring(log, churned, kind, product)
    start = accounts["case"].map(first).astype(float)
    return {"start": start.to_numpy(), "clv": lv.summary.set_index("cohort")["clv"]}


def _first_recurring(log: JourneyLog, churned: Any, kind: Any, product: Any) -> dict[Any, float]:
    import warnings

    from ._revenue import _prepare

    with warnings.catch_warnings():  # lifetime_value has warned about these rows already
        warnings.simplefilter("ignore", DataQualityWarning)
        tl = _prepare(log, churned, kind, product, "acquisition_cost", "AcquisitionCost").timeline
    first = tl.filter(~pl.col("churn")).group_by("case").agg(pl.col("arr_after").first())
    return dict(first.iter_rows())


def _by_channel(touch: pl.DataFrame, spend: pl.DataFrame, unexplained: pl.DataFrame) -> pd.DataFrame:
    per = touch.group_by("channel").agg(
        pl.col("credit").sum().alias("conversions"), pl.col("cost").sum().alias("allocated")
    )
    total = spend.group_by("channel").agg(pl.col("spend").sum())
    lost = unexplained.group_by("channel").agg(pl.col("spend").sum().alias("unexplained"))
    out = (
        total.join(per, on="channel", how="full", coalesce=True)
        .join(lost, on="channel", how="left")
        .with_columns(
            pl.col("spend").fill_null(0.0),
            pl.col("conversions").fill_null(0.0),
            pl.col("allocated").fill_null(0.0),
            pl.col("unexplained").fill_null(0.0),
        )
        .with_columns(
            pl.when(pl.col("conversions") > 0)
            .then(pl.col("allocated") / pl.col("conversions"))
            .otherwise(None)
            .alias("cac")
        )
        .select("channel", "spend", "allocated", "unexplained", "conversions", "cac")
        .sort("channel")
    )
    frame: pd.DataFrame = out.to_pandas()
    return frame


def _by_cohort(accounts: pd.DataFrame, names: Sequence[str], clv: Any, margin: float) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for name in names:
        sub = accounts[accounts["cohort"] == name]
        cac = float(sub["acquisition_cost"].mean()) if len(sub) else math.nan
        value = float(clv.get(name, math.nan)) * margin if clv is not None else math.nan
        rows.append(
            {
                "cohort": name,
                "acquired": len(sub),
                "allocated": float(sub["acquisition_cost"].sum()),
                "cac": cac,
                "median_payback_months": float(sub["payback_months"].median()) if len(sub) else math.nan,
                "clv": value,
                "clv_to_cac": value / cac if cac and cac > 0 and not math.isnan(value) else math.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False, repr=False)
class AcquisitionCost(Displayed):
    """Spend allocated to acquired accounts (rules in :func:`acquisition_cost`).

    Attributes
    ----------
    model : str
        The attribution model that shared each conversion among its touches.
    period : str or None
        The calendar period spend was matched in (None: the whole log).
    margin : float
    conversion : tuple of str
    by : str, tuple of str or None
    cohorts : tuple of str

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0, version=2)
    >>> spend = jm.datasets.demo_spend(n_accounts=200, random_state=0)
    >>> cac = jm.acquisition_cost(log, costs=spend, conversion="Contract signed")
    >>> cac
    <AcquisitionCost: 55 acquired accounts, 4,713,096 spend (65% unexplained), model linear>
    >>> cac.summary[["cohort", "acquired", "allocated", "cac"]].round(0)
      cohort  acquired  allocated      cac
    0  (all)        55  1646357.0  29934.0

    Per channel, the spend shared among acquired accounts and the rest (``unexplained``):

    >>> cac.by_channel.set_index("channel").loc[["Web", "Event"], ["spend", "allocated", "unexplained"]]
                 spend  allocated  unexplained
    channel
    Web      951468.63  584502.04    366966.59
    Event   1187470.05  517789.30    669680.75
    """

    model: str
    period: str | None
    margin: float
    conversion: tuple[str, ...]
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    _by_channel: pd.DataFrame
    _by_cohort: pd.DataFrame
    _accounts: pd.DataFrame
    _unexplained: pd.DataFrame
    _problems: pd.DataFrame

    @property
    def by_channel(self) -> pd.DataFrame:
        """Per channel: ``spend``, ``allocated`` (to acquired accounts), ``unexplained``,
        ``conversions`` (attributed, fractional) and ``cac`` (allocated per conversion)."""
        return self._by_channel.copy()

    @property
    def summary(self) -> pd.DataFrame:
        """Per cohort: ``acquired`` accounts, ``allocated`` spend, ``cac`` (mean per account),
        ``median_payback_months``, ``clv`` (× margin) and ``clv_to_cac``."""
        return self._by_cohort.copy()

    @property
    def accounts(self) -> pd.DataFrame:
        """Per acquired account: ``cohort``, ``acquired_at``, ``acquisition_cost``,
        ``recurring_at_start`` and ``payback_months``."""
        return self._accounts.copy()

    @property
    def unexplained(self) -> pd.DataFrame:
        """Spend that no credited touch explains: ``channel``, ``period``, ``spend``,
        ``reason``."""
        return self._unexplained.copy()

    @property
    def problems(self) -> pd.DataFrame:
        """Spend rows that could not be used, with their ``row`` and ``reason``."""
        return self._problems.copy()

    def to_dataframe(self) -> pd.DataFrame:
        """The per-channel table."""
        return self.by_channel

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe tables."""
        from ._jsonsafe import jsonable, records

        return {
            "model": self.model,
            "period": self.period,
            "margin": self.margin,
            "conversion": list(self.conversion),
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "by_channel": records(self._by_channel),
            "summary": records(self._by_cohort),
            "unexplained": records(self._unexplained),
            "problems": records(self._problems),
        }

    def __repr__(self) -> str:
        spend = float(self._by_channel["spend"].sum())
        lost = float(self._by_channel["unexplained"].sum())
        return (
            f"<AcquisitionCost: {len(self._accounts):,} acquired accounts, {spend:,.0f} spend "
            f"({lost / spend:.0%} unexplained), model {self.model}>"
            if spend > 0
            else f"<AcquisitionCost: {len(self._accounts):,} acquired accounts, no spend, model {self.model}>"
        )

    def _display_html(self, svg: str | None) -> str:
        money = {
            c: (lambda v: "–" if v != v else f"{v:,.0f}")
            for c in ("spend", "allocated", "unexplained", "cac", "clv")
        }
        parts = [
            table(self.by_channel, formats={**money, "conversions": lambda v: f"{v:,.1f}"}),
            table(
                self.summary,
                formats={
                    **money,
                    "clv_to_cac": lambda v: "–" if v != v else f"{v:.1f}",
                    "median_payback_months": lambda v: "–" if v != v else f"{v:.1f}",
                },
            ),
        ]
        if len(self._unexplained):
            parts.append(
                note(
                    f"{self._unexplained['spend'].sum():,.0f} of spend explained by no acquired "
                    "account's touch: see .unexplained."
                )
            )
        return section("acquisition", repr(self), *parts)
