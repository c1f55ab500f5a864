"""The voice of the customer on the journey: survey scores by station, stage and cohort,
promoters and detractors, churn by score band, and a pain-point ranking.

The rules (docs/value.md has them with examples):

* **Responses** are the events with a score (``score="nps"``, an event attribute), or the
  rows of a ``scores`` frame (``case`` or ``contact``, ``timestamp``, ``score``): a frame's
  row is placed on the journey of its account (a contact's account when only the contact
  is given). A score outside the scale, missing, or of an unknown account is kept aside in
  :attr:`Voice.problems` with the reason.
* **Scales** and **bands**: ``"nps"`` 0–10 (detractor 0–6, passive 7–8, promoter 9–10;
  NPS = % promoters − % detractors), ``"csat"`` 1–5 (dissatisfied 1–2, neutral 3,
  satisfied 4–5; the score's mean), or ``(low, high)`` for any score (thirds of the range:
  low, mid, high).
* **Station**: a response reflects the journey so far, so its station is the account's
  last event before it that is not itself a survey (an event with a score); its stage is
  that event's stage. A response earlier than all of its account's events has the
  station and stage "(before the journey)".
* **Churn by band**: each account's band is that of its first response; from then, the
  Kaplan–Meier probability of a ``churned`` activity within 12 months, censored at the
  log's end, and the log-rank test of detractors (or the lowest band) against promoters
  (the highest); with ``renewal`` activities, the probability of a renewal within 12
  months too.
* **Pain points** per station (surveys left out of the journey): mean score of the
  responses given there, the share of the accounts reaching it whose journey ends there
  without a ``success`` activity (``drop_off``; without ``success`` every last station is a
  drop-off, and still-open accounts count, so read it with the log's open share), the
  share that reach it more than once (``rework``) and the median time to the next event
  (``dwell_days``). The ``pain`` rank is the mean of the station's ranks on those
  four (low scores, high ends, high rework, long dwell rank first); stations with fewer
  than ``min_responses`` responses are ranked without their score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from . import _stats as st
from ._cohorts import resolve
from ._display import Displayed, note, section, table
from ._encoding import ALL, require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import as_names, check_int, close_matches, invalid
from ._stages import stage_assignment
from ._typing import CohortBy
from ._warnings import warn
from .errors import DataQualityWarning, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Voice", "voice"]

_SCALES: dict[str, tuple[float, float]] = {"nps": (0.0, 10.0), "csat": (1.0, 5.0)}
_DAY = 86_400.0
_YEAR_DAYS = 365.25


def voice(
    log: JourneyLog,
    *,
    score: str | None = None,
    scores: Any = None,
    scale: str | tuple[float, float] = "nps",
    by: CohortBy | None = None,
    churned: str | Sequence[str] | None = None,
    success: str | Sequence[str] | None = None,
    renewal: str | Sequence[str] | None = None,
    min_responses: int = 5,
) -> Voice:
    """Survey scores on the journey: by station, stage and cohort, churn by band, pain points.

    Parameters
    ----------
    log : JourneyLog
    score : str, optional
        An event attribute holding the scores (the events with one are the responses).
    scores : pandas or polars DataFrame, optional
        Responses given apart from the log: ``case`` (or ``contact``), ``timestamp``,
        ``score``. Exactly one of ``score`` and ``scores``.
    scale : {"nps", "csat"} or (low, high)
        The scale of the scores; anything outside it is set aside with the reason.
    by : str, list of str or callable, optional
        Cohorts of accounts.
    churned : str or list of str, optional
        The activities that end the relationship, for churn by score band.
    success : str or list of str, optional
        The activities of a good outcome (a signed contract, a renewal): a journey that ends
        at a station without one is a drop-off there. Without them every journey's last
        station counts as its drop-off.
    renewal : str or list of str, optional
        Renewal activities: ``churn_by_band`` then also gives each band's Kaplan–Meier
        probability of a renewal within 12 months of its first response.
    min_responses : int
        Stations with fewer responses are ranked as pain points without their score.

    Returns
    -------
    Voice

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_500, random_state=0, version=2)
    >>> v = jm.voice(log, score="nps", churned="Churned")
    >>> c = v.churn_by_band.set_index("band")
    >>> bool(c.loc["detractor", "churn_12m"] > c.loc["promoter", "churn_12m"]), bool(v.logrank_p < 0.05)
    (True, True)
    """
    owner = "voice"
    require_events(log, owner)
    require_embedded(log, owner)
    check_int("min_responses", owner, min_responses, minimum=1)
    lo, hi, kind = _scale(scale, owner)
    if (score is None) == (scores is None):
        raise invalid(
            "score", owner, "an event attribute with the scores, or scores=<a frame> (one of the two)", score
        )
    churn_acts = _churn(log, churned, owner)
    success_acts = _churn(log, success, owner, param="success")
    renewal_acts = _churn(log, renewal, owner, param="renewal")
    cohorts = resolve(log, by)
    names = cohorts.names if cohorts is not None else (ALL,)
    cohort_of = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    ev = log.to_polars("events")
    cases = log.to_polars("cases").select("case", pl.int_range(0, pl.len(), dtype=pl.Int64).alias("code"))
    if score is not None:
        if score not in log.event_attributes:
            raise SchemaError(
                f"{owner}: score={score!r} is not one of the log's event attributes "
                f"({list(log.event_attributes)}). "
                f"Keep the column when reading the log (event_attributes=[{score!r}])."
            )
        raw = ev.filter(pl.col(score).is_not_null()).select(
            "activity",
            "case",
            "timestamp",
            "row",
            pl.col(score).cast(pl.Float64, strict=False).alias("score"),
            pl.col(score).cast(pl.String).alias("given"),
        )
        # the surveys leave the journey; an outcome event that carries a score (a churn with
        # an exit score) stays in it, as the outcome it is
        outcome_acts = {*churn_acts, *success_acts, *renewal_acts}
        survey_rows = set(
            raw.filter(~pl.col("activity").is_in(list(outcome_acts))).get_column("row").to_list()
        )
        raw = raw.drop("activity")
    else:
        raw = _frame_scores(scores, ev, owner)
        survey_rows = set()
    raw, problems = _check_scores(raw, cases, lo, hi, owner)
    journey = ev.filter(~pl.col("row").is_in(list(survey_rows))).join(cases, on="case", how="left")
    stages = stage_assignment(log)
    responses = _place(raw.join(cases, on="case", how="left"), journey, stages.activity_stage, kind, lo, hi)
    responses = responses.with_columns(
        pl.Series(
            "cohort",
            np.asarray(names, dtype=object)[cohort_of[responses.get_column("code").to_numpy()]].tolist(),
            dtype=pl.String,
        )
    )
    _, end = log.time_span
    churn_table, p = _churn_by_band(responses, journey, churn_acts, end, kind, renewal_acts)
    pains = _pain_points(journey, responses, min_responses, kind, success_acts)
    return Voice(
        scale=kind,
        low=lo,
        high=hi,
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(names),
        churned=tuple(churn_acts),
        logrank_p=p,
        _responses=responses.drop("code").to_pandas(),
        _churn=churn_table,
        _pains=pains,
        _problems=problems.to_pandas(),
    )


# -- input ----------------------------------------------------------------------------------------


def _scale(scale: Any, owner: str) -> tuple[float, float, str]:
    if isinstance(scale, str) and scale.lower() in _SCALES:
        lo, hi = _SCALES[scale.lower()]
        return lo, hi, scale.lower()
    if (
        isinstance(scale, (tuple, list))
        and len(scale) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale)
        and scale[0] < scale[1]
    ):
        return float(scale[0]), float(scale[1]), "range"
    raise invalid("scale", owner, "'nps' (0-10), 'csat' (1-5) or (low, high) with low < high", scale)


def _churn(log: JourneyLog, churned: Any, owner: str, param: str = "churned") -> list[str]:
    if churned is None:
        return []
    acts = as_names(churned, param, owner, what="activities")
    known = set(log.activities)
    if not any(a in known for a in acts):
        raise invalid(param, owner, f"activities of the log{close_matches(acts[0], log.activities)}", churned)
    return [a for a in acts if a in known]


def _frame_scores(scores: Any, ev: pl.DataFrame, owner: str) -> pl.DataFrame:
    """``case``, ``timestamp``, ``row`` (the frame's row), ``score``, ``given`` from a frame
    of responses; a contact's account from the log's events."""
    import pandas as pd

    if isinstance(scores, pd.DataFrame):
        frame = pl.from_pandas(scores.reset_index(drop=True))
    elif isinstance(scores, pl.DataFrame):
        frame = scores
    else:
        raise invalid(
            "scores",
            owner,
            "a pandas or polars DataFrame of case (or contact), timestamp, score",
            type(scores).__name__,
        )
    who = "case" if "case" in frame.columns else "contact" if "contact" in frame.columns else None
    missing = [c for c in ("timestamp", "score") if c not in frame.columns] + (
        [] if who else ["case or contact"]
    )
    if missing or who is None:
        raise SchemaError(
            f"{owner}: scores needs the columns case (or contact), timestamp and score; missing "
            f"{missing} (it has {frame.columns})."
        )
    ts = frame.get_column("timestamp")
    if ts.dtype == pl.String:
        ts = ts.str.to_datetime(time_zone="UTC", strict=False)
    elif isinstance(ts.dtype, pl.Datetime):
        ts = ts.dt.replace_time_zone("UTC") if ts.dtype.time_zone is None else ts.dt.convert_time_zone("UTC")
    out = pl.DataFrame(
        {
            "key": frame.get_column(who).cast(pl.String),
            "timestamp": ts.cast(pl.Datetime("us", "UTC")),
            "row": pl.int_range(0, frame.height, dtype=pl.Int64, eager=True),
            "score": frame.get_column("score").cast(pl.Float64, strict=False),
            "given": frame.get_column("score").cast(pl.String),
        }
    )
    if who == "case":
        return out.rename({"key": "case"})
    if "contact" not in ev.columns:
        raise SchemaError(
            f"{owner}: the scores name contacts, and the log has no contact column to find their "
            "accounts; give the scores a case column, or map the contact column when reading the log."
        )
    owners = ev.filter(pl.col("contact").is_not_null()).group_by("contact").agg(pl.col("case").first())
    return out.join(owners, left_on="key", right_on="contact", how="left").drop("key")


def _check_scores(
    raw: pl.DataFrame, cases: pl.DataFrame, lo: float, hi: float, owner: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    known = raw.join(cases, on="case", how="left", maintain_order="left").get_column("code").is_not_null()
    reason = (
        pl.when(pl.col("score").is_null())
        .then(pl.lit("not a number"))
        .when((pl.col("score") < lo) | (pl.col("score") > hi))
        .then(pl.lit(f"outside the scale {lo:g}-{hi:g}"))
        .when(~pl.Series(known))
        .then(pl.lit("unknown account"))
        .when(pl.col("timestamp").is_null())
        .then(pl.lit("no timestamp"))
        .otherwise(None)
    )
    raw = raw.with_columns(reason.alias("reason"))
    problems = raw.filter(pl.col("reason").is_not_null()).select(
        "case", "timestamp", "given", "row", "reason"
    )
    if problems.height:
        reasons = problems.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
        warn(
            f"{owner}: {problems.height:,} response{'s' if problems.height != 1 else ''} set aside ("
            + "; ".join(f"{n:,} {r}" for r, n in reasons.iter_rows())
            + "). They are in Voice.problems with their rows.",
            DataQualityWarning,
        )
    good = raw.filter(pl.col("reason").is_null()).drop("reason", "given")
    if not good.height:
        raise SchemaError(f"{owner}: no usable response ({problems.height:,} set aside; see the warning).")
    return good, problems


# -- placing responses on the journey ---------------------------------------------------------------


def band_of(score: pl.Expr, kind: str, lo: float, hi: float) -> pl.Expr:
    """The band of each score on its scale."""
    if kind == "nps":
        return (
            pl.when(score <= 6)
            .then(pl.lit("detractor"))
            .when(score <= 8)
            .then(pl.lit("passive"))
            .otherwise(pl.lit("promoter"))
        )
    if kind == "csat":
        return (
            pl.when(score <= 2)
            .then(pl.lit("dissatisfied"))
            .when(score <= 3)
            .then(pl.lit("neutral"))
            .otherwise(pl.lit("satisfied"))
        )
    third = (hi - lo) / 3
    return (
        pl.when(score < lo + third)
        .then(pl.lit("low"))
        .when(score < lo + 2 * third)
        .then(pl.lit("mid"))
        .otherwise(pl.lit("high"))
    )


def _bands(kind: str) -> tuple[str, str, str]:
    return {
        "nps": ("detractor", "passive", "promoter"),
        "csat": ("dissatisfied", "neutral", "satisfied"),
    }.get(kind, ("low", "mid", "high"))


def _place(
    raw: pl.DataFrame, journey: pl.DataFrame, activity_stage: dict[str, str], kind: str, lo: float, hi: float
) -> pl.DataFrame:
    """Each response with its ``station`` (the last journey event before it) and stage."""
    # events at one instant in input order: the last of them is the station
    before = (
        journey.select("code", pl.col("timestamp").alias("t"), pl.col("activity").alias("station"), "row")
        .sort("code", "t", "row")
        .drop("row")
    )
    placed = raw.sort("code", "timestamp").join_asof(
        before,
        left_on="timestamp",
        right_on="t",
        by="code",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,  # both sorted by (code, time) above
    )
    before_journey = "(before the journey)"  # no journey event strictly before the response
    placed = placed.with_columns(
        pl.col("station").replace_strict(activity_stage, default=None, return_dtype=pl.String).alias("stage")
    ).with_columns(
        pl.when(pl.col("station").is_null())
        .then(pl.lit(before_journey))
        .otherwise(pl.col("stage"))
        .alias("stage"),
        pl.col("station").fill_null(pl.lit(before_journey)),
    )
    return (
        placed.with_columns(
            band_of(pl.col("score"), kind, lo, hi).alias("band"),
        )
        .select("case", "code", "timestamp", "score", "band", "station", "stage", "row")
        .sort("case", "timestamp", "row")
    )


def _time_to(first: pl.DataFrame, journey: pl.DataFrame, acts: list[str], end: Any) -> pl.DataFrame:
    """Per account (``code``, ``band``): days from its first response to the first of
    ``acts`` after it (``days``, ``event``), censored at the log's end."""
    if acts:
        hits = journey.filter(pl.col("activity").is_in(acts)).select("code", pl.col("timestamp").alias("tc"))
        after = first.join(hits, on="code", how="left").filter(
            pl.col("tc").is_null() | (pl.col("tc") >= pl.col("t0"))  # an exit survey's churn counts
        )
        first = first.join(after.group_by("code").agg(pl.col("tc").min()), on="code", how="left")
    else:
        first = first.with_columns(pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("tc"))
    end_t = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    return first.with_columns(
        # a response after the log's last event is censored at once (0 days), never negative
        ((pl.coalesce("tc", end_t) - pl.col("t0")).dt.total_seconds() / _DAY)
        .clip(lower_bound=0)
        .alias("days"),
        pl.col("tc").is_not_null().alias("event"),
    )


def _churn_by_band(
    responses: pl.DataFrame,
    journey: pl.DataFrame,
    churn_acts: list[str],
    end: Any,
    kind: str,
    renewal_acts: list[str] | None = None,
) -> tuple[pd.DataFrame, float]:
    import pandas as pd

    bands = _bands(kind)
    first = responses.group_by("code").agg(pl.col("timestamp").min().alias("t0"), pl.col("band").first())
    churn = _time_to(first, journey, churn_acts, end)
    renew = _time_to(first, journey, renewal_acts, end) if renewal_acts else None
    rows, groups = [], {}
    for b in bands:
        sub = churn.filter(pl.col("band") == b)
        t = sub.get_column("days").to_numpy().astype(float)
        e = sub.get_column("event").to_numpy().astype(float)
        groups[b] = (t, e)
        est, low, high, _ = st.km_incidence_at(t, e, _YEAR_DAYS) if t.size else (math.nan,) * 4
        row = {
            "band": b,
            "accounts": int(t.size),
            "churned": int(e.sum()),
            "churn_12m": est,
            "churn_12m_low": low,
            "churn_12m_high": high,
        }
        if renew is not None:
            r = renew.filter(pl.col("band") == b)
            rt = r.get_column("days").to_numpy().astype(float)
            re_ = r.get_column("event").to_numpy().astype(float)
            rest, rlow, rhigh, _ = st.km_incidence_at(rt, re_, _YEAR_DAYS) if rt.size else (math.nan,) * 4
            row |= {
                "renewed": int(re_.sum()),
                "renewal_12m": rest,
                "renewal_12m_low": rlow,
                "renewal_12m_high": rhigh,
            }
        rows.append(row)
    p = math.nan
    if churn_acts and groups[bands[0]][0].size and groups[bands[2]][0].size:
        p = st.logrank(*groups[bands[0]], *groups[bands[2]])
    return pd.DataFrame(rows), p


def _pain_points(
    journey: pl.DataFrame, responses: pl.DataFrame, min_responses: int, kind: str, success: list[str]
) -> pd.DataFrame:
    """Per station: responses, mean score, drop_off, rework, dwell_days and the pain rank."""
    j = journey.sort("code", "timestamp", "row").with_columns(
        ((pl.col("timestamp").shift(-1).over("code") - pl.col("timestamp")).dt.total_seconds() / _DAY).alias(
            "gap"
        ),
        (pl.int_range(0, pl.len()).over("code") == pl.len().over("code") - 1).alias("last"),
        pl.col("activity").is_in(success).any().over("code").alias("succeeded"),
    )
    j = j.with_columns((pl.col("last") & ~pl.col("succeeded")).alias("last"))
    per = j.group_by("activity").agg(
        pl.col("code").n_unique().alias("accounts"),
        pl.col("code").filter(pl.col("last")).n_unique().alias("ended"),
        pl.col("gap").median().alias("dwell_days"),
    )
    rework = (
        j.group_by("activity", "code")
        .len()
        .filter(pl.col("len") > 1)
        .group_by("activity")
        .agg(pl.len().alias("reworked"))
    )
    resp = (
        responses.filter(pl.col("station").is_not_null())
        .group_by("station")
        .agg(
            pl.len().alias("responses"),
            pl.col("score").mean().alias("mean_score"),
            (pl.col("band") == _bands(kind)[0]).mean().alias("low_share"),
        )
    )
    out = (
        per.join(rework, on="activity", how="left")
        .join(resp, left_on="activity", right_on="station", how="left")
        .with_columns(
            pl.col("reworked").fill_null(0),
            pl.col("responses").fill_null(0),
            (pl.col("ended") / pl.col("accounts")).alias("drop_off"),
        )
        .with_columns((pl.col("reworked") / pl.col("accounts")).alias("rework"))
        .rename({"activity": "station"})
        .sort("station")
    )
    frame = out.select(
        "station", "accounts", "responses", "mean_score", "low_share", "drop_off", "rework", "dwell_days"
    ).to_pandas()
    scored = frame["responses"] >= min_responses
    ranks = [
        frame["mean_score"].where(scored).rank(ascending=True),
        frame["drop_off"].rank(ascending=False),
        frame["rework"].rank(ascending=False),
        frame["dwell_days"].rank(ascending=False),
    ]
    import pandas as pd

    frame["pain"] = pd.concat(ranks, axis=1).mean(axis=1, skipna=True)
    frame = frame.sort_values(["pain", "station"], kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


# -- the result ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Voice(Displayed):
    """Survey scores on the journey (rules in :func:`voice` and docs/value.md).

    Attributes
    ----------
    scale : str
        ``"nps"``, ``"csat"`` or ``"range"``.
    low, high : float
        The scale's ends.
    by : str, tuple of str or None
    cohorts : tuple of str
    churned : tuple of str
    logrank_p : float
        Log-rank p-value of churn after a first response, lowest band against highest (NaN
        without ``churned``).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0, version=2)
    >>> v = jm.voice(log, score="nps", churned="Churned")
    >>> v
    <Voice: 196 responses from 54 accounts, scale nps, NPS +32>
    >>> v.churn_by_band[["band", "accounts", "churn_12m"]].round(2)  # detractors churn most
            band  accounts  churn_12m
    0  detractor        16       0.56
    1    passive        17       0.19
    2   promoter        21       0.00
    """

    scale: str
    low: float
    high: float
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    churned: tuple[str, ...]
    logrank_p: float
    _responses: pd.DataFrame
    _churn: pd.DataFrame
    _pains: pd.DataFrame
    _problems: pd.DataFrame

    @property
    def responses(self) -> pd.DataFrame:
        """Every usable response: ``case``, ``timestamp``, ``score``, ``band``, ``station``,
        ``stage``, ``row`` (of the log or the scores frame) and ``cohort``."""
        return self._responses.copy()

    def by_station(self) -> pd.DataFrame:
        """Per station (the last journey event before each response): responses, mean score,
        band shares and the NPS (for the NPS scale)."""
        return self._group("station")

    def by_stage(self) -> pd.DataFrame:
        """As :meth:`by_station`, per stage."""
        return self._group("stage")

    def by_cohort(self) -> pd.DataFrame:
        """As :meth:`by_station`, per cohort."""
        return self._group("cohort")

    def _group(self, key: str) -> pd.DataFrame:
        import pandas as pd

        r = self._responses
        bands = _bands(self.scale)
        rows = []
        for name, sub in r.groupby(key, sort=True, dropna=False):
            row: dict[str, Any] = {
                key: None if pd.isna(name) else name,
                "responses": len(sub),
                "mean_score": float(sub["score"].mean()),
            }
            for b in bands:
                row[f"{b}s"] = float((sub["band"] == b).mean())
            if self.scale == "nps":
                row["nps"] = 100 * (row["promoters"] - row["detractors"])
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def churn_by_band(self) -> pd.DataFrame:
        """Per band of the first response: accounts, churned, and the Kaplan–Meier churn
        within 12 months with its 95% interval; with ``renewal``, the same for a renewal
        (``renewed``, ``renewal_12m`` and its interval)."""
        return self._churn.copy()

    @property
    def pain_points(self) -> pd.DataFrame:
        """Per station, most painful first: accounts, responses, mean score, share in the
        lowest band, drop_off, rework, dwell_days and ``pain`` (the mean rank)."""
        return self._pains.copy()

    @property
    def problems(self) -> pd.DataFrame:
        """Responses set aside: ``case``, ``timestamp``, ``given`` (as given), ``row``, ``reason``."""
        return self._problems.copy()

    @property
    def summary(self) -> pd.DataFrame:
        """Per cohort: responses, mean score, band shares and NPS."""
        return self.by_cohort()

    def to_dataframe(self) -> pd.DataFrame:
        """The responses."""
        return self.responses

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe tables."""
        from ._jsonsafe import jsonable, records

        return {
            "scale": self.scale,
            "low": self.low,
            "high": self.high,
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "churned": list(self.churned),
            "logrank_p": jsonable(self.logrank_p),
            "summary": records(self.summary),
            "by_station": records(self.by_station()),
            "churn_by_band": records(self._churn),
            "pain_points": records(self._pains),
            "problems": records(self._problems),
        }

    def __repr__(self) -> str:
        r = self._responses
        head = f"<Voice: {len(r):,} responses from {r['case'].nunique():,} accounts, scale {self.scale}"
        if self.scale == "nps" and len(r):
            nps = 100 * ((r["band"] == "promoter").mean() - (r["band"] == "detractor").mean())
            head += f", NPS {nps:+.0f}"
        return head + ">"

    def _display_html(self, svg: str | None) -> str:
        pct = {
            c: (lambda v: "–" if v != v else f"{v:.0%}")
            for c in ("churn_12m", "churn_12m_low", "churn_12m_high", "low_share", "drop_off", "rework")
        }
        parts = [
            table(self.summary),
            table(self._churn, formats=pct),
            table(self._pains.head(10), formats=pct),
        ]
        if not math.isnan(self.logrank_p):
            parts.append(
                note(
                    f"Log-rank test of churn after the first response, {_bands(self.scale)[0]}s against "
                    f"{_bands(self.scale)[2]}s: p = {self.logrank_p:.2g}."
                )
            )
        if len(self._problems):
            parts.append(note(f"{len(self._problems):,} responses set aside: see .problems."))
        return section("voice", repr(self), *parts)
