"""At-risk and high-opportunity accounts: an outcome model trained on journey prefixes.

Every training example is an (account, cut-off) pair. Its features use only the events
*before* the cut-off, and its label says whether the target outcome happened after the
cut-off (within ``horizon`` when one is given). With calendar cut-offs (or cut-offs you
give), nothing after a cut-off leaks into its features; a test alters every later event
and checks that the features do not move. ``at="halfway"`` is different by construction:
the midpoint of an account's journey depends on when the journey ends, so features at
that cut-off (events so far, days since the first event) reveal half the journey's length.
It serves to compare models at a comparable point of every journey, as BPI Challenge
studies do, not to estimate how well live scoring will do; use calendar cut-offs for that.

Cut-offs (``at=``):

* ``None`` (fit only): calendar cut-offs every ``step`` from the first event, up to the
  last event minus ``horizon``, so that every label is observed;
* a timestamp: one calendar cut-off for every account;
* ``"halfway"``: for each account, the midpoint between its first and last event (this
  uses the journey's end, see above);
* a pandas Series (case id → timestamp): one cut-off per account.

An account is scored at a cut-off when it has started (an event before the cut-off) and
has not yet reached the target. Features: events and distinct activities so far, days
since the first and the last event (recency), events in the last 30 and 90 days, distinct
contacts, the deepest and the current stage, back-steps so far, log-counts of each activity
and of the most frequent transitions, and one-hot case attributes. The model is a
standardised L2 logistic regression, so :meth:`JourneyOutcomeModel.explain` can read its
coefficients as odds ratios per standard deviation. A recency/frequency logistic
regression (days since the last event, log events so far) is fitted alongside as the
baseline that :meth:`JourneyOutcomeModel.evaluate` reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._base import Estimator
from ._encoding import require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._outcomes import outcome_times
from ._params import check_int, invalid

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JourneyOutcomeModel"]

_DAY = 86_400.0


def _cutoffs(log: JourneyLog, at: Any, *, step: Any, horizon: Any, owner: str) -> pl.DataFrame:
    """(case, cutoff) pairs for the accounts to consider."""
    import pandas as pd

    cases = log.to_polars("cases").select("case", "start", "end")
    if isinstance(at, str) and at == "halfway":
        return cases.select("case", (pl.col("start") + (pl.col("end") - pl.col("start")) / 2).alias("cutoff"))
    if isinstance(at, pd.Series):
        s = pd.to_datetime(at, utc=True)
        frame = pl.DataFrame(
            {"case": [str(i) for i in s.index], "cutoff": pl.Series(s.dt.tz_localize(None).to_numpy())}
        ).with_columns(pl.col("cutoff").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        return frame.join(cases.select("case"), on="case", how="inner", maintain_order="left")
    if at is not None:
        try:
            stamp = pd.Timestamp(at)
        except (TypeError, ValueError) as exc:
            raise invalid(
                "at", owner, "None, 'halfway', a timestamp or a Series of timestamps per case", at
            ) from exc
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return cases.select(
            "case", pl.lit(stamp.to_pydatetime()).cast(pl.Datetime("us", "UTC")).alias("cutoff")
        )
    first, last = log.time_span
    stop = last - (pd.Timedelta(horizon) if horizon is not None else pd.Timedelta(0))
    grid = pd.date_range(first + pd.Timedelta(step), stop, freq=pd.Timedelta(step))
    if len(grid) == 0:
        raise invalid(
            "step", owner, f"a step that fits at least one cut-off between {first} and {stop}", step
        )
    cut = pl.DataFrame(
        {"cutoff": pl.Series(grid.tz_convert("UTC").tz_localize(None).to_numpy())}
    ).with_columns(pl.col("cutoff").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return cases.join(cut, how="cross").filter(pl.col("start") < pl.col("cutoff")).select("case", "cutoff")


@dataclass(frozen=True)
class _Vocabulary:
    """What the features of the training log mean, so that any later log gets the same
    columns: the stage rank of each activity, the activities, the most frequent
    transitions ("a → b") and the values of each case attribute one-hot encoded."""

    rank: dict[str, int]
    activities: list[str]
    transitions: list[str]
    attributes: dict[str, list[str]]

    @classmethod
    def of(cls, log: JourneyLog, n_transitions: int) -> _Vocabulary:
        from ._stages import stage_assignment

        stages = stage_assignment(log)
        ev = log.to_polars("events").select("case", "activity")
        # events are sorted by case and time, so a shift within a case sees the next event
        nxt = pl.when(pl.col("case") == pl.col("case").shift(-1)).then(pl.col("activity").shift(-1))
        steps = (
            ev.with_columns(nxt.alias("nxt"))
            .filter(pl.col("nxt").is_not_null())
            .group_by("activity", "nxt")
            .len()
            .sort(["len", "activity", "nxt"], descending=[True, False, False])
            .head(n_transitions)
        )
        attributes = {}
        cases = log.cases
        for attr in log.case_attributes:
            vals = cases[attr].dropna()
            if 0 < vals.nunique() <= 30:
                attributes[attr] = sorted(map(str, vals.unique()))
        return cls(
            rank={a: stages.order.index(s) for a, s in stages.activity_stage.items()},
            activities=list(log.activities),
            transitions=[f"{a} → {b}" for a, b in steps.select("activity", "nxt").iter_rows()],
            attributes=attributes,
        )


class JourneyOutcomeModel(Estimator):
    """Scores open accounts for an outcome (won, churned …) from what is known so far.

    Parameters
    ----------
    outcomes : mapping
        Outcome name → activities, e.g. ``{"won": ["Contract signed"], "churned": ["Churned"]}``.
    target : str
        The outcome to predict (a key of ``outcomes``).
    horizon : str or Timedelta, optional
        Predict the outcome within this time after the cut-off (e.g. ``"90D"``); None means
        "at any later time in the log", which suits logs of finished journeys.
    step : str or Timedelta
        Spacing of the calendar cut-offs used by ``fit(log)`` without ``at``.
    n_transitions : int
        How many of the most frequent transitions become features.
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    random_state : int or None
        Seed of the solver.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_500, random_state=0)
    >>> train = log.filter_time(end="2024-01-01", mode="contained")
    >>> m = jm.JourneyOutcomeModel(outcomes=jm.datasets.DEMO_OUTCOMES, target="won", horizon="90D",
    ...                            random_state=0).fit(train)
    >>> p = m.predict_proba(log, at="2024-06-01")
    >>> bool(p.between(0, 1).all()), p.name
    (True, 'probability')
    """

    # learned in fit (see _fitted), all at once
    feature_names_: list[str]
    model_: Any  # sklearn Pipeline: StandardScaler, LogisticRegression
    baseline_: Any  # the recency/frequency Pipeline
    n_examples_: int
    base_rate_: float
    _params: dict[str, Any]
    _vocabulary: _Vocabulary

    def __init__(
        self,
        *,
        outcomes: Mapping[str, Sequence[str]] | None = None,
        target: str = "won",
        horizon: str | Any | None = "90D",
        step: str | Any = "30D",
        n_transitions: int = 40,
        C: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.outcomes = outcomes
        self.target = target
        self.horizon = horizon
        self.step = step
        self.n_transitions = n_transitions
        self.C = C
        self.random_state = random_state

    def _validate(self) -> None:
        owner = "JourneyOutcomeModel"
        if not isinstance(self.outcomes, Mapping) or not self.outcomes:
            raise invalid("outcomes", owner, "a mapping of outcome name to activities", self.outcomes)
        if self.target not in self.outcomes:
            raise invalid("target", owner, f"one of the outcomes {sorted(self.outcomes)}", self.target)
        check_int("n_transitions", owner, self.n_transitions, minimum=0)
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or self.C <= 0:
            raise invalid("C", owner, "a positive float", self.C)
        import pandas as pd

        for name in ("horizon", "step"):
            value = getattr(self, name)
            if value is None and name == "horizon":
                continue
            try:
                if pd.Timedelta(value) <= pd.Timedelta(0):
                    raise ValueError
            except (TypeError, ValueError) as exc:
                raise invalid(
                    name,
                    owner,
                    "a positive duration such as '90D'" + (" or None" if name == "horizon" else ""),
                    value,
                ) from exc

    # -- features ----------------------------------------------------------------------------
    def _design(
        self, log: JourneyLog, at: Any, params: Mapping[str, Any], vocabulary: _Vocabulary | None
    ) -> tuple[pd.DataFrame, np.ndarray, _Vocabulary]:
        """Features and labels of the (account, cut-off) examples of ``log`` for the task
        that ``params`` (:meth:`get_params` as fitted) define, in the columns of
        ``vocabulary``; without one (in fit), the vocabulary is learned from ``log``. It is
        returned with them."""
        import pandas as pd

        owner = "JourneyOutcomeModel"
        horizon = params["horizon"]
        samples = _cutoffs(log, at, step=params["step"], horizon=horizon, owner=owner)
        times = outcome_times(log, params["outcomes"], owner)
        target = times.select("case", pl.col(params["target"]).alias("_t"))
        samples = samples.join(target, on="case", how="left", maintain_order="left").filter(
            pl.col("_t").is_null() | (pl.col("_t") > pl.col("cutoff"))
        )
        if samples.height == 0:
            raise invalid(
                "at", owner, "cut-offs at which some account is open (started, target not yet reached)", at
            )
        ev = log.to_polars("events")
        # stage ranks, activities, transitions and attribute values come from the training
        # log, so that features mean the same later
        vocab = _Vocabulary.of(log, params["n_transitions"]) if vocabulary is None else vocabulary
        rank = vocab.rank
        cols = ["case", "activity", "timestamp"] + (["contact"] if "contact" in ev.columns else [])
        e = ev.select(cols).with_columns(
            pl.col("activity").replace_strict(rank, default=0, return_dtype=pl.Int32).alias("srank")
        )
        # events are sorted by case and time, so shifts within a case see its neighbours
        same_next = pl.col("case") == pl.col("case").shift(-1)
        same_prev = pl.col("case") == pl.col("case").shift(1)
        e = e.with_columns(
            pl.when(same_next).then(pl.col("activity").shift(-1)).alias("nxt"),
            pl.when(same_next).then(pl.col("timestamp").shift(-1)).alias("nxt_ts"),
            pl.when(same_prev).then(pl.col("srank").shift(1)).alias("prev_rank"),
        )
        joined = (
            samples.with_row_index("_i")
            .join(e, on="case", how="inner", maintain_order="left_right")
            .filter(pl.col("timestamp") < pl.col("cutoff"))
            .sort("_i", "timestamp", maintain_order=True)
        )
        days = (pl.col("cutoff") - pl.col("timestamp")).dt.total_seconds() / _DAY
        agg = [
            pl.len().alias("n_events"),
            pl.col("activity").n_unique().alias("n_activities"),
            days.max().alias("days_since_first"),
            days.min().alias("recency_days"),
            (days <= 30).sum().alias("events_30d"),
            (days <= 90).sum().alias("events_90d"),
            pl.col("srank").max().alias("deepest_stage"),
            pl.col("srank").last().alias("current_stage"),
            (pl.col("srank") < pl.col("prev_rank")).sum().alias("backsteps"),
        ]
        if "contact" in ev.columns:
            agg.append(pl.col("contact").drop_nulls().n_unique().alias("contacts"))
        base = joined.group_by("_i").agg(agg)
        acts = joined.group_by("_i", "activity").len().pivot(on="activity", index="_i", values="len")
        # a step counts only when its second event is before the cut-off too (no leakage)
        trans_rows = (
            joined.filter(pl.col("nxt_ts") < pl.col("cutoff"))
            .with_columns(pl.concat_str(["activity", "nxt"], separator=" → ").alias("tr"))
            .filter(pl.col("tr").is_in(pl.Series(vocab.transitions, dtype=pl.String).implode()))
        )
        trans = (
            trans_rows.group_by("_i", "tr").len().pivot(on="tr", index="_i", values="len")
            if trans_rows.height
            else pl.DataFrame({"_i": pl.Series([], dtype=pl.UInt32)})
        )
        frame = (
            samples.with_row_index("_i")
            .select("_i", "case", "cutoff", "_t")
            .join(base, on="_i", how="inner", maintain_order="left")
        )
        frame = frame.join(acts, on="_i", how="left", maintain_order="left").join(
            trans, on="_i", how="left", maintain_order="left"
        )
        x = frame.to_pandas()
        feats = pd.DataFrame(index=x.index)
        for c in (
            "n_events",
            "n_activities",
            "days_since_first",
            "recency_days",
            "events_30d",
            "events_90d",
            "deepest_stage",
            "current_stage",
            "backsteps",
            *(["contacts"] if "contact" in ev.columns else []),
        ):
            feats[c] = x[c].astype(float)
        for c in ("n_events", "days_since_first", "recency_days", "events_30d", "events_90d"):
            feats[c] = np.log1p(feats[c].clip(lower=0))
        for a in vocab.activities:
            feats[f"activity: {a}"] = np.log1p(x[a].fillna(0).astype(float)) if a in x.columns else 0.0
        for t in vocab.transitions:
            feats[f"step: {t}"] = np.log1p(x[t].fillna(0).astype(float)) if t in x.columns else 0.0
        if vocab.attributes:
            attrs = log.cases.set_index("case")
            for attr, values in vocab.attributes.items():
                if attr not in attrs.columns:  # a log without this attribute: no value is set
                    for v in values:
                        feats[f"{attr} = {v}"] = 0.0
                    continue
                col = attrs[attr].astype(str).reindex(x["case"]).to_numpy()
                for v in values:
                    feats[f"{attr} = {v}"] = (col == v).astype(float)
        feats.index = pd.MultiIndex.from_arrays([x["case"], x["cutoff"]], names=["case", "cutoff"])
        reached = x["_t"]
        if horizon is None:
            label = reached.notna().to_numpy()
        else:
            h = pd.Timedelta(horizon)
            label = (reached.notna() & (reached <= x["cutoff"] + h)).to_numpy()
        return feats, label.astype(int), vocab

    # -- fitting and scoring ---------------------------------------------------------------
    def fit(self, log: JourneyLog, y: Any = None, *, at: Any = None) -> JourneyOutcomeModel:
        """Fit on (account, cut-off) examples of ``log`` (cut-offs as in the module notes)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self._validate()
        if not isinstance(log, JourneyLog):
            raise invalid("log", "JourneyOutcomeModel.fit", "a JourneyLog", type(log).__name__)
        require_events(log, "JourneyOutcomeModel.fit")
        require_embedded(log, "JourneyOutcomeModel.fit")
        params = self.get_params()
        x, y_, vocabulary = self._design(log, at, params, None)
        if len(set(y_.tolist())) < 2:
            raise invalid(
                "target",
                "JourneyOutcomeModel.fit",
                "an outcome that both happens and does not happen after the cut-offs",
                self.target,
            )
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        )
        model.fit(x.to_numpy(), y_)
        baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        baseline.fit(x[["recency_days", "n_events"]].to_numpy(), y_)
        # everything learned is set here, at once: nothing of an earlier fit is left, and a
        # fit that raised above left the earlier one whole
        self._fitted(
            feature_names_=list(x.columns),
            model_=model,
            baseline_=baseline,
            n_examples_=len(y_),
            base_rate_=float(np.mean(y_)),
            # later logs are read as the training log was: the same task (outcomes,
            # target, horizon, step) and feature vocabulary, whatever set_params changes
            _params=params,
            _vocabulary=vocabulary,
        )
        return self

    def _aligned(self, log: JourneyLog, at: Any) -> tuple[pd.DataFrame, np.ndarray]:
        require_embedded(log, "JourneyOutcomeModel")
        x, y, _ = self._design(log, at, self._params, self._vocabulary)
        return x.reindex(columns=self.feature_names_, fill_value=0.0), y

    def predict_proba(self, log: JourneyLog, *, at: Any) -> pd.Series:
        """Probability of the target for the accounts open at the cut-off(s).

        Returns a Series named ``probability`` indexed by case (and by cut-off when
        several cut-offs are scored per account).
        """
        import pandas as pd

        self._check_fitted("predict_proba")
        x, _ = self._aligned(log, at)
        p = self.model_.predict_proba(x.to_numpy())[:, 1]
        out = pd.Series(p, index=x.index, name="probability")
        if not out.index.get_level_values("case").duplicated().any():
            out.index = out.index.get_level_values("case")
        return out

    def evaluate(self, log: JourneyLog, *, at: Any) -> dict[str, Any]:
        """ROC AUC, Brier score and calibration on ``log`` (e.g. a later period), with the
        recency/frequency baseline and the base rate."""
        import pandas as pd
        from sklearn.metrics import brier_score_loss, roc_auc_score

        self._check_fitted("evaluate")
        x, y = self._aligned(log, at)
        if len(set(y.tolist())) < 2:
            raise invalid(
                "log",
                "JourneyOutcomeModel.evaluate",
                "a log in which the target both happens and not",
                self._params["target"],
            )
        p = self.model_.predict_proba(x.to_numpy())[:, 1]
        pb = self.baseline_.predict_proba(x[["recency_days", "n_events"]].to_numpy())[:, 1]
        bins = pd.qcut(pd.Series(p), q=min(10, len(np.unique(p))), duplicates="drop")
        cal = (
            pd.DataFrame({"predicted": p, "observed": y, "bin": bins})
            .groupby("bin", observed=True)
            .agg(predicted=("predicted", "mean"), observed=("observed", "mean"), n=("observed", "size"))
            .reset_index(drop=True)
        )
        return {
            "n": len(y),
            "positives": int(y.sum()),
            "base_rate": float(y.mean()),
            "auc": float(roc_auc_score(y, p)),
            "auc_baseline": float(roc_auc_score(y, pb)),
            "brier": float(brier_score_loss(y, p)),
            "brier_baseline": float(brier_score_loss(y, pb)),
            "brier_base_rate": float(brier_score_loss(y, np.full(len(y), y.mean()))),
            "calibration": cal,
        }

    def explain(self, top: int = 15) -> pd.DataFrame:
        """The features that drive the score: standardised coefficients, largest first."""
        import pandas as pd

        self._check_fitted("explain")
        coef = self.model_[-1].coef_[0]
        out = pd.DataFrame(
            {"feature": self.feature_names_, "coefficient": coef, "odds_ratio_per_sd": np.exp(coef)}
        )
        out["direction"] = np.where(coef > 0, "raises", "lowers")
        return (
            out.reindex(out["coefficient"].abs().sort_values(ascending=False).index)
            .head(top)
            .reset_index(drop=True)
        )
